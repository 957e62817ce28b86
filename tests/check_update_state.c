/*
 * check_update_state: the status rules as a specification.  One table
 * gives the answer for every (current status, event) pair at a later,
 * equal and earlier device time; sequences then replay the out-of-order
 * stories the rules exist for (offline phones uploading late, a reverted
 * that overtook its completed, a retry that succeeded after a failure).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "errors.h"
#include "testutil.h"
#include "update_state.h"

#define N UPDATE_NONE
#define O UPDATE_OFFERED
#define S UPDATE_STARTED
#define P UPDATE_PROGRESS
#define C UPDATE_COMPLETED
#define F UPDATE_FAILED
#define R UPDATE_REVERTED
#define X UPDATE_CANCELED
#define D UPDATE_DEFERRED
#define T UPDATE_TIMED_OUT
#define A UPDATE_ACCEPTED
#define Y UPDATE_DECLINED

START_TEST(test_names)
{
	enum update_state s = UPDATE_NONE;
	static const char *const names[] = {"offered", "started", "progress",
	    "completed", "failed", "reverted", "canceled", "deferred",
	    "timed_out", "accepted", "declined"};

	for (int i = 0; i < 11; i++) {
		ck_assert_str_eq(
		    update_state_name((enum update_state)(i + 1)), names[i]);
		ck_assert_int_eq(update_state_parse(names[i], &s), 0);
		ck_assert_int_eq(s, i + 1);
	}
	ck_assert_ptr_null(update_state_name(UPDATE_NONE));
	ck_assert_ptr_null(update_state_name(UPDATE_STATE_COUNT));
	ck_assert_ptr_null(update_state_name((enum update_state) - 1));
	s = UPDATE_STARTED;
	ck_assert_int_eq(update_state_parse("none", &s), OTA_EINVAL);
	ck_assert_int_eq(update_state_parse("Completed", &s), OTA_EINVAL);
	ck_assert_int_eq(update_state_parse("complete", &s), OTA_EINVAL);
	ck_assert_int_eq(update_state_parse("", &s), OTA_EINVAL);
	ck_assert_int_eq(update_state_parse(NULL, &s), OTA_EINVAL);
	ck_assert_int_eq(s, UPDATE_STARTED); /* untouched on failure */
}
END_TEST

START_TEST(test_finished)
{
	ck_assert_int_eq(update_state_finished(N), 0);
	ck_assert_int_eq(update_state_finished(O), 0);
	ck_assert_int_eq(update_state_finished(S), 0);
	ck_assert_int_eq(update_state_finished(P), 0);
	ck_assert_int_eq(update_state_finished(C), 1);
	ck_assert_int_eq(update_state_finished(F), 1);
	ck_assert_int_eq(update_state_finished(R), 1);
	ck_assert_int_eq(update_state_finished(X), 0);
	ck_assert_int_eq(update_state_finished(D), 0);
	ck_assert_int_eq(update_state_finished(T), 0);
	ck_assert_int_eq(update_state_finished(A), 0);
	ck_assert_int_eq(update_state_finished(Y), 0);
	/* Retried (max_retries): failed and timed_out only. */
	for (int st = N; st <= Y; st++)
		ck_assert_int_eq(update_state_bad((enum update_state)st),
		    st == F || st == T);
}
END_TEST

/* Consent given: accepted, or installing; the classes of the device
 * cache's marks. */
START_TEST(test_consent_given_and_classes)
{
	static const int cls[] = {[N] = 0,
	    [O] = 1,
	    [S] = 2,
	    [P] = 2,
	    [C] = 0,
	    [F] = 4,
	    [R] = 0,
	    [X] = 0,
	    [D] = 0,
	    [T] = 4,
	    [A] = 2,
	    [Y] = 3};

	for (int st = N; st <= Y; st++) {
		ck_assert_int_eq(
		    update_state_consent_given((enum update_state)st),
		    st == A || st == S || st == P);
		ck_assert_int_eq(
		    update_state_mark_class((enum update_state)st), cls[st]);
	}
}
END_TEST

