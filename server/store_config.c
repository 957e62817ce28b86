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

int
store_config_target(
    const struct ota_config *cfg, char *buf, size_t size, int *out_postgres)
{
	int pg = 0, n;

	if (strcmp(cfg->database, "sqlite") == 0) {
		n = snprintf(buf, size, "%s/otad.db", cfg->data_dir);
	} else if (store_target_is_postgres(cfg->database)) {
		pg = 1;
		n = snprintf(buf, size, "%s", cfg->database);
	} else {
		log_err("msg=\"database must be sqlite, a PostgreSQL URI "
		        "(postgresql://...) or a conninfo (host=... "
		        "dbname=...)\"");
		return OTA_EINVAL;
	}
	if (n < 0 || (size_t)n >= size) {
		log_err("msg=\"database path too long\"");
		return OTA_EINVAL;
	}
	if (out_postgres != NULL)
		*out_postgres = pg;
	return 0;
}

int
store_config_open(const struct ota_config *cfg, int nconns, struct store **out)
{
	struct store_options opt = {0};
	char target[4096];
	char *pw = NULL;
	int pg, rc;

	*out = NULL;
	if ((rc = store_config_target(cfg, target, sizeof(target), &pg)) != 0)
		goto out;
	if (pg && cfg->database_password_file[0] != '\0') {
		pw = crypto_secret_read(cfg->database_password_file,
		    "database_password_file", STORE_CONFIG_PASSWORD_MAX);
		if (pw == NULL) {
			rc = OTA_EIO;
			goto out;
		}
		opt.password = pw;
	}
	if (pg && cfg->database_sslmode[0] != '\0')
		opt.sslmode = cfg->database_sslmode;
	if (pg && cfg->database_sslrootcert[0] != '\0')
		opt.sslrootcert = cfg->database_sslrootcert;
	rc = store_open_with(target, &opt, nconns, out);
out:
	crypto_secret_free(pw);
	/* A conninfo may hold a password: the buffer is wiped, not logged. */
	sodium_memzero(target, sizeof(target));
	return rc;
}
