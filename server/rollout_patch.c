/*
 * rollout_patch: merging and judging a policy edit.  The bounds are
 * rollout.c's (rollout_policy_check, rollout_gate_check): this file only
 * decides what is edited and says what changed.
 */
#include "rollout_patch.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "timeutil.h"

int
rollout_patch_allowed(enum rollout_state s)
{
	return s == ROLLOUT_DRAFT || s == ROLLOUT_PAUSED;
}

int
rollout_patch_check_state(enum rollout_state s, const struct rollout_patch *p,
    char *err, size_t errlen)
{
	if (p != NULL && (p->fields & ROLLOUT_PATCH_START_AT) &&
	    p->v.start_at[0] != '\0' && s != ROLLOUT_DRAFT) {
		ota_errf(err, errlen,
		    "start_at: only a draft's start is scheduled (this "
		    "rollout is %s)",
		    rollout_state_name(s) != NULL ? rollout_state_name(s)
		                                  : "?");
		return OTA_EINVAL;
	}
	return 0;
}

/* 1 when two fractions differ in their millionths (what the rules keep). */
static int
fraction_differs(double a, double b)
{
	return llround(a * 1e6) != llround(b * 1e6);
}

/* Appends "; " (unless first) and the text of one change to out[len]. */
static void
change_add(
    char *out, size_t len, const char *name, const char *from, const char *to)
{
	size_t used = strlen(out);

	if (used + 1 >= len)
		return;
	snprintf(out + used, len - used, "%s%s %s -> %s", used > 0 ? "; " : "",
	    name, from, to);
}

/* Appends the change of a fraction field shown as a percentage. */
static void
change_pct(char *out, size_t len, const char *name, double from, double to)
{
	char a[24], b[24];

	if (!fraction_differs(from, to))
		return;
	rollout_percent_text(from, a, sizeof(a) - 1);
	rollout_percent_text(to, b, sizeof(b) - 1);
	strcat(a, "%");
	strcat(b, "%");
	change_add(out, len, name, a, b);
}

/* Appends the change of a text field, each side quoted. */
static void
change_text(
    char *out, size_t len, const char *name, const char *from, const char *to)
{
	char a[SELECTOR_TEXT_MAX + MWINDOW_TEXT_MAX], b[sizeof(a)];

	snprintf(a, sizeof(a), "\"%s\"", from);
	snprintf(b, sizeof(b), "\"%s\"", to);
	change_add(out, len, name, a, b);
}

/* Appends the change of an integer field. */
static void
change_int(char *out, size_t len, const char *name, int64_t from, int64_t to)
{
	char a[24], b[24];

	if (from == to)
		return;
	snprintf(a, sizeof(a), "%" PRId64, from);
	snprintf(b, sizeof(b), "%" PRId64, to);
	change_add(out, len, name, a, b);
}

/* The audit text of the when-and-how-hard fields of cur -> next. */
static void
changes_when(const struct rollout_policy *cur,
    const struct rollout_policy *next, char *out, size_t len)
{
	if (strcmp(cur->windows, next->windows) != 0)
		change_text(out, len, "maintenance_windows", cur->windows,
		    next->windows);
	if (cur->outside_window != next->outside_window)
		change_add(out, len, "outside_window",
		    rollout_outside_name(cur->outside_window),
		    rollout_outside_name(next->outside_window));
	if (cur->action_type != next->action_type)
		change_add(out, len, "action_type",
		    rollout_action_type_name(cur->action_type),
		    rollout_action_type_name(next->action_type));
	if (strcmp(cur->forced_at, next->forced_at) != 0)
		change_add(out, len, "forced_at",
		    cur->forced_at[0] != '\0' ? cur->forced_at : "none",
		    next->forced_at[0] != '\0' ? next->forced_at : "none");
}

/* Appends the change of a set field shown as its text, quoted. */
static void
change_set(char *out, size_t len, const char *name, unsigned from, unsigned to,
    void (*fmt)(uint32_t set, char *out, size_t len))
{
	char a[ROLLOUT_OUTCOMES_TEXT_MAX], b[ROLLOUT_OUTCOMES_TEXT_MAX];

	if (from == to)
		return;
	fmt(from, a, sizeof(a));
	fmt(to, b, sizeof(b));
	change_text(out, len, name, a, b);
}

