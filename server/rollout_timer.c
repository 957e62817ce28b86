/*
 * rollout_timer: a pthread waiting on a CLOCK_MONOTONIC condition
 * variable between passes, so a wall-clock jump neither stalls nor
 * hurries it and rollout_timer_stop never waits out a sleep.  Decisions
 * of when are made here, on the stored times; what a transition does is
 * store_rollout_apply's (and rollout_transition's) business.
 */
#include "rollout_timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "hints.h"
#include "log.h"
#include "rollout.h"
#include "store.h"
#include "store_rollouts.h"
#include "store_telemetry.h"
#include "timeutil.h"

#define TICK_PAGE 100 /* running rollouts read per query */

struct rollout_timer {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;                /* CLOCK_MONOTONIC */
	int stop;                         /* guarded by mu */
	struct rollout_timer_holds holds; /* the timer thread's only */
};

void
rollout_timer_holds_clear(struct rollout_timer_holds *h)
{
	if (h == NULL)
		return;
	free(h->ids);
	memset(h, 0, sizeof(*h));
}

/* 1 when id is in h (NULL: an empty set). */
static int
holds_has(const struct rollout_timer_holds *h, int64_t id)
{
	for (size_t i = 0; h != NULL && i < h->n; i++)
		if (h->ids[i] == id)
			return 1;
	return 0;
}

/* Adds id to h; 0, or OTA_ENOMEM (then the hold is simply logged again
 * at the next pass). */
static int
holds_add(struct rollout_timer_holds *h, int64_t id)
{
	int64_t *v;
	size_t cap;

	if (h->n == h->cap) {
		cap = h->cap == 0 ? 16 : h->cap * 2;
		if ((v = realloc(h->ids, cap * sizeof(*v))) == NULL)
			return OTA_ENOMEM;
		h->ids = v;
		h->cap = cap;
	}
	h->ids[h->n++] = id;
	return 0;
}

/*
 * Whether rollout r is healthy enough to advance by itself: the same gate
 * as the automatic pause (telemetry.c), rollout_health_breached over the
 * finished counts of all its device_updates (store_telemetry_finished)
 * with r's failure_threshold and min_reports.  A breached rollout is
 * normally paused by the writer already; this catches one resumed by hand
 * while still breached: it is added to now_held, and logged only when
 * was_held (the previous pass's holds; NULL: none) does not have it, so a
 * hold that lasts days is one line, not one per pass.  When the counts
 * cannot be read the answer is no: a rollout never advances on unknown
 * health.
 */
static int
rollout_timer_stage_healthy(struct store_conn *c, const struct store_rollout *r,
    const struct rollout_timer_holds *was_held,
    struct rollout_timer_holds *now_held)
{
	uint64_t completed, failed, reverted;
	int rc;

	if ((rc = store_telemetry_finished(
	         c, r->id, &completed, &failed, &reverted)) != 0) {
		log_err("msg=\"automatic advance held: health unknown\" "
		        "id=%lld err=\"%s\"",
		    (long long)r->id, ota_strerror(rc));
		return 0;
	}
	rc = rollout_health_breached(
	    completed, failed, reverted, r->failure_threshold, r->min_reports);
	if (rc == 0)
		return 1;
	(void)holds_add(now_held, r->id);
	if (holds_has(was_held, r->id))
		return 0;
	log_warn("msg=\"automatic advance held: failure threshold "
	         "reached\" id=%lld stage_index=%d completed=%llu "
	         "failed=%llu reverted=%llu",
	    (long long)r->id, r->stage_index, (unsigned long long)completed,
	    (unsigned long long)failed, (unsigned long long)reverted);
	return 0;
}

/*
 * When r is due (running, advance_after set, its stage has run long
 * enough by now), writes how long it ran to *out_ran and returns 1.
 */
static int
rollout_due(const struct store_rollout *r, int64_t now, int64_t *out_ran)
{
	int64_t started_ms;

	if (r->state != ROLLOUT_RUNNING || r->advance_after_sec <= 0)
		return 0;
	if (timeutil_parse_rfc3339(r->stage_started_at, &started_ms) != 0) {
		log_err("msg=\"rollout has a bad stage_started_at\" id=%lld "
		        "value=\"%s\"",
		    (long long)r->id, r->stage_started_at);
		return 0;
	}
	*out_ran = now - started_ms / 1000;
	return *out_ran >= r->advance_after_sec;
}

/* Advances r by one stage; returns 1 when it moved, 0 when someone
 * else changed it first, or an OTA_E* code. */
