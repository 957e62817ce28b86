/*
 * otactl_ctx: what the run context resolves on demand: the data directory
 * and the database of the commands that work on otad's store directly
 * (--data-dir and --database, else the configuration otad itself would
 * load).
 */
#include "otactl_ctx.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "otactl_err.h"
#include "otactl_str.h"

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

const char *
otactl_ctx_database(struct otactl *ctx)
{
	const char *dir;

	if (ctx->database != NULL)
		return ctx->database;
	if (ctx->database_opt != NULL) {
		if (ctx->database_opt[0] == '\0') {
			otactl_err("--database: empty target");
			return NULL;
		}
		ctx->database = strdup(ctx->database_opt);
	} else {
		if ((dir = otactl_ctx_data_dir(ctx)) == NULL)
			return NULL;
		ctx->database = otactl_str_cat2(dir, "/otad.db");
	}
	if (ctx->database == NULL)
		otactl_err("out of memory");
	return ctx->database;
}
