/*
 * bundle_state: the pure rule that folds the statuses of a bundle's parts
 * into the device's one status in the bundle's rollout (docs/bundles.md,
 * "Telemetry per component"), and the rule of the coordinated rollback
 * a poll reveals.  Each part's own status merges by update_state.h; this
 * only reads them.  No I/O, no globals.
 *
 *   a part reverted                  -> reverted (that part)
 *   else a part failed               -> failed (that part, its result)
 *   else every part completed or
 *        already current (skipped)   -> completed
 *   else a part started or further   -> started / progress
 *   else a part deferred (a soft
 *        rollout's "not now")        -> deferred
 */
#ifndef OTAD_BUNDLE_STATE_H
#define OTAD_BUNDLE_STATE_H

#include <stddef.h>

#include "update_state.h"

/* One part of a bundle as the device stands in it (strings borrowed). */
struct bundle_state_part {
	const char *version;      /* the part's image version (SemVer) */
	const char *installed;    /* the component's last known version, ""
	                           * or NULL when unknown */
	enum update_state status; /* from its events; UPDATE_NONE: none */
	int result;               /* LwM2M result when failed, else -1 */
};

/* The device's status folded from its parts. */
struct bundle_state {
	enum update_state status; /* UPDATE_NONE: nothing reported yet */
	int part;     /* the part that made it failed or reverted, else -1 */
	int result;   /* that part's result when failed, else -1 */
	int progress; /* 0..100 with started/progress: the share of parts
	               * done (completed or current), else -1 */
};

/*
 * 1 when a component that runs installed already runs version (SemVer
 * precedence, build metadata ignored: the part is skipped), else 0
 * (also for an unknown or invalid installed version).
 */
int bundle_state_part_current(const char *installed, const char *version);

/*
 * Folds parts p[0..n) (install order) by the rule above into *out.  The
 * first part in install order decides between parts of the same rank.
 * Pure.
 */
void bundle_state_fold(
    const struct bundle_state_part *p, size_t n, struct bundle_state *out);

/*
 * The coordinated rollback: 1 when a part whose install was completed
 * (part_completed: its own status, or the whole bundle's) now shows a
 * component version older than the part's (installed, a poll's report),
 * else 0 (unknown or invalid installed: 0).  Pure.
 */
int bundle_state_rolled_back(
    int part_completed, const char *installed, const char *version);

#endif
