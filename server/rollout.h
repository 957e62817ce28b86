/*
 * rollout: the pure decisions of staged rollouts: the state machine, stage
 * percentages, the deterministic device bucket, which rollout (if any) a
 * device is offered, and the health gate.  No I/O, no mutable globals, no
 * allocation: callers (store, HTTP, telemetry) bring the facts and apply
 * the answers.  docs/rollouts.md describes the rules and the bucket hash.
 */
#ifndef OTAD_ROLLOUT_H
#define OTAD_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#define ROLLOUT_MAX_STAGES 16
#define ROLLOUT_BP_FULL 10000 /* basis points: 100% */
#define ROLLOUT_BUCKETS 10000 /* buckets are 0..ROLLOUT_BUCKETS-1 */
#define ROLLOUT_SALT_BYTES 32 /* BLAKE2b key, random per rollout */

/* The default stages of a new rollout: 1%, 5%, 25%, 100%. */
#define ROLLOUT_DEFAULT_STAGE_COUNT 4
extern const double rollout_default_stages_pct[ROLLOUT_DEFAULT_STAGE_COUNT];
extern const uint16_t rollout_default_stages_bp[ROLLOUT_DEFAULT_STAGE_COUNT];

/* Health policy bounds (rollout_policy_check). */
#define ROLLOUT_MIN_REPORTS_MAX 1000000
#define ROLLOUT_ADVANCE_AFTER_MIN_SEC 60
#define ROLLOUT_ADVANCE_AFTER_MAX_SEC (30 * 24 * 3600)

enum rollout_state {
	ROLLOUT_DRAFT,
	ROLLOUT_RUNNING,
	ROLLOUT_PAUSED,
	ROLLOUT_COMPLETED, /* final */
	ROLLOUT_ABORTED,   /* final */
};

enum rollout_action {
	ROLLOUT_START,
	ROLLOUT_PAUSE,
	ROLLOUT_RESUME,
	ROLLOUT_ADVANCE,
	ROLLOUT_ABORT,
};

/*
 * Name of a state ("draft", "running", "paused", "completed", "aborted")
 * or of an action ("start", "pause", "resume", "advance", "abort"), as
 * the API and the database spell them.  Returns a static string, or NULL
 * for a value outside the enum.
 */
const char *rollout_state_name(enum rollout_state s);
const char *rollout_action_name(enum rollout_action a);

/*
 * Parses a state or action name (exact, lowercase, NUL-terminated) into
 * *out.  Returns 0, or OTA_EINVAL for NULL or an unknown name (*out is
 * then left untouched).
 */
int rollout_state_parse(const char *name, enum rollout_state *out);
int rollout_action_parse(const char *name, enum rollout_action *out);

/*
 * Applies action a to a rollout in state from at stage stage_index of
 * stage_count stages:
 *   draft   -start->   running, stage 0
 *   running -pause->   paused
 *   paused  -resume->  running
 *   running|paused -advance-> same state at stage_index + 1, or completed
 *                      (stage index unchanged) from the last stage
 *   draft|running|paused -abort-> aborted (stage index unchanged)
 * Returns 0 with *out_state and *out_stage_index set; OTA_ECONFLICT for any
 * other pair (completed and aborted are final); OTA_EINVAL for a value
 * outside the enums, stage_count outside 1..ROLLOUT_MAX_STAGES, stage_index
 * outside 0..stage_count-1, or a NULL out-parameter.  On failure the
 * out-parameters are left untouched.
 */
int rollout_transition(enum rollout_state from, int stage_index,
    int stage_count, enum rollout_action a, enum rollout_state *out_state,
    int *out_stage_index);

/* What an action does to a rollout's reason (struct rollout_change). */
enum rollout_reason_change {
	ROLLOUT_REASON_KEEP,  /* the stored reason stays */
	ROLLOUT_REASON_SET,   /* the action's reason replaces it */
	ROLLOUT_REASON_CLEAR, /* it becomes "" */
};

