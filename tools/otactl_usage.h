/*
 * otactl_usage: the usage text (for --help), and usage errors: a message
 * and a hint, exit status 2.
 */
#ifndef OTACTL_USAGE_H
#define OTACTL_USAGE_H

#include <stdio.h>

/* Prints the whole usage text to f. */
void otactl_usage(FILE *f);

/*
 * Prints to f the usage of the command words cmd ("devices" for every
 * devices subcommand, "devices list" for one) with a short note on the
 * global options.  Returns 0, or -1 (nothing printed) when no command
 * matches cmd.
 */
int otactl_usage_cmd(FILE *f, const char *cmd);

/* Reports a usage error ("otactl: <message>" and a hint); returns 2. */
int otactl_usage_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
