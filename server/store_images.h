/*
 * store_images: rows of the images and image_hardware tables.  An image
 * row points at a content-addressed blob by sha256; the blob file itself
 * is managed by blob.c, never here.  With blob_storage = database the
 * image's bytes are also rows here (image_chunks), so any node sharing
 * the database can rebuild the file.
 */
#ifndef OTAD_STORE_IMAGES_H
#define OTAD_STORE_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "store.h"

struct store_image {
	int64_t id;
	struct ota_descriptor desc; /* parsed fields of the descriptor */
	unsigned char *descriptor;  /* exact signed bytes (malloc'd) */
	size_t descriptor_len;
	char *signatures;    /* JSON text [{"keyid":..,"sig":..}] */
	char created_at[21]; /* RFC 3339 */
	char created_by[65]; /* token name of the uploader */
	char sha1_hex[41];   /* of the image bytes, lowercase hex; "" for */
	char md5_hex[33];    /* an image stored before 0004, until backfill */
	char *embedded;      /* JSON object text (fwmeta), or NULL: malloc'd */
};

/* Frees an image returned by the functions below.  NULL-safe. */
void store_image_free(struct store_image *img);
void store_image_list_free(struct store_image **imgs, size_t n);

/*
 * Inserts an image: one write transaction (the caller's when one is open
 * on c, which then commits or rolls back; else its own) writing the
 * images row and one image_hardware row per hardware revision.  d must be the
 * parsed form of descriptor[0..descriptor_len); sha1_hex and md5_hex are the
 * SHA-1 (40) and MD5 (32) of the image bytes in lowercase hex.  If an image
 * with the same name and a version of equal SemVer precedence exists: when its
 * descriptor bytes are identical, returns 0 with *out_id set to it and
 * *out_existed = 1 (nothing written, except sha1_hex and md5_hex when that
 * row had none); otherwise OTA_ECONFLICT.  Returns 0,
 * OTA_ECONFLICT, OTA_EINVAL (a descriptor value out of range, a digest
 * that is not lowercase hex of its length, or created_by NULL or longer
 * than 64 bytes) or OTA_EDB.
 */
int store_image_insert(struct store_conn *c, const struct ota_descriptor *d,
    const unsigned char *descriptor, size_t descriptor_len,
    const char *signatures_json, const char *sha1_hex, const char *md5_hex,
    const char *created_by, int64_t *out_id, int *out_existed);

/*
 * Stores json, the JSON object text of what image id's bytes say about
 * it (fwmeta_to_json), when the image has none yet: one statement, in the
 * caller's transaction when one is open on c (the image row's), else its
 * own.  Returns 0 (also when there is no such image, or it has one),
 * OTA_EINVAL (json NULL or not an object's text) or OTA_EDB.
 */
int store_image_embedded_set(
    struct store_conn *c, int64_t id, const char *json);

/* Loads one image.  Returns 0 and a new *out, OTA_ENOTFOUND or OTA_EDB. */
int store_image_get(struct store_conn *c, int64_t id, struct store_image **out);

struct store_image_filter {
	const char *name;        /* exact name, or NULL */
	const char *hardware;    /* images listing this revision, or NULL */
	const char *min_version; /* version >= this (SemVer), or NULL */
	const char *max_version; /* version <= this (SemVer), or NULL */
	int64_t after_id;        /* only ids > this (cursor), 0 for start */
	int limit;               /* 1..1000 */
};

/*
 * Lists images matching f in ascending id order, at most f->limit.
 * *out is a new array of new images (free with store_image_list_free),
 * NULL when none match.  Returns 0, OTA_EINVAL (bad limit), OTA_ENOMEM or
 * OTA_EDB.
 */
int store_image_list(struct store_conn *c, const struct store_image_filter *f,
    struct store_image ***out, size_t *out_n);

/* The rollout that keeps an image from being deleted. */
struct store_image_user {
	int64_t rollout_id;
	char state[16]; /* "draft", "running" or "paused" */
};

