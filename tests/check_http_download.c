/*
 * check_http_download: Range header interpretation (RFC 9110 section 14),
 * the pure part of resumable downloads, and the Content-Disposition of a
 * download (RFC 6266).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "http_download.h"
#include "testutil.h"

/* Asserts that value on a file of size bytes gives start/len. */
static void
want_range(const char *value, uint64_t size, uint64_t start, uint64_t len)
{
	uint64_t s = 77, l = 77;

	ck_assert_msg(http_download_range_parse(value, size, &s, &l) == 0,
	    "'%s' should be a range", value);
	ck_assert_msg(s == start && l == len, "'%s': got %llu+%llu", value,
	    (unsigned long long)s, (unsigned long long)l);
}

static void
want_rc(const char *value, uint64_t size, int rc)
{
	uint64_t s, l;

	ck_assert_msg(http_download_range_parse(value, size, &s, &l) == rc,
	    "'%s' should give %d", value, rc);
}

START_TEST(test_simple_ranges)
{
	want_range("bytes=0-0", 1000, 0, 1);
	want_range("bytes=0-999", 1000, 0, 1000);
	want_range("bytes=100-199", 1000, 100, 100);
	want_range("bytes=500-", 1000, 500, 500);
	want_range("bytes=999-", 1000, 999, 1);
	want_range("bytes= 10-19 ", 1000, 10, 10);
}
END_TEST

START_TEST(test_clamped_and_suffix)
{
	want_range("bytes=900-5000", 1000, 900, 100);
	want_range("bytes=-1", 1000, 999, 1);
	want_range("bytes=-100", 1000, 900, 100);
	want_range("bytes=-5000", 1000, 0, 1000);
}
END_TEST

START_TEST(test_unsatisfiable)
{
	want_rc("bytes=1000-", 1000, OTA_ERANGE);
	want_rc("bytes=1000-1001", 1000, OTA_ERANGE);
	want_rc("bytes=-0", 1000, OTA_ERANGE);
	want_rc("bytes=0-", 0, OTA_ERANGE);
}
END_TEST

START_TEST(test_ignored)
{
	/* Absent, other units, malformed or several ranges: whole file. */
	want_rc(NULL, 1000, 1);
	want_rc("items=0-1", 1000, 1);
	want_rc("bytes=", 1000, 1);
	want_rc("bytes=abc", 1000, 1);
	want_rc("bytes=5-1", 1000, 1);
	want_rc("bytes=-", 1000, 1);
	want_rc("bytes=1-2-3", 1000, 1);
	want_rc("bytes=+1-2", 1000, 1);
	want_rc("bytes=0-1,5-6", 1000, 1);
	want_rc("bytes=99999999999999999999-", 1000, 1);
}
END_TEST

#define ETAG_A                                                                 \
	"\""                                                                   \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""

/* http_download_plan's status, and its range when 206. */
static void
want_plan(const char *inm, const char *range, const char *if_range,
    uint64_t size, int status, uint64_t start, uint64_t len)
{
	uint64_t s = 7, l = 7;
	int st = http_download_plan(inm, range, if_range, ETAG_A, size, &s, &l);

	ck_assert_msg(st == status, "inm=%s range=%s if_range=%s: %d, want %d",
	    inm ? inm : "-", range ? range : "-", if_range ? if_range : "-", st,
	    status);
	ck_assert_uint_eq(s, start);
	ck_assert_uint_eq(l, len);
}

START_TEST(test_plan)
{
	want_plan(NULL, NULL, NULL, 1000, 200, 0, 1000);
	want_plan(NULL, "bytes=10-19", NULL, 1000, 206, 10, 10);
	want_plan(NULL, "bytes=10-19", ETAG_A, 1000, 206, 10, 10);
	/* If-Range naming another version (or a weak tag): the whole file. */
	want_plan(NULL, "bytes=10-19", "\"other\"", 1000, 200, 0, 1000);
	want_plan(NULL, "bytes=10-19", "W/" ETAG_A, 1000, 200, 0, 1000);
	want_plan(NULL, "bytes=2000-", NULL, 1000, 416, 0, 1000);
	want_plan(NULL, "bytes=2000-", "\"other\"", 1000, 200, 0, 1000);
	want_plan(NULL, "bytes=0-1,5-6", NULL, 1000, 200, 0, 1000);
	/* If-None-Match wins over Range; "*" and weak tags match. */
	want_plan(ETAG_A, "bytes=10-19", NULL, 1000, 304, 0, 1000);
	want_plan("*", NULL, NULL, 1000, 304, 0, 1000);
	want_plan("\"x\", W/" ETAG_A, NULL, NULL, 1000, 304, 0, 1000);
	want_plan("\"x\"", "bytes=10-19", NULL, 1000, 206, 10, 10);
	want_plan(ETAG_A "x", NULL, NULL, 1000, 200, 0, 1000);
}
END_TEST

START_TEST(test_content_disposition)
{
	char cd[HTTP_DOWNLOAD_CD_MAX], small[30], name[129];

	/* Safe ASCII: the name as is, no filename*. */
	ck_assert_int_eq(
	    http_download_content_disposition("fw-1.2.0.bin", cd, sizeof(cd)),
	    0);
	ck_assert_str_eq(cd, "attachment; filename=\"fw-1.2.0.bin\"");
	/* Quote and semicolon: replaced in the fallback, exact in
	 * filename*. */
	ck_assert_int_eq(
	    http_download_content_disposition("a\";b=c.bin", cd, sizeof(cd)),
	    0);
	ck_assert_str_eq(cd, "attachment; filename=\"a__b=c.bin\"; "
	                     "filename*=UTF-8''a%22%3Bb%3Dc.bin");
	/* UTF-8, percent, backslash, CR LF and a space. */
	ck_assert_int_eq(http_download_content_disposition(
	                     "caf\xc3\xa9 100%\\\r\nx", cd, sizeof(cd)),
	    0);
	ck_assert_str_eq(cd, "attachment; filename=\"caf__ 100____x\"; "
	                     "filename*=UTF-8''caf%C3%A9%20100%25%5C%0D%0Ax");
	/* The longest descriptor file name, all escaped, fits. */
	memset(name, 0xff, 128);
	name[128] = '\0';
	ck_assert_int_eq(
	    http_download_content_disposition(name, cd, sizeof(cd)), 0);
	ck_assert_uint_eq(strlen(cd), 22 + 128 + 1 + 19 + 3 * 128);
	ck_assert_int_eq(http_download_content_disposition(
	                     "a-rather-long-name.bin", small, sizeof(small)),
	    OTA_ETOOBIG);
	ck_assert_str_eq(small, "attachment");
}
END_TEST

static Suite *
http_download_suite(void)
{
	Suite *s = suite_create("http_download");
	TCase *tc = tcase_create("range_parse");

	tcase_add_test(tc, test_simple_ranges);
	tcase_add_test(tc, test_clamped_and_suffix);
	tcase_add_test(tc, test_unsatisfiable);
	tcase_add_test(tc, test_ignored);
	suite_add_tcase(s, tc);
	tc = tcase_create("plan");
	tcase_add_test(tc, test_plan);
	suite_add_tcase(s, tc);
	tc = tcase_create("content_disposition");
	tcase_add_test(tc, test_content_disposition);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(http_download_suite());
}
