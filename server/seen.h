/*
 * seen: poll reports (a device's reported hardware, installed version and
 * last seen time, and the offer it was answered) buffered in memory and
 * written in batches by a background thread: a poll never waits for a
 * write.  A batch is written in device-id order, in short transactions
 * (other writers get the lock between them).
 * The buffer grows under a burst up to a byte cap: reports of one device
 * coalesce, and when it is full a report that only refreshes last_seen is
 * dropped (and counted), and a change of hardware or version takes
 * the place of the oldest such refresh; a change is dropped only when
 * every buffered report is one.
 */
#ifndef OTAD_SEEN_H
#define OTAD_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SEEN_BYTES_DEFAULT (10u << 20) /* config poll_report_buffer_bytes */
#define SEEN_BYTES_MIN (8u << 10)
#define SEEN_BYTES_MAX (1u << 30)
/* An unchanged device is rewritten this long after its last record:
 * about once a minute, drawn from its id and that record, so that a
 * fleet recorded all at once (a start, devices back after an outage) is
 * not written all at once again every minute, for good. */
#define SEEN_REFRESH_MIN_SEC 45
#define SEEN_REFRESH_MAX_SEC 75

struct seen;

/*
 * Creates the buffer (two, one filling while the other is written, together at
 * most max_bytes, SEEN_BYTES_MIN..SEEN_BYTES_MAX: 32 bytes per report, 8 to 16
 * of index and its device id; the flush adds a fixed 350 KiB of scratch)
 * writing through connections of st.  With flush_interval_ms > 0 a background
 * thread (otad-seen, at a nice value 5 above the process's, so that its
 * flushes yield to the threads answering polls) writes at the first interval
 * that ends with a change or a new offer waiting, or once reports that only
 * refresh last seen have waited 10 s, and at once when 65,536 reports (or a
 * quarter of max_bytes) wait; with 0 there is no thread and the caller calls
 * seen_flush (tests).  devices is the largest fleet the memory of recently
 * recorded devices grows to (6 bytes a slot, 1.25 slots a device in sets of
 * 16, 1.5 to 30 MiB; 0: the least): it starts at 1.5 MiB and doubles each time
 * three slots in four hold a device (seen_sweep frees those recorded 150 s ago
 * or more), forgetting what it held; a device it forgot is written at its next
 * poll, even when recorded less than SEEN_REFRESH_MIN_SEC ago.  Returns NULL
 * (logged) on failure.
 */
struct seen *seen_start(
    struct store *st, size_t max_bytes, size_t devices, int flush_interval_ms);

/*
 * Forgets, in the next 8,192 slots of the memory of recent records (taken
 * in turn), the devices recorded 150 s or more before now: their next
 * polls are written in any case, and a slot keeps its time modulo 2^16 s,
 * so that one left for 18.2 hours would look recent again.  The writer
 * thread calls it at each interval (a pass over the largest memory takes
 * 640 calls); with flush_interval_ms 0 the caller does (tests).
 */
void seen_sweep(struct seen *s, int64_t now);

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
 * recorded less than its refresh time ago (SEEN_REFRESH_MIN_SEC to
 * SEEN_REFRESH_MAX_SEC, drawn anew at each record).  Never blocks on the
 * database; bounded memory.  Strings longer than the store's limits are refused
 * silently (callers validate first).  Thread-safe.
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
 * seen_note_offer for an offer that is a retry (rollout_retry_decide
 * said due): the device's update of offer_rollout_id was found failed or
 * timed_out after `retry` retries (>= 0).  The flush starts its new
 * attempt (store_telemetry_offers, struct store_offer_seen.retry); never
 * skipped as unchanged.  Thread-safe, never blocks on the database.
 */
void seen_note_retry(struct seen *s, const char *device_id,
    const char *hardware, const char *version, const char *stored_hw,
    const char *stored_version, int64_t offer_rollout_id, int offer_stage_index,
    int retry, int64_t now);

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
 * Writes the buffered reports now, sorted by device id, in transactions
 * of at most 512 reports: the devices rows, the offers, and the silent
 * reverts the reported versions reveal (store_telemetry_silent_reverts).
 * Returns 0 or OTA_EDB (logged; the rest of the batch is not written, and
 * its devices are written again at their next poll).  After commits that
 * marked updates reverted, calls the touched hook.  Thread-safe; flushes
 * are serialised.
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

/* Counters since seen_start, for tests, logs and /metrics. */
struct seen_stats {
	uint64_t noted;    /* reports accepted into the buffer */
	uint64_t retries;  /* polls answered with a retry (seen_note_retry) */
	uint64_t skipped;  /* unchanged and recently recorded */
	uint64_t dropped;  /* lost to a full buffer */
	uint64_t written;  /* rows handed to the store in committed batches */
	uint64_t flushes;  /* batches written (or tried) */
	uint64_t flush_us; /* time spent writing them */
	uint64_t flush_us_max;      /* the longest batch */
	uint64_t flush_reports_max; /* the largest batch */
	size_t pending;             /* buffered or being written now */
	size_t bytes;               /* allocated by the buffers now */
	size_t bytes_peak;          /* the most they ever held */
	size_t recent_slots;        /* the memory of recent records now */
};
void seen_get_stats(struct seen *s, struct seen_stats *out);

#endif
