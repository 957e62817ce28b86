/*
 * check_store_images: the image_chunks rows of store_images.c (the bytes
 * of an image in the database, blob_storage = database) through the store
 * API only, so the suite reads the same on every database: chunks written
 * in order of STORE_IMAGE_CHUNK_BYTES, read back one at a time, all or
 * none with their transaction, refused twice, and deleted with the image;
 * and the embedded metadata column.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "store.h"
#include "store_images.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;

static void
setup(void)
{
	testutil_tmpdir_new("check_store_images", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* The byte at offset i of the test images: not periodic in a chunk. */
static unsigned char
byte_at(uint64_t i)
{
	return (unsigned char)((i * 7 + i / 1000) & 0xff);
}

/* A store_image_read_fn of size test bytes, handed out cap at a time;
 * fail_at, when not 0, makes the read that reaches it fail. */
struct gen {
	uint64_t size, off, fail_at;
	int reads;
};

static int
gen_read(void *arg, void *buf, size_t cap, size_t *out_n)
{
	struct gen *g = arg;
	size_t n = 0;

	g->reads++;
	if (g->fail_at != 0 && g->off + cap >= g->fail_at)
		return OTA_EIO;
	while (n < cap && g->off < g->size)
		((unsigned char *)buf)[n++] = byte_at(g->off++);
	*out_n = n;
	return 0;
}

/* Reads every chunk of image id back and checks it against byte_at. */
static void
assert_chunks(int64_t id, uint64_t size)
{
	struct store_conn *c = store_acquire(st);
	unsigned char *buf = malloc(STORE_IMAGE_CHUNK_BYTES);
	int64_t count, bytes, seq;
	uint64_t off = 0;
	size_t n;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(store_image_chunks_stat(c, id, &count, &bytes), 0);
	ck_assert_int_eq(count, (int64_t)((size + STORE_IMAGE_CHUNK_BYTES - 1) /
	                                  STORE_IMAGE_CHUNK_BYTES));
	ck_assert_int_eq(bytes, (int64_t)size);
	for (seq = 0; seq < count; seq++) {
		ck_assert_int_eq(store_image_chunk_read(c, id, seq, buf,
		                     STORE_IMAGE_CHUNK_BYTES, &n),
		    0);
		ck_assert_uint_eq(
		    n, seq + 1 < count ? STORE_IMAGE_CHUNK_BYTES : size - off);
		for (size_t i = 0; i < n; i++)
			if (buf[i] != byte_at(off + i))
				ck_abort_msg("chunk %lld byte %zu differs",
				    (long long)seq, i);
		off += n;
	}
	ck_assert_int_eq(store_image_chunk_read(
	                     c, id, count, buf, STORE_IMAGE_CHUNK_BYTES, &n),
	    OTA_ENOTFOUND);
	ck_assert_uint_eq(off, size);
	free(buf);
	store_release(st, c);
}

/* store_image_chunks_write / _stat / store_image_chunk_read */

START_TEST(test_chunks_roundtrip)
{
	/* Two whole chunks and a part; then exactly one chunk; then 1. */
	static const uint64_t sizes[] = {
	    2 * STORE_IMAGE_CHUNK_BYTES + 12345, STORE_IMAGE_CHUNK_BYTES, 1};
	struct store_conn *c;
	char version[16];

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct gen g = {sizes[k], 0, 0, 0};
		int64_t id;

		snprintf(version, sizeof(version), "1.0.%zu", k);
		id = testutil_image_insert(
		    st, "fw", version, sizes[k], (unsigned char)k, "t", NULL);
		c = store_acquire(st);
		ck_assert_int_eq(
		    store_image_chunks_write(c, id, sizes[k], gen_read, &g), 0);
		store_release(st, c);
		assert_chunks(id, sizes[k]);
	}
}
END_TEST

START_TEST(test_chunks_refused)
{
	struct store_conn *c;
	struct gen g = {3000, 0, 0, 0};
	unsigned char buf[16];
	int64_t id, count, bytes;
	size_t n;

	id = testutil_image_insert(st, "fw", "1.0.0", 3000, 1, "t", NULL);
	c = store_acquire(st);
	/* Fewer bytes than the size: nothing is written. */
	ck_assert_int_eq(
	    store_image_chunks_write(c, id, 3001, gen_read, &g), OTA_EMISMATCH);
	ck_assert_int_eq(store_image_chunks_stat(c, id, &count, &bytes), 0);
	ck_assert_int_eq(count, 0);
	/* A reader that fails: its code, nothing written. */
	g = (struct gen){
	    3 * STORE_IMAGE_CHUNK_BYTES, 0, 2 * STORE_IMAGE_CHUNK_BYTES + 5, 0};
	ck_assert_int_eq(store_image_chunks_write(
	                     c, id, 3 * STORE_IMAGE_CHUNK_BYTES, gen_read, &g),
	    OTA_EIO);
	ck_assert_int_eq(store_image_chunks_stat(c, id, &count, &bytes), 0);
	ck_assert_int_eq(count, 0);
	/* Written once, then refused: chunks never change. */
	g = (struct gen){3000, 0, 0, 0};
	ck_assert_int_eq(
	    store_image_chunks_write(c, id, 3000, gen_read, &g), 0);
	g = (struct gen){3000, 0, 0, 0};
	ck_assert_int_eq(
	    store_image_chunks_write(c, id, 3000, gen_read, &g), OTA_ECONFLICT);
	/* No such image: the foreign key. */
	g = (struct gen){10, 0, 0, 0};
	ck_assert_int_eq(
	    store_image_chunks_write(c, id + 100, 10, gen_read, &g), OTA_EDB);
	/* A chunk larger than the caller's buffer is an error, not cut. */
	ck_assert_int_eq(
	    store_image_chunk_read(c, id, 0, buf, sizeof(buf), &n), OTA_EDB);
	store_release(st, c);
	assert_chunks(id, 3000);
}
END_TEST