/*
 * The whole of one decided transition: the new state and stage and which
 * of the row's times take the moment of the change.  The stage's clock
 * (stage_started_at, which advance_after counts from) restarts whenever a
 * stage starts running: start, a new stage, or a resume (a paused stage
 * has not been running).  finished_at is set on reaching completed or
 * aborted; started_at on start.  Pause and abort record their reason;
 * resume clears it.
 */
struct rollout_change {
	enum rollout_state from, to;
	int stage_index; /* the stage after the change */
	int set_started_at;
	int set_stage_started_at;
	int set_finished_at;
	enum rollout_reason_change reason;
};

/*
 * Decides action a on a rollout in state from at stage_index of
 * stage_count stages (rollout_transition's rules) into *out.  When
 * expect_stage >= 0 the action applies only while the rollout is still at
 * that stage, so two concurrent "advance" clicks, or a click racing the
 * automatic advance, move one stage, not two.  Returns 0; OTA_ECONFLICT
 * for a refused transition or another stage than expected; OTA_EINVAL as
 * rollout_transition (and for out NULL).  *out is written only on
 * success.  Pure.
 */
int rollout_decide(enum rollout_state from, int stage_index, int stage_count,
    enum rollout_action a, int expect_stage, struct rollout_change *out);

/*
 * A fraction as a percentage with one to four decimals, trailing zeros
 * dropped but one ("5.0", "1.25", "0.0001"): thresholds have six decimals
 * as fractions, four as percentages.  out gets at most outlen bytes,
 * NUL-terminated (outlen >= 2).
 */
void rollout_percent_text(double fraction, char *out, size_t outlen);

/*
 * Validates the stage percentages pcts[0..n) of a new rollout and converts
 * them to basis points in out_bp[0..n) (1% = 100 bp).  Rules: 1 <= n <=
 * ROLLOUT_MAX_STAGES; each value finite, > 0 and <= 100, with at most two
 * decimals (0.01 is the smallest stage, 0.001 is refused); strictly
 * increasing; the last exactly 100, so a rollout can complete to everyone.
 * Returns 0, or OTA_EINVAL with a one-line reason naming the offending
 * index ("stages[2]: ...") in err (always NUL-terminated when errlen > 0;
 * err may be NULL when errlen is 0).  out_bp is written only on success;
 * it must hold n entries.
 */
int rollout_stages_parse(
    const double *pcts, size_t n, uint16_t out_bp[], char *err, size_t errlen);

/*
 * The device's bucket in a rollout, 0..9999: BLAKE2b (libsodium's
 * crypto_generichash) keyed with the rollout's salt over the bytes of
 * device_id (without its NUL), 8 bytes of output read as a little-endian
 * uint64, modulo 10000.  Deterministic: the same salt and id always give
 * the same bucket; different salts give independent buckets.  device_id
 * must be non-NULL (assert).  Thread-safe once libsodium is initialised.
 */
uint32_t rollout_bucket(
    const unsigned char salt[ROLLOUT_SALT_BYTES], const char *device_id);

/*
 * 1 when a device in bucket is included in a stage of stage_bp basis
 * points (bucket < stage_bp), else 0.  A device included at a stage stays
 * included at every larger stage.
 */
int rollout_bucket_in_stage(uint32_t bucket, uint16_t stage_bp);

/*
 * One rollout the store found for a device, with the facts of its image.
 * Every pointer is borrowed from the caller for the call only.
 */
struct rollout_candidate {
	int64_t rollout_id;
	const unsigned char *salt; /* ROLLOUT_SALT_BYTES */
	enum rollout_state state;
	uint16_t stage_bp; /* the current stage, 1..10000 */
	const char *image_version;
	const char *min_version; /* "" or NULL when none */
	const char *const *hardware;
	size_t hardware_count;
	int in_group; /* the device is in one of the rollout's target groups */
};

