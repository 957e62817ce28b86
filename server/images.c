/*
 * images: signature threshold, size/hash checks, and the ordering that
 * keeps the store consistent.  Files: blob durable first, then the row in
 * one transaction; a crash between the two leaves an orphan blob, which
 * images_remove_orphans deletes at the next start; never a row without
 * its blob.  Database: the row and its chunks in one transaction, then
 * the file into the cache; a crash leaves no row, or a row whose cache
 * file the next download fills.
 */
#include "images.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "descriptor.h"
#include "errors.h"
#include "fwmeta.h"
#include "json_util.h"
#include "log.h"
#include "store.h"
#include "store_images.h"
#include "timeutil.h"

/* Images whose digests the backfill reads per query. */
#define BACKFILL_PAGE 100

int
images_verify_signatures(const struct crypto_keyring *kr, int required,
    const unsigned char *desc, size_t len, const json_t *sigs, char *err,
    size_t errlen)
{
	unsigned char sig[crypto_sign_BYTES + 8];
	const struct crypto_key *key;
	const char *keyid, *b64;
	size_t i, j, n, siglen;
	json_t *item;

	n = json_is_array(sigs) ? json_array_size(sigs) : 0;
	if (n == 0 || n > IMAGES_MAX_SIGNATURES) {
		snprintf(err, errlen,
		    "signatures must be a JSON array of 1..%d "
		    "{\"keyid\", \"sig\"} objects",
		    IMAGES_MAX_SIGNATURES);
		return OTA_EINVAL;
	}
	json_array_foreach(sigs, i, item) {
		keyid = json_util_str(item, "keyid");
		b64 = json_util_str(item, "sig");
		if (!json_is_object(item) || keyid == NULL || b64 == NULL ||
		    json_object_size(item) != 2) {
			snprintf(err, errlen,
			    "signature %zu: needs exactly string fields "
			    "'keyid' and 'sig'",
			    i);
			return OTA_EINVAL;
		}
		if (sodium_base642bin(sig, sizeof(sig), b64, strlen(b64), NULL,
		        &siglen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    siglen != crypto_sign_BYTES) {
			snprintf(err, errlen,
			    "signature %zu: 'sig' must be the "
			    "base64 of 64 bytes",
			    i);
			return OTA_EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(keyid, json_util_str(json_array_get(sigs, j),
			                      "keyid")) == 0) {
				snprintf(err, errlen,
				    "signature %zu: key id "
				    "'%.64s' appears twice",
				    i, keyid);
				return OTA_EINVAL;
			}
		}
		key = crypto_keyring_find(kr, keyid);
		if (key == NULL) {
			snprintf(err, errlen,
			    "signature %zu: unknown key id "
			    "'%.64s' (not in the trusted release keyring)",
			    i, keyid);
			return OTA_ESIG;
		}
		if (crypto_verify(key->pk, desc, len, sig) != 0) {
			snprintf(err, errlen,
			    "signature %zu: does not verify "
			    "with key '%s' over the descriptor bytes",
			    i, key->id);
			return OTA_ESIG;
		}
	}
	if (n < (size_t)required) {
		snprintf(err, errlen,
		    "%zu valid signature(s); this server "
		    "requires %d from distinct trusted keys",
		    n, required);
		return OTA_ESIG;
	}
	return 0;
}

struct images {
	struct store *store;
	struct blob_store *blobs;
	const struct crypto_keyring *keyring;
	int signatures_required;
	enum images_blob_storage storage;
	/* Held while this node fills a cache file from the database: one
	 * fill at a time, and the downloads waiting for it find its file. */
	pthread_mutex_t fill_lock;
	/* Held while a blob's file and rows change together (upload commit
	 * + insert, delete + file removal), so a delete never removes a
	 * file that a concurrent upload of the same bytes just claimed. */
	pthread_mutex_t blob_lock;
	/* The thread of images_sweep_start (sweeping 1 once it runs); it
	 * ends when sweep_stop is set under sweep_mu (sweep_cv wakes it). */
	pthread_t sweep_thread;
	pthread_mutex_t sweep_mu;
	pthread_cond_t sweep_cv; /* CLOCK_MONOTONIC */
	int sweeping, sweep_stop, sweep_interval_sec;
};

