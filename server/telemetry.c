/*
 * telemetry: the one writer thread of update events.  Submitters put
 * a batch on a bounded queue and sleep on their own condition variable;
 * the writer takes every batch waiting (up to TELEMETRY_GROUP_MAX events),
 * writes them all in one transaction, commits, and only then wakes each
 * submitter with its outcomes, so nothing is acknowledged before it is
 * durable and a busy fleet costs one fsync per group, not per event.
 * After the commit the rollout service checks the touched rollouts'
 * health (its automatic pause).
 */
#include "telemetry.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "rollout_service.h"
#include "seen.h"
#include "store.h"
#include "store_telemetry.h"
#include "store_telemetry_write.h"
#include "timeutil.h"

#define TOUCHED_MAX 64    /* rollouts re-checked by id after a commit */
#define REJECT_LOG_MAX 10 /* rejected enqueued events logged per commit */
/* The health check after a commit reads a rollout's finished counts from
 * an index: microseconds for a small rollout, about 15 ms for 100,000
 * finished devices.  A rollout with at least CHECK_LARGE finished devices
 * is checked again only CHECK_US_PER_FINISHED per finished device later
 * (300 ms at 100,000: about 1/20 of the writer's time); a check deferred
 * meanwhile runs when due, even if no event arrives. */
#define CHECK_LARGE 10000
#define CHECK_US_PER_FINISHED 3LL
#define CHECK_SLOTS 64

/* ---- the writer ---- */

/* A batch on the queue.  A submitted one lives on its submitter's stack
 * (ev and res borrowed) and is answered through done/rc/cv; an enqueued
 * one owns a copy of its events and is freed by the writer. */
struct tm_batch {
	struct tm_batch *next;
	const struct telemetry_event *ev;
	size_t n;
	enum telemetry_transport transport;
	struct telemetry_result *res; /* NULL: enqueued */
	struct telemetry_event *owned;
	struct telemetry_result *owned_res; /* enqueued: for the done hook */
	pthread_cond_t cv;                  /* submitted only */
	int done;                           /* guarded by the queue's mutex */
	int rc;
};

struct telemetry {
	struct store *store;              /* borrowed */
	struct seen *seen;                /* borrowed, may be NULL */
	struct rollout_service *rollouts; /* borrowed */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;  /* the writer waits for batches */
	pthread_cond_t space_cv; /* submitters wait for queue room */
	struct tm_batch *head, *tail;
	size_t queued;    /* events on the queue */
	size_t queue_max; /* bound of queued */
	int stop;
	struct telemetry_stats stats;       /* guarded by mu */
	struct store_event_result *scratch; /* TELEMETRY_GROUP_MAX, writer */
	struct store_event_in *in;          /* TELEMETRY_GROUP_MAX, writer */
	/* The done hook of enqueued batches: hook_mu is held while it runs,
	 * so that telemetry_set_done_hook returns only once no call of the
	 * old hook is in progress. */
	pthread_mutex_t hook_mu;
	telemetry_done_fn done_fn; /* guarded by hook_mu */
	void *done_arg;
	struct telemetry_done *done; /* TELEMETRY_GROUP_MAX, writer only */
	/* Writer only: when each expensive rollout may be checked again. */
	struct check_slot {
		int64_t id;            /* 0: free */
		int64_t not_before_ms; /* timeutil_mono_ms */
		int pending;
	} slots[CHECK_SLOTS];
};

/* Waits for room for n events and appends b.  Called with mu held. */
static void
queue_push(struct telemetry *t, struct tm_batch *b)
{
	while (t->queued > 0 && t->queued + b->n > t->queue_max)
		pthread_cond_wait(&t->space_cv, &t->mu);
	b->next = NULL;
	if (t->tail != NULL)
		t->tail->next = b;
	else
		t->head = b;
	t->tail = b;
	t->queued += b->n;
	pthread_cond_signal(&t->work_cv);
}

int
telemetry_submit(struct telemetry *t, const struct telemetry_event *ev,
    size_t n, enum telemetry_transport transport, struct telemetry_result *res)
{
	struct tm_batch b;
	int rc;

	if (t == NULL || ev == NULL || res == NULL || n < 1 ||
	    n > TELEMETRY_BATCH_MAX ||
	    telemetry_parse_transport_name(transport) == NULL)
		return OTA_EINVAL;
	memset(&b, 0, sizeof(b));
	b.ev = ev;
	b.n = n;
	b.transport = transport;
	b.res = res;
	pthread_cond_init(&b.cv, NULL);
	pthread_mutex_lock(&t->mu);
	if (t->stop) {
		rc = OTA_EDB; /* stopping: nothing more is written */
	} else {
		queue_push(t, &b);
		while (!b.done)
			pthread_cond_wait(&b.cv, &t->mu);
		rc = b.rc;
	}
	pthread_mutex_unlock(&t->mu);
	pthread_cond_destroy(&b.cv);
	return rc;
}