/*
 * 1 when a device provisioned with hardware `provisioned` reports
 * `reported` (NULL or "": nothing reported) and the two differ: its
 * hardware is set only by provisioning and the admin API, so such a
 * device is offered nothing until one of the two is corrected.  Pure.
 */
int rollout_hardware_mismatch(const char *provisioned, const char *reported);

/*
 * Chooses the rollout whose image device_id should be offered, among
 * c[0..n).  A candidate qualifies only when it is running, in_group is
 * set, device_hw is one of its hardware entries (exact match), its image
 * version is strictly greater than installed_version by SemVer precedence
 * (never equal, never older), installed_version >= its min_version when
 * that is set, and the device's bucket is inside its current stage.  Among
 * those, the highest image version wins; equal precedence goes to the
 * highest rollout_id (the newest rollout).
 * Returns 0 with *out_index, OTA_ENOTFOUND when nothing qualifies, or
 * OTA_EINVAL for a NULL argument (c may be NULL when n is 0), an empty
 * device_id or device_hw, an installed_version that is not valid SemVer,
 * or a malformed candidate (NULL salt or image_version, invalid image or
 * min version, stage_bp outside 1..10000, NULL hardware entries).  Pure;
 * hashes only candidates that pass every cheaper test.
 */
int rollout_pick_offer(const struct rollout_candidate *c, size_t n,
    const char *device_id, const char *device_hw, const char *installed_version,
    size_t *out_index);

/*
 * The health gate.  finished = completed + failed + reverted; returns 1
 * when finished >= min_reports (and > 0) and (failed + reverted) /
 * finished >= failure_threshold, else 0.  The comparison is exact
 * (rational arithmetic on the threshold in millionths, rounded to the
 * nearest), so a value exactly at the threshold is a breach: 1 failure in
 * 20 at 0.05 breaches.  Returns OTA_EINVAL for a threshold outside
 * (0, 1] or counts whose sum overflows; being non-zero, a caller testing
 * the result as a boolean pauses the rollout, the safe side.
 */
int rollout_health_breached(uint64_t completed, uint64_t failed,
    uint64_t reverted, double failure_threshold, uint64_t min_reports);

/*
 * Validates a rollout's health policy: 0 < failure_threshold <= 1 with at
 * most six decimals; 1 <= min_reports <= ROLLOUT_MIN_REPORTS_MAX;
 * advance_after_sec 0 (off) or 60 s .. 30 days.  Returns 0, or OTA_EINVAL
 * with a one-line reason naming the field in err (as rollout_stages_parse).
 */
int rollout_policy_check(double failure_threshold, uint64_t min_reports,
    int64_t advance_after_sec, char *err, size_t errlen);

/*
 * Which health gate judges a rollout.  The simple gate compares the
 * observed failure rate with the threshold (rollout_health_breached).  The
 * Wilson gate is a score test: it pauses only when the failure rate is
 * above the threshold with the rollout's confidence, and lets the
 * automatic advance through only when it is below the threshold with that
 * confidence.  The confidence holds for the whole rollout although the
 * gate looks after every report: the look at n finished reports spends
 * (1 - confidence) * m / (n (n + 1)) of the error (m = min_reports), and
 * those shares add up to 1 - confidence (a union bound over the looks).
 */
enum rollout_gate {
	ROLLOUT_GATE_SIMPLE,
	ROLLOUT_GATE_WILSON,
};

#define ROLLOUT_GATE_DEFAULT ROLLOUT_GATE_SIMPLE
#define ROLLOUT_CONFIDENCE_DEFAULT 0.95
#define ROLLOUT_CONFIDENCE_MIN 0.5
#define ROLLOUT_CONFIDENCE_MAX 0.9999

/* The name of a gate ("simple", "wilson"), a static string, or NULL
 * outside the enum.  rollout_gate_parse reads one (exact, lowercase):
 * 0, or OTA_EINVAL for NULL or an unknown name (*out untouched). */
const char *rollout_gate_name(enum rollout_gate g);
int rollout_gate_parse(const char *name, enum rollout_gate *out);

