/*
 * rollout: staged-rollout decisions.  Stages are basis points (1..10000),
 * buckets 0..9999, and a device is in a stage when its bucket is below the
 * stage's basis points, so growing a stage only ever adds devices.
 * Decimal inputs (percentages, thresholds) are converted once, with a
 * tolerance for binary rounding, and every later comparison is on
 * integers.  Pure: no I/O, no mutable globals, no allocation.
 */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "errors.h"
#include "rollout.h"
#include "semver.h"
#include "update_state.h"

/*
 * How far a decimal input may sit from its nearest allowed step (0.01 for
 * a percentage, 0.000001 for a threshold), measured in steps: absorbs the
 * binary rounding of values such as 33.33 while refusing 0.001 or 1.005.
 */
#define ROLLOUT_STEP_TOLERANCE 1e-6
#define ROLLOUT_PPM 1000000 /* threshold denominator */

const double rollout_default_stages_pct[ROLLOUT_DEFAULT_STAGE_COUNT] = {
    1, 5, 25, 100};
const uint16_t rollout_default_stages_bp[ROLLOUT_DEFAULT_STAGE_COUNT] = {
    100, 500, 2500, 10000};

static const char *const rollout_state_names[] = {
    [ROLLOUT_DRAFT] = "draft",
    [ROLLOUT_RUNNING] = "running",
    [ROLLOUT_PAUSED] = "paused",
    [ROLLOUT_COMPLETED] = "completed",
    [ROLLOUT_ABORTED] = "aborted",
};

static const char *const rollout_gate_names[] = {
    [ROLLOUT_GATE_SIMPLE] = "simple",
    [ROLLOUT_GATE_WILSON] = "wilson",
};

static const char *const rollout_outside_names[] = {
    [ROLLOUT_OUTSIDE_NOTIFY] = "notify",
    [ROLLOUT_OUTSIDE_SILENT] = "silent",
};

static const char *const rollout_action_type_names[] = {
    [ROLLOUT_ACTION_FORCED] = "forced",
    [ROLLOUT_ACTION_SOFT] = "soft",
    [ROLLOUT_ACTION_TIME_FORCED] = "time-forced",
    [ROLLOUT_ACTION_DOWNLOAD_ONLY] = "download-only",
};

static const char *const rollout_action_names[] = {
    [ROLLOUT_START] = "start",
    [ROLLOUT_PAUSE] = "pause",
    [ROLLOUT_RESUME] = "resume",
    [ROLLOUT_ADVANCE] = "advance",
    [ROLLOUT_ABORT] = "abort",
};

#define ROLLOUT_NSTATES                                                        \
	(sizeof(rollout_state_names) / sizeof(rollout_state_names[0]))
#define ROLLOUT_NACTIONS                                                       \
	(sizeof(rollout_action_names) / sizeof(rollout_action_names[0]))
#define ROLLOUT_NGATES                                                         \
	(sizeof(rollout_gate_names) / sizeof(rollout_gate_names[0]))

/*
 * Rounds x (0 <= x < 2^63) to the nearest whole number of steps and says
 * whether x was that close to it.  No libm: x is known non-negative.
 */
static int
rollout_to_steps(double x, uint64_t *out)
{
	uint64_t r = (uint64_t)(x + 0.5);
	double diff = x - (double)r;

	if (diff < 0)
		diff = -diff;
	if (diff > ROLLOUT_STEP_TOLERANCE)
		return 0;
	*out = r;
	return 1;
}

const char *
rollout_state_name(enum rollout_state s)
{
	if ((unsigned)s >= ROLLOUT_NSTATES)
		return NULL;
	return rollout_state_names[s];
}

const char *
rollout_action_name(enum rollout_action a)
{
	if ((unsigned)a >= ROLLOUT_NACTIONS)
		return NULL;
	return rollout_action_names[a];
}

/* The index of name among names[0..n) into *out: 0, or OTA_EINVAL for
 * NULL or an unknown name (*out untouched). */
static int
rollout_name_find(
    const char *const *names, size_t n, const char *name, size_t *out)
{
	if (name == NULL)
		return OTA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return OTA_EINVAL;
}

int
rollout_state_parse(const char *name, enum rollout_state *out)
{
	size_t i;

	if (out == NULL || rollout_name_find(rollout_state_names,
	                       ROLLOUT_NSTATES, name, &i) != 0)
		return OTA_EINVAL;
	*out = (enum rollout_state)i;
	return 0;
}

int
rollout_action_parse(const char *name, enum rollout_action *out)
{
	size_t i;

	if (out == NULL || rollout_name_find(rollout_action_names,
	                       ROLLOUT_NACTIONS, name, &i) != 0)
		return OTA_EINVAL;
	*out = (enum rollout_action)i;
	return 0;
}

int
rollout_transition(enum rollout_state from, int stage_index, int stage_count,
    enum rollout_action a, enum rollout_state *out_state, int *out_stage_index)
{
	enum rollout_state to = from;
	int stage = stage_index;

	if ((unsigned)from >= ROLLOUT_NSTATES ||
	    (unsigned)a >= ROLLOUT_NACTIONS || stage_count < 1 ||
	    stage_count > ROLLOUT_MAX_STAGES || stage_index < 0 ||
	    stage_index >= stage_count || out_state == NULL ||
	    out_stage_index == NULL)
		return OTA_EINVAL;