int
telemetry_enqueue(struct telemetry *t, const struct telemetry_event *ev,
    size_t n, enum telemetry_transport transport)
{
	struct tm_batch *b;

	if (t == NULL || ev == NULL || n < 1 || n > TELEMETRY_BATCH_MAX ||
	    telemetry_parse_transport_name(transport) == NULL)
		return OTA_EINVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->owned = malloc(n * sizeof(*ev))) == NULL ||
	    (b->owned_res = calloc(n, sizeof(*b->owned_res))) == NULL) {
		if (b != NULL)
			free(b->owned);
		free(b);
		log_err("msg=\"telemetry: out of memory; events dropped\" "
		        "count=%zu transport=%s",
		    n, telemetry_parse_transport_name(transport));
		pthread_mutex_lock(&t->mu);
		t->stats.lost += n;
		pthread_mutex_unlock(&t->mu);
		return OTA_ENOMEM;
	}
	memcpy(b->owned, ev, n * sizeof(*ev));
	b->ev = b->owned;
	b->n = n;
	b->transport = transport;
	pthread_mutex_lock(&t->mu);
	if (t->stop) {
		/* The writer may be gone: callers stop before telemetry. */
		t->stats.lost += n;
		pthread_mutex_unlock(&t->mu);
		log_err("msg=\"telemetry stopping: events dropped\" count=%zu "
		        "transport=%s",
		    n, telemetry_parse_transport_name(transport));
		free(b->owned);
		free(b->owned_res);
		free(b);
		return OTA_EDB;
	}
	queue_push(t, b);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static void writer_check(
    struct telemetry *t, const int64_t *ids, size_t n, int all_pending);

/* Per-batch outcome counts, added to the stats only after the commit. */
struct tm_counts {
	uint64_t accepted[UPDATE_STATE_COUNT];
	uint64_t duplicates, rejected;
	uint64_t rejected_by[TELEMETRY_REJECT_COUNT];
};

/* The judge of the writer's groups: arg is the group's store_event_in
 * array. */
static enum telemetry_reject
judge_event(void *arg, size_t i, const struct telemetry_target *tg,
    char *detail, size_t detail_len)
{
	const struct store_event_in *in = arg;

	return telemetry_parse_verdict(in[i].ev, tg, detail, detail_len);
}

/* Answers batch b from its outcomes sr[0..b->n): fills b->res
 * (submitted) or b->owned_res (enqueued) and k. */
static void
answer_batch(struct tm_batch *b, const struct store_event_result *sr,
    int *logged, struct tm_counts *k)
{
	struct telemetry_result *res = b->res != NULL ? b->res : b->owned_res;

	for (size_t i = 0; i < b->n; i++) {
		enum telemetry_outcome o =
		    sr[i].outcome == STORE_EVENT_ACCEPTED ? TELEMETRY_ACCEPTED
		    : sr[i].outcome == STORE_EVENT_DUPLICATE
		        ? TELEMETRY_DUPLICATE
		        : TELEMETRY_REJECTED;

		if (o == TELEMETRY_ACCEPTED)
			k->accepted[b->ev[i].state]++;
		else if (o == TELEMETRY_DUPLICATE)
			k->duplicates++;
		else {
			k->rejected++;
			k->rejected_by[sr[i].reject]++;
		}
		res[i].outcome = o;
		res[i].reject = sr[i].reject;
		memcpy(res[i].detail, sr[i].detail, sizeof(res[i].detail));
		if (b->res == NULL && o == TELEMETRY_REJECTED &&
		    (*logged)++ < REJECT_LOG_MAX) {
			log_warn("msg=\"event rejected\" transport=%s "
			         "device=%s event_id=%s rollout=%lld error=%s "
			         "reason=\"%s\"",
			    telemetry_parse_transport_name(b->transport),
			    b->ev[i].device_id, b->ev[i].event_id,
			    (long long)b->ev[i].rollout_id,
			    telemetry_parse_reject_name(sr[i].reject),
			    sr[i].detail);
		}
	}
}

