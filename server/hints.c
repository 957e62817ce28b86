/*
 * hints: a small job queue and one thread.  A job (rollout id, previous
 * and new stage in basis points) is turned into the list of devices newly
 * in stage with one streamed read of the rollout's members, the store
 * connection is given back, and the hints go out to mqtt_hint paced on
 * the monotonic clock, so that neither the HTTP handler nor the rollout
 * timer ever waits for the store walk or the broker.
 */
#include "hints.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "mqtt.h"
#include "rollout.h"
#include "store.h"
#include "store_rollouts.h"
#include "timeutil.h"

#define HINTS_JOBS_MAX 64          /* rollout moves waiting */
#define HINTS_DEVICES_MAX 10000000 /* devices listed for one move */
#define HINTS_TICK_MS 20           /* pacing granularity */

/* Counters for the stop log. */
struct hints_stats {
	uint64_t jobs;    /* rollout moves handled */
	uint64_t devices; /* devices newly in stage, hinted or not */
	uint64_t sent;    /* hints handed to mqtt_hint */
	uint64_t dropped; /* jobs or hints dropped (queue full, no broker) */
};

struct hints_job {
	int64_t rollout_id;
	uint16_t from_bp, to_bp;
};

struct hints {
	struct store *store; /* borrowed */
	struct mqtt *mqtt;   /* borrowed; NULL: nothing is sent */
	size_t per_sec;      /* mqtt_hints_per_sec */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;                     /* CLOCK_MONOTONIC */
	struct hints_job jobs[HINTS_JOBS_MAX]; /* ring, guarded by mu */
	size_t head, len;
	int stop;
	struct hints_stats stats; /* guarded by mu */
};

/* The devices newly in stage, as NUL-terminated ids one after another. */
struct hints_list {
	const struct store_rollout *r;
	uint16_t from_bp, to_bp;
	char *buf;
	size_t used, cap, n;
};

/* store_rollout_members callback: keeps device_id when the move takes
 * its bucket in and the rollout's image fits its hardware (a device of
 * other hardware is offered nothing: a hint would only make it poll).
 * Returns 0, or OTA_ENOMEM / OTA_ETOOBIG to stop. */
static int
hints_collect(void *ctx, const char *device_id, int image_fits)
{
	struct hints_list *l = ctx;
	uint32_t b = rollout_bucket(l->r->salt, device_id);
	size_t len = strlen(device_id) + 1;
	char *p;

	if (image_fits == 0 || !rollout_bucket_in_stage(b, l->to_bp) ||
	    rollout_bucket_in_stage(b, l->from_bp))
		return 0;
	if (l->n >= HINTS_DEVICES_MAX)
		return OTA_ETOOBIG;
	if (l->used + len > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64 * 1024;

		if ((p = realloc(l->buf, cap)) == NULL)
			return OTA_ENOMEM;
		l->buf = p;
		l->cap = cap;
	}
	memcpy(l->buf + l->used, device_id, len);
	l->used += len;
	l->n++;
	return 0;
}

/* Waits until the monotonic time due_ms or a stop; 1 when stopping.
 * Called with h->mu held. */
static int
hints_wait_until(struct hints *h, int64_t due_ms)
{
	struct timespec ts = timeutil_mono_timespec(due_ms);

	while (!h->stop && timeutil_mono_ms() < due_ms)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT)
			break;
	return h->stop;
}

