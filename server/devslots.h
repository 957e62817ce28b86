/*
 * devslots: the table under the caches of per-device facts that are
 * forgotten with their device (ddicache, compcache): a set-associative
 * table of slots (a device id's hash picks a set of 8 slots, 64 bytes of
 * pointers; a device that finds its set full replaces an entry forgotten
 * by "*", else the set's entries in turn), each one allocation holding
 * the device's facts as its owner's blob, under one reader-writer lock.
 * The generation is the fill rule, as devcache's: a reader notes it
 * before reading the database and inserts only while it has not moved; an
 * invalidation moves it, under the lock, before removing entries.
 * Bounded, thread-safe, never caches a miss; knows nothing of what the
 * blobs hold.
 */
#ifndef OTAD_DEVSLOTS_H
#define OTAD_DEVSLOTS_H

#include <stddef.h>
#include <stdint.h>

struct devslots;

/*
 * A table of at most max_entries devices (1..DEVCACHE_ENTRIES_MAX, rounded
 * up to a power of two), serving (1) or not (0) as devcache_new's; what
 * names it in the log.  Returns NULL (logged) when out of memory or for
 * max_entries 0.
 */
struct devslots *devslots_new(
    size_t max_entries, int serving, const char *what);

/* Frees t and every entry.  NULL-safe. */
void devslots_free(struct devslots *t);

/* The generation to note before reading the database.  0 for NULL. */
uint64_t devslots_ticket(struct devslots *t);

/*
 * Calls read(arg, blob, len) with device id's blob (8-byte aligned,
 * borrowed for the call, under the read lock: read must not call t) when
 * t serves and holds it; read returns 0 to use it.  Returns 0 (used),
 * or OTA_ENOTFOUND (not held, not serving, or refused by read), counted
 * as a hit or a miss.  NULL-safe (a miss); thread-safe.
 */
int devslots_lookup(struct devslots *t, const char *id,
    int (*read)(void *arg, const void *blob, size_t len), void *arg);

/*
 * Remembers blob[0..len) (copied) as device id's, read after ticket was
 * noted, unless an invalidation happened since, t does not serve, or id
 * is longer than a device id.  Thread-safe; NULL-safe.
 */
void devslots_insert(struct devslots *t, uint64_t ticket, const char *id,
    const void *blob, size_t len);

/* Forgets the devices ids names (device ids separated by single spaces,
 * or "*": every device), moving the generation first.  NULL-safe;
 * thread-safe. */
void devslots_invalidate(struct devslots *t, const char *ids);

/* Empties t, then serves (1) or answers and remembers nothing (0).
 * NULL-safe; thread-safe. */
void devslots_set_serving(struct devslots *t, int on);

/* Hits and misses since devslots_new, entries now (stale ones included);
 * zeros for NULL. */
void devslots_stats(
    struct devslots *t, uint64_t *hits, uint64_t *misses, size_t *entries);

#endif
