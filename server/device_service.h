/*
 * device_service: a device as the REST API shows and changes it, where
 * that reaches other tables: the attributes it sent over DDI with its
 * row, and a hardware change that ends, in the same transaction, what no
 * longer fits the new hardware.  Handlers (http_api_devices.c) parse and
 * reply; the rows are store_devices.c's, store_ddi.c's and
 * store_telemetry.c's.
 */
#ifndef OTAD_DEVICE_SERVICE_H
#define OTAD_DEVICE_SERVICE_H

#include <stddef.h>

#include <jansson.h>

struct store;
struct store_device;
struct component;

/*
 * Device id with the attributes it sent as configData, read through one
 * connection of st: *out (store_device_clear) and *out_attrs (a new
 * reference to an object, or to JSON null when none were received).
 * Returns 0, OTA_ENOTFOUND or OTA_EDB (nothing to free on failure).
 * Thread-safe.
 */
int device_service_get(struct store *st, const char *id,
    struct store_device *out, json_t **out_attrs);

/*
 * Changes device id's hardware and/or labels (NULL: unchanged; not both
 * NULL) in one transaction with what no longer fits a new hardware: the
 * device's unfinished updates of rollouts whose image does not list it
 * become canceled, and its open or running DDI actions of those rollouts
 * canceling (its next poll is told cancelAction).  hardware: a valid
 * identifier of at most STORE_HARDWARE_MAX; labels_json: compact JSON of
 * at most STORE_LABELS_MAX; now: RFC 3339 UTC (timeutil's canonical
 * form).  *out_updates_canceled and *out_actions_canceled say how many.
 * Returns 0, OTA_EINVAL, OTA_ENOTFOUND or OTA_EDB (nothing changed).
 * Thread-safe.
 */
int device_service_patch(struct store *st, const char *id, const char *hardware,
    const char *labels_json, const char *now, size_t *out_updates_canceled,
    size_t *out_actions_canceled);

/* What device_service_change changes; each NULL field is unchanged. */
struct device_service_change {
	const char *hardware;    /* as device_service_patch */
	const char *labels_json; /* as device_service_patch */
	/* The device's whole set of components (valid, names unique;
	 * component_count 0 with components not NULL: none any more). */
	const struct component *components;
	size_t component_count;
};

/*
 * device_service_patch with the device's components too (ch: at least
 * one field given), all in one transaction: either everything in ch
 * changes or nothing does.  Returns as device_service_patch.
 * Thread-safe.
 */
int device_service_change(struct store *st, const char *id,
    const struct device_service_change *ch, const char *now,
    size_t *out_updates_canceled, size_t *out_actions_canceled);

#endif
