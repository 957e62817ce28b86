/*
 * store_bundles: rows of the bundles and bundle_parts tables.  A bundle
 * row keeps its signed descriptor verbatim; the descriptor is the truth
 * of its parts (order, via, hardware), the bundle_parts rows only tie
 * each part to the stored image whose sha256 it names, so that image
 * cannot be deleted while a bundle names it.
 */
#ifndef OTAD_STORE_BUNDLES_H
#define OTAD_STORE_BUNDLES_H

#include <stddef.h>
#include <stdint.h>

#include "bundles.h"
#include "store.h"

struct store_bundle {
	int64_t id;
	struct bundle_descriptor desc; /* parsed from descriptor */
	unsigned char *descriptor;     /* exact signed bytes (malloc'd) */
	size_t descriptor_len;
	char *signatures; /* JSON text [{"keyid":..,"sig":..}] (malloc'd) */
	char created_at[21];
	char created_by[65];
	int64_t image_ids[BUNDLE_PARTS_MAX]; /* of desc.parts[i] */
};

/* Frees a bundle of the functions below.  NULL-safe. */
void store_bundle_free(struct store_bundle *b);
void store_bundle_list_free(struct store_bundle **v, size_t n);

/* The stored image a part names. */
struct store_bundle_image {
	int64_t id;
	char name[DESCRIPTOR_NAME_MAX + 1];
	char version[SEMVER_MAX_LEN + 1];
};

/*
 * Finds the image (lowest id) whose sha256 is sha256_hex and, when
 * hardware is not NULL, that lists hardware.  Returns 0 with *out,
 * OTA_ENOTFOUND or OTA_EDB.
 */
int store_bundle_find_image(struct store_conn *c, const char *sha256_hex,
    const char *hardware, struct store_bundle_image *out);

/*
 * Inserts a bundle: d parsed from descriptor[0..descriptor_len) and
 * image_ids[i] the image of d->parts[i], in one write transaction (the
 * caller's when one is open on c).  A bundle of the same name and version
 * with identical bytes gives 0, its id and *out_existed 1 (nothing
 * written); with other bytes OTA_ECONFLICT.  Returns 0, OTA_ECONFLICT,
 * OTA_EINVAL (created_by NULL or over 64 bytes) or OTA_EDB (a missing
 * image too: the key).
 */
int store_bundle_insert(struct store_conn *c, const struct bundle_descriptor *d,
    const int64_t *image_ids, const unsigned char *descriptor,
    size_t descriptor_len, const char *signatures_json, const char *created_by,
    int64_t *out_id, int *out_existed);

/* Loads bundle id: 0 and a new *out, OTA_ENOTFOUND or OTA_EDB. */
int store_bundle_get(
    struct store_conn *c, int64_t id, struct store_bundle **out);

/*
 * Lists bundles with id > after_id (and name, when not NULL) in id
 * order, at most limit (1..1000): *out a new array (store_bundle_list_free;
 * NULL when none).  Returns 0, OTA_EINVAL (limit), OTA_ENOMEM or OTA_EDB.
 */
int store_bundle_list(struct store_conn *c, const char *name, int64_t after_id,
    int limit, struct store_bundle ***out, size_t *out_n);

/* Deletes bundle id and its parts (an ended rollout of it keeps its row,
 * without the bundle).  0, OTA_ENOTFOUND, OTA_ECONFLICT (a draft, running
 * or paused rollout ships it) or OTA_EDB. */
int store_bundle_delete(struct store_conn *c, int64_t id);

#endif
