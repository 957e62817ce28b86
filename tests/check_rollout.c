/*
 * check_rollout: the rollout rules as tests.  Every (state, action) pair,
 * stage parsing at its edges, the bucket hash (the worked example of
 * docs/rollouts.md, determinism, monotonic stages, uniformity and the
 * independence of two rollouts over 10,000 device ids), every reason a
 * device is or is not offered an image, and the health gates' arithmetic
 * (the simple rule and the wilson score test at its edges).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "errors.h"
#include "rollout.h"
#include "update_state.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NDEVICES 10000

/* The worked example's salt (docs/rollouts.md): bytes 0x00..0x1f. */
static void
salt_sequence(unsigned char salt[ROLLOUT_SALT_BYTES], unsigned char first)
{
	for (size_t i = 0; i < ROLLOUT_SALT_BYTES; i++)
		salt[i] = (unsigned char)(first + i);
}

static void
device_name(char *buf, size_t len, int i)
{
	snprintf(buf, len, "dev-%05d", i);
}

/* ---- names ---- */

START_TEST(test_names_roundtrip)
{
	static const char *const states[] = {
	    "draft", "running", "paused", "completed", "aborted"};
	static const char *const actions[] = {
	    "start", "pause", "resume", "advance", "abort"};

	for (int i = 0; i < (int)NELEM(states); i++) {
		enum rollout_state s = ROLLOUT_ABORTED;

		ck_assert_str_eq(
		    rollout_state_name((enum rollout_state)i), states[i]);
		ck_assert_int_eq(rollout_state_parse(states[i], &s), 0);
		ck_assert_int_eq(s, i);
	}
	for (int i = 0; i < (int)NELEM(actions); i++) {
		enum rollout_action a = ROLLOUT_ABORT;

		ck_assert_str_eq(
		    rollout_action_name((enum rollout_action)i), actions[i]);
		ck_assert_int_eq(rollout_action_parse(actions[i], &a), 0);
		ck_assert_int_eq(a, i);
	}
	ck_assert_ptr_null(rollout_state_name((enum rollout_state)5));
	ck_assert_ptr_null(rollout_state_name((enum rollout_state) - 1));
	ck_assert_ptr_null(rollout_action_name((enum rollout_action)5));
}
END_TEST

START_TEST(test_names_unknown)
{
	static const char *const bad[] = {
	    "", "Running", "RUNNING", "run", "running ", "stop", "start\n"};
	enum rollout_state s = ROLLOUT_PAUSED;
	enum rollout_action a = ROLLOUT_PAUSE;

	for (size_t i = 0; i < NELEM(bad); i++) {
		ck_assert_int_eq(rollout_state_parse(bad[i], &s), OTA_EINVAL);
		ck_assert_int_eq(rollout_action_parse(bad[i], &a), OTA_EINVAL);
	}
	ck_assert_int_eq(rollout_state_parse("start", &s), OTA_EINVAL);
	ck_assert_int_eq(rollout_action_parse("draft", &a), OTA_EINVAL);
	ck_assert_int_eq(rollout_state_parse(NULL, &s), OTA_EINVAL);
	ck_assert_int_eq(rollout_action_parse(NULL, &a), OTA_EINVAL);
	ck_assert_int_eq(rollout_state_parse("draft", NULL), OTA_EINVAL);
	ck_assert_int_eq(rollout_action_parse("start", NULL), OTA_EINVAL);
	/* Untouched on failure. */
	ck_assert_int_eq(s, ROLLOUT_PAUSED);
	ck_assert_int_eq(a, ROLLOUT_PAUSE);
}
END_TEST

/* ---- rollout_transition ---- */

#define X -1 /* refused with OTA_ECONFLICT */

/*
 * Expected state after each action from each state, at stage 1 of 4 (not
 * the last stage); X marks a refusal.
 */
static const int transition_table[5][5] = {
    /*                 start            pause           resume
       advance          abort */
    [ROLLOUT_DRAFT] = {ROLLOUT_RUNNING, X, X, X, ROLLOUT_ABORTED},
    [ROLLOUT_RUNNING] = {X, ROLLOUT_PAUSED, X, ROLLOUT_RUNNING,
        ROLLOUT_ABORTED},
    [ROLLOUT_PAUSED] = {X, X, ROLLOUT_RUNNING, ROLLOUT_PAUSED, ROLLOUT_ABORTED},
    [ROLLOUT_COMPLETED] = {X, X, X, X, X},
    [ROLLOUT_ABORTED] = {X, X, X, X, X},
};

START_TEST(test_transition_table)
{
	for (int from = 0; from < 5; from++)
		for (int act = 0; act < 5; act++) {
			enum rollout_state to = (enum rollout_state)99;
			int stage = 99;
			int from_stage = from == ROLLOUT_DRAFT ? 0 : 1;
			int want = transition_table[from][act];
			int rc = rollout_transition((enum rollout_state)from,
			    from_stage, 4, (enum rollout_action)act, &to,
			    &stage);

			if (want == X) {
				ck_assert_msg(rc == OTA_ECONFLICT,
				    "%s -%s-> should be refused",
				    rollout_state_name(from),
				    rollout_action_name(act));
				ck_assert_int_eq(to, 99);
				ck_assert_int_eq(stage, 99);
				continue;
			}
			ck_assert_msg(rc == 0, "%s -%s-> refused",
			    rollout_state_name(from), rollout_action_name(act));
			ck_assert_int_eq(to, want);
			if (act == ROLLOUT_START)
				ck_assert_int_eq(stage, 0);
			else if (act == ROLLOUT_ADVANCE)
				ck_assert_int_eq(stage, from_stage + 1);
			else
				ck_assert_int_eq(stage, from_stage);
		}
}
END_TEST

START_TEST(test_transition_advance_last)
{
	enum rollout_state to;
	int stage;

	/* From the last stage, running or paused: completed. */
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 3, 4,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    0);
	ck_assert_int_eq(to, ROLLOUT_COMPLETED);
	ck_assert_int_eq(stage, 3);
	ck_assert_int_eq(rollout_transition(ROLLOUT_PAUSED, 3, 4,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    0);
	ck_assert_int_eq(to, ROLLOUT_COMPLETED);
	ck_assert_int_eq(stage, 3);
	/* A one-stage rollout completes on its first advance. */
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 0, 1,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    0);
	ck_assert_int_eq(to, ROLLOUT_COMPLETED);
	ck_assert_int_eq(stage, 0);
	/* The largest rollout: second-to-last advances, last completes. */
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 14, 16,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    0);
	ck_assert_int_eq(to, ROLLOUT_RUNNING);
	ck_assert_int_eq(stage, 15);
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 15, 16,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    0);
	ck_assert_int_eq(to, ROLLOUT_COMPLETED);
	/* Abort keeps the stage reached, for the record. */
	ck_assert_int_eq(rollout_transition(
	                     ROLLOUT_PAUSED, 2, 4, ROLLOUT_ABORT, &to, &stage),
	    0);
	ck_assert_int_eq(to, ROLLOUT_ABORTED);
	ck_assert_int_eq(stage, 2);
}
END_TEST

/* The final states refuse everything, at every stage. */
START_TEST(test_transition_final)
{
	for (int from = ROLLOUT_COMPLETED; from <= ROLLOUT_ABORTED; from++)
		for (int act = 0; act < 5; act++)
			for (int st = 0; st < 4; st++) {
				enum rollout_state to;
				int stage;

				ck_assert_int_eq(
				    rollout_transition((enum rollout_state)from,
				        st, 4, (enum rollout_action)act, &to,
				        &stage),
				    OTA_ECONFLICT);
			}
}
END_TEST

/* A whole life: start, pause, resume, advance through every stage. */
START_TEST(test_transition_lifecycle)
{
	enum rollout_state s = ROLLOUT_DRAFT;
	int stage = 0, n = ROLLOUT_DEFAULT_STAGE_COUNT;

	ck_assert_int_eq(
	    rollout_transition(s, stage, n, ROLLOUT_START, &s, &stage), 0);
	ck_assert_int_eq(s, ROLLOUT_RUNNING);
	ck_assert_int_eq(
	    rollout_transition(s, stage, n, ROLLOUT_PAUSE, &s, &stage), 0);
	ck_assert_int_eq(s, ROLLOUT_PAUSED);
	ck_assert_int_eq(
	    rollout_transition(s, stage, n, ROLLOUT_PAUSE, &s, &stage),
	    OTA_ECONFLICT);
	ck_assert_int_eq(
	    rollout_transition(s, stage, n, ROLLOUT_RESUME, &s, &stage), 0);
	ck_assert_int_eq(s, ROLLOUT_RUNNING);
	ck_assert_int_eq(
	    rollout_transition(s, stage, n, ROLLOUT_RESUME, &s, &stage),
	    OTA_ECONFLICT);
	for (int i = 1; i < n; i++) {
		ck_assert_int_eq(rollout_transition(
		                     s, stage, n, ROLLOUT_ADVANCE, &s, &stage),
		    0);
		ck_assert_int_eq(s, ROLLOUT_RUNNING);
		ck_assert_int_eq(stage, i);
	}
	ck_assert_int_eq(
	    rollout_transition(s, stage, n, ROLLOUT_ADVANCE, &s, &stage), 0);
	ck_assert_int_eq(s, ROLLOUT_COMPLETED);
	ck_assert_int_eq(
	    rollout_transition(s, stage, n, ROLLOUT_ABORT, &s, &stage),
	    OTA_ECONFLICT);
}
END_TEST

