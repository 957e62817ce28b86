/*
 * check_selector: the label selector as tests.  Every term form and its
 * canonical text (which parses back to itself), every refusal and its
 * reason, the limits, and matching against label sets: present, absent,
 * other values, duplicate keys, the empty selector.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "selector.h"
#include "testutil.h"

static void
canonical(const char *s, const char *want, size_t want_n)
{
	struct selector a, b;
	char err[256] = "";

	ck_assert_msg(selector_parse(s, &a, err, sizeof(err)) == 0,
	    "'%s' refused: %s", s, err);
	ck_assert_str_eq(a.text, want);
	ck_assert_uint_eq(a.n, want_n);
	ck_assert_int_eq(selector_parse(a.text, &b, NULL, 0), 0);
	ck_assert_str_eq(b.text, a.text);
	ck_assert_uint_eq(b.n, a.n);
}

static void
refused(const char *s, const char *want)
{
	struct selector sel;
	char err[256] = "";

	sel.n = 99;
	ck_assert_int_eq(selector_parse(s, &sel, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(sel.n, 99);
}

START_TEST(test_parse_forms)
{
	canonical("", "", 0);
	canonical("   ", "", 0);
	canonical("region=eu", "region=eu", 1);
	canonical("region == eu", "region=eu", 1);
	canonical(" region != us ", "region!=us", 1);
	canonical("model in (a, b)", "model in (a,b)", 1);
	canonical("model in(a,b)", "model in (a,b)", 1);
	canonical("model notin ( x )", "model notin (x)", 1);
	canonical("beta", "beta", 1);
	canonical("! beta", "!beta", 1);
	canonical("region=eu, model in (a,b), !beta",
	    "region=eu,model in (a,b),!beta", 3);
	canonical("site=lyon:b2@x, k8s.io/zone-a=z_1",
	    "site=lyon:b2@x,k8s.io/zone-a=z_1", 2);
	canonical("in", "in", 1); /* a label named "in" exists */
}
END_TEST

START_TEST(test_parse_refused)
{
	refused("region=", "selector: term 1: want a value of 1..256 "
	                   "characters of [A-Za-z0-9._/:@-]");
	refused("=eu", "selector: term 1: want a label key of 1..64 "
	               "characters of [A-Za-z0-9._/-]");
	refused("region=eu,", "selector: term 2: unexpected ','; terms are "
	                      "key=v, key!=v, key in (a,b), key notin (a,b), "
	                      "key or !key, joined by ','");
	refused("region=eu;model=a",
	    "selector: term 1: unexpected ';'; terms are key=v, key!=v, key "
	    "in (a,b), key notin (a,b), key or !key, joined by ','");
	refused("a b", "selector: term 1: unexpected 'b'; terms are key=v, "
	               "key!=v, key in (a,b), key notin (a,b), key or !key, "
	               "joined by ','");
	refused("a\tb", "selector: term 1: unexpected 0x09; terms are key=v, "
	                "key!=v, key in (a,b), key notin (a,b), key or !key, "
	                "joined by ','");
	refused("model in a,b",
	    "selector: term 1: want a list of values, e.g. (a,b)");
	refused("model in (a,b", "selector: term 1: want a list of values, "
	                         "e.g. (a,b)");
	refused("model in ()", "selector: term 1: want a value of 1..256 "
	                       "characters of [A-Za-z0-9._/:@-]");
	refused("!", "selector: term 1: want a label key of 1..64 "
	             "characters of [A-Za-z0-9._/-]");
	refused("!=x", "selector: term 1: want a label key of 1..64 "
	               "characters of [A-Za-z0-9._/-]");
	refused("r\xc3\xa9gion=eu",
	    "selector: term 1: unexpected 0xc3; terms "
	    "are key=v, key!=v, key in (a,b), key notin "
	    "(a,b), key or !key, joined by ','");
	refused("a=\"eu\"", "selector: term 1: want a value of 1..256 "
	                    "characters of [A-Za-z0-9._/:@-]");
	ck_assert_int_eq(selector_parse(NULL, NULL, NULL, 0), OTA_EINVAL);
}
END_TEST