/*
 * Deletes image id (and its hardware rows) in one transaction.  Sets
 * *out_blob_unused = 1 when no remaining image references its sha256, so
 * the caller may remove the blob file.  Refused while a draft, running or
 * paused rollout uses the image: the check and the delete are in the same
 * transaction, so no rollout can start using it in between; the oldest
 * such rollout goes to *out_user (may be NULL).  Rollouts that ended keep
 * their row, with no image.  Returns 0, OTA_ENOTFOUND, OTA_ECONFLICT or
 * OTA_EDB.
 */
int store_image_delete(struct store_conn *c, int64_t id,
    char out_sha256_hex[65], int *out_blob_unused,
    struct store_image_user *out_user);

/* An image whose SHA-1 and MD5 are not stored yet, and its blob. */
struct store_image_ref {
	int64_t id;
	char sha256_hex[65];
};

/*
 * Lists up to limit (1..1000) images with id > after_id whose sha1 IS
 * NULL (stored before migration 0004), in ascending id order, into the
 * caller's out[limit].  Returns 0 with *out_n, OTA_EINVAL or OTA_EDB.
 */
int store_image_digests_missing(struct store_conn *c, int64_t after_id,
    int limit, struct store_image_ref *out, size_t *out_n);

/*
 * Stores the SHA-1 and MD5 (lowercase hex, 40 and 32 characters) of image
 * id when they are still NULL: one statement, its own short transaction.
 * Returns 0, OTA_ENOTFOUND (no such image, or its digests are already
 * set), OTA_EINVAL (malformed digest) or OTA_EDB.
 */
int store_image_digests_set(struct store_conn *c, int64_t id,
    const char *sha1_hex, const char *md5_hex);

/* 1 when some image row references this sha256 (hex), 0 if none, or
 * OTA_EDB.  Used when cleaning orphan blobs at start. */
int store_blob_referenced(struct store_conn *c, const char *sha256_hex);

/* The size of every image_chunks row but an image's last (which holds the
 * rest, 1..STORE_IMAGE_CHUNK_BYTES bytes). */
#define STORE_IMAGE_CHUNK_BYTES (1024 * 1024)

/*
 * Where store_image_chunks_write gets an image's bytes: fills buf with
 * the next bytes, exactly cap of them unless fewer remain, and sets
 * *out_n (0 at the end).  Returns 0 or an OTA_E* code (logged by the
 * reader), which stops the write.
 */
typedef int (*store_image_read_fn)(
    void *arg, void *buf, size_t cap, size_t *out_n);

/*
 * Writes the bytes of image id, size bytes that read (called with arg)
 * gives in order, as its image_chunks rows: seq 0, 1, ... of
 * STORE_IMAGE_CHUNK_BYTES each but the last.  Runs inside the caller's
 * write transaction when one is open on c (the one that wrote the images
 * row: the row and all its bytes commit together), else in its own.
 * Memory: one chunk at a time.  Returns 0; OTA_ECONFLICT when the image
 * already has chunks; OTA_EMISMATCH when read gives other than size
 * bytes; OTA_ENOMEM; read's code; or OTA_EDB (a missing image too: the
 * foreign key).
 */
int store_image_chunks_write(struct store_conn *c, int64_t id, uint64_t size,
    store_image_read_fn read, void *arg);

/*
 * The number of image_chunks rows of image id and their total bytes: 0
 * with *out_count and *out_bytes (both 0 for an image without chunks, or
 * no such image), or OTA_EDB.
 */
int store_image_chunks_stat(
    struct store_conn *c, int64_t id, int64_t *out_count, int64_t *out_bytes);

/*
 * Copies chunk seq of image id into buf[cap] (cap at least
 * STORE_IMAGE_CHUNK_BYTES holds any) and its length into *out_n.  Returns
 * 0, OTA_ENOTFOUND (no such chunk: the image was deleted, or never had
 * chunks), or OTA_EDB (also for a chunk longer than cap, logged).  Chunks
 * are never changed once written, so several calls need no transaction.
 */
int store_image_chunk_read(struct store_conn *c, int64_t id, int64_t seq,
    void *buf, size_t cap, size_t *out_n);

#endif
