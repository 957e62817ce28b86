/*
 * timeutil: RFC 3339 parsing and formatting for the whole server, so the
 * store's times, device timestamps and query arguments are read one way.
 */
#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* The value of the n decimal digits at s (all checked to be digits). */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/*
 * The shape is checked here character by character; the calendar (month
 * lengths, leap years) is timegm's: a date it has to normalise (Feb 30)
 * is refused.
 */
int
timeutil_parse_rfc3339(const char *s, int64_t *out_ms)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm tm, back;
	const char *p;
	int64_t ms = 0, t, off = 0;
	int sec, nfrac = 0;
	time_t tt;

	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		char ch = s[i];

		if (shape[i] == 'd'   ? !is_digit(ch)
		    : shape[i] == 'T' ? ch != 'T' && ch != 't'
		                      : ch != shape[i])
			return OTA_EINVAL;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || sec > 60)
		return OTA_EINVAL;
	tm.tm_sec = sec == 60 ? 59 : sec;
	p = s + 19;
	if (*p == '.') {
		for (p++; is_digit(*p); p++, nfrac++)
			if (nfrac < 3)
				ms = ms * 10 + (*p - '0');
		if (nfrac == 0 || nfrac > 9)
			return OTA_EINVAL;
		for (int i = nfrac; i < 3; i++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (!is_digit(p[1]) || !is_digit(p[2]) || p[3] != ':' ||
		    !is_digit(p[4]) || !is_digit(p[5]) ||
		    digits(p + 1, 2) > 23 || digits(p + 4, 2) > 59)
			return OTA_EINVAL;
		off = (int64_t)digits(p + 1, 2) * 3600 + digits(p + 4, 2) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return OTA_EINVAL;
	}
	if (*p != '\0')
		return OTA_EINVAL;
	back = tm;
	tt = timegm(&back);
	if (tt == (time_t)-1 || back.tm_mday != tm.tm_mday ||
	    back.tm_mon != tm.tm_mon || back.tm_year != tm.tm_year)
		return OTA_EINVAL;
	t = (int64_t)tt + (sec == 60 ? 1 : 0) - off;
	/* In UTC too, 1970 to 9999: what timeutil_format_rfc3339 writes
	 * back (an offset can push a time across either end). */
	if (t < 0 || t > TIMEUTIL_MAX_SEC)
		return OTA_EINVAL;
	*out_ms = t * 1000 + ms;
	return 0;
}

void
timeutil_format_rfc3339(int64_t unix_sec, char out[TIMEUTIL_RFC3339_LEN])
{
	time_t t = (time_t)unix_sec;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, TIMEUTIL_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	        TIMEUTIL_RFC3339_LEN - 1)
		snprintf(out, TIMEUTIL_RFC3339_LEN, "1970-01-01T00:00:00Z");
}

int
timeutil_is_canonical(const char *s)
{
	char back[TIMEUTIL_RFC3339_LEN];
	int64_t ms;

	if (strlen(s) != TIMEUTIL_RFC3339_LEN - 1 ||
	    timeutil_parse_rfc3339(s, &ms) != 0)
		return 0;
	timeutil_format_rfc3339(ms / 1000, back);
	return strcmp(back, s) == 0;
}

/* The test clock file, or NULL for the real clock (timeutil_clock_file):
 * written once at start, before any thread, then only read. */
static const char *clock_path;

void
timeutil_clock_file(const char *path)
{
	clock_path = (path != NULL && path[0] != '\0') ? path : NULL;
}

/* The seconds the test clock file adds, 0 when it holds no number. */
static int64_t
timeutil_clock_offset_sec(void)
{
	char buf[32];
	char *end;
	long long v;
	size_t n;
	FILE *f;

	if ((f = fopen(clock_path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (end == buf || errno != 0 || v > TIMEUTIL_MAX_SEC ||
	    v < -TIMEUTIL_MAX_SEC)
		return 0;
	return (int64_t)v;
}

int64_t
timeutil_now_ms(void)
{
	struct timespec ts;
	int64_t ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (clock_path != NULL)
		ms += timeutil_clock_offset_sec() * 1000;
	return ms;
}

int64_t
timeutil_now_sec(void)
{
	return timeutil_now_ms() / 1000;
}

int64_t
timeutil_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec
timeutil_mono_timespec(int64_t mono_ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(mono_ms / 1000);
	ts.tv_nsec = (long)(mono_ms % 1000) * 1000000;
	return ts;
}

int
timeutil_mono_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int rc;

	if ((rc = pthread_condattr_init(&attr)) != 0)
		return rc;
	if ((rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
		rc = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}
