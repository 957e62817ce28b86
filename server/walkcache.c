/*
 * walkcache: a fixed table of WALKCACHE_ENTRIES rollouts under one mutex.
 * The table is small and a lookup is rare (a health request), so a linear
 * search is simpler than a hash and as fast.
 */
#include "walkcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct walkcache_entry {
	int64_t id; /* 0: a free slot */
	uint64_t key;
	struct walkcache_walk walk;
	int has_walk;     /* walk holds a kept answer for key */
	int64_t until_ms; /* monotonic: reused until then */
	int64_t used_ms;  /* monotonic: last asked for, for eviction */
	int walkers;      /* callers walking this rollout now */
};

struct walkcache {
	pthread_mutex_t mu;
	struct walkcache_entry e[WALKCACHE_ENTRIES];
};

struct walkcache *
walkcache_new(void)
{
	struct walkcache *wc = calloc(1, sizeof(*wc));

	if (wc != NULL && pthread_mutex_init(&wc->mu, NULL) != 0) {
		free(wc);
		wc = NULL;
	}
	return wc;
}

void
walkcache_free(struct walkcache *wc)
{
	if (wc == NULL)
		return;
	pthread_mutex_destroy(&wc->mu);
	free(wc);
}

/* Rollout id's entry, or NULL.  Caller holds wc->mu. */
static struct walkcache_entry *
entry_find(struct walkcache *wc, int64_t id)
{
	for (size_t i = 0; i < WALKCACHE_ENTRIES; i++)
		if (wc->e[i].id == id)
			return &wc->e[i];
	return NULL;
}

/* A slot for rollout id: its entry, else a free one, else the least
 * recently used one nobody walks (reset); NULL when every slot is being
 * walked.  Caller holds wc->mu. */
static struct walkcache_entry *
entry_take(struct walkcache *wc, int64_t id)
{
	struct walkcache_entry *e = entry_find(wc, id), *lru = NULL;

	if (e != NULL)
		return e;
	for (size_t i = 0; i < WALKCACHE_ENTRIES; i++) {
		e = &wc->e[i];
		if (e->id == 0) {
			lru = e;
			break;
		}
		if (e->walkers == 0 &&
		    (lru == NULL || e->used_ms < lru->used_ms))
			lru = e;
	}
	if (lru != NULL) {
		memset(lru, 0, sizeof(*lru));
		lru->id = id;
	}
	return lru;
}

int
walkcache_get(struct walkcache *wc, int64_t id, uint64_t key, int64_t now_ms,
    struct walkcache_walk *out)
{
	struct walkcache_entry *e;
	int given = 0;

	pthread_mutex_lock(&wc->mu);
	e = entry_take(wc, id);
	if (e != NULL) {
		e->used_ms = now_ms;
		if (e->has_walk && e->key == key &&
		    (now_ms < e->until_ms || e->walkers > 0)) {
			*out = e->walk;
			given = 1;
		} else {
			if (e->key != key)
				e->has_walk = 0; /* another policy's walk */
			e->walkers++;
		}
	}
	pthread_mutex_unlock(&wc->mu);
	return given;
}

void
walkcache_put(struct walkcache *wc, int64_t id, uint64_t key,
    const struct walkcache_walk *w, int64_t t0_ms, int64_t now_ms)
{
	int64_t took = now_ms - t0_ms, keep = took * WALKCACHE_REUSE_FACTOR;
	struct walkcache_entry *e;

	pthread_mutex_lock(&wc->mu);
	if ((e = entry_take(wc, id)) != NULL) {
		if (e->walkers > 0)
			e->walkers--;
		e->used_ms = now_ms;
		if (took >= WALKCACHE_SLOW_MS) {
			e->key = key;
			e->walk = *w;
			e->has_walk = 1;
			e->until_ms =
			    now_ms + (keep < WALKCACHE_REUSE_MAX_MS
			                     ? keep
			                     : WALKCACHE_REUSE_MAX_MS);
		} else {
			e->has_walk = 0;
			if (e->walkers == 0)
				memset(e, 0, sizeof(*e));
		}
	}
	pthread_mutex_unlock(&wc->mu);
}

void
walkcache_abandon(struct walkcache *wc, int64_t id)
{
	struct walkcache_entry *e;

	pthread_mutex_lock(&wc->mu);
	if ((e = entry_find(wc, id)) != NULL && e->walkers > 0)
		e->walkers--;
	pthread_mutex_unlock(&wc->mu);
}
