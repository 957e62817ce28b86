/*
 * compcache: each device's components (store_components_get: names,
 * hardware, installed versions) in memory, so that the poll of a device a
 * running bundle rollout targets decides its offer without a database
 * read.  An entry is served only while its device was not invalidated
 * since its read (the device changes of store.h, through devcache's
 * listener: every write of a device's components reports one, here or on
 * another node).  Bounded (devslots: a set of 8 slots per device hash;
 * a device finding its set full replaces an entry), thread-safe, never
 * caches a miss.
 */
#ifndef OTAD_COMPCACHE_H
#define OTAD_COMPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "components.h"

struct compcache;

/*
 * Creates a cache of at most max_entries devices (rounded up to a power
 * of two, at most DEVCACHE_ENTRIES_MAX; 0: no cache, NULL, which every
 * function below takes as "nothing cached").  serving as devcache_new's.
 * Returns NULL (logged) when out of memory.
 */
struct compcache *compcache_new(size_t max_entries, int serving);

/* Frees cc and every entry.  NULL-safe. */
void compcache_free(struct compcache *cc);

/* The generation to note before reading the database (compcache_insert
 * remembers nothing read before an invalidation).  0 for NULL. */
uint64_t compcache_ticket(struct compcache *cc);

/*
 * The cached components of device id into out[0..*out_n) (at most max,
 * else not cached): 0, or OTA_ENOTFOUND (not cached, or not serving).
 * A device with no components is cached too (*out_n 0).  Thread-safe.
 */
int compcache_lookup(struct compcache *cc, const char *id,
    struct component *out, size_t max, size_t *out_n);

/*
 * Remembers v[0..n) (n <= COMPONENTS_MAX) as device id's components, read
 * after ticket was taken, unless an invalidation happened since (or the
 * cache does not serve).  Thread-safe.
 */
void compcache_insert(struct compcache *cc, uint64_t ticket, const char *id,
    const struct component *v, size_t n);

struct store_conn;

/*
 * Device id's components into *out (a new array, the caller frees it)
 * and *out_n: from cc when cached, else read through c
 * (store_components_get) and remembered.  cc NULL: always read.  The one
 * read of a poll that needs them (REST manifest, DDI).  Returns 0 or an
 * OTA_E* code (*out NULL).  Thread-safe.
 */
int compcache_read(struct compcache *cc, struct store_conn *c, const char *id,
    struct component **out, size_t *out_n);

/*
 * Forgets the devices ids names (device ids separated by single spaces,
 * or "*": every device), moving the generation first.  Called after the
 * change committed.  NULL-safe; thread-safe.
 */
void compcache_invalidate(struct compcache *cc, const char *ids);

/* Empties cc and then serves (1) or answers and remembers nothing (0).
 * NULL-safe; thread-safe. */
void compcache_set_serving(struct compcache *cc, int on);

/* compcache_invalidate and compcache_set_serving in the shape of
 * devcache's listener (devcache_set_listener_at): arg is the cache. */
void compcache_hook(void *arg, const char *ids);
void compcache_serving_hook(void *arg, int on);

/* Counters since compcache_new (zeros for NULL). */
struct compcache_stats {
	uint64_t hits, misses;
	size_t devices; /* entries now, stale ones included */
};
void compcache_get_stats(struct compcache *cc, struct compcache_stats *out);

#endif
