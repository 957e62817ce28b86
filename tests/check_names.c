/*
 * check_names: the identifier alphabets (device ids, hardware, event ids,
 * group and token names) are checked by one function.
 */
#include <check.h>

#include "names.h"
#include "testutil.h"

START_TEST(test_names_valid)
{
	ck_assert_int_eq(names_valid("dev-1.a_b:c", 128, NAMES_ID_PUNCT), 1);
	ck_assert_int_eq(names_valid("g:1", 64, NAMES_GROUP_PUNCT), 0);
	ck_assert_int_eq(names_valid("ci@example", 64, NAMES_TOKEN_PUNCT), 1);
	ck_assert_int_eq(names_valid("ci@example", 64, NAMES_ID_PUNCT), 0);
	ck_assert_int_eq(names_valid("", 64, NAMES_ID_PUNCT), 0);
	ck_assert_int_eq(names_valid("abc", 2, NAMES_ID_PUNCT), 0);
	ck_assert_int_eq(names_valid("ab", 2, NAMES_ID_PUNCT), 1);
	ck_assert_int_eq(names_valid("a b", 64, NAMES_ID_PUNCT), 0);
	ck_assert_int_eq(names_valid("caf\xc3\xa9", 64, NAMES_ID_PUNCT), 0);
	/* A NUL inside the counted bytes is never part of a name. */
	ck_assert_int_eq(names_valid_len("ab\0c", 4, 64, NAMES_ID_PUNCT), 0);
	ck_assert_int_eq(names_valid_len("abc", 2, 64, NAMES_ID_PUNCT), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("names_valid");

	tcase_add_test(tc, test_names_valid);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
