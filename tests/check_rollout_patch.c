/*
 * check_rollout_patch: editing a rollout's policy as tests.  Which states
 * allow it, that a patch replaces exactly the fields it names, that the
 * merged policy is judged whole (a field valid alone may be refused beside
 * another), the audit text of each change and of none, and that a refused
 * patch writes nothing.
 */
#include <check.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "rollout_patch.h"
#include "testutil.h"

/* The stuck-device policy's defaults (rollout_stuck_defaults). */
#define STUCK_DEFAULTS                                                         \
	{                                                                      \
		0, 0, ROLLOUT_RETRY_BACKOFF_DEFAULT_SEC,                       \
		    ROLLOUT_OUTCOMES_DEFAULT, 0, ROLLOUT_BREACH_PAUSE, 0, 0,   \
		    0, 0, 0                                                    \
	}

/* The defaults of a new rollout. */
static const struct rollout_policy base = {0.05, 10, 0, ROLLOUT_GATE_SIMPLE,
    0.95, "", "", "", "", ROLLOUT_OUTSIDE_NOTIFY, ROLLOUT_ACTION_FORCED, "",
    STUCK_DEFAULTS};

START_TEST(test_allowed)
{
	ck_assert_int_eq(rollout_patch_allowed(ROLLOUT_DRAFT), 1);
	ck_assert_int_eq(rollout_patch_allowed(ROLLOUT_PAUSED), 1);
	ck_assert_int_eq(rollout_patch_allowed(ROLLOUT_RUNNING), 0);
	ck_assert_int_eq(rollout_patch_allowed(ROLLOUT_COMPLETED), 0);
	ck_assert_int_eq(rollout_patch_allowed(ROLLOUT_ABORTED), 0);
	ck_assert_int_eq(rollout_patch_allowed((enum rollout_state)42), 0);
}
END_TEST

