/*
 * store_components: the device_components rows, a device's components
 * (components.h) with their hardware and installed version.  A device
 * with none has no row.  The rows have no foreign key: their device's
 * writers (provisioning, delete) insert and delete them in the device's
 * own transaction.
 */
#ifndef OTAD_STORE_COMPONENTS_H
#define OTAD_STORE_COMPONENTS_H

#include <stddef.h>

#include "components.h"
#include "store.h"

/*
 * Inserts the components v[0..n) (valid: components_from_json's rules)
 * of device_id in the transaction the caller holds on c.  n 0 does
 * nothing.  Returns 0, OTA_EINVAL (n over COMPONENTS_MAX or a name
 * repeated) or OTA_EDB.
 */
int store_components_insert(struct store_conn *c, const char *device_id,
    const struct component *v, size_t n);

/*
 * Loads the components of device_id in name order into a new array *out
 * (free(); NULL when none) of *out_n.  Returns 0, OTA_ENOMEM or OTA_EDB.
 */
int store_components_get(struct store_conn *c, const char *device_id,
    struct component **out, size_t *out_n);

/*
 * Replaces every component of device_id by v[0..n) (n 0: the device has
 * none again), joining the caller's transaction on c or in its own.
 * Reports the device changed (store_devices_changed: caches of its
 * components forget it).  Returns 0, OTA_ENOTFOUND (no such device),
 * OTA_EINVAL or OTA_EDB; nothing changed on failure (when in its own
 * transaction).
 */
int store_components_replace(struct store_conn *c, const char *device_id,
    const struct component *v, size_t n);

/*
 * Sets the installed version of each component of device_id that
 * v[0..n) names (v[i].name, v[i].version: valid; hardware unused) in one
 * write transaction (the caller's when one is open on c); a name the
 * device does not have changes nothing; reports the device changed, as
 * store_components_replace.  Returns 0 or OTA_EDB.
 */
int store_components_set_versions(struct store_conn *c, const char *device_id,
    const struct component *v, size_t n);

/* Deletes the components of device_id in the transaction the caller
 * holds on c (none is not an error).  Returns 0 or OTA_EDB. */
int store_components_delete(struct store_conn *c, const char *device_id);

#endif