/* rollout_outcomes_format in change_set's shape. */
static void
outcomes_text(uint32_t set, char *out, size_t len)
{
	rollout_outcomes_format(set, out, len);
}

/* The audit text of the stuck-device policy's changes, appended. */
static void
changes_stuck(const struct rollout_stuck_policy *cur,
    const struct rollout_stuck_policy *next, char *out, size_t len)
{
	change_int(out, len, "device_timeout", cur->device_timeout_sec,
	    next->device_timeout_sec);
	change_int(
	    out, len, "max_retries", cur->max_retries, next->max_retries);
	change_int(out, len, "retry_backoff", cur->retry_backoff_sec,
	    next->retry_backoff_sec);
	change_set(
	    out, len, "abort_on", cur->abort_on, next->abort_on, outcomes_text);
	change_set(out, len, "ignore_results", cur->ignore_results,
	    next->ignore_results, rollout_results_format);
	if (cur->breach_action != next->breach_action)
		change_add(out, len, "breach_action",
		    rollout_breach_action_name(cur->breach_action),
		    rollout_breach_action_name(next->breach_action));
	change_int(out, len, "max_offers_per_minute",
	    cur->max_offers_per_minute, next->max_offers_per_minute);
	change_int(out, len, "rate_ramp_minutes", cur->rate_ramp_min,
	    next->rate_ramp_min);
	change_int(
	    out, len, "rate_ramp_max", cur->rate_ramp_max, next->rate_ramp_max);
	if (cur->require_consent != next->require_consent)
		change_add(out, len, "require_consent",
		    cur->require_consent ? "true" : "false",
		    next->require_consent ? "true" : "false");
	change_int(out, len, "consent_retry", cur->consent_retry_sec,
	    next->consent_retry_sec);
}

/* The patched stuck-device fields of p into m, checked as a whole.  0 or
 * OTA_EINVAL (reason in err). */
static int
patch_stuck(const struct rollout_patch *p, struct rollout_policy *m, char *err,
    size_t errlen)
{
	const struct rollout_stuck_policy *v = &p->v.stuck;
	struct rollout_stuck_policy *o = &m->stuck;

	if (p->fields & ROLLOUT_PATCH_DEVICE_TIMEOUT)
		o->device_timeout_sec = v->device_timeout_sec;
	if (p->fields & ROLLOUT_PATCH_MAX_RETRIES)
		o->max_retries = v->max_retries;
	if (p->fields & ROLLOUT_PATCH_RETRY_BACKOFF)
		o->retry_backoff_sec = v->retry_backoff_sec;
	if (p->fields & ROLLOUT_PATCH_ABORT_ON)
		o->abort_on = v->abort_on;
	if (p->fields & ROLLOUT_PATCH_IGNORE_RESULTS)
		o->ignore_results = v->ignore_results;
	if (p->fields & ROLLOUT_PATCH_BREACH_ACTION)
		o->breach_action = v->breach_action;
	if (p->fields & ROLLOUT_PATCH_MAX_OFFERS)
		o->max_offers_per_minute = v->max_offers_per_minute;
	if (p->fields & ROLLOUT_PATCH_RATE_RAMP_MIN)
		o->rate_ramp_min = v->rate_ramp_min;
	if (p->fields & ROLLOUT_PATCH_RATE_RAMP_MAX)
		o->rate_ramp_max = v->rate_ramp_max;
	if (p->fields & ROLLOUT_PATCH_REQUIRE_CONSENT)
		o->require_consent = v->require_consent;
	if (p->fields & ROLLOUT_PATCH_CONSENT_RETRY)
		o->consent_retry_sec = v->consent_retry_sec;
	return rollout_stuck_check(o, err, errlen);
}

