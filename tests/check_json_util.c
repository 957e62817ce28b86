/*
 * check_json_util: json_util_repair_strings, the lenient path for
 * clients that build JSON by hand (SWUpdate's DDI feedback), and the
 * UTF-8 scrub it shares its decoder with; json_util_percent_bp.  Inputs are
 * copied into buffers of exactly their length, so ASan catches a read past len.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "json_util.h"
#include "testutil.h"

#define FFFD "\xef\xbf\xbd"

/* Repairs in[0..len) (copied to a buffer of exactly len bytes) and
 * checks the result is want[0..want_len). */
static void
repair_is(const char *in, size_t len, const char *want, size_t want_len)
{
	char *buf = malloc(len > 0 ? len : 1), *out = NULL;
	size_t out_len = 12345;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, in, len);
	ck_assert_int_eq(json_util_repair_strings(buf, len, &out, &out_len), 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(out_len, want_len);
	ck_assert_msg(memcmp(out, want, want_len) == 0,
	    "repaired '%s', want '%s'", out, want);
	ck_assert_int_eq(out[out_len], '\0');
	ck_assert_uint_le(out_len, 6 * len);
	free(out);
	free(buf);
}

#define REPAIR(in, want) repair_is(in, sizeof(in) - 1, want, sizeof(want) - 1)

START_TEST(test_repair_swupdate_body)
{
	/* What SWUpdate sends: a literal newline and tab in details. */
	static const char body[] =
	    "{\"id\":3,\"time\":\"20261121T181754\",\"status\":{\"execution\":"
	    "\"proceeding\",\"result\":{\"finished\":\"none\"},\"details\":["
	    "\"line one\n\tline two\r\"]}}";
	char err[256], *out = NULL;
	size_t out_len = 0;
	json_t *v = NULL;
	const char *s;

	ck_assert_int_eq(
	    json_util_load(body, sizeof(body) - 1, 16, &v, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    json_util_repair_strings(body, sizeof(body) - 1, &out, &out_len),
	    0);
	ck_assert_ptr_nonnull(strstr(out, "line one\\n\\tline two\\r"));
	ck_assert_int_eq(
	    json_util_load(out, out_len, 16, &v, err, sizeof(err)), 0);
	s = json_string_value(json_array_get(
	    json_object_get(json_object_get(v, "status"), "details"), 0));
	ck_assert_str_eq(s, "line one\n\tline two\r");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "id")), 3);
	json_decref(v);
	free(out);
}
END_TEST

START_TEST(test_repair_controls)
{
	REPAIR("\"\b\f\n\r\t\"", "\"\\b\\f\\n\\r\\t\"");
	REPAIR("\"a\x01z\"", "\"a\\u0001z\"");
	REPAIR("\"\x1f\x1b\"", "\"\\u001f\\u001b\"");
	/* NUL: U+FFFD, since jansson refuses \u0000. */
	repair_is("\"a\0b\"", 5, "\"a" FFFD "b\"", 7);
	/* 0x7f and 0x20 are not control bytes for JSON. */
	REPAIR("\" \x7f\"", "\" \x7f\"");
}
END_TEST

