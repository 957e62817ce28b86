/*
 * otactl_usage: the usage text (for --help), and usage errors: a message
 * and a hint, exit status 2.
 */
#ifndef OTACTL_USAGE_H
#define OTACTL_USAGE_H

#include <stdio.h>

/* Prints the usage text to f. */
void otactl_usage(FILE *f);

/* Reports a usage error ("otactl: <message>" and a hint); returns 2. */
int otactl_usage_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
