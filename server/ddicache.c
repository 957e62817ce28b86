/*
 * ddicache: a direct-mapped table of slots (a device id's hash picks its
 * one slot; a device taking a slot replaces its holder), each an entry
 * of the device's DDI poll facts in one allocation, under one
 * reader-writer lock (lookups share it; inserts and invalidations take it
 * alone).  The generation is the fill rule, as devcache's: a reader takes
 * it before reading the database and inserts only while it has not
 * moved; an invalidation moves it, under the lock, before removing
 * entries.  "*" moves the epoch instead of walking the table: an entry
 * of an older epoch is never served.
 */
#include "ddicache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devcache.h"
#include "ddi.h"
#include "errors.h"
#include "log.h"

/* What a poll decides on of one action. */
struct dk_action {
	int64_t id;
	int64_t rollout_id;
	int64_t image_id;
	int64_t bundle_id;    /* its parts are read at a deployment */
	unsigned char status; /* enum ddi_status */
	unsigned char aborted;
	unsigned char targeted;
};

/* One device's facts; its id follows its actions. */
struct dk_entry {
	uint64_t hash;
	uint64_t epoch;
	uint64_t rollouts_gen;
	int64_t installed_action_id;
	unsigned char attributes_wanted;
	unsigned char count; /* actions */
	struct dk_action act[];
};

struct ddicache {
	pthread_rwlock_t lock;
	atomic_uint_fast64_t gen; /* moved under the write lock */
	atomic_int serving;
	atomic_uint_fast64_t *rollouts_gen;
	uint64_t epoch; /* under the lock */
	struct dk_entry **slot;
	size_t mask;
	size_t count;
	atomic_uint_fast64_t hits, misses;
};

/* FNV-1a: device ids are the operator's, not a caller's choice. */
static uint64_t
dk_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static const char *
entry_id(const struct dk_entry *e)
{
	return (const char *)&e->act[e->count];
}