static int
rollout_advance(struct app *app, struct store_conn *c,
    const struct store_rollout *r, int64_t ran)
{
	struct store_rollout *after;
	char reason[STORE_ROLLOUT_REASON_MAX + 1];
	int rc;

	if ((after = malloc(sizeof(*after))) == NULL)
		return OTA_ENOMEM;
	snprintf(reason, sizeof(reason), "advance_after: stage %d ran %lld s",
	    r->stage_index, (long long)ran);
	rc = store_rollout_apply(
	    c, r->id, ROLLOUT_ADVANCE, r->stage_index, "otad", reason, after);
	if (rc == 0) {
		atomic_fetch_add(&app->rollouts_gen, 1);
		if (after->state == ROLLOUT_RUNNING)
			hints_rollout_moved(app->hints, r->id,
			    r->stages_bp[r->stage_index],
			    after->stages_bp[after->stage_index]);
		log_info("msg=\"rollout advanced automatically\" id=%lld "
		         "from_stage=%d to_stage=%d stage_percent=%.2f "
		         "state=%s ran_sec=%lld advance_after_sec=%lld",
		    (long long)r->id, r->stage_index, after->stage_index,
		    after->stages_bp[after->stage_index] / 100.0,
		    rollout_state_name(after->state), (long long)ran,
		    (long long)r->advance_after_sec);
		rc = 1;
	} else if (rc == OTA_ECONFLICT || rc == OTA_ENOTFOUND) {
		/* Paused, aborted or advanced by hand since it was read. */
		log_info("msg=\"automatic advance skipped: rollout changed "
		         "meanwhile\" id=%lld",
		    (long long)r->id);
		rc = 0;
	} else {
		log_err("msg=\"automatic advance failed\" id=%lld err=\"%s\"",
		    (long long)r->id, ota_strerror(rc));
	}
	free(after);
	return rc;
}

int
rollout_timer_tick(
    struct app *app, int64_t now, struct rollout_timer_holds *holds)
{
	struct store_rollout_filter f = {ROLLOUT_RUNNING, 0, 0, TICK_PAGE};
	struct rollout_timer_holds held = {0};
	struct store_rollout *v = NULL;
	struct store_conn *c;
	size_t n = 0;
	int64_t ran;
	int rc, first_err = 0, advanced = 0;

	c = store_acquire(app->store);
	do {
		rc = store_rollout_list(c, &f, &v, &n);
		if (rc != 0) {
			first_err = rc;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (!rollout_due(&v[i], now, &ran) ||
			    !rollout_timer_stage_healthy(
			        c, &v[i], holds, &held))
				continue;
			rc = rollout_advance(app, c, &v[i], ran);
			if (rc > 0)
				advanced++;
			else if (rc < 0 && first_err == 0)
				first_err = rc;
		}
		if (n > 0)
			f.after_id = v[n - 1].id;
		free(v);
		v = NULL;
	} while (n == TICK_PAGE);
	store_release(app->store, c);
	/* A rollout no longer held (advanced, paused, healthy again) leaves
	 * the set: held again later, it is logged again. */
	if (holds != NULL) {
		rollout_timer_holds_clear(holds);
		*holds = held;
	} else {
		rollout_timer_holds_clear(&held);
	}
	return first_err != 0 ? first_err : advanced;
}

static void *
timer_main(void *arg)
{
	struct rollout_timer *t = arg;
	struct timespec deadline;
	int rc;

	pthread_mutex_lock(&t->mu);
	while (!t->stop) {
		pthread_mutex_unlock(&t->mu);
		/* A failed advance logs itself; a failed read of the
		 * running rollouts would otherwise hold them all silently. */
		if ((rc = rollout_timer_tick(
		         t->app, (int64_t)time(NULL), &t->holds)) < 0)
			log_err("msg=\"rollout timer tick failed\" err=\"%s\"",
			    ota_strerror(rc));
		pthread_mutex_lock(&t->mu);
		deadline = timeutil_mono_timespec(
		    timeutil_mono_ms() + ROLLOUT_TIMER_INTERVAL_SEC * 1000LL);
		/* Until the deadline or a stop; spurious wake-ups loop. */
		while (!t->stop && pthread_cond_timedwait(
		                       &t->cv, &t->mu, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

struct rollout_timer *
rollout_timer_start(struct app *app)
{
	struct rollout_timer *t;
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_err("msg=\"cannot start the rollout timer\" err=\"out of "
		        "memory\"");
		return NULL;
	}
	t->app = app;
	pthread_mutex_init(&t->mu, NULL);
	timeutil_mono_cond_init(&t->cv);
	rc = pthread_create(&t->thread, NULL, timer_main, t);
	if (rc != 0) {
		log_err("msg=\"cannot start the rollout timer\" err=\"%s\"",
		    strerror(rc));
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		free(t);
		return NULL;
	}
	log_info("msg=\"rollout timer started\" interval_sec=%d",
	    ROLLOUT_TIMER_INTERVAL_SEC);
	return t;
}

void
rollout_timer_stop(struct rollout_timer *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	rollout_timer_holds_clear(&t->holds);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
