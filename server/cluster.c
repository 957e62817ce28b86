/*
 * cluster: one thread per node blocks on its own listening connection
 * (store_notify), half a second at a time so that stopping is prompt.  It
 * only moves the generation: what to reload is the offer cache's
 * business, and OFFERS_MAX_AGE_SEC still bounds a reload that every
 * notification missed.  The device cache is different: no timer bounds
 * it, so it serves only while the thread listens (emptied each time the
 * thread listens again) and forgets each device another node changed.
 */
#include "cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "devcache.h"
#include "errors.h"
#include "log.h"
#include "store_cluster.h"
#include "store_notify.h"
#include "timeutil.h"

#define WAIT_MS 500
#define BACKOFF_MIN_MS 100

struct cluster {
	char *target;   /* may hold a password: wiped at the end */
	char *password; /* sodium_malloc'd; NULL: the target's own */
	char *sslmode, *sslrootcert; /* NULL: the target's own */
	struct store_options opt;    /* points into the above */
	atomic_uint_fast64_t *gen;
	struct devcache *devices; /* may be NULL */
	pthread_t thread;
	int running; /* the thread was started */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	int stop;          /* guarded by mu */
};

/* Sleeps ms unless stopped first; returns 1 when stopped. */
static int
nap(struct cluster *c, int ms)
{
	struct timespec deadline;
	int stop;

	pthread_mutex_lock(&c->mu);
	deadline = timeutil_mono_timespec(timeutil_mono_ms() + ms);
	while (!c->stop &&
	       pthread_cond_timedwait(&c->cv, &c->mu, &deadline) != ETIMEDOUT)
		;
	stop = c->stop;
	pthread_mutex_unlock(&c->mu);
	return stop;
}

static int
stopping(struct cluster *c)
{
	int stop;

	pthread_mutex_lock(&c->mu);
	stop = c->stop;
	pthread_mutex_unlock(&c->mu);
	return stop;
}

/* Opens the listener, retrying with a doubling backoff until it listens
 * (then the generation moves: what was missed meanwhile is reloaded) or
 * the thread is stopped (NULL). */
static struct store_notify_listener *
listen_again(struct cluster *c, int lost)
{
	struct store_notify_listener *l = NULL;
	int backoff = BACKOFF_MIN_MS, failures = 0;

	while (!stopping(c)) {
		if (store_notify_listen(c->target, &c->opt, &l) == 0) {
			atomic_fetch_add(c->gen, 1);
			devcache_set_serving(c->devices, 1);
			if (lost || failures > 0)
				log_info("msg=\"listening for rollout changes "
				         "again\" failures=%d",
				    failures);
			return l;
		}
		/* The first failure of an outage is a warning; the next
		 * ones, at most one per backoff, are for debugging. */
		if (failures++ == 0)
			log_warn("msg=\"cannot listen for rollout changes; "
			         "offers reload on their timer meanwhile\" "
			         "retry_max_ms=%d",
			    CLUSTER_BACKOFF_MAX_MS);
		else
			log_debug("msg=\"cannot listen for rollout changes\" "
			          "failures=%d retry_ms=%d",
			    failures, backoff);
		if (nap(c, backoff))
			break;
		backoff = backoff * 2 > CLUSTER_BACKOFF_MAX_MS
		              ? CLUSTER_BACKOFF_MAX_MS
		              : backoff * 2;
	}
	return NULL;
}

static void *
cluster_main(void *arg)
{
	struct cluster *c = arg;
	struct store_notify_listener *l;
	char ids[STORE_CHANGES_BYTES + 8];
	int rc;

	l = listen_again(c, 0);
	while (l != NULL && !stopping(c)) {
		rc = store_notify_wait(l, WAIT_MS, ids, sizeof(ids));
		if (rc == STORE_NOTIFY_DEVICES) {
			devcache_invalidate(c->devices, ids);
			continue;
		}
		if (rc > 0) {
			atomic_fetch_add(c->gen, 1);
			continue;
		}
		if (rc == 0)
			continue;
		/* Changes may be missed until it listens again. */
		devcache_set_serving(c->devices, 0);
		log_warn("msg=\"lost the connection listening for rollout "
		         "changes; reconnecting\"");
		store_notify_close(l);
		l = listen_again(c, 1);
	}
	store_notify_close(l);
	return NULL;
}