	switch (a) {
	case ROLLOUT_START:
		if (from != ROLLOUT_DRAFT)
			return OTA_ECONFLICT;
		to = ROLLOUT_RUNNING;
		stage = 0;
		break;
	case ROLLOUT_PAUSE:
		if (from != ROLLOUT_RUNNING)
			return OTA_ECONFLICT;
		to = ROLLOUT_PAUSED;
		break;
	case ROLLOUT_RESUME:
		if (from != ROLLOUT_PAUSED)
			return OTA_ECONFLICT;
		to = ROLLOUT_RUNNING;
		break;
	case ROLLOUT_ADVANCE:
		if (from != ROLLOUT_RUNNING && from != ROLLOUT_PAUSED)
			return OTA_ECONFLICT;
		if (stage_index == stage_count - 1)
			to = ROLLOUT_COMPLETED;
		else
			stage = stage_index + 1;
		break;
	case ROLLOUT_ABORT:
		if (from != ROLLOUT_DRAFT && from != ROLLOUT_RUNNING &&
		    from != ROLLOUT_PAUSED)
			return OTA_ECONFLICT;
		to = ROLLOUT_ABORTED;
		break;
	}
	*out_state = to;
	*out_stage_index = stage;
	return 0;
}

int
rollout_decide(enum rollout_state from, int stage_index, int stage_count,
    enum rollout_action a, int expect_stage, struct rollout_change *out)
{
	enum rollout_state to;
	int stage, rc;

	if (out == NULL)
		return OTA_EINVAL;
	if ((rc = rollout_transition(
	         from, stage_index, stage_count, a, &to, &stage)) != 0)
		return rc;
	if (expect_stage >= 0 && stage_index != expect_stage)
		return OTA_ECONFLICT;
	memset(out, 0, sizeof(*out));
	out->from = from;
	out->to = to;
	out->stage_index = stage;
	out->set_started_at = a == ROLLOUT_START;
	out->set_stage_started_at =
	    a == ROLLOUT_START || a == ROLLOUT_RESUME ||
	    (a == ROLLOUT_ADVANCE && to != ROLLOUT_COMPLETED);
	out->set_finished_at = to == ROLLOUT_COMPLETED || to == ROLLOUT_ABORTED;
	if (a == ROLLOUT_PAUSE || a == ROLLOUT_ABORT)
		out->reason = ROLLOUT_REASON_SET;
	else if (a == ROLLOUT_RESUME)
		out->reason = ROLLOUT_REASON_CLEAR;
	else
		out->reason = ROLLOUT_REASON_KEEP;
	return 0;
}

void
rollout_percent_text(double fraction, char *out, size_t outlen)
{
	size_t len;

	snprintf(out, outlen, "%.4f", fraction * 100.0);
	len = strlen(out);
	while (len > 1 && out[len - 1] == '0' && out[len - 2] != '.')
		out[--len] = '\0';
}

int
rollout_stages_parse(
    const double *pcts, size_t n, uint16_t out_bp[], char *err, size_t errlen)
{
	uint16_t bp[ROLLOUT_MAX_STAGES];

	if (n < 1 || n > ROLLOUT_MAX_STAGES) {
		ota_errf(err, errlen, "stages: need 1 to %d stages, got %zu",
		    ROLLOUT_MAX_STAGES, n);
		return OTA_EINVAL;
	}
	if (pcts == NULL || out_bp == NULL) {
		ota_errf(err, errlen, "stages: missing");
		return OTA_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		double p = pcts[i];
		uint64_t steps;

		/* Written this way round, NaN fails too. */
		if (!(p > 0.0 && p <= 100.0)) {
			ota_errf(err, errlen,
			    "stages[%zu]: must be a percentage > 0 and <= 100",
			    i);
			return OTA_EINVAL;
		}
		if (!rollout_to_steps(p * 100.0, &steps) || steps == 0) {
			ota_errf(err, errlen,
			    "stages[%zu]: at most two decimals (0.01 steps)",
			    i);
			return OTA_EINVAL;
		}
		bp[i] = (uint16_t)steps;
		if (i > 0 && bp[i] <= bp[i - 1]) {
			ota_errf(err, errlen,
			    "stages[%zu]: must be greater than stages[%zu]", i,
			    i - 1);
			return OTA_EINVAL;
		}
	}
	if (bp[n - 1] != ROLLOUT_BP_FULL) {
		ota_errf(err, errlen, "stages[%zu]: the last stage must be 100",
		    n - 1);
		return OTA_EINVAL;
	}
	memcpy(out_bp, bp, n * sizeof(bp[0]));
	return 0;
}

uint32_t
rollout_bucket(
    const unsigned char salt[ROLLOUT_SALT_BYTES], const char *device_id)
{
	unsigned char h[8];
	uint64_t v = 0;

	assert(salt != NULL && device_id != NULL);
	/* Cannot fail: output and key lengths are within BLAKE2b's bounds. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)device_id,
	    strlen(device_id), salt, ROLLOUT_SALT_BYTES);
	for (size_t i = sizeof(h); i > 0; i--)
		v = (v << 8) | h[i - 1];
	/* 2^64 mod 10000 is 1616: a bias of under 1e-15, invisible. */
	return (uint32_t)(v % ROLLOUT_BUCKETS);
}