START_TEST(test_transition_invalid)
{
	enum rollout_state to = ROLLOUT_DRAFT;
	int stage = 7;

	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 0, 0,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 0, 17,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 0, -1,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, -1, 4,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 4, 4,
	                     ROLLOUT_ADVANCE, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition((enum rollout_state)5, 0, 4,
	                     ROLLOUT_ABORT, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition((enum rollout_state) - 1, 0, 4,
	                     ROLLOUT_ABORT, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 0, 4,
	                     (enum rollout_action)5, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_transition(ROLLOUT_RUNNING, 0, 4,
	                     ROLLOUT_PAUSE, NULL, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_transition(ROLLOUT_RUNNING, 0, 4, ROLLOUT_PAUSE, &to, NULL),
	    OTA_EINVAL);
	/* Input errors take precedence over a refused pair. */
	ck_assert_int_eq(rollout_transition(
	                     ROLLOUT_ABORTED, 5, 4, ROLLOUT_START, &to, &stage),
	    OTA_EINVAL);
	ck_assert_int_eq(to, ROLLOUT_DRAFT);
	ck_assert_int_eq(stage, 7);
}
END_TEST

/* ---- rollout_decide ---- */

/* Every pair: the same verdict and state as rollout_transition, and the
 * times and reason each action changes. */
START_TEST(test_decide_table)
{
	for (int from = 0; from < 5; from++) {
		for (int act = 0; act < 5; act++) {
			struct rollout_change ch;
			enum rollout_state to = ROLLOUT_DRAFT;
			int stage = 0, want, got;

			want = rollout_transition((enum rollout_state)from, 1,
			    4, (enum rollout_action)act, &to, &stage);
			memset(&ch, 0x5a, sizeof(ch));
			got = rollout_decide((enum rollout_state)from, 1, 4,
			    (enum rollout_action)act, -1, &ch);
			ck_assert_int_eq(got, want);
			if (got != 0) {
				ck_assert_int_eq(ch.stage_index, 0x5a5a5a5a);
				continue;
			}
			ck_assert_int_eq(ch.from, from);
			ck_assert_int_eq(ch.to, to);
			ck_assert_int_eq(ch.stage_index, stage);
			ck_assert_int_eq(
			    ch.set_started_at, act == ROLLOUT_START);
			ck_assert_int_eq(ch.set_stage_started_at,
			    act == ROLLOUT_START || act == ROLLOUT_RESUME ||
			        act == ROLLOUT_ADVANCE);
			ck_assert_int_eq(
			    ch.set_finished_at, act == ROLLOUT_ABORT);
			ck_assert_int_eq(ch.reason,
			    act == ROLLOUT_PAUSE || act == ROLLOUT_ABORT
			        ? ROLLOUT_REASON_SET
			    : act == ROLLOUT_RESUME ? ROLLOUT_REASON_CLEAR
			                            : ROLLOUT_REASON_KEEP);
		}
	}
}
END_TEST

/* Advance from the last stage completes: finished, the stage's clock
 * untouched; the stage guard refuses another stage; bad arguments. */
START_TEST(test_decide_edges)
{
	struct rollout_change ch;

	ck_assert_int_eq(
	    rollout_decide(ROLLOUT_RUNNING, 3, 4, ROLLOUT_ADVANCE, 3, &ch), 0);
	ck_assert_int_eq(ch.to, ROLLOUT_COMPLETED);
	ck_assert_int_eq(ch.stage_index, 3);
	ck_assert_int_eq(ch.set_finished_at, 1);
	ck_assert_int_eq(ch.set_stage_started_at, 0);
	ck_assert_int_eq(ch.reason, ROLLOUT_REASON_KEEP);
	ck_assert_int_eq(
	    rollout_decide(ROLLOUT_RUNNING, 1, 4, ROLLOUT_ADVANCE, 0, &ch),
	    OTA_ECONFLICT);
	ck_assert_int_eq(
	    rollout_decide(ROLLOUT_RUNNING, 1, 4, ROLLOUT_PAUSE, 2, &ch),
	    OTA_ECONFLICT);
	ck_assert_int_eq(
	    rollout_decide(ROLLOUT_RUNNING, 1, 4, ROLLOUT_PAUSE, 1, &ch), 0);
	ck_assert_int_eq(ch.to, ROLLOUT_PAUSED);
	/* A refused transition wins over the stage guard's verdict. */
	ck_assert_int_eq(
	    rollout_decide(ROLLOUT_ABORTED, 1, 4, ROLLOUT_START, 1, &ch),
	    OTA_ECONFLICT);
	ck_assert_int_eq(
	    rollout_decide(ROLLOUT_RUNNING, 0, 0, ROLLOUT_PAUSE, -1, &ch),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_decide(ROLLOUT_RUNNING, 0, 4, ROLLOUT_PAUSE, -1, NULL),
	    OTA_EINVAL);
	ck_assert_int_eq(rollout_decide(ROLLOUT_RUNNING, 0, 4,
	                     (enum rollout_action)9, -1, &ch),
	    OTA_EINVAL);
}
END_TEST

/* ---- rollout_percent_text ---- */

START_TEST(test_percent_text)
{
	char out[16];

	rollout_percent_text(0.05, out, sizeof(out));
	ck_assert_str_eq(out, "5.0");
	rollout_percent_text(0.0125, out, sizeof(out));
	ck_assert_str_eq(out, "1.25");
	rollout_percent_text(0.000001, out, sizeof(out));
	ck_assert_str_eq(out, "0.0001");
	rollout_percent_text(1, out, sizeof(out));
	ck_assert_str_eq(out, "100.0");
	rollout_percent_text(0.123456, out, sizeof(out));
	ck_assert_str_eq(out, "12.3456");
}
END_TEST

/* ---- rollout_stages_parse ---- */

START_TEST(test_stages_valid)
{
	uint16_t bp[ROLLOUT_MAX_STAGES];
	char err[128];
	static const double one[] = {100};
	static const double fine[] = {0.01, 0.1, 33.33, 66.67, 99.99, 100};
	static const uint16_t fine_bp[] = {1, 10, 3333, 6667, 9999, 10000};
	double sixteen[ROLLOUT_MAX_STAGES];

	ck_assert_int_eq(rollout_stages_parse(rollout_default_stages_pct,
	                     ROLLOUT_DEFAULT_STAGE_COUNT, bp, err, sizeof(err)),
	    0);
	for (size_t i = 0; i < ROLLOUT_DEFAULT_STAGE_COUNT; i++)
		ck_assert_uint_eq(bp[i], rollout_default_stages_bp[i]);
	ck_assert_uint_eq(rollout_default_stages_bp[0], 100);
	ck_assert_uint_eq(rollout_default_stages_bp[3], 10000);

	ck_assert_int_eq(rollout_stages_parse(one, 1, bp, err, sizeof(err)), 0);
	ck_assert_uint_eq(bp[0], 10000);

	ck_assert_int_eq(
	    rollout_stages_parse(fine, NELEM(fine), bp, err, sizeof(err)), 0);
	for (size_t i = 0; i < NELEM(fine); i++)
		ck_assert_uint_eq(bp[i], fine_bp[i]);

	for (int i = 0; i < ROLLOUT_MAX_STAGES; i++)
		sixteen[i] = 100.0 - (ROLLOUT_MAX_STAGES - 1 - i) * 6.25;
	ck_assert_int_eq(rollout_stages_parse(
	                     sixteen, ROLLOUT_MAX_STAGES, bp, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(bp[0], 625);
	ck_assert_uint_eq(bp[15], 10000);

	/* Every two-decimal value survives binary rounding. */
	for (int v = 1; v < 10000; v++) {
		double two[2] = {v / 100.0, 100};

		ck_assert_int_eq(rollout_stages_parse(two, 2, bp, NULL, 0), 0);
		ck_assert_uint_eq(bp[0], v);
	}
}
END_TEST

/* A refused list, the index its error must name, and a note. */
struct stages_bad {
	double pcts[ROLLOUT_MAX_STAGES + 1];
	size_t n;
	const char *err_has;
};

START_TEST(test_stages_invalid)
{
	static const struct stages_bad bad[] = {
	    {{0, 100}, 2, "stages[0]"},
	    {{-1, 100}, 2, "stages[0]"},
	    {{1, 100.01}, 2, "stages[1]"},
	    {{1, 101}, 2, "stages[1]"},
	    {{0.001, 100}, 2, "stages[0]"},
	    {{0.004, 100}, 2, "stages[0]"},
	    {{1.005, 100}, 2, "stages[0]"},
	    {{1, 5.125, 100}, 3, "stages[1]"},
	    {{1, 5, 5, 100}, 4, "stages[2]"},
	    {{1, 25, 5, 100}, 4, "stages[2]"},
	    {{1, 5, 100, 100}, 4, "stages[3]"},
	    {{1, 5, 25}, 3, "stages[2]"},
	    {{50}, 1, "stages[0]"},
	    {{1, 5, 25, 100}, 0, "stages:"},
	    {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 100}, 17,
	        "stages:"},
	};
	uint16_t bp[ROLLOUT_MAX_STAGES + 1];
	char err[128];

	for (size_t i = 0; i < NELEM(bad); i++) {
		for (size_t j = 0; j < NELEM(bp); j++)
			bp[j] = 42;
		err[0] = '\0';
		ck_assert_msg(rollout_stages_parse(bad[i].pcts, bad[i].n, bp,
		                  err, sizeof(err)) == OTA_EINVAL,
		    "case %zu accepted", i);
		ck_assert_msg(strstr(err, bad[i].err_has) != NULL,
		    "case %zu: '%s' lacks '%s'", i, err, bad[i].err_has);
		for (size_t j = 0; j < NELEM(bp); j++)
			ck_assert_uint_eq(bp[j], 42);
	}
}
END_TEST

START_TEST(test_stages_not_finite)
{
	double nan_first[] = {NAN, 100};
	double inf_last[] = {1, INFINITY};
	double neg_inf[] = {-INFINITY, 100};
	uint16_t bp[2];
	char err[128];

	ck_assert_int_eq(
	    rollout_stages_parse(nan_first, 2, bp, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "stages[0]"));
	ck_assert_int_eq(
	    rollout_stages_parse(inf_last, 2, bp, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "stages[1]"));
	ck_assert_int_eq(
	    rollout_stages_parse(neg_inf, 2, bp, err, sizeof(err)), OTA_EINVAL);
}
END_TEST

START_TEST(test_stages_args)
{
	static const double ok[] = {1, 100};
	uint16_t bp[2];
	char tiny[8];

	ck_assert_int_eq(
	    rollout_stages_parse(NULL, 2, bp, tiny, sizeof(tiny)), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_stages_parse(ok, 2, NULL, tiny, sizeof(tiny)), OTA_EINVAL);
	/* err may be absent; a short one is truncated, terminated. */
	ck_assert_int_eq(rollout_stages_parse(ok, 0, bp, NULL, 0), OTA_EINVAL);
	memset(tiny, 'x', sizeof(tiny));
	ck_assert_int_eq(
	    rollout_stages_parse(ok, 0, bp, tiny, sizeof(tiny)), OTA_EINVAL);
	ck_assert_uint_eq(strlen(tiny), sizeof(tiny) - 1);
}
END_TEST

/* ---- rollout_bucket, rollout_bucket_in_stage ---- */

/* The worked example of docs/rollouts.md, also checked there in Python. */
START_TEST(test_bucket_worked_example)
{
	unsigned char salt[ROLLOUT_SALT_BYTES];

	salt_sequence(salt, 0);
	ck_assert_uint_eq(rollout_bucket(salt, "sensor-0002"), 897);
	ck_assert_uint_eq(rollout_bucket(salt, "sensor-0001"), 9984);
	ck_assert_uint_eq(rollout_bucket(salt, "sensor-0019"), 796);
	ck_assert_int_eq(rollout_bucket_in_stage(897, 100), 0);
	ck_assert_int_eq(rollout_bucket_in_stage(897, 500), 0);
	ck_assert_int_eq(rollout_bucket_in_stage(897, 2500), 1);
	ck_assert_int_eq(rollout_bucket_in_stage(897, 10000), 1);
}
END_TEST

START_TEST(test_bucket_deterministic)
{
	unsigned char salt[ROLLOUT_SALT_BYTES], copy[ROLLOUT_SALT_BYTES];
	char id[32];

	salt_sequence(salt, 7);
	memcpy(copy, salt, sizeof(salt));
	for (int i = 0; i < NDEVICES; i++) {
		uint32_t b;

		device_name(id, sizeof(id), i);
		b = rollout_bucket(salt, id);
		ck_assert_uint_lt(b, 10000);
		if (rollout_bucket(copy, id) != b)
			ck_abort_msg("bucket of %s changed", id);
	}
	/* One more byte of id, or of salt, is another bucket (here). */
	ck_assert_uint_ne(rollout_bucket(salt, "sensor-0002"),
	    rollout_bucket(salt, "sensor-00020"));
	copy[31] ^= 1;
	ck_assert_uint_ne(rollout_bucket(salt, "sensor-0002"),
	    rollout_bucket(copy, "sensor-0002"));
	ck_assert_uint_lt(rollout_bucket(salt, ""), 10000);
}
END_TEST

START_TEST(test_bucket_in_stage_edges)
{
	ck_assert_int_eq(rollout_bucket_in_stage(0, 1), 1);
	ck_assert_int_eq(rollout_bucket_in_stage(1, 1), 0);
	ck_assert_int_eq(rollout_bucket_in_stage(99, 100), 1);
	ck_assert_int_eq(rollout_bucket_in_stage(100, 100), 0);
	ck_assert_int_eq(rollout_bucket_in_stage(9999, 9999), 0);
	ck_assert_int_eq(rollout_bucket_in_stage(9999, 10000), 1);
}
END_TEST

/* A device in at a stage is in at every larger stage. */
START_TEST(test_bucket_monotonic)
{
	static const uint16_t stages[] = {
	    1, 100, 500, 1000, 2500, 5000, 7500, 9999, 10000};
	unsigned char salt[ROLLOUT_SALT_BYTES];
	char id[32];
	int in_count[NELEM(stages)] = {0};

	salt_sequence(salt, 0x40);
	for (int d = 0; d < NDEVICES; d++) {
		uint32_t b;

		device_name(id, sizeof(id), d);
		b = rollout_bucket(salt, id);
		for (size_t i = 0; i < NELEM(stages); i++) {
			in_count[i] += rollout_bucket_in_stage(b, stages[i]);
			for (size_t j = i + 1; j < NELEM(stages); j++)
				if (rollout_bucket_in_stage(b, stages[i]) &&
				    !rollout_bucket_in_stage(b, stages[j]))
					ck_abort_msg("%s in at %u bp, out at "
					             "%u bp",
					    id, stages[i], stages[j]);
		}
	}
	for (size_t i = 1; i < NELEM(stages); i++)
		ck_assert_int_le(in_count[i - 1], in_count[i]);
	ck_assert_int_eq(in_count[NELEM(stages) - 1], NDEVICES);
}
END_TEST

START_TEST(test_bucket_uniform)
{
	unsigned char salt[ROLLOUT_SALT_BYTES];
	char id[32];
	int in25 = 0, in5 = 0, tenths[10] = {0};

	salt_sequence(salt, 0x80);
	for (int d = 0; d < NDEVICES; d++) {
		uint32_t b;

		device_name(id, sizeof(id), d);
		b = rollout_bucket(salt, id);
		in25 += rollout_bucket_in_stage(b, 2500);
		in5 += rollout_bucket_in_stage(b, 500);
		tenths[b / 1000]++;
	}
	ck_assert_int_ge(in25, 2300);
	ck_assert_int_le(in25, 2700);
	ck_assert_int_ge(in5, 400);
	ck_assert_int_le(in5, 600);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_ge(tenths[i], 850);
		ck_assert_int_le(tenths[i], 1150);
	}
}
END_TEST

/* Two rollouts' 10% sets overlap on about 10% x 10% = 1% of devices. */
START_TEST(test_bucket_independent)
{
	unsigned char salt_a[ROLLOUT_SALT_BYTES], salt_b[ROLLOUT_SALT_BYTES];
	char id[32];
	int in_a = 0, in_b = 0, both = 0;

	salt_sequence(salt_a, 0x11);
	salt_sequence(salt_b, 0x12);
	for (int d = 0; d < NDEVICES; d++) {
		int a, b;

		device_name(id, sizeof(id), d);
		a = rollout_bucket_in_stage(rollout_bucket(salt_a, id), 1000);
		b = rollout_bucket_in_stage(rollout_bucket(salt_b, id), 1000);
		in_a += a;
		in_b += b;
		both += a && b;
	}
	ck_assert_int_ge(in_a, 850);
	ck_assert_int_le(in_a, 1150);
	ck_assert_int_ge(in_b, 850);
	ck_assert_int_le(in_b, 1150);
	/* Expected 100, standard deviation about 10. */
	ck_assert_int_ge(both, 50);
	ck_assert_int_le(both, 150);
}
END_TEST

/* ---- rollout_pick_offer ---- */

static const char *const hw_ab[] = {"revA", "revB"};
static const char *const hw_c[] = {"revC"};
static const unsigned char offer_salt[ROLLOUT_SALT_BYTES] = {0, 1, 2, 3, 4, 5,
    6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31};

/* A running rollout of image version v to everyone (revA, revB). */
static struct rollout_candidate
candidate(int64_t id, const char *v)
{
	struct rollout_candidate c = {
	    .rollout_id = id,
	    .salt = offer_salt,
	    .state = ROLLOUT_RUNNING,
	    .stage_bp = 10000,
	    .image_version = v,
	    .min_version = "",
	    .hardware = hw_ab,
	    .hardware_count = NELEM(hw_ab),
	    .in_group = 1,
	};

	return c;
}

/* rollout_pick_offer for sensor-0002 (bucket 897) on revB at installed. */
static int
pick(const struct rollout_candidate *c, size_t n, const char *installed,
    size_t *out)
{
	return rollout_pick_offer(c, n, "sensor-0002", "revB", installed, out);
}

START_TEST(test_offer_basic)
{
	struct rollout_candidate c[1] = {candidate(1, "1.1.0")};
	size_t idx = 99;

	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(
	    rollout_pick_offer(c, 1, "sensor-0002", "revA", "1.0.0", &idx), 0);
	idx = 99;
	ck_assert_int_eq(pick(NULL, 0, "1.0.0", &idx), OTA_ENOTFOUND);
	ck_assert_int_eq(pick(c, 0, "1.0.0", &idx), OTA_ENOTFOUND);
	ck_assert_uint_eq(idx, 99);
}
END_TEST

START_TEST(test_offer_wrong_hardware)
{
	struct rollout_candidate c[1] = {candidate(1, "1.1.0")};
	size_t idx = 99;

	ck_assert_int_eq(
	    rollout_pick_offer(c, 1, "sensor-0002", "revC", "1.0.0", &idx),
	    OTA_ENOTFOUND);
	/* Exact match only. */
	ck_assert_int_eq(
	    rollout_pick_offer(c, 1, "sensor-0002", "reva", "1.0.0", &idx),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    rollout_pick_offer(c, 1, "sensor-0002", "rev", "1.0.0", &idx),
	    OTA_ENOTFOUND);
	c[0].hardware = hw_c;
	c[0].hardware_count = NELEM(hw_c);
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), OTA_ENOTFOUND);
	c[0].hardware = NULL;
	c[0].hardware_count = 0;
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), OTA_ENOTFOUND);
	ck_assert_uint_eq(idx, 99);
}
END_TEST

