/*
 * store_telemetry_write: the telemetry writer's statements, set-based: a
 * group of events (every batch of one writer transaction) costs a few
 * statements per 64 (device, rollout) pairs and per 16 events, not four
 * per event.  Which events count is decided by the caller's judge on the
 * facts read here; the device_updates rows are merged in memory by the
 * same rules as one event at a time (update_state_merge), then written.
 */
#ifndef OTAD_STORE_TELEMETRY_WRITE_H
#define OTAD_STORE_TELEMETRY_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_telemetry.h"
#include "telemetry_parse.h"

/* One event of a writer group, in group order. */
struct store_event_in {
	const struct telemetry_event *ev; /* borrowed */
	const char *transport;            /* "rest", "mqtt", "ddi" */
	size_t batch; /* its batch, numbered in group order from 0 */
};

/*
 * The caller's verdict on event i of the group, on the facts t of its
 * (device, rollout) as they stood before the first event of its batch
 * was written: TELEMETRY_REJECT_NONE (write it) or the reason, with a
 * one-line detail (always terminated).
 */
typedef enum telemetry_reject (*store_event_judge_fn)(void *arg, size_t i,
    const struct telemetry_target *t, char *detail, size_t detail_len);

/*
 * Writes the group in[0..n) received at received_at (RFC 3339) inside the
 * caller's open transaction.  Each event is judged by judge(arg, i, ...)
 * on the facts store_telemetry_target would read before its batch: those
 * of the group's start, except that a (device, rollout) with an event
 * accepted in an earlier batch of the group counts as offered.  res[i]
 * gets REJECTED with the judge's reason and detail, DUPLICATE when
 * (device, event_id) was stored before or by an earlier event of the
 * group, or ACCEPTED; each accepted event is inserted and merged, in
 * group order, into its device_updates row (created at the rollout's
 * current stage with the first accepted event's version).  Rollouts
 * whose finished counts changed go to touched[0..*ntouched) as with
 * store_telemetry_write.  Returns 0, OTA_EINVAL (received_at is not an
 * RFC 3339 time: nothing written), OTA_ENOMEM, or OTA_EDB (also for an
 * event the judge let through on an unknown device or rollout: the
 * caller rolls back; no outcome may be acknowledged).
 */
int store_telemetry_write_group(struct store_conn *c,
    const struct store_event_in *in, size_t n, const char *received_at,
    store_event_judge_fn judge, void *arg, struct store_event_result *res,
    int64_t *touched, size_t max_touched, size_t *ntouched);

/*
 * Writes events ev[0..n) received over transport at received_at (RFC
 * 3339) inside the caller's open transaction, as one batch of
 * store_telemetry_write_group whose verdicts the caller took already:
 * res[i] holds the verdict on entry; an event whose res[i].outcome is
 * STORE_EVENT_REJECTED is skipped (res[i] left as it is); every other
 * must name an existing device and rollout and gets DUPLICATE or
 * ACCEPTED.  Touched rollouts as above (a set, at most max_touched; when
 * full, further ones are dropped and the caller re-checks all running
 * rollouts).  Returns 0, OTA_ENOMEM or OTA_EDB (also for an event on an
 * unknown device or rollout: the caller rolls back).
 */
int store_telemetry_write(struct store_conn *c,
    const struct telemetry_event *ev, size_t n, const char *transport,
    const char *received_at, struct store_event_result *res, int64_t *touched,
    size_t max_touched, size_t *ntouched);

#endif
