/*
 * check_semver: the SemVer 2.0.0 specification as tests.  Every example in
 * the spec's text and the valid/invalid lists of semver.org's regular
 * expression tests appear here, plus otad's own limits (length, 64-bit
 * major/minor/patch) and the total-order property the SQLite collation
 * depends on.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "semver.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* semver.org regex test list "valid", minus the overflowing entry. */
static const char *const valid[] = {
    "0.0.4",
    "1.2.3",
    "10.20.30",
    "1.1.2-prerelease+meta",
    "1.1.2+meta",
    "1.1.2+meta-valid",
    "1.0.0-alpha",
    "1.0.0-beta",
    "1.0.0-alpha.beta",
    "1.0.0-alpha.beta.1",
    "1.0.0-alpha.1",
    "1.0.0-alpha0.valid",
    "1.0.0-alpha.0valid",
    "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
    "1.0.0-rc.1+build.1",
    "2.0.0-rc.1+build.123",
    "1.2.3-beta",
    "10.2.3-DEV-SNAPSHOT",
    "1.2.3-SNAPSHOT-123",
    "1.0.0",
    "2.0.0",
    "1.1.7",
    "2.0.0+build.1848",
    "2.0.1-alpha.1227",
    "1.0.0-alpha+beta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
    "1.2.3----R-S.12.9.1--.12+meta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12",
    "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
    "1.0.0-0A.is.legal",
    /* The spec's own examples (items 9, 10, 11). */
    "1.0.0-0.3.7",
    "1.0.0-x.7.z.92",
    "1.0.0-x-y-z.--",
    "1.0.0-alpha+001",
    "1.0.0+20130313144700",
    "1.0.0-beta+exp.sha.5114f85",
    "1.0.0+21AF26D3----117B344092BD",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "2.1.0",
    "2.1.1",
    /* otad's limits, at the boundary. */
    "18446744073709551615.18446744073709551615.18446744073709551615",
    "0.0.0",
    "1.0.0-0",
    "1.0.0+0",
    "1.0.0+007",
    "1.0.0-99999999999999999999999999999999",
};

/* semver.org regex test list "invalid", plus otad's limits. */
static const char *const invalid[] = {
    "1",
    "1.2",
    "1.2.3-0123",
    "1.2.3-0123.0123",
    "1.1.2+.123",
    "+invalid",
    "-invalid",
    "-invalid+invalid",
    "-invalid.01",
    "alpha",
    "alpha.beta",
    "alpha.beta.1",
    "alpha.1",
    "alpha+beta",
    "alpha_beta",
    "alpha.",
    "alpha..",
    "beta",
    "1.0.0-alpha_beta",
    "-alpha.",
    "1.0.0-alpha..",
    "1.0.0-alpha..1",
    "1.0.0-alpha...1",
    "1.0.0-alpha....1",
    "1.0.0-alpha.....1",
    "1.0.0-alpha......1",
    "1.0.0-alpha.......1",
    "01.1.1",
    "1.01.1",
    "1.1.01",
    "1.2.3.DEV",
    "1.2-SNAPSHOT",
    "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
    "1.2-RC-SNAPSHOT",
    "-1.0.3-gamma+b7718",
    "+justmeta",
    "9.8.7+meta+meta",
    "9.8.7-whatever+meta+meta",
    "99999999999999999999999.999999999999999999.99999999999999999----RC-"
    "SNAPSHOT.12.09.1--------------------------------..12",
    /* Valid by the regex, but major does not fit in 64 bits. */
    "99999999999999999999999.999999999999999999.99999999999999999",
    "18446744073709551616.0.0",
    "0.18446744073709551616.0",
    "0.0.18446744073709551616",
    "100000000000000000000.0.0",
    /* Empty parts and stray characters. */
    "",
    "1.2.3-",
    "1.2.3+",
    "1.2.3-+",
    "1.2.3-a+",
    "1.2.3-a.",
    "1.2.3+a.",
    "1.2.3+a..b",
    "v1.2.3",
    " 1.2.3",
    "1.2.3 ",
    "1.2.3\n",
    "1..3",
    "1.2.",
    ".1.2.3",
    "1.2.3-a b",
    "1.2.3-\xce\xb1",
    "1.2.3+\xff",
    "1.2.3-00",
    "1.2.3-a.01",
    "00.0.0",
    "-1.2.3",
    "1.-2.3",
    "1.2.3-alpha+beta-01+x",
};

