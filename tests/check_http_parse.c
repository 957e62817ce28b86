/*
 * check_http_parse: strict integers from path segments and query
 * arguments: digits only, bounds inclusive, no overflow, the output
 * untouched on refusal; percent-encoding with the caller's keep set, and
 * its refusal when the result does not fit.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "http_parse.h"
#include "testutil.h"

START_TEST(test_parse_int_valid)
{
	int64_t v = -1;

	ck_assert_int_eq(http_parse_int("0", 0, 10, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(http_parse_int("10", 0, 10, &v), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(http_parse_int("007", 1, 10, &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(
	    http_parse_int("9223372036854775807", 0, INT64_MAX, &v), 0);
	ck_assert(v == INT64_MAX);
}
END_TEST

START_TEST(test_parse_int_invalid)
{
	static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1a",
	    "0x10", "1.5", "9223372036854775808", "99999999999999999999"};
	int64_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
		    http_parse_int(bad[i], 0, INT64_MAX, &v), OTA_EINVAL);
		ck_assert_int_eq(v, 42);
	}
	ck_assert_int_eq(http_parse_int(NULL, 0, 10, &v), OTA_EINVAL);
	ck_assert_int_eq(http_parse_int("11", 0, 10, &v), OTA_EINVAL);
	ck_assert_int_eq(http_parse_int("0", 1, 10, &v), OTA_EINVAL);
	ck_assert_int_eq(v, 42);
}
END_TEST

static int
keep_alnum(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

START_TEST(test_pct_encode)
{
	char out[16];

	ck_assert_int_eq(
	    http_parse_pct_encode("a b/\xc3\xa9", keep_alnum, out, sizeof(out)),
	    0);
	ck_assert_str_eq(out, "a%20b%2F%C3%A9");
	ck_assert_int_eq(http_parse_pct_encode("", keep_alnum, out, 1), 0);
	ck_assert_str_eq(out, "");
	/* Exactly fits ("ab" + NUL), then one byte short. */
	ck_assert_int_eq(http_parse_pct_encode("ab", keep_alnum, out, 3), 0);
	ck_assert_int_eq(
	    http_parse_pct_encode("abc", keep_alnum, out, 3), OTA_ETOOBIG);
	ck_assert_int_eq(
	    http_parse_pct_encode(" ", keep_alnum, out, 3), OTA_ETOOBIG);
	ck_assert_int_eq(strlen(out), 0);
	ck_assert_int_eq(http_parse_pct_encode(" ", keep_alnum, out, 4), 0);
	ck_assert_str_eq(out, "%20");
	ck_assert_int_eq(
	    http_parse_pct_encode("a", keep_alnum, out, 0), OTA_ETOOBIG);
}
END_TEST

static Suite *
http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc;

	tc = tcase_create("http_parse_int");
	tcase_add_test(tc, test_parse_int_valid);
	tcase_add_test(tc, test_parse_int_invalid);
	suite_add_tcase(s, tc);
	tc = tcase_create("http_parse_pct_encode");
	tcase_add_test(tc, test_pct_encode);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(http_parse_suite());
}