START_TEST(test_offer_equal_or_older)
{
	struct rollout_candidate c[1] = {candidate(1, "1.1.0")};
	size_t idx = 99;

	ck_assert_int_eq(pick(c, 1, "1.1.0", &idx), OTA_ENOTFOUND);
	/* Build metadata does not count for precedence: still equal. */
	ck_assert_int_eq(pick(c, 1, "1.1.0+build.7", &idx), OTA_ENOTFOUND);
	ck_assert_int_eq(pick(c, 1, "1.2.0", &idx), OTA_ENOTFOUND);
	ck_assert_int_eq(pick(c, 1, "2.0.0-alpha", &idx), OTA_ENOTFOUND);
	ck_assert_int_eq(pick(c, 1, "1.1.1", &idx), OTA_ENOTFOUND);
	ck_assert_uint_eq(idx, 99);
}
END_TEST

START_TEST(test_offer_prerelease)
{
	struct rollout_candidate c[1] = {candidate(1, "1.0.0")};
	size_t idx = 99;

	ck_assert_int_eq(pick(c, 1, "1.0.0-rc.1", &idx), 0);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(pick(c, 1, "1.0.0-alpha", &idx), 0);
	/* rc.2 after rc.1, but the release after both. */
	c[0].image_version = "1.0.0-rc.2";
	ck_assert_int_eq(pick(c, 1, "1.0.0-rc.1", &idx), 0);
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), OTA_ENOTFOUND);
	c[0].image_version = "1.0.0-rc.11";
	ck_assert_int_eq(pick(c, 1, "1.0.0-rc.2", &idx), 0);
}
END_TEST

