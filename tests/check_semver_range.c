/*
 * check_semver_range: the from-version range of a rollout as tests.  The
 * grammar (operators, spaces, the comparator limit, what is refused and
 * the reason given), matching at every bound with pre-releases and build
 * metadata, the refusal of ranges no version can match, and that the
 * canonical text parses back to the same range.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "semver_range.h"
#include "testutil.h"

/* Parses s, which must be accepted, into *r. */
static void
parse_ok(const char *s, struct semver_range *r)
{
	char err[256] = "";

	ck_assert_msg(semver_range_parse(s, r, err, sizeof(err)) == 0,
	    "'%s' refused: %s", s, err);
}

/* s must be refused with reason want; *out untouched. */
static void
parse_bad(const char *s, const char *want)
{
	struct semver_range r;
	char err[256] = "";

	memset(&r, 0x5a, sizeof(r));
	ck_assert_int_eq(
	    semver_range_parse(s, &r, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(((unsigned char *)&r)[0], 0x5a);
}

/* The canonical text of s. */
static void
canonical(const char *s, const char *want)
{
	struct semver_range r, again;
	char out[SEMVER_RANGE_TEXT_MAX], out2[SEMVER_RANGE_TEXT_MAX];

	parse_ok(s, &r);
	semver_range_format(&r, out, sizeof(out));
	ck_assert_str_eq(out, want);
	parse_ok(out, &again);
	semver_range_format(&again, out2, sizeof(out2));
	ck_assert_str_eq(out2, out);
	ck_assert_uint_eq(again.n, r.n);
}

START_TEST(test_parse_grammar)
{
	struct semver_range r;

	canonical("", "");
	canonical("   ", "");
	canonical(">=1.2.0 <1.4.0", ">=1.2.0 <1.4.0");
	canonical("  >=1.2.0    <1.4.0  ", ">=1.2.0 <1.4.0");
	canonical("1.2.3", "=1.2.3");
	canonical("=1.2.3", "=1.2.3");
	canonical(">1.0.0 <=2.0.0-rc.1", ">1.0.0 <=2.0.0-rc.1");
	canonical(">=1.0.0+build.7", ">=1.0.0+build.7");
	canonical(
	    ">=1.0.0 >=1.1.0 <3.0.0 <2.0.0", ">=1.0.0 >=1.1.0 <3.0.0 <2.0.0");
	parse_ok("", &r);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(test_parse_refused)
{
	static const char want[] =
	    "from_version: comparator %d: want an operator (>=, >, <=, <, =) "
	    "and a SemVer version, e.g. \">=1.2.0 <1.4.0\"";
	char w1[256], w2[256];

	snprintf(w1, sizeof(w1), want, 1);
	snprintf(w2, sizeof(w2), want, 2);
	parse_bad("~1.2", w1);
	parse_bad("v1.2.0", w1);
	parse_bad(">= 1.2.0", w1); /* the operator joins its version */
	parse_bad(">=", w1);
	parse_bad("=>1.0.0", w1);
	parse_bad("<<1.0.0", w1);
	parse_bad("1.2", w1);
	parse_bad("01.2.0", w1);
	parse_bad(">=1.2.0 <1.4", w2);
	parse_bad(">=1.2.0,<1.4.0", w1);
	parse_bad(">=1.2.0\t<1.4.0", w1);
	parse_bad(">=1.0.0 >=1.1.0 <3.0.0 <2.0.0 <1.9.0",
	    "from_version: at most 4 comparators");
	parse_bad(">=2.0.0 <1.0.0", "from_version: '>=2.0.0' and '<1.0.0' "
	                            "exclude each other: no version matches");
	parse_bad(">1.0.0 <=1.0.0", "from_version: '>1.0.0' and '<=1.0.0' "
	                            "exclude each other: no version matches");
	parse_bad("=1.0.0 =1.0.1", "from_version: '=1.0.1' and '=1.0.0' "
	                           "exclude each other: no version matches");
	parse_bad("<1.0.0 >=1.0.0", "from_version: '>=1.0.0' and '<1.0.0' "
	                            "exclude each other: no version matches");
	ck_assert_int_eq(semver_range_parse(NULL, NULL, NULL, 0), OTA_EINVAL);
}
END_TEST

START_TEST(test_parse_long_versions)
{
	char v[SEMVER_MAX_LEN + 2], s[2 * SEMVER_MAX_LEN + 16];
	struct semver_range r;
	char out[SEMVER_RANGE_TEXT_MAX];

	/* 1.0.0-aaa...: exactly SEMVER_MAX_LEN bytes, then one more. */
	memset(v, 'a', sizeof(v));
	memcpy(v, "1.0.0-", 6);
	v[SEMVER_MAX_LEN] = '\0';
	snprintf(s, sizeof(s), ">=%s <=%s", v, v);
	parse_ok(s, &r);
	ck_assert_uint_eq(r.n, 2);
	/* four comparators of the longest versions fit the canonical text */
	snprintf(s, sizeof(s), ">=%s", v);
	r.n = 4;
	for (int i = 0; i < 4; i++) {
		r.c[i].op = SEMVER_RANGE_GE;
		memcpy(r.c[i].version, v, SEMVER_MAX_LEN + 1);
	}
	semver_range_format(&r, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 4 * (2 + SEMVER_MAX_LEN) + 3);
	v[SEMVER_MAX_LEN] = 'a';
	v[SEMVER_MAX_LEN + 1] = '\0';
	snprintf(s, sizeof(s), ">=%s", v);
	ck_assert_int_eq(semver_range_parse(s, &r, NULL, 0), OTA_EINVAL);
}
END_TEST

/* 1 when version matches range text s. */
static int
m(const char *s, const char *version)
{
	struct semver_range r;

	parse_ok(s, &r);
	return semver_range_match(&r, version);
}

START_TEST(test_match_bounds)
{
	ck_assert_int_eq(m(">=1.2.0 <1.4.0", "1.1.9"), 0);
	ck_assert_int_eq(m(">=1.2.0 <1.4.0", "1.2.0"), 1);
	ck_assert_int_eq(m(">=1.2.0 <1.4.0", "1.3.99"), 1);
	ck_assert_int_eq(m(">=1.2.0 <1.4.0", "1.4.0"), 0);
	/* a pre-release of the upper bound is below it */
	ck_assert_int_eq(m(">=1.2.0 <1.4.0", "1.4.0-rc.1"), 1);
	ck_assert_int_eq(m(">=1.2.0 <1.4.0-0", "1.4.0-rc.1"), 0);
	ck_assert_int_eq(m(">=1.2.0 <1.4.0", "1.2.0-rc.1"), 0);
	ck_assert_int_eq(m(">1.2.0", "1.2.0"), 0);
	ck_assert_int_eq(m(">1.2.0", "1.2.1"), 1);
	ck_assert_int_eq(m("<=1.2.0", "1.2.0"), 1);
	ck_assert_int_eq(m("<=1.2.0", "1.2.1"), 0);
	ck_assert_int_eq(m("1.2.0", "1.2.0"), 1);
	ck_assert_int_eq(m("1.2.0", "1.2.0+build.5"), 1); /* metadata ignored */
	ck_assert_int_eq(m("1.2.0", "1.2.1"), 0);
	ck_assert_int_eq(m(">=1.0.0", "10.0.0"), 1); /* numeric, not text */
}
END_TEST

START_TEST(test_match_edges)
{
	struct semver_range r;

	/* the empty range (and NULL) matches anything, even no version */
	ck_assert_int_eq(m("", "1.0.0"), 1);
	ck_assert_int_eq(m("", ""), 1);
	ck_assert_int_eq(semver_range_match(NULL, "x"), 1);
	/* a non-empty range never matches what is not a version */
	ck_assert_int_eq(m("<9.0.0", ""), 0);
	ck_assert_int_eq(m("<9.0.0", "1.0"), 0);
	ck_assert_int_eq(m("<9.0.0", "~"), 0);
	parse_ok("<9.0.0", &r);
	ck_assert_int_eq(semver_range_match(&r, NULL), 0);
	/* one "=" with an empty bound (what the offers use for a row that
	 * does not parse) matches no version */
	memset(&r, 0, sizeof(r));
	r.n = 1;
	r.c[0].op = SEMVER_RANGE_EQ;
	ck_assert_int_eq(semver_range_match(&r, "1.0.0"), 0);
	ck_assert_int_eq(semver_range_match(&r, ""), 0);
}
END_TEST

static Suite *
semver_range_suite(void)
{
	Suite *s = suite_create("semver_range");
	TCase *tc = tcase_create("semver_range_parse");

	tcase_add_test(tc, test_parse_grammar);
	tcase_add_test(tc, test_parse_refused);
	tcase_add_test(tc, test_parse_long_versions);
	suite_add_tcase(s, tc);
	tc = tcase_create("semver_range_match");
	tcase_add_test(tc, test_match_bounds);
	tcase_add_test(tc, test_match_edges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(semver_range_suite());
}
