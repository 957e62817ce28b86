/*
 * otactl_token: API tokens, managed directly in otad's database (SQLite
 * <data_dir>/otad.db or PostgreSQL: open_store), so the first
 * admin token can exist before anyone can log in.  A new token is
 * printed once on stdout and otherwise only its hash is kept; it sits in
 * sodium_malloc memory and is never logged.  Safe while otad runs: SQLite
 * uses WAL and a busy timeout, PostgreSQL its own locking.
 */
#include "otactl_token.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "errors.h"
#include "fsutil.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_str.h"
#include "otactl_table.h"
#include "otactl_usage.h"
#include "store.h"
#include "store_config.h"
#include "store_tokens.h"

#define TOKEN_COLS 6

/*
 * Makes the directory of the SQLite file path (0700, with its parents)
 * when missing.  Returns 0, or -1 (printed).
 */
static int
mkdir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int err;

	if (slash == NULL || slash == path)
		return 0;
	if ((dir = strndup(path, (size_t)(slash - path))) == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	if ((err = fsutil_mkdir_parents(dir, 0700)) != 0)
		otactl_err(
		    "%s: cannot create directory: %s", dir, ota_strerror(err));
	free(dir);
	return err != 0 ? -1 : 0;
}

/*
 * Opens the SQLite file path.  create: make its directory (0700) and the
 * database when missing; otherwise a missing file is an error, so a
 * mistyped --data-dir does not silently list nothing.  Returns 0 and
 * *out, or -1 (printed).
 */
static int
open_sqlite(const char *path, int create, struct store **out)
{
	int err;

	if (create && mkdir_of(path) != 0)
		return -1;
	if (!create && !otactl_file_exists(path)) {
		otactl_err(
		    "%s: no database (wrong --data-dir or --database?)", path);
		return -1;
	}
	if ((err = store_open(path, 1, out)) != 0) {
		otactl_err("%s: %s", path, ota_strerror(err));
		return -1;
	}
	return 0;
}

/*
 * Opens otad's database: the SQLite file given as --database, else the
 * one the configuration names (otactl_ctx_config, store_config): a
 * SQLite file as open_sqlite, or PostgreSQL with the password file and
 * TLS settings, which must exist (otad's migrations run as when otad
 * opens it).  Returns 0 and *out, or -1 (printed; never the target, which
 * may hold a password).
 */
static int
open_store(struct otactl *ctx, int create, struct store **out)
{
	const struct ota_config *cfg;
	const char *opt = ctx->database_opt;
	struct store_config_db db;
	int err, rc = -1;

	*out = NULL;
	if ((cfg = otactl_ctx_config(ctx)) == NULL)
		return -1;
	if (opt != NULL && strcmp(opt, "sqlite") != 0 &&
	    !store_target_is_postgres(opt)) {
		if (opt[0] == '\0') {
			otactl_err("--database: empty target");
			return -1;
		}
		return open_sqlite(opt, create, out);
	}
	if ((err = store_config_resolve(cfg, &db)) != 0) {
		otactl_err("database: %s", ota_strerror(err));
	} else if (!db.postgres) {
		rc = open_sqlite(db.target, create, out);
	} else if ((err = store_open_with(db.target, &db.opt, 1, out)) != 0) {
		otactl_err("PostgreSQL database: %s", ota_strerror(err));
	} else {
		rc = 0;
	}
	store_config_release(&db);
	return rc;
}

/* 1 when role is one otad knows. */
static int
role_valid(const char *role)
{
	return strcmp(role, "admin") == 0 || strcmp(role, "release") == 0 ||
	       strcmp(role, "viewer") == 0;
}

/*
 * Creates a token named name with role and stores its hash.  Prints the
 * token on stdout.  Returns the exit status.
 */
