/*
 * log: formats a whole line in a stack buffer and writes it with a single
 * write(2), so lines from different threads never interleave.  The level is
 * set once at start and only read afterwards.  Values are escaped by
 * log_value; as a last guard log_msg turns any control byte left in a line
 * into '?', so a value a caller forgot to escape still cannot start a
 * line of its own.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"

static enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

int
log_parse_level(const char *s, enum log_level *out_level)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out_level = (enum log_level)i;
			return 0;
		}
	}
	return OTA_EINVAL;
}

/* 1 when c may appear in a value without quotes. */
static int
bare_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

const char *
log_value(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t n = 0, i;
	char esc[5];
	size_t elen;

	if (size == 0)
		return buf;
	if (s == NULL)
		s = "-";
	p = (const unsigned char *)s;
	for (i = 0; p[i] != '\0' && bare_ok(p[i]); i++)
		;
	if (i > 0 && p[i] == '\0' && i < size) {
		memcpy(buf, s, i + 1);
		return buf;
	}
	if (size < 6) { /* not even room for "..." */
		snprintf(buf, size, "%s", size > 2 ? "\"\"" : "");
		return buf;
	}
	buf[n++] = '"';
	for (i = 0; p[i] != '\0'; i++) {
		unsigned char c = p[i];

		elen = 0;
		if (c == '"' || c == '\\') {
			esc[elen++] = '\\';
			esc[elen++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[elen++] = '\\';
			esc[elen++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c >= 0x7f) {
			esc[elen++] = '\\';
			esc[elen++] = 'x';
			esc[elen++] = hex[c >> 4];
			esc[elen++] = hex[c & 15];
		} else {
			esc[elen++] = (char)c;
		}
		/* Keep room for '...', the closing quote and the NUL. */
		if (n + elen + 5 > size) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(buf + n, esc, elen);
		n += elen;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n, m;

	if (level > log_threshold)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level]);
	if (n < 0)
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	m += n;
	if ((size_t)m > sizeof(line) - 2)
		m = (int)sizeof(line) - 2;
	for (int i = n; i < m; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	n = m;
	line[n++] = '\n';
	/* One write per line; a short write to stderr is not worth a retry. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