START_TEST(test_offer_min_version)
{
	struct rollout_candidate c[1] = {candidate(1, "2.0.0")};
	size_t idx = 99;

	c[0].min_version = "1.5.0";
	ck_assert_int_eq(pick(c, 1, "1.4.9", &idx), OTA_ENOTFOUND);
	ck_assert_int_eq(pick(c, 1, "1.5.0-rc.1", &idx), OTA_ENOTFOUND);
	ck_assert_uint_eq(idx, 99);
	ck_assert_int_eq(pick(c, 1, "1.5.0", &idx), 0);
	ck_assert_int_eq(pick(c, 1, "1.9.0", &idx), 0);
	c[0].min_version = NULL;
	ck_assert_int_eq(pick(c, 1, "0.0.1", &idx), 0);
	c[0].min_version = "";
	ck_assert_int_eq(pick(c, 1, "0.0.1", &idx), 0);
}
END_TEST

START_TEST(test_offer_not_running_or_not_in_group)
{
	struct rollout_candidate c[1] = {candidate(1, "2.0.0")};
	size_t idx = 99;

	c[0].in_group = 0;
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), OTA_ENOTFOUND);
	c[0].in_group = 1;
	for (int s = 0; s < 5; s++) {
		c[0].state = (enum rollout_state)s;
		ck_assert_int_eq(pick(c, 1, "1.0.0", &idx),
		    s == ROLLOUT_RUNNING ? 0 : OTA_ENOTFOUND);
	}
}
END_TEST

/* sensor-0002's bucket is 897: out below 898 bp, in from 898 bp. */
START_TEST(test_offer_stage)
{
	struct rollout_candidate c[1] = {candidate(1, "2.0.0")};
	size_t idx = 99;

	c[0].stage_bp = 500;
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), OTA_ENOTFOUND);
	c[0].stage_bp = 897;
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), OTA_ENOTFOUND);
	c[0].stage_bp = 898;
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), 0);
	c[0].stage_bp = 2500;
	ck_assert_int_eq(pick(c, 1, "1.0.0", &idx), 0);
	/* Same stage, another device (sensor-0001: bucket 9984): out. */
	ck_assert_int_eq(
	    rollout_pick_offer(c, 1, "sensor-0001", "revB", "1.0.0", &idx),
	    OTA_ENOTFOUND);
}
END_TEST

