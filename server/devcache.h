/*
 * devcache: what a poll needs to know of a device, in memory, so that a
 * device seen recently is answered without a database read: its
 * credentials (device tokens only: API and gateway tokens always go to
 * the database) and its poll facts (store_device_poll_facts).  Bounded,
 * thread-safe, never caches a miss, and never serves an entry older than
 * the last invalidation of its device (see devcache_invalidate).
 */
#ifndef OTAD_DEVCACHE_H
#define OTAD_DEVCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "store.h"
#include "store_devices.h"
#include "store_telemetry.h"
#include "store_tokens.h"

#define DEVCACHE_ENTRIES_DEFAULT 1000000
#define DEVCACHE_ENTRIES_MAX 10000000
/* Groups of one device a facts entry holds; a device in more is read
 * from the database at every poll. */
#define DEVCACHE_GROUPS_MAX 1024

struct devcache;

/*
 * Creates a cache of at most max_entries devices, each with its facts and
 * credentials (1..DEVCACHE_ENTRIES_MAX; 0 means no cache: returns NULL, and
 * every function below takes NULL as "go to the database").  serving 0
 * makes it answer nothing until devcache_set_serving(dc, 1) (a node on a
 * shared database, until its listener hears the other nodes' changes).
 * Returns NULL (logged) when out of memory as well.
 */
struct devcache *devcache_new(size_t max_entries, int serving);

/* Frees dc and every entry (their hashes wiped).  NULL-safe. */
void devcache_free(struct devcache *dc);

/*
 * store_credential_get through the cache: a device token found in it
 * whose secret hashes to hash (the presented token's, as
 * crypto_token_parse gives it) is answered from memory, with out->hash
 * set to hash; otherwise (a wrong secret too) the database is read
 * through c and a device token found there is remembered (unless an
 * invalidation happened meanwhile).  The cache keeps a keyed digest of
 * each token id and hash, never the hash.  Returns as
 * store_credential_get.  Thread-safe.
 */
int devcache_credential_get(struct devcache *dc, struct store_conn *c,
    const char *token_id, const unsigned char hash[CRYPTO_HASH_LEN],
    struct store_credential *out);

/*
 * store_device_poll_facts through the cache, as devcache_credential_get.
 * Must not be called inside a transaction open on c (its snapshot may be
 * older than the cache's generation).  Returns as store_device_poll_facts.
 * Thread-safe.
 */
int devcache_poll_facts(struct devcache *dc, struct store_conn *c,
    const char *id, char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count);

/*
 * Which selectors a device's labels match, as a poll needs it: stamp
 * names the set of selectors (0: none, and then labels are never read),
 * bits(arg, flat, len) gives the bitmap of those a device's labels
 * (store_labels' flat form) match.
 */
struct devcache_match {
	uint64_t stamp;
	uint32_t (*bits)(const void *arg, const char *flat, size_t len);
	const void *arg;
};

/* A device's update marks (store_telemetry_device_marks): its updates in
 * running or paused rollouts that are under way, failed, timed out or
 * declined, what a poll decides retries (rollout_retry_decide), consent
 * (rollout_consent_decide) and new offers on.  Kept reduced: an update
 * under way as offered or accepted (consent given), no time. */
struct devcache_marks {
	size_t n;
	struct store_update_mark m[STORE_UPDATE_MARKS_MAX];
};

/*
 * devcache_poll_facts, the device's update marks (*out_marks, may be
 * NULL) and the bitmap of m's selectors the device's labels
 * match (*out_bits; 0 when m is NULL or its stamp 0).  The marks are
 * read with the facts (one more statement on a miss) and kept with them:
 * a new offer, or a change of a device's update between two of the
 * classes of update_state_mark_class (offered; accepted, started or in
 * progress; declined; failed or timed_out; none of them), reports the
 * device changed (store_devices_changed), which forgets its entry on
 * every node.  An entry keeps the
 * bitmap with the stamp it was computed for: one of another stamp is a
 * miss, read again from the database with the labels (so a change of the
 * running selectors re-reads each device once, at its next poll).  Same
 * returns as devcache_poll_facts.  Thread-safe.
 */
