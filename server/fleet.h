/*
 * fleet: the fleet summary the dashboard shows (devices by installed
 * version and by hardware, and how many were not seen for N days), built
 * from one store_fleet_versions scan.  A scan of a large fleet is slow
 * (seconds on SQLite at 1,000,000 devices), so one runs at a time and a
 * slow one's answer is reused for a while (FLEET_REUSE_FACTOR times what
 * it took, at most FLEET_REUSE_MAX_MS): however many dashboards are open,
 * the scans take a bounded share of a core, and callers wait for a scan
 * only when no answer is kept.  Fast answers are never reused: a small
 * fleet always sees its last change.
 */
#ifndef OTAD_FLEET_H
#define OTAD_FLEET_H

#include <stddef.h>

struct store;
struct fleet;

/* Entries of each list of the summary; the rest are summed. */
#define FLEET_TOP 100
/* stale_days in 1..FLEET_STALE_DAYS_MAX. */
#define FLEET_STALE_DAYS_MAX 3650
/* A scan that took at least FLEET_SLOW_MS is reused for
 * FLEET_REUSE_FACTOR times its duration, at most FLEET_REUSE_MAX_MS. */
#define FLEET_SLOW_MS 200
#define FLEET_REUSE_FACTOR 10
#define FLEET_REUSE_MAX_MS 30000

/* A new summary service reading st (borrowed; it must outlive the
 * service), or NULL (logged) when out of memory. */
struct fleet *fleet_new(struct store *st);

/* Frees f; NULL-safe.  No call may be in progress. */
void fleet_free(struct fleet *f);

/*
 * The summary for stale_days (1..FLEET_STALE_DAYS_MAX) as compact JSON:
 * {"devices", "stale", "stale_days", "seen_before", "computed_at",
 * "last_seen": {"hour", "day", "week", "older", "never"} (devices last
 * seen within the last hour; a day but not the hour; a week but not the
 * day; before that; never), "by_version": [{"version", "devices", "stale"}],
 * "by_version_other":
 * {"entries", "devices", "stale"}, "by_hardware": [...],
 * "by_hardware_other": {...}}, lists largest first, version null for
 * devices that never reported one.  *out_text is a new malloc'd string
 * (the caller frees it) of *out_len bytes.  While another call scans,
 * gives the answer last kept for stale_days even if past its reuse time
 * (its computed_at says how old), and waits for the scan only when none
 * is kept.  Returns 0, OTA_EINVAL (stale_days), OTA_ENOMEM or OTA_EDB.
 * Any thread.
 */
int fleet_summary(
    struct fleet *f, int stale_days, char **out_text, size_t *out_len);

#endif