/* The audit text of cur -> next into out[len] ("" when equal). */
static void
changes_text(const struct rollout_policy *cur,
    const struct rollout_policy *next, char *out, size_t len)
{
	out[0] = '\0';
	change_pct(out, len, "failure_threshold", cur->failure_threshold,
	    next->failure_threshold);
	change_int(out, len, "min_reports", (int64_t)cur->min_reports,
	    (int64_t)next->min_reports);
	change_int(out, len, "advance_after", cur->advance_after_sec,
	    next->advance_after_sec);
	if (cur->gate != next->gate)
		change_add(out, len, "gate", rollout_gate_name(cur->gate),
		    rollout_gate_name(next->gate));
	change_pct(out, len, "confidence", cur->gate_confidence,
	    next->gate_confidence);
	if (strcmp(cur->from_version, next->from_version) != 0)
		change_text(out, len, "from_version", cur->from_version,
		    next->from_version);
	if (strcmp(cur->start_at, next->start_at) != 0)
		change_add(out, len, "start_at",
		    cur->start_at[0] != '\0' ? cur->start_at : "none",
		    next->start_at[0] != '\0' ? next->start_at : "none");
	if (strcmp(cur->selector, next->selector) != 0)
		change_text(
		    out, len, "selector", cur->selector, next->selector);
	changes_when(cur, next, out, len);
	changes_stuck(&cur->stuck, &next->stuck, out, len);
}

/* The patched targeting texts of p into m, canonical: 0 or OTA_EINVAL
 * (reason in err). */
static int
patch_targeting(const struct rollout_patch *p, struct rollout_policy *m,
    char *err, size_t errlen)
{
	struct semver_range range;
	struct selector sel;

	if (p->fields & ROLLOUT_PATCH_FROM_VERSION) {
		if (memchr(p->v.from_version, '\0',
		        sizeof(p->v.from_version)) == NULL) {
			ota_errf(err, errlen, "from_version: too long");
			return OTA_EINVAL;
		}
		if (semver_range_parse(
		        p->v.from_version, &range, err, errlen) != 0)
			return OTA_EINVAL;
		semver_range_format(
		    &range, m->from_version, sizeof(m->from_version));
	}
	if (p->fields & ROLLOUT_PATCH_SELECTOR) {
		if (memchr(p->v.selector, '\0', sizeof(p->v.selector)) ==
		    NULL) {
			ota_errf(err, errlen, "selector: too long");
			return OTA_EINVAL;
		}
		if (selector_parse(p->v.selector, &sel, err, errlen) != 0)
			return OTA_EINVAL;
		memcpy(m->selector, sel.text, sizeof(m->selector));
	}
	return 0;
}

int
rollout_when_check(const struct rollout_policy *p, char *err, size_t errlen)
{
	if (rollout_outside_name(p->outside_window) == NULL) {
		ota_errf(err, errlen,
		    "outside_window: must be \"notify\" or \"silent\"");
		return OTA_EINVAL;
	}
	if (rollout_action_type_name(p->action_type) == NULL) {
		ota_errf(err, errlen,
		    "action_type: must be \"forced\", \"soft\", "
		    "\"time-forced\" or \"download-only\"");
		return OTA_EINVAL;
	}
	if (memchr(p->forced_at, '\0', sizeof(p->forced_at)) == NULL ||
	    (p->forced_at[0] != '\0' && !timeutil_is_canonical(p->forced_at))) {
		ota_errf(err, errlen,
		    "forced_at: must be YYYY-MM-DDTHH:MM:SSZ or \"\"");
		return OTA_EINVAL;
	}
	if (p->action_type == ROLLOUT_ACTION_TIME_FORCED &&
	    p->forced_at[0] == '\0') {
		ota_errf(err, errlen,
		    "forced_at: required for action_type time-forced (when "
		    "the soft update becomes forced)");
		return OTA_EINVAL;
	}
	if (p->action_type != ROLLOUT_ACTION_TIME_FORCED &&
	    p->forced_at[0] != '\0') {
		ota_errf(err, errlen,
		    "forced_at: only for action_type time-forced (this "
		    "rollout is %s)",
		    rollout_action_type_name(p->action_type));
		return OTA_EINVAL;
	}
	return 0;
}

/* The patched when-and-how-hard fields of p into m (windows canonical),
 * then the rules of the merged policy.  0 or OTA_EINVAL. */
