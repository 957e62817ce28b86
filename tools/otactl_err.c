/*
 * otactl_err: the one shape of otactl's messages, "otactl: <message>" on
 * standard error.  Nothing here prints a token or a secret key: callers
 * pass neither.
 */
#include "otactl_err.h"

#include <stdarg.h>
#include <stdio.h>

/* stderr's current line is a progress bar still to be ended. */
static int line_open;

void
otactl_err_line_open(void)
{
	line_open = 1;
}

void
otactl_err_line_end(void)
{
	if (line_open)
		fputc('\n', stderr);
	line_open = 0;
}

void
otactl_err_v(const char *fmt, va_list ap)
{
	otactl_err_line_end();
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