struct images *
images_new(struct store *st, struct blob_store *blobs,
    const struct crypto_keyring *kr, int signatures_required,
    enum images_blob_storage storage)
{
	struct images *im;

	im = calloc(1, sizeof(*im));
	if (im == NULL) {
		log_err("msg=\"cannot allocate the images service\"");
		return NULL;
	}
	im->store = st;
	im->blobs = blobs;
	im->keyring = kr;
	im->signatures_required = signatures_required;
	im->storage = storage;
	pthread_mutex_init(&im->blob_lock, NULL);
	pthread_mutex_init(&im->fill_lock, NULL);
	pthread_mutex_init(&im->sweep_mu, NULL);
	timeutil_mono_cond_init(&im->sweep_cv);
	return im;
}

void
images_free(struct images *im)
{
	if (im == NULL)
		return;
	if (im->sweeping) {
		pthread_mutex_lock(&im->sweep_mu);
		im->sweep_stop = 1;
		pthread_cond_signal(&im->sweep_cv);
		pthread_mutex_unlock(&im->sweep_mu);
		pthread_join(im->sweep_thread, NULL);
	}
	pthread_cond_destroy(&im->sweep_cv);
	pthread_mutex_destroy(&im->sweep_mu);
	pthread_mutex_destroy(&im->blob_lock);
	pthread_mutex_destroy(&im->fill_lock);
	free(im);
}

/*
 * The checks before anything is stored: desc parses into *d, sigs_text
 * parses into *out_sigs (a new reference, also on failure) and carries
 * enough valid signatures, and tmp's bytes have the descriptor's size and
 * SHA-256.  Returns 0 or OTA_EINVAL/OTA_ESIG/OTA_EMISMATCH with err.
 */
static int
upload_check(const struct images *im, const unsigned char *desc,
    size_t desc_len, const char *sigs_text, size_t sigs_len,
    struct blob_tmp *tmp, struct ota_descriptor *d, json_t **out_sigs,
    char *err, size_t errlen)
{
	unsigned char digest[32];
	char derr[200];
	int rc;

	rc = descriptor_parse(desc, desc_len, d, derr, sizeof(derr));
	if (rc != 0) {
		snprintf(err, errlen, "descriptor: %s", derr);
		return OTA_EINVAL;
	}
	rc = json_util_load(
	    sigs_text, sigs_len, 4, out_sigs, derr, sizeof(derr));
	if (rc != 0) {
		snprintf(err, errlen, "signatures: %s", derr);
		return rc;
	}
	rc = images_verify_signatures(im->keyring, im->signatures_required,
	    desc, desc_len, *out_sigs, err, errlen);
	if (rc != 0)
		return rc;
	if (blob_tmp_size(tmp) != d->size) {
		snprintf(err, errlen,
		    "image is %llu bytes; the descriptor says %llu",
		    (unsigned long long)blob_tmp_size(tmp),
		    (unsigned long long)d->size);
		return OTA_EMISMATCH;
	}
	blob_tmp_digest(tmp, digest);
	if (sodium_memcmp(digest, d->sha256, sizeof(digest)) != 0) {
		snprintf(err, errlen,
		    "image SHA-256 differs from the descriptor's sha256");
		return OTA_EMISMATCH;
	}
	return 0;
}

/* A store_image_read_fn over an upload's temp file, from off on. */
struct tmp_reader {
	struct blob_tmp *tmp;
	uint64_t off;
};

static int
tmp_read(void *arg, void *buf, size_t cap, size_t *out_n)
{
	struct tmp_reader *r = arg;
	int rc;

	if ((rc = blob_tmp_read_at(r->tmp, r->off, buf, cap, out_n)) == 0)
		r->off += *out_n;
	return rc;
}

/* A checked upload's row: what store_image_insert writes, what its bytes
 * say about themselves (JSON text, or NULL), and with
 * IMAGES_BLOBS_DATABASE the temp file its chunks come from (else NULL). */
