/*
 * otactl_ctx: what the run context resolves on demand: the data directory
 * of the commands that read files there, and the configuration (data
 * directory and database) of those that open otad's store directly:
 * --data-dir and --database, else what otad itself would load.
 */
#include "otactl_ctx.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "otactl_err.h"
#include "store.h"

const char *
otactl_ctx_data_dir(struct otactl *ctx)
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

/* Replaces the string *field with a copy of val.  0, or -1 (printed). */
static int
ctx_replace(char **field, const char *val)
{
	char *copy = strdup(val);

	if (copy == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

const struct ota_config *
otactl_ctx_config(struct otactl *ctx)
{
	const char *db = ctx->database_opt;
	char err[512];

	if (ctx->cfg_loaded)
		return &ctx->cfg;
	memset(&ctx->cfg, 0, sizeof(ctx->cfg));
	err[0] = '\0';
	if (config_load(ctx->config_path, ctx->envp, &ctx->cfg, err,
	        sizeof(err)) != 0) {
		otactl_err(
		    "%s", err[0] != '\0' ? err : "cannot load configuration");
		return NULL;
	}
	ctx->cfg_loaded = 1;
	if (ctx->data_dir_opt != NULL) {
		if (ctx->data_dir_opt[0] == '\0') {
			otactl_err("--data-dir: empty path");
			return NULL;
		}
		if (ctx_replace(&ctx->cfg.data_dir, ctx->data_dir_opt) != 0)
			return NULL;
	}
	/* A SQLite path given as --database is the caller's to open. */
	if (db != NULL &&
	    (strcmp(db, "sqlite") == 0 || store_target_is_postgres(db)) &&
	    ctx_replace(&ctx->cfg.database, db) != 0)
		return NULL;
	return &ctx->cfg;
}
