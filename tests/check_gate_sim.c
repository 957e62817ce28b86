/*
 * check_gate_sim: what docs/rollouts.md claims of the wilson gate, from
 * the committed simulation (bench/gate_sim.c) at a fixed seed, against
 * the gate otad runs: at its defaults (5%, min_reports 10, confidence
 * 95%) it pauses fewer than 1% of rollouts whose true failure rate is 2%,
 * and pauses a 20%-failure build within 40 reports (median), while the
 * simple gate pauses far more of the 2% ones.
 */
#include <check.h>
#include <stdlib.h>

#include "errors.h"
#include "gate_sim.h"
#include "testutil.h"

#define SEED 0x6f74616467617465u /* bench/gate_sim_main.c's */
#define HORIZON 1000

static const struct rollout_gate_policy simple = {
    ROLLOUT_GATE_SIMPLE, 0.05, 10, ROLLOUT_CONFIDENCE_DEFAULT};
static const struct rollout_gate_policy wilson = {
    ROLLOUT_GATE_WILSON, 0.05, 10, ROLLOUT_CONFIDENCE_DEFAULT};

START_TEST(test_false_pauses_at_2pct)
{
	struct gate_sim_result w, s;

	ck_assert_int_eq(
	    gate_sim_pauses(&wilson, 0.02, 2000, HORIZON, SEED, &w), 0);
	ck_assert_int_eq(
	    gate_sim_pauses(&simple, 0.02, 2000, HORIZON, SEED, &s), 0);
	ck_assert_uint_eq(w.runs, 2000);
	ck_assert_msg(w.paused * 100 < w.runs, "wilson paused %u of %u",
	    w.paused, w.runs);
	/* The simple gate's false pauses the issue measured (~40%). */
	ck_assert_msg(s.paused * 100 > 30 * s.runs, "simple paused %u of %u",
	    s.paused, s.runs);
}
END_TEST

START_TEST(test_detects_20pct_within_40)
{
	struct gate_sim_result w;

	ck_assert_int_eq(
	    gate_sim_pauses(&wilson, 0.20, 1000, HORIZON, SEED, &w), 0);
	ck_assert_msg(w.median_reports <= 40, "median %llu reports",
	    (unsigned long long)w.median_reports);
	ck_assert_uint_eq(w.paused, w.runs); /* every bad run pauses */
}
END_TEST

/* The confidence is for the whole run: at the threshold itself at most
 * 5% of the runs pause, looking after every report. */
START_TEST(test_confidence_holds_at_threshold)
{
	struct gate_sim_result w;

	ck_assert_int_eq(
	    gate_sim_pauses(&wilson, 0.05, 1000, HORIZON, SEED, &w), 0);
	ck_assert_msg(
	    w.paused * 100 <= 5 * w.runs, "paused %u of %u", w.paused, w.runs);
}
END_TEST

START_TEST(test_sim_args)
{
	struct gate_sim_result r;

	ck_assert_int_eq(
	    gate_sim_pauses(&wilson, 1.5, 10, 10, 1, &r), OTA_EINVAL);
	ck_assert_int_eq(
	    gate_sim_pauses(&wilson, 0.1, 0, 10, 1, &r), OTA_EINVAL);
	ck_assert_int_eq(
	    gate_sim_pauses(&wilson, 0.1, 10, 0, 1, &r), OTA_EINVAL);
	/* Every run fails at once at 100%: paused at min_reports. */
	ck_assert_int_eq(gate_sim_pauses(&wilson, 1.0, 10, 100, 1, &r), 0);
	ck_assert_uint_eq(r.paused, 10);
	ck_assert_uint_eq(r.median_reports, 10);
	/* Nothing ever fails at 0%: never paused, median past the end. */
	ck_assert_int_eq(gate_sim_pauses(&wilson, 0.0, 10, 100, 1, &r), 0);
	ck_assert_uint_eq(r.paused, 0);
	ck_assert_uint_eq(r.median_reports, 101);
	ck_assert_uint_eq(gate_sim_advance_after(&wilson, 10000), 386);
	ck_assert_uint_eq(gate_sim_advance_after(&simple, 10000), 1);
	ck_assert_uint_eq(gate_sim_advance_after(&wilson, 100), 101);
}
END_TEST

static Suite *
gate_sim_suite(void)
{
	Suite *s = suite_create("gate_sim");
	TCase *tc = tcase_create("gate_sim_pauses");

	tcase_add_test(tc, test_false_pauses_at_2pct);
	tcase_add_test(tc, test_detects_20pct_within_40);
	tcase_add_test(tc, test_confidence_holds_at_threshold);
	tcase_add_test(tc, test_sim_args);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(gate_sim_suite());
}