START_TEST(test_check_valid)
{
	const char *s = valid[_i];

	ck_assert_msg(semver_check(s, strlen(s)) == 0, "'%s' rejected", s);
}
END_TEST

START_TEST(test_check_invalid)
{
	const char *s = invalid[_i];

	ck_assert_msg(
	    semver_check(s, strlen(s)) == OTA_EINVAL, "'%s' accepted", s);
}
END_TEST

START_TEST(test_check_length)
{
	char buf[SEMVER_MAX_LEN + 2];

	/* "1.0.0-" then 'a' up to exactly SEMVER_MAX_LEN bytes. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "1.0.0-", 6);
	ck_assert_int_eq(semver_check(buf, SEMVER_MAX_LEN), 0);
	ck_assert_int_eq(semver_check(buf, SEMVER_MAX_LEN + 1), OTA_EINVAL);
	ck_assert_int_eq(semver_check(NULL, 0), OTA_EINVAL);
}
END_TEST

START_TEST(test_check_not_terminated)
{
	/* Only len bytes count: no NUL needed, bytes beyond are ignored. */
	ck_assert_int_eq(semver_check("1.2.3garbage", 5), 0);
	ck_assert_int_eq(semver_check("1.2.3-rc.1", 8), 0);
	ck_assert_int_eq(semver_check("1.2.3-rc.1", 9), OTA_EINVAL);
	/* An embedded NUL is just an invalid byte. */
	ck_assert_int_eq(semver_check("1.2.3\0", 6), OTA_EINVAL);
	ck_assert_int_eq(semver_check("1.2\0.3", 6), OTA_EINVAL);
}
END_TEST

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

static int
cmp(const char *a, const char *b)
{
	return sign(semver_cmp(a, strlen(a), b, strlen(b)));
}

/* Spec item 11: each entry precedes the next. */
static const char *const chain_pre[] = {
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
};

static const char *const chain_core[] = {
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
};

/* Own additions: numeric fields by value, identifiers by ASCII. */
static const char *const chain_more[] = {
    "0.0.0-0",
    "0.0.0",
    "0.0.1",
    "0.0.9",
    "0.0.10",
    "0.1.0",
    "0.9.99",
    "0.10.0",
    "9.0.0",
    "10.0.0",
    "18446744073709551614.0.0",
    "18446744073709551615.0.0-0",
    "18446744073709551615.0.0-1",
    "18446744073709551615.0.0-9",
    "18446744073709551615.0.0-10",
    "18446744073709551615.0.0-99999999999999999999999",
    "18446744073709551615.0.0-100000000000000000000000",
    "18446744073709551615.0.0--",
    "18446744073709551615.0.0-0a",
    "18446744073709551615.0.0-A",
    "18446744073709551615.0.0-Z",
    "18446744073709551615.0.0-a",
    "18446744073709551615.0.0-a.0",
    "18446744073709551615.0.0-a.0.0",
    "18446744073709551615.0.0-a.1",
    "18446744073709551615.0.0-a.a",
    "18446744073709551615.0.0-aa",
    "18446744073709551615.0.0-b",
    "18446744073709551615.0.0",
    "18446744073709551615.18446744073709551615.18446744073709551615",
};

static void
assert_chain(const char *const *chain, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = i < j ? -1 : i > j ? 1 : 0;

			ck_assert_msg(cmp(chain[i], chain[j]) == want,
			    "cmp('%s', '%s') != %d", chain[i], chain[j], want);
		}
	}
}

START_TEST(test_cmp_spec_prerelease)
{
	assert_chain(chain_pre, NELEM(chain_pre));
}
END_TEST