struct upload_row {
	const struct ota_descriptor *d;
	const unsigned char *desc;
	size_t desc_len;
	const char *sigs_norm, *sha1_hex, *md5_hex, *created_by;
	const char *embedded;
	struct blob_tmp *tmp;
};

/*
 * One write transaction writing the row of r, its embedded metadata when
 * the row has none, and with r->tmp, unless that image has them already,
 * its chunks from tmp's bytes.  Returns as store_image_insert, or
 * store_image_chunks_write's codes.
 */
static int
insert_row(struct store_conn *c, const struct upload_row *r, int64_t *out_id,
    int *out_existed)
{
	struct tmp_reader tr = {r->tmp, 0};
	int64_t count = 0, bytes = 0;
	int rc;

	if ((rc = store_begin(c)) != 0)
		return rc;
	rc = store_image_insert(c, r->d, r->desc, r->desc_len, r->sigs_norm,
	    r->sha1_hex, r->md5_hex, r->created_by, out_id, out_existed);
	if (rc == 0 && r->embedded != NULL)
		rc = store_image_embedded_set(c, *out_id, r->embedded);
	if (rc == 0 && r->tmp != NULL)
		rc = store_image_chunks_stat(c, *out_id, &count, &bytes);
	/* An identical image stored under blob_storage = files has none. */
	if (rc == 0 && r->tmp != NULL && count == 0)
		rc = store_image_chunks_write(
		    c, *out_id, r->d->size, tmp_read, &tr);
	if (rc != 0) {
		store_rollback(c);
		return rc;
	}
	return store_commit(c);
}

/*
 * Writes the row of a checked upload: files (r->tmp NULL), its blob is
 * durable, and a refused row may leave a blob no row uses, which is
 * dropped (called with blob_lock held); database, the row and tmp's bytes
 * as chunks in one transaction.  Returns as images_accept.
 */
static int
upload_record(struct images *im, const struct upload_row *r, int64_t *out_id,
    int *out_existed, char *err, size_t errlen)
{
	const struct ota_descriptor *d = r->d;
	struct store_conn *c;
	int rc;

	c = store_acquire(im->store);
	rc = insert_row(c, r, out_id, out_existed);
	store_release(im->store, c);
	if (rc == OTA_ECONFLICT)
		snprintf(err, errlen,
		    "%s %s is already stored with different content", d->name,
		    d->version);
	else if (rc != 0)
		snprintf(err, errlen, "cannot record the image");
	if (rc == 0 && !*out_existed)
		log_info("msg=\"image stored\" id=%lld name=%s version=%s "
		         "sha256=%s size=%llu by=%s embedded=%d",
		    (long long)*out_id, d->name, d->version, d->sha256_hex,
		    (unsigned long long)d->size, r->created_by,
		    r->embedded != NULL);
	if (rc != 0 && r->tmp == NULL) {
		c = store_acquire(im->store);
		if (store_blob_referenced(c, d->sha256_hex) == 0)
			blob_remove(im->blobs, d->sha256_hex);
		store_release(im->store, c);
	}
	return rc;
}

/*
 * IMAGES_BLOBS_DATABASE, after the row and its chunks committed: moves
 * the upload's temp file (consumed) into this node's cache.  A failure is
 * only logged: the next download fills the cache from the database.
 */
static void
cache_keep(struct images *im, struct blob_tmp *tmp, const char *sha256_hex)
{
	int rc;

	pthread_mutex_lock(&im->blob_lock);
	rc = blob_tmp_commit(tmp, sha256_hex);
	pthread_mutex_unlock(&im->blob_lock);
	if (rc != 0)
		log_warn("msg=\"image stored; cache file not kept\" "
		         "sha256=%s",
		    sha256_hex);
}

/* A fwmeta_read_fn over an upload's temp file. */
static int
tmp_read_at(void *arg, uint64_t off, void *buf, size_t len, size_t *out_n)
{
	return blob_tmp_read_at(arg, off, buf, len, out_n);
}

