/*
 * log: one line per event to stderr, "ts=... level=... " followed by the
 * caller's key=value fields.  Thread-safe (one write(2) per line).  Never
 * pass a token, key or signed URL to these functions.
 */
#ifndef OTAD_LOG_H
#define OTAD_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Sets the lowest level written; default LOG_INFO.  Call before threads. */
void log_set_level(enum log_level level);

/* Parses "error", "warn", "info", "debug"; returns 0 or OTA_EINVAL. */
int log_parse_level(const char *s, enum log_level *out_level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
