/*
 * check_mwindow: maintenance windows as tests.  The grammar, its
 * canonical text and every refusal; the UTC spans of windows through the
 * daylight saving days of Europe/Berlin and America/New_York (a start the
 * clocks jump over, a start that happens twice, a window lasting across
 * the change), windows crossing midnight and the end of the week, merging,
 * intersection and the state at an instant.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "mwindow.h"
#include "testutil.h"
#include "timeutil.h"

/* Unix seconds of an RFC 3339 time. */
static int64_t
T(const char *s)
{
	int64_t ms;

	ck_assert_msg(timeutil_parse_rfc3339(s, &ms) == 0, "bad time %s", s);
	return ms / 1000;
}

static void
canonical(const char *s, const char *want, size_t want_n)
{
	struct mwindow_set a, b;
	char err[256] = "";

	ck_assert_msg(mwindow_parse(s, &a, err, sizeof(err)) == 0,
	    "'%s' refused: %s", s, err);
	ck_assert_str_eq(a.text, want);
	ck_assert_uint_eq(a.n, want_n);
	ck_assert_int_eq(mwindow_parse(a.text, &b, NULL, 0), 0);
	ck_assert_str_eq(b.text, a.text);
	ck_assert_int_eq(memcmp(a.w, b.w, sizeof(a.w)), 0);
}