START_TEST(test_cmp_spec_core)
{
	assert_chain(chain_core, NELEM(chain_core));
}
END_TEST

START_TEST(test_cmp_more)
{
	assert_chain(chain_more, NELEM(chain_more));
}
END_TEST

START_TEST(test_cmp_build_ignored)
{
	/* Spec item 10's examples have the precedence of their base. */
	ck_assert_int_eq(cmp("1.0.0-alpha+001", "1.0.0-alpha"), 0);
	ck_assert_int_eq(cmp("1.0.0+20130313144700", "1.0.0"), 0);
	ck_assert_int_eq(cmp("1.0.0-beta+exp.sha.5114f85", "1.0.0-beta"), 0);
	ck_assert_int_eq(cmp("1.0.0+21AF26D3----117B344092BD", "1.0.0"), 0);
	ck_assert_int_eq(cmp("1.0.0+a", "1.0.0+b"), 0);
	ck_assert_int_eq(cmp("1.0.0+20130313144700", "1.0.0+21AF26D3"), 0);
	ck_assert_int_eq(cmp("1.0.0-alpha+001", "1.0.0-alpha.1"), -1);
	ck_assert_int_eq(cmp("1.0.0-rc.1+build.1", "1.0.0+0"), -1);
	ck_assert_int_eq(cmp("1.0.1+0", "1.0.0+9"), 1);
}
END_TEST

START_TEST(test_cmp_invalid)
{
	/* Invalid after every valid version, then by bytes. */
	ck_assert_int_eq(cmp("999.0.0", "1"), -1);
	ck_assert_int_eq(cmp("1", "0.0.0-0"), 1);
	ck_assert_int_eq(cmp("", "0.0.0"), 1);
	ck_assert_int_eq(cmp("1", "1"), 0);
	ck_assert_int_eq(cmp("1", "2"), -1);
	ck_assert_int_eq(cmp("", "1"), -1);
	ck_assert_int_eq(cmp("1.2", "1.2.3.4"), -1);
	ck_assert_int_eq(cmp("01.0.0", "1.0"), -1);
	ck_assert_int_eq(cmp("v1.0.0", "1.0"), 1);
	/* Bytes above 0x7f order as unsigned. */
	ck_assert_int_eq(cmp("\xff", "a"), 1);
	/* Invalid strings never tie, even where precedence would. */
	ck_assert_int_eq(cmp("1.0.0+a+b", "1.0.0+a+c"), -1);
	/* Lengths, not NULs, delimit. */
	ck_assert_int_eq(sign(semver_cmp("1.0.0x", 5, "1.0.0y", 5)), 0);
	ck_assert_int_eq(sign(semver_cmp("a\0b", 3, "a\0c", 3)), -1);
	ck_assert_int_eq(sign(semver_cmp(NULL, 0, NULL, 0)), 0);
	ck_assert_int_eq(sign(semver_cmp(NULL, 0, "1.0.0", 5)), 1);
}
END_TEST

/*
 * SQLite requires a collation to be a total order: reflexive, antisymmetric
 * and transitive.  Checked on every string in this file, valid or not.
 */
START_TEST(test_cmp_total_order)
{
	const char *all[NELEM(valid) + NELEM(invalid) + NELEM(chain_pre) +
	                NELEM(chain_core) + NELEM(chain_more) + 4];
	/* Each pair is compared once; the triples then read this table. */
	static signed char r[NELEM(all)][NELEM(all)];
	size_t n = 0;

	for (size_t i = 0; i < NELEM(valid); i++)
		all[n++] = valid[i];
	for (size_t i = 0; i < NELEM(invalid); i++)
		all[n++] = invalid[i];
	for (size_t i = 0; i < NELEM(chain_pre); i++)
		all[n++] = chain_pre[i];
	for (size_t i = 0; i < NELEM(chain_core); i++)
		all[n++] = chain_core[i];
	for (size_t i = 0; i < NELEM(chain_more); i++)
		all[n++] = chain_more[i];
	all[n++] = "1.0.0-alpha";
	all[n++] = "1.0.0-alpha+x";
	all[n++] = "1.0.0+x";
	all[n++] = "1.0.0+y";

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			r[i][j] = (signed char)cmp(all[i], all[j]);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(r[i][i], 0);
		for (size_t j = 0; j < n; j++) {
			int ij = r[i][j];

			if (ij != -r[j][i])
				ck_abort_msg("not antisymmetric: '%s' '%s'",
				    all[i], all[j]);
			for (size_t k = 0; k < n; k++) {
				int jk = r[j][k];
				int want = ij == 0 ? jk : ij;

				/*
				 * Opposite signs allow anything.  A plain if:
				 * each ck_assert costs a message to the parent.
				 */
				if ((ij != -jk || ij == 0) && r[i][k] != want)
					ck_abort_msg(
					    "not transitive: '%s' '%s' "
					    "'%s'",
					    all[i], all[j], all[k]);
			}
		}
	}
}
END_TEST

