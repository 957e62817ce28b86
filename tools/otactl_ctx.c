/*
 * otactl_ctx: what the run context resolves on demand: the data directory
 * of the commands that work on otad.db directly (--data-dir, else the
 * configuration otad itself would load).
 */
#include "otactl_ctx.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "otactl_err.h"

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
