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

#include "errors.h"
#include "log.h"
#include "timeutil.h"

/* glibc's first mmap threshold (mallopt(3)). */
#define MMAP_THRESHOLD (128 * 1024)

struct memtrim {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* timed on CLOCK_MONOTONIC */
	int quiet_ms;
	int period_ms;
	int stopping;
	int64_t due; /* timeutil_mono_ms of the pending trim; 0: none */
	unsigned long trims;
};

static void *
trim_main(void *arg)
{
	struct memtrim *t = arg;
	int64_t every = timeutil_mono_ms() + t->period_ms, now;
	struct timespec ts;
	int burst;

	pthread_mutex_lock(&t->mu);
	while (!t->stopping) {
		now = timeutil_mono_ms();
		burst = t->due != 0 && now >= t->due;
		if (!burst && now < every) {
			/* Woken early by a note (which moved due) or by the
			 * time: either way, look again. */
			ts = timeutil_mono_timespec(
			    t->due != 0 && t->due < every ? t->due : every);
			pthread_cond_timedwait(&t->cv, &t->mu, &ts);
			continue;
		}
		if (burst)
			t->due = 0;
		every = now + t->period_ms;
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

int
memtrim_fix_threshold(void)
{
	return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 ? 0 : OTA_EINVAL;
}

struct memtrim *
memtrim_start(int quiet_ms, int period_ms)
{
	struct memtrim *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_err("msg=\"memtrim: out of memory\"");
		return NULL;
	}
	t->quiet_ms = quiet_ms;
	t->period_ms = period_ms;
	if (timeutil_mono_cond_init(&t->cv) != 0) {
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
	t->due = timeutil_mono_ms() + t->quiet_ms;
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