int devcache_poll_facts_match(struct devcache *dc, struct store_conn *c,
    const char *id, char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count, const struct devcache_match *m,
    uint32_t *out_bits, struct devcache_marks *out_marks);

/*
 * Forgets the credentials and facts of the devices ids names: device ids
 * separated by single spaces, or "*" (every device).  Moves the
 * generation first, so that what a reader read from the database before
 * this call is not remembered after it.  Called after the change
 * committed (store hook, cluster listener).  NULL-safe; thread-safe.
 */
void devcache_invalidate(struct devcache *dc, const char *ids);

/* devcache_invalidate(arg, ids) in the shape of store_set_devices_hook's
 * hook: arg is the cache. */
void devcache_hook(void *arg, const char *ids);

/*
 * Empties dc and then serves (on 1) or answers nothing and remembers
 * nothing (on 0) until the next call: the cluster listener turns it off
 * when its connection is lost and on once it listens again.  NULL-safe;
 * thread-safe.
 */
void devcache_set_serving(struct devcache *dc, int on);

/*
 * A cache of other facts of the devices that must be forgotten with
 * theirs (a listener): invalidate(arg, ids) is called by every
 * devcache_invalidate (after this cache's own) and set_serving(arg, on) by
 * every devcache_set_serving, both under the cache's lock (in the order of the
 * changes; they must not call devcache).
 */
struct devcache_listener {
	void (*invalidate)(void *arg, const char *ids);
	void (*set_serving)(void *arg, int on);
	void *arg;
};

/* Listeners of one cache: slot 0 the DDI cache's, slot 1 the components
 * cache's (compcache.h). */
#define DEVCACHE_LISTENERS 2

/* Sets dc's listener of slot 0 (copied; a NULL function: not told) and
 * tells it at once whether dc serves.  Call before the cache is shared.
 * NULL-safe (dc). */
void devcache_set_listener(
    struct devcache *dc, const struct devcache_listener *l);

/* The same for slot (0..DEVCACHE_LISTENERS - 1; others are ignored):
 * listeners are told in slot order. */
void devcache_set_listener_at(
    struct devcache *dc, size_t slot, const struct devcache_listener *l);

/* ---- the parts of the two lookups, for tests ---- */

/* The current generation: take it before reading the database. */
uint64_t devcache_generation(struct devcache *dc);

/* The poll facts of one device, as devcache_poll_facts returns them;
 * group_ids is borrowed. */
struct devcache_facts {
	const char *hardware;
	const char *reported_hardware;
	const char *version;
	const int64_t *group_ids;
	size_t group_count;
	uint64_t stamp; /* devcache_match's, the bits were computed for */
	uint32_t bits;
	const struct store_update_mark *marks; /* mark_count of them */
	size_t mark_count;
};

/* A cached credential of token_id whose secret hashes to hash into *out
 * (its hash: hash): 0, or OTA_ENOTFOUND when not cached, cached with
 * another hash, or not serving. */
int devcache_cred_lookup(struct devcache *dc, const char *token_id,
    const unsigned char hash[CRYPTO_HASH_LEN], struct store_credential *out);

/* Remembers cred (a device's; others are ignored) under token_id, unless
 * the generation moved past gen.  Replaces an entry of the same token. */
void devcache_cred_insert(struct devcache *dc, uint64_t gen,
    const char *token_id, const struct store_credential *cred);

/* As devcache_poll_facts from the cache only (an entry of stamp 0): 0 or
 * OTA_ENOTFOUND. */
int devcache_facts_lookup(struct devcache *dc, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count);

/* Remembers f for device id unless the generation moved past gen (or f
 * has more than DEVCACHE_GROUPS_MAX groups, or its values do not fit the
 * interning tables, or id is long and the long ids' room is full). */
void devcache_facts_insert(struct devcache *dc, uint64_t gen, const char *id,
    const struct devcache_facts *f);

/* Counters and sizes since devcache_new. */
struct devcache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
	size_t credentials; /* entries now */
	size_t devices;
	size_t bytes; /* allocated by dc: records, indexes, interned values */
};
void devcache_get_stats(struct devcache *dc, struct devcache_stats *out);

#endif
