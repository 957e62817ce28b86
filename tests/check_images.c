/*
 * check_images: the images service over a real store, blob directory and
 * an in-memory keyring: uploads accepted only when signed by a trusted key
 * and matching their descriptor, deletes that drop the unused blob,
 * orphan removal, and the start-up backfill of SHA-1 and MD5 (images
 * stored before otad kept those digests get them from their blob files;
 * one whose blob is gone is skipped without stopping the others); with
 * blob_storage = database, uploads that write chunks and nodes that fill
 * their cache from them.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "blob.h"
#include "crypto.h"
#include "descriptor.h"
#include "errors.h"
#include "images.h"
#include "log.h"
#include "store.h"
#include "store_images.h"
#include "testutil.h"

#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"
#define FOX "The quick brown fox jumps over the lazy dog"
#define FOX_SHA1 "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
#define FOX_MD5 "9e107d9d372bb6826bd81d3542a419d6"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
/* The images service and exactly the collaborators it is given. */
static struct store *store;
static struct blob_store *blobs;
static struct crypto_keyring *keyring;
static struct images *images;
static unsigned char rel_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char rel_sk[crypto_sign_SECRETKEYBYTES];
/* What setup gives images_new: files, or database for setup_db. */
static enum images_blob_storage storage = IMAGES_BLOBS_FILES;

static void
setup(void)
{
	testutil_tmpdir_new("check_images", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &store), 0);
	blobs = blob_store_open(tmpdir);
	ck_assert_ptr_nonnull(blobs);
	/* One trusted release key, "rel". */
	crypto_sign_keypair(rel_pk, rel_sk);
	keyring = calloc(1, sizeof(*keyring));
	ck_assert_ptr_nonnull(keyring);
	keyring->keys = calloc(1, sizeof(*keyring->keys));
	ck_assert_ptr_nonnull(keyring->keys);
	snprintf(keyring->keys[0].id, sizeof(keyring->keys[0].id), "rel");
	memcpy(keyring->keys[0].pk, rel_pk, sizeof(rel_pk));
	keyring->count = 1;
	images = images_new(store, blobs, keyring, 1, storage);
	ck_assert_ptr_nonnull(images);
}

static void
teardown(void)
{
	images_free(images);
	crypto_keyring_free(keyring);
	store_close(store);
	blob_store_close(blobs);
	images = NULL;
	keyring = NULL;
	store = NULL;
	blobs = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* setup for blob_storage = database. */
static void
setup_db(void)
{
	storage = IMAGES_BLOBS_DATABASE;
	setup();
}

static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

/*
 * Stores an image "fw" version of the bytes text: its blob unless
 * blob_too is 0, and its row (with the right digests, as an upload
 * writes them).  Returns the image id.
 */
static int64_t
store_image(const char *version, const char *text, int blob_too)
{
	struct ota_descriptor d;
	struct blob_tmp *t = NULL;
	struct store_conn *c;
	unsigned char *bytes = NULL;
	char err[200], sha1[BLOB_SHA1_HEX_LEN], md5[BLOB_MD5_HEX_LEN];
	size_t len = 0;
	int64_t id = 0;
	int existed = -1;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "fw");
	snprintf(d.version, sizeof(d.version), "%s", version);
	snprintf(d.hardware[0], sizeof(d.hardware[0]), "revA");
	d.hardware_count = 1;
	d.size = strlen(text);
	ck_assert_int_eq(blob_tmp_new(blobs, &t), 0);
	ck_assert_int_eq(blob_tmp_write(t, text, strlen(text)), 0);
	blob_tmp_digest(t, d.sha256);
	blob_tmp_digests_hex(t, sha1, md5);
	sodium_bin2hex(d.sha256_hex, sizeof(d.sha256_hex), d.sha256, 32);
	if (blob_too)
		ck_assert_int_eq(blob_tmp_commit(t, d.sha256_hex), 0);
	else
		blob_tmp_discard(t);
	ck_assert_msg(descriptor_build(&d, &bytes, &len, err, sizeof(err)) == 0,
	    "descriptor_build: %s", err);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_insert(c, &d, bytes, len, "[]", sha1, md5,
	                     "t", &id, &existed),
	    0);
	store_release(store, c);
	free(bytes);
	return id;
}

/* 1 when the blob sha256_hex is stored, 0 when not. */
static int
has_blob(const char *sha256_hex)
{
	uint64_t size = 0;
	int fd = -1, rc;

	rc = blob_open(blobs, sha256_hex, &fd, &size);
	if (rc == 0)
		close(fd);
	ck_assert(rc == 0 || rc == OTA_ENOTFOUND);
	return rc == 0;
}

