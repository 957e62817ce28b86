/*
 * log: one line per event to stderr, "ts=... level=... " followed by the
 * caller's key=value fields.  Thread-safe (one write(2) per line).  Never
 * pass a token, key or signed URL to these functions.  A value that
 * comes from a request, a device, a file or the store is either an
 * identifier already checked against its alphabet (names.h) or goes
 * through log_value, so that no input can end a line or forge a field;
 * as a last guard, log_msg turns any control byte left into '?'.
 */
#ifndef OTAD_LOG_H
#define OTAD_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Sets the lowest level written; default LOG_INFO.  Call before threads. */
void log_set_level(enum log_level level);

/* 1 when a line of level would be written: lets a caller skip building
 * the values of a line nobody reads (the request log on the hot path). */
int log_enabled(enum log_level level);

/* Parses "error", "warn", "info", "debug"; returns 0 or OTA_EINVAL. */
int log_parse_level(const char *s, enum log_level *out_level);

/* Room for any value log_value writes for a path or a reason. */
#define LOG_VALUE_MAX 512

/*
 * Writes s into buf[size] as one key=value value and returns buf: as is
 * when s is non-empty printable ASCII without space, '"' or '\\';
 * otherwise in double quotes, with \\", \\\\, \\n, \\r, \\t and \\xHH for
 * other control bytes, DEL and bytes >= 0x80.  A value that does not fit
 * is cut and ends in "..." inside its quotes.  NULL is written as "-".
 * Use it with a bare %s: `path=%s`, never `path=\"%s\"`.  Pure.
 */
const char *log_value(char *buf, size_t size, const char *s);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