/* What one group's transaction did: filled by group_write. */
struct tm_group {
	struct tm_counts k[TELEMETRY_TRANSPORT_COUNT];
	int64_t touched[TOUCHED_MAX]; /* rollouts whose health moved */
	size_t ntouched;
	int logged; /* rejected enqueued events seen (logged up to a cap) */
};

/*
 * Writes the batches of list in one transaction, as one group of the
 * store (judged by telemetry_parse_verdict on facts read in it), and
 * answers each batch: 0 once committed, else OTA_EDB or another OTA_E*
 * (rolled back, nothing of it stored).
 */
static int
group_write(struct telemetry *t, struct tm_batch *list, struct tm_group *g)
{
	struct store_conn *c;
	struct tm_batch *b;
	char now[21];
	size_t n = 0, batch = 0, off = 0;
	int rc;

	for (b = list; b != NULL; b = b->next, batch++)
		for (size_t i = 0; i < b->n; i++, n++) {
			t->in[n].ev = &b->ev[i];
			t->in[n].transport =
			    telemetry_parse_transport_name(b->transport);
			t->in[n].batch = batch;
		}
	store_now_rfc3339(now);
	c = store_acquire(t->store);
	rc = store_begin(c);
	if (rc == 0)
		rc = store_telemetry_write_group(c, t->in, n, now, judge_event,
		    t->in, t->scratch, g->touched, TOUCHED_MAX, &g->ntouched);
	for (b = list; rc == 0 && b != NULL; off += b->n, b = b->next)
		answer_batch(
		    b, t->scratch + off, &g->logged, &g->k[b->transport]);
	if (rc == 0)
		rc = store_commit(c); /* rolled back by itself on failure */
	else
		store_rollback(c);
	store_release(t->store, c);
	return rc;
}

/* Adds the counts of a committed group to the stats.  Called with mu. */
static void
stats_add(struct telemetry *t, const struct tm_group *g)
{
	t->stats.commits++;
	for (int tr = 0; tr < TELEMETRY_TRANSPORT_COUNT; tr++) {
		const struct tm_counts *k = &g->k[tr];

		for (int s = 0; s < UPDATE_STATE_COUNT; s++)
			t->stats.events[tr][s] += k->accepted[s];
		t->stats.duplicates += k->duplicates;
		t->stats.rejected += k->rejected;
		for (int r = 0; r < TELEMETRY_REJECT_COUNT; r++)
			t->stats.rejected_by[tr][r] += k->rejected_by[r];
	}
}

/*
 * Answers the batches of list after their transaction (rc): wakes each
 * submitter, and lists each enqueued batch in t->done for the hook,
 * chaining it into *out_owned for group_free.  Returns how many went to
 * t->done.  Called with mu held.
 */
static size_t
group_answer(struct telemetry *t, struct tm_batch *list, int rc,
    struct tm_batch **out_owned)
{
	struct tm_batch *b, *next, **owned_tail = out_owned;
	size_t ndone = 0;

	for (b = list; b != NULL; b = next) {
		next = b->next;
		if (b->res != NULL) {
			b->rc = rc == 0 ? 0 : OTA_EDB;
			b->done = 1;
			pthread_cond_signal(&b->cv);
			continue;
		}
		if (rc != 0) {
			t->stats.lost += b->n;
			log_err("msg=\"telemetry write failed: queued events "
			        "lost\" count=%zu transport=%s",
			    b->n, telemetry_parse_transport_name(b->transport));
		}
		t->done[ndone].ev = b->ev;
		t->done[ndone].res = b->owned_res;
		t->done[ndone].n = b->n;
		t->done[ndone].transport = b->transport;
		ndone++;
		/* Chained apart: a submitted batch may be gone once
		 * signalled. */
		*owned_tail = b;
		owned_tail = &b->next;
	}
	*owned_tail = NULL;
	return ndone;
}

/* Frees the enqueued batches chained by group_answer. */
static void
group_free(struct tm_batch *owned)
{
	struct tm_batch *next;

	for (; owned != NULL; owned = next) {
		next = owned->next;
		free(owned->owned);
		free(owned->owned_res);
		free(owned);
	}
}

/*
 * Writes the batches of list (n events in all) in one transaction,
 * answers their submitters (OTA_EDB to all when the transaction failed),
 * hands the enqueued batches to the done hook and frees them, then checks
 * the touched rollouts' health (every running rollout when more were
 * touched than the set holds).
 */
