/*
 * store_config: the one home of how the database settings of a
 * configuration become a store, so that otad and otactl open the same
 * one: database "sqlite" is <data_dir>/otad.db; anything else must be a
 * PostgreSQL URI or conninfo, opened with the password of
 * database_password_file (read here, wiped after use, never logged) and
 * the TLS settings.
 */
#ifndef OTAD_STORE_CONFIG_H
#define OTAD_STORE_CONFIG_H

#include <stddef.h>

#include "config.h"
#include "store.h"

/*
 * Writes the target cfg names to buf[size]: "<data_dir>/otad.db" for
 * "sqlite", else cfg->database (a PostgreSQL target, which may hold a
 * password: do not print it).  Sets *out_postgres (unless NULL) to 1 for
 * PostgreSQL.  Returns 0, or OTA_EINVAL (logged) when database is neither
 * or the target does not fit.
 */
int store_config_target(
    const struct ota_config *cfg, char *buf, size_t size, int *out_postgres);

/*
 * Opens the store cfg names (store_config_target) with nconns pooled
 * connections (1..256): SQLite as store_open; PostgreSQL with the
 * password file and TLS settings of cfg.  Returns 0 and *out, OTA_EINVAL
 * (bad target), OTA_EIO (password file unreadable, logged without its
 * content), or what store_open_with returns.
 */
int store_config_open(
    const struct ota_config *cfg, int nconns, struct store **out);

#endif