START_TEST(test_repair_utf8)
{
	/* Valid multi-byte characters are kept. */
	REPAIR("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"",
	    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");
	/* One U+FFFD per byte that is not part of valid UTF-8. */
	REPAIR("\"a\xff"
	       "b\"",
	    "\"a" FFFD "b\"");
	REPAIR("\"\xc0\x80\"", "\"" FFFD FFFD "\"");          /* overlong */
	REPAIR("\"\xe0\x80\xaf\"", "\"" FFFD FFFD FFFD "\""); /* overlong */
	REPAIR("\"\xed\xa0\x80\"", "\"" FFFD FFFD FFFD "\""); /* surrogate */
	REPAIR("\"\xf4\x90\x80\x80\"",
	    "\"" FFFD FFFD FFFD FFFD "\"");            /* over U+10FFFF */
	REPAIR("\"\x80\"", "\"" FFFD "\"");            /* lone continuation */
	REPAIR("\"\xe2\x82x\"", "\"" FFFD FFFD "x\""); /* cut short */
	/* A sequence cut by the end of the input: not read past len. */
	REPAIR("\"ab\xe2\x82", "\"ab" FFFD FFFD);
	REPAIR("\"\xf0\x9f\x98", "\"" FFFD FFFD FFFD);
	REPAIR("\"\xc3", "\"" FFFD);
	/* The result parses and holds U+FFFD. */
	{
		static const char in[] = "[\"x\xff\xc0\x80y\"]";
		char err[256], *out = NULL;
		size_t out_len;
		json_t *v = NULL;

		ck_assert_int_eq(json_util_repair_strings(
		                     in, sizeof(in) - 1, &out, &out_len),
		    0);
		ck_assert_int_eq(
		    json_util_load(out, out_len, 4, &v, err, sizeof(err)), 0);
		ck_assert_str_eq(json_string_value(json_array_get(v, 0)),
		    "x" FFFD FFFD FFFD "y");
		json_decref(v);
		free(out);
	}
}
END_TEST

START_TEST(test_repair_escapes)
{
	/* Escapes stay as they are: an escaped quote does not end the
	 * string, an escaped backslash does not escape the quote. */
	REPAIR("{\"a\":\"x\\\"\ny\",\"b\":\"\\\\\",\"c\":\"\n\"}",
	    "{\"a\":\"x\\\"\\ny\",\"b\":\"\\\\\",\"c\":\"\\n\"}");
	REPAIR("\"\\u00e9\\n\\/\"", "\"\\u00e9\\n\\/\"");
	/* Keys are strings too. */
	REPAIR("{\"k\tk\":1}", "{\"k\\tk\":1}");
	/* A backslash at the very end: nothing read after it. */
	REPAIR("\"ab\\", "\"ab\\");
}
END_TEST

START_TEST(test_repair_outside)
{
	char err[256], *out = NULL;
	size_t out_len;
	json_t *v = NULL;

	/* Whitespace and bytes outside strings are copied unchanged. */
	REPAIR("{\n\t\"a\" :\r\n 1 }\n", "{\n\t\"a\" :\r\n 1 }\n");
	REPAIR("{\"a\":1,\x01\xff}", "{\"a\":1,\x01\xff}");
	REPAIR("\xc0\x80[1]", "\xc0\x80[1]");
	/* ... so malformed JSON stays malformed. */
	ck_assert_int_eq(
	    json_util_repair_strings("{\"a\":1,\x01}", 8, &out, &out_len), 0);
	ck_assert_int_eq(
	    json_util_load(out, out_len, 4, &v, err, sizeof(err)), OTA_EINVAL);
	free(out);
	ck_assert_int_eq(
	    json_util_repair_strings("{\"a\":1", 6, &out, &out_len), 0);
	ck_assert_int_eq(
	    json_util_load(out, out_len, 4, &v, err, sizeof(err)), OTA_EINVAL);
	free(out);
}
END_TEST

START_TEST(test_repair_empty_and_bound)
{
	char *in, *out = NULL;
	size_t out_len = 99, n = 4096;

	/* Empty input: an empty, NUL-terminated copy. */
	ck_assert_int_eq(json_util_repair_strings("", 0, &out, &out_len), 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(out_len, 0);
	ck_assert_int_eq(out[0], '\0');
	free(out);

	/* The worst case: every byte a control byte inside a string
	 * grows six-fold, never more. */
	in = malloc(n);
	ck_assert_ptr_nonnull(in);
	memset(in, 0x01, n);
	in[0] = '"';
	ck_assert_int_eq(json_util_repair_strings(in, n, &out, &out_len), 0);
	ck_assert_uint_eq(out_len, 1 + 6 * (n - 1));
	ck_assert_uint_le(out_len, 6 * n);
	ck_assert_int_eq(memcmp(out + 1, "\\u0001\\u0001", 12), 0);
	free(out);
	free(in);
}
END_TEST

START_TEST(test_utf8_scrub)
{
	char s[] = "a\xff"
	           "b\xc3\xa9\xed\xa0\x80"
	           "c\xe2\x82";

	json_util_utf8_scrub(s);
	ck_assert_str_eq(s, "ab\xc3\xa9"
	                    "c");
}
END_TEST

/* Whole percentages are integers, others reals. */
START_TEST(test_percent_bp)
{
	static const uint16_t bp[] = {100, 500, 10000, 1, 1250, 0};
	static const double want[] = {1, 5, 100, 0.01, 12.5, 0};

	for (size_t i = 0; i < sizeof(bp) / sizeof(bp[0]); i++) {
		json_t *v = json_util_percent_bp(bp[i]);

		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(json_is_integer(v), bp[i] % 100 == 0);
		ck_assert_double_eq_tol(json_number_value(v), want[i], 1e-9);
		json_decref(v);
	}
}
END_TEST

static Suite *
json_util_suite(void)
{
	Suite *s = suite_create("json_util");
	TCase *tc;

	tc = tcase_create("repair_strings");
	tcase_add_test(tc, test_repair_swupdate_body);
	tcase_add_test(tc, test_repair_controls);
	tcase_add_test(tc, test_repair_utf8);
	tcase_add_test(tc, test_repair_escapes);
	tcase_add_test(tc, test_repair_outside);
	tcase_add_test(tc, test_repair_empty_and_bound);
	suite_add_tcase(s, tc);
	tc = tcase_create("utf8_scrub");
	tcase_add_test(tc, test_utf8_scrub);
	suite_add_tcase(s, tc);
	tc = tcase_create("percent_bp");
	tcase_add_test(tc, test_percent_bp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(json_util_suite());
}