START_TEST(test_offer_highest_version)
{
	struct rollout_candidate c[4] = {candidate(10, "1.2.0"),
	    candidate(3, "1.10.0"), candidate(11, "1.9.9"),
	    candidate(12, "1.10.0-rc.1")};
	size_t idx = 99;

	/* Highest precedence, even from an older rollout. */
	ck_assert_int_eq(pick(c, 4, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 1);
	/* The winner not qualifying lets the next one through. */
	c[1].state = ROLLOUT_PAUSED;
	ck_assert_int_eq(pick(c, 4, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 3);
	c[3].stage_bp = 100; /* sensor-0002 is not in at 1% */
	ck_assert_int_eq(pick(c, 4, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 2);
	c[2].hardware = hw_c;
	c[2].hardware_count = NELEM(hw_c);
	ck_assert_int_eq(pick(c, 4, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(pick(c, 4, "1.2.0", &idx), OTA_ENOTFOUND);
}
END_TEST

START_TEST(test_offer_tie_newest_rollout)
{
	struct rollout_candidate c[3] = {candidate(7, "2.0.0"),
	    candidate(9, "2.0.0+build.1"), candidate(8, "2.0.0")};
	size_t idx = 99;

	ck_assert_int_eq(pick(c, 3, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 1);
	/* Order of the array does not matter. */
	c[1].rollout_id = 1;
	ck_assert_int_eq(pick(c, 3, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 2);
	/* The newest not qualifying: the next newest. */
	c[2].in_group = 0;
	ck_assert_int_eq(pick(c, 3, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 0);
}
END_TEST

START_TEST(test_offer_invalid)
{
	static const char *const hw_null[] = {"revB", NULL};
	struct rollout_candidate c[2] = {
	    candidate(1, "2.0.0"), candidate(2, "3.0.0")};
	size_t idx = 99;

	ck_assert_int_eq(pick(NULL, 1, "1.0.0", &idx), OTA_EINVAL);
	ck_assert_int_eq(pick(c, 2, "1.0.0", NULL), OTA_EINVAL);
	ck_assert_int_eq(pick(c, 2, NULL, &idx), OTA_EINVAL);
	ck_assert_int_eq(pick(c, 2, "", &idx), OTA_EINVAL);
	ck_assert_int_eq(pick(c, 2, "1.0", &idx), OTA_EINVAL);
	ck_assert_int_eq(pick(c, 2, "v1.0.0", &idx), OTA_EINVAL);
	ck_assert_int_eq(pick(c, 2, "01.0.0", &idx), OTA_EINVAL);
	/* Even with no candidate, a bad version is a bad request. */
	ck_assert_int_eq(pick(NULL, 0, "1.0", &idx), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_pick_offer(c, 2, NULL, "revB", "1.0.0", &idx), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_pick_offer(c, 2, "", "revB", "1.0.0", &idx), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_pick_offer(c, 2, "sensor-0002", NULL, "1.0.0", &idx),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_pick_offer(c, 2, "sensor-0002", "", "1.0.0", &idx),
	    OTA_EINVAL);
	ck_assert_uint_eq(idx, 99);

	/* A malformed candidate anywhere in the list. */
	c[1].image_version = "3.0";
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	c[1].image_version = NULL;
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	c[1] = candidate(2, "3.0.0");
	c[1].min_version = "1.x";
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	c[1] = candidate(2, "3.0.0");
	c[1].salt = NULL;
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	c[1] = candidate(2, "3.0.0");
	c[1].stage_bp = 0;
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	c[1].stage_bp = 10001;
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	c[1] = candidate(2, "3.0.0");
	c[1].hardware = NULL;
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	c[1].hardware = hw_null;
	c[1].hardware_count = NELEM(hw_null);
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), OTA_EINVAL);
	ck_assert_uint_eq(idx, 99);
	c[1] = candidate(2, "3.0.0");
	ck_assert_int_eq(pick(c, 2, "1.0.0", &idx), 0);
	ck_assert_uint_eq(idx, 1);
}
END_TEST

/* ---- rollout_health_breached, rollout_policy_check ---- */

START_TEST(test_health_thresholds)
{
	/* 1 of 20 at 0.05: exactly at the threshold is a breach. */
	ck_assert_int_eq(rollout_health_breached(19, 1, 0, 0.05, 10), 1);
	ck_assert_int_eq(rollout_health_breached(19, 0, 1, 0.05, 10), 1);
	ck_assert_int_eq(rollout_health_breached(20, 1, 0, 0.05, 10), 0);
	ck_assert_int_eq(rollout_health_breached(18, 1, 1, 0.05, 10), 1);
	ck_assert_int_eq(rollout_health_breached(20, 0, 0, 0.05, 10), 0);
	/* Decimals that binary doubles cannot hold exactly. */
	ck_assert_int_eq(rollout_health_breached(9, 1, 0, 0.1, 10), 1);
	ck_assert_int_eq(rollout_health_breached(7, 2, 1, 0.3, 10), 1);
	ck_assert_int_eq(rollout_health_breached(72, 2, 1, 0.04, 10), 1);
	ck_assert_int_eq(rollout_health_breached(73, 2, 1, 0.04, 10), 0);
	/* Threshold 1: only when every finished update went wrong. */
	ck_assert_int_eq(rollout_health_breached(0, 10, 10, 1.0, 10), 1);
	ck_assert_int_eq(rollout_health_breached(1, 10, 10, 1.0, 10), 0);
	/* Exact with counts whose products would overflow 64 bits. */
	ck_assert_int_eq(rollout_health_breached(9500000000000000000u,
	                     500000000000000000u, 0, 0.05, 10),
	    1);
	ck_assert_int_eq(rollout_health_breached(9500000000000000001u,
	                     499999999999999999u, 0, 0.05, 10),
	    0);
}
END_TEST

START_TEST(test_health_min_reports)
{
	ck_assert_int_eq(rollout_health_breached(0, 9, 0, 0.05, 10), 0);
	ck_assert_int_eq(rollout_health_breached(0, 5, 4, 0.05, 10), 0);
	ck_assert_int_eq(rollout_health_breached(0, 10, 0, 0.05, 10), 1);
	ck_assert_int_eq(rollout_health_breached(0, 0, 0, 0.05, 0), 0);
	ck_assert_int_eq(rollout_health_breached(0, 1, 0, 0.05, 0), 1);
	ck_assert_int_eq(rollout_health_breached(0, 1, 0, 0.05, 1), 1);
}
END_TEST

/* Against plain integer arithmetic, where it cannot overflow. */
START_TEST(test_health_exhaustive)
{
	static const double th[] = {
	    0.000001, 0.01, 0.05, 0.1, 0.25, 0.333333, 0.5, 0.999999, 1};
	static const uint64_t th_ppm[] = {
	    1, 10000, 50000, 100000, 250000, 333333, 500000, 999999, 1000000};

	for (size_t t = 0; t < NELEM(th); t++)
		for (uint64_t fin = 1; fin <= 200; fin++)
			for (uint64_t bad = 0; bad <= fin; bad++) {
				int want = bad * 1000000 >= th_ppm[t] * fin;
				int got = rollout_health_breached(fin - bad,
				    bad / 2, bad - bad / 2, th[t], 1);

				if (got != want)
					ck_abort_msg("%llu/%llu at %g: %d",
					    (unsigned long long)bad,
					    (unsigned long long)fin, th[t],
					    got);
			}
}
END_TEST

START_TEST(test_health_invalid)
{
	ck_assert_int_eq(rollout_health_breached(19, 1, 0, 0, 10), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_health_breached(19, 1, 0, -0.05, 10), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_health_breached(19, 1, 0, 1.0001, 10), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_health_breached(19, 1, 0, NAN, 10), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_health_breached(19, 1, 0, INFINITY, 10), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_health_breached(1, UINT64_MAX, 1, 0.05, 10), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_health_breached(UINT64_MAX, 1, 0, 0.05, 10), OTA_EINVAL);
	/* A threshold below one millionth still needs a failure. */
	ck_assert_int_eq(rollout_health_breached(100, 0, 0, 1e-9, 10), 0);
	ck_assert_int_eq(rollout_health_breached(999999, 1, 0, 1e-9, 10), 1);
}
END_TEST

START_TEST(test_policy_check)
{
	char err[128];

	ck_assert_int_eq(
	    rollout_policy_check(0.05, 10, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(rollout_policy_check(1, 1, 60, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    rollout_policy_check(0.000001, 1000000, 2592000, err, sizeof(err)),
	    0);
	ck_assert_int_eq(rollout_policy_check(0.333333, 10, 3600, NULL, 0), 0);

	static const double bad_th[] = {
	    0, -0.05, 1.000001, 2, 0.0000001, 0.0500001, NAN, INFINITY};
	for (size_t i = 0; i < NELEM(bad_th); i++) {
		err[0] = '\0';
		ck_assert_msg(rollout_policy_check(bad_th[i], 10, 0, err,
		                  sizeof(err)) == OTA_EINVAL,
		    "threshold %g accepted", bad_th[i]);
		ck_assert_ptr_nonnull(strstr(err, "failure_threshold"));
	}

	static const uint64_t bad_min[] = {0, 1000001, UINT64_MAX};
	for (size_t i = 0; i < NELEM(bad_min); i++) {
		err[0] = '\0';
		ck_assert_int_eq(
		    rollout_policy_check(0.05, bad_min[i], 0, err, sizeof(err)),
		    OTA_EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "min_reports"));
	}

	static const int64_t bad_adv[] = {
	    -1, 1, 59, 2592001, INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < NELEM(bad_adv); i++) {
		err[0] = '\0';
		ck_assert_int_eq(rollout_policy_check(
		                     0.05, 10, bad_adv[i], err, sizeof(err)),
		    OTA_EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "advance_after"));
	}
}
END_TEST

/* ---- rollout_gate_judge, rollout_gate_check ---- */

/* The verdict of policy p on bad failures of n finished, "bh" as two
 * digits (breached, healthy); "E" for an error. */
static const char *
verdict(const struct rollout_gate_policy *p, uint64_t bad, uint64_t n)
{
	static const char *const s[] = {"00", "01", "10", "11"};
	struct rollout_gate_verdict v;

	if (rollout_gate_judge(p, n - bad, bad, 0, &v) != 0) {
		ck_assert_int_eq(v.breached, 1); /* the safe side */
		ck_assert_int_eq(v.healthy, 0);
		return "E";
	}
	return s[v.breached * 2 + v.healthy];
}

START_TEST(test_gate_names)
{
	enum rollout_gate g;

	ck_assert_str_eq(rollout_gate_name(ROLLOUT_GATE_SIMPLE), "simple");
	ck_assert_str_eq(rollout_gate_name(ROLLOUT_GATE_WILSON), "wilson");
	ck_assert_ptr_null(rollout_gate_name((enum rollout_gate)2));
	ck_assert_int_eq(rollout_gate_parse("wilson", &g), 0);
	ck_assert_int_eq(g, ROLLOUT_GATE_WILSON);
	ck_assert_int_eq(rollout_gate_parse("simple", &g), 0);
	ck_assert_int_eq(g, ROLLOUT_GATE_SIMPLE);
	ck_assert_int_eq(rollout_gate_parse("Wilson", &g), OTA_EINVAL);
	ck_assert_int_eq(rollout_gate_parse("", &g), OTA_EINVAL);
	ck_assert_int_eq(rollout_gate_parse(NULL, &g), OTA_EINVAL);
	ck_assert_int_eq(g, ROLLOUT_GATE_SIMPLE); /* untouched */
}
END_TEST

/* The simple gate is rollout_health_breached; healthy is its negation,
 * also with nothing reported. */
START_TEST(test_gate_simple)
{
	struct rollout_gate_policy p = {ROLLOUT_GATE_SIMPLE, 0.05, 10, 0};

	ck_assert_str_eq(verdict(&p, 0, 0), "01");
	ck_assert_str_eq(verdict(&p, 9, 9), "01");  /* below min_reports */
	ck_assert_str_eq(verdict(&p, 1, 20), "10"); /* at the threshold */
	ck_assert_str_eq(verdict(&p, 1, 21), "01");
	ck_assert_str_eq(verdict(&p, 1, 10), "10");
	p.failure_threshold = 0;
	ck_assert_str_eq(verdict(&p, 1, 10), "E");
}
END_TEST

/*
 * The wilson gate at its defaults (5%, min_reports 10, 95%).  The breach
 * points were computed independently (Python's statistics.NormalDist
 * for the quantile): at n reports, alpha_n = 0.05 * 10 / (n (n + 1)).
 */
START_TEST(test_gate_wilson_defaults)
{
	struct rollout_gate_policy p = {ROLLOUT_GATE_WILSON, 0.05, 10, 0.95};
	static const uint64_t first_breach[][2] = {
	    {10, 3}, {20, 4}, {40, 7}, {100, 14}};

	ck_assert_str_eq(verdict(&p, 0, 0), "00");  /* nothing: no advance */
	ck_assert_str_eq(verdict(&p, 9, 9), "00");  /* below min_reports */
	ck_assert_str_eq(verdict(&p, 1, 10), "00"); /* simple would pause */
	ck_assert_str_eq(verdict(&p, 1, 20), "00");
	ck_assert_str_eq(verdict(&p, 10, 10), "10"); /* all failed */
	for (size_t i = 0; i < NELEM(first_breach); i++) {
		uint64_t n = first_breach[i][0], k = first_breach[i][1];

		ck_assert_str_eq(verdict(&p, k - 1, n), "00");
		ck_assert_str_eq(verdict(&p, k, n), "10");
	}
	/* Healthy needs 386 reports without a failure at 5%. */
	ck_assert_str_eq(verdict(&p, 0, 385), "00");
	ck_assert_str_eq(verdict(&p, 0, 386), "01");
	/* Counts far beyond a fleet: still a verdict, no overflow. */
	ck_assert_str_eq(verdict(&p, 49000000, 1000000000), "01");
	ck_assert_str_eq(verdict(&p, 51000000, 1000000000), "10");
	/* A higher confidence asks more: 4/20 no longer pauses. */
	p.confidence = 0.9999;
	ck_assert_str_eq(verdict(&p, 5, 20), "00");
	ck_assert_str_eq(verdict(&p, 6, 20), "10");
}
END_TEST

/* For every n, breached grows and healthy shrinks with the failures,
 * never both, and nothing below min_reports. */
START_TEST(test_gate_wilson_monotonic)
{
	static const double th[] = {0.000001, 0.01, 0.05, 0.25, 0.5, 0.99};
	struct rollout_gate_policy p = {ROLLOUT_GATE_WILSON, 0, 7, 0.9};

	for (size_t t = 0; t < NELEM(th); t++) {
		p.failure_threshold = th[t];
		for (uint64_t n = 0; n <= 200; n++) {
			int was_b = 0, was_h = 1;

			for (uint64_t k = 0; k <= n; k++) {
				const char *v = verdict(&p, k, n);
				int b = v[0] == '1', h = v[1] == '1';

				ck_assert(!(b && h));
				ck_assert(b >= was_b && h <= was_h);
				if (n < 7)
					ck_assert_str_eq(v, "00");
				was_b = b;
				was_h = h;
			}
		}
	}
}
END_TEST

/* Threshold 1: no rate is above 100% (never breached); one completion
 * proves the rate below it. */
START_TEST(test_gate_wilson_edges)
{
	struct rollout_gate_policy p = {ROLLOUT_GATE_WILSON, 1.0, 1, 0.95};
	struct rollout_gate_verdict v;

	ck_assert_str_eq(verdict(&p, 50, 50), "00");
	ck_assert_str_eq(verdict(&p, 49, 50), "01");
	ck_assert_str_eq(verdict(&p, 1, 1), "00");
	ck_assert_str_eq(verdict(&p, 0, 1), "01");
	/* Out of range: an error, breached and not healthy. */
	static const double bad_th[] = {0, -0.1, 1.0001, NAN, INFINITY};
	p.confidence = 0.95;
	for (size_t i = 0; i < NELEM(bad_th); i++) {
		p.failure_threshold = bad_th[i];
		ck_assert_str_eq(verdict(&p, 0, 100), "E");
	}
	static const double bad_conf[] = {0, 0.4999, 1.0, 1.5, NAN};
	p.failure_threshold = 0.05;
	for (size_t i = 0; i < NELEM(bad_conf); i++) {
		p.confidence = bad_conf[i];
		ck_assert_str_eq(verdict(&p, 0, 100), "E");
	}
	p.confidence = 0.95;
	p.gate = (enum rollout_gate)9;
	ck_assert_str_eq(verdict(&p, 0, 100), "E");
	p.gate = ROLLOUT_GATE_WILSON;
	ck_assert_int_eq(
	    rollout_gate_judge(&p, 1, UINT64_MAX, 1, &v), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_gate_judge(&p, UINT64_MAX, 1, 0, &v), OTA_EINVAL);
	ck_assert_int_eq(rollout_gate_judge(NULL, 1, 0, 0, &v), OTA_EINVAL);
	ck_assert_int_eq(v.breached, 1);
	ck_assert_int_eq(rollout_gate_judge(&p, 1, 0, 0, NULL), OTA_EINVAL);
}
END_TEST

START_TEST(test_gate_check)
{
	char err[160];

	ck_assert_int_eq(rollout_gate_check(
	                     ROLLOUT_GATE_SIMPLE, 0.05, 0.95, err, sizeof(err)),
	    0);
	ck_assert_int_eq(rollout_gate_check(ROLLOUT_GATE_WILSON, 0.999999,
	                     0.9999, err, sizeof(err)),
	    0);
	ck_assert_int_eq(
	    rollout_gate_check(ROLLOUT_GATE_WILSON, 0.05, 0.5, NULL, 0), 0);
	/* The simple gate keeps 100%: pause when every update failed. */
	ck_assert_int_eq(
	    rollout_gate_check(ROLLOUT_GATE_SIMPLE, 1.0, 0.95, NULL, 0), 0);
	ck_assert_int_eq(rollout_gate_check(
	                     ROLLOUT_GATE_WILSON, 1.0, 0.95, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(err, "failure_threshold: must be below 1"));
	ck_assert_int_eq(rollout_gate_check((enum rollout_gate)5, 0.05, 0.95,
	                     err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "gate:"));

	static const double bad_conf[] = {
	    0, 0.4999, 0.99999, 0.95001, 1.0, -1, NAN, INFINITY};
	for (size_t i = 0; i < NELEM(bad_conf); i++) {
		err[0] = '\0';
		ck_assert_msg(rollout_gate_check(ROLLOUT_GATE_WILSON, 0.05,
		                  bad_conf[i], err, sizeof(err)) == OTA_EINVAL,
		    "confidence %g accepted", bad_conf[i]);
		ck_assert_ptr_nonnull(strstr(err, "confidence:"));
	}
}
END_TEST

START_TEST(test_hardware_mismatch)
{
	/* Nothing reported: the provisioned hardware stands. */
	ck_assert_int_eq(rollout_hardware_mismatch("revA", NULL), 0);
	ck_assert_int_eq(rollout_hardware_mismatch("revA", ""), 0);
	ck_assert_int_eq(rollout_hardware_mismatch("revA", "revA"), 0);
	/* Another hardware, exact match only (as the image's list). */
	ck_assert_int_eq(rollout_hardware_mismatch("bleA", "revA"), 1);
	ck_assert_int_eq(rollout_hardware_mismatch("revA", "reva"), 1);
	ck_assert_int_eq(rollout_hardware_mismatch("revA", "revA "), 1);
	ck_assert_int_eq(rollout_hardware_mismatch(NULL, "revA"), 1);
}
END_TEST

/* ---- stuck and failing devices ---- */

START_TEST(test_outcomes_text)
{
	char text[ROLLOUT_OUTCOMES_TEXT_MAX], err[256];
	unsigned set = 99;

	ck_assert_int_eq(
	    rollout_outcomes_parse(" reverted ,failed", &set, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(set,
	    (1u << ROLLOUT_OUTCOME_FAILED) | (1u << ROLLOUT_OUTCOME_REVERTED));
	rollout_outcomes_format(set, text, sizeof(text));
	ck_assert_str_eq(text, "failed,reverted");
	ck_assert_int_eq(rollout_outcomes_parse("", &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(set, 0);
	rollout_outcomes_format(ROLLOUT_OUTCOMES_DEFAULT, text, sizeof(text));
	ck_assert_str_eq(text, "failed,timed_out,reverted");
	ck_assert_int_eq(
	    rollout_outcomes_parse(text, &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(set, ROLLOUT_OUTCOMES_DEFAULT);
	/* declined is an outcome, not a default one. */
	rollout_outcomes_format(ROLLOUT_OUTCOMES_ALL, text, sizeof(text));
	ck_assert_str_eq(text, "failed,timed_out,reverted,declined");
	ck_assert_int_eq(
	    rollout_outcomes_parse("declined", &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(set, 1u << ROLLOUT_OUTCOME_DECLINED);
	set = 5;
	ck_assert_int_eq(
	    rollout_outcomes_parse("failed,failed", &set, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "abort_on: 'failed' appears twice");
	ck_assert_int_eq(
	    rollout_outcomes_parse("failed,,reverted", &set, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_outcomes_parse("accepted", &set, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "abort_on: 'accepted' is not an outcome "
	                      "(failed, timed_out, reverted, declined)");
	ck_assert_uint_eq(set, 5); /* untouched */
	ck_assert_str_eq(
	    rollout_outcome_name(ROLLOUT_OUTCOME_TIMED_OUT), "timed_out");
	ck_assert_ptr_null(rollout_outcome_name(ROLLOUT_OUTCOME_COUNT));
}
END_TEST

START_TEST(test_results_text)
{
	char text[ROLLOUT_RESULTS_TEXT_MAX], err[256];
	uint32_t mask = 0;

	ck_assert_int_eq(
	    rollout_results_parse("9, 4", &mask, err, sizeof(err)), 0);
	ck_assert_uint_eq(mask, (1u << 4) | (1u << 9));
	rollout_results_format(mask, text, sizeof(text));
	ck_assert_str_eq(text, "4,9");
	rollout_results_format(0xfff, text, sizeof(text));
	ck_assert_str_eq(text, "0,1,2,3,4,5,6,7,8,9,10,11");
	ck_assert_int_eq(
	    rollout_results_parse(text, &mask, err, sizeof(err)), 0);
	ck_assert_uint_eq(mask, 0xfff);
	ck_assert_int_eq(rollout_results_parse("", &mask, err, sizeof(err)), 0);
	ck_assert_uint_eq(mask, 0);
	ck_assert_int_eq(
	    rollout_results_parse("12", &mask, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(
	    err, "ignore_results: 12 is not a result code (0..11)");
	ck_assert_int_eq(
	    rollout_results_parse("4,4", &mask, err, sizeof(err)), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_results_parse("-1", &mask, err, sizeof(err)), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_results_parse("1x", &mask, err, sizeof(err)), OTA_EINVAL);
}
END_TEST

START_TEST(test_stuck_check)
{
	struct rollout_stuck_policy p;
	enum rollout_breach_action a = ROLLOUT_BREACH_PAUSE;
	char err[256];

	rollout_stuck_defaults(&p);
	ck_assert_int_eq(p.retry_backoff_sec, 300);
	ck_assert_uint_eq(p.abort_on, ROLLOUT_OUTCOMES_DEFAULT);
	ck_assert_int_eq(p.require_consent, 0);
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), 0);
	/* consent_retry: only with consent, 0..1 year. */
	p.consent_retry_sec = 60;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "consent_retry: only with require_consent (this "
	                      "rollout does not ask for consent)");
	p.require_consent = 1;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), 0);
	p.consent_retry_sec = ROLLOUT_CONSENT_RETRY_MAX_SEC + 1;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "consent_retry: must be 0 (never ask again) or "
	                      "1..31536000 seconds");
	p.consent_retry_sec = -1;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	p.require_consent = 2;
	p.consent_retry_sec = 0;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	p.require_consent = 0;
	p.device_timeout_sec = 59;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(
	    err, "device_timeout: must be 0 (none) or 60..2592000 seconds");
	p.device_timeout_sec = 60;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), 0);
	p.max_retries = 101;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "max_retries: must be 0..100");
	p.max_retries = 100;
	p.retry_backoff_sec = -1;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	p.retry_backoff_sec = 0;
	p.ignore_results = 1u << 12;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	p.ignore_results = 0;
	p.abort_on = 1u << ROLLOUT_OUTCOME_COUNT;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	p.abort_on = 0;
	p.breach_action = (enum rollout_breach_action)2;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	ck_assert_int_eq(rollout_breach_action_parse("abort", &a), 0);
	ck_assert_int_eq(a, ROLLOUT_BREACH_ABORT);
	ck_assert_int_eq(rollout_breach_action_parse("Abort", &a), OTA_EINVAL);
	ck_assert_str_eq(
	    rollout_breach_action_name(ROLLOUT_BREACH_PAUSE), "pause");
	ck_assert_int_eq(
	    rollout_stuck_check(NULL, err, sizeof(err)), OTA_EINVAL);
}
END_TEST

/* Which outcomes count: each set, the result filter, the sums. */
START_TEST(test_gate_tally)
{
	struct rollout_outcome_counts c;
	uint64_t good = 9, bad = 9;

	memset(&c, 0, sizeof(c));
	c.completed = 90;
	c.failed = 6;
	c.failed_by_result[3] = 2; /* out of RAM: counts */
	c.failed_by_result[4] = 3; /* connection lost */
	c.failed_by_result[0] = 1; /* no result given */
	c.timed_out = 2;
	c.reverted = 1;
	ck_assert_int_eq(
	    rollout_gate_tally(&c, ROLLOUT_OUTCOMES_ALL, 0, &good, &bad), 0);
	ck_assert_uint_eq(good, 90);
	ck_assert_uint_eq(bad, 9);
	/* 4 does not count: left out of both sides. */
	ck_assert_int_eq(
	    rollout_gate_tally(&c, ROLLOUT_OUTCOMES_ALL, 1u << 4, &good, &bad),
	    0);
	ck_assert_uint_eq(bad, 6);
	ck_assert_uint_eq(good, 90);
	/* failed alone */
	ck_assert_int_eq(rollout_gate_tally(&c, 1u << ROLLOUT_OUTCOME_FAILED,
	                     (1u << 4) | 1u, &good, &bad),
	    0);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(rollout_gate_tally(&c, 1u << ROLLOUT_OUTCOME_TIMED_OUT,
	                     0xfff, &good, &bad),
	    0);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(rollout_gate_tally(&c, 0, 0, &good, &bad), 0);
	ck_assert_uint_eq(bad, 0);
	/* Declines count only when abort_on names them (not by default). */
	c.declined = 4;
	ck_assert_int_eq(
	    rollout_gate_tally(&c, ROLLOUT_OUTCOMES_DEFAULT, 0, &good, &bad),
	    0);
	ck_assert_uint_eq(bad, 9);
	ck_assert_int_eq(
	    rollout_gate_tally(&c, ROLLOUT_OUTCOMES_ALL, 0, &good, &bad), 0);
	ck_assert_uint_eq(bad, 13);
	ck_assert_int_eq(rollout_gate_tally(&c, 1u << ROLLOUT_OUTCOME_DECLINED,
	                     0, &good, &bad),
	    0);
	ck_assert_uint_eq(bad, 4);
	ck_assert_uint_eq(good, 90);
	c.declined = 0;
	/* Overflow and NULL: refused, untouched. */
	c.timed_out = UINT64_MAX;
	good = bad = 7;
	ck_assert_int_eq(
	    rollout_gate_tally(&c, ROLLOUT_OUTCOMES_ALL, 0, &good, &bad),
	    OTA_EINVAL);
	ck_assert_uint_eq(good + bad, 14);
	ck_assert_int_eq(
	    rollout_gate_tally(NULL, 0, 0, &good, &bad), OTA_EINVAL);
}
END_TEST

START_TEST(test_retry_decide)
{
	int64_t due = -1;

	/* No retry at all: a failure is final. */
	ck_assert_int_eq(rollout_retry_decide(0, 300, 0, 1000, 99999, &due),
	    ROLLOUT_RETRY_DONE);
	ck_assert_int_eq(due, 0);
	/* 300 s, then 600 s, then 1200 s after each outcome. */
	ck_assert_int_eq(rollout_retry_decide(3, 300, 0, 1000, 1299, &due),
	    ROLLOUT_RETRY_WAIT);
	ck_assert_int_eq(due, 1300);
	ck_assert_int_eq(rollout_retry_decide(3, 300, 0, 1000, 1300, NULL),
	    ROLLOUT_RETRY_DUE);
	ck_assert_int_eq(rollout_retry_decide(3, 300, 1, 1000, 1599, &due),
	    ROLLOUT_RETRY_WAIT);
	ck_assert_int_eq(due, 1600);
	ck_assert_int_eq(rollout_retry_decide(3, 300, 2, 1000, 2200, &due),
	    ROLLOUT_RETRY_DUE);
	ck_assert_int_eq(due, 2200);
	ck_assert_int_eq(rollout_retry_decide(3, 300, 3, 1000, 1 << 30, &due),
	    ROLLOUT_RETRY_DONE);
	/* Backoff 0: due at once; a long doubling stops at the cap. */
	ck_assert_int_eq(
	    rollout_retry_decide(5, 0, 4, 1000, 1000, NULL), ROLLOUT_RETRY_DUE);
	ck_assert_int_eq(rollout_retry_decide(100,
	                     ROLLOUT_RETRY_BACKOFF_MAX_SEC, 99, 0, 0, &due),
	    ROLLOUT_RETRY_WAIT);
	ck_assert_int_eq(due, ROLLOUT_RETRY_WAIT_MAX_SEC);
}
END_TEST

/* The consent rule: none without the policy, given once accepted or
 * installing, a decline waits consent_retry (0: for good). */
START_TEST(test_consent_decide)
{
	struct rollout_stuck_policy p;
	int64_t due = -1;

	rollout_stuck_defaults(&p);
	ck_assert_int_eq(
	    rollout_consent_decide(&p, UPDATE_DECLINED, 0, 5, &due),
	    ROLLOUT_CONSENT_NONE);
	ck_assert_int_eq(due, 0);
	ck_assert_int_eq(
	    rollout_consent_decide(NULL, 0, 0, 5, NULL), ROLLOUT_CONSENT_NONE);
	p.require_consent = 1;
	ck_assert_int_eq(rollout_consent_decide(&p, UPDATE_NONE, 0, 5, NULL),
	    ROLLOUT_CONSENT_REQUIRED);
	ck_assert_int_eq(rollout_consent_decide(&p, UPDATE_OFFERED, 0, 5, NULL),
	    ROLLOUT_CONSENT_REQUIRED);
	ck_assert_int_eq(
	    rollout_consent_decide(&p, UPDATE_DEFERRED, 0, 5, NULL),
	    ROLLOUT_CONSENT_REQUIRED);
	ck_assert_int_eq(
	    rollout_consent_decide(&p, UPDATE_ACCEPTED, 0, 5, NULL),
	    ROLLOUT_CONSENT_GIVEN);
	ck_assert_int_eq(rollout_consent_decide(&p, UPDATE_STARTED, 0, 5, NULL),
	    ROLLOUT_CONSENT_GIVEN);
	ck_assert_int_eq(
	    rollout_consent_decide(&p, UPDATE_PROGRESS, 0, 5, NULL),
	    ROLLOUT_CONSENT_GIVEN);
	/* consent_retry 0: never asked again. */
	ck_assert_int_eq(
	    rollout_consent_decide(&p, UPDATE_DECLINED, 100, 1 << 30, &due),
	    ROLLOUT_CONSENT_WAIT);
	ck_assert_int_eq(due, 0);
	p.consent_retry_sec = 300;
	ck_assert_int_eq(
	    rollout_consent_decide(&p, UPDATE_DECLINED, 100, 399, &due),
	    ROLLOUT_CONSENT_WAIT);
	ck_assert_int_eq(due, 400);
	ck_assert_int_eq(
	    rollout_consent_decide(&p, UPDATE_DECLINED, 100, 400, &due),
	    ROLLOUT_CONSENT_REQUIRED);
	ck_assert_str_eq(
	    rollout_consent_name(ROLLOUT_CONSENT_REQUIRED), "required");
	ck_assert_str_eq(rollout_consent_name(ROLLOUT_CONSENT_GIVEN), "given");
	ck_assert_ptr_null(rollout_consent_name(ROLLOUT_CONSENT_NONE));
	ck_assert_ptr_null(rollout_consent_name(ROLLOUT_CONSENT_WAIT));
}
END_TEST

START_TEST(test_rate)
{
	struct rollout_stuck_policy p;
	int64_t tat = 0, now = 1000000000;
	int admitted = 0;
	char err[256];

	rollout_stuck_defaults(&p);
	ck_assert_uint_eq(rollout_rate_per_minute(&p, 99999), 0);
	p.max_offers_per_minute = 10;
	ck_assert_uint_eq(rollout_rate_per_minute(&p, 99999), 10);
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), 0);
	/* Doubling every 5 minutes up to 50. */
	p.rate_ramp_min = 5;
	p.rate_ramp_max = 50;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), 0);
	ck_assert_uint_eq(rollout_rate_per_minute(&p, 0), 10);
	ck_assert_uint_eq(rollout_rate_per_minute(&p, 299), 10);
	ck_assert_uint_eq(rollout_rate_per_minute(&p, 300), 20);
	ck_assert_uint_eq(rollout_rate_per_minute(&p, 900), 50);
	ck_assert_uint_eq(rollout_rate_per_minute(&p, 1LL << 40), 50);
	ck_assert_uint_eq(rollout_rate_per_minute(&p, -5), 10);
	/* Bounds. */
	p.rate_ramp_max = 9;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "rate_ramp_max: must be "
	                      "max_offers_per_minute..1000000 with a ramp, 0 "
	                      "without");
	p.rate_ramp_max = 50;
	p.max_offers_per_minute = 0;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	p.rate_ramp_min = 0;
	p.rate_ramp_max = 0;
	p.max_offers_per_minute = ROLLOUT_RATE_MAX + 1;
	ck_assert_int_eq(rollout_stuck_check(&p, err, sizeof(err)), OTA_EINVAL);
	/* 6 a minute: a burst of 6, then one every 10 s. */
	for (int i = 0; i < 10; i++)
		admitted += rollout_rate_admit(tat, now, 6, &tat);
	ck_assert_int_eq(admitted, 6);
	ck_assert_int_eq(rollout_rate_admit(tat, now + 9999999, 6, &tat), 0);
	ck_assert_int_eq(rollout_rate_admit(tat, now + 10000000, 6, &tat), 1);
	ck_assert_int_eq(rollout_rate_admit(tat, now + 10000000, 6, &tat), 0);
	/* In any minute at most 6 (plus the one a full bucket adds). */
	admitted = 0;
	for (int64_t t = now + 20000000; t < now + 80000000; t += 100000)
		admitted += rollout_rate_admit(tat, t, 6, &tat);
	ck_assert_int_le(admitted, 7);
	ck_assert_int_ge(admitted, 6);
	/* No limit: always. */
	ck_assert_int_eq(rollout_rate_admit(tat, 0, 0, &tat), 1);
}
END_TEST

START_TEST(test_targets_check)
{
	char err[256];

	ck_assert_int_eq(rollout_targets_check(1, "", err, sizeof(err)), 0);
	ck_assert_int_eq(
	    rollout_targets_check(0, "ring=canary", err, sizeof(err)), 0);
	ck_assert_int_eq(
	    rollout_targets_check(0, "", err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "groups: required unless a selector names the "
	                      "devices (a rollout without groups targets "
	                      "every device its selector matches)");
	ck_assert_int_eq(
	    rollout_targets_check(0, NULL, err, sizeof(err)), OTA_EINVAL);
}
END_TEST

static Suite *
rollout_suite(void)
{
	Suite *s = suite_create("rollout");
	TCase *tc;

	tc = tcase_create("rollout_state_name");
	tcase_add_test(tc, test_names_roundtrip);
	tcase_add_test(tc, test_names_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_transition");
	tcase_add_test(tc, test_transition_table);
	tcase_add_test(tc, test_transition_advance_last);
	tcase_add_test(tc, test_transition_final);
	tcase_add_test(tc, test_transition_lifecycle);
	tcase_add_test(tc, test_transition_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_decide");
	tcase_add_test(tc, test_decide_table);
	tcase_add_test(tc, test_decide_edges);
	suite_add_tcase(s, tc);
	tc = tcase_create("rollout_percent_text");
	tcase_add_test(tc, test_percent_text);
	suite_add_tcase(s, tc);
	tc = tcase_create("rollout_stages_parse");
	tcase_add_test(tc, test_stages_valid);
	tcase_add_test(tc, test_stages_invalid);
	tcase_add_test(tc, test_stages_not_finite);
	tcase_add_test(tc, test_stages_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_bucket");
	tcase_add_test(tc, test_bucket_worked_example);
	tcase_add_test(tc, test_bucket_deterministic);
	tcase_add_test(tc, test_bucket_in_stage_edges);
	tcase_add_test(tc, test_bucket_monotonic);
	tcase_add_test(tc, test_bucket_uniform);
	tcase_add_test(tc, test_bucket_independent);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_pick_offer");
	tcase_add_test(tc, test_offer_basic);
	tcase_add_test(tc, test_offer_wrong_hardware);
	tcase_add_test(tc, test_offer_equal_or_older);
	tcase_add_test(tc, test_offer_prerelease);
	tcase_add_test(tc, test_offer_min_version);
	tcase_add_test(tc, test_offer_not_running_or_not_in_group);
	tcase_add_test(tc, test_offer_stage);
	tcase_add_test(tc, test_offer_highest_version);
	tcase_add_test(tc, test_offer_tie_newest_rollout);
	tcase_add_test(tc, test_offer_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_health_breached");
	tcase_add_test(tc, test_health_thresholds);
	tcase_add_test(tc, test_health_min_reports);
	tcase_add_test(tc, test_health_exhaustive);
	tcase_add_test(tc, test_health_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_policy_check");
	tcase_add_test(tc, test_policy_check);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_gate_judge");
	tcase_add_test(tc, test_gate_names);
	tcase_add_test(tc, test_gate_simple);
	tcase_add_test(tc, test_gate_wilson_defaults);
	tcase_add_test(tc, test_gate_wilson_monotonic);
	tcase_add_test(tc, test_gate_wilson_edges);
	tcase_add_test(tc, test_gate_check);
	/* The monotonicity walk judges every k of n <= 200 at several
	 * thresholds: about 2 s under ASan, more on a busy machine. */
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("rollout_hardware_mismatch");
	tcase_add_test(tc, test_hardware_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("stuck_devices");
	tcase_add_test(tc, test_outcomes_text);
	tcase_add_test(tc, test_results_text);
	tcase_add_test(tc, test_stuck_check);
	tcase_add_test(tc, test_gate_tally);
	tcase_add_test(tc, test_retry_decide);
	tcase_add_test(tc, test_consent_decide);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_targets_check);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (crypto_init() != 0)
		return EXIT_FAILURE;
	return testutil_run_suite(rollout_suite());
}
