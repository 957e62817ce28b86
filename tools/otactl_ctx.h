/*
 * otactl_ctx: the run context of otactl, filled by main from the global
 * options and passed to every command, and the exit statuses commands
 * return.  The data directory and the database are resolved on demand.
 */
#ifndef OTACTL_CTX_H
#define OTACTL_CTX_H

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
	char *database;           /* resolved lazily, owned (free()) */
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
 * Resolves, once, the database the commands that work on otad's store
 * directly open: --database TARGET, else <data_dir>/otad.db.  TARGET is
 * what otad's "database" setting takes: a SQLite path, or a PostgreSQL URI
 * or keyword conninfo.  Returns the target (borrowed from ctx) or NULL
 * after printing why.
 */
const char *otactl_ctx_database(struct otactl *ctx);

#endif
