/*
 * store_config: opens the store a configuration names (store_config.h).
 * Decides nothing about the data: it only turns settings into a target
 * and the options of store_open_with.
 */
#include "store_config.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "errors.h"
#include "log.h"

/* The longest password database_password_file may hold. */
#define STORE_CONFIG_PASSWORD_MAX 1024

/* Writes the target of cfg->database to out.  0 or OTA_EINVAL (logged). */
static int
store_config_target(const struct ota_config *cfg, struct store_config_db *out)
{
	const char *db = cfg->database;
	int n;

	if (strcmp(db, "sqlite") == 0) {
		n = snprintf(out->target, sizeof(out->target), "%s/otad.db",
		    cfg->data_dir);
	} else if (db[0] == '/' || store_target_is_postgres(db)) {
		out->postgres = db[0] != '/';
		n = snprintf(out->target, sizeof(out->target), "%s", db);
	} else {
		log_err("msg=\"database must be sqlite, the absolute path of "
		        "a SQLite file, a PostgreSQL URI (postgresql://...) or "
		        "a conninfo (host=... dbname=...)\"");
		return OTA_EINVAL;
	}
	if (n < 0 || (size_t)n >= sizeof(out->target)) {
		log_err("msg=\"database target too long\"");
		return OTA_EINVAL;
	}
	return 0;
}

int
store_config_resolve(const struct ota_config *cfg, struct store_config_db *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_config_target(cfg, out)) != 0 || !out->postgres)
		return rc;
	if (cfg->database_password_file[0] != '\0') {
		out->password = crypto_secret_read(cfg->database_password_file,
		    "database_password_file", STORE_CONFIG_PASSWORD_MAX);
		if (out->password == NULL)
			return OTA_EIO;
		out->opt.password = out->password;
	}
	if (cfg->database_sslmode[0] != '\0')
		out->opt.sslmode = cfg->database_sslmode;
	if (cfg->database_sslrootcert[0] != '\0')
		out->opt.sslrootcert = cfg->database_sslrootcert;
	return 0;
}

void
store_config_release(struct store_config_db *db)
{
	crypto_secret_free(db->password);
	sodium_memzero(db, sizeof(*db));
}

int
store_config_open(const struct ota_config *cfg, int nconns, struct store **out)
{
	struct store_config_db db;
	int rc;

	*out = NULL;
	rc = store_config_resolve(cfg, &db);
	if (rc == 0)
		rc = store_open_with(db.target, &db.opt, nconns, out);
	store_config_release(&db);
	return rc;
}