/* Runs one job (hints thread, h->mu not held). */
static void
hints_run(struct hints *h, const struct hints_job *job)
{
	struct hints_list l;
	struct store_rollout *r;
	struct store_conn *c;
	uint64_t sent = 0, dropped = 0;
	int64_t start;
	const char *id;
	size_t k, rate = h->per_sec;
	int rc;

	memset(&l, 0, sizeof(l));
	if ((r = malloc(sizeof(*r))) == NULL) {
		log_err("msg=\"update hints not sent\" rollout=%lld "
		        "error=\"out of memory\"",
		    (long long)job->rollout_id);
		return;
	}
	l.r = r;
	l.from_bp = job->from_bp;
	l.to_bp = job->to_bp;
	c = store_acquire(h->store);
	rc = store_rollout_get(c, job->rollout_id, r);
	/* Paused or aborted meanwhile: its devices get no offer now. */
	if (rc == 0 && r->state == ROLLOUT_RUNNING)
		rc = store_rollout_members(
		    c, job->rollout_id, hints_collect, &l);
	store_release(h->store, c);
	if (rc != 0 && rc != OTA_ETOOBIG) {
		log_err("msg=\"update hints not sent\" rollout=%lld "
		        "error=\"%s\"",
		    (long long)job->rollout_id, ota_strerror(rc));
		goto out;
	}
	if (rc == OTA_ETOOBIG)
		log_warn("msg=\"update hints: stage too large, the rest will "
		         "poll\" rollout=%lld hinted=%d",
		    (long long)job->rollout_id, HINTS_DEVICES_MAX);
	log_info("msg=\"update hints\" rollout=%lld from_bp=%u to_bp=%u "
	         "devices=%zu per_sec=%zu",
	    (long long)job->rollout_id, (unsigned)job->from_bp,
	    (unsigned)job->to_bp, l.n, rate);
	start = timeutil_mono_ms();
	id = l.buf;
	for (k = 0; k < l.n; k++, id += strlen(id) + 1) {
		/* Hint k is due k/rate seconds after the first, checked
		 * once per tick's worth. */
		if (k > 0 && k % (rate * HINTS_TICK_MS / 1000 + 1) == 0) {
			pthread_mutex_lock(&h->mu);
			rc = hints_wait_until(
			    h, start + (int64_t)(k * 1000 / rate));
			pthread_mutex_unlock(&h->mu);
			if (rc)
				break;
		}
		if (mqtt_hint(h->mqtt, id, r->id, r->image_version) == 0)
			sent++;
		else
			dropped++;
	}
	dropped += l.n - k;
	pthread_mutex_lock(&h->mu);
	h->stats.devices += l.n;
	h->stats.sent += sent;
	h->stats.dropped += dropped;
	pthread_mutex_unlock(&h->mu);
	if (dropped > 0)
		log_warn("msg=\"update hints not sent: those devices will "
		         "poll\" rollout=%lld dropped=%llu",
		    (long long)job->rollout_id, (unsigned long long)dropped);
out:
	free(l.buf);
	free(r);
}

static void *
hints_main(void *arg)
{
	struct hints *h = arg;
	struct hints_job job;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->len == 0 && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		job = h->jobs[h->head];
		h->head = (h->head + 1) % HINTS_JOBS_MAX;
		h->len--;
		h->stats.jobs++;
		pthread_mutex_unlock(&h->mu);
		hints_run(h, &job);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct hints *
hints_start(struct store *st, struct mqtt *mqtt, int per_sec)
{
	struct hints *h;
	int rc;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_err("msg=\"cannot start the update hints\" error=\"out of "
		        "memory\"");
		return NULL;
	}
	h->store = st;
	h->mqtt = mqtt;
	h->per_sec = (size_t)per_sec;
	pthread_mutex_init(&h->mu, NULL);
	timeutil_mono_cond_init(&h->cv);
	if ((rc = pthread_create(&h->thread, NULL, hints_main, h)) != 0) {
		log_err("msg=\"cannot start the update hints\" error=%d", rc);
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	return h;
}

void
hints_stop(struct hints *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	log_info("msg=\"update hints stopped\" jobs=%llu devices=%llu "
	         "sent=%llu dropped=%llu",
	    (unsigned long long)h->stats.jobs,
	    (unsigned long long)h->stats.devices,
	    (unsigned long long)h->stats.sent,
	    (unsigned long long)h->stats.dropped);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void
hints_rollout_moved(
    void *hints, int64_t rollout_id, uint16_t from_bp, uint16_t to_bp)
{
	struct hints *h = hints;

	if (h == NULL || to_bp <= from_bp)
		return;
	pthread_mutex_lock(&h->mu);
	if (h->len == HINTS_JOBS_MAX) {
		h->stats.dropped++;
		pthread_mutex_unlock(&h->mu);
		log_warn("msg=\"update hints dropped: too many rollout moves "
		         "waiting\" rollout=%lld",
		    (long long)rollout_id);
		return;
	}
	h->jobs[(h->head + h->len) % HINTS_JOBS_MAX] =
	    (struct hints_job){rollout_id, from_bp, to_bp};
	h->len++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}
