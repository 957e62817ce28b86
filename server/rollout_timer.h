/*
 * rollout_timer: the one thread that moves rollouts by itself.  Every
 * ROLLOUT_TIMER_INTERVAL_SEC it runs a pass of the timed advance
 * (rollout_service_advance_due: which rollouts are due, the health gate
 * and the change are the service's).  It sleeps on a condition variable,
 * so stopping it is immediate.
 */
#ifndef OTAD_ROLLOUT_TIMER_H
#define OTAD_ROLLOUT_TIMER_H

#define ROLLOUT_TIMER_INTERVAL_SEC 5

struct rollout_service;
struct rollout_timer;

/*
 * Starts the thread, which runs a first pass at once and then one every
 * ROLLOUT_TIMER_INTERVAL_SEC, remembering the held rollouts from pass to
 * pass.  rollouts (borrowed) must outlive the timer.  Returns the timer,
 * or NULL (logged) when the thread cannot start.  Call from the main
 * thread after signals are blocked.
 */
struct rollout_timer *rollout_timer_start(struct rollout_service *rollouts);

/*
 * Wakes the thread, waits for a pass in progress to end (a few
 * statements) and frees the timer.  NULL-safe.  Call before freeing the
 * service and closing the store.
 */
void rollout_timer_stop(struct rollout_timer *t);

#endif
