/*
 * ddicache: the DDI poll's facts of a device (store_ddi_poll_facts: its
 * actions, whether configData is wanted, its installed action) in
 * memory, so that a device polling again is answered without a database
 * read.  An entry is served only while nothing that could change it
 * happened since its read: its device was not invalidated (the device
 * changes of store.h, through devcache's listener), and the rollouts
 * generation (every committed rollout change, here or on another node)
 * has not moved.  Bounded, thread-safe, never caches a miss.
 */
#ifndef OTAD_DDICACHE_H
#define OTAD_DDICACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store_ddi.h"

struct ddicache;

/*
 * Creates a cache of at most max_entries devices (1..DEVCACHE_ENTRIES_MAX;
 * 0 means no cache: returns NULL, and every function below takes NULL as
 * "nothing cached").  rollouts_gen (borrowed: it must outlive the cache)
 * is the rollouts generation, moved after every committed rollout change.
 * serving as devcache_new's.  Returns NULL (logged) when out of memory.
 */
struct ddicache *ddicache_new(
    size_t max_entries, atomic_uint_fast64_t *rollouts_gen, int serving);

/* Frees dc and every entry.  NULL-safe. */
void ddicache_free(struct ddicache *dc);

/* What a reader notes before reading the database (ddicache_ticket). */
struct ddicache_ticket {
	uint64_t gen;
	uint64_t rollouts_gen;
};

/* Notes the generations into *out: take it before reading the facts
 * that ddicache_insert is given.  NULL-safe. */
void ddicache_ticket(struct ddicache *dc, struct ddicache_ticket *out);

/*
 * The cached facts of device id into *out: 0, or OTA_ENOTFOUND (not
 * cached, cached before the rollouts generation last moved, or not
 * serving).  Of each action only what a poll decides on is set: id,
 * rollout_id, status, rollout_state ("aborted" or ""), targeted and
 * image_id; the other fields are zero.  Thread-safe.
 */
int ddicache_lookup(
    struct ddicache *dc, const char *id, struct store_ddi_poll *out);

/*
 * Remembers f for device id, read after ticket t was taken, unless an
 * invalidation happened since (or the cache does not serve).  Replaces
 * what the device's entry held, or, its set full, another device's
 * (devslots).  Thread-safe.
 */
void ddicache_insert(struct ddicache *dc, const struct ddicache_ticket *t,
    const char *id, const struct store_ddi_poll *f);

/*
 * Forgets the facts of the devices ids names: device ids separated by
 * single spaces, or "*" (every device).  Moves the generation first, so
 * that what a reader read before this call is not remembered after it.
 * Called after the change committed.  NULL-safe; thread-safe.
 */
void ddicache_invalidate(struct ddicache *dc, const char *ids);

/* ddicache_invalidate(arg, ids) and ddicache_set_serving(arg, on) in
 * the shape of devcache's listener (devcache_set_listener): arg is the
 * cache. */
void ddicache_hook(void *arg, const char *ids);
void ddicache_serving_hook(void *arg, int on);

/* Empties dc and then serves (1) or answers and remembers nothing (0),
 * as devcache_set_serving.  NULL-safe; thread-safe. */
void ddicache_set_serving(struct ddicache *dc, int on);

/* Counters and sizes since ddicache_new. */
struct ddicache_stats {
	uint64_t hits;
	uint64_t misses;
	size_t devices; /* entries now, stale ones included */
};
void ddicache_get_stats(struct ddicache *dc, struct ddicache_stats *out);

#endif
