/*
 * walkcache: the kept answers of rollout health's walk over a rollout's
 * target members (targeted and in-stage devices, rollout_service_health).
 * At 1,000,000 targeted devices the walk takes over a second, and a
 * dashboard asks for health every few seconds: like the fleet summary
 * (fleet.h), a walk that took at least WALKCACHE_SLOW_MS is reused for
 * WALKCACHE_REUSE_FACTOR times its duration (at most WALKCACHE_REUSE_MAX_MS),
 * and while one caller walks a rollout, the others are given the walk
 * kept for it even past its reuse time (its computed_at says how old).
 * A fast walk is never kept: a small fleet always sees its last change.
 * A walk is kept under a key of everything it depends on in the rollout
 * (stages, salt, groups, image, selector, from_version): an edit of the
 * rollout is never answered from an older walk.  Only membership, labels
 * and versions may be that old.  Thread-safe, fixed memory, no I/O.
 */
#ifndef OTAD_WALKCACHE_H
#define OTAD_WALKCACHE_H

#include <stdint.h>

#include "rollout.h"

/* Rollouts whose walks are kept at once; the least recently used goes. */
#define WALKCACHE_ENTRIES 64
#define WALKCACHE_SLOW_MS 200
#define WALKCACHE_REUSE_FACTOR 10
#define WALKCACHE_REUSE_MAX_MS 30000

/* One walk's answer. */
struct walkcache_walk {
	uint64_t entered[ROLLOUT_MAX_STAGES]; /* per stage, as the health's */
	uint64_t targeted;
	int64_t computed_at_ms; /* wall clock (timeutil_now_ms) of its start */
};

struct walkcache;

/* A new, empty cache, or NULL when out of memory. */
struct walkcache *walkcache_new(void);

/* Frees wc; NULL-safe.  No call may be in progress. */
void walkcache_free(struct walkcache *wc);

/*
 * Whether rollout id (under key, the digest of what its walk depends on)
 * needs a walk at monotonic time now_ms.  Returns 1 with *out filled when
 * a kept walk of that key is to be given instead: one within its reuse
 * time, or any kept one while another caller walks the rollout.  Returns
 * 0 when the caller must walk: it then owns the rollout's walk until it
 * calls walkcache_put (or walkcache_abandon when the walk failed); others
 * meanwhile get the kept answer, or walk too when none is kept.
 */
int walkcache_get(struct walkcache *wc, int64_t id, uint64_t key,
    int64_t now_ms, struct walkcache_walk *out);

/*
 * The walk of rollout id under key, begun at monotonic time t0_ms and
 * ended at now_ms: kept when it took at least WALKCACHE_SLOW_MS, and any
 * walk kept for the rollout dropped when it was faster.  Ends the
 * caller's ownership (walkcache_get).
 */
void walkcache_put(struct walkcache *wc, int64_t id, uint64_t key,
    const struct walkcache_walk *w, int64_t t0_ms, int64_t now_ms);

/* Ends the caller's ownership of rollout id's walk without an answer. */
void walkcache_abandon(struct walkcache *wc, int64_t id);

#endif
