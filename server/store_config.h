/*
 * store_config: the one home of how the database settings of a
 * configuration become a store, so that otad and otactl open the same
 * one: database "sqlite" is <data_dir>/otad.db, an absolute path is that
 * SQLite file, anything else must be a PostgreSQL URI or conninfo, opened
 * with the password of database_password_file (read here, wiped when
 * released, never logged) and the TLS settings.
 */
#ifndef OTAD_STORE_CONFIG_H
#define OTAD_STORE_CONFIG_H

#include "config.h"
#include "store.h"

/* What store_config_resolve makes of a configuration: the arguments of
 * store_open_with (and of anything else that connects the same way). */
struct store_config_db {
	char target[4096];        /* a SQLite path or a PostgreSQL target */
	int postgres;             /* 1 when target is PostgreSQL */
	struct store_options opt; /* borrows from cfg and password */
	char *password;           /* sodium_malloc'd, or NULL */
};

/*
 * Fills *out from cfg (see the file comment).  Returns 0, OTA_EINVAL
 * (database is none of the three, or too long: logged) or OTA_EIO (the
 * password file is unreadable: logged without its content).  *out borrows
 * cfg's strings; release it with store_config_release, also after a
 * failure.  The target may hold a password: never print it.
 */
int store_config_resolve(
    const struct ota_config *cfg, struct store_config_db *out);

/* Wipes *db (the password and the target).  Safe to call twice. */
void store_config_release(struct store_config_db *db);

/*
 * Opens the store cfg names with nconns pooled connections (1..256):
 * store_config_resolve, then store_open_with.  Returns 0 and *out, or
 * what those return.
 */
int store_config_open(
    const struct ota_config *cfg, int nconns, struct store **out);

#endif