/* A rollout's gate settings: what rollout_gate_judge needs. */
struct rollout_gate_policy {
	enum rollout_gate gate;
	double failure_threshold; /* (0, 1], six decimals */
	uint64_t min_reports;
	double confidence; /* the Wilson gate's; the simple gate ignores it */
};

/* What the gate says about a rollout's finished counts. */
struct rollout_gate_verdict {
	int breached; /* 1: pause it */
	int healthy;  /* 1: the automatic advance may move it */
};

/*
 * Judges completed, failed and reverted (finished = their sum, bad =
 * failed + reverted) under policy p into *out.
 * Simple gate: breached as rollout_health_breached; healthy when not
 * breached (also with no report at all).
 * Wilson gate, with theta the threshold (in millionths, as the simple
 * gate rounds it) and z the one-sided normal quantile of 1 - alpha_n,
 * alpha_n = (1 - confidence) * m / (n (n + 1)), m = max(min_reports, 1):
 * nothing is decided before finished >= min_reports (and > 0): neither
 * breached nor healthy; then breached when bad > n theta and
 * (bad - n theta)^2 > z^2 n theta (1 - theta) (the Wilson interval's
 * lower bound is above theta), healthy when bad < n theta and the same
 * inequality holds (its upper bound is below theta).  At threshold 1 it
 * never pauses (no rate is above 100%) and is healthy once one update
 * completed.
 * Returns 0; OTA_EINVAL for p or out NULL, an unknown gate, a threshold
 * outside (0, 1], a Wilson confidence outside [0.5, 1) or counts whose
 * sum overflows, with *out (when not NULL) breached and not healthy: the
 * safe side.  Pure; uses libm (log, sqrt).
 */
int rollout_gate_judge(const struct rollout_gate_policy *p, uint64_t completed,
    uint64_t failed, uint64_t reverted, struct rollout_gate_verdict *out);

/*
 * Validates the gate settings beside rollout_policy_check's: confidence
 * ROLLOUT_CONFIDENCE_MIN..MAX with at most four decimals (checked for
 * every gate, so a stored value is always valid), and for the Wilson gate
 * a threshold below 1.  Returns 0, or OTA_EINVAL with a one-line reason
 * naming the field in err (as rollout_stages_parse).
 */
int rollout_gate_check(enum rollout_gate gate, double failure_threshold,
    double confidence, char *err, size_t errlen);

/*
 * What a device is told outside its maintenance windows
 * (docs/rollouts.md "Maintenance windows"): notify (the update is offered
 * with "not now, and when") or silent (nothing is offered).
 */
enum rollout_outside {
	ROLLOUT_OUTSIDE_NOTIFY,
	ROLLOUT_OUTSIDE_SILENT,
};

/*
 * How hard a rollout installs (docs/rollouts.md "Action types"): forced
 * (install now, the default), soft (the device or its user may defer),
 * time-forced (soft until forced_at, then forced), download-only (fetch
 * and verify, install later).
 */
enum rollout_action_type {
	ROLLOUT_ACTION_FORCED,
	ROLLOUT_ACTION_SOFT,
	ROLLOUT_ACTION_TIME_FORCED,
	ROLLOUT_ACTION_DOWNLOAD_ONLY,
};

/* Names as the API and the database spell them ("notify", "silent";
 * "forced", "soft", "time-forced", "download-only"): a static string, or
 * NULL outside the enum.  parse: exact names; 0, or OTA_EINVAL for NULL
 * or an unknown name (*out untouched). */
const char *rollout_outside_name(enum rollout_outside o);
int rollout_outside_parse(const char *name, enum rollout_outside *out);
const char *rollout_action_type_name(enum rollout_action_type t);
int rollout_action_type_parse(const char *name, enum rollout_action_type *out);

/*
 * The action a device is told at now: a time-forced rollout is soft
 * before forced_at (unix seconds) and forced from then on; the other
 * types are themselves.  Never ROLLOUT_ACTION_TIME_FORCED.  Pure.
 */
