/*
 * store_fleet: whole-fleet figures for dashboards, each one GROUP BY over
 * a table, read in one snapshot.  Nothing here writes or decides: what a
 * figure means is the caller's business.
 */
#ifndef OTAD_STORE_FLEET_H
#define OTAD_STORE_FLEET_H

#include <stdint.h>

#include "store.h"

/* The times store_fleet_versions splits last-seen at. */
#define STORE_FLEET_SEEN_CUTS 3

/*
 * Calls fn(version, hardware, seen, devices, stale, arg) once per (installed
 * version, hardware) pair that has devices: version is NULL for devices
 * that never reported one; stale counts those never seen or last seen
 * before seen_before (an RFC 3339 UTC time as timeutil_format_rfc3339
 * writes it).  Rows come in no particular order; the strings are borrowed
 * for the call.  fn returning non-zero stops the walk and is returned.
 * Rows are also split by when the devices were last seen: seen is 0 for
 * those seen at or after seen_since[0], 1 at or after seen_since[1],
 * 2 at or after seen_since[2] (three times in that falling order, the
 * same format), 3 before that, 4 never seen; so there is one row per
 * (version, hardware, seen) that has devices.
 * Reads in a snapshot of its own unless c is in a transaction.  Returns
 * 0, fn's code, or OTA_EDB (logged).
 */
int store_fleet_versions(struct store_conn *c, const char *seen_before,
    const char *const seen_since[STORE_FLEET_SEEN_CUTS],
    int (*fn)(const char *version, const char *hardware, int seen,
        int64_t devices, int64_t stale, void *arg),
    void *arg);

/*
 * Calls fn(bucket, completed, failed, reverted, arg) for the devices of
 * rollout_id whose status is final, grouped by the device time of the
 * event that set it: bucket is that time in milliseconds divided by
 * bucket_ms (> 0), rising; every non-empty bucket (a caller that keeps
 * fewer keeps the newest).  fn returning non-zero stops the walk and is
 * returned.  Returns 0, fn's code, or OTA_EDB (logged).
 */
int store_fleet_rollout_series(struct store_conn *c, int64_t rollout_id,
    int64_t bucket_ms,
    int (*fn)(int64_t bucket, int64_t completed, int64_t failed,
        int64_t reverted, void *arg),
    void *arg);

#endif