int
rollout_bucket_in_stage(uint32_t bucket, uint16_t stage_bp)
{
	return bucket < stage_bp;
}

/* Valid SemVer, NUL-terminated; bounded so a huge string costs nothing. */
static int
rollout_version_ok(const char *v)
{
	return v != NULL &&
	       semver_check(v, strnlen(v, SEMVER_MAX_LEN + 1)) == 0;
}

/* semver_cmp on two strings already checked by rollout_version_ok. */
static int
rollout_version_cmp(const char *a, const char *b)
{
	return semver_cmp(a, strlen(a), b, strlen(b));
}

static int
rollout_candidate_ok(const struct rollout_candidate *c)
{
	if (c->salt == NULL || !rollout_version_ok(c->image_version))
		return 0;
	if (c->min_version != NULL && c->min_version[0] != '\0' &&
	    !rollout_version_ok(c->min_version))
		return 0;
	if (c->stage_bp < 1 || c->stage_bp > ROLLOUT_BP_FULL)
		return 0;
	if (c->hardware == NULL && c->hardware_count > 0)
		return 0;
	for (size_t i = 0; i < c->hardware_count; i++)
		if (c->hardware[i] == NULL)
			return 0;
	return 1;
}

static int
rollout_hardware_listed(const struct rollout_candidate *c, const char *hw)
{
	for (size_t i = 0; i < c->hardware_count; i++)
		if (strcmp(c->hardware[i], hw) == 0)
			return 1;
	return 0;
}

/* 1 when c beats the current best b (higher version, then newer id). */
static int
rollout_better(
    const struct rollout_candidate *c, const struct rollout_candidate *b)
{
	int r;

	if (b == NULL)
		return 1;
	r = rollout_version_cmp(c->image_version, b->image_version);
	return r > 0 || (r == 0 && c->rollout_id > b->rollout_id);
}

int
rollout_pick_offer(const struct rollout_candidate *c, size_t n,
    const char *device_id, const char *device_hw, const char *installed_version,
    size_t *out_index)
{
	const struct rollout_candidate *best = NULL;
	size_t best_index = 0;

	if ((c == NULL && n > 0) || device_id == NULL || device_id[0] == '\0' ||
	    device_hw == NULL || device_hw[0] == '\0' ||
	    !rollout_version_ok(installed_version) || out_index == NULL)
		return OTA_EINVAL;

	for (size_t i = 0; i < n; i++) {
		const struct rollout_candidate *ci = &c[i];

		if (!rollout_candidate_ok(ci))
			return OTA_EINVAL;
		if (ci->state != ROLLOUT_RUNNING || !ci->in_group ||
		    !rollout_hardware_listed(ci, device_hw))
			continue;
		/* Strictly newer: no reinstall, no downgrade, ever. */
		if (rollout_version_cmp(ci->image_version, installed_version) <=
		    0)
			continue;
		if (ci->min_version != NULL && ci->min_version[0] != '\0' &&
		    rollout_version_cmp(installed_version, ci->min_version) < 0)
			continue;
		/* The hash last: most polls are decided before it. */
		if (!rollout_better(ci, best) ||
		    !rollout_bucket_in_stage(
		        rollout_bucket(ci->salt, device_id), ci->stage_bp))
			continue;
		best = ci;
		best_index = i;
	}
	if (best == NULL)
		return OTA_ENOTFOUND;
	*out_index = best_index;
	return 0;
}

/*
 * Compares a/b with c/d exactly (b, d > 0), without overflow: compare the
 * integer parts, then the reciprocals of the remainders, as Euclid does.
 * Returns <0, 0 or >0.
 */
static int
rollout_frac_cmp(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	int sign = 1;

	for (;;) {
		uint64_t qa = a / b, qc = c / d, ra = a % b, rc = c % d;
		uint64_t nb;

		if (qa != qc)
			return qa < qc ? -sign : sign;
		if (ra == 0 || rc == 0) {
			if (ra == rc)
				return 0;
			return ra == 0 ? -sign : sign;
		}
		/* ra/b < rc/d exactly when b/ra > d/rc. */
		nb = ra;
		a = b;
		b = nb;
		nb = rc;
		c = d;
		d = nb;
		sign = -sign;
	}
}

/* A threshold in (0, 1] in whole millionths, at least one: a positive
 * threshold never means "always". */
static uint64_t
rollout_threshold_ppm(double failure_threshold)
{
	uint64_t ppm = (uint64_t)(failure_threshold * ROLLOUT_PPM + 0.5);

	return ppm == 0 ? 1 : ppm;
}

/* The threshold the gates compare with: rounded to millionths. */
static double
rollout_threshold(double failure_threshold)
{
	return (double)rollout_threshold_ppm(failure_threshold) / ROLLOUT_PPM;
}

int
rollout_health_breached(uint64_t completed, uint64_t failed, uint64_t reverted,
    double failure_threshold, uint64_t min_reports)
{
	uint64_t bad = failed + reverted, finished = bad + completed, ppm;

	if (!(failure_threshold > 0.0 && failure_threshold <= 1.0) ||
	    bad < failed || finished < bad)
		return OTA_EINVAL;
	if (finished == 0 || finished < min_reports)
		return 0;
	ppm = rollout_threshold_ppm(failure_threshold);
	return rollout_frac_cmp(bad, finished, ppm, ROLLOUT_PPM) >= 0;
}

