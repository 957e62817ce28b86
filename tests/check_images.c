/*
 * check_images: images.c's start-up backfill of SHA-1 and MD5 over a real
 * store and blob directory: images stored before otad kept those digests
 * get them from their blob files; one whose blob is gone is skipped
 * without stopping the others.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "app.h"
#include "blob.h"
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
static struct app app;

static void
setup(void)
{
	testutil_tmpdir_new("check_images", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	memset(&app, 0, sizeof(app));
	ck_assert_int_eq(store_open(dbpath, 2, &app.store), 0);
	app.blobs = blob_store_open(tmpdir);
	ck_assert_ptr_nonnull(app.blobs);
}

static void
teardown(void)
{
	store_close(app.store);
	blob_store_close(app.blobs);
	memset(&app, 0, sizeof(app));
	testutil_tmpdir_remove(tmpdir);
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
	ck_assert_int_eq(blob_tmp_new(app.blobs, &t), 0);
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
	c = store_acquire(app.store);
	ck_assert_int_eq(store_image_insert(c, &d, bytes, len, "[]", sha1, md5,
	                     "t", &id, &existed),
	    0);
	store_release(app.store, c);
	free(bytes);
	return id;
}

/* Checks image id's stored digests. */
static void
assert_digests(int64_t id, const char *sha1, const char *md5)
{
	struct store_image *img = NULL;
	struct store_conn *c = store_acquire(app.store);

	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	store_release(app.store, c);
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
	ck_assert_int_eq(images_backfill_digests(&app), 0);
	assert_digests(abc, ABC_SHA1, ABC_MD5);
	/* Rows from before migration 0004. */
	raw_exec("UPDATE images SET sha1 = NULL, md5 = NULL");
	assert_digests(abc, "", "");
	ck_assert_int_eq(images_backfill_digests(&app), 0);
	assert_digests(abc, ABC_SHA1, ABC_MD5);
	assert_digests(fox, FOX_SHA1, FOX_MD5);
	/* Its blob is missing: skipped, the image after it still filled. */
	assert_digests(gone, "", "");
	/* A second start finds only that one, and still succeeds. */
	ck_assert_int_eq(images_backfill_digests(&app), 0);
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
	ck_assert_int_eq(images_backfill_digests(&app), 0);
	assert_digests(first, FOX_SHA1, FOX_MD5);
	assert_digests(last, ABC_SHA1, ABC_MD5);
	{
		struct store_image_ref refs[1];
		struct store_conn *c = store_acquire(app.store);
		size_t n = 99;

		ck_assert_int_eq(
		    store_image_digests_missing(c, 0, 1, refs, &n), 0);
		store_release(app.store, c);
		ck_assert_uint_eq(n, 0);
	}
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
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERR);
	return testutil_run_suite(images_suite());
}
