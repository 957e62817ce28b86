/*
 * otactl_args: a small long-option scanner.  Options and positional
 * arguments may be mixed in any order ("--name value", "--name=value"),
 * "--" ends options, and the global options --config, --data-dir and
 * --database are accepted everywhere and stored in the context.  On top
 * of it, the loop every command shares: --help, usage errors, the one
 * positional argument.  It never allocates.
 */
#include "otactl_args.h"

#include <string.h>

#include "otactl_ctx.h"
#include "otactl_http.h"
#include "otactl_usage.h"

/* The options every command accepts, stored straight into the context. */
#define OPT_CONFIG -10
#define OPT_DATA_DIR -11
#define OPT_DATABASE -12

static const struct otactl_opt global_opts[] = {
    {"config", 1, OPT_CONFIG},
    {"data-dir", 1, OPT_DATA_DIR},
    {"database", 1, OPT_DATABASE},
    {NULL, 0, 0},
};

void
otactl_args_init(struct otactl_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->argc = argc;
	a->argv = argv;
}

void
otactl_args_cmd_init(struct otactl_args *a, int argc, char **argv,
    const char *cmd, const char *pos_name)
{
	otactl_args_init(a, argc, argv);
	a->cmd = cmd;
	a->pos_name = pos_name;
}

/* Finds the option called name[0..len) in opts, or returns NULL. */
static const struct otactl_opt *
find_opt(const struct otactl_opt *opts, const char *name, size_t len)
{
	for (; opts->name != NULL; opts++) {
		if (strlen(opts->name) == len &&
		    strncmp(opts->name, name, len) == 0)
			return opts;
	}
	return NULL;
}

/* Stores a global option's value in ctx. */
static void
set_global(struct otactl *ctx, int id, const char *val)
{
	if (id == OPT_CONFIG)
		ctx->config_path = val;
	else if (id == OPT_DATA_DIR)
		ctx->data_dir_opt = val;
	else
		ctx->database_opt = val;
}

/*
 * Handles one "--name[=value]" argument: finds the option and its value
 * (inline or the next argument).  Returns its id or OTACTL_ARG_BAD.
 */
static int
scan_long(struct otactl_args *a, const char *arg, const struct otactl_opt *opts,
    const char **out_val)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	const struct otactl_opt *o;

	o = find_opt(global_opts, name, len);
	if (o == NULL)
		o = find_opt(opts, name, len);
	if (o == NULL) {
		otactl_usage_err("unknown option '--%.*s'", (int)len, name);
		return OTACTL_ARG_BAD;
	}
	*out_val = NULL;
	if (!o->has_arg) {
		if (eq != NULL) {
			otactl_usage_err(
			    "option '--%s' takes no value", o->name);
			return OTACTL_ARG_BAD;
		}
		return o->id;
	}
	if (eq != NULL) {
		*out_val = eq + 1;
	} else if (a->i < a->argc) {
		*out_val = a->argv[a->i++];
	} else {
		otactl_usage_err("option '--%s' needs a value", o->name);
		return OTACTL_ARG_BAD;
	}
	return o->id;
}

int
otactl_args_next(struct otactl_args *a, struct otactl *ctx,
    const struct otactl_opt *opts, const char **out_val)
{
	const char *arg;
	int id;

	for (;;) {
		if (a->i >= a->argc)
			return OTACTL_ARG_END;
		arg = a->argv[a->i++];
		if (a->only_pos || arg[0] != '-' || strcmp(arg, "-") == 0) {
			*out_val = arg;
			return OTACTL_ARG_POS;
		}
		if (strcmp(arg, "--") == 0) {
			a->only_pos = 1;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			return OTACTL_ARG_HELP;
		if (arg[1] != '-') {
			otactl_usage_err("unknown option '%s'", arg);
			return OTACTL_ARG_BAD;
		}
		id = scan_long(a, arg, opts, out_val);
		if (id != OPT_CONFIG && id != OPT_DATA_DIR &&
		    id != OPT_DATABASE)
			return id;
		set_global(ctx, id, *out_val);
	}
}

int
otactl_args_cmd_next(struct otactl_args *a, struct otactl *ctx,
    const struct otactl_opt *opts, const char **out_val)
{
	int id;

	while (
	    (id = otactl_args_next(a, ctx, opts, out_val)) == OTACTL_ARG_POS) {
		if (a->pos_name == NULL) {
			a->status = otactl_usage_err(
			    "%s: unexpected '%s'", a->cmd, *out_val);
			return OTACTL_ARG_EXIT;
		}
		if (a->pos != NULL) {
			a->status = otactl_usage_err(
			    "%s: one %s only", a->cmd, a->pos_name);
			return OTACTL_ARG_EXIT;
		}
		a->pos = *out_val;
	}
	if (id == OTACTL_ARG_HELP) {
		if (otactl_usage_cmd(stdout, a->cmd) != 0)
			otactl_usage(stdout);
		a->status = OTACTL_EXIT_OK;
		return OTACTL_ARG_EXIT;
	}
	if (id == OTACTL_ARG_BAD) {
		a->status = OTACTL_EXIT_USAGE;
		return OTACTL_ARG_EXIT;
	}
	return id;
}

int
otactl_args_subcommand(struct otactl *ctx, int argc, char **argv,
    const char *cmd, const struct otactl_cmd *subs, size_t n)
{
	static const struct otactl_opt opts[] = {
	    OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	struct otactl_args a;
	const char *sub = NULL;
	size_t i;
	int id;

	otactl_args_init(&a, argc, argv);
	while ((id = otactl_args_next(&a, ctx, opts, &sub)) > 0)
		(void)otactl_http_option(ctx, id, sub);
	if (id == OTACTL_ARG_HELP) {
		if (otactl_usage_cmd(stdout, cmd) != 0)
			otactl_usage(stdout);
		return OTACTL_EXIT_OK;
	}
	if (id == OTACTL_ARG_BAD)
		return OTACTL_EXIT_USAGE;
	if (id == OTACTL_ARG_POS) {
		for (i = 0; i < n; i++)
			if (strcmp(sub, subs[i].name) == 0)
				return subs[i].run(ctx, argc - a.i, argv + a.i);
		return otactl_usage_err(
		    "%s: unknown subcommand '%s'", cmd, sub);
	}
	fprintf(stderr, "otactl: %s: want one of:", cmd);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s", subs[i].name);
	fprintf(stderr, "\n(otactl help %s for usage)\n", cmd);
	return OTACTL_EXIT_USAGE;
}
