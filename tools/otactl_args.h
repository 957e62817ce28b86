/*
 * otactl_args: the option scanner of every command, and the dispatch of
 * a command to its subcommands.
 */
#ifndef OTACTL_ARGS_H
#define OTACTL_ARGS_H

#include <stddef.h>

struct otactl;

/*
 * Option scanner.  Each command describes its options in a table ending
 * with a zeroed entry.  "--name value" and "--name=value" are accepted;
 * "--" ends options.  The global options (--config, --data-dir,
 * --database) are accepted by every command and stored in the context
 * directly.
 */
struct otactl_opt {
	const char *name; /* without the leading "--" */
	int has_arg;      /* 1 when the option takes a value */
	int id;           /* > 0, returned by otactl_args_next */
};

struct otactl_args {
	int argc;
	char **argv;
	int i;        /* next argv index */
	int only_pos; /* after "--": everything is positional */
	/* Only for otactl_args_cmd_next: */
	const char *cmd;      /* the command's name in messages */
	const char *pos_name; /* its one positional argument; NULL: none */
	const char *pos;      /* that argument once seen, else NULL */
	int status;           /* the exit status after OTACTL_ARG_EXIT */
};

#define OTACTL_ARG_END 0   /* no more arguments */
#define OTACTL_ARG_POS -1  /* a positional argument in *out_val */
#define OTACTL_ARG_HELP -2 /* --help or -h */
#define OTACTL_ARG_BAD -3  /* unknown option or missing value (printed) */
#define OTACTL_ARG_EXIT -4 /* the command stops with exit status a->status */

void otactl_args_init(struct otactl_args *a, int argc, char **argv);

/*
 * Returns the id of the next option (its value, if any, in *out_val), or
 * one of the OTACTL_ARG_* codes.  Global options are consumed silently.
 */
int otactl_args_next(struct otactl_args *a, struct otactl *ctx,
    const struct otactl_opt *opts, const char **out_val);

/*
 * The option loop of a command, which takes at most one positional
 * argument, called pos_name in messages (NULL when it takes none); cmd
 * names the command in messages ("token create").  cmd and pos_name are
 * borrowed.
 */
void otactl_args_cmd_init(struct otactl_args *a, int argc, char **argv,
    const char *cmd, const char *pos_name);

/*
 * otactl_args_next doing what every command does alike: returns the id of
 * the next option (> 0, its value in *out_val) or OTACTL_ARG_END, and
 * keeps the positional argument in a->pos.  After --help (usage printed on
 * stdout), a bad option, a positional argument the command does not take
 * or a second one (each printed) it returns OTACTL_ARG_EXIT, with the exit
 * status to return in a->status.
 */
int otactl_args_cmd_next(struct otactl_args *a, struct otactl *ctx,
    const struct otactl_opt *opts, const char **out_val);

/* A command or subcommand name and its entry point. */
struct otactl_cmd {
	const char *name;
	int (*run)(struct otactl *ctx, int argc, char **argv);
};

/*
 * Runs the subcommand of cmd ("devices") named by the first positional
 * argument, from subs[0..n) (global options may come before it).
 * Returns the exit status.
 */
int otactl_args_subcommand(struct otactl *ctx, int argc, char **argv,
    const char *cmd, const struct otactl_cmd *subs, size_t n);

#endif
