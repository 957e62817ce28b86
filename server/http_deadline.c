/*
 * http_deadline: the connections awaiting headers are one list in deadline
 * order (every deadline is "now + timeout" when armed, so appending keeps
 * it sorted): the thread looks only at its head.  The lock is held while a
 * socket is shut down and while a connection is forgotten, so a socket is
 * never touched after libmicrohttpd is told it may close it (and its
 * number be reused).
 */
#include "http_deadline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "timeutil.h"

/* Sockets shut down per pass under the lock, so that workers waiting to
 * accept or finish a connection are not held up by a large sweep. */
#define SWEEP_BATCH 256

struct http_deadline_conn {
	struct http_deadline_conn *prev, *next; /* NULL when not listed */
	int64_t due_ms;
	int fd;
};

struct http_deadline {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	struct http_deadline_conn head; /* sentinel of the circular list */
	int64_t timeout_ms, tick_ms;
	uint64_t closed;
	int stop;
};

/* Both with d->mu held. */
static void
conn_unlink(struct http_deadline_conn *c)
{
	if (c->next == NULL)
		return;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
conn_append(struct http_deadline *d, struct http_deadline_conn *c)
{
	c->due_ms = timeutil_mono_ms() + d->timeout_ms;
	c->prev = d->head.prev;
	c->next = &d->head;
	d->head.prev->next = c;
	d->head.prev = c;
}

static void *
deadline_main(void *arg)
{
	struct http_deadline *d = arg;
	struct http_deadline_conn *c;
	struct timespec ts;
	int64_t now, wake;
	unsigned n;

	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		now = timeutil_mono_ms();
		n = 0;
		while ((c = d->head.next) != &d->head && c->due_ms <= now &&
		       n < SWEEP_BATCH) {
			conn_unlink(c);
			/* libmicrohttpd reads end-of-stream and closes it. */
			shutdown(c->fd, SHUT_RDWR);
			n++;
		}
		d->closed += n;
		if (n > 0) {
			pthread_mutex_unlock(&d->mu);
			log_info("msg=\"request headers not received in time; "
			         "connections closed\" count=%u "
			         "header_timeout_ms=%lld",
			    n, (long long)d->timeout_ms);
			pthread_mutex_lock(&d->mu);
			continue;
		}
		wake = now + d->tick_ms;
		if ((c = d->head.next) != &d->head && c->due_ms < wake)
			wake = c->due_ms;
		ts = timeutil_mono_timespec(wake);
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

struct http_deadline *
http_deadline_start(int64_t timeout_ms, int64_t tick_ms)
{
	struct http_deadline *d = calloc(1, sizeof(*d));
	int rc;

	if (d == NULL) {
		log_err("msg=\"cannot start the header deadline\" "
		        "err=\"out of memory\"");
		return NULL;
	}
	d->timeout_ms = timeout_ms;
	d->tick_ms = tick_ms > 0 ? tick_ms : 1;
	d->head.prev = d->head.next = &d->head;
	pthread_mutex_init(&d->mu, NULL);
	if ((rc = timeutil_mono_cond_init(&d->cv)) != 0)
		goto fail;
	if ((rc = pthread_create(&d->thread, NULL, deadline_main, d)) != 0) {
		pthread_cond_destroy(&d->cv);
		goto fail;
	}
	return d;
fail:
	log_err("msg=\"cannot start the header deadline\" err=\"%s\"",
	    strerror(rc));
	pthread_mutex_destroy(&d->mu);
	free(d);
	return NULL;
}

void
http_deadline_stop(struct http_deadline *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

struct http_deadline_conn *
http_deadline_watch(struct http_deadline *d, int fd)
{
	struct http_deadline_conn *c;

	if (d == NULL || fd < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	pthread_mutex_lock(&d->mu);
	conn_append(d, c);
	pthread_mutex_unlock(&d->mu);
	return c;
}

void
http_deadline_met(struct http_deadline *d, struct http_deadline_conn *c)
{
	if (d == NULL || c == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	conn_unlink(c);
	pthread_mutex_unlock(&d->mu);
}

void
http_deadline_rearm(struct http_deadline *d, struct http_deadline_conn *c)
{
	if (d == NULL || c == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	conn_unlink(c);
	conn_append(d, c);
	pthread_mutex_unlock(&d->mu);
}

void
http_deadline_forget(struct http_deadline *d, struct http_deadline_conn *c)
{
	if (d == NULL || c == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	conn_unlink(c);
	pthread_mutex_unlock(&d->mu);
	free(c);
}

uint64_t
http_deadline_closed(struct http_deadline *d)
{
	uint64_t n;

	pthread_mutex_lock(&d->mu);
	n = d->closed;
	pthread_mutex_unlock(&d->mu);
	return n;
}