enum rollout_action_type rollout_action_at(
    enum rollout_action_type t, int64_t forced_at, int64_t now);

/*
 * Who a rollout targets: its groups (group_count of them), narrowed by its
 * selector (canonical text, "" none).  A rollout may have no group when it
 * has a selector: it then targets every device the selector matches.  One
 * with neither would target the whole fleet by accident: refused.  0, or
 * OTA_EINVAL with the reason in err.  Pure.
 */
int rollout_targets_check(
    size_t group_count, const char *selector, char *err, size_t errlen);

/* ---- stuck and failing devices (docs/rollouts.md) ---- */

#define ROLLOUT_DEVICE_TIMEOUT_MIN_SEC 60
#define ROLLOUT_DEVICE_TIMEOUT_MAX_SEC (30 * 24 * 3600)
#define ROLLOUT_MAX_RETRIES_MAX 100
#define ROLLOUT_RETRY_BACKOFF_MAX_SEC (7 * 24 * 3600)
#define ROLLOUT_RETRY_BACKOFF_DEFAULT_SEC 300
/* The longest wait before a retry, whatever the doubling gives. */
#define ROLLOUT_RETRY_WAIT_MAX_SEC (30 * 24 * 3600)
/* LwM2M firmware update results (/5/0/5) a failure may carry: 0..11. */
#define ROLLOUT_RESULT_CODES 12

/*
 * The outcomes of a device's update the health gate may count against a
 * rollout (its abort_on: a set of bits 1 << outcome).  A new outcome is
 * one more entry here and in rollout.c's names.
 */
enum rollout_outcome {
	ROLLOUT_OUTCOME_FAILED,
	ROLLOUT_OUTCOME_TIMED_OUT,
	ROLLOUT_OUTCOME_REVERTED,
	ROLLOUT_OUTCOME_DECLINED, /* consent refused (require_consent) */
	ROLLOUT_OUTCOME_COUNT     /* not an outcome */
};
#define ROLLOUT_OUTCOMES_ALL ((1u << ROLLOUT_OUTCOME_COUNT) - 1u)
/* failed, timed_out, reverted: a decline is the user's choice, counted
 * only when abort_on names it. */
#define ROLLOUT_OUTCOMES_DEFAULT                                               \
	((1u << ROLLOUT_OUTCOME_FAILED) | (1u << ROLLOUT_OUTCOME_TIMED_OUT) |  \
	    (1u << ROLLOUT_OUTCOME_REVERTED))
/* Room for the text of any set: every name and a comma after each. */
#define ROLLOUT_OUTCOMES_TEXT_MAX 64
/* Room for the text of any set of result codes ("0,1,...,11"). */
#define ROLLOUT_RESULTS_TEXT_MAX 32

/* "failed", "timed_out", "reverted"; NULL outside the enum. */
const char *rollout_outcome_name(enum rollout_outcome o);

/*
 * Parses a set of outcomes written as names separated by commas
 * ("failed,reverted"; spaces around a name allowed, "" the empty set) into
 * *out.  0, or OTA_EINVAL for an unknown name, one named twice or text
 * longer than ROLLOUT_OUTCOMES_TEXT_MAX, with the reason in err ("abort_on:
 * ...").  *out written only on success.  Pure.
 */
int rollout_outcomes_parse(
    const char *text, unsigned *out, char *err, size_t errlen);

/* The canonical text of set (names in enum order, "," between, "" for
 * none; unknown bits ignored) into out[len] (len >= ROLLOUT_OUTCOMES_TEXT_MAX
 * always fits).  Pure. */
void rollout_outcomes_format(unsigned set, char *out, size_t len);

