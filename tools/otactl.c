/*
 * otactl: entry point.  Initialises libsodium and libcurl, reads the
 * global options, filters OTACTL_* out of the environment handed to
 * config_load, and dispatches to one command through the command table.
 * The top of otactl: it calls the commands, nothing calls it.
 * Exit status: 0 success, 1 failure, 2 usage error.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_describe.h"
#include "otactl_devices.h"
#include "otactl_err.h"
#include "otactl_fleet.h"
#include "otactl_gateways.h"
#include "otactl_bundles.h"
#include "otactl_groups.h"
#include "otactl_http.h"
#include "otactl_images.h"
#include "otactl_keys.h"
#include "otactl_rollouts.h"
#include "otactl_token.h"
#include "otactl_upload.h"
#include "otactl_usage.h"
#include "version.h"

static const struct otactl_cmd commands[] = {
    {"keygen", otactl_keys_gen},
    {"describe", otactl_describe},
    {"sign", otactl_keys_sign},
    {"verify", otactl_keys_verify},
    {"upload", otactl_upload},
    {"images", otactl_images},
    {"bundles", otactl_bundles},
    {"token", otactl_token},
    {"devices", otactl_devices},
    {"groups", otactl_groups},
    {"gateways", otactl_gateways},
    {"rollouts", otactl_rollouts},
    {"fleet", otactl_fleet},
    {"whoami", otactl_fleet_whoami},
};

/*
 * Returns a new NULL-terminated copy of env without OTACTL_* entries (the
 * strings are borrowed), or NULL when out of memory.  config_load rejects
 * unknown OTAD_* names only, but otactl's own settings are none of its
 * business.
 */
static char **
env_filter(char **env)
{
	size_t n = 0, j = 0;
	char **out;

	while (env != NULL && env[n] != NULL)
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(env[i], "OTACTL_", 7) != 0)
			out[j++] = env[i];
	}
	out[j] = NULL;
	return out;
}

/*
 * otactl help [COMMAND [SUBCOMMAND]]: the whole usage, or one command's.
 * Returns the exit status (2 for a command otactl does not have).
 */
static int
help(int argc, char **argv)
{
	char cmd[128];

	if (argc == 0) {
		otactl_usage(stdout);
		return OTACTL_EXIT_OK;
	}
	if (argc > 2)
		return otactl_usage_err(
		    "help: usage: help [COMMAND [SUBCOMMAND]]");
	if (snprintf(cmd, sizeof(cmd), "%s%s%s", argv[0], argc == 2 ? " " : "",
	        argc == 2 ? argv[1] : "") >= (int)sizeof(cmd) ||
	    otactl_usage_cmd(stdout, cmd) != 0)
		return otactl_usage_err("help: no command '%.64s'", cmd);
	return OTACTL_EXIT_OK;
}

/*
 * Reads the global options before the command name and runs the command
 * (or help, or --version).  Returns the exit status.
 */
static int
dispatch(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_opt opts[] = {
	    OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val = NULL;
	int id;

	if (argc == 1 && strcmp(argv[0], "--version") == 0) {
		printf("otactl %s\n", OTAD_VERSION);
		return OTACTL_EXIT_OK;
	}
	otactl_args_init(&a, argc, argv);
	/* The server options may also come before the command name. */
	while ((id = otactl_args_next(&a, ctx, opts, &val)) > 0)
		(void)otactl_http_option(ctx, id, val);
	if (id == OTACTL_ARG_HELP) {
		otactl_usage(stdout);
		return OTACTL_EXIT_OK;
	}
	if (id == OTACTL_ARG_BAD)
		return OTACTL_EXIT_USAGE;
	if (id == OTACTL_ARG_END) {
		otactl_usage(stderr);
		return OTACTL_EXIT_USAGE;
	}
	if (strcmp(val, "help") == 0)
		return help(argc - a.i, argv + a.i);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(val, commands[i].name) == 0)
			return commands[i].run(ctx, argc - a.i, argv + a.i);
	}
	return otactl_usage_err("unknown command '%s'", val);
}

int
main(int argc, char **argv)
{
	struct otactl ctx;
	int rc = OTACTL_EXIT_FAIL;
	int curl_ready = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.prog = "otactl";
	/* Library modules log through log.c; a CLI wants warnings only. */
	log_set_level(LOG_WARN);
	if (crypto_init() != 0) {
		otactl_err("cannot initialise libsodium");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		otactl_err("cannot initialise libcurl");
		goto out;
	}
	curl_ready = 1;
	ctx.envp = env_filter(environ);
	if (ctx.envp == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	rc = dispatch(&ctx, argc - 1, argv + 1);
out:
	free(ctx.data_dir);
	config_free(&ctx.cfg);
	free(ctx.envp);
	if (curl_ready)
		curl_global_cleanup();
	if (fflush(stdout) != 0 && rc == OTACTL_EXIT_OK) {
		otactl_err("writing standard output: %s", strerror(errno));
		rc = OTACTL_EXIT_FAIL;
	}
	return rc;
}