START_TEST(test_parse_limits)
{
	char s[4096], k[SELECTOR_KEY_MAX + 2];
	struct selector sel;
	size_t used = 0;

	/* 16 terms, then 17 */
	for (int i = 0; i < 16; i++)
		used += (size_t)snprintf(
		    s + used, sizeof(s) - used, "%sk%d", i ? "," : "", i);
	ck_assert_int_eq(selector_parse(s, &sel, NULL, 0), 0);
	ck_assert_uint_eq(sel.n, 16);
	snprintf(s + used, sizeof(s) - used, ",k16");
	refused(s, "selector: at most 16 terms");
	/* 16 values, then 17 */
	strcpy(s, "m in (0,1,2,3,4,5,6,7,8,9,a,b,c,d,e,f)");
	ck_assert_int_eq(selector_parse(s, &sel, NULL, 0), 0);
	ck_assert_uint_eq(sel.t[0].nvals, 16);
	strcpy(s, "m in (0,1,2,3,4,5,6,7,8,9,a,b,c,d,e,f,g)");
	refused(s, "selector: term 1: at most 16 values");
	/* a key of 64 characters, then 65 */
	memset(k, 'k', sizeof(k));
	k[SELECTOR_KEY_MAX] = '\0';
	ck_assert_int_eq(selector_parse(k, &sel, NULL, 0), 0);
	k[SELECTOR_KEY_MAX] = 'k';
	k[SELECTOR_KEY_MAX + 1] = '\0';
	refused(k, "selector: term 1: want a label key of 1..64 characters "
	           "of [A-Za-z0-9._/-]");
	/* four values of 256 characters fill the canonical text */
	used = (size_t)snprintf(s, sizeof(s), "m in (");
	for (int i = 0; i < 4; i++) {
		memset(s + used, 'a' + i, 256);
		used += 256;
		s[used++] = i < 3 ? ',' : ')';
	}
	s[used] = '\0';
	refused(s, "selector: too long (at most 1023 bytes as written "
	           "without spaces)");
}
END_TEST

/* 1 when the labels "k=v" strings of kv[0..n) satisfy selector s. */
static int
m(const char *s, const char *const *kv, size_t n)
{
	const char *keys[8], *vals[8];
	char buf[8][64];
	struct selector sel;

	ck_assert_int_eq(selector_parse(s, &sel, NULL, 0), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s", kv[i]);
		*strchr(buf[i], '=') = '\0';
		keys[i] = buf[i];
		vals[i] = buf[i] + strlen(buf[i]) + 1;
	}
	return selector_match(&sel, keys, vals, n);
}

START_TEST(test_match)
{
	static const char *const eu_a[] = {"region=eu", "model=a"};
	static const char *const us_beta[] = {"region=us", "beta=yes"};
	static const char *const dup[] = {"region=eu", "region=us"};

	ck_assert_int_eq(m("", NULL, 0), 1);
	ck_assert_int_eq(m("region=eu", eu_a, 2), 1);
	ck_assert_int_eq(m("region=eu", us_beta, 2), 0);
	ck_assert_int_eq(m("region=eu", NULL, 0), 0);
	ck_assert_int_eq(m("region!=eu", us_beta, 2), 1);
	ck_assert_int_eq(m("region!=eu", NULL, 0), 1); /* absent */
	ck_assert_int_eq(m("region!=eu", eu_a, 2), 0);
	ck_assert_int_eq(m("model in (a,b)", eu_a, 2), 1);
	ck_assert_int_eq(m("model in (b,c)", eu_a, 2), 0);
	ck_assert_int_eq(m("model in (a,b)", us_beta, 2), 0);
	ck_assert_int_eq(m("model notin (a,b)", us_beta, 2), 1);
	ck_assert_int_eq(m("model notin (a,b)", eu_a, 2), 0);
	ck_assert_int_eq(m("beta", us_beta, 2), 1);
	ck_assert_int_eq(m("beta", eu_a, 2), 0);
	ck_assert_int_eq(m("!beta", eu_a, 2), 1);
	ck_assert_int_eq(m("!beta", us_beta, 2), 0);
	ck_assert_int_eq(m("region=eu,model in (a,b),!beta", eu_a, 2), 1);
	ck_assert_int_eq(m("region=eu,model in (a,b),!beta", us_beta, 2), 0);
	/* a prefix of a key or value is not the key or value */
	ck_assert_int_eq(m("regio=eu", eu_a, 2), 0);
	ck_assert_int_eq(m("region=e", eu_a, 2), 0);
	ck_assert_int_eq(m("model in (aa)", eu_a, 2), 0);
	/* a key given twice: the first value counts */
	ck_assert_int_eq(m("region=eu", dup, 2), 1);
	ck_assert_int_eq(m("region=us", dup, 2), 0);
	ck_assert_int_eq(selector_match(NULL, NULL, NULL, 0), 1);
}
END_TEST

static Suite *
selector_suite(void)
{
	Suite *s = suite_create("selector");
	TCase *tc = tcase_create("selector_parse");

	tcase_add_test(tc, test_parse_forms);
	tcase_add_test(tc, test_parse_refused);
	tcase_add_test(tc, test_parse_limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("selector_match");
	tcase_add_test(tc, test_match);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(selector_suite());
}