START_TEST(test_merge_named_fields_only)
{
	struct rollout_patch p = {ROLLOUT_PATCH_MIN_REPORTS,
	    /* values of fields not named must be ignored */
	    {0.9, 40, 999, ROLLOUT_GATE_WILSON, 0.5, "~bad", "", "", "", 0, 0,
	        "", STUCK_DEFAULTS}};
	struct rollout_policy out;
	char ch[257], err[256];

	ck_assert_int_eq(rollout_patch_apply(
	                     &base, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_uint_eq(out.min_reports, 40);
	ck_assert(out.failure_threshold == 0.05);
	ck_assert_int_eq(out.advance_after_sec, 0);
	ck_assert_int_eq(out.gate, ROLLOUT_GATE_SIMPLE);
	ck_assert(out.gate_confidence == 0.95);
	ck_assert_str_eq(out.from_version, "");
	ck_assert_str_eq(ch, "min_reports 10 -> 40");
}
END_TEST

START_TEST(test_changes_text_all_fields)
{
	struct rollout_patch p = {ROLLOUT_PATCH_ALL,
	    {0.125, 20, 3600, ROLLOUT_GATE_WILSON, 0.99, " >=1.2.0  <1.4.0", "",
	        "", "", 0, 0, "", STUCK_DEFAULTS}};
	struct rollout_policy out;
	char ch[257], err[256];

	ck_assert_int_eq(rollout_patch_apply(
	                     &base, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(ch,
	    "failure_threshold 5.0% -> 12.5%; min_reports 10 -> 20; "
	    "advance_after 0 -> 3600; gate simple -> wilson; "
	    "confidence 95.0% -> 99.0%; "
	    "from_version \"\" -> \">=1.2.0 <1.4.0\"");
	/* kept in its canonical text */
	ck_assert_str_eq(out.from_version, ">=1.2.0 <1.4.0");
	ck_assert_int_eq(out.gate, ROLLOUT_GATE_WILSON);
	ck_assert_int_eq(out.advance_after_sec, 3600);
}
END_TEST

START_TEST(test_selector)
{
	struct rollout_patch p = {ROLLOUT_PATCH_SELECTOR,
	    {0, 0, 0, 0, 0, "", "", " region = eu , model in ( a,b ), !beta",
	        "", 0, 0, "", STUCK_DEFAULTS}};
	struct rollout_policy out, cur = base;
	char ch[257], err[256];

	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	/* kept canonical, audited, nothing else changed */
	ck_assert_str_eq(out.selector, "region=eu,model in (a,b),!beta");
	ck_assert_str_eq(
	    ch, "selector \"\" -> \"region=eu,model in (a,b),!beta\"");
	ck_assert(out.failure_threshold == base.failure_threshold);
	/* "" clears it */
	cur = out;
	p.v.selector[0] = '\0';
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(out.selector, "");
	/* refused whole, with the parser's reason */
	strcpy(p.v.selector, "region=");
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_int_eq(strncmp(err, "selector: ", 10), 0);
	memset(p.v.selector, 'a', sizeof(p.v.selector));
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "selector: too long");
}
END_TEST

START_TEST(test_no_change)
{
	/* Every named field given its current value. */
	struct rollout_patch p = {ROLLOUT_PATCH_THRESHOLD | ROLLOUT_PATCH_GATE |
	                              ROLLOUT_PATCH_CONFIDENCE |
	                              ROLLOUT_PATCH_FROM_VERSION,
	    {0.05, 0, 0, ROLLOUT_GATE_SIMPLE, 0.95, "  ", "", "", "", 0, 0, "",
	        STUCK_DEFAULTS}};
	struct rollout_policy out;
	char ch[257] = "stale", err[256];

	ck_assert_int_eq(rollout_patch_apply(
	                     &base, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(ch, "");
}
END_TEST

/* Refused: err names the field, out and changes untouched. */
static void
refused(const struct rollout_policy *cur, const struct rollout_patch *p,
    const char *want_err)
{
	struct rollout_policy out;
	char ch[257] = "untouched", err[512];

	memset(&out, 0xa5, sizeof(out));
	ck_assert_int_eq(
	    rollout_patch_apply(cur, p, &out, ch, sizeof(ch), err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, want_err);
	ck_assert_str_eq(ch, "untouched");
	ck_assert_uint_eq(((unsigned char *)&out)[0], 0xa5);
}

START_TEST(test_judged_whole)
{
	struct rollout_policy at_one = base;
	struct rollout_patch wilson = {
	    ROLLOUT_PATCH_GATE, {0, 0, 0, ROLLOUT_GATE_WILSON, 0, "", "", "",
	                            "", 0, 0, "", STUCK_DEFAULTS}};
	struct rollout_patch one = {ROLLOUT_PATCH_THRESHOLD,
	    {1.0, 0, 0, 0, 0, "", "", "", "", 0, 0, "", STUCK_DEFAULTS}};
	struct rollout_policy w = base;

	/* A threshold of 1 is fine with the simple gate, and the wilson
	 * gate is fine at 0.05; together they are not, from either side. */
	at_one.failure_threshold = 1.0;
	refused(&at_one, &wilson,
	    "failure_threshold: must be below 1 with the wilson gate (no "
	    "failure rate is above 100%)");
	w.gate = ROLLOUT_GATE_WILSON;
	refused(&w, &one,
	    "failure_threshold: must be below 1 with the wilson gate (no "
	    "failure rate is above 100%)");
}
END_TEST

START_TEST(test_refused_values)
{
	struct rollout_patch p;

	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_THRESHOLD;
	refused(&base, &p, "failure_threshold: must be > 0 and <= 1");
	p.fields = ROLLOUT_PATCH_MIN_REPORTS;
	refused(&base, &p, "min_reports: must be 1..1000000");
	p.fields = ROLLOUT_PATCH_ADVANCE_AFTER;
	p.v.advance_after_sec = 59;
	refused(
	    &base, &p, "advance_after: must be 0 (off) or 60..2592000 seconds");
	p.fields = ROLLOUT_PATCH_CONFIDENCE;
	p.v.gate_confidence = 0.99995;
	refused(&base, &p,
	    "confidence: must be 0.5..0.9999 with at most four decimals");
	/* one bad field refuses the good ones beside it */
	p.fields = ROLLOUT_PATCH_MIN_REPORTS | ROLLOUT_PATCH_CONFIDENCE;
	p.v.min_reports = 7;
	refused(&base, &p,
	    "confidence: must be 0.5..0.9999 with at most four decimals");
	p.fields = ROLLOUT_PATCH_FROM_VERSION;
	strcpy(p.v.from_version, ">=2.0.0 <1.0.0");
	refused(&base, &p,
	    "from_version: '>=2.0.0' and '<1.0.0' exclude each other: no "
	    "version matches");
	memset(p.v.from_version, '1', sizeof(p.v.from_version));
	refused(&base, &p, "from_version: too long");
	p.fields = ROLLOUT_PATCH_START_AT;
	strcpy(p.v.start_at, "2026-12-24T02:00:00+01:00");
	refused(&base, &p, "start_at: must be YYYY-MM-DDTHH:MM:SSZ or \"\"");
}
END_TEST

START_TEST(test_start_at)
{
	struct rollout_patch p;
	struct rollout_policy out, cur = base;
	char ch[257], err[256];

	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_START_AT;
	strcpy(p.v.start_at, "2026-12-24T02:00:00Z");
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(out.start_at, "2026-12-24T02:00:00Z");
	ck_assert_str_eq(ch, "start_at none -> 2026-12-24T02:00:00Z");
	cur = out;
	p.v.start_at[0] = '\0';
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(ch, "start_at 2026-12-24T02:00:00Z -> none");
	/* only a draft's start is scheduled; clearing is always fine */
	strcpy(p.v.start_at, "2026-12-24T02:00:00Z");
	ck_assert_int_eq(
	    rollout_patch_check_state(ROLLOUT_DRAFT, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    rollout_patch_check_state(ROLLOUT_PAUSED, &p, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "start_at: only a draft's start is scheduled "
	                      "(this rollout is paused)");
	p.v.start_at[0] = '\0';
	ck_assert_int_eq(
	    rollout_patch_check_state(ROLLOUT_PAUSED, &p, err, sizeof(err)), 0);
	p.fields = ROLLOUT_PATCH_MIN_REPORTS;
	strcpy(p.v.start_at, "2026-12-24T02:00:00Z");
	ck_assert_int_eq(
	    rollout_patch_check_state(ROLLOUT_PAUSED, &p, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_refused_shapes)
{
	static const char nothing[] =
	    "nothing to change: give at least one of failure_threshold, "
	    "min_reports, advance_after, gate, confidence, from_version, "
	    "start_at, selector, maintenance_windows, outside_window, "
	    "action_type, forced_at, device_timeout, max_retries, "
	    "retry_backoff, abort_on, ignore_results, breach_action, "
	    "max_offers_per_minute, rate_ramp_minutes, rate_ramp_max, "
	    "require_consent, consent_retry";
	struct rollout_patch p = {0, {0.1, 5, 0, ROLLOUT_GATE_SIMPLE, 0.95, "",
	                                 "", "", "", 0, 0, "", STUCK_DEFAULTS}};
	struct rollout_policy out;
	char ch[8];

	refused(&base, &p, nothing);
	p.fields = ROLLOUT_PATCH_ALL + 1; /* an unknown bit */
	refused(&base, &p, nothing);
	p.fields = ROLLOUT_PATCH_MIN_REPORTS;
	ck_assert_int_eq(
	    rollout_patch_apply(NULL, &p, &out, ch, sizeof(ch), NULL, 0),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_patch_apply(&base, NULL, &out, ch, sizeof(ch), NULL, 0),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_patch_apply(&base, &p, NULL, ch, sizeof(ch), NULL, 0),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_patch_apply(&base, &p, &out, ch, 0, NULL, 0), OTA_EINVAL);
}
END_TEST

START_TEST(test_changes_truncated)
{
	struct rollout_patch p = {
	    ROLLOUT_PATCH_ALL, {0.125, 20, 3600, ROLLOUT_GATE_WILSON, 0.99, "",
	                           "", "", "", 0, 0, "", STUCK_DEFAULTS}};
	struct rollout_policy out;
	char ch[30], err[256];

	ck_assert_int_eq(rollout_patch_apply(
	                     &base, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_uint_eq(strlen(ch), sizeof(ch) - 1);
	ck_assert_int_eq(
	    strncmp(ch, "failure_threshold 5.0% -> 12.5%", sizeof(ch) - 1), 0);
}
END_TEST

/* The when-and-how-hard fields: canonical windows, the rules of
 * forced_at, the audit text. */
START_TEST(test_when)
{
	struct rollout_patch p;
	struct rollout_policy out, cur = base;
	char ch[512], err[256];

	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_WINDOWS | ROLLOUT_PATCH_OUTSIDE;
	snprintf(p.v.windows, sizeof(p.v.windows),
	    " sat,SUN 02:00 90m Europe/Berlin ");
	p.v.outside_window = ROLLOUT_OUTSIDE_SILENT;
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(out.windows, "sat,sun 02:00 1h30m Europe/Berlin");
	ck_assert_str_eq(ch,
	    "maintenance_windows \"\" -> \"sat,sun 02:00 1h30m "
	    "Europe/Berlin\"; outside_window notify -> silent");
	/* time-forced needs forced_at; other types refuse one */
	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_ACTION_TYPE;
	p.v.action_type = ROLLOUT_ACTION_TIME_FORCED;
	refused(&cur, &p,
	    "forced_at: required for action_type time-forced (when the soft "
	    "update becomes forced)");
	p.fields |= ROLLOUT_PATCH_FORCED_AT;
	snprintf(p.v.forced_at, sizeof(p.v.forced_at), "2099-01-01T00:00:00Z");
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(ch,
	    "action_type forced -> time-forced; forced_at none -> "
	    "2099-01-01T00:00:00Z");
	cur = out;
	p.fields = ROLLOUT_PATCH_ACTION_TYPE;
	p.v.action_type = ROLLOUT_ACTION_SOFT;
	refused(&cur, &p,
	    "forced_at: only for action_type time-forced (this rollout is "
	    "soft)");
	p.fields |= ROLLOUT_PATCH_FORCED_AT;
	p.v.forced_at[0] = '\0';
	ck_assert_int_eq(rollout_patch_apply(
	                     &cur, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_int_eq(out.action_type, ROLLOUT_ACTION_SOFT);
	/* a bad window names it */
	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_WINDOWS;
	snprintf(p.v.windows, sizeof(p.v.windows), "mon 01:00 1h Nowhere/X");
	refused(&cur, &p,
	    "maintenance_windows: window 1: unknown time zone 'Nowhere/X' "
	    "(want an IANA id such as Europe/Berlin)");
	p.fields = ROLLOUT_PATCH_FORCED_AT;
	snprintf(p.v.forced_at, sizeof(p.v.forced_at), "tomorrow");
	refused(&cur, &p, "forced_at: must be YYYY-MM-DDTHH:MM:SSZ or \"\"");
}
END_TEST

/* The stuck-device fields: merged, judged, audited in enum order. */
START_TEST(test_stuck_fields)
{
	struct rollout_patch p;
	struct rollout_policy out;
	char ch[257], err[256];

	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_DEVICE_TIMEOUT | ROLLOUT_PATCH_MAX_RETRIES |
	           ROLLOUT_PATCH_ABORT_ON | ROLLOUT_PATCH_IGNORE_RESULTS |
	           ROLLOUT_PATCH_BREACH_ACTION;
	p.v.stuck.device_timeout_sec = 3600;
	p.v.stuck.max_retries = 2;
	p.v.stuck.retry_backoff_sec = 1; /* not named: ignored */
	p.v.stuck.abort_on = 1u << ROLLOUT_OUTCOME_FAILED;
	p.v.stuck.ignore_results = (1u << 4) | (1u << 9);
	p.v.stuck.breach_action = ROLLOUT_BREACH_ABORT;
	ck_assert_int_eq(rollout_patch_apply(
	                     &base, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(ch,
	    "device_timeout 0 -> 3600; max_retries 0 -> 2; abort_on "
	    "\"failed,timed_out,reverted\" -> \"failed\"; ignore_results "
	    "\"\" -> \"4,9\"; breach_action pause -> abort");
	ck_assert_int_eq(out.stuck.retry_backoff_sec, 300);
	ck_assert_int_eq(out.stuck.breach_action, ROLLOUT_BREACH_ABORT);
	/* Judged as a whole: a bad value refuses the patch. */
	p.fields = ROLLOUT_PATCH_RETRY_BACKOFF;
	p.v.stuck.retry_backoff_sec = 8 * 24 * 3600;
	refused(&base, &p, "retry_backoff: must be 0..604800 seconds");
	p.fields = ROLLOUT_PATCH_DEVICE_TIMEOUT;
	p.v.stuck.device_timeout_sec = 30;
	refused(&base, &p,
	    "device_timeout: must be 0 (none) or 60..2592000 seconds");
}
END_TEST

/* Consent: require_consent and consent_retry, judged together. */
START_TEST(test_consent_fields)
{
	struct rollout_patch p;
	struct rollout_policy out, on;
	char ch[257], err[256];

	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_CONSENT_RETRY;
	p.v.stuck.consent_retry_sec = 300;
	refused(&base, &p,
	    "consent_retry: only with require_consent (this rollout does not "
	    "ask for consent)");
	p.fields |= ROLLOUT_PATCH_REQUIRE_CONSENT;
	p.v.stuck.require_consent = 1;
	ck_assert_int_eq(rollout_patch_apply(
	                     &base, &p, &on, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(
	    ch, "require_consent false -> true; consent_retry 0 -> 300");
	ck_assert_int_eq(on.stuck.require_consent, 1);
	ck_assert_int_eq(on.stuck.consent_retry_sec, 300);
	/* Turning consent off keeps a re-ask wait it would not use: refused
	 * until the wait goes too. */
	p.fields = ROLLOUT_PATCH_REQUIRE_CONSENT;
	p.v.stuck.require_consent = 0;
	refused(&on, &p,
	    "consent_retry: only with require_consent (this rollout does not "
	    "ask for consent)");
	p.fields |= ROLLOUT_PATCH_CONSENT_RETRY;
	p.v.stuck.consent_retry_sec = 0;
	ck_assert_int_eq(rollout_patch_apply(
	                     &on, &p, &out, ch, sizeof(ch), err, sizeof(err)),
	    0);
	ck_assert_str_eq(
	    ch, "require_consent true -> false; consent_retry 300 -> 0");
}
END_TEST

static Suite *
rollout_patch_suite(void)
{
	Suite *s = suite_create("rollout_patch");
	TCase *tc = tcase_create("rollout_patch_allowed");

	tcase_add_test(tc, test_allowed);
	suite_add_tcase(s, tc);
	tc = tcase_create("rollout_patch_apply");
	tcase_add_test(tc, test_merge_named_fields_only);
	tcase_add_test(tc, test_changes_text_all_fields);
	tcase_add_test(tc, test_when);
	tcase_add_test(tc, test_no_change);
	tcase_add_test(tc, test_selector);
	tcase_add_test(tc, test_judged_whole);
	tcase_add_test(tc, test_refused_values);
	tcase_add_test(tc, test_refused_shapes);
	tcase_add_test(tc, test_changes_truncated);
	tcase_add_test(tc, test_start_at);
	tcase_add_test(tc, test_stuck_fields);
	tcase_add_test(tc, test_consent_fields);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(rollout_patch_suite());
}
