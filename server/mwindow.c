/*
 * mwindow: the parser and canonical text of maintenance windows, their UTC
 * spans through ICU calendars (one per window and call, closed before
 * returning), and the arithmetic of sorted span lists.
 */
#include "mwindow.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "errors.h"

static const char *const day_names[7] = {
    "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* The day index 0..6 of the three letters at s (any case), or -1. */
static int
day_index(const char *s, size_t len)
{
	char low[4];

	if (len != 3)
		return -1;
	for (size_t i = 0; i < 3; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[3] = '\0';
	for (int d = 0; d < 7; d++)
		if (strcmp(low, day_names[d]) == 0)
			return d;
	return -1;
}

/* Parses DAYS (s[0..len)) into *out (bits). 0 or -1. */
static int
days_parse(const char *s, size_t len, uint8_t *out)
{
	uint8_t bits = 0;
	size_t i = 0;

	if (len == 5 && strncasecmp(s, "daily", 5) == 0) {
		*out = 0x7f;
		return 0;
	}
	while (i < len) {
		size_t j = i;
		int a, b;

		while (j < len && s[j] != ',')
			j++;
		/* one item s[i..j): "mon" or "mon-fri" */
		if (j - i == 3) {
			if ((a = day_index(s + i, 3)) < 0)
				return -1;
			bits |= (uint8_t)(1u << a);
		} else if (j - i == 7 && s[i + 3] == '-') {
			a = day_index(s + i, 3);
			b = day_index(s + i + 4, 3);
			if (a < 0 || b < 0)
				return -1;
			for (int d = a;; d = (d + 1) % 7) {
				bits |= (uint8_t)(1u << d);
				if (d == b)
					break;
			}
		} else {
			return -1;
		}
		if (j == len)
			break;
		i = j + 1;
		if (i == len)
			return -1; /* a trailing comma */
	}
	if (bits == 0)
		return -1;
	*out = bits;
	return 0;
}

/* Parses "HH:MM" into minutes. 0 or -1. */
static int
start_parse(const char *s, size_t len, uint16_t *out)
{
	int h, m;

	if (len != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	*out = (uint16_t)(h * 60 + m);
	return 0;
}

/* Parses "4h", "90m", "1h30m" into minutes (1..MWINDOW_DURATION_MAX). */
static int
duration_parse(const char *s, size_t len, uint32_t *out)
{
	uint64_t total = 0, n = 0;
	int digits = 0, seen_h = 0, seen_m = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (isdigit((unsigned char)c)) {
			if (++digits > 6)
				return -1;
			n = n * 10 + (uint64_t)(c - '0');
		} else if ((c == 'h' || c == 'H') && digits > 0 && !seen_h &&
		           !seen_m) {
			total += n * 60;
			n = 0;
			digits = 0;
			seen_h = 1;
		} else if ((c == 'm' || c == 'M') && digits > 0 && !seen_m) {
			total += n;
			n = 0;
			digits = 0;
			seen_m = 1;
		} else {
			return -1;
		}
	}
	if (digits > 0 || (!seen_h && !seen_m) || total < 1 ||
	    total > MWINDOW_DURATION_MAX)
		return -1;
	*out = (uint32_t)total;
	return 0;
}

/* 1 when ICU knows tz as a system time zone id (not a custom offset). */
static int
zone_known(const char *tz)
{
	UChar id[MWINDOW_TZ_MAX], canon[MWINDOW_TZ_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UBool is_system = 0;

	u_uastrncpy(id, tz, MWINDOW_TZ_MAX);
	ucal_getCanonicalTimeZoneID(
	    id, -1, canon, MWINDOW_TZ_MAX, &is_system, &st);
	return U_SUCCESS(st) && is_system;
}

/* Zone ids: letters, digits and "/_+-". */
static int
zone_chars_ok(const char *s, size_t len)
{
	if (len == 0 || len >= MWINDOW_TZ_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '/' && c != '_' && c != '+' && c != '-')
			return 0;
	}
	return 1;
}

/* Splits s[0..len) at spaces into at most max tokens. */
static size_t
tokens(const char *s, size_t len, const char **tok, size_t *tlen, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t j;

		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		j = i;
		while (j < len && s[j] != ' ')
			j++;
		if (n == max)
			return max + 1;
		tok[n] = s + i;
		tlen[n++] = j - i;
		i = j;
	}
	return n;
}

/* Parses one window s[0..len) (the k-th, from 1) into *w. */
static int
window_parse(const char *s, size_t len, size_t k, struct mwindow *w, char *err,
    size_t errlen)
{
	const char *tok[4];
	size_t tlen[4], n = tokens(s, len, tok, tlen, 4);

	if (n != 4) {
		ota_errf(err, errlen,
		    "maintenance_windows: window %zu: want \"DAYS HH:MM "
		    "DURATION ZONE\", e.g. \"mon-fri 22:00 4h Europe/Berlin\"",
		    k);
		return OTA_EINVAL;
	}
	if (days_parse(tok[0], tlen[0], &w->days) != 0) {
		ota_errf(err, errlen,
		    "maintenance_windows: window %zu: days '%.*s': want "
		    "daily, or mon..sun joined by ',' or '-'",
		    k, (int)(tlen[0] > 40 ? 40 : tlen[0]), tok[0]);
		return OTA_EINVAL;
	}
	if (start_parse(tok[1], tlen[1], &w->start_min) != 0) {
		ota_errf(err, errlen,
		    "maintenance_windows: window %zu: start '%.*s': want a "
		    "local time HH:MM, 00:00..23:59",
		    k, (int)(tlen[1] > 40 ? 40 : tlen[1]), tok[1]);
		return OTA_EINVAL;
	}
	if (duration_parse(tok[2], tlen[2], &w->duration_min) != 0) {
		ota_errf(err, errlen,
		    "maintenance_windows: window %zu: duration '%.*s': want "
		    "4h, 90m or 1h30m, 1 minute to 168 hours",
		    k, (int)(tlen[2] > 40 ? 40 : tlen[2]), tok[2]);
		return OTA_EINVAL;
	}
	if (zone_chars_ok(tok[3], tlen[3]))
		memcpy(w->tz, tok[3], tlen[3]);
	if (!zone_chars_ok(tok[3], tlen[3]) ||
	    (w->tz[tlen[3]] = '\0', !zone_known(w->tz))) {
		ota_errf(err, errlen,
		    "maintenance_windows: window %zu: unknown time zone "
		    "'%.*s' (want an IANA id such as Europe/Berlin)",
		    k, (int)(tlen[3] > 64 ? 64 : tlen[3]), tok[3]);
		return OTA_EINVAL;
	}
	return 0;
}

/* Appends the canonical days of bits to out (room checked by caller). */
static void
days_format(uint8_t bits, char *out, size_t outlen)
{
	size_t used = strlen(out);
	int d = 0, first = 1;

	if (bits == 0x7f) {
		snprintf(out + used, outlen - used, "daily");
		return;
	}
	while (d < 7) {
		int e = d;

		if (!(bits & (1u << d))) {
			d++;
			continue;
		}
		while (e + 1 < 7 && (bits & (1u << (e + 1))))
			e++;
		used = strlen(out);
		if (e - d >= 2)
			snprintf(out + used, outlen - used, "%s%s-%s",
			    first ? "" : ",", day_names[d], day_names[e]);
		else if (e == d)
			snprintf(out + used, outlen - used, "%s%s",
			    first ? "" : ",", day_names[d]);
		else
			snprintf(out + used, outlen - used, "%s%s,%s",
			    first ? "" : ",", day_names[d], day_names[e]);
		first = 0;
		d = e + 1;
	}
}

/* Appends the canonical text of window w to out. */
static void
window_format(const struct mwindow *w, int first, char *out, size_t outlen)
{
	size_t used = strlen(out);
	unsigned h = w->duration_min / 60, m = w->duration_min % 60;
	char dur[16];

	if (!first)
		snprintf(out + used, outlen - used, "; ");
	days_format(w->days, out, outlen);
	if (h > 0 && m > 0)
		snprintf(dur, sizeof(dur), "%uh%um", h, m);
	else if (h > 0)
		snprintf(dur, sizeof(dur), "%uh", h);
	else
		snprintf(dur, sizeof(dur), "%um", m);
	used = strlen(out);
	snprintf(out + used, outlen - used, " %02u:%02u %s %s",
	    w->start_min / 60u, w->start_min % 60u, dur, w->tz);
}

int
mwindow_parse(const char *s, struct mwindow_set *out, char *err, size_t errlen)
{
	struct mwindow_set set;
	size_t len, i = 0;

	if (s == NULL) {
		ota_errf(err, errlen, "maintenance_windows: missing");
		return OTA_EINVAL;
	}
	memset(&set, 0, sizeof(set));
	len = strlen(s);
	while (i <= len) {
		size_t j = i, k;

		while (j < len && s[j] != ';')
			j++;
		for (k = i; k < j && s[k] == ' '; k++)
			;
		if (k == j) {
			/* an empty window: allowed only as the whole text */
			if (len > 0 && strspn(s, " ") != len) {
				ota_errf(err, errlen,
				    "maintenance_windows: window %zu is empty",
				    set.n + 1);
				return OTA_EINVAL;
			}
		} else {
			if (set.n == MWINDOW_MAX) {
				ota_errf(err, errlen,
				    "maintenance_windows: at most %d windows",
				    MWINDOW_MAX);
				return OTA_EINVAL;
			}
			if (window_parse(s + i, j - i, set.n + 1, &set.w[set.n],
			        err, errlen) != 0)
				return OTA_EINVAL;
			set.n++;
		}
		i = j + 1;
	}
	for (size_t w = 0; w < set.n; w++)
		window_format(&set.w[w], w == 0, set.text, sizeof(set.text));
	*out = set;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The date of days since 1970-01-01. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* A calendar of zone tz, or NULL. */
static UCalendar *
cal_open(const char *tz)
{
	UChar id[MWINDOW_TZ_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal;

	u_uastrncpy(id, tz, MWINDOW_TZ_MAX);
	cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		if (cal != NULL)
			ucal_close(cal);
		return NULL;
	}
	ucal_setAttribute(cal, UCAL_LENIENT, 1);
	ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	ucal_setAttribute(
	    cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
	return cal;
}

/* The local date (days since 1970-01-01) at unix second t in cal. */
static int
cal_local_day(UCalendar *cal, int64_t t, int64_t *out)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t y, m, d;

	ucal_setMillis(cal, (UDate)t * 1000.0, &st);
	y = ucal_get(cal, UCAL_EXTENDED_YEAR, &st);
	m = ucal_get(cal, UCAL_MONTH, &st);
	d = ucal_get(cal, UCAL_DATE, &st);
	if (U_FAILURE(st))
		return OTA_EINVAL;
	*out = days_from_civil(y, (unsigned)m + 1, (unsigned)d);
	return 0;
}

/* The unix second of local day `day` at min minutes after midnight. */
static int
cal_instant(UCalendar *cal, int64_t day, unsigned min, int64_t *out)
{
	UErrorCode st = U_ZERO_ERROR;
	int64_t y;
	unsigned m, d;
	UDate ms;

	civil_from_days(day, &y, &m, &d);
	ucal_clear(cal);
	ucal_set(cal, UCAL_EXTENDED_YEAR, (int32_t)y);
	ucal_set(cal, UCAL_MONTH, (int32_t)m - 1);
	ucal_set(cal, UCAL_DATE, (int32_t)d);
	ucal_set(cal, UCAL_HOUR_OF_DAY, (int32_t)(min / 60));
	ucal_set(cal, UCAL_MINUTE, (int32_t)(min % 60));
	ms = ucal_getMillis(cal, &st);
	if (U_FAILURE(st))
		return OTA_EINVAL;
	/* Zones' offsets are whole seconds: exact. */
	*out = (int64_t)(ms / 1000.0);
	return 0;
}

/* Adds the openings of window w overlapping [from, to) to raw[*n..max). */
static int
window_spans(const struct mwindow *w, int64_t from, int64_t to,
    struct mwindow_span *raw, size_t *n, size_t max)
{
	UCalendar *cal = cal_open(w->tz);
	int64_t first, last, open;
	int rc = 0;

	if (cal == NULL)
		return OTA_EINVAL;
	/* An opening up to its duration (and a day of offsets) before from
	 * may still be open at from. */
	if ((rc = cal_local_day(cal,
	         from - (int64_t)w->duration_min * 60 - 86400, &first)) != 0 ||
	    (rc = cal_local_day(cal, to + 86400, &last)) != 0)
		goto out;
	for (int64_t day = first; day <= last; day++) {
		/* 1970-01-01 was a Thursday (index 3). */
		int wd = (int)(((day + 3) % 7 + 7) % 7);

		if (!(w->days & (1u << wd)))
			continue;
		if ((rc = cal_instant(cal, day, w->start_min, &open)) != 0)
			goto out;
		if (open >= to || open + (int64_t)w->duration_min * 60 <= from)
			continue;
		if (*n == max) {
			rc = OTA_ETOOBIG;
			goto out;
		}
		raw[*n].open = open;
		raw[(*n)++].close = open + (int64_t)w->duration_min * 60;
	}
out:
	ucal_close(cal);
	return rc;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct mwindow_span *x = a, *y = b;

	return (x->open > y->open) - (x->open < y->open);
}

/* Sorts raw[0..n) and merges it into out[0..max). */
static int
spans_merge(
    struct mwindow_span *raw, size_t n, struct mwindow_span *out, size_t max)
{
	size_t k = 0;

	qsort(raw, n, sizeof(*raw), span_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && raw[i].open <= out[k - 1].close) {
			if (raw[i].close > out[k - 1].close)
				out[k - 1].close = raw[i].close;
			continue;
		}
		if (k == max)
			return OTA_ETOOBIG;
		out[k++] = raw[i];
	}
	return (int)k;
}

int
mwindow_spans(const struct mwindow_set *s, int64_t from, int64_t to,
    struct mwindow_span *out, size_t max)
{
	struct mwindow_span *raw;
	size_t n = 0;
	int rc = 0;

	if (s == NULL || to <= from ||
	    to - from > MWINDOW_BACK_SEC + MWINDOW_AHEAD_SEC)
		return OTA_EINVAL;
	if (s->n == 0)
		return 0;
	raw = malloc(MWINDOW_SPANS_MAX * 2 * sizeof(*raw));
	if (raw == NULL)
		return OTA_ENOMEM;
	for (size_t i = 0; i < s->n && rc == 0; i++)
		rc = window_spans(
		    &s->w[i], from, to, raw, &n, MWINDOW_SPANS_MAX * 2);
	if (rc == 0)
		rc = spans_merge(raw, n, out, max);
	free(raw);
	return rc;
}

int
mwindow_intersect(const struct mwindow_span *a, size_t na,
    const struct mwindow_span *b, size_t nb, struct mwindow_span *out,
    size_t max)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na && j < nb) {
		int64_t lo = a[i].open > b[j].open ? a[i].open : b[j].open;
		int64_t hi = a[i].close < b[j].close ? a[i].close : b[j].close;

		if (lo < hi) {
			if (k > 0 && out[k - 1].close == lo)
				out[k - 1].close = hi;
			else if (k == max)
				return OTA_ETOOBIG;
			else
				out[k++] = (struct mwindow_span){lo, hi};
		}
		if (a[i].close < b[j].close)
			i++;
		else
			j++;
	}
	return (int)k;
}

void
mwindow_state(const struct mwindow_span *sp, size_t n, int64_t now,
    int *out_open, int64_t *out_next)
{
	*out_open = 0;
	*out_next = 0;
	for (size_t i = 0; i < n; i++) {
		if (now < sp[i].open) {
			*out_next = sp[i].open;
			return;
		}
		if (now < sp[i].close) {
			*out_open = 1;
			*out_next = sp[i].close;
			return;
		}
	}
}
