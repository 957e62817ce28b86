/*
 * otactl_err: the one shape of otactl's messages, "otactl: <message>" on
 * standard error.  Nothing here prints a token or a secret key: callers
 * pass neither.
 */
#include "otactl_err.h"

#include <stdarg.h>
#include <stdio.h>

void
otactl_err_v(const char *fmt, va_list ap)
{
	fputs("otactl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
otactl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	otactl_err_v(fmt, ap);
	va_end(ap);
}