/* Checks image id's stored digests. */
static void
assert_digests(int64_t id, const char *sha1, const char *md5)
{
	struct store_image *img = NULL;
	struct store_conn *c = store_acquire(store);

	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	store_release(store, c);
	ck_assert_str_eq(img->sha1_hex, sha1);
	ck_assert_str_eq(img->md5_hex, md5);
	store_image_free(img);
}

START_TEST(test_backfill)
{
	int64_t abc, fox, gone;

	abc = store_image("1.0.0", "abc", 1);
	gone = store_image("1.1.0", "no blob file", 0);
	fox = store_image("1.2.0", FOX, 1);
	/* Nothing to do: nothing changes. */
	ck_assert_int_eq(images_backfill_digests(images), 0);
	assert_digests(abc, ABC_SHA1, ABC_MD5);
	/* Rows from before migration 0004. */
	raw_exec("UPDATE images SET sha1 = NULL, md5 = NULL");
	assert_digests(abc, "", "");
	ck_assert_int_eq(images_backfill_digests(images), 0);
	assert_digests(abc, ABC_SHA1, ABC_MD5);
	assert_digests(fox, FOX_SHA1, FOX_MD5);
	/* Its blob is missing: skipped, the image after it still filled. */
	assert_digests(gone, "", "");
	/* A second start finds only that one, and still succeeds. */
	ck_assert_int_eq(images_backfill_digests(images), 0);
	assert_digests(fox, FOX_SHA1, FOX_MD5);
	assert_digests(gone, "", "");
}
END_TEST

/* More images than one page of the backfill's query. */
START_TEST(test_backfill_pages)
{
	enum { N = 230 };
	int64_t first = 0, last = 0;
	char version[32];

	for (int i = 0; i < N; i++) {
		snprintf(version, sizeof(version), "1.0.%d", i);
		last = store_image(version, i % 2 ? "abc" : FOX, 1);
		if (i == 0)
			first = last;
	}
	raw_exec("UPDATE images SET sha1 = NULL, md5 = NULL");
	ck_assert_int_eq(images_backfill_digests(images), 0);
	assert_digests(first, FOX_SHA1, FOX_MD5);
	assert_digests(last, ABC_SHA1, ABC_MD5);
	{
		struct store_image_ref refs[1];
		struct store_conn *c = store_acquire(store);
		size_t n = 99;

		ck_assert_int_eq(
		    store_image_digests_missing(c, 0, 1, refs, &n), 0);
		store_release(store, c);
		ck_assert_uint_eq(n, 0);
	}
}
END_TEST

/*
 * An upload of text as "fw" version: its bytes in a new blob_tmp, its
 * descriptor (claiming size and SHA-256 of claimed, text when NULL) and
 * its signatures by sk under keyid.  The caller frees *out_desc and
 * *out_sigs.
 */
