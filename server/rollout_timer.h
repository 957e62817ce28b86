/*
 * rollout_timer: the one thread that moves rollouts by itself.  Every
 * ROLLOUT_TIMER_INTERVAL_SEC it advances each running rollout whose
 * current stage has run for its advance_after, one stage at a time,
 * through store_rollout_apply (actor "otad"), guarded by the stage it saw
 * so a concurrent click never makes a rollout skip a stage.  It sleeps on
 * a condition variable, so stopping it is immediate.
 */
#ifndef OTAD_ROLLOUT_TIMER_H
#define OTAD_ROLLOUT_TIMER_H

#include <stdint.h>

#include "app.h"

#define ROLLOUT_TIMER_INTERVAL_SEC 5

struct rollout_timer;

/*
 * Starts the thread, which runs a first pass at once and then one every
 * ROLLOUT_TIMER_INTERVAL_SEC.  app (borrowed: its store must outlive the
 * timer) is used from the timer's thread through store connections of
 * its own.  Returns the timer, or NULL (logged) when the thread cannot
 * start.  Call from the main thread after signals are blocked.
 */
struct rollout_timer *rollout_timer_start(struct app *app);

/*
 * Wakes the thread, waits for a pass in progress to end (a few
 * statements) and frees the timer.  NULL-safe.  Call before closing the
 * store.
 */
void rollout_timer_stop(struct rollout_timer *t);

/*
 * What the timer remembers from one pass to the next: the rollouts whose
 * automatic advance it held (due but breached), so that a hold is logged
 * once, when it begins, and not at every pass.  Zero-initialised: nothing
 * held.  rollout_timer_holds_clear frees it (NULL-safe).
 */
struct rollout_timer_holds {
	int64_t *ids;
	size_t n, cap;
};
void rollout_timer_holds_clear(struct rollout_timer_holds *h);

/*
 * One pass at now (Unix seconds): advances every running rollout with
 * advance_after > 0 whose stage_started_at + advance_after <= now and
 * that is healthy (not rollout_health_breached over its device_updates,
 * the automatic pause's gate), logging each and bumping app->rollouts_gen.
 * A due rollout that is breached is held: logged when holds (the previous
 * pass's, updated to this one's) does not have it yet, or at every pass
 * when holds is NULL.  A rollout changed meanwhile by someone else is left
 * alone.  Returns the number advanced (>= 0), or the first OTA_E* error
 * (the other rollouts are still tried).  Exported so that tests drive the
 * clock.
 */
int rollout_timer_tick(
    struct app *app, int64_t now, struct rollout_timer_holds *holds);

#endif
