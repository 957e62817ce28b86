/*
 * otactl: entry point.  Initialises libsodium and libcurl, reads the
 * global options, filters OTACTL_* out of the environment handed to
 * config_load, and dispatches to one command.  Owns the usage text and the
 * small helpers every command uses (messages, data directory, numbers).
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include "otactl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "errors.h"
#include "log.h"

static const char usage_text[] =
    "usage: otactl [--config PATH] [--data-dir DIR] COMMAND ...\n"
    "\n"
    "Release signing (no server needed):\n"
    "  keygen --out PREFIX\n"
    "      write PREFIX.key (Ed25519 PKCS#8 PEM, 0600) and PREFIX.pub\n"
    "  describe IMAGE --name N --version V --hardware H [--hardware H2 ...]\n"
    "      [--min-version V] [--security-counter N] [--filename F]\n"
    "      [--out FILE]\n"
    "      write the image descriptor (default IMAGE.json)\n"
    "  sign --key KEYFILE [--out SIGFILE] DESCRIPTOR\n"
    "      write the raw 64-byte Ed25519 signature (default "
    "DESCRIPTOR.sig)\n"
    "  verify --pub PUBFILE --sig SIGFILE DESCRIPTOR\n"
    "\n"
    "Server (options: --server URL, --token-file FILE, --cacert FILE):\n"
    "  upload IMAGE [--descriptor FILE] --sig KEYID:SIGFILE [--sig ...]\n"
    "  images [--name N] [--hardware H] [--min-version V]\n"
    "      [--max-version V] [--limit N] [--json]\n"
    "\n"
    "Fleet (same server options; --json prints otad's JSON):\n"
    "  devices import FILE.csv [--out TOKENS.csv] [--batch-size N]\n"
    "      [--dry-run]\n"
    "      CSV header: id,hardware[,version][,groups][,labels]\n"
    "  devices list [--group G] [--hardware H] [--version V]\n"
    "      [--seen-after T] [--seen-before T] [--json]\n"
    "  devices show|delete|rotate-token|revoke-token ID\n"
    "  groups create NAME [--description D]\n"
    "  groups list | show NAME | delete NAME\n"
    "  groups add|remove NAME [ID ...] [--file FILE]\n"
    "  gateways create NAME --group G [--group G2 ...]\n"
    "  gateways list | revoke NAME\n"
    "  rollouts create --image ID --group G [--group G2 ...] [--name N]\n"
    "      [--stages 1,5,25,100] [--failure-threshold 0.05]\n"
    "      [--min-reports 10] [--advance-after SEC]\n"
    "  rollouts list [--state S] [--image ID] | show ID\n"
    "  rollouts start|pause|resume|advance|abort ID [--reason R]\n"
    "      [--stage-index N]\n"
    "\n"
    "API tokens (directly on <data_dir>/otad.db):\n"
    "  token create --role admin|release|viewer --name NAME\n"
    "  token list [--json]\n"
    "  token revoke ID|NAME\n"
    "\n"
    "Environment: OTACTL_SERVER (default " OTACTL_DEFAULT_SERVER "),\n"
    "  OTACTL_TOKEN (or --token-file), OTACTL_CACERT, OTAD_* as for otad.\n"
    "The API token is never accepted as a command-line argument.\n";

static const struct otactl_cmd commands[] = {
    {"keygen", otactl_keys_gen},
    {"describe", otactl_describe},
    {"sign", otactl_keys_sign},
    {"verify", otactl_keys_verify},
    {"upload", otactl_upload},
    {"images", otactl_images},
    {"token", otactl_token},
    {"devices", otactl_devices},
    {"groups", otactl_groups},
    {"gateways", otactl_gateways},
    {"rollouts", otactl_rollouts},
};

/* Prints "otactl: <message>\n" to stderr. */
static void
verr(const char *fmt, va_list ap)
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
	verr(fmt, ap);
	va_end(ap);
}

void
otactl_usage(FILE *f)
{
	fputs(usage_text, f);
}

int
otactl_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(fmt, ap);
	va_end(ap);
	fputs("(otactl --help for usage)\n", stderr);
	return OTACTL_EXIT_USAGE;
}

const char *
otactl_data_dir(struct otactl *ctx)
{
	struct ota_config cfg;
	char err[512];

	if (ctx->data_dir != NULL)
		return ctx->data_dir;
	if (ctx->data_dir_opt != NULL) {
		if (ctx->data_dir_opt[0] == '\0') {
			otactl_err("--data-dir: empty path");
			return NULL;
		}
		ctx->data_dir = strdup(ctx->data_dir_opt);
	} else {
		memset(&cfg, 0, sizeof(cfg));
		err[0] = '\0';
		if (config_load(ctx->config_path, ctx->envp, &cfg, err,
		        sizeof(err)) != 0) {
			otactl_err("%s",
			    err[0] != '\0' ? err : "cannot load configuration");
			return NULL;
		}
		ctx->data_dir = strdup(cfg.data_dir);
		config_free(&cfg);
	}
	if (ctx->data_dir == NULL)
		otactl_err("out of memory");
	return ctx->data_dir;
}

char *
otactl_strcat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s;

	s = malloc(la + lb + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

int
otactl_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return OTA_EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return OTA_EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return OTA_EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

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
 * Reads the global options before the command name and runs the command.
 * Returns the exit status.
 */
static int
dispatch(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_opt opts[] = {
	    OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val = NULL;
	int id;

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
	free(ctx.envp);
	if (curl_ready)
		curl_global_cleanup();
	if (fflush(stdout) != 0 && rc == OTACTL_EXIT_OK) {
		otactl_err("writing standard output: %s", strerror(errno));
		rc = OTACTL_EXIT_FAIL;
	}
	return rc;
}