static struct blob_tmp *
upload_new(const char *version, const char *text, size_t text_len,
    const char *claimed, const unsigned char *sk, const char *keyid,
    unsigned char **out_desc, size_t *out_len, char **out_sigs)
{
	struct ota_descriptor d;
	struct blob_tmp *t = NULL, *c = NULL;
	unsigned char sig[crypto_sign_BYTES];
	char b64[sodium_base64_ENCODED_LEN(
	    crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char err[200];
	json_t *sigs;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "fw");
	snprintf(d.version, sizeof(d.version), "%s", version);
	snprintf(d.hardware[0], sizeof(d.hardware[0]), "revA");
	d.hardware_count = 1;
	d.size = claimed != NULL ? strlen(claimed) : text_len;
	claimed = claimed != NULL ? claimed : text;
	ck_assert_int_eq(blob_tmp_new(blobs, &c), 0);
	ck_assert_int_eq(blob_tmp_write(c, claimed, d.size), 0);
	blob_tmp_digest(c, d.sha256);
	blob_tmp_discard(c);
	sodium_bin2hex(d.sha256_hex, sizeof(d.sha256_hex), d.sha256, 32);
	ck_assert_msg(
	    descriptor_build(&d, out_desc, out_len, err, sizeof(err)) == 0,
	    "descriptor_build: %s", err);
	crypto_sign_detached(sig, NULL, *out_desc, *out_len, sk);
	sodium_bin2base64(
	    b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	sigs = json_pack("[{s:s, s:s}]", "keyid", keyid, "sig", b64);
	*out_sigs = json_dumps(sigs, JSON_COMPACT);
	json_decref(sigs);
	ck_assert_int_eq(blob_tmp_new(blobs, &t), 0);
	ck_assert_int_eq(blob_tmp_write(t, text, text_len), 0);
	return t;
}

/* images_accept over one upload of text[0..text_len); returns its code,
 * *out_id and err. */
static int
accept_bytes(const char *version, const char *text, size_t text_len,
    const char *claimed, const unsigned char *sk, const char *keyid,
    int64_t *out_id, int *out_existed, char *err, size_t errlen)
{
	unsigned char *desc = NULL;
	char *sigs = NULL;
	size_t len = 0;
	struct blob_tmp *t;
	int rc;

	t = upload_new(
	    version, text, text_len, claimed, sk, keyid, &desc, &len, &sigs);
	err[0] = '\0';
	rc = images_accept(images, desc, len, sigs, strlen(sigs), t, "tester",
	    out_id, out_existed, err, errlen);
	free(desc);
	free(sigs);
	return rc;
}

/* accept_bytes of the C string text. */
static int
accept_one(const char *version, const char *text, const char *claimed,
    const unsigned char *sk, const char *keyid, int64_t *out_id,
    int *out_existed, char *err, size_t errlen)
{
	return accept_bytes(version, text, strlen(text), claimed, sk, keyid,
	    out_id, out_existed, err, errlen);
}

START_TEST(test_accept)
{
	struct store_image *img = NULL;
	struct store_conn *c;
	char err[300];
	int64_t id = 0, id2 = 0;
	int existed = -1;

	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(existed, 0);
	/* The same upload again: the image that is there. */
	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, rel_sk, "rel", &id2,
	                     &existed, err, sizeof(err)),
	    0);
	ck_assert_int_eq(id2, id);
	ck_assert_int_eq(existed, 1);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	store_release(store, c);
	ck_assert_str_eq(img->sha1_hex, ABC_SHA1);
	ck_assert_str_eq(img->md5_hex, ABC_MD5);
	ck_assert_int_eq(has_blob(img->desc.sha256_hex), 1);
	store_image_free(img);
}
END_TEST