static int
token_create_store(struct otactl *ctx, const char *name, const char *role)
{
	unsigned char hash[CRYPTO_HASH_LEN];
	char id[CRYPTO_TOKEN_ID_LEN], *token = NULL;
	struct store *st = NULL;
	struct store_conn *c;
	int rc = OTACTL_EXIT_FAIL, err;

	if (open_store(ctx, 1, &st) != 0)
		goto out;
	token = sodium_malloc(CRYPTO_TOKEN_LEN);
	if (token == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (crypto_token_new(token, id, hash) != 0) {
		otactl_err("cannot make a random token");
		goto out;
	}
	c = store_acquire(st);
	err = store_token_insert(c, id, hash, name, role);
	store_release(st, c);
	if (err == OTA_ECONFLICT)
		otactl_err(
		    "an active token named '%s' exists; revoke it first", name);
	else if (err == OTA_EINVAL)
		otactl_err("token name '%s': want 1..%d of [A-Za-z0-9._@-]",
		    name, STORE_TOKEN_NAME_MAX);
	else if (err != 0)
		otactl_err("cannot store the token: %s", ota_strerror(err));
	if (err != 0)
		goto out;
	printf("%s\n", token);
	fflush(stdout);
	fprintf(stderr,
	    "note: %s token '%s' (id %s) created; it is shown only this "
	    "once, store it now\n",
	    role, name, id);
	rc = OTACTL_EXIT_OK;
out:
	sodium_memzero(hash, sizeof(hash));
	if (token != NULL)
		sodium_free(token);
	store_close(st);
	return rc;
}

/* token create --role ROLE --name NAME */
static int
token_create(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_ROLE = 1, OPT_NAME };
	static const struct otactl_opt opts[] = {
	    {"role", 1, OPT_ROLE}, {"name", 1, OPT_NAME}, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val, *role = NULL, *name = NULL;
	int id;

	otactl_args_cmd_init(&a, argc, argv, "token create", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_ROLE)
			role = val;
		else
			name = val;
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (role == NULL || name == NULL)
		return otactl_usage_err("token create: usage: token create "
		                        "--role admin|release|viewer --name "
		                        "NAME");
	if (!role_valid(role))
		return otactl_usage_err("--role '%s': want admin, release or "
		                        "viewer",
		    role);
	return token_create_store(ctx, name, role);
}

/* Returns a new JSON string, or null for "" (never used / not revoked). */
static json_t *
json_str_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* Prints the tokens as a JSON array (never the hashes).  0 or -1. */
static int
print_json(const struct store_token *t, size_t n)
{
	json_t *arr = json_array(), *o;
	int rc = -1;

	if (arr == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", t[i].id,
		    "name", t[i].name, "role", t[i].role, "created_at",
		    t[i].created_at, "last_used_at",
		    json_str_or_null(t[i].last_used_at), "revoked_at",
		    json_str_or_null(t[i].revoked_at));
		if (o == NULL || json_array_append_new(arr, o) != 0)
			goto out;
	}
	if (json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		goto out;
	putchar('\n');
	rc = 0;
out:
	json_decref(arr);
	return rc;
}

/* Prints the tokens as a table.  0 or -1 when out of memory. */
static int
print_table(struct store_token *t, size_t n)
{
	static const char *const header[TOKEN_COLS] = {
	    "ID", "NAME", "ROLE", "CREATED", "LAST_USED", "REVOKED"};
	static char dash[] = "-";
	char **cells;

	cells = calloc(n * TOKEN_COLS + 1, sizeof(*cells));
	if (cells == NULL)
		return -1;
	/* Cells borrow the tokens' strings; nothing to free but the array. */
	for (size_t i = 0; i < n; i++) {
		char **row = cells + i * TOKEN_COLS;
		row[0] = t[i].id;
		row[1] = t[i].name;
		row[2] = t[i].role;
		row[3] = t[i].created_at;
		row[4] = t[i].last_used_at[0] ? t[i].last_used_at : dash;
		row[5] = t[i].revoked_at[0] ? t[i].revoked_at : dash;
	}
	otactl_table_print(stdout, TOKEN_COLS, header, cells, n);
	free(cells);
	return 0;
}

/* token list [--json] */
static int
token_list(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_opt opts[] = {{"json", 0, 1}, {NULL, 0, 0}};
	struct store_token *toks = NULL;
	struct store *st = NULL;
	struct store_conn *c;
	struct otactl_args a;
	const char *val;
	size_t n = 0;
	int id, json = 0, rc = OTACTL_EXIT_FAIL, err;

	otactl_args_cmd_init(&a, argc, argv, "token list", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0)
		json = 1;
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (open_store(ctx, 0, &st) != 0)
		goto out;
	c = store_acquire(st);
	err = store_token_list(c, &toks, &n);
	store_release(st, c);
	if (err != 0) {
		otactl_err("cannot list tokens: %s", ota_strerror(err));
		goto out;
	}
	if ((json ? print_json(toks, n) : print_table(toks, n)) != 0) {
		otactl_err("out of memory");
		goto out;
	}
	rc = OTACTL_EXIT_OK;
out:
	if (toks != NULL)
		sodium_memzero(toks, n * sizeof(*toks));
	free(toks);
	store_close(st);
	return rc;
}

/* token revoke ID|NAME */
static int
token_revoke(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_opt opts[] = {{NULL, 0, 0}};
	struct store *st = NULL;
	struct store_conn *c;
	struct otactl_args a;
	const char *val, *which;
	int rc = OTACTL_EXIT_FAIL, err;

	/* No options of its own: one call scans the whole command line. */
	otactl_args_cmd_init(&a, argc, argv, "token revoke", "ID|NAME");
	if (otactl_args_cmd_next(&a, ctx, opts, &val) == OTACTL_ARG_EXIT)
		return a.status;
	which = a.pos;
	if (which == NULL)
		return otactl_usage_err("token revoke: usage: token revoke "
		                        "ID|NAME");
	if (open_store(ctx, 0, &st) != 0)
		goto out;
	c = store_acquire(st);
	err = store_token_revoke(c, which);
	store_release(st, c);
	if (err == OTA_ENOTFOUND)
		otactl_err("no active token with id or name '%s'", which);
	else if (err != 0)
		otactl_err("cannot revoke: %s", ota_strerror(err));
	if (err != 0)
		goto out;
	printf("revoked token %s\n", which);
	rc = OTACTL_EXIT_OK;
out:
	store_close(st);
	return rc;
}

int
otactl_token(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_opt opts[] = {{NULL, 0, 0}};
	struct otactl_args a;
	const char *sub = NULL;
	int id;

	/* Global options may precede the subcommand. */
	otactl_args_init(&a, argc, argv);
	id = otactl_args_next(&a, ctx, opts, &sub);
	if (id == OTACTL_ARG_HELP) {
		otactl_usage(stdout);
		return OTACTL_EXIT_OK;
	}
	if (id == OTACTL_ARG_BAD)
		return OTACTL_EXIT_USAGE;
	if (id != OTACTL_ARG_POS)
		return otactl_usage_err("token: want create, list or revoke");
	argc -= a.i;
	argv += a.i;
	if (strcmp(sub, "create") == 0)
		return token_create(ctx, argc, argv);
	if (strcmp(sub, "list") == 0)
		return token_list(ctx, argc, argv);
	if (strcmp(sub, "revoke") == 0)
		return token_revoke(ctx, argc, argv);
	return otactl_usage_err("token: unknown subcommand '%s'", sub);
}
