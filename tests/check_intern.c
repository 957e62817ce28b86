/*
 * check_intern: the interning table alone: a value kept once and named by
 * one id, its references, the last one freeing it and its id reused, both
 * bounds (values and bytes) refusing a new value but never a known one,
 * values that share a hash, and clearing.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "intern.h"
#include "testutil.h"

/* Puts the string s (hash h) into t: its id, or -1 on error rc. */
static int
put(struct intern *t, const char *s, uint32_t h)
{
	uint16_t id;
	int rc = intern_put(t, s, strlen(s), h, &id);

	return rc == 0 ? id : -1;
}

START_TEST(test_put_get)
{
	struct intern *t = intern_new(8, 1024);
	const char *v;
	size_t n;
	int a, b;

	ck_assert_ptr_nonnull(t);
	a = put(t, "revA", 1);
	b = put(t, "revB", 2);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_int_ne(a, b);
	/* Kept once: the same value, the same id. */
	ck_assert_int_eq(put(t, "revA", 1), a);
	ck_assert_uint_eq(intern_count(t), 2);
	v = intern_get(t, (uint16_t)a, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert(memcmp(v, "revA", 4) == 0);
	/* Two values of one hash stay apart. */
	ck_assert_int_ne(put(t, "revC", 1), a);
	/* The empty value is a value. */
	ck_assert_int_ge(put(t, "", 9), 0);
	ck_assert_uint_eq(intern_count(t), 4);
	intern_free(t);
	intern_free(NULL);
}
END_TEST

START_TEST(test_refs)
{
	struct intern *t = intern_new(2, 1024);
	int a, b;

	a = put(t, "1.0.0", 5);
	ck_assert_int_eq(put(t, "1.0.0", 5), a); /* two references */
	b = put(t, "2.0.0", 6);
	/* Full: a new value is refused, a known one is not. */
	ck_assert_int_eq(put(t, "3.0.0", 7), -1);
	ck_assert_int_eq(put(t, "2.0.0", 6), b);
	intern_unref(t, (uint16_t)a);
	ck_assert_int_eq(put(t, "3.0.0", 7), -1); /* a still held once */
	intern_unref(t, (uint16_t)a);             /* the last one */
	ck_assert_uint_eq(intern_count(t), 1);
	/* Its place is free again. */
	ck_assert_int_eq(put(t, "3.0.0", 7), a);
	ck_assert_int_eq(put(t, "1.0.0", 5), -1);
	intern_free(t);
}
END_TEST

START_TEST(test_bytes)
{
	/* 10 bytes: values of 4 bytes take 5 (a byte more each). */
	struct intern *t = intern_new(100, 11);
	size_t b0 = intern_bytes(t);
	int a;

	a = put(t, "aaaa", 1);
	ck_assert_int_ge(put(t, "bbbb", 2), 0);
	ck_assert_int_eq(put(t, "cccc", 3), -1);
	ck_assert_uint_gt(intern_bytes(t), b0);
	intern_unref(t, (uint16_t)a);
	ck_assert_int_ge(put(t, "cccc", 3), 0);
	intern_clear(t);
	ck_assert_uint_eq(intern_count(t), 0);
	ck_assert_int_ge(put(t, "dddd", 4), 0);
	intern_free(t);
}
END_TEST

START_TEST(test_many)
{
	/* Every id there is, across the buckets' growth. */
	struct intern *t = intern_new(INTERN_ENTRIES_MAX, 1 << 20);
	char s[16];

	for (unsigned i = 0; i < INTERN_ENTRIES_MAX; i++) {
		snprintf(s, sizeof(s), "v%u", i);
		ck_assert_int_eq(put(t, s, i * 2654435761u), (int)i);
	}
	ck_assert_int_eq(put(t, "one more", 1), -1);
	for (unsigned i = 0; i < INTERN_ENTRIES_MAX; i += 997) {
		snprintf(s, sizeof(s), "v%u", i);
		ck_assert_int_eq(put(t, s, i * 2654435761u), (int)i);
	}
	intern_free(t);
}
END_TEST

static Suite *
intern_suite(void)
{
	Suite *s = suite_create("intern");
	TCase *tc = tcase_create("intern");

	tcase_add_test(tc, test_put_get);
	tcase_add_test(tc, test_refs);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(intern_suite());
}
