/*
 * mwindow: recurring maintenance windows, the times a device may install:
 * "mon-fri 22:00 4h Europe/Berlin; sat,sun 02:00 6h Europe/Berlin".  Each
 * window opens on its days at a local wall-clock time of an IANA zone and
 * lasts a duration of elapsed time; time zones and their daylight saving
 * rules are ICU's (ucal_*), never hand-written.  The module parses a set,
 * turns it into the UTC spans it is open over a range of time, intersects
 * span lists (a device that must honour several sets) and answers open or
 * closed at an instant and until when.  No I/O, no globals; ICU calendars
 * are opened and closed within a call, so every function is thread-safe.
 */
#ifndef OTAD_MWINDOW_H
#define OTAD_MWINDOW_H

#include <stddef.h>
#include <stdint.h>

#define MWINDOW_MAX 8     /* windows in one set */
#define MWINDOW_TZ_MAX 64 /* bytes of a zone id, NUL included */
/* The canonical text, NUL included: at most 8 windows of at most 104
 * bytes ("mon,tue,thu,fri,sun 23:59 167h59m " and a 63-byte zone, and
 * "; " between windows). */
#define MWINDOW_TEXT_MAX 840
#define MWINDOW_DURATION_MAX 10080 /* minutes: one week */
/* Spans one set can give over MWINDOW_COVER_SEC (7 a week per window over
 * five weeks, merged or not), and a list's bound. */
#define MWINDOW_SPANS_MAX (MWINDOW_MAX * 7 * 5)
/* The range a span list is computed over, around its build time: a week
 * back (a window of up to a week may have opened then) and three ahead. */
#define MWINDOW_BACK_SEC (8 * 86400)
#define MWINDOW_AHEAD_SEC (22 * 86400)
/* A list built at t answers instants in [t - 1 day, t + 8 days) and
 * looks at least 14 days ahead of them for the next opening. */
#define MWINDOW_VALID_BEFORE_SEC 86400
#define MWINDOW_VALID_AFTER_SEC (8 * 86400)

/* One window: days (bit 0 Monday .. bit 6 Sunday), its local start, its
 * duration and its zone. */
struct mwindow {
	uint8_t days;
	uint16_t start_min;    /* minutes after local midnight, 0..1439 */
	uint32_t duration_min; /* 1..MWINDOW_DURATION_MAX */
	char tz[MWINDOW_TZ_MAX];
};

/* A set of windows, open when any of them is; n == 0: none (no
 * restriction). */
struct mwindow_set {
	size_t n;
	struct mwindow w[MWINDOW_MAX];
	char text[MWINDOW_TEXT_MAX]; /* canonical, NUL-terminated */
};

/* A time the set is open: [open, close) in unix seconds. */
struct mwindow_span {
	int64_t open, close;
};

/*
 * Parses s (NUL-terminated, untrusted) into *out.  Grammar: windows
 * separated by ';', each "DAYS HH:MM DURATION ZONE" with spaces between:
 *   DAYS      "daily", or days and ranges joined by ',': "mon", "mon-fri",
 *             "fri-mon" (a range may wrap past Sunday); names are the
 *             first three letters of English day names, any case;
 *   HH:MM     the local start, 00:00..23:59;
 *   DURATION  "4h", "90m", "1h30m": 1 minute to 168 hours (a week);
 *   ZONE      an IANA time zone id ICU knows ("Europe/Berlin", "UTC"),
 *             kept as written.
 * At most MWINDOW_MAX windows; "" (or only spaces) is the empty set.  The
 * canonical text (out->text) writes days in week order, runs of three or
 * more as a range ("mon-fri"), all seven as "daily", the duration as
 * "XhYm" without a zero part, one space between fields and "; " between
 * windows; it parses back to the same set.  Returns 0, or OTA_EINVAL with
 * a one-line reason naming the window ("maintenance_windows: window 2:
 * unknown time zone 'Mars/Olympus'") in err (ota_errf; err may be NULL
 * when errlen is 0); *out is written only on success.
 */
int mwindow_parse(
    const char *s, struct mwindow_set *out, char *err, size_t errlen);

/*
 * The spans set s is open that overlap [from, to), sorted and merged
 * (overlapping or touching spans become one), into out[0..max).  A
 * window opens on each of its days at its local start: a start that does
 * not exist that day (the clocks jump over it, spring forward) opens at
 * the first valid instant after the jump; a start that exists twice (fall
 * back) opens at the first.  It closes duration_min minutes of elapsed
 * time later.  Returns the number of spans (0 for an empty set), or
 * OTA_ETOOBIG when more than max would be needed, or OTA_EINVAL for a
 * range longer than MWINDOW_BACK_SEC + MWINDOW_AHEAD_SEC or a zone ICU
 * refuses (not possible after mwindow_parse).
 */
int mwindow_spans(const struct mwindow_set *s, int64_t from, int64_t to,
    struct mwindow_span *out, size_t max);

/*
 * The intersection of the sorted, merged span lists a[0..na) and
 * b[0..nb) into out[0..max) (sorted, merged; out may not alias a or b).
 * Returns the number of spans, or OTA_ETOOBIG.  Pure.
 */
int mwindow_intersect(const struct mwindow_span *a, size_t na,
    const struct mwindow_span *b, size_t nb, struct mwindow_span *out,
    size_t max);

/*
 * The state at now of the sorted, merged spans sp[0..n): *out_open 1 when
 * a span holds now, and *out_next the instant that changes: its close when
 * open, else the next span's open, 0 when no span opens after now (within
 * what the list covers).  Pure.
 */
void mwindow_state(const struct mwindow_span *sp, size_t n, int64_t now,
    int *out_open, int64_t *out_next);

#endif
