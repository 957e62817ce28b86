/*
 * store_cluster: INSERT ... ON CONFLICT DO NOTHING, then a read, in one
 * write transaction: the first writer's key stays.
 */
#include "store_cluster.h"

#include <string.h>

#include "errors.h"
#include "store_internal.h"

static const char sql_key_insert[] =
    "INSERT INTO cluster_keys (name, public_key, recorded_at)"
    " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING";
static const char sql_key_get[] =
    "SELECT public_key FROM cluster_keys WHERE name = ?1";

/* Runs the insert of name's key when there is none. */
static int
key_insert(struct store_conn *c, const char *name, const char *hex)
{
	struct db_stmt *s = NULL;
	char now[21];
	int rc = 0;

	store_now_rfc3339(now);
	if ((rc = store__prepare(c, sql_key_insert, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, name) != 0 || db_bind_text(s, 2, hex) != 0 ||
	    db_bind_text(s, 3, now) != 0 || db_step(s) != DB_DONE)
		rc = store__dberr(c, "cluster_key_insert");
out:
	store__done(s);
	return rc;
}

/* Reads name's key into out_hex. */
static int
key_get(struct store_conn *c, const char *name,
    char out_hex[STORE_CLUSTER_KEY_HEX_MAX])
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_key_get, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, name) != 0) {
		rc = store__dberr(c, "cluster_key_get");
		goto out;
	}
	if ((rc = store__step_one(c, s, "cluster_key_get")) != 0)
		goto out;
	if (store__column_text(s, 0, out_hex, STORE_CLUSTER_KEY_HEX_MAX) != 0)
		rc = OTA_EDB;
out:
	store__done(s);
	return rc;
}

int
store_cluster_key_claim(struct store_conn *c, const char *name,
    const char *public_key_hex, char out_hex[STORE_CLUSTER_KEY_HEX_MAX])
{
	size_t len = public_key_hex != NULL ? strlen(public_key_hex) : 0;
	int rc, own;

	out_hex[0] = '\0';
	if (len == 0 || len >= STORE_CLUSTER_KEY_HEX_MAX || name == NULL)
		return OTA_EINVAL;
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own)) != 0)
		return rc;
	if ((rc = key_insert(c, name, public_key_hex)) == 0)
		rc = key_get(c, name, out_hex);
	return store__tx_end(c, own, rc);
}
