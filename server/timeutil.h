/*
 * timeutil: the one RFC 3339 parser and formatter of otad, the wall
 * clock in milliseconds and the monotonic clock of every background
 * thread's waits.  Pure (besides reading the clock): no allocation, and
 * one process-wide setting made once at start, before any thread: the
 * test clock file (timeutil_clock_file), which moves the wall clock so
 * that tests reach windows, deadlines and timeouts without sleeping.  The store
 * keeps times as "YYYY-MM-DDTHH:MM:SSZ", a fixed width that compares as text in
 * time order.
 */
#ifndef OTAD_TIMEUTIL_H
#define OTAD_TIMEUTIL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define TIMEUTIL_RFC3339_LEN 21         /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */
#define TIMEUTIL_MAX_SEC 253402300799LL /* 9999-12-31T23:59:59Z */

/*
 * Parses an RFC 3339 date-time "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|
 * -HH:MM)" (T and Z also lowercase, as RFC 3339 allows) into unix
 * milliseconds (the fraction truncated to milliseconds).  Times before
 * 1970 or after 9999 once in UTC (its offset applied), and impossible
 * dates (Feb 30) are refused; leap second 60 counts as
 * the next second.  Returns 0 or OTA_EINVAL (*out_ms untouched).
 */
int timeutil_parse_rfc3339(const char *s, int64_t *out_ms);

/*
 * Formats unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out.  A time
 * gmtime cannot represent gives "1970-01-01T00:00:00Z".
 */
void timeutil_format_rfc3339(int64_t unix_sec, char out[TIMEUTIL_RFC3339_LEN]);

/* 1 when s is exactly the store's form "YYYY-MM-DDTHH:MM:SSZ" of a real
 * time (what the formatter writes), else 0. */
int timeutil_is_canonical(const char *s);

/*
 * Makes the wall clock read the file at path on every call and add the
 * signed whole seconds it holds ("3600", "-86400"; an empty, missing or
 * unreadable file adds 0) to the real time: the config key
 * test_clock_file, for tests only.  NULL or "" keeps the real clock.
 * Call once at start, before any thread reads the clock; path must
 * outlive every reader.  The monotonic clock is never moved.
 */
void timeutil_clock_file(const char *path);

/* The wall clock (CLOCK_REALTIME, moved by the test clock file) in unix
 * milliseconds.  Every decision that depends on the time of day (windows,
 * deadlines, timeouts, start_at, stored times) reads this clock. */
int64_t timeutil_now_ms(void);

/* timeutil_now_ms in whole seconds. */
int64_t timeutil_now_sec(void);

/*
 * The monotonic clock (CLOCK_MONOTONIC) in milliseconds: for intervals,
 * deadlines and cache ages, which a wall-clock jump must neither stall
 * nor hurry.
 */
int64_t timeutil_mono_ms(void);

/* The CLOCK_MONOTONIC time mono_ms as a timespec, the deadline form of
 * pthread_cond_timedwait on a timeutil_mono_cond_init condition. */
struct timespec timeutil_mono_timespec(int64_t mono_ms);

/* Initialises *cv to time its waits on CLOCK_MONOTONIC.  Returns 0 or
 * pthread_cond_init's error number. */
int timeutil_mono_cond_init(pthread_cond_t *cv);

#endif