START_TEST(test_accept_refused)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char err[300];
	int64_t id = 0;
	int existed = -1;

	crypto_sign_keypair(pk, sk);
	/* Signed by a key the keyring does not hold. */
	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, rel_sk, "other", &id,
	                     &existed, err, sizeof(err)),
	    OTA_ESIG);
	ck_assert_ptr_nonnull(strstr(err, "unknown key id"));
	/* Under the trusted key's id, by another key. */
	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    OTA_ESIG);
	ck_assert_ptr_nonnull(strstr(err, "does not verify"));
	/* Bytes that are not the descriptor's. */
	ck_assert_int_eq(accept_one("1.0.0", "abd", "abc", rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    OTA_EMISMATCH);
	ck_assert_ptr_nonnull(strstr(err, "SHA-256"));
	ck_assert_int_eq(accept_one("1.0.0", "abcd", "abc", rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    OTA_EMISMATCH);
	ck_assert_ptr_nonnull(strstr(err, "bytes"));
	/* Same name and version, other bytes. */
	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	ck_assert_int_eq(accept_one("1.0.0", "xyz", NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    OTA_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(err, "different content"));
}
END_TEST

/* An MCUboot image (boot/bootutil/include/bootutil/image.h) of 600
 * bytes: a 32-byte header, a 500-byte body, version 1.2.771+4. */
static void
mcuboot_bytes(char out[600])
{
	static const unsigned char hdr[32] = {0x3d, 0xb8, 0xf3, 0x96, 0, 0, 0,
	    0, 32, 0, 0, 0, 0xf4, 0x01, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 4, 0, 0,
	    0, 0, 0, 0, 0};

	memset(out, 'x', 600);
	memcpy(out, hdr, sizeof(hdr));
}

/* What the bytes say is checked before anything is stored, and stored
 * with the row (files and database alike). */
START_TEST(test_accept_embedded)
{
	struct store_image *img = NULL;
	struct store_conn *c;
	char err[300], text[600];
	int64_t id = 0;
	int existed = -1;

	mcuboot_bytes(text);
	ck_assert_int_eq(accept_bytes("1.2.771", text, sizeof(text), NULL,
	                     rel_sk, "rel", &id, &existed, err, sizeof(err)),
	    OTA_EMISMATCH);
	ck_assert_ptr_nonnull(strstr(err, "1.2.771+4"));
	ck_assert_int_eq(
	    testutil_sql_query(dbpath, "SELECT COUNT(*) FROM images", NULL, 0),
	    0);
	ck_assert_int_eq(accept_bytes("1.2.771+4", text, sizeof(text), NULL,
	                     rel_sk, "rel", &id, &existed, err, sizeof(err)),
	    0);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	store_release(store, c);
	ck_assert_ptr_nonnull(img->embedded);
	ck_assert_ptr_nonnull(
	    strstr(img->embedded, "{\"mcuboot\":{\"version\":\"1.2.771+4\""));
	store_image_free(img);
	/* An image of no known format has none. */
	ck_assert_int_eq(accept_one("2.0.0", "abc", NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	store_release(store, c);
	ck_assert_ptr_null(img->embedded);
	store_image_free(img);
}
END_TEST

START_TEST(test_accept_malformed)
{
	struct blob_tmp *t = NULL;
	char err[300];
	int64_t id = 0;
	int existed = -1;

	ck_assert_int_eq(blob_tmp_new(blobs, &t), 0);
	ck_assert_int_eq(images_accept(images, (const unsigned char *)"{}", 2,
	                     "[]", 2, t, "t", &id, &existed, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "descriptor"));
}
END_TEST

START_TEST(test_delete)
{
	struct store_image *img = NULL;
	struct store_image_user user;
	struct store_conn *c;
	char err[300], sha[65];
	int64_t id = 0;
	int existed = -1;

	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	store_release(store, c);
	snprintf(sha, sizeof(sha), "%s", img->desc.sha256_hex);
	store_image_free(img);
	ck_assert_int_eq(images_delete(images, id, &user), 0);
	ck_assert_int_eq(has_blob(sha), 0);
	ck_assert_int_eq(images_delete(images, id, &user), OTA_ENOTFOUND);
}
END_TEST

START_TEST(test_remove_orphans)
{
	int64_t abc;
	char sha[65];
	struct store_image *img = NULL;
	struct store_conn *c;

	abc = store_image("1.0.0", "abc", 1);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_get(c, abc, &img), 0);
	store_release(store, c);
	snprintf(sha, sizeof(sha), "%s", img->desc.sha256_hex);
	store_image_free(img);
	raw_exec("DELETE FROM images");
	ck_assert_int_eq(has_blob(sha), 1);
	ck_assert_int_eq(images_remove_orphans(images), 0);
	ck_assert_int_eq(has_blob(sha), 0);
}
END_TEST

/* The sha256 (hex) of image id into out. */
static void
image_sha(int64_t id, char out[65])
{
	struct store_image *img = NULL;
	struct store_conn *c = store_acquire(store);

	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	store_release(store, c);
	snprintf(out, 65, "%s", img->desc.sha256_hex);
	store_image_free(img);
}

/* Opens image id through images_blob_open of im and checks that the file
 * holds exactly text. */
static void
assert_blob_reads(struct images *im, int64_t id, const char *text)
{
	size_t len = strlen(text), got = 0;
	uint64_t size = 0;
	char sha[65], *buf;
	ssize_t n;
	int fd = -1;

	image_sha(id, sha);
	ck_assert_int_eq(images_blob_open(im, id, sha, len, &fd, &size), 0);
	ck_assert_uint_eq(size, len);
	buf = malloc(len + 1);
	ck_assert_ptr_nonnull(buf);
	while (got <= len && (n = read(fd, buf + got, len + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(buf, text, len) == 0);
	free(buf);
}

/* A text of n bytes, not periodic in a chunk; the caller frees it. */
static char *
big_text(size_t n)
{
	char *t = malloc(n + 1);

	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < n; i++)
		t[i] = (char)('a' + (i * 7 + i / 4096) % 26);
	t[n] = '\0';
	return t;
}

/* Database: the upload keeps a cache file and writes chunks; without the
 * file, a download fills it again from the chunks, byte for byte. */
START_TEST(test_db_accept_fill)
{
	size_t n = 2 * STORE_IMAGE_CHUNK_BYTES + 777;
	char err[300], sha[65], *text = big_text(n);
	struct store_conn *c;
	int64_t id = 0, count = 0, bytes = 0;
	int existed = -1;

	ck_assert_int_eq(accept_one("1.0.0", text, NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	image_sha(id, sha);
	ck_assert_int_eq(has_blob(sha), 1);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_chunks_stat(c, id, &count, &bytes), 0);
	store_release(store, c);
	ck_assert_int_eq(count, 3);
	ck_assert_int_eq(bytes, (int64_t)n);
	ck_assert_int_eq(blob_remove(blobs, sha), 0);
	ck_assert_int_eq(has_blob(sha), 0);
	assert_blob_reads(images, id, text);
	ck_assert_int_eq(has_blob(sha), 1);
	free(text);
}
END_TEST

/* Database: a second node (its own blob directory, the same database)
 * serves an image the first uploaded; its delete removes the chunks, and
 * the other node's stale cache file goes at its next periodic sweep. */
START_TEST(test_db_second_node)
{
	char dir2[PATH_MAX], err[300], sha[65];
	struct blob_store *blobs2;
	struct images *im2;
	struct store_image_user user;
	int64_t id = 0;
	uint64_t size;
	int existed = -1, fd = -1;

	testutil_tmpdir_new("check_images_node2", dir2, sizeof(dir2));
	blobs2 = blob_store_open(dir2);
	ck_assert_ptr_nonnull(blobs2);
	im2 = images_new(store, blobs2, keyring, 1, IMAGES_BLOBS_DATABASE);
	ck_assert_ptr_nonnull(im2);
	ck_assert_int_eq(accept_one("1.0.0", FOX, NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	image_sha(id, sha);
	assert_blob_reads(im2, id, FOX);
	ck_assert_int_eq(blob_open(blobs2, sha, &fd, &size), 0);
	close(fd);
	/* Deleted through node 1: node 2 can no longer fill it... */
	ck_assert_int_eq(images_delete(images, id, &user), 0);
	ck_assert_int_eq(has_blob(sha), 0);
	ck_assert_int_eq(blob_remove(blobs2, sha), 0);
	ck_assert_int_eq(
	    images_blob_open(im2, id, sha, strlen(FOX), &fd, &size),
	    OTA_ENOTFOUND);
	/* ...and a stale cache file of node 2 is swept. */
	ck_assert_int_eq(accept_one("2.0.0", FOX, NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	assert_blob_reads(im2, id, FOX);
	ck_assert_int_eq(images_delete(images, id, &user), 0);
	ck_assert_int_eq(blob_open(blobs2, sha, &fd, &size), 0);
	close(fd);
	ck_assert_int_eq(images_sweep_start(im2, 1), 0);
	ck_assert_int_eq(images_sweep_start(im2, 1), OTA_EINVAL);
	for (int i = 0; i < 50 && blob_open(blobs2, sha, &fd, &size) == 0;
	     i++) {
		close(fd);
		usleep(100000);
	}
	ck_assert_int_eq(blob_open(blobs2, sha, &fd, &size), OTA_ENOTFOUND);
	images_free(im2); /* stops the sweep */
	blob_store_close(blobs2);
	testutil_tmpdir_remove(dir2);
}
END_TEST

/* Sets the bytes of every image chunk to text, behind the store's back. */
static void
chunk_set(const char *text)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    testutil_db_is_postgres()
	        ? "UPDATE image_chunks SET data = convert_to('%s', 'UTF8')"
	        : "UPDATE image_chunks SET data = CAST('%s' AS BLOB)",
	    text);
	raw_exec(sql);
}

/* Database: chunks that are not the image's bytes fill nothing. */
START_TEST(test_db_fill_mismatch)
{
	char err[300], sha[65];
	uint64_t size;
	int64_t id = 0;
	int existed = -1, fd = -1;

	ck_assert_int_eq(accept_one("1.0.0", FOX, NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	image_sha(id, sha);
	ck_assert_int_eq(blob_remove(blobs, sha), 0);
	chunk_set("The quick brown fox jumps over the lazy cat");
	ck_assert_int_eq(
	    images_blob_open(images, id, sha, strlen(FOX), &fd, &size),
	    OTA_EMISMATCH);
	ck_assert_int_eq(has_blob(sha), 0);
	chunk_set("short");
	ck_assert_int_eq(
	    images_blob_open(images, id, sha, strlen(FOX), &fd, &size),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(has_blob(sha), 0);
}
END_TEST

/* Database: an image stored without chunks (blob_storage = files before)
 * gets them when the same upload comes again. */
START_TEST(test_db_existing_gets_chunks)
{
	char err[300], sha[65];
	struct store_conn *c;
	int64_t id, id2 = 0, count = 0, bytes = 0;
	int existed = -1;

	id = store_image("1.0.0", "abc", 0);
	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, rel_sk, "rel", &id2,
	                     &existed, err, sizeof(err)),
	    0);
	ck_assert_int_eq(id2, id);
	ck_assert_int_eq(existed, 1);
	c = store_acquire(store);
	ck_assert_int_eq(store_image_chunks_stat(c, id, &count, &bytes), 0);
	store_release(store, c);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(bytes, 3);
	image_sha(id, sha);
	ck_assert_int_eq(blob_remove(blobs, sha), 0);
	assert_blob_reads(images, id, "abc");
}
END_TEST

/* Database: a refused upload leaves no row, no chunk, no temp file. */
START_TEST(test_db_refused_leaves_nothing)
{
	char err[300], path[PATH_MAX + 8];
	int64_t id = 0;
	int existed = -1;

	ck_assert_int_eq(accept_one("1.0.0", "abc", NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    0);
	ck_assert_int_eq(accept_one("1.0.0", "xyz", NULL, rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    OTA_ECONFLICT);
	ck_assert_int_eq(accept_one("2.0.0", "abd", "abc", rel_sk, "rel", &id,
	                     &existed, err, sizeof(err)),
	    OTA_EMISMATCH);
	ck_assert_int_eq(testutil_sql_query(dbpath,
	                     "SELECT COUNT(*) FROM image_chunks", NULL, 0),
	    1);
	snprintf(path, sizeof(path), "%s/tmp", tmpdir);
	ck_assert_int_eq(testutil_run("test -z \"$(ls -A '%s')\"", path), 0);
}
END_TEST

/* Files: a missing file stays missing (nothing to fill it from). */
START_TEST(test_files_no_fill)
{
	char sha[65];
	uint64_t size;
	int64_t id;
	int fd = -1;

	id = store_image("1.0.0", "abc", 0);
	image_sha(id, sha);
	ck_assert_int_eq(
	    images_blob_open(images, id, sha, 3, &fd, &size), OTA_ENOTFOUND);
	id = store_image("2.0.0", FOX, 1);
	assert_blob_reads(images, id, FOX);
}
END_TEST

struct fill_arg {
	int64_t id;
	const char *text;
};

static void *
fill_thread(void *p)
{
	struct fill_arg *a = p;

	assert_blob_reads(images, a->id, a->text);
	return NULL;
}

/* Database: downloads racing to fill one file all read the whole file. */
START_TEST(test_db_concurrent_fill)
{
	size_t n = STORE_IMAGE_CHUNK_BYTES + 99;
	char err[300], sha[65], *text = big_text(n);
	struct fill_arg a;
	pthread_t th[4];
	int existed = -1;

	ck_assert_int_eq(accept_one("1.0.0", text, NULL, rel_sk, "rel", &a.id,
	                     &existed, err, sizeof(err)),
	    0);
	image_sha(a.id, sha);
	ck_assert_int_eq(blob_remove(blobs, sha), 0);
	a.text = text;
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, fill_thread, &a), 0);
	for (size_t i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(has_blob(sha), 1);
	free(text);
}
END_TEST

static Suite *
images_suite(void)
{
	Suite *s = suite_create("images");
	TCase *tc = tcase_create("backfill_digests");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_backfill);
	tcase_add_test(tc, test_backfill_pages);
	suite_add_tcase(s, tc);

	tc = tcase_create("images_accept");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_accept);
	tcase_add_test(tc, test_accept_refused);
	tcase_add_test(tc, test_accept_malformed);
	tcase_add_test(tc, test_accept_embedded);
	suite_add_tcase(s, tc);

	tc = tcase_create("images_delete");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_delete);
	suite_add_tcase(s, tc);

	tc = tcase_create("images_remove_orphans");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_remove_orphans);
	suite_add_tcase(s, tc);

	tc = tcase_create("images_blob_open");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_files_no_fill);
	suite_add_tcase(s, tc);

	tc = tcase_create("blob_storage_database");
	tcase_add_checked_fixture(tc, setup_db, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_db_accept_fill);
	tcase_add_test(tc, test_db_refused_leaves_nothing);
	tcase_add_test(tc, test_db_second_node);
	tcase_add_test(tc, test_db_fill_mismatch);
	tcase_add_test(tc, test_db_existing_gets_chunks);
	tcase_add_test(tc, test_db_concurrent_fill);
	tcase_add_test(tc, test_accept_embedded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERR);
	return testutil_run_suite(images_suite());
}
