/*
 * update_state: the pure rules of a device's update status within one
 * rollout, so out-of-order and late events (a phone uploading what it
 * queued offline) still land in the right final state.  No I/O.
 *
 *   offered < started < progress < {completed, failed};  completed -> reverted
 *
 * A lower state never replaces a higher one (a late "started" after
 * "completed" changes nothing).  Between the two finals, completed and
 * failed, the event with the later device time wins (a retry that
 * succeeded after a failure; equal times: the one received last).
 * reverted replaces completed whenever it arrives, and also a lower
 * state (a "reverted" that overtook its "completed"); it never replaces
 * failed.  progress events update the percentage while the status is
 * started or progress.
 *
 * canceled is set by otad, never by a device's event: an update that was
 * offered, started or in progress when its DDI action was canceled, or
 * when the device's hardware changed so that the rollout's image no
 * longer fits it.  It is not a finish (no failure, no success): a later
 * completed, failed or reverted replaces it (the device finished after
 * all), started and progress do not.
 *
 * timed_out is set by otad too, by the rollout timer, when an update was
 * offered, started or in progress for longer than the rollout's
 * device_timeout.  It follows canceled's rules: a late completed, failed
 * or reverted replaces it (the real outcome is recorded), a late started
 * or progress does not.  Unlike canceled it may count against the health
 * gate (the rollout's abort_on) and be retried (max_retries).
 *
 * accepted and declined are a device's (or its user's) answer when the
 * rollout requires consent (docs/rollouts.md "Consent").  Both answer an
 * update that is offered or deferred, or none yet; between the two the
 * later device time wins (a user who changes their mind; equal times:
 * the one received last), and a new declined at a later time than the
 * current one is recorded again (the re-ask wait counts from it).  A
 * declined update is not stuck (never timed out) and no install is
 * under way (never canceled); an accepted one may be either, as
 * offered.  Installing events (started, progress) and finals replace
 * both: a device that installs has consented, whatever it said before
 * (the facts win).  A late accepted or declined after started, a final,
 * canceled or timed_out changes nothing.
 */
#ifndef OTAD_UPDATE_STATE_H
#define OTAD_UPDATE_STATE_H

#include <stdint.h>

enum update_state {
	UPDATE_NONE = 0, /* no row yet */
	UPDATE_OFFERED,
	UPDATE_STARTED,
	UPDATE_PROGRESS,
	UPDATE_COMPLETED,
	UPDATE_FAILED,
	UPDATE_REVERTED,
	UPDATE_CANCELED,   /* set by otad only (see above) */
	UPDATE_DEFERRED,   /* the device or its user postponed it: after
	                      offered, before started; neither success nor
	                      failure; canceled like offered, never timed
	                      out (it waits for its user) */
	UPDATE_TIMED_OUT,  /* set by otad only: the rollout's device_timeout */
	UPDATE_ACCEPTED,   /* consent given, not started yet */
	UPDATE_DECLINED,   /* consent refused: neither success nor failure */
	UPDATE_STATE_COUNT /* not a state: sizes arrays indexed by one */
};

/* "offered", "started", ... as stored; NULL outside the enum.  parse:
 * 0 or OTA_EINVAL (exact lowercase names; "none" is not a name). */
const char *update_state_name(enum update_state s);
int update_state_parse(const char *name, enum update_state *out);

/* 1 for completed, failed and reverted (a finished update), else 0. */
int update_state_finished(enum update_state s);

/* 1 for failed and timed_out (an update that ended badly, which the
 * rollout's retries may offer again), else 0. */
int update_state_bad(enum update_state s);

/* 1 when an update in status s has the device's consent to install:
 * accepted, started, progress (an installing device has consented),
 * else 0. */
int update_state_consent_given(enum update_state s);

/*
 * The class of s a device's cached update marks keep (devcache.c): a
 * poll decides retries and consent from it, so a move between two
 * classes must forget the device's cache entry.  0: not kept
 * (finished, canceled, deferred, none); 1: offered; 2: consent given
 * (update_state_consent_given); 3: declined; 4: bad (failed,
 * timed_out).  Pure.
 */
int update_state_mark_class(enum update_state s);

/*
 * The status after an event: cur (UPDATE_NONE when no row) set at device
 * time cur_ts_ms, then an event of state ev at device time ev_ts_ms.
 * Returns the new status; *out_changed is 1 when it differs from cur or
 * a progress value should be recorded (progress while started/progress),
 * else 0.  ev must be started, progress, completed, failed, reverted,
 * offered (an offer only creates a row: it never changes one) or
 * canceled (changes offered, started and progress only; never creates a
 * row) or timed_out (the same as canceled), accepted or declined (see
 * above; a declined that replaces a declined at a later device time
 * sets *out_changed).
 */
enum update_state update_state_merge(enum update_state cur, int64_t cur_ts_ms,
    enum update_state ev, int64_t ev_ts_ms, int *out_changed);

#endif