/* semver_sort_key */

/* The sign of the byte order of the keys of a and b. */
static int
key_cmp(const char *a, const char *b)
{
	char ka[SEMVER_KEY_MAX], kb[SEMVER_KEY_MAX];

	ck_assert_msg(semver_sort_key(a, ka, sizeof(ka)) == 0, "key '%s'", a);
	ck_assert_msg(semver_sort_key(b, kb, sizeof(kb)) == 0, "key '%s'", b);
	return sign(strcmp(ka, kb));
}

/* Every pair of the list orders by key as by semver_cmp. */
static void
assert_keys_agree(const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (key_cmp(v[i], v[j]) != cmp(v[i], v[j]))
				ck_abort_msg("key order of '%s' '%s' is not %d",
				    v[i], v[j], cmp(v[i], v[j]));
}

START_TEST(test_key_lists)
{
	assert_keys_agree(valid, NELEM(valid));
	assert_keys_agree(chain_pre, NELEM(chain_pre));
	assert_keys_agree(chain_core, NELEM(chain_core));
	assert_keys_agree(chain_more, NELEM(chain_more));
}
END_TEST

START_TEST(test_key_build_ignored)
{
	ck_assert_int_eq(key_cmp("1.0.0+a", "1.0.0+b"), 0);
	ck_assert_int_eq(key_cmp("1.0.0-alpha+001", "1.0.0-alpha"), 0);
	ck_assert_int_eq(key_cmp("1.0.0-alpha+001", "1.0.0-alpha.1"), -1);
	ck_assert_int_eq(key_cmp("1.0.0-rc.1+build.1", "1.0.0+0"), -1);
	ck_assert_int_eq(key_cmp("1.0.1+0", "1.0.0+9"), 1);
}
END_TEST

START_TEST(test_key_invalid)
{
	char k[SEMVER_KEY_MAX] = "x";

	for (size_t i = 0; i < NELEM(invalid); i++) {
		k[0] = 'x';
		ck_assert_msg(
		    semver_sort_key(invalid[i], k, sizeof(k)) == OTA_EINVAL,
		    "'%s'", invalid[i]);
		ck_assert_str_eq(k, "");
	}
	ck_assert_int_eq(semver_sort_key(NULL, k, sizeof(k)), OTA_EINVAL);
	ck_assert_int_eq(semver_sort_key("1.0.0", k, 0), OTA_ERANGE);
	ck_assert_int_eq(semver_sort_key("1.0.0", k, 10), OTA_ERANGE);
	ck_assert_str_eq(k, "");
}
END_TEST

/* The longest keys: SEMVER_MAX_LEN versions of one-byte fields, of
 * numeric fields, and of one long number; all printable ASCII. */
