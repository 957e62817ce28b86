/*
 * check_bundle_state: the fold of a bundle's parts into the device's
 * status, and the coordinated rollback rule, as a specification: the
 * dual-MCU and chain stories of docs/bundles.md.
 */
#include <check.h>
#include <stdlib.h>

#include "bundle_state.h"
#include "testutil.h"

#define N UPDATE_NONE
#define S UPDATE_STARTED
#define P UPDATE_PROGRESS
#define C UPDATE_COMPLETED
#define F UPDATE_FAILED
#define R UPDATE_REVERTED
#define D UPDATE_DEFERRED

/* Folds three parts ncp 1.2.0, mcu 2.1.0, hub 0.9.0 with the given
 * statuses, installed versions and results. */
static struct bundle_state
fold3(enum update_state a, enum update_state b, enum update_state c,
    const char *ia, const char *ib, const char *ic, int rb, int rc)
{
	struct bundle_state_part p[3] = {
	    {"1.2.0", ia, a, -1},
	    {"2.1.0", ib, b, rb},
	    {"0.9.0", ic, c, rc},
	};
	struct bundle_state out;

	bundle_state_fold(p, 3, &out);
	return out;
}

START_TEST(test_current)
{
	ck_assert_int_eq(bundle_state_part_current("1.2.0", "1.2.0"), 1);
	ck_assert_int_eq(bundle_state_part_current("1.2.0+b7", "1.2.0"), 1);
	ck_assert_int_eq(bundle_state_part_current("1.1.9", "1.2.0"), 0);
	ck_assert_int_eq(bundle_state_part_current("1.3.0", "1.2.0"), 0);
	ck_assert_int_eq(bundle_state_part_current("", "1.2.0"), 0);
	ck_assert_int_eq(bundle_state_part_current(NULL, "1.2.0"), 0);
	ck_assert_int_eq(bundle_state_part_current("x", "1.2.0"), 0);
}
END_TEST

START_TEST(test_nothing_yet)
{
	struct bundle_state s = fold3(N, N, N, "1.2.0", "2.0.0", "", -1, -1);

	ck_assert_int_eq(s.status, N);
	ck_assert_int_eq(s.part, -1);
	ck_assert_int_eq(s.result, -1);
	ck_assert_int_eq(s.progress, -1);
}
END_TEST

/* A soft rollout's "not now" for the bundle: deferred while no part
 * moved; a part that starts or fails after it decides. */
START_TEST(test_deferred)
{
	struct bundle_state s = fold3(D, N, N, "1.0.0", "2.0.0", "", -1, -1);

	ck_assert_int_eq(s.status, D);
	ck_assert_int_eq(s.part, -1);
	s = fold3(D, D, D, "1.0.0", "2.0.0", "", -1, -1);
	ck_assert_int_eq(s.status, D);
	s = fold3(D, S, N, "1.0.0", "2.0.0", "", -1, -1);
	ck_assert_int_eq(s.status, S);
	s = fold3(D, F, N, "1.0.0", "2.0.0", "", 5, -1);
	ck_assert_int_eq(s.status, F);
	ck_assert_int_eq(s.part, 1);
}
END_TEST

START_TEST(test_completed_needs_every_part)
{
	struct bundle_state s;

	/* ncp current (skipped), mcu completed, hub not yet. */
	s = fold3(N, C, N, "1.2.0", "2.0.0", "0.8.0", -1, -1);
	ck_assert_int_eq(s.status, P);
	ck_assert_int_eq(s.progress, 66);
	/* hub started: still in progress. */
	s = fold3(N, C, S, "1.2.0", "2.0.0", "0.8.0", -1, -1);
	ck_assert_int_eq(s.status, P);
	/* hub completed: every offered part done, the skipped one current. */
	s = fold3(N, C, C, "1.2.0", "2.0.0", "0.8.0", -1, -1);
	ck_assert_int_eq(s.status, C);
	ck_assert_int_eq(s.part, -1);
	/* a skipped part that is not current after all keeps it open. */
	s = fold3(N, C, C, "1.1.0", "2.0.0", "0.8.0", -1, -1);
	ck_assert_int_eq(s.status, P);
	/* every part current by the poll, no event yet: completed too (the
	 * device runs the bundle). */
	s = fold3(N, S, N, "1.2.0", "2.1.0", "0.9.0", -1, -1);
	ck_assert_int_eq(s.status, C);
	/* only started events: started. */
	s = fold3(S, N, N, "", "", "", -1, -1);
	ck_assert_int_eq(s.status, S);
	ck_assert_int_eq(s.progress, 0);
}
END_TEST

START_TEST(test_failed_names_the_part)
{
	struct bundle_state s;

	/* dual MCU: the second part fails (5: integrity). */
	s = fold3(C, F, N, "", "", "0.9.0", 5, -1);
	ck_assert_int_eq(s.status, F);
	ck_assert_int_eq(s.part, 1);
	ck_assert_int_eq(s.result, 5);
	/* as soon as one part failed, whatever the others do. */
	s = fold3(C, C, F, "", "", "", -1, 8);
	ck_assert_int_eq(s.status, F);
	ck_assert_int_eq(s.part, 2);
	ck_assert_int_eq(s.result, 8);
	/* two failed: the first in install order. */
	s = fold3(F, F, N, "", "", "", 4, 8);
	ck_assert_int_eq(s.part, 0);
	ck_assert_int_eq(s.result, -1); /* part 0's own result */
}
END_TEST

START_TEST(test_reverted_over_failed)
{
	struct bundle_state s;

	s = fold3(C, R, C, "", "", "", -1, -1);
	ck_assert_int_eq(s.status, R);
	ck_assert_int_eq(s.part, 1);
	ck_assert_int_eq(s.result, -1);
	s = fold3(F, C, R, "", "", "", 5, -1);
	ck_assert_int_eq(s.status, R);
	ck_assert_int_eq(s.part, 2);
}
END_TEST

START_TEST(test_rolled_back)
{
	ck_assert_int_eq(bundle_state_rolled_back(1, "0.8.0", "0.9.0"), 1);
	ck_assert_int_eq(bundle_state_rolled_back(1, "0.9.0", "0.9.0"), 0);
	ck_assert_int_eq(bundle_state_rolled_back(1, "0.9.0+b2", "0.9.0"), 0);
	ck_assert_int_eq(bundle_state_rolled_back(1, "1.0.0", "0.9.0"), 0);
	ck_assert_int_eq(bundle_state_rolled_back(0, "0.8.0", "0.9.0"), 0);
	ck_assert_int_eq(bundle_state_rolled_back(1, "", "0.9.0"), 0);
	ck_assert_int_eq(bundle_state_rolled_back(1, NULL, "0.9.0"), 0);
	ck_assert_int_eq(bundle_state_rolled_back(1, "0.9", "0.9.0"), 0);
}
END_TEST

START_TEST(test_empty)
{
	struct bundle_state s;

	bundle_state_fold(NULL, 0, &s);
	ck_assert_int_eq(s.status, N);
}
END_TEST

static Suite *
bundle_state_suite(void)
{
	Suite *s = suite_create("bundle_state");
	TCase *tc = tcase_create("fold");

	tcase_add_test(tc, test_current);
	tcase_add_test(tc, test_nothing_yet);
	tcase_add_test(tc, test_deferred);
	tcase_add_test(tc, test_completed_needs_every_part);
	tcase_add_test(tc, test_failed_names_the_part);
	tcase_add_test(tc, test_reverted_over_failed);
	tcase_add_test(tc, test_rolled_back);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(bundle_state_suite());
}