static int
patch_when(const struct rollout_patch *p, struct rollout_policy *m, char *err,
    size_t errlen)
{
	struct mwindow_set set;

	if (p->fields & ROLLOUT_PATCH_WINDOWS) {
		if (memchr(p->v.windows, '\0', sizeof(p->v.windows)) == NULL) {
			ota_errf(err, errlen, "maintenance_windows: too long");
			return OTA_EINVAL;
		}
		if (mwindow_parse(p->v.windows, &set, err, errlen) != 0)
			return OTA_EINVAL;
		memcpy(m->windows, set.text, sizeof(m->windows));
	}
	if (p->fields & ROLLOUT_PATCH_OUTSIDE)
		m->outside_window = p->v.outside_window;
	if (p->fields & ROLLOUT_PATCH_ACTION_TYPE)
		m->action_type = p->v.action_type;
	if (p->fields & ROLLOUT_PATCH_FORCED_AT) {
		if (memchr(p->v.forced_at, '\0', sizeof(p->v.forced_at)) ==
		    NULL)
			return rollout_when_check(&p->v, err, errlen);
		memcpy(m->forced_at, p->v.forced_at, sizeof(m->forced_at));
	}
	return rollout_when_check(m, err, errlen);
}

int
rollout_patch_apply(const struct rollout_policy *cur,
    const struct rollout_patch *p, struct rollout_policy *out, char *changes,
    size_t changes_len, char *err, size_t errlen)
{
	struct rollout_policy m;
	int rc;

	if (cur == NULL || p == NULL || out == NULL || changes == NULL ||
	    changes_len == 0 || p->fields == 0 ||
	    (p->fields & ~ROLLOUT_PATCH_ALL) != 0) {
		ota_errf(err, errlen,
		    "nothing to change: give at least one of "
		    "failure_threshold, min_reports, advance_after, gate, "
		    "confidence, from_version, start_at, selector, "
		    "maintenance_windows, outside_window, action_type, "
		    "forced_at, device_timeout, max_retries, retry_backoff, "
		    "abort_on, ignore_results, breach_action, "
		    "max_offers_per_minute, rate_ramp_minutes, rate_ramp_max, "
		    "require_consent, consent_retry");
		return OTA_EINVAL;
	}
	m = *cur;
	if (p->fields & ROLLOUT_PATCH_THRESHOLD)
		m.failure_threshold = p->v.failure_threshold;
	if (p->fields & ROLLOUT_PATCH_MIN_REPORTS)
		m.min_reports = p->v.min_reports;
	if (p->fields & ROLLOUT_PATCH_ADVANCE_AFTER)
		m.advance_after_sec = p->v.advance_after_sec;
	if (p->fields & ROLLOUT_PATCH_GATE)
		m.gate = p->v.gate;
	if (p->fields & ROLLOUT_PATCH_CONFIDENCE)
		m.gate_confidence = p->v.gate_confidence;
	if (rollout_policy_check(m.failure_threshold, m.min_reports,
	        m.advance_after_sec, err, errlen) != 0 ||
	    rollout_gate_check(m.gate, m.failure_threshold, m.gate_confidence,
	        err, errlen) != 0)
		return OTA_EINVAL;
	if (patch_targeting(p, &m, err, errlen) != 0 ||
	    patch_stuck(p, &m, err, errlen) != 0)
		return OTA_EINVAL;
	if (p->fields & ROLLOUT_PATCH_START_AT) {
		if (memchr(p->v.start_at, '\0', sizeof(p->v.start_at)) ==
		        NULL ||
		    (p->v.start_at[0] != '\0' &&
		        !timeutil_is_canonical(p->v.start_at))) {
			ota_errf(err, errlen,
			    "start_at: must be YYYY-MM-DDTHH:MM:SSZ or \"\"");
			return OTA_EINVAL;
		}
		memcpy(m.start_at, p->v.start_at, sizeof(m.start_at));
	}
	if ((rc = patch_when(p, &m, err, errlen)) != 0)
		return rc;
	changes_text(cur, &m, changes, changes_len);
	*out = m;
	return 0;
}