/* In the caller's transaction: committed with it, or rolled back with
 * the image row (so no row is ever seen without all its chunks). */
START_TEST(test_chunks_in_caller_tx)
{
	struct store_conn *c;
	struct gen g = {5000, 0, 0, 0};
	int64_t id, count, bytes;

	id = testutil_image_insert(st, "fw", "1.0.0", 5000, 1, "t", NULL);
	c = store_acquire(st);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(
	    store_image_chunks_write(c, id, 5000, gen_read, &g), 0);
	store_rollback(c);
	ck_assert_int_eq(store_image_chunks_stat(c, id, &count, &bytes), 0);
	ck_assert_int_eq(count, 0);
	g = (struct gen){5000, 0, 0, 0};
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(
	    store_image_chunks_write(c, id, 5000, gen_read, &g), 0);
	ck_assert_int_eq(store_commit(c), 0);
	store_release(st, c);
	assert_chunks(id, 5000);
}
END_TEST

/* Deleting the image deletes its chunks, not another image's. */
START_TEST(test_chunks_deleted_with_image)
{
	struct store_conn *c;
	struct gen g = {4000, 0, 0, 0};
	int64_t a, b, count, bytes;
	char sha[65];
	int unused;

	a = testutil_image_insert(st, "fw", "1.0.0", 4000, 1, "t", NULL);
	b = testutil_image_insert(st, "fw", "2.0.0", 4000, 2, "t", NULL);
	c = store_acquire(st);
	ck_assert_int_eq(store_image_chunks_write(c, a, 4000, gen_read, &g), 0);
	g = (struct gen){4000, 0, 0, 0};
	ck_assert_int_eq(store_image_chunks_write(c, b, 4000, gen_read, &g), 0);
	ck_assert_int_eq(store_image_delete(c, a, sha, &unused, NULL), 0);
	ck_assert_int_eq(store_image_chunks_stat(c, a, &count, &bytes), 0);
	ck_assert_int_eq(count, 0);
	ck_assert_int_eq(bytes, 0);
	store_release(st, c);
	assert_chunks(b, 4000);
}
END_TEST

/* images.embedded: written once, in the caller's transaction, read back
 * by get and list; NULL for an image without it. */
START_TEST(test_embedded)
{
	struct store_image_filter f = {.limit = 10};
	struct store_image *img, **imgs = NULL;
	struct store_conn *c;
	const char *j1 = "{\"mcuboot\":{\"version\":\"1.2.3+4\"}}";
	int64_t a, b;
	size_t n = 0;

	a = testutil_image_insert(st, "fw", "1.0.0", 100, 1, "t", NULL);
	b = testutil_image_insert(st, "fw", "2.0.0", 100, 2, "t", NULL);
	c = store_acquire(st);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_image_embedded_set(c, a, j1), 0);
	store_rollback(c);
	ck_assert_int_eq(store_image_get(c, a, &img), 0);
	ck_assert_ptr_null(img->embedded);
	store_image_free(img);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_image_embedded_set(c, a, j1), 0);
	ck_assert_int_eq(store_commit(c), 0);
	/* Never changed once written. */
	ck_assert_int_eq(store_image_embedded_set(c, a, "{}"), 0);
	ck_assert_int_eq(store_image_embedded_set(c, a, NULL), OTA_EINVAL);
	ck_assert_int_eq(store_image_embedded_set(c, a, "[]"), OTA_EINVAL);
	ck_assert_int_eq(store_image_get(c, a, &img), 0);
	ck_assert_str_eq(img->embedded, j1);
	store_image_free(img);
	ck_assert_int_eq(store_image_list(c, &f, &imgs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(imgs[0]->id, a);
	ck_assert_str_eq(imgs[0]->embedded, j1);
	ck_assert_int_eq(imgs[1]->id, b);
	ck_assert_ptr_null(imgs[1]->embedded);
	store_image_list_free(imgs, n);
	store_release(st, c);
}
END_TEST

static Suite *
store_images_suite(void)
{
	Suite *s = suite_create("store_images");
	TCase *tc = tcase_create("image_chunks");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_chunks_roundtrip);
	tcase_add_test(tc, test_chunks_refused);
	tcase_add_test(tc, test_chunks_in_caller_tx);
	tcase_add_test(tc, test_chunks_deleted_with_image);
	suite_add_tcase(s, tc);
	tc = tcase_create("embedded");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_embedded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERR);
	return testutil_run_suite(store_images_suite());
}
