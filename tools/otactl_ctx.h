/*
 * otactl_ctx: the run context of otactl, filled by main from the global
 * options and passed to every command, and the exit statuses commands
 * return.  The data directory and the configuration are resolved on
 * demand.
 */
#ifndef OTACTL_CTX_H
#define OTACTL_CTX_H

#include "config.h"

#define OTACTL_EXIT_OK 0
#define OTACTL_EXIT_FAIL 1
#define OTACTL_EXIT_USAGE 2

#define OTACTL_DEFAULT_SERVER "https://127.0.0.1:8443"
#define OTACTL_USER_AGENT "otactl/1"

/*
 * The run context, filled by main from the global options and passed to
 * every command.  Strings are borrowed from argv/environ unless noted.
 */
struct otactl {
	const char *prog;         /* "otactl" */
	const char *config_path;  /* --config, or NULL */
	const char *data_dir_opt; /* --data-dir, or NULL */
	char *data_dir;           /* resolved lazily, owned (free()) */
	const char *database_opt; /* --database, or NULL */
	struct ota_config cfg;    /* otactl_ctx_config's, owned */
	int cfg_loaded;           /* 1 once cfg holds a configuration */
	char **envp;              /* environ without OTACTL_*, owned array */
	const char *server;       /* --server, or NULL */
	const char *token_file;   /* --token-file, or NULL */
	const char *cacert;       /* --cacert, or NULL */
};

/*
 * Resolves the data directory once: --data-dir, else
 * config_load(--config or NULL, the filtered environment).  Returns the
 * path (borrowed from ctx) or NULL after printing why.
 */
const char *otactl_ctx_data_dir(struct otactl *ctx);

/*
 * Loads, once, the configuration otad would load (--config or none, the
 * filtered environment: OTAD_DATABASE, OTAD_DATABASE_PASSWORD_FILE...)
 * for the commands that open otad's store directly, with --data-dir and
 * --database ("sqlite" or a PostgreSQL target) put in place of data_dir
 * and database.  Returns it (borrowed from ctx; main frees it with
 * config_free) or NULL after printing why.
 */
const struct ota_config *otactl_ctx_config(struct otactl *ctx);

#endif