START_TEST(test_key_room)
{
	static const char fill[] = {'1', 'a'};
	char v[SEMVER_MAX_LEN + 1], k[SEMVER_KEY_MAX];
	size_t len;

	for (size_t f = 0; f < 3; f++) {
		memcpy(v, "18446744073709551615.18446744073709551615.1-", 44);
		for (len = 44; len < SEMVER_MAX_LEN; len++)
			v[len] = f == 2 ? '7' : (len - 44) % 2 ? '.' : fill[f];
		if (v[len - 1] == '.')
			v[len - 1] = fill[f % 2];
		v[len] = '\0';
		ck_assert_int_eq(semver_check(v, len), 0);
		ck_assert_msg(semver_sort_key(v, k, sizeof(k)) == 0, "%s", v);
		for (const char *p = k; *p != '\0'; p++)
			ck_assert(*p > ' ' && *p < 0x7f);
	}
}
END_TEST

/* A small deterministic generator (xorshift64). */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/* A random valid version from few parts, so that pairs often tie. */
static void
gen_version(uint64_t *st, char *out, size_t outlen)
{
	static const char *const core[] = {"0", "1", "2", "9", "10", "11", "99",
	    "100", "18446744073709551615"};
	static const char *const pre[] = {"0", "1", "2", "9", "10", "11",
	    "100000000000000000000000", "a", "b", "aa", "a-", "-", "A", "Z",
	    "z", "1a", "0a", "alpha", "beta", "rc", "--", "a1"};
	static const char *const build[] = {"", "+0", "+b.1", "+001"};
	size_t npre = rnd(st) % 5, len;

	len = (size_t)snprintf(out, outlen, "%s.%s.%s",
	    core[rnd(st) % (NELEM(core) - (rnd(st) % 4 ? 4 : 0))],
	    core[rnd(st) % 3], core[rnd(st) % 3]);
	for (size_t i = 0; i < npre; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%c%s",
		    i == 0 ? '-' : '.', pre[rnd(st) % NELEM(pre)]);
	snprintf(out + len, outlen - len, "%s", build[rnd(st) % NELEM(build)]);
}

/* Property: over many generated pairs, key order is semver_cmp order. */
START_TEST(test_key_property)
{
	uint64_t st = 0x9e3779b97f4a7c15u;
	char a[SEMVER_MAX_LEN + 1], b[SEMVER_MAX_LEN + 1];
	int seen[3] = {0, 0, 0};

	for (int i = 0; i < 200000; i++) {
		int want, got;

		gen_version(&st, a, sizeof(a));
		gen_version(&st, b, sizeof(b));
		if (semver_check(a, strlen(a)) != 0 ||
		    semver_check(b, strlen(b)) != 0)
			ck_abort_msg("generated '%s' '%s'", a, b);
		want = cmp(a, b);
		got = key_cmp(a, b);
		if (got != want)
			ck_abort_msg("'%s' '%s': key %d, semver_cmp %d", a, b,
			    got, want);
		seen[want + 1]++;
	}
	/* The generator does reach every outcome, ties included. */
	ck_assert_int_gt(seen[0], 1000);
	ck_assert_int_gt(seen[1], 100);
	ck_assert_int_gt(seen[2], 1000);
}
END_TEST

static Suite *
semver_suite(void)
{
	Suite *s = suite_create("semver");
	TCase *tc;

	tc = tcase_create("semver_check");
	tcase_add_loop_test(tc, test_check_valid, 0, NELEM(valid));
	tcase_add_loop_test(tc, test_check_invalid, 0, NELEM(invalid));
	tcase_add_test(tc, test_check_length);
	tcase_add_test(tc, test_check_not_terminated);
	suite_add_tcase(s, tc);

	tc = tcase_create("semver_cmp");
	tcase_add_test(tc, test_cmp_spec_prerelease);
	tcase_add_test(tc, test_cmp_spec_core);
	tcase_add_test(tc, test_cmp_more);
	tcase_add_test(tc, test_cmp_build_ignored);
	tcase_add_test(tc, test_cmp_invalid);
	tcase_add_test(tc, test_cmp_total_order);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("semver_sort_key");
	tcase_add_test(tc, test_key_lists);
	tcase_add_test(tc, test_key_build_ignored);
	tcase_add_test(tc, test_key_invalid);
	tcase_add_test(tc, test_key_room);
	tcase_add_test(tc, test_key_property);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(semver_suite());
}