/*
 * Expected status for cur (rows: none..canceled) and event (columns:
 * offered..canceled), with the event's device time later than, equal to,
 * and earlier than the one that set cur.  Only completed/failed depend on
 * the time.  canceled (otad's) ends offered, deferred, started and
 * progress; a final replaces it, started and progress do not.  deferred
 * replaces offered only, and every later step replaces it.  timed_out (T,
 * the rollout timer's) ends offered, started and progress (a deferred
 * update waits for its user: not stuck) and follows canceled's rules: a
 * late final records the real outcome.  accepted (A) and declined (Y)
 * answer offered, deferred and each other (by device time: a change of
 * mind), never an install under way nor an ended update; started,
 * progress and finals replace both (installing is consenting); canceled
 * and timed_out end accepted (waiting to install) but not declined.
 */
static const enum update_state later[12][11] = {
    /*      O  S  P  C  F  R  X  D  T  A  Y */
    [N] = {O, S, P, C, F, R, N, D, N, A, Y},
    [O] = {O, S, P, C, F, R, X, D, T, A, Y},
    [S] = {S, S, P, C, F, R, X, S, T, S, S},
    [P] = {P, P, P, C, F, R, X, P, T, P, P},
    [C] = {C, C, C, C, F, R, C, C, C, C, C},
    [F] = {F, F, F, C, F, F, F, F, F, F, F},
    [R] = {R, R, R, R, R, R, R, R, R, R, R},
    [X] = {X, X, X, C, F, R, X, X, X, X, X},
    [D] = {D, S, P, C, F, R, X, D, D, A, Y},
    [T] = {T, T, T, C, F, R, T, T, T, T, T},
    [A] = {A, S, P, C, F, R, X, A, T, A, Y},
    [Y] = {Y, S, P, C, F, R, Y, Y, Y, A, Y},
};
static const enum update_state earlier[12][11] = {
    /*      O  S  P  C  F  R  X  D  T  A  Y */
    [N] = {O, S, P, C, F, R, N, D, N, A, Y},
    [O] = {O, S, P, C, F, R, X, D, T, A, Y},
    [S] = {S, S, P, C, F, R, X, S, T, S, S},
    [P] = {P, P, P, C, F, R, X, P, T, P, P},
    [C] = {C, C, C, C, C, R, C, C, C, C, C},
    [F] = {F, F, F, F, F, F, F, F, F, F, F},
    [R] = {R, R, R, R, R, R, R, R, R, R, R},
    [X] = {X, X, X, C, F, R, X, X, X, X, X},
    [D] = {D, S, P, C, F, R, X, D, D, A, Y},
    [T] = {T, T, T, C, F, R, T, T, T, T, T},
    [A] = {A, S, P, C, F, R, X, A, T, A, A},
    [Y] = {Y, S, P, C, F, R, Y, Y, Y, Y, Y},
};

START_TEST(test_every_pair)
{
	for (int cur = N; cur <= Y; cur++) {
		for (int ev = O; ev <= Y; ev++) {
			const int64_t t = 1000;
			enum update_state want_later = later[cur][ev - 1];
			enum update_state want_earlier = earlier[cur][ev - 1];
			enum update_state got;
			int changed = -1, want_changed;

			got = update_state_merge((enum update_state)cur, t,
			    (enum update_state)ev, t + 1, &changed);
			/* A new decline at a later time is recorded: the
			 * re-ask waits from it. */
			want_changed = (int)want_later != cur ||
			               (ev == P && (cur == S || cur == P)) ||
			               (ev == Y && cur == Y);
			ck_assert_msg(
			    got == want_later && changed == want_changed,
			    "cur %d ev %d later: got %d changed %d", cur, ev,
			    got, changed);
			/* Equal times: the event received last (ev) wins. */
			got = update_state_merge((enum update_state)cur, t,
			    (enum update_state)ev, t, &changed);
			ck_assert_msg(got == want_later,
			    "cur %d ev %d equal: got %d", cur, ev, got);
			got = update_state_merge((enum update_state)cur, t,
			    (enum update_state)ev, t - 1, &changed);
			want_changed = (int)want_earlier != cur ||
			               (ev == P && (cur == S || cur == P));
			ck_assert_msg(
			    got == want_earlier && changed == want_changed,
			    "cur %d ev %d earlier: got %d changed %d", cur, ev,
			    got, changed);
		}
	}
}
END_TEST

START_TEST(test_changed_may_be_null)
{
	ck_assert_int_eq(update_state_merge(N, 0, S, 0, NULL), S);
	ck_assert_int_eq(update_state_merge(C, 0, R, 0, NULL), R);
}
END_TEST