struct ddicache *
ddicache_new(
    size_t max_entries, atomic_uint_fast64_t *rollouts_gen, int serving)
{
	struct ddicache *dc;
	pthread_rwlockattr_t attr;
	size_t n = 1;

	if (max_entries == 0)
		return NULL;
	if (max_entries > DEVCACHE_ENTRIES_MAX)
		max_entries = DEVCACHE_ENTRIES_MAX;
	while (n < max_entries)
		n *= 2;
	if ((dc = calloc(1, sizeof(*dc))) == NULL ||
	    (dc->slot = calloc(n, sizeof(*dc->slot))) == NULL) {
		free(dc);
		log_err("msg=\"cannot create the DDI cache\" err=\"out of "
		        "memory\" entries=%zu",
		    max_entries);
		return NULL;
	}
	dc->mask = n - 1;
	dc->rollouts_gen = rollouts_gen;
	/* Inserts and invalidations must not starve behind lookups. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(
	    &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dc->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	atomic_init(&dc->gen, 1);
	atomic_init(&dc->serving, serving ? 1 : 0);
	return dc;
}

/* Frees every entry.  Called with the write lock held (or alone).  An
 * empty slot is not written: the table's untouched pages stay shared
 * zero pages, not resident. */
static void
dk_clear(struct ddicache *dc)
{
	for (size_t i = 0; i <= dc->mask; i++)
		if (dc->slot[i] != NULL) {
			free(dc->slot[i]);
			dc->slot[i] = NULL;
		}
	dc->count = 0;
}

void
ddicache_free(struct ddicache *dc)
{
	if (dc == NULL)
		return;
	dk_clear(dc);
	free(dc->slot);
	pthread_rwlock_destroy(&dc->lock);
	free(dc);
}

void
ddicache_ticket(struct ddicache *dc, struct ddicache_ticket *out)
{
	out->gen = dc != NULL ? atomic_load(&dc->gen) : 0;
	out->rollouts_gen = dc != NULL ? atomic_load(dc->rollouts_gen) : 0;
}

/* The entry of id in its slot (any epoch), or NULL.  Lock held. */
static struct dk_entry *
dk_find(const struct ddicache *dc, const char *id, uint64_t h)
{
	struct dk_entry *e = dc->slot[h & dc->mask];

	if (e == NULL || e->hash != h || strcmp(entry_id(e), id) != 0)
		return NULL;
	return e;
}

/* Fills out from e. */
static void
dk_copy_out(const struct dk_entry *e, struct store_ddi_poll *out)
{
	out->action_count = e->count;
	out->attributes_wanted = e->attributes_wanted;
	out->installed_action_id = e->installed_action_id;
	for (size_t i = 0; i < e->count; i++) {
		struct store_ddi_action *a = &out->actions[i];

		memset(a, 0, sizeof(*a));
		a->id = e->act[i].id;
		a->rollout_id = e->act[i].rollout_id;
		a->image_id = e->act[i].image_id;
		a->bundle_id = e->act[i].bundle_id;
		a->status = (enum ddi_status)e->act[i].status;
		a->targeted = e->act[i].targeted;
		if (e->act[i].aborted)
			memcpy(a->rollout_state, "aborted", sizeof("aborted"));
	}
}

int
ddicache_lookup(struct ddicache *dc, const char *id, struct store_ddi_poll *out)
{
	const struct dk_entry *e;
	uint64_t h, rgen;
	int rc = OTA_ENOTFOUND;

	if (dc == NULL)
		return OTA_ENOTFOUND;
	if (atomic_load(&dc->serving)) {
		h = dk_hash(id);
		rgen = atomic_load(dc->rollouts_gen);
		pthread_rwlock_rdlock(&dc->lock);
		e = dk_find(dc, id, h);
		if (e != NULL && e->epoch == dc->epoch &&
		    e->rollouts_gen == rgen) {
			dk_copy_out(e, out);
			rc = 0;
		}
		pthread_rwlock_unlock(&dc->lock);
	}
	atomic_fetch_add(rc == 0 ? &dc->hits : &dc->misses, 1);
	return rc;
}

/* A new entry of f for id (hash h), or NULL when out of memory. */
static struct dk_entry *
dk_entry_new(const struct ddicache_ticket *t, const char *id, uint64_t h,
    const struct store_ddi_poll *f)
{
	size_t idlen = strlen(id);
	struct dk_entry *e = malloc(
	    sizeof(*e) + f->action_count * sizeof(e->act[0]) + idlen + 1);

	if (e == NULL)
		return NULL;
	e->hash = h;
	e->rollouts_gen = t->rollouts_gen;
	e->installed_action_id = f->installed_action_id;
	e->attributes_wanted = f->attributes_wanted != 0;
	e->count = (unsigned char)f->action_count;
	for (size_t i = 0; i < f->action_count; i++) {
		const struct store_ddi_action *a = &f->actions[i];

		e->act[i].id = a->id;
		e->act[i].rollout_id = a->rollout_id;
		e->act[i].image_id = a->image_id;
		e->act[i].bundle_id = a->bundle_id;
		e->act[i].status = (unsigned char)a->status;
		e->act[i].aborted = strcmp(a->rollout_state, "aborted") == 0;
		e->act[i].targeted = a->targeted != 0;
	}
	memcpy((char *)&e->act[e->count], id, idlen + 1);
	return e;
}

void
ddicache_insert(struct ddicache *dc, const struct ddicache_ticket *t,
    const char *id, const struct store_ddi_poll *f)
{
	struct dk_entry *e, **slot;
	uint64_t h;

	_Static_assert(STORE_DDI_POLL_ACTIONS_MAX <= 255, "count fits");
	if (dc == NULL || !atomic_load(&dc->serving) ||
	    atomic_load(&dc->gen) != t->gen ||
	    f->action_count > STORE_DDI_POLL_ACTIONS_MAX)
		return;
	h = dk_hash(id);
	if ((e = dk_entry_new(t, id, h, f)) == NULL)
		return; /* a cache: the next poll reads again */
	pthread_rwlock_wrlock(&dc->lock);
	if (atomic_load(&dc->serving) && atomic_load(&dc->gen) == t->gen) {
		slot = &dc->slot[h & dc->mask];
		e->epoch = dc->epoch;
		if (*slot == NULL)
			dc->count++;
		free(*slot);
		*slot = e;
		e = NULL;
	}
	pthread_rwlock_unlock(&dc->lock);
	free(e);
}

/* Forgets the n bytes of an id at p.  Write lock held. */
static void
dk_forget(struct ddicache *dc, const char *p, size_t n)
{
	char id[STORE_DEVICE_ID_MAX + 1];
	struct dk_entry **slot;
	uint64_t h;

	if (n > STORE_DEVICE_ID_MAX)
		return; /* never cached: not a device id */
	memcpy(id, p, n);
	id[n] = '\0';
	h = dk_hash(id);
	slot = &dc->slot[h & dc->mask];
	if (dk_find(dc, id, h) != NULL) {
		free(*slot);
		*slot = NULL;
		dc->count--;
	}
}

void
ddicache_invalidate(struct ddicache *dc, const char *ids)
{
	const char *p = ids;

	if (dc == NULL || ids == NULL)
		return;
	pthread_rwlock_wrlock(&dc->lock);
	atomic_fetch_add(&dc->gen, 1);
	if (strcmp(ids, "*") == 0)
		dc->epoch++;
	else
		while (*p != '\0') {
			size_t n = strcspn(p, " ");

			if (n > 0)
				dk_forget(dc, p, n);
			p += n;
			p += strspn(p, " ");
		}
	pthread_rwlock_unlock(&dc->lock);
}

void
ddicache_hook(void *arg, const char *ids)
{
	ddicache_invalidate(arg, ids);
}

void
ddicache_set_serving(struct ddicache *dc, int on)
{
	if (dc == NULL)
		return;
	pthread_rwlock_wrlock(&dc->lock);
	atomic_fetch_add(&dc->gen, 1);
	atomic_store(&dc->serving, on ? 1 : 0);
	dk_clear(dc);
	pthread_rwlock_unlock(&dc->lock);
}

void
ddicache_serving_hook(void *arg, int on)
{
	ddicache_set_serving(arg, on);
}

void
ddicache_get_stats(struct ddicache *dc, struct ddicache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (dc == NULL)
		return;
	out->hits = atomic_load(&dc->hits);
	out->misses = atomic_load(&dc->misses);
	pthread_rwlock_rdlock(&dc->lock);
	out->devices = dc->count;
	pthread_rwlock_unlock(&dc->lock);
}
