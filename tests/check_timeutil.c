/*
 * check_timeutil: the one RFC 3339 parser and formatter (device
 * timestamps, stored times, query arguments).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "testutil.h"
#include "timeutil.h"

START_TEST(test_parse_forms)
{
	int64_t ms = 0;

	ck_assert_int_eq(
	    timeutil_parse_rfc3339("1970-01-01T00:00:00Z", &ms), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(
	    timeutil_parse_rfc3339("9999-12-31T23:59:59Z", &ms), 0);
	ck_assert_int_eq(ms, TIMEUTIL_MAX_SEC * 1000);
	ck_assert_int_eq(
	    timeutil_parse_rfc3339("2026-11-21T18:00:00Z", &ms), 0);
	ck_assert_int_eq(ms, 1795284000000LL);
	ck_assert_int_eq(
	    timeutil_parse_rfc3339("2026-11-21T18:00:00.1234Z", &ms), 0);
	ck_assert_int_eq(ms, 1795284000123LL);
	ck_assert_int_eq(
	    timeutil_parse_rfc3339("2026-11-21t19:30:00+01:30", &ms), 0);
	ck_assert_int_eq(ms, 1795284000000LL);
	ck_assert_int_eq(
	    timeutil_parse_rfc3339("2024-02-29T00:00:00Z", &ms), 0);
	ck_assert_int_eq(
	    timeutil_parse_rfc3339("2016-12-31T23:59:60Z", &ms), 0);
	ck_assert_int_eq(ms, 1483228800000LL);
}
END_TEST

START_TEST(test_parse_refusals)
{
	static const char *const bad[] = {"", "2026-11-21",
	    "2026-11-21T18:00:00", "2026-11-21 18:00:00Z",
	    "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
	    "2026-13-01T00:00:00Z", "2026-11-21T24:00:00Z",
	    "2026-11-21T18:60:00Z", "1969-12-31T23:59:59Z",
	    "2026-11-21T18:00:00.Z", "2026-11-21T18:00:00+1:00",
	    "2026-11-21T18:00:00Zjunk", "+026-11-21T18:00:00Z",
	    /* Past either end once in UTC: 1969, and year 10000 (which the
	     * formatter cannot write back). */
	    "1970-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"};
	int64_t ms = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(timeutil_parse_rfc3339(bad[i], &ms) == OTA_EINVAL,
		    "accepted '%s'", bad[i]);
		ck_assert_int_eq(ms, 42);
	}
}
END_TEST

START_TEST(test_format_and_canonical)
{
	char out[TIMEUTIL_RFC3339_LEN];
	int64_t ms;

	timeutil_format_rfc3339(1795284000, out);
	ck_assert_str_eq(out, "2026-11-21T18:00:00Z");
	ck_assert_int_eq(timeutil_parse_rfc3339(out, &ms), 0);
	ck_assert_int_eq(ms, 1795284000000LL);
	ck_assert_int_eq(timeutil_is_canonical("2026-11-21T18:00:00Z"), 1);
	ck_assert_int_eq(timeutil_is_canonical("2026-11-21T18:00:00.5Z"), 0);
	ck_assert_int_eq(timeutil_is_canonical("2026-11-21T19:00:00+01:00"), 0);
	ck_assert_int_eq(timeutil_is_canonical("2026-13-45T99:99:99Z"), 0);
	ck_assert_int_gt(timeutil_now_ms(), 1700000000000LL);
}
END_TEST

/* The monotonic clock, its timespec form, and a condition timed on it. */
START_TEST(test_monotonic)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	struct timespec ts;
	int64_t t0, t1;

	ts = timeutil_mono_timespec(12345);
	ck_assert_int_eq(ts.tv_sec, 12);
	ck_assert_int_eq(ts.tv_nsec, 345000000L);
	ck_assert_int_eq(timeutil_mono_cond_init(&cv), 0);
	t0 = timeutil_mono_ms();
	pthread_mutex_lock(&mu);
	/* 20 ms from now on CLOCK_MONOTONIC: a realtime condition would
	 * take the deadline as 1970 and return at once. */
	ts = timeutil_mono_timespec(t0 + 20);
	while (pthread_cond_timedwait(&cv, &mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&mu);
	t1 = timeutil_mono_ms();
	ck_assert_int_ge(t1 - t0, 19);
	pthread_cond_destroy(&cv);
}
END_TEST

/* The test clock file moves the wall clock by the seconds it holds, read
 * anew at every reading; a file without a number (or none) moves nothing;
 * the monotonic clock never moves. */
START_TEST(test_clock_file)
{
	char dir[256], path[300];
	int64_t real, moved, mono;

	testutil_tmpdir_new("clock", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/clock", dir);
	timeutil_clock_file(path);
	real = timeutil_now_ms();
	ck_assert_int_lt(llabs(real - timeutil_now_sec() * 1000), 2000);
	testutil_write_file(path, "86400\n", 6);
	mono = timeutil_mono_ms();
	moved = timeutil_now_ms();
	ck_assert_int_ge(moved - real, 86400000LL);
	ck_assert_int_lt(moved - real, 86400000LL + 5000);
	ck_assert_int_lt(timeutil_mono_ms() - mono, 5000);
	testutil_write_file(path, "-3600", 5);
	ck_assert_int_lt(timeutil_now_ms() - real, -3590000LL);
	testutil_write_file(path, "soon", 4);
	ck_assert_int_lt(llabs(timeutil_now_ms() - real), 5000);
	testutil_write_file(path, "99999999999999999999", 20);
	ck_assert_int_lt(llabs(timeutil_now_ms() - real), 5000);
	timeutil_clock_file("");
	testutil_write_file(path, "86400", 5);
	ck_assert_int_lt(llabs(timeutil_now_ms() - real), 5000);
	testutil_tmpdir_remove(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("timeutil");
	TCase *tc = tcase_create("rfc3339");

	tcase_add_test(tc, test_parse_forms);
	tcase_add_test(tc, test_parse_refusals);
	tcase_add_test(tc, test_format_and_canonical);
	suite_add_tcase(s, tc);
	tc = tcase_create("monotonic");
	tcase_add_test(tc, test_monotonic);
	tcase_add_test(tc, test_clock_file);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