/* An event of a value outside started..reverted/offered changes nothing. */
START_TEST(test_none_event)
{
	int changed = -1;

	ck_assert_int_eq(update_state_merge(S, 0, N, 5, &changed), S);
	ck_assert_int_eq(changed, 0);
	ck_assert_int_eq(update_state_merge(N, 0, N, 5, &changed), N);
	ck_assert_int_eq(changed, 0);
}
END_TEST

/* A sequence of (state, device time) events replayed from no row. */
struct step {
	enum update_state ev;
	int64_t ts;
};

static enum update_state
replay(const struct step *v, size_t n)
{
	enum update_state cur = N;
	int64_t cur_ts = 0;
	int changed;

	for (size_t i = 0; i < n; i++) {
		enum update_state next =
		    update_state_merge(cur, cur_ts, v[i].ev, v[i].ts, &changed);

		if (changed) /* a new status, or a progress update */
			cur_ts = v[i].ts;
		cur = next;
	}
	return cur;
}

#define REPLAY(...)                                                            \
	replay((const struct step[]){__VA_ARGS__},                             \
	    sizeof((const struct step[]){__VA_ARGS__}) / sizeof(struct step))

START_TEST(test_sequences)
{
	/* Consent: declined, then accepted, then the install. */
	ck_assert_int_eq(
	    REPLAY({O, 1}, {Y, 2}, {A, 3}, {S, 4}, {P, 5}, {C, 6}), C);
	/* An accepted that overtook an older decline stays accepted. */
	ck_assert_int_eq(REPLAY({O, 1}, {A, 5}, {Y, 3}), A);
	/* A decline after the install began changes nothing. */
	ck_assert_int_eq(REPLAY({O, 1}, {A, 2}, {S, 3}, {Y, 4}), S);
	/* In order. */
	ck_assert_int_eq(REPLAY({O, 1}, {S, 2}, {P, 3}, {P, 4}, {C, 5}), C);
	ck_assert_int_eq(REPLAY({O, 1}, {S, 2}, {P, 3}, {F, 4}), F);
	ck_assert_int_eq(REPLAY({S, 2}, {C, 5}, {R, 9}), R);
	/* completed then a late started (an offline phone) stays completed */
	ck_assert_int_eq(REPLAY({C, 5}, {S, 2}), C);
	ck_assert_int_eq(REPLAY({C, 5}, {S, 2}, {P, 3}, {O, 1}), C);
	/* completed received before its own progress events */
	ck_assert_int_eq(REPLAY({S, 1}, {C, 5}, {P, 2}, {P, 3}), C);
	/* reverted that overtook its completed ends reverted */
	ck_assert_int_eq(REPLAY({R, 9}, {C, 5}), R);
	ck_assert_int_eq(REPLAY({S, 1}, {R, 9}, {C, 5}, {P, 3}), R);
	/* failed, then a retry that completed later by device time */
	ck_assert_int_eq(REPLAY({S, 1}, {F, 3}, {S, 4}, {C, 6}), C);
	/* ...received in the other order still ends completed */
	ck_assert_int_eq(REPLAY({C, 6}, {F, 3}), C);
	/* completed, then a later failure (a retry that failed) */
	ck_assert_int_eq(REPLAY({C, 3}, {F, 6}), F);
	ck_assert_int_eq(REPLAY({F, 6}, {C, 3}), F);
	/* reverted never replaces failed */
	ck_assert_int_eq(REPLAY({F, 3}, {R, 9}), F);
	ck_assert_int_eq(REPLAY({C, 2}, {F, 3}, {R, 9}), F);
	/* a late failed does not undo a reverted */
	ck_assert_int_eq(REPLAY({C, 2}, {R, 4}, {F, 9}), R);
	/* an offer never changes a row */
	ck_assert_int_eq(REPLAY({S, 2}, {O, 9}), S);
	ck_assert_int_eq(REPLAY({F, 2}, {O, 9}), F);
	/* duplicate finals change nothing */
	ck_assert_int_eq(REPLAY({C, 2}, {C, 9}, {C, 1}), C);
}
END_TEST

static Suite *
update_state_suite(void)
{
	Suite *s = suite_create("update_state");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_finished);
	tcase_add_test(tc, test_consent_given_and_classes);
	suite_add_tcase(s, tc);
	tc = tcase_create("merge");
	tcase_add_test(tc, test_every_pair);
	tcase_add_test(tc, test_changed_may_be_null);
	tcase_add_test(tc, test_none_event);
	tcase_add_test(tc, test_sequences);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(update_state_suite());
}
