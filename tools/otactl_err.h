/*
 * otactl_err: the one shape of otactl's messages, "otactl: <message>" on
 * standard error.  Nothing here prints a token or a secret key.
 */
#ifndef OTACTL_ERR_H
#define OTACTL_ERR_H

#include <stdarg.h>

/* Prints "otactl: <message>\n" to stderr (otactl_err_v: the same with a
 * va_list), on a line of its own: an unfinished line (a progress bar) is
 * ended first. */
void otactl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void otactl_err_v(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* Marks stderr's current line unfinished (a progress bar drawn in place
 * with "\r"): the next message or otactl_err_line_end ends it first. */
void otactl_err_line_open(void);

/* Ends stderr's unfinished line with a newline; nothing when none. */
void otactl_err_line_end(void);

#endif