/* Copies s (NULL stays NULL) into *out; 0 or -1 when out of memory. */
static int
dup_or_null(const char *s, char **out)
{
	*out = NULL;
	return s == NULL || (*out = strdup(s)) != NULL ? 0 : -1;
}

/* Frees c's copies, wiping the target and the password. */
static void
cluster_free(struct cluster *c)
{
	if (c->target != NULL)
		sodium_memzero(c->target, strlen(c->target));
	free(c->target);
	if (c->password != NULL)
		sodium_free(c->password);
	free(c->sslmode);
	free(c->sslrootcert);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int
cluster_new(struct store *st, const char *target,
    const struct store_options *opt, struct cluster **out)
{
	const struct store_options none = {0};
	struct store_conn *conn;
	struct cluster *c;
	int shared, rc = 0;

	*out = NULL;
	conn = store_acquire(st);
	shared = store_notify_shared(conn);
	store_release(st, conn);
	if (!shared)
		return 0;
	if (opt == NULL)
		opt = &none;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	pthread_mutex_init(&c->mu, NULL);
	timeutil_mono_cond_init(&c->cv);
	if (dup_or_null(target, &c->target) != 0 || c->target == NULL ||
	    dup_or_null(opt->sslmode, &c->sslmode) != 0 ||
	    dup_or_null(opt->sslrootcert, &c->sslrootcert) != 0)
		rc = -1;
	if (rc == 0 && opt->password != NULL) {
		size_t n = strlen(opt->password) + 1;

		if ((c->password = sodium_malloc(n)) == NULL)
			rc = -1;
		else
			memcpy(c->password, opt->password, n);
	}
	if (rc != 0) {
		cluster_free(c);
		goto nomem;
	}
	c->opt.password = c->password;
	c->opt.sslmode = c->sslmode;
	c->opt.sslrootcert = c->sslrootcert;
	*out = c;
	return 0;
nomem:
	log_err("msg=\"cannot prepare the cluster listener\" err=\"out of "
	        "memory\"");
	return OTA_ENOMEM;
}

int
cluster_start(
    struct cluster *c, atomic_uint_fast64_t *gen, struct devcache *devices)
{
	int rc;

	if (c == NULL)
		return 0;
	c->gen = gen;
	c->devices = devices;
	if ((rc = pthread_create(&c->thread, NULL, cluster_main, c)) != 0) {
		log_err("msg=\"cannot start the cluster listener\" err=\"%s\"",
		    strerror(rc));
		return OTA_EIO;
	}
	c->running = 1;
	log_info("msg=\"cluster listener started\"");
	return 0;
}

void
cluster_stop(struct cluster *c)
{
	if (c == NULL)
		return;
	if (c->running) {
		pthread_mutex_lock(&c->mu);
		c->stop = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	cluster_free(c);
}

int
cluster_key_check(
    struct store *st, const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	char hex[crypto_sign_PUBLICKEYBYTES * 2 + 1];
	char recorded[STORE_CLUSTER_KEY_HEX_MAX];
	unsigned char other[crypto_sign_PUBLICKEYBYTES];
	char mine_id[17], other_id[17] = "unreadable";
	struct store_conn *conn;
	size_t got = 0;
	int rc;

	sodium_bin2hex(hex, sizeof(hex), pk, crypto_sign_PUBLICKEYBYTES);
	conn = store_acquire(st);
	rc = store_cluster_key_claim(conn, "server", hex, recorded);
	store_release(st, conn);
	if (rc != 0)
		return rc;
	if (strcmp(hex, recorded) == 0)
		return 0;
	crypto_key_fingerprint(pk, mine_id);
	if (sodium_hex2bin(other, sizeof(other), recorded, strlen(recorded),
	        NULL, &got, NULL) == 0 &&
	    got == sizeof(other))
		crypto_key_fingerprint(other, other_id);
	log_err("msg=\"this node's server signing key differs from the one "
	        "the other nodes on this database use: give every node the "
	        "same server_key_file\" key_id=%s recorded_key_id=%s",
	    mine_id, other_id);
	return OTA_ECONFLICT;
}
