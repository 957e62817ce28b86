/*
 * seen: poll reports (a device's reported hardware, installed version and
 * last seen time, and the offer it was answered) buffered in memory and
 * written in batches, one transaction per batch, by a background thread:
 * a poll never waits for a write.
 * The buffer is bounded: reports of one device coalesce, and when it is
 * full the oldest reports that only refresh last_seen are dropped (and
 * counted) before a change of hardware or version ever is.
 */
#ifndef OTAD_SEEN_H
#define OTAD_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SEEN_CAPACITY_DEFAULT 4096 /* reports per batch buffer */
#define SEEN_REFRESH_SEC 60 /* an unchanged device is rewritten this often */

struct seen;

/*
 * Creates the buffer (two of `capacity` reports, 16..1000000: one filling
 * while the other is written) writing through connections of st.  With
 * flush_interval_ms > 0 a background thread writes every interval, and
 * sooner when the buffer is half full; with 0 there is no thread and the
 * caller calls seen_flush (tests).  Returns NULL (logged) on failure.
 */
struct seen *seen_start(
    struct store *st, size_t capacity, int flush_interval_ms);

/*
 * Stops the thread, writes what is buffered and frees s.  Call after the
 * last seen_note (HTTP stopped).  NULL-safe.
 */
void seen_stop(struct seen *s);

/*
 * Records a poll of device_id at now (unix seconds).  hardware and version
 * are what the device reported ("" or NULL: not reported), stored_hw and
 * stored_version what the store holds of its reports ("" when never
 * reported; stored_hw is the reported hardware, never the provisioned
 * one: a report is written as reported_hardware and changes nothing
 * provisioned).  The
 * report is skipped when it changes neither, the device has no report
 * waiting in the buffer (that one is refreshed instead) and it was
 * recorded less than SEEN_REFRESH_SEC ago.  Never blocks on the database;
 * bounded memory.  Strings longer than the store's limits are refused silently
 * (callers validate first).  Thread-safe.
 */
void seen_note(struct seen *s, const char *device_id, const char *hardware,
    const char *version, const char *stored_hw, const char *stored_version,
    int64_t now);

/*
 * seen_note for a poll answered with an offer (200 or 304): rollout
 * offer_rollout_id at stage offer_stage_index.  The flush creates the
 * device's device_updates row in status offered (store_telemetry_offers;
 * never changes an existing row).  An offer the recent cache has not
 * seen recorded is never skipped as unchanged.  offer_rollout_id 0: no
 * offer (seen_note).  Thread-safe, never blocks on the database.
 */
void seen_note_offer(struct seen *s, const char *device_id,
    const char *hardware, const char *version, const char *stored_hw,
    const char *stored_version, int64_t offer_rollout_id, int offer_stage_index,
    int64_t now);

/*
 * Forgets when device_id was last recorded, so its next poll is written
 * (and judged for a silent revert) at the next flush even when it
 * reports what the store already holds.  Called after an update of the
 * device is recorded completed: the version it polls with next is news
 * even if unchanged.  NULL-safe; thread-safe, never blocks on the
 * database.
 */
void seen_forget(struct seen *s, const char *device_id);

/*
 * Writes the buffered reports now, in one transaction: the devices rows,
 * the offers, and the silent reverts the reported versions reveal
 * (store_telemetry_silent_revert for each report that carried a
 * version).  Returns 0 or OTA_EDB (the batch is then dropped and logged;
 * its devices are written again at their next poll).  After a commit
 * that marked updates reverted, calls the touched hook.  Thread-safe;
 * flushes are serialised.
 */
int seen_flush(struct seen *s);

/*
 * Sets fn(arg, ids, n), called after each flush that marked updates of
 * rollouts ids[0..n) reverted (ids NULL: too many to list, check every
 * running rollout), on the flushing thread: main wires it to
 * rollout_service_touched, the automatic pause.  NULL fn: none.
 */
void seen_set_touched_hook(struct seen *s,
    void (*fn)(void *arg, const int64_t *ids, size_t n), void *arg);

/* Counters since seen_start, for tests and logs. */
struct seen_stats {
	uint64_t noted;   /* reports accepted into the buffer */
	uint64_t skipped; /* unchanged and recently recorded */
	uint64_t dropped; /* lost to a full buffer */
	uint64_t written; /* rows handed to the store in committed batches */
	size_t pending;   /* in the buffer now */
};
void seen_get_stats(struct seen *s, struct seen_stats *out);

#endif