/*
 * Parses a set of result codes written as integers 0..11 separated by
 * commas ("3,4"; spaces allowed, "" none) into the mask *out (bit r for
 * code r).  0, or OTA_EINVAL (a code outside 0..11, not a number, named
 * twice, or longer than ROLLOUT_RESULTS_TEXT_MAX) with the reason in err
 * ("ignore_results: ...").  Pure.
 */
int rollout_results_parse(
    const char *text, uint32_t *out, char *err, size_t errlen);

/* The canonical text of a mask of result codes ("3,4", ascending, "" for
 * none) into out[len] (ROLLOUT_RESULTS_TEXT_MAX fits any).  Pure. */
void rollout_results_format(uint32_t mask, char *out, size_t len);

/* What a breach of the health gate does to a running rollout. */
enum rollout_breach_action {
	ROLLOUT_BREACH_PAUSE, /* the default: a person looks, then resumes */
	ROLLOUT_BREACH_ABORT, /* final: nothing more is offered */
};

/* "pause", "abort"; NULL outside the enum.  parse: 0 or OTA_EINVAL. */
const char *rollout_breach_action_name(enum rollout_breach_action a);
int rollout_breach_action_parse(
    const char *name, enum rollout_breach_action *out);

#define ROLLOUT_RATE_MAX 1000000 /* offers per minute */
/* The longest wait before a declined device is asked again. */
#define ROLLOUT_CONSENT_RETRY_MAX_SEC (365 * 24 * 3600)
#define ROLLOUT_RATE_RAMP_MAX_MIN 1440

/*
 * What a rollout does with stuck and failing devices (the timeout of an
 * update, its retries, which outcomes its gate counts and what a breach
 * does) and how fast it makes new offers (rate control).
 */
struct rollout_stuck_policy {
	int64_t device_timeout_sec; /* 0: none */
	uint32_t max_retries;       /* 0: a failure is final */
	int64_t retry_backoff_sec;  /* the first retry's wait, doubling */
	unsigned abort_on;          /* bits 1 << enum rollout_outcome */
	uint32_t ignore_results;    /* bits 1 << LwM2M result not counted */
	enum rollout_breach_action breach_action;
	/* rate control: new offers per minute (0: no limit), doubled every
	 * rate_ramp_min minutes the stage runs (0: no ramp) up to
	 * rate_ramp_max per minute */
	uint32_t max_offers_per_minute;
	uint32_t rate_ramp_min;
	uint32_t rate_ramp_max;
	/* consent (docs/rollouts.md "Consent"): the device must accept
	 * before it installs; a decline is asked again consent_retry_sec
	 * after it (0: never again in this rollout) */
	int require_consent;
	int64_t consent_retry_sec;
};

/* The policy of a rollout created without one: no timeout, no retry,
 * every outcome counted, a breach pausing. */
void rollout_stuck_defaults(struct rollout_stuck_policy *out);

/*
 * Validates p: device_timeout_sec 0 or 60 s..30 days, max_retries
 * 0..100, retry_backoff_sec 0..7 days, abort_on and ignore_results within
 * their bits, breach_action in its enum; max_offers_per_minute
 * 0..ROLLOUT_RATE_MAX; a ramp (rate_ramp_min 1..1440) only with a rate,
 * its rate_ramp_max at least that rate and at most ROLLOUT_RATE_MAX;
 * without a ramp rate_ramp_max 0; require_consent 0 or 1,
 * consent_retry_sec 0..ROLLOUT_CONSENT_RETRY_MAX_SEC (and 0 without
 * consent).  0, or OTA_EINVAL with a one-line
 * reason naming the field in err.  Pure.
 */
int rollout_stuck_check(
    const struct rollout_stuck_policy *p, char *err, size_t errlen);

/* A rollout's device_updates counts as the gate's tally reads them. */
struct rollout_outcome_counts {
	uint64_t completed, failed, timed_out, reverted, declined;
	/* failed by result code (unknown result: 0); sums to failed */
	uint64_t failed_by_result[ROLLOUT_RESULT_CODES];
};

