/*
 * rollout_timer: a pthread waiting on a CLOCK_MONOTONIC condition
 * variable between passes, so a wall-clock jump neither stalls nor
 * hurries it and rollout_timer_stop never waits out a sleep.  It decides
 * only when a pass runs; which rollouts move, and how, is
 * rollout_service_start_due's (scheduled starts),
 * rollout_service_time_out's (per-device timeouts) and
 * rollout_service_advance_due's business.
 */
#include "rollout_timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "rollout_service.h"
#include "timeutil.h"

struct rollout_timer {
	struct rollout_service *rollouts;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;                  /* CLOCK_MONOTONIC */
	int stop;                           /* guarded by mu */
	struct rollout_service_holds holds; /* the timer thread's only */
};

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
		if ((rc = rollout_service_start_due(
		         t->rollouts, timeutil_now_sec())) < 0)
			log_err("msg=\"rollout timer tick failed\" "
			        "step=start_at err=\"%s\"",
			    ota_strerror(rc));
		if ((rc = rollout_service_time_out(
		         t->rollouts, timeutil_now_sec())) < 0)
			log_err("msg=\"rollout timer tick failed\" "
			        "step=device_timeout err=\"%s\"",
			    ota_strerror(rc));
		if ((rc = rollout_service_advance_due(
		         t->rollouts, timeutil_now_sec(), &t->holds)) < 0)
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
rollout_timer_start(struct rollout_service *rollouts)
{
	struct rollout_timer *t;
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_err("msg=\"cannot start the rollout timer\" err=\"out of "
		        "memory\"");
		return NULL;
	}
	t->rollouts = rollouts;
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
	rollout_service_holds_clear(&t->holds);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
