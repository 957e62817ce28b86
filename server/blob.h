/*
 * blob: content-addressed image files under <data_dir>/blobs/<sha256 hex>.
 * Uploads are written to <data_dir>/tmp/ first, fsynced, and renamed into
 * place, so a blob path either holds the complete verified bytes or does
 * not exist.  The same holds for a blob filled from the database (a
 * node's local cache, blob_storage = database): written as a temp file,
 * verified, then renamed.  Rows that point at blobs live in store_images;
 * this module never touches the database.
 */
#ifndef OTAD_BLOB_H
#define OTAD_BLOB_H

#include <stddef.h>
#include <stdint.h>

struct blob_store;

/*
 * Opens the blob directories under data_dir (creating blobs/ and tmp/ with
 * mode 0700) and removes every leftover temp file of an interrupted
 * upload.  Returns NULL (and logs why) on failure.
 */
struct blob_store *blob_store_open(const char *data_dir);
void blob_store_close(struct blob_store *bs);

/* Lowercase hex digests plus their NUL (DDI clients check SHA-1, MD5). */
#define BLOB_SHA1_HEX_LEN 41
#define BLOB_MD5_HEX_LEN 33

/*
 * An upload being written: a temp file, its size and running SHA-256,
 * SHA-1 and MD5, so every digest is computed once, as the bytes stream.
 */
struct blob_tmp;

/*
 * Creates a new temp file and its digest contexts.  Returns 0 and *out,
 * OTA_EIO, OTA_ENOMEM or OTA_ECRYPTO (GnuTLS refused a hash; logged).
 */
int blob_tmp_new(struct blob_store *bs, struct blob_tmp **out);

/* Appends bytes (hashing them).  Returns 0, OTA_EIO (disk full...) or
 * OTA_ECRYPTO. */
int blob_tmp_write(struct blob_tmp *t, const void *data, size_t len);

/* Bytes written so far. */
uint64_t blob_tmp_size(const struct blob_tmp *t);

/*
 * Reads back the bytes written to t from offset off into buf: len of
 * them, or fewer at the end (0 past it), their count in *out_n.  Does not
 * disturb the writes or digests.  Returns 0 or OTA_EIO (logged).
 */
int blob_tmp_read_at(
    struct blob_tmp *t, uint64_t off, void *buf, size_t len, size_t *out_n);

/* Finishes the hash: out_sha256 (32 bytes).  Call once, after writes. */
void blob_tmp_digest(struct blob_tmp *t, unsigned char out_sha256[32]);

/*
 * Finishes the SHA-1 and MD5 of the bytes written, as lowercase hex.  Call
 * once, after the writes (and only when every write returned 0).
 */
void blob_tmp_digests_hex(struct blob_tmp *t,
    char out_sha1_hex[BLOB_SHA1_HEX_LEN], char out_md5_hex[BLOB_MD5_HEX_LEN]);

/*
 * Makes the temp file durable (fsync) and renames it to its content
 * address (sha256_hex, which must be the digest), then fsyncs the
 * directory.  When the blob already exists the temp file is dropped (the
 * bytes are the same, by address).  Consumes t either way.  Returns 0 or
 * OTA_EIO.
 */
int blob_tmp_commit(struct blob_tmp *t, const char *sha256_hex);

/* Removes the temp file and frees t.  NULL-safe. */
void blob_tmp_discard(struct blob_tmp *t);

/*
 * Opens the blob for reading.  Returns 0 with *out_fd (caller closes) and
 * *out_size, OTA_ENOTFOUND or OTA_EIO.
 */
int blob_open(struct blob_store *bs, const char *sha256_hex, int *out_fd,
    uint64_t *out_size);

/*
 * Reads the stored blob sha256_hex once and computes its SHA-1 and MD5
 * (lowercase hex), checking on the way that its SHA-256 is still its
 * name.  For images stored before otad kept those digests.  Returns 0,
 * OTA_ENOTFOUND (no such blob), OTA_EMISMATCH (the bytes changed on disk),
 * OTA_EIO or OTA_ECRYPTO; failures other than OTA_ENOTFOUND are logged.
 */
int blob_digests_hex(struct blob_store *bs, const char *sha256_hex,
    char out_sha1_hex[BLOB_SHA1_HEX_LEN], char out_md5_hex[BLOB_MD5_HEX_LEN]);

/* Removes a blob file (after its last row is gone).  0, OTA_EIO. */
int blob_remove(struct blob_store *bs, const char *sha256_hex);

/*
 * Calls fn for every blob file's sha256 hex (for orphan cleanup at start);
 * a non-zero return from fn stops the walk and is returned.
 */
int blob_foreach(struct blob_store *bs,
    int (*fn)(const char *sha256_hex, void *arg), void *arg);

#endif