static void
write_group(struct telemetry *t, struct tm_batch *list, size_t n)
{
	struct tm_group g;
	struct tm_batch *b, *owned = NULL;
	size_t ndone;
	int rc;

	memset(&g, 0, sizeof(g));
	rc = group_write(t, list, &g);
	/* A device that completed an update may poll next with the old
	 * version (a silent revert): that poll must be written and judged
	 * at seen's next flush, not skipped as unchanged.  Before the
	 * submitters are answered: their events are still there. */
	for (b = list; rc == 0 && b != NULL; b = b->next)
		for (size_t i = 0; i < b->n; i++)
			if (b->ev[i].state == UPDATE_COMPLETED)
				seen_forget(t->seen, b->ev[i].device_id);

	pthread_mutex_lock(&t->mu);
	t->stats.writing = 0;
	if (rc == 0)
		stats_add(t, &g);
	else
		t->stats.write_errors++;
	ndone = group_answer(t, list, rc, &owned);
	pthread_mutex_unlock(&t->mu);
	/* After the commit: what the hook acknowledges is durable. */
	if (ndone > 0) {
		pthread_mutex_lock(&t->hook_mu);
		if (t->done_fn != NULL)
			t->done_fn(
			    t->done_arg, t->done, ndone, rc == 0 ? 0 : OTA_EDB);
		pthread_mutex_unlock(&t->hook_mu);
	}
	group_free(owned);
	if (g.logged > REJECT_LOG_MAX)
		log_warn("msg=\"events rejected\" count=%d logged=%d", g.logged,
		    REJECT_LOG_MAX);
	if (rc != 0) {
		log_err("msg=\"telemetry write failed: nothing acknowledged\" "
		        "events=%zu",
		    n);
		return;
	}
	if (g.ntouched == TOUCHED_MAX)
		rollout_service_touched(t->rollouts, NULL, 0);
	else
		writer_check(t, g.touched, g.ntouched, 0);
}

/* The slot of rollout id, or NULL. */
static struct check_slot *
slot_find(struct telemetry *t, int64_t id)
{
	for (size_t i = 0; i < CHECK_SLOTS; i++)
		if (t->slots[i].id == id)
			return &t->slots[i];
	return NULL;
}

/* Checks rollout id now and, when it is large, records when it may be
 * checked again (a free slot, or the one due soonest that waits for
 * nothing; when all are waiting the rollout is simply not throttled). */
static void
writer_check_one(struct telemetry *t, int64_t id)
{
	struct check_slot *sl;
	uint64_t finished = 0;
	int rc;

	rc = rollout_service_check_health(t->rollouts, id, &finished);
	if (rc < 0)
		log_err("msg=\"rollout health check failed\" id=%lld "
		        "err=\"%s\"",
		    (long long)id, ota_strerror(rc));
	if ((sl = slot_find(t, id)) == NULL && finished >= CHECK_LARGE) {
		for (size_t i = 0; i < CHECK_SLOTS; i++) {
			struct check_slot *k = &t->slots[i];

			if (k->id == 0) {
				sl = k;
				break;
			}
			if (!k->pending &&
			    (sl == NULL ||
			        k->not_before_ms < sl->not_before_ms))
				sl = k;
		}
	}
	if (sl == NULL)
		return;
	sl->id = id;
	sl->pending = 0;
	sl->not_before_ms =
	    finished >= CHECK_LARGE
	        ? timeutil_mono_ms() +
	              (int64_t)finished * CHECK_US_PER_FINISHED / 1000
	        : 0;
}

/*
 * The writer's health checks: ids[0..n) (just touched) now, unless one was
 * checked expensively a moment ago (then it is marked pending), and every
 * pending check that is due (all of them when all_pending).
 */
static void
writer_check(struct telemetry *t, const int64_t *ids, size_t n, int all_pending)
{
	struct check_slot *sl;
	int64_t now = timeutil_mono_ms();

	for (size_t i = 0; i < n; i++) {
		sl = slot_find(t, ids[i]);
		if (sl != NULL && now < sl->not_before_ms) {
			sl->pending = 1;
			log_debug("msg=\"rollout health check deferred\" "
			          "id=%lld in_ms=%lld",
			    (long long)ids[i],
			    (long long)(sl->not_before_ms - now));
		} else
			writer_check_one(t, ids[i]);
	}
	for (size_t i = 0; i < CHECK_SLOTS; i++) {
		sl = &t->slots[i];
		if (sl->id != 0 && sl->pending &&
		    (all_pending || sl->not_before_ms <= now))
			writer_check_one(t, sl->id);
	}
}

/* The deadline of the earliest pending check, or 0 when none waits. */
static int64_t
writer_next_check(struct telemetry *t)
{
	int64_t next = 0;

	for (size_t i = 0; i < CHECK_SLOTS; i++)
		if (t->slots[i].id != 0 && t->slots[i].pending &&
		    (next == 0 || t->slots[i].not_before_ms < next))
			next = t->slots[i].not_before_ms;
	return next;
}