/*
 * Reads tmp's embedded metadata and checks its versions against d's:
 * *out_json is its JSON text (malloc'd), or NULL for an image of no
 * recognized format.  Returns 0, OTA_EMISMATCH (err names both values),
 * OTA_ENOMEM or OTA_EIO.
 */
static int
embedded_check(struct blob_tmp *tmp, const struct ota_descriptor *d,
    char **out_json, char *err, size_t errlen)
{
	struct fwmeta m;
	json_t *j;
	int rc;

	*out_json = NULL;
	if ((rc = fwmeta_read(tmp_read_at, tmp, d->size, &m)) != 0) {
		snprintf(err, errlen, "cannot read the image's bytes back");
		return rc;
	}
	if ((rc = fwmeta_check_version(&m, d->version, err, errlen)) != 0)
		return rc;
	if ((j = fwmeta_to_json(&m)) == NULL)
		return 0;
	*out_json = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return *out_json != NULL ? 0 : OTA_ENOMEM;
}

int
images_accept(struct images *im, const unsigned char *desc, size_t desc_len,
    const char *sigs_text, size_t sigs_len, struct blob_tmp *tmp,
    const char *created_by, int64_t *out_id, int *out_existed, char *err,
    size_t errlen)
{
	struct ota_descriptor d;
	char sha1_hex[BLOB_SHA1_HEX_LEN], md5_hex[BLOB_MD5_HEX_LEN];
	struct upload_row r = {&d, desc, desc_len, NULL, sha1_hex, md5_hex,
	    created_by, NULL, NULL};
	json_t *sigs = NULL;
	char *sigs_norm = NULL, *embedded = NULL;
	int rc, locked = 0;

	rc = upload_check(im, desc, desc_len, sigs_text, sigs_len, tmp, &d,
	    &sigs, err, errlen);
	if (rc == 0)
		rc = embedded_check(tmp, &d, &embedded, err, errlen);
	if (rc != 0)
		goto out;
	blob_tmp_digests_hex(tmp, sha1_hex, md5_hex);
	sigs_norm = json_dumps(sigs, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (sigs_norm == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	r.sigs_norm = sigs_norm;
	r.embedded = embedded;
	if (im->storage == IMAGES_BLOBS_DATABASE) {
		r.tmp = tmp;
		rc = upload_record(im, &r, out_id, out_existed, err, errlen);
		if (rc == 0) {
			cache_keep(im, tmp, d.sha256_hex);
			tmp = NULL;
		}
		goto out;
	}
	pthread_mutex_lock(&im->blob_lock);
	locked = 1;
	rc = blob_tmp_commit(tmp, d.sha256_hex);
	tmp = NULL;
	if (rc != 0) {
		snprintf(err, errlen, "cannot store the image file");
		goto out;
	}
	rc = upload_record(im, &r, out_id, out_existed, err, errlen);
out:
	if (locked)
		pthread_mutex_unlock(&im->blob_lock);
	blob_tmp_discard(tmp);
	json_decref(sigs);
	free(sigs_norm);
	free(embedded);
	return rc;
}

int
images_delete(struct images *im, int64_t id, struct store_image_user *out_user)
{
	char sha[65];
	struct store_conn *c;
	int rc, unused = 0;

	pthread_mutex_lock(&im->blob_lock);
	c = store_acquire(im->store);
	rc = store_image_delete(c, id, sha, &unused, out_user);
	store_release(im->store, c);
	if (rc == 0 && unused)
		rc = blob_remove(im->blobs, sha);
	pthread_mutex_unlock(&im->blob_lock);
	if (rc == 0)
		log_info("msg=\"image deleted\" id=%lld blob_removed=%d",
		    (long long)id, unused);
	return rc;
}

/*
 * Copies the chunks of image id (size bytes) into the new temp file t,
 * reading them on c one at a time into buf (STORE_IMAGE_CHUNK_BYTES).
 * Returns 0, OTA_ENOTFOUND (a chunk is missing), OTA_EMISMATCH (they are
 * not size bytes; logged), or a store or blob code.
 */
static int
chunks_to_tmp(struct store_conn *c, int64_t id, uint64_t size,
    unsigned char *buf, struct blob_tmp *t)
{
	uint64_t got = 0;
	int64_t seq;
	size_t n;
	int rc;

	/* Ends at size bytes: each turn adds at least one or fails. */
	for (seq = 0; got < size; seq++) {
		rc = store_image_chunk_read(
		    c, id, seq, buf, STORE_IMAGE_CHUNK_BYTES, &n);
		if (rc != 0)
			return rc;
		if (n == 0 || n > size - got) {
			log_err("msg=\"image chunks do not match its size\" "
			        "image=%lld seq=%lld",
			    (long long)id, (long long)seq);
			return OTA_EMISMATCH;
		}
		if ((rc = blob_tmp_write(t, buf, n)) != 0)
			return rc;
		got += n;
	}
	return 0;
}

/*
 * Fills this node's cache file of image id from its chunks: a temp file,
 * checked against sha256_hex, made durable and renamed into place.
 * Called with fill_lock held.  Returns as images_blob_open.
 */
static int
cache_fill(struct images *im, int64_t id, const char *sha256_hex, uint64_t size)
{
	struct blob_tmp *t = NULL;
	struct store_conn *c;
	unsigned char *buf, digest[32];
	char hex[65];
	int rc;

	if ((buf = malloc(STORE_IMAGE_CHUNK_BYTES)) == NULL)
		return OTA_ENOMEM;
	if ((rc = blob_tmp_new(im->blobs, &t)) != 0)
		goto out;
	c = store_acquire(im->store);
	rc = chunks_to_tmp(c, id, size, buf, t);
	store_release(im->store, c);
	if (rc == OTA_ENOTFOUND)
		log_warn("msg=\"image has no chunks to fill the cache "
		         "from\" image=%lld sha256=%s",
		    (long long)id, sha256_hex);
	if (rc != 0)
		goto out;
	blob_tmp_digest(t, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	if (strcmp(hex, sha256_hex) != 0) {
		log_err("msg=\"image chunks differ from its sha256\" "
		        "image=%lld sha256=%s actual=%s",
		    (long long)id, sha256_hex, hex);
		rc = OTA_EMISMATCH;
		goto out;
	}
	pthread_mutex_lock(&im->blob_lock);
	rc = blob_tmp_commit(t, sha256_hex);
	pthread_mutex_unlock(&im->blob_lock);
	t = NULL;
	if (rc == 0)
		log_info("msg=\"blob cache filled\" image=%lld sha256=%s "
		         "size=%llu",
		    (long long)id, sha256_hex, (unsigned long long)size);
out:
	blob_tmp_discard(t);
	free(buf);
	return rc;
}

int
images_blob_open(struct images *im, int64_t id, const char *sha256_hex,
    uint64_t size, int *out_fd, uint64_t *out_size)
{
	int rc;

	rc = blob_open(im->blobs, sha256_hex, out_fd, out_size);
	if (rc != OTA_ENOTFOUND || im->storage != IMAGES_BLOBS_DATABASE)
		return rc;
	pthread_mutex_lock(&im->fill_lock);
	/* Another download may have filled it while this one waited. */
	rc = blob_open(im->blobs, sha256_hex, out_fd, out_size);
	if (rc == OTA_ENOTFOUND) {
		rc = cache_fill(im, id, sha256_hex, size);
		if (rc == 0)
			rc = blob_open(im->blobs, sha256_hex, out_fd, out_size);
	}
	pthread_mutex_unlock(&im->fill_lock);
	return rc;
}

struct orphan_walk {
	struct images *im;
	struct store_conn *c;
	int removed;
};

static int
remove_if_orphan(const char *sha256_hex, void *arg)
{
	struct orphan_walk *w = arg;
	int r;

	/* Under the lock of uploads and deletes: a file an upload just
	 * moved in has its row by the time the lock is free. */
	pthread_mutex_lock(&w->im->blob_lock);
	r = store_blob_referenced(w->c, sha256_hex);
	if (r == 0 && blob_remove(w->im->blobs, sha256_hex) == 0)
		w->removed++;
	pthread_mutex_unlock(&w->im->blob_lock);
	return r < 0 ? r : 0;
}

int
images_remove_orphans(struct images *im)
{
	struct orphan_walk w = {im, NULL, 0};
	int rc;

	w.c = store_acquire(im->store);
	rc = blob_foreach(im->blobs, remove_if_orphan, &w);
	store_release(im->store, w.c);
	if (w.removed > 0)
		log_info(
		    "msg=\"removed unreferenced blobs\" count=%d", w.removed);
	return rc;
}

static void *
sweep_main(void *arg)
{
	struct images *im = arg;
	struct timespec deadline;
	int rc;

	pthread_mutex_lock(&im->sweep_mu);
	while (!im->sweep_stop) {
		deadline = timeutil_mono_timespec(
		    timeutil_mono_ms() + im->sweep_interval_sec * 1000LL);
		/* Until the deadline or a stop; spurious wake-ups loop. */
		while (!im->sweep_stop &&
		       pthread_cond_timedwait(&im->sweep_cv, &im->sweep_mu,
		           &deadline) != ETIMEDOUT)
			;
		if (im->sweep_stop)
			break;
		pthread_mutex_unlock(&im->sweep_mu);
		if ((rc = images_remove_orphans(im)) != 0)
			log_err("msg=\"blob cache sweep failed\" err=\"%s\"",
			    ota_strerror(rc));
		pthread_mutex_lock(&im->sweep_mu);
	}
	pthread_mutex_unlock(&im->sweep_mu);
	return NULL;
}

int
images_sweep_start(struct images *im, int interval_sec)
{
	int rc;

	if (interval_sec < 1 || interval_sec > 86400 || im->sweeping)
		return OTA_EINVAL;
	if (im->storage != IMAGES_BLOBS_DATABASE)
		return 0;
	im->sweep_interval_sec = interval_sec;
	rc = pthread_create(&im->sweep_thread, NULL, sweep_main, im);
	if (rc != 0) {
		log_err("msg=\"cannot start the blob cache sweep\" "
		        "err=\"%s\"",
		    strerror(rc));
		return OTA_ENOMEM;
	}
	im->sweeping = 1;
	log_info(
	    "msg=\"blob cache sweep started\" interval_sec=%d", interval_sec);
	return 0;
}

int
images_backfill_digests(struct images *im)
{
	struct store_image_ref refs[BACKFILL_PAGE];
	char sha1_hex[BLOB_SHA1_HEX_LEN], md5_hex[BLOB_MD5_HEX_LEN];
	struct store_conn *c;
	int64_t after = 0;
	size_t n = 0;
	int rc, done = 0, skipped = 0;

	c = store_acquire(im->store);
	do {
		rc = store_image_digests_missing(
		    c, after, BACKFILL_PAGE, refs, &n);
		if (rc != 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			after = refs[i].id;
			rc = blob_digests_hex(
			    im->blobs, refs[i].sha256_hex, sha1_hex, md5_hex);
			if (rc == OTA_ENOTFOUND)
				log_warn("msg=\"image blob missing; digests "
				         "not filled\" image=%lld sha256=%s",
				    (long long)refs[i].id, refs[i].sha256_hex);
			if (rc != 0) {
				/* Other failures were logged by blob.c. */
				skipped++;
				continue;
			}
			rc = store_image_digests_set(
			    c, refs[i].id, sha1_hex, md5_hex);
			if (rc == OTA_ENOTFOUND)
				continue; /* deleted or filled meanwhile */
			if (rc != 0)
				goto out;
			done++;
		}
	} while (n == BACKFILL_PAGE);
	rc = 0;
out:
	store_release(im->store, c);
	if (rc == 0 && (done > 0 || skipped > 0))
		log_info("msg=\"image digests backfilled\" count=%d "
		         "skipped=%d",
		    done, skipped);
	return rc;
}