/*
 * The gate's good and bad counts under abort_on and ignore_results: good
 * is completed; bad adds each outcome of abort_on (failed without those
 * whose result code is in ignore_results).  An outcome not counted is
 * left out of both, as if not reported: the failure rate is bad / (good +
 * bad).  0, or OTA_EINVAL for a NULL argument or counts whose sums
 * overflow (the out-parameters then untouched).  Pure.
 */
int rollout_gate_tally(const struct rollout_outcome_counts *c,
    unsigned abort_on, uint32_t ignore_results, uint64_t *out_good,
    uint64_t *out_bad);

/* What a poll does with a rollout whose update of the device ended badly
 * (failed or timed_out): rollout_retry_decide. */
enum rollout_retry {
	ROLLOUT_RETRY_WAIT, /* within the backoff: not offered this poll */
	ROLLOUT_RETRY_DUE,  /* offered again, as retry retries_done + 1 */
	ROLLOUT_RETRY_DONE, /* retries exhausted: never offered again */
};

/*
 * The retry rule: a device whose update in a rollout ended badly at
 * outcome_at (unix seconds) after retries_done retries is offered again
 * when retries_done < max_retries, once now >= outcome_at + backoff_sec *
 * 2^retries_done (the wait capped at ROLLOUT_RETRY_WAIT_MAX_SEC).
 * *out_due_at (may be NULL) gets that time (0 for DONE).  Pure.
 */
enum rollout_retry rollout_retry_decide(uint32_t max_retries,
    int64_t backoff_sec, uint32_t retries_done, int64_t outcome_at, int64_t now,
    int64_t *out_due_at);

/* What a poll does about consent for a rollout it offers: the answer
 * of rollout_consent_decide. */
enum rollout_consent {
	ROLLOUT_CONSENT_NONE,     /* not required: offered as usual */
	ROLLOUT_CONSENT_REQUIRED, /* offered, to be accepted first */
	ROLLOUT_CONSENT_GIVEN,    /* accepted (or installing): go on */
	ROLLOUT_CONSENT_WAIT,     /* declined: not offered this poll */
};

/* "required", "given"; NULL for NONE, WAIT and outside the enum: the
 * REST manifest's "consent" field. */
const char *rollout_consent_name(enum rollout_consent c);

/*
 * The consent rule: for a rollout of policy p and a device whose update
 * in it has status (enum update_state; 0 for none) since status_at (unix
 * seconds; for declined, when it declined), at now.  NONE when p does
 * not require consent; GIVEN when the update is accepted, started or in
 * progress; WAIT when it is declined and p->consent_retry_sec is 0 or
 * now is before status_at + p->consent_retry_sec (*out_due_at, may be
 * NULL, gets that time, 0 when never); REQUIRED otherwise (no answer
 * yet, or the re-ask is due).  Pure.
 */
enum rollout_consent rollout_consent_decide(
    const struct rollout_stuck_policy *p, unsigned status, int64_t status_at,
    int64_t now, int64_t *out_due_at);

/*
 * The rate of new offers of a rollout whose stage has been running for
 * running_sec seconds: p->max_offers_per_minute, doubled every
 * p->rate_ramp_min minutes (none when 0) up to p->rate_ramp_max.  0: no
 * limit.  Pure.
 */
uint32_t rollout_rate_per_minute(
    const struct rollout_stuck_policy *p, int64_t running_sec);

/*
 * The rate limit's decision (a GCRA, the token bucket in one number): a
 * new offer at now_us (microseconds) under rate_per_min (> 0), with tat_us
 * the bucket's theoretical arrival time (0 at first), is admitted when
 * tat_us - (60 s - 60 s / rate) <= now_us: a burst of up to rate offers,
 * then one every 60 s / rate.  Returns 1 with *out_tat_us the bucket's
 * next state, or 0 (denied: the bucket unchanged).  Pure.
 */
int rollout_rate_admit(
    int64_t tat_us, int64_t now_us, uint32_t rate_per_min, int64_t *out_tat_us);

#endif