int
rollout_policy_check(double failure_threshold, uint64_t min_reports,
    int64_t advance_after_sec, char *err, size_t errlen)
{
	uint64_t ppm;

	if (!(failure_threshold > 0.0 && failure_threshold <= 1.0)) {
		ota_errf(
		    err, errlen, "failure_threshold: must be > 0 and <= 1");
		return OTA_EINVAL;
	}
	if (!rollout_to_steps(failure_threshold * ROLLOUT_PPM, &ppm) ||
	    ppm == 0) {
		ota_errf(
		    err, errlen, "failure_threshold: at most six decimals");
		return OTA_EINVAL;
	}
	if (min_reports < 1 || min_reports > ROLLOUT_MIN_REPORTS_MAX) {
		ota_errf(err, errlen, "min_reports: must be 1..%d",
		    ROLLOUT_MIN_REPORTS_MAX);
		return OTA_EINVAL;
	}
	if (advance_after_sec != 0 &&
	    (advance_after_sec < ROLLOUT_ADVANCE_AFTER_MIN_SEC ||
	        advance_after_sec > ROLLOUT_ADVANCE_AFTER_MAX_SEC)) {
		ota_errf(err, errlen,
		    "advance_after: must be 0 (off) or %d..%d seconds",
		    ROLLOUT_ADVANCE_AFTER_MIN_SEC,
		    ROLLOUT_ADVANCE_AFTER_MAX_SEC);
		return OTA_EINVAL;
	}
	return 0;
}

int
rollout_hardware_mismatch(const char *provisioned, const char *reported)
{
	if (reported == NULL || reported[0] == '\0')
		return 0;
	return provisioned == NULL || strcmp(provisioned, reported) != 0;
}

const char *
rollout_gate_name(enum rollout_gate g)
{
	if ((unsigned)g >= ROLLOUT_NGATES)
		return NULL;
	return rollout_gate_names[g];
}

int
rollout_gate_parse(const char *name, enum rollout_gate *out)
{
	size_t i;

	if (out == NULL || rollout_name_find(rollout_gate_names, ROLLOUT_NGATES,
	                       name, &i) != 0)
		return OTA_EINVAL;
	*out = (enum rollout_gate)i;
	return 0;
}

/*
 * The standard normal quantile of 1 - a for 0 < a < 1: the z with
 * P(Z > z) = a.  P. J. Acklam's rational approximation, relative error
 * under 1.2e-9, far below what the gate's decisions can notice.
 */
