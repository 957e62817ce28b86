/*
 * images: the rules for accepting and removing signed firmware images.
 * An upload is accepted only when its descriptor parses, every presented
 * signature verifies against a trusted release key, at least
 * release_signatures_required distinct keys signed, and the received bytes
 * have the descriptor's size and SHA-256.  Only then is the blob made
 * durable and its row written.
 */
#ifndef OTAD_IMAGES_H
#define OTAD_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "blob.h"
#include "crypto.h"
#include "store.h"
#include "store_images.h"

#define IMAGES_MAX_SIGNATURES 16

/* The images service: the store, the blob directory and the trusted
 * release keyring it works with, and the lock that keeps a blob's file
 * and its rows in step. */
struct images;

/* Where the bytes of an image live (config key blob_storage). */
enum images_blob_storage {
	/* Only as a file under <data_dir>/blobs: one node. */
	IMAGES_BLOBS_FILES,
	/* In the database (image_chunks, written with the image row), and
	 * under <data_dir>/blobs as this node's cache, filled on first use:
	 * every node sharing the database serves every image. */
	IMAGES_BLOBS_DATABASE
};

/*
 * Creates the service over st, blobs and kr (all borrowed: they must
 * outlive it); an upload needs signatures_required valid signatures from
 * distinct keys of kr; storage says where image bytes are kept.  Returns
 * NULL (logged) when out of memory.
 */
struct images *images_new(struct store *st, struct blob_store *blobs,
    const struct crypto_keyring *kr, int signatures_required,
    enum images_blob_storage storage);

/* Stops the sweep thread (images_sweep_start) and frees im (NULL-safe);
 * no other call may be in progress. */
void images_free(struct images *im);

/*
 * Checks sigs, a JSON array of {"keyid": "...", "sig": "<base64>"}, over
 * desc[0..len).  Returns 0; OTA_EINVAL when the array is malformed (not
 * 1..IMAGES_MAX_SIGNATURES objects, bad base64, not 64 bytes, repeated
 * keyid); OTA_ESIG for an unknown key id, a signature that does not
 * verify, or fewer than `required` signatures.  err says which.
 */
int images_verify_signatures(const struct crypto_keyring *kr, int required,
    const unsigned char *desc, size_t len, const json_t *sigs, char *err,
    size_t errlen);

/*
 * Accepts an upload whose bytes are in tmp (consumed: committed or
 * discarded).  desc/sigs_text are the raw "descriptor" and "signatures"
 * parts.  With IMAGES_BLOBS_DATABASE the bytes are written as chunks in
 * the transaction of the image row (so no node ever sees the row without
 * them; an identical image stored without chunks gets them), then the
 * file moves into this node's cache.  On success *out_id is the image and
 * *out_existed 1 when the identical image was already stored.  When the
 * bytes are in a format fwmeta recognizes, every version they carry must
 * agree with the descriptor's (fwmeta_check_version), else OTA_EMISMATCH
 * before anything is stored; what they say is stored with the row (an
 * identical image stored without it gets it).  Returns 0, OTA_EINVAL
 * (malformed), OTA_ESIG, OTA_EMISMATCH, OTA_ECONFLICT, OTA_EIO or
 * OTA_EDB; err says why in words for the client.  Thread-safe: any HTTP thread.
 */
int images_accept(struct images *im, const unsigned char *desc, size_t desc_len,
    const char *sigs_text, size_t sigs_len, struct blob_tmp *tmp,
    const char *created_by, int64_t *out_id, int *out_existed, char *err,
    size_t errlen);

/*
 * Opens the file of image id, whose row says sha256_hex and size, for
 * reading: 0 with *out_fd (the caller closes it) and *out_size.  With
 * IMAGES_BLOBS_DATABASE a file missing from this node's cache (the image
 * was uploaded on another node, or the cache was cleared) is first filled
 * from the image's chunks: into a temp file, checked against size and
 * sha256_hex, made durable and renamed into place, one fill at a time per
 * node (the downloads waiting for it then open its file).  Returns 0,
 * OTA_ENOTFOUND (no file, and no chunks to fill it from), OTA_EMISMATCH
 * (the chunks do not give the image's bytes; logged), OTA_EIO, OTA_ENOMEM
 * or OTA_EDB.  Thread-safe: any HTTP thread.
 */
int images_blob_open(struct images *im, int64_t id, const char *sha256_hex,
    uint64_t size, int *out_fd, uint64_t *out_size);

/* Deletes image id and, when no other image uses it, its blob file.
 * Returns 0, OTA_ENOTFOUND, OTA_ECONFLICT (a draft, running or paused
 * rollout uses it: which one goes to *out_user, may be NULL), OTA_EDB or
 * OTA_EIO. */
int images_delete(
    struct images *im, int64_t id, struct store_image_user *out_user);

/* Removes blob files that no image row references (left by a crash
 * between the blob's rename and its row's commit, or, with
 * IMAGES_BLOBS_DATABASE, cache files of images another node deleted).
 * Call at start; safe to call again while serving (each file is checked
 * and removed under the lock that uploads and deletes take). */
int images_remove_orphans(struct images *im);

/* How often a node sharing the database (IMAGES_BLOBS_DATABASE) sweeps
 * its cache of the files of images deleted on other nodes. */
#define IMAGES_SWEEP_INTERVAL_SEC 600

/*
 * IMAGES_BLOBS_DATABASE: starts a thread that runs images_remove_orphans
 * every interval_sec (1..86400) seconds until images_free, so a cache
 * file of an image deleted on another node (never served: its lookup
 * fails first) does not outlive the sweep after the delete.  Each pass
 * costs one indexed query per cache file and takes the blob lock one file
 * at a time.  With IMAGES_BLOBS_FILES (one node: a delete removes its own
 * file) it does nothing.  Returns 0, OTA_EINVAL (bad interval, or started
 * already) or OTA_ENOMEM (no thread; logged).
 */
int images_sweep_start(struct images *im, int interval_sec);

/*
 * Fills the SHA-1 and MD5 of every image stored before otad kept them
 * (sha1 IS NULL) by reading its blob, one short transaction per image.
 * Call at start, after the store and blobs open and before any listener.
 * A missing or unreadable blob is logged and its image skipped (its JSON
 * shows "" digests); the count is logged at info.  Returns 0 or OTA_EDB.
 */
int images_backfill_digests(struct images *im);

#endif