static void
refused(const char *s, const char *want)
{
	struct mwindow_set set;
	char err[256] = "";

	set.n = 99;
	ck_assert_int_eq(mwindow_parse(s, &set, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(set.n, 99);
}

START_TEST(test_parse_forms)
{
	canonical("", "", 0);
	canonical("   ", "", 0);
	canonical("mon-fri 22:00 4h Europe/Berlin",
	    "mon-fri 22:00 4h Europe/Berlin", 1);
	canonical(
	    "  MON,Tue,wed  02:05  90m   UTC ", "mon-wed 02:05 1h30m UTC", 1);
	canonical("sat,sun 00:00 1440m America/New_York",
	    "sat,sun 00:00 24h America/New_York", 1);
	canonical("fri-mon 23:30 30m UTC", "mon,fri-sun 23:30 30m UTC", 1);
	canonical("mon,tue,wed,thu,fri,sat,sun 01:00 1h UTC",
	    "daily 01:00 1h UTC", 1);
	canonical("sun-sat 01:00 168h UTC", "daily 01:00 168h UTC", 1);
	canonical("DAILY 01:00 1H30M UTC", "daily 01:00 1h30m UTC", 1);
	canonical(
	    "mon,wed,fri 12:00 1h1m UTC", "mon,wed,fri 12:00 1h1m UTC", 1);
	canonical("mon 01:00 1h UTC; tue 02:00 2h Europe/Berlin",
	    "mon 01:00 1h UTC; tue 02:00 2h Europe/Berlin", 2);
	/* an alias ICU knows is kept as written */
	canonical("daily 03:00 1h US/Eastern", "daily 03:00 1h US/Eastern", 1);
}
END_TEST

START_TEST(test_parse_refused)
{
	refused("mon 01:00 1h Mars/Olympus",
	    "maintenance_windows: window 1: unknown time zone "
	    "'Mars/Olympus' (want an IANA id such as Europe/Berlin)");
	refused("mon 01:00 1h UTC; tue 01:00 1h GMT+05:00",
	    "maintenance_windows: window 2: unknown time zone 'GMT+05:00' "
	    "(want an IANA id such as Europe/Berlin)");
	refused("mon 01:00 1h Europe/Berlin\"x",
	    "maintenance_windows: window 1: unknown time zone "
	    "'Europe/Berlin\"x' (want an IANA id such as Europe/Berlin)");
	refused("mon 24:00 1h UTC",
	    "maintenance_windows: window 1: start '24:00': want a local "
	    "time HH:MM, 00:00..23:59");
	refused("mon 1:00 1h UTC",
	    "maintenance_windows: window 1: start '1:00': want a local "
	    "time HH:MM, 00:00..23:59");
	refused("mon 01:00 0m UTC",
	    "maintenance_windows: window 1: duration '0m': want 4h, 90m or "
	    "1h30m, 1 minute to 168 hours");
	refused("mon 01:00 169h UTC",
	    "maintenance_windows: window 1: duration '169h': want 4h, 90m "
	    "or 1h30m, 1 minute to 168 hours");
	refused("mon 01:00 30m1h UTC",
	    "maintenance_windows: window 1: duration '30m1h': want 4h, 90m "
	    "or 1h30m, 1 minute to 168 hours");
	refused("mon 01:00 4 UTC",
	    "maintenance_windows: window 1: duration '4': want 4h, 90m or "
	    "1h30m, 1 minute to 168 hours");
	refused("monday 01:00 1h UTC",
	    "maintenance_windows: window 1: days 'monday': want daily, or "
	    "mon..sun joined by ',' or '-'");
	refused("mon, 01:00 1h UTC",
	    "maintenance_windows: window 1: days 'mon,': want daily, or "
	    "mon..sun joined by ',' or '-'");
	refused("mon 01:00 1h",
	    "maintenance_windows: window 1: want \"DAYS HH:MM DURATION "
	    "ZONE\", e.g. \"mon-fri 22:00 4h Europe/Berlin\"");
	refused("mon 01:00 1h UTC extra",
	    "maintenance_windows: window 1: want \"DAYS HH:MM DURATION "
	    "ZONE\", e.g. \"mon-fri 22:00 4h Europe/Berlin\"");
	refused("mon 01:00 1h UTC;;tue 01:00 1h UTC",
	    "maintenance_windows: window 2 is empty");
	refused("mon 01:00 1h UTC;", "maintenance_windows: window 2 is empty");
	refused("mon 01:00 1h UTC;mon 01:00 1h UTC;mon 01:00 1h UTC;"
	        "mon 01:00 1h UTC;mon 01:00 1h UTC;mon 01:00 1h UTC;"
	        "mon 01:00 1h UTC;mon 01:00 1h UTC;mon 01:00 1h UTC",
	    "maintenance_windows: at most 8 windows");
	ck_assert_int_eq(mwindow_parse(NULL, NULL, NULL, 0), OTA_EINVAL);
}
END_TEST

/* The longest canonical text fits and parses back to itself. */
START_TEST(test_parse_longest)
{
	char in[2048] = "", want[2048] = "";
	const char *w = "mon,tue,thu,fri,sun 23:59 167h59m "
	                "America/Argentina/ComodRivadavia";
	struct mwindow_set a;

	for (int i = 0; i < MWINDOW_MAX; i++) {
		strcat(in, i ? " ;" : "");
		strcat(in, w);
		strcat(want, i ? "; " : "");
		strcat(want, w);
	}
	ck_assert_int_eq(mwindow_parse(in, &a, NULL, 0), 0);
	ck_assert_str_eq(a.text, want);
	ck_assert_uint_lt(strlen(a.text), MWINDOW_TEXT_MAX);
	canonical(want, want, MWINDOW_MAX);
}
END_TEST

/* The spans of text over [from, to), exactly n of them. */
static void
spans(const char *text, const char *from, const char *to,
    struct mwindow_span *out, int n)
{
	struct mwindow_set set;
	char err[256] = "";

	ck_assert_msg(
	    mwindow_parse(text, &set, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(
	    mwindow_spans(&set, T(from), T(to), out, MWINDOW_SPANS_MAX), n);
}

static void
span_is(const struct mwindow_span *s, const char *open, const char *close)
{
	char a[TIMEUTIL_RFC3339_LEN], b[TIMEUTIL_RFC3339_LEN];

	timeutil_format_rfc3339(s->open, a);
	timeutil_format_rfc3339(s->close, b);
	ck_assert_str_eq(a, open);
	ck_assert_str_eq(b, close);
}

START_TEST(test_berlin_dst)
{
	struct mwindow_span sp[MWINDOW_SPANS_MAX];

	/* 2026-03-29: 02:00 CET becomes 03:00 CEST.  02:30 does not exist
	 * that Sunday: the window opens when the clocks jump, 01:00Z. */
	spans("sun 02:30 1h Europe/Berlin", "2026-03-22T12:00:00Z",
	    "2026-04-05T12:00:00Z", sp, 2);
	span_is(&sp[0], "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z");
	/* the week after, CEST: 02:30 local is 00:30Z */
	span_is(&sp[1], "2026-04-05T00:30:00Z", "2026-04-05T01:30:00Z");
	/* The week before, CET: 01:30Z. */
	spans("sun 02:30 1h Europe/Berlin", "2026-03-21T00:00:00Z",
	    "2026-03-23T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-03-22T01:30:00Z", "2026-03-22T02:30:00Z");
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET, 02:30 happens twice:
	 * the first one (CEST, 00:30Z) opens it. */
	spans("sun 02:30 1h Europe/Berlin", "2026-10-24T00:00:00Z",
	    "2026-10-26T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z");
	/* A night window over the spring change lasts 8 hours of elapsed
	 * time: 22:00 CET (21:00Z) to 05:00Z, 07:00 CEST on the clock. */
	spans("sat 22:00 8h Europe/Berlin", "2026-03-28T00:00:00Z",
	    "2026-03-30T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-03-28T21:00:00Z", "2026-03-29T05:00:00Z");
	/* and over the autumn change: 22:00 CEST (20:00Z) to 04:00Z */
	spans("sat 22:00 8h Europe/Berlin", "2026-10-24T00:00:00Z",
	    "2026-10-26T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-10-24T20:00:00Z", "2026-10-25T04:00:00Z");
	/* The same local start on both sides of the change. */
	spans("daily 04:00 1h Europe/Berlin", "2026-03-28T00:00:00Z",
	    "2026-03-30T00:00:00Z", sp, 2);
	span_is(&sp[0], "2026-03-28T03:00:00Z", "2026-03-28T04:00:00Z");
	span_is(&sp[1], "2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z");
}
END_TEST

START_TEST(test_new_york_dst)
{
	struct mwindow_span sp[MWINDOW_SPANS_MAX];

	/* 2026-03-08: 02:00 EST becomes 03:00 EDT; a 02:00 start opens at
	 * 03:00 EDT, 07:00Z. */
	spans("sun 02:00 2h America/New_York", "2026-03-07T00:00:00Z",
	    "2026-03-09T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-03-08T07:00:00Z", "2026-03-08T09:00:00Z");
	/* 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice,
	 * the first (EDT) is 05:30Z. */
	spans("sun 01:30 1h America/New_York", "2026-10-31T00:00:00Z",
	    "2026-11-02T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z");
	/* the day after, EST: 01:30 is 06:30Z */
	spans("mon 01:30 1h America/New_York", "2026-11-01T12:00:00Z",
	    "2026-11-03T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-11-02T06:30:00Z", "2026-11-02T07:30:00Z");
}
END_TEST

START_TEST(test_midnight_and_week)
{
	struct mwindow_span sp[MWINDOW_SPANS_MAX];
	int open;
	int64_t next;

	/* Friday 23:00 for 3 hours: into Saturday. 2026-12-04 is a Friday. */
	spans("fri 23:00 3h UTC", "2026-12-01T00:00:00Z",
	    "2026-12-08T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-12-04T23:00:00Z", "2026-12-05T02:00:00Z");
	mwindow_state(sp, 1, T("2026-12-05T01:00:00Z"), &open, &next);
	ck_assert_int_eq(open, 1);
	ck_assert_int_eq(next, T("2026-12-05T02:00:00Z"));
	mwindow_state(sp, 1, T("2026-12-05T02:00:00Z"), &open, &next);
	ck_assert_int_eq(open, 0);
	ck_assert_int_eq(next, 0);
	/* Sunday 22:00 for 4 hours: across the week's end into Monday;
	 * asked from Monday 01:00 it is still open. */
	spans("sun 22:00 4h UTC", "2026-12-07T01:00:00Z",
	    "2026-12-15T00:00:00Z", sp, 2);
	span_is(&sp[0], "2026-12-06T22:00:00Z", "2026-12-07T02:00:00Z");
	span_is(&sp[1], "2026-12-13T22:00:00Z", "2026-12-14T02:00:00Z");
	/* A wrapping range: sat-mon. */
	spans("sat-mon 10:00 1h UTC", "2026-12-04T00:00:00Z",
	    "2026-12-11T00:00:00Z", sp, 3);
	span_is(&sp[0], "2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z");
	span_is(&sp[2], "2026-12-07T10:00:00Z", "2026-12-07T11:00:00Z");
	/* Overlapping windows merge: daily 20:00 for 26 hours is always
	 * open over two days. */
	spans("daily 20:00 26h UTC", "2026-12-02T00:00:00Z",
	    "2026-12-04T00:00:00Z", sp, 1);
	span_is(&sp[0], "2026-12-01T20:00:00Z", "2026-12-04T22:00:00Z");
	/* A whole week every Monday: never closes. */
	spans("mon 00:00 168h UTC", "2026-12-02T00:00:00Z",
	    "2026-12-20T00:00:00Z", sp, 1);
}
END_TEST

START_TEST(test_intersect_state)
{
	struct mwindow_span a[MWINDOW_SPANS_MAX], b[MWINDOW_SPANS_MAX];
	struct mwindow_span x[MWINDOW_SPANS_MAX];
	struct mwindow_set s;
	int open, n;
	int64_t next;

	/* Nights in Berlin and early mornings in UTC: 2026-12 is CET. */
	spans("daily 22:00 8h Europe/Berlin", "2026-12-01T00:00:00Z",
	    "2026-12-03T00:00:00Z", a, 3);
	spans("daily 04:00 4h UTC", "2026-12-01T00:00:00Z",
	    "2026-12-03T00:00:00Z", b, 2);
	n = mwindow_intersect(a, 3, b, 2, x, MWINDOW_SPANS_MAX);
	ck_assert_int_eq(n, 2);
	/* Berlin 22:00-06:00 CET is 21:00Z-05:00Z: with 04:00-08:00Z,
	 * 04:00-05:00Z each day. */
	span_is(&x[0], "2026-12-01T04:00:00Z", "2026-12-01T05:00:00Z");
	span_is(&x[1], "2026-12-02T04:00:00Z", "2026-12-02T05:00:00Z");
	mwindow_state(x, 2, T("2026-12-01T12:00:00Z"), &open, &next);
	ck_assert_int_eq(open, 0);
	ck_assert_int_eq(next, T("2026-12-02T04:00:00Z"));
	mwindow_state(x, 2, T("2026-12-01T04:30:00Z"), &open, &next);
	ck_assert_int_eq(open, 1);
	ck_assert_int_eq(next, T("2026-12-01T05:00:00Z"));
	/* Disjoint: nothing. */
	ck_assert_int_eq(mwindow_intersect(a, 0, b, 2, x, 4), 0);
	/* Touching spans of the result are merged. */
	{
		struct mwindow_span p[2] = {{0, 10}, {10, 20}};
		struct mwindow_span q[1] = {{5, 15}};

		ck_assert_int_eq(mwindow_intersect(p, 2, q, 1, x, 4), 1);
		ck_assert_int_eq(x[0].open, 5);
		ck_assert_int_eq(x[0].close, 15);
		ck_assert_int_eq(
		    mwindow_intersect(p, 2, q, 1, x, 0), OTA_ETOOBIG);
	}
	/* bounds */
	ck_assert_int_eq(mwindow_parse("", &s, NULL, 0), 0);
	ck_assert_int_eq(mwindow_spans(&s, 0, 10, a, 4), 0);
	ck_assert_int_eq(mwindow_spans(&s, 10, 10, a, 4), OTA_EINVAL);
	ck_assert_int_eq(mwindow_spans(&s, 0, 40 * 86400, a, 4), OTA_EINVAL);
	ck_assert_int_eq(mwindow_parse("daily 01:00 1h UTC", &s, NULL, 0), 0);
	ck_assert_int_eq(mwindow_spans(&s, 0, 10 * 86400, a, 4), OTA_ETOOBIG);
	mwindow_state(NULL, 0, 5, &open, &next);
	ck_assert_int_eq(open, 0);
	ck_assert_int_eq(next, 0);
}
END_TEST

static Suite *
mwindow_suite(void)
{
	Suite *s = suite_create("mwindow");
	TCase *tc = tcase_create("mwindow_parse");

	tcase_add_test(tc, test_parse_forms);
	tcase_add_test(tc, test_parse_refused);
	tcase_add_test(tc, test_parse_longest);
	suite_add_tcase(s, tc);
	tc = tcase_create("mwindow_spans");
	tcase_add_test(tc, test_berlin_dst);
	tcase_add_test(tc, test_new_york_dst);
	tcase_add_test(tc, test_midnight_and_week);
	suite_add_tcase(s, tc);
	tc = tcase_create("mwindow_intersect");
	tcase_add_test(tc, test_intersect_state);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(mwindow_suite());
}
