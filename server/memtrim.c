/*
 * memtrim: one thread waiting on a condition variable (CLOCK_MONOTONIC)
 * for the moment a burst of large requests has been quiet for quiet_ms,
 * or for period_ms to pass since its last trim.
 */
#include "memtrim.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

struct memtrim {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int quiet_ms;
	int period_ms;
	int stopping;
	int due_set;         /* a trim is pending at due */
	struct timespec due; /* CLOCK_MONOTONIC */
	unsigned long trims;
};

static void
due_from_now(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec ||
	       (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

/* The earlier of a and b. */
static const struct timespec *
earlier(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	               (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec)
	           ? a
	           : b;
}

static void *
trim_main(void *arg)
{
	struct memtrim *t = arg;
	struct timespec every;
	int burst;

	due_from_now(&every, t->period_ms);
	pthread_mutex_lock(&t->mu);
	while (!t->stopping) {
		burst = t->due_set && passed(&t->due);
		if (!burst && !passed(&every)) {
			/* Woken early by a note (which moved due) or by the
			 * time: either way, look again. */
			pthread_cond_timedwait(&t->cv, &t->mu,
			    t->due_set ? earlier(&t->due, &every) : &every);
			continue;
		}
		if (burst)
			t->due_set = 0;
		due_from_now(&every, t->period_ms);
		pthread_mutex_unlock(&t->mu);
		malloc_trim(0);
		pthread_mutex_lock(&t->mu);
		t->trims++;
		if (burst)
			log_info(
			    "msg=\"heap trimmed\" after=\"large requests\" "
			    "count=%lu",
			    t->trims);
		else
			log_debug("msg=\"heap trimmed\" after=period count=%lu",
			    t->trims);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

struct memtrim *
memtrim_start(int quiet_ms, int period_ms)
{
	struct memtrim *t;
	pthread_condattr_t ca;
	int cv_ok = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_err("msg=\"memtrim: out of memory\"");
		return NULL;
	}
	t->quiet_ms = quiet_ms;
	t->period_ms = period_ms;
	if (pthread_condattr_init(&ca) == 0) {
		cv_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
		        pthread_cond_init(&t->cv, &ca) == 0;
		pthread_condattr_destroy(&ca);
	}
	if (!cv_ok) {
		log_err("msg=\"memtrim: cannot make its condition variable\"");
		free(t);
		return NULL;
	}
	if (pthread_mutex_init(&t->mu, NULL) != 0) {
		pthread_cond_destroy(&t->cv);
		free(t);
		log_err("msg=\"memtrim: cannot make its lock\"");
		return NULL;
	}
	if (pthread_create(&t->thread, NULL, trim_main, t) != 0) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
		log_err("msg=\"memtrim: cannot start its thread\"");
		return NULL;
	}
	pthread_setname_np(t->thread, "otad-memtrim");
	return t;
}

void
memtrim_note(struct memtrim *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	due_from_now(&t->due, t->quiet_ms);
	t->due_set = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

void
memtrim_stop(struct memtrim *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