static void *
writer_main(void *arg)
{
	struct telemetry *t = arg;
	struct tm_batch *list, *last;
	struct timespec ts;
	int64_t next;
	size_t n;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->head == NULL && !t->stop) {
			/* Idle: sleep until work, or a deferred check. */
			if ((next = writer_next_check(t)) == 0) {
				pthread_cond_wait(&t->work_cv, &t->mu);
				continue;
			}
			ts = timeutil_mono_timespec(next);
			if (pthread_cond_timedwait(&t->work_cv, &t->mu, &ts) ==
			    ETIMEDOUT) {
				pthread_mutex_unlock(&t->mu);
				writer_check(t, NULL, 0, 0);
				pthread_mutex_lock(&t->mu);
			}
		}
		if (t->head == NULL)
			break; /* stopping, and drained */
		/* Every batch waiting, up to the group cap (at least one). */
		list = last = t->head;
		n = last->n;
		while (last->next != NULL &&
		       n + last->next->n <= TELEMETRY_GROUP_MAX) {
			last = last->next;
			n += last->n;
		}
		t->head = last->next;
		if (t->head == NULL)
			t->tail = NULL;
		last->next = NULL;
		t->queued -= n;
		t->stats.writing = n;
		pthread_cond_broadcast(&t->space_cv);
		pthread_mutex_unlock(&t->mu);
		write_group(t, list, n);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	writer_check(t, NULL, 0, 1); /* nothing deferred is left behind */
	return NULL;
}

struct telemetry *
telemetry_start(struct store *st, struct seen *seen,
    struct rollout_service *rollouts, size_t queue_max)
{
	struct telemetry *t;
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->scratch = calloc(TELEMETRY_GROUP_MAX, sizeof(*t->scratch))) ==
	        NULL ||
	    (t->in = calloc(TELEMETRY_GROUP_MAX, sizeof(*t->in))) == NULL ||
	    (t->done = calloc(TELEMETRY_GROUP_MAX, sizeof(*t->done))) == NULL) {
		log_err("msg=\"cannot start the telemetry writer\" err=\"out "
		        "of memory\"");
		if (t != NULL) {
			free(t->scratch);
			free(t->in);
		}
		free(t);
		return NULL;
	}
	t->store = st;
	t->seen = seen;
	t->rollouts = rollouts;
	t->queue_max =
	    queue_max < TELEMETRY_BATCH_MAX ? TELEMETRY_BATCH_MAX : queue_max;
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->hook_mu, NULL);
	timeutil_mono_cond_init(&t->work_cv);
	pthread_cond_init(&t->space_cv, NULL);
	rc = pthread_create(&t->thread, NULL, writer_main, t);
	if (rc != 0) {
		log_err("msg=\"cannot start the telemetry writer\" err=\"%s\"",
		    strerror(rc));
		pthread_cond_destroy(&t->space_cv);
		pthread_cond_destroy(&t->work_cv);
		pthread_mutex_destroy(&t->mu);
		pthread_mutex_destroy(&t->hook_mu);
		free(t->scratch);
		free(t->in);
		free(t->done);
		free(t);
		return NULL;
	}
	log_info("msg=\"telemetry writer started\" queue_max=%zu "
	         "group_max=%d",
	    t->queue_max, TELEMETRY_GROUP_MAX);
	return t;
}

void
telemetry_stop(struct telemetry *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_cond_signal(&t->work_cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	log_info("msg=\"telemetry writer stopped\" commits=%llu "
	         "duplicates=%llu rejected=%llu",
	    (unsigned long long)t->stats.commits,
	    (unsigned long long)t->stats.duplicates,
	    (unsigned long long)t->stats.rejected);
	pthread_cond_destroy(&t->space_cv);
	pthread_cond_destroy(&t->work_cv);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->hook_mu);
	free(t->scratch);
	free(t->in);
	free(t->done);
	free(t);
}

void
telemetry_set_done_hook(struct telemetry *t, telemetry_done_fn fn, void *arg)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->hook_mu);
	t->done_fn = fn;
	t->done_arg = arg;
	pthread_mutex_unlock(&t->hook_mu);
}

void
telemetry_stats_get(struct telemetry *t, struct telemetry_stats *out)
{
	if (t == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&t->mu);
	*out = t->stats;
	out->queued = t->queued;
	pthread_mutex_unlock(&t->mu);
}