static double
rollout_normal_upper(double a)
{
	static const double ca[] = {-3.969683028665376e+01,
	    2.209460984245205e+02, -2.759285104469687e+02,
	    1.383577518672690e+02, -3.066479806614716e+01,
	    2.506628277459239e+00};
	static const double cb[] = {-5.447609879822406e+01,
	    1.615858368580409e+02, -1.556989798598866e+02,
	    6.680131188771972e+01, -1.328068155288572e+01};
	static const double cc[] = {-7.784894002430293e-03,
	    -3.223964580411365e-01, -2.400758277161838e+00,
	    -2.549732539343734e+00, 4.374664141464968e+00,
	    2.938163982698783e+00};
	static const double cd[] = {7.784695709041462e-03,
	    3.224671290700398e-01, 2.445134137142996e+00,
	    3.754408661907416e+00};
	double q, r;

	if (a < 0.02425) { /* the far tail: z large and positive */
		q = sqrt(-2.0 * log(a));
		return -(((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q +
		             cc[4]) *
		               q +
		           cc[5]) /
		       ((((cd[0] * q + cd[1]) * q + cd[2]) * q + cd[3]) * q +
		           1.0);
	}
	if (a > 1.0 - 0.02425) {
		q = sqrt(-2.0 * log(1.0 - a));
		return (((((cc[0] * q + cc[1]) * q + cc[2]) * q + cc[3]) * q +
		            cc[4]) *
		               q +
		           cc[5]) /
		       ((((cd[0] * q + cd[1]) * q + cd[2]) * q + cd[3]) * q +
		           1.0);
	}
	q = 0.5 - a;
	r = q * q;
	return (((((ca[0] * r + ca[1]) * r + ca[2]) * r + ca[3]) * r + ca[4]) *
	               r +
	           ca[5]) *
	       q /
	       (((((cb[0] * r + cb[1]) * r + cb[2]) * r + cb[3]) * r + cb[4]) *
	               r +
	           1.0);
}

/* The Wilson gate on bad of n finished (n >= min_reports, n > 0). */
static void
rollout_wilson(const struct rollout_gate_policy *p, uint64_t bad, uint64_t n,
    double theta, struct rollout_gate_verdict *out)
{
	double m = p->min_reports > 0 ? (double)p->min_reports : 1.0;
	double dn = (double)n, alpha, z, d;

	/* This look's share of the error: the shares of the looks at
	 * m, m + 1, ... reports add up to 1 - confidence. */
	alpha = (1.0 - p->confidence) * m / (dn * (dn + 1.0));
	z = rollout_normal_upper(alpha);
	d = (double)bad - dn * theta;
	if (d * d <= z * z * dn * theta * (1.0 - theta))
		return; /* the interval holds theta: not sure either way */
	out->breached = d > 0;
	out->healthy = d < 0;
}

int
rollout_gate_judge(const struct rollout_gate_policy *p, uint64_t completed,
    uint64_t failed, uint64_t reverted, struct rollout_gate_verdict *out)
{
	uint64_t bad = failed + reverted, finished = bad + completed;
	int b;

	if (out == NULL)
		return OTA_EINVAL;
	out->breached = 1;
	out->healthy = 0;
	if (p == NULL || bad < failed || finished < bad)
		return OTA_EINVAL;
	if (p->gate == ROLLOUT_GATE_SIMPLE) {
		b = rollout_health_breached(completed, failed, reverted,
		    p->failure_threshold, p->min_reports);
		if (b < 0)
			return b;
		out->breached = b;
		out->healthy = !b;
		return 0;
	}
	if (p->gate != ROLLOUT_GATE_WILSON ||
	    !(p->failure_threshold > 0.0 && p->failure_threshold <= 1.0) ||
	    !(p->confidence >= ROLLOUT_CONFIDENCE_MIN && p->confidence < 1.0))
		return OTA_EINVAL;
	out->breached = 0;
	if (finished == 0 || finished < p->min_reports)
		return 0;
	rollout_wilson(
	    p, bad, finished, rollout_threshold(p->failure_threshold), out);
	return 0;
}

int
rollout_gate_check(enum rollout_gate gate, double failure_threshold,
    double confidence, char *err, size_t errlen)
{
	uint64_t steps;

	if (rollout_gate_name(gate) == NULL) {
		ota_errf(err, errlen, "gate: must be \"simple\" or \"wilson\"");
		return OTA_EINVAL;
	}
	if (!(confidence >= ROLLOUT_CONFIDENCE_MIN &&
	        confidence <= ROLLOUT_CONFIDENCE_MAX) ||
	    !rollout_to_steps(confidence * 10000.0, &steps)) {
		ota_errf(err, errlen,
		    "confidence: must be 0.5..0.9999 with at most four "
		    "decimals");
		return OTA_EINVAL;
	}
	if (gate == ROLLOUT_GATE_WILSON && failure_threshold >= 1.0) {
		ota_errf(err, errlen,
		    "failure_threshold: must be below 1 with the wilson gate "
		    "(no failure rate is above 100%%)");
		return OTA_EINVAL;
	}
	return 0;
}

/* The index of name among names[0..n), or -1. */
static int
name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name != NULL && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

#define NAMES_N(a) (sizeof(a) / sizeof((a)[0]))

const char *
rollout_outside_name(enum rollout_outside o)
{
	return (unsigned)o < NAMES_N(rollout_outside_names)
	           ? rollout_outside_names[o]
	           : NULL;
}

int
rollout_outside_parse(const char *name, enum rollout_outside *out)
{
	int i = name_index(
	    rollout_outside_names, NAMES_N(rollout_outside_names), name);

	if (i < 0)
		return OTA_EINVAL;
	*out = (enum rollout_outside)i;
	return 0;
}

const char *
rollout_action_type_name(enum rollout_action_type t)
{
	return (unsigned)t < NAMES_N(rollout_action_type_names)
	           ? rollout_action_type_names[t]
	           : NULL;
}

int
rollout_action_type_parse(const char *name, enum rollout_action_type *out)
{
	int i = name_index(rollout_action_type_names,
	    NAMES_N(rollout_action_type_names), name);

	if (i < 0)
		return OTA_EINVAL;
	*out = (enum rollout_action_type)i;
	return 0;
}

enum rollout_action_type
rollout_action_at(enum rollout_action_type t, int64_t forced_at, int64_t now)
{
	if (t != ROLLOUT_ACTION_TIME_FORCED)
		return t;
	return now >= forced_at ? ROLLOUT_ACTION_FORCED : ROLLOUT_ACTION_SOFT;
}

int
rollout_targets_check(
    size_t group_count, const char *selector, char *err, size_t errlen)
{
	if (group_count == 0 && (selector == NULL || selector[0] == '\0')) {
		ota_errf(err, errlen,
		    "groups: required unless a selector names the devices "
		    "(a rollout without groups targets every device its "
		    "selector matches)");
		return OTA_EINVAL;
	}
	return 0;
}

/* ---- stuck and failing devices ---- */

static const char *const rollout_outcome_names[ROLLOUT_OUTCOME_COUNT] = {
    [ROLLOUT_OUTCOME_FAILED] = "failed",
    [ROLLOUT_OUTCOME_TIMED_OUT] = "timed_out",
    [ROLLOUT_OUTCOME_REVERTED] = "reverted",
    [ROLLOUT_OUTCOME_DECLINED] = "declined",
};

static const char *const rollout_breach_names[] = {
    [ROLLOUT_BREACH_PAUSE] = "pause",
    [ROLLOUT_BREACH_ABORT] = "abort",
};

#define ROLLOUT_NBREACH                                                        \
	(sizeof(rollout_breach_names) / sizeof(rollout_breach_names[0]))

const char *
rollout_outcome_name(enum rollout_outcome o)
{
	if ((unsigned)o >= ROLLOUT_OUTCOME_COUNT)
		return NULL;
	return rollout_outcome_names[o];
}

/*
 * Splits text at commas: calls item(arg, p, n) for each item, its blanks
 * trimmed (an empty item too).  0, or the first non-zero item answer.
 */
static int
rollout_list_each(const char *text,
    int (*item)(void *arg, const char *p, size_t n), void *arg)
{
	const char *p = text;
	int rc;

	for (;;) {
		size_t n = strcspn(p, ",");
		const char *b = p, *e = p + n;

		while (b < e && *b == ' ')
			b++;
		while (e > b && e[-1] == ' ')
			e--;
		if ((rc = item(arg, b, (size_t)(e - b))) != 0)
			return rc;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* The state of a list parse: the set so far and where a reason goes. */
struct rollout_list_parse {
	uint32_t set;
	char *err;
	size_t errlen;
};

static int
rollout_outcome_item(void *arg, const char *p, size_t n)
{
	struct rollout_list_parse *lp = arg;

	for (unsigned i = 0; i < ROLLOUT_OUTCOME_COUNT; i++) {
		if (strlen(rollout_outcome_names[i]) != n ||
		    memcmp(rollout_outcome_names[i], p, n) != 0)
			continue;
		if (lp->set & (1u << i)) {
			ota_errf(lp->err, lp->errlen,
			    "abort_on: '%s' appears twice",
			    rollout_outcome_names[i]);
			return OTA_EINVAL;
		}
		lp->set |= 1u << i;
		return 0;
	}
	ota_errf(lp->err, lp->errlen,
	    "abort_on: '%.*s' is not an outcome (failed, timed_out, "
	    "reverted, declined)",
	    (int)(n > 32 ? 32 : n), p);
	return OTA_EINVAL;
}

/* 1 when text holds nothing but blanks. */
static int
rollout_blank(const char *text)
{
	return text[strspn(text, " ")] == '\0';
}

/* Parses the set of items of text (item parses one, into lp's set):
 * shared by abort_on and ignore_results, field naming the reason. */
static int
rollout_set_parse(const char *text, size_t max, const char *field,
    int (*item)(void *arg, const char *p, size_t n), uint32_t *out, char *err,
    size_t errlen)
{
	struct rollout_list_parse lp = {0, err, errlen};

	if (text == NULL || out == NULL || strnlen(text, max) >= max) {
		ota_errf(err, errlen, "%s: too long", field);
		return OTA_EINVAL;
	}
	if (!rollout_blank(text) && rollout_list_each(text, item, &lp) != 0)
		return OTA_EINVAL;
	*out = lp.set;
	return 0;
}

/* Writes the items of set (bits below n) separated by commas into
 * out[len], each by name(i, buf). */
static void
rollout_set_format(uint32_t set, unsigned n,
    void (*name)(unsigned i, char buf[16]), char *out, size_t len)
{
	size_t used = 0;
	char buf[16];

	if (len == 0)
		return;
	out[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (!(set & (1u << i)) || used >= len)
			continue;
		name(i, buf);
		used += (size_t)snprintf(
		    out + used, len - used, "%s%s", used > 0 ? "," : "", buf);
	}
}

static void
rollout_outcome_text(unsigned i, char buf[16])
{
	snprintf(buf, 16, "%s", rollout_outcome_names[i]);
}

static void
rollout_result_text(unsigned i, char buf[16])
{
	snprintf(buf, 16, "%u", i);
}

int
rollout_outcomes_parse(
    const char *text, unsigned *out, char *err, size_t errlen)
{
	return rollout_set_parse(text, ROLLOUT_OUTCOMES_TEXT_MAX, "abort_on",
	    rollout_outcome_item, out, err, errlen);
}

void
rollout_outcomes_format(unsigned set, char *out, size_t len)
{
	rollout_set_format(
	    set, ROLLOUT_OUTCOME_COUNT, rollout_outcome_text, out, len);
}

static int
rollout_result_item(void *arg, const char *p, size_t n)
{
	struct rollout_list_parse *lp = arg;
	unsigned v = 0;

	if (n == 0 || n > 2) {
		ota_errf(lp->err, lp->errlen,
		    "ignore_results: want result codes 0..%d separated by "
		    "commas",
		    ROLLOUT_RESULT_CODES - 1);
		return OTA_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') {
			ota_errf(lp->err, lp->errlen,
			    "ignore_results: '%.*s' is not a result code",
			    (int)n, p);
			return OTA_EINVAL;
		}
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v >= ROLLOUT_RESULT_CODES) {
		ota_errf(lp->err, lp->errlen,
		    "ignore_results: %u is not a result code (0..%d)", v,
		    ROLLOUT_RESULT_CODES - 1);
		return OTA_EINVAL;
	}
	if (lp->set & (1u << v)) {
		ota_errf(
		    lp->err, lp->errlen, "ignore_results: %u appears twice", v);
		return OTA_EINVAL;
	}
	lp->set |= 1u << v;
	return 0;
}

int
rollout_results_parse(const char *text, uint32_t *out, char *err, size_t errlen)
{
	return rollout_set_parse(text, ROLLOUT_RESULTS_TEXT_MAX,
	    "ignore_results", rollout_result_item, out, err, errlen);
}

void
rollout_results_format(uint32_t mask, char *out, size_t len)
{
	rollout_set_format(
	    mask, ROLLOUT_RESULT_CODES, rollout_result_text, out, len);
}

const char *
rollout_breach_action_name(enum rollout_breach_action a)
{
	if ((unsigned)a >= ROLLOUT_NBREACH)
		return NULL;
	return rollout_breach_names[a];
}

int
rollout_breach_action_parse(const char *name, enum rollout_breach_action *out)
{
	size_t i;

	if (out == NULL || rollout_name_find(rollout_breach_names,
	                       ROLLOUT_NBREACH, name, &i) != 0)
		return OTA_EINVAL;
	*out = (enum rollout_breach_action)i;
	return 0;
}

void
rollout_stuck_defaults(struct rollout_stuck_policy *out)
{
	memset(out, 0, sizeof(*out));
	out->retry_backoff_sec = ROLLOUT_RETRY_BACKOFF_DEFAULT_SEC;
	out->abort_on = ROLLOUT_OUTCOMES_DEFAULT;
	out->breach_action = ROLLOUT_BREACH_PAUSE;
}

/* The rate-control part of rollout_stuck_check. */
static int
rollout_rate_check(
    const struct rollout_stuck_policy *p, char *err, size_t errlen)
{
	if (p->max_offers_per_minute > ROLLOUT_RATE_MAX) {
		ota_errf(err, errlen,
		    "max_offers_per_minute: must be 0 (no limit) or 1..%d",
		    ROLLOUT_RATE_MAX);
		return OTA_EINVAL;
	}
	if (p->rate_ramp_min > ROLLOUT_RATE_RAMP_MAX_MIN ||
	    (p->rate_ramp_min > 0 && p->max_offers_per_minute == 0)) {
		ota_errf(err, errlen,
		    "rate_ramp_minutes: must be 0 (no ramp) or 1..%d, with a "
		    "max_offers_per_minute",
		    ROLLOUT_RATE_RAMP_MAX_MIN);
		return OTA_EINVAL;
	}
	if (p->rate_ramp_min == 0
	        ? p->rate_ramp_max != 0
	        : (p->rate_ramp_max < p->max_offers_per_minute ||
	              p->rate_ramp_max > ROLLOUT_RATE_MAX)) {
		ota_errf(err, errlen,
		    "rate_ramp_max: must be max_offers_per_minute..%d with a "
		    "ramp, 0 without",
		    ROLLOUT_RATE_MAX);
		return OTA_EINVAL;
	}
	return 0;
}

int
rollout_stuck_check(
    const struct rollout_stuck_policy *p, char *err, size_t errlen)
{
	if (p == NULL) {
		ota_errf(err, errlen, "policy: missing");
		return OTA_EINVAL;
	}
	if (p->device_timeout_sec != 0 &&
	    (p->device_timeout_sec < ROLLOUT_DEVICE_TIMEOUT_MIN_SEC ||
	        p->device_timeout_sec > ROLLOUT_DEVICE_TIMEOUT_MAX_SEC)) {
		ota_errf(err, errlen,
		    "device_timeout: must be 0 (none) or %d..%d seconds",
		    ROLLOUT_DEVICE_TIMEOUT_MIN_SEC,
		    ROLLOUT_DEVICE_TIMEOUT_MAX_SEC);
		return OTA_EINVAL;
	}
	if (p->max_retries > ROLLOUT_MAX_RETRIES_MAX) {
		ota_errf(err, errlen, "max_retries: must be 0..%d",
		    ROLLOUT_MAX_RETRIES_MAX);
		return OTA_EINVAL;
	}
	if (p->retry_backoff_sec < 0 ||
	    p->retry_backoff_sec > ROLLOUT_RETRY_BACKOFF_MAX_SEC) {
		ota_errf(err, errlen, "retry_backoff: must be 0..%d seconds",
		    ROLLOUT_RETRY_BACKOFF_MAX_SEC);
		return OTA_EINVAL;
	}
	if ((p->abort_on & ~ROLLOUT_OUTCOMES_ALL) != 0) {
		ota_errf(err, errlen, "abort_on: unknown outcome");
		return OTA_EINVAL;
	}
	if ((p->ignore_results >> ROLLOUT_RESULT_CODES) != 0) {
		ota_errf(err, errlen, "ignore_results: codes are 0..%d",
		    ROLLOUT_RESULT_CODES - 1);
		return OTA_EINVAL;
	}
	if (rollout_breach_action_name(p->breach_action) == NULL) {
		ota_errf(err, errlen,
		    "breach_action: must be \"pause\" or \"abort\"");
		return OTA_EINVAL;
	}
	if ((p->require_consent != 0 && p->require_consent != 1) ||
	    p->consent_retry_sec < 0 ||
	    p->consent_retry_sec > ROLLOUT_CONSENT_RETRY_MAX_SEC) {
		ota_errf(err, errlen,
		    "consent_retry: must be 0 (never ask again) or 1..%d "
		    "seconds",
		    ROLLOUT_CONSENT_RETRY_MAX_SEC);
		return OTA_EINVAL;
	}
	if (!p->require_consent && p->consent_retry_sec != 0) {
		ota_errf(err, errlen,
		    "consent_retry: only with require_consent (this rollout "
		    "does not ask for consent)");
		return OTA_EINVAL;
	}
	return rollout_rate_check(p, err, errlen);
}

/* *acc += v; 0, or OTA_EINVAL on overflow. */
static int
rollout_add(uint64_t *acc, uint64_t v)
{
	if (*acc + v < *acc)
		return OTA_EINVAL;
	*acc += v;
	return 0;
}

int
rollout_gate_tally(const struct rollout_outcome_counts *c, unsigned abort_on,
    uint32_t ignore_results, uint64_t *out_good, uint64_t *out_bad)
{
	uint64_t bad = 0, ignored = 0, failed;

	if (c == NULL || out_good == NULL || out_bad == NULL)
		return OTA_EINVAL;
	if (abort_on & (1u << ROLLOUT_OUTCOME_FAILED)) {
		for (int i = 0; i < ROLLOUT_RESULT_CODES; i++)
			if ((ignore_results & (1u << i)) &&
			    rollout_add(&ignored, c->failed_by_result[i]) != 0)
				return OTA_EINVAL;
		/* By result codes the store read in the same statement; a
		 * mismatch counts every failure, the safe side. */
		failed = ignored <= c->failed ? c->failed - ignored : c->failed;
		if (rollout_add(&bad, failed) != 0)
			return OTA_EINVAL;
	}
	if (((abort_on & (1u << ROLLOUT_OUTCOME_TIMED_OUT)) &&
	        rollout_add(&bad, c->timed_out) != 0) ||
	    ((abort_on & (1u << ROLLOUT_OUTCOME_REVERTED)) &&
	        rollout_add(&bad, c->reverted) != 0) ||
	    ((abort_on & (1u << ROLLOUT_OUTCOME_DECLINED)) &&
	        rollout_add(&bad, c->declined) != 0) ||
	    bad + c->completed < bad)
		return OTA_EINVAL;
	*out_good = c->completed;
	*out_bad = bad;
	return 0;
}

enum rollout_retry
rollout_retry_decide(uint32_t max_retries, int64_t backoff_sec,
    uint32_t retries_done, int64_t outcome_at, int64_t now, int64_t *out_due_at)
{
	int64_t wait = backoff_sec > 0 ? backoff_sec : 0;

	if (out_due_at != NULL)
		*out_due_at = 0;
	if (retries_done >= max_retries)
		return ROLLOUT_RETRY_DONE;
	/* Doubling, stopped at the cap before it could overflow. */
	for (uint32_t i = 0;
	     i < retries_done && wait < ROLLOUT_RETRY_WAIT_MAX_SEC; i++)
		wait *= 2;
	if (wait > ROLLOUT_RETRY_WAIT_MAX_SEC)
		wait = ROLLOUT_RETRY_WAIT_MAX_SEC;
	if (out_due_at != NULL)
		*out_due_at = outcome_at + wait;
	return now >= outcome_at + wait ? ROLLOUT_RETRY_DUE
	                                : ROLLOUT_RETRY_WAIT;
}

const char *
rollout_consent_name(enum rollout_consent c)
{
	switch (c) {
	case ROLLOUT_CONSENT_REQUIRED:
		return "required";
	case ROLLOUT_CONSENT_GIVEN:
		return "given";
	default:
		return NULL;
	}
}

enum rollout_consent
rollout_consent_decide(const struct rollout_stuck_policy *p, unsigned status,
    int64_t status_at, int64_t now, int64_t *out_due_at)
{
	if (out_due_at != NULL)
		*out_due_at = 0;
	if (p == NULL || !p->require_consent)
		return ROLLOUT_CONSENT_NONE;
	if (update_state_consent_given((enum update_state)status))
		return ROLLOUT_CONSENT_GIVEN;
	if (status != UPDATE_DECLINED)
		return ROLLOUT_CONSENT_REQUIRED;
	if (p->consent_retry_sec <= 0)
		return ROLLOUT_CONSENT_WAIT;
	if (out_due_at != NULL)
		*out_due_at = status_at + p->consent_retry_sec;
	return now >= status_at + p->consent_retry_sec
	           ? ROLLOUT_CONSENT_REQUIRED
	           : ROLLOUT_CONSENT_WAIT;
}

uint32_t
rollout_rate_per_minute(
    const struct rollout_stuck_policy *p, int64_t running_sec)
{
	uint64_t rate = p->max_offers_per_minute;
	int64_t steps;

	if (rate == 0 || p->rate_ramp_min == 0 || running_sec <= 0)
		return (uint32_t)rate;
	steps = running_sec / ((int64_t)p->rate_ramp_min * 60);
	/* Doubling until the cap, which is reached within 20 steps. */
	while (steps-- > 0 && rate < p->rate_ramp_max)
		rate *= 2;
	return (uint32_t)(rate < p->rate_ramp_max ? rate : p->rate_ramp_max);
}

int
rollout_rate_admit(
    int64_t tat_us, int64_t now_us, uint32_t rate_per_min, int64_t *out_tat_us)
{
	int64_t t, tau;

	if (rate_per_min == 0) {
		*out_tat_us = tat_us;
		return 1;
	}
	t = 60000000 / (int64_t)rate_per_min;
	tau = 60000000 - t;
	if (tat_us - tau > now_us)
		return 0;
	*out_tat_us = (tat_us > now_us ? tat_us : now_us) + t;
	return 1;
}
