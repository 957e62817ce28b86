/*
 * check_blob: blob.c's digests against published test vectors (FIPS 180
 * for SHA-1, RFC 1321 for MD5): computed while an upload streams, in
 * writes of any size, and again from a stored blob file, which must still
 * hold the bytes its sha256 name promises.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "blob.h"
#include "errors.h"
#include "log.h"
#include "testutil.h"

struct vector {
	const char *text; /* NULL: one million 'a' */
	const char *sha1;
	const char *md5;
};

static const struct vector vectors[] = {
    {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d",
        "900150983cd24fb0d6963f7d28e17f72"},
    {"The quick brown fox jumps over the lazy dog",
        "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
        "9e107d9d372bb6826bd81d3542a419d6"},
    /* Many read chunks when hashed back from the file. */
    {NULL, "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
        "7707d6ae4e027c70eea2a935c2296f21"},
};

#define MILLION 1000000

static char tmpdir[PATH_MAX];
static struct blob_store *bs;

static void
setup(void)
{
	testutil_tmpdir_new("check_blob", tmpdir, sizeof(tmpdir));
	bs = blob_store_open(tmpdir);
	ck_assert_ptr_nonnull(bs);
}

static void
teardown(void)
{
	blob_store_close(bs);
	bs = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* The bytes of vector v (a new buffer) and their count. */
static char *
vector_bytes(const struct vector *v, size_t *out_len)
{
	char *b;

	if (v->text != NULL) {
		b = strdup(v->text);
		*out_len = strlen(v->text);
	} else {
		b = malloc(MILLION);
		if (b != NULL)
			memset(b, 'a', MILLION);
		*out_len = MILLION;
	}
	ck_assert_ptr_nonnull(b);
	return b;
}

/*
 * Uploads v in writes of at most step bytes, checks the streamed digests
 * and commits the blob; its sha256 hex goes to out_sha256_hex.
 */
static void
upload(const struct vector *v, size_t step, char out_sha256_hex[65])
{
	struct blob_tmp *t = NULL;
	unsigned char sha256[32];
	char sha1[BLOB_SHA1_HEX_LEN], md5[BLOB_MD5_HEX_LEN], *b;
	size_t len, off;

	b = vector_bytes(v, &len);
	ck_assert_int_eq(blob_tmp_new(bs, &t), 0);
	for (off = 0; off < len; off += step)
		ck_assert_int_eq(blob_tmp_write(t, b + off,
		                     len - off < step ? len - off : step),
		    0);
	ck_assert_uint_eq(blob_tmp_size(t), len);
	blob_tmp_digest(t, sha256);
	blob_tmp_digests_hex(t, sha1, md5);
	ck_assert_str_eq(sha1, v->sha1);
	ck_assert_str_eq(md5, v->md5);
	sodium_bin2hex(out_sha256_hex, 65, sha256, sizeof(sha256));
	ck_assert_int_eq(blob_tmp_commit(t, out_sha256_hex), 0);
	free(b);
}

START_TEST(test_tmp_digests)
{
	static const size_t steps[] = {1, 2, 7, 4096, MILLION};
	char sha256_hex[65];

	for (size_t i = 0; i < sizeof(vectors) / sizeof(*vectors); i++)
		for (size_t s = 0; s < sizeof(steps) / sizeof(*steps); s++) {
			/* A million one-byte writes add nothing but time. */
			if (vectors[i].text == NULL && steps[s] < 4096)
				continue;
			upload(&vectors[i], steps[s], sha256_hex);
		}
}
END_TEST

/* A discarded upload, with or without finished digests, holds nothing
 * (ASan reports a leaked GnuTLS context). */
START_TEST(test_tmp_discard)
{
	struct blob_tmp *t = NULL;
	char sha1[BLOB_SHA1_HEX_LEN], md5[BLOB_MD5_HEX_LEN];

	ck_assert_int_eq(blob_tmp_new(bs, &t), 0);
	ck_assert_int_eq(blob_tmp_write(t, "abc", 3), 0);
	blob_tmp_discard(t);
	ck_assert_int_eq(blob_tmp_new(bs, &t), 0);
	blob_tmp_digests_hex(t, sha1, md5);
	/* The digests of no bytes at all. */
	ck_assert_str_eq(sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	ck_assert_str_eq(md5, "d41d8cd98f00b204e9800998ecf8427e");
	blob_tmp_discard(t);
}
END_TEST

/* The bytes written read back from any offset, the writes going on. */
START_TEST(test_tmp_read_at)
{
	struct blob_tmp *t = NULL;
	char buf[16];
	size_t n = 99;

	ck_assert_int_eq(blob_tmp_new(bs, &t), 0);
	ck_assert_int_eq(blob_tmp_read_at(t, 0, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(blob_tmp_write(t, "hello ", 6), 0);
	ck_assert_int_eq(blob_tmp_read_at(t, 1, buf, 3, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(buf, "ell", 3) == 0);
	ck_assert_int_eq(blob_tmp_write(t, "world", 5), 0);
	ck_assert_int_eq(blob_tmp_read_at(t, 4, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert(memcmp(buf, "o world", 7) == 0);
	ck_assert_int_eq(blob_tmp_read_at(t, 11, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(blob_tmp_size(t), 11);
	blob_tmp_discard(t);
}
END_TEST

START_TEST(test_blob_digests)
{
	char sha256_hex[65], sha1[BLOB_SHA1_HEX_LEN], md5[BLOB_MD5_HEX_LEN];

	for (size_t i = 0; i < sizeof(vectors) / sizeof(*vectors); i++) {
		upload(&vectors[i], 4096, sha256_hex);
		memset(sha1, 'x', sizeof(sha1));
		memset(md5, 'x', sizeof(md5));
		ck_assert_int_eq(
		    blob_digests_hex(bs, sha256_hex, sha1, md5), 0);
		ck_assert_str_eq(sha1, vectors[i].sha1);
		ck_assert_str_eq(md5, vectors[i].md5);
	}
}
END_TEST

START_TEST(test_blob_digests_errors)
{
	char sha256_hex[65], path[PATH_MAX + 80];
	char sha1[BLOB_SHA1_HEX_LEN], md5[BLOB_MD5_HEX_LEN];

	/* No such blob; not a blob name at all. */
	memset(sha256_hex, 'a', 64);
	sha256_hex[64] = '\0';
	ck_assert_int_eq(
	    blob_digests_hex(bs, sha256_hex, sha1, md5), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    blob_digests_hex(bs, "../otad.db", sha1, md5), OTA_ENOTFOUND);
	/* Bytes changed on disk behind the blob's name. */
	upload(&vectors[0], 4096, sha256_hex);
	snprintf(path, sizeof(path), "%s/blobs/%s", tmpdir, sha256_hex);
	testutil_write_file(path, "abd", 3);
	ck_assert_int_eq(
	    blob_digests_hex(bs, sha256_hex, sha1, md5), OTA_EMISMATCH);
}
END_TEST

static Suite *
blob_suite(void)
{
	Suite *s = suite_create("blob");
	TCase *tc;

	tc = tcase_create("tmp_digests");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tmp_digests);
	tcase_add_test(tc, test_tmp_discard);
	tcase_add_test(tc, test_tmp_read_at);
	suite_add_tcase(s, tc);

	tc = tcase_create("blob_digests");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_blob_digests);
	tcase_add_test(tc, test_blob_digests_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERR);
	return testutil_run_suite(blob_suite());
}
