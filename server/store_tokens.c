/*
 * store_tokens: the api_tokens rows, and the one lookup of a presented
 * token over every credential table (API, device, gateway).  A token's
 * secret never reaches this file, only its hash.  At most one active token
 * per name (a partial unique index); revoked tokens stay for the audit
 * trail.  last_used_at is written at most once a minute so authentication
 * stays a read.
 */
#include "store_tokens.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "store_internal.h"
#include "timeutil.h"
#include "names.h"

#define TOKEN_TOUCH_INTERVAL_SEC 60

#define TOKEN_COLUMNS                                                          \
	"id, name, role, secret_hash, created_at, last_used_at, revoked_at"

static const char sql_insert[] =
    "INSERT INTO api_tokens (id, name, role, secret_hash, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING";
static const char sql_get[] =
    "SELECT " TOKEN_COLUMNS " FROM api_tokens WHERE id = ?1";
static const char sql_touch[] =
    "UPDATE api_tokens SET last_used_at = ?2"
    " WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)";
static const char sql_list[] =
    "SELECT " TOKEN_COLUMNS " FROM api_tokens ORDER BY created_at, name, id";
static const char sql_revoke_id[] = "UPDATE api_tokens SET revoked_at = ?2"
                                    " WHERE id = ?1 AND revoked_at IS NULL";
static const char sql_revoke_name[] = "UPDATE api_tokens SET revoked_at = ?2"
                                      " WHERE name = ?1 AND revoked_at IS NULL";
/* Token ids are random, so at most one branch matches; each is a primary
 * key lookup.  Columns: kind, subject, role, hash, revoked. */
static const char sql_credential_get[] =
    "SELECT 0, name, role, secret_hash, revoked_at IS NOT NULL"
    " FROM api_tokens WHERE id = ?1"
    " UNION ALL"
    " SELECT 1, device_id, 'device', secret_hash, revoked_at IS NOT NULL"
    " FROM device_tokens WHERE id = ?1"
    " UNION ALL"
    " SELECT 2, name, 'gateway', secret_hash, revoked_at IS NOT NULL"
    " FROM gateway_tokens WHERE id = ?1";
static const char sql_gateway_touch[] =
    "UPDATE gateway_tokens SET last_used_at = ?2"
    " WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)";

/* 1 when name is 1..STORE_TOKEN_NAME_MAX of [A-Za-z0-9._@-]. */
static int
token_name_valid(const char *name)
{
	return names_valid(name, STORE_TOKEN_NAME_MAX, NAMES_TOKEN_PUNCT);
}

static int
token_role_valid(const char *role)
{
	return strcmp(role, "admin") == 0 || strcmp(role, "release") == 0 ||
	       strcmp(role, "viewer") == 0;
}

/* Fills t from the current row of s (TOKEN_COLUMNS). */
static int
token_from_row(struct db_stmt *s, struct store_token *t)
{
	const void *hash;

	memset(t, 0, sizeof(*t));
	hash = db_column_blob(s, 3);
	if (store__column_text(s, 0, t->id, sizeof(t->id)) != 0 ||
	    store__column_text(s, 1, t->name, sizeof(t->name)) != 0 ||
	    store__column_text(s, 2, t->role, sizeof(t->role)) != 0 ||
	    hash == NULL || db_column_bytes(s, 3) != CRYPTO_HASH_LEN ||
	    store__column_text(s, 4, t->created_at, sizeof(t->created_at)) !=
	        0 ||
	    store__column_text(
	        s, 5, t->last_used_at, sizeof(t->last_used_at)) != 0 ||
	    store__column_text(s, 6, t->revoked_at, sizeof(t->revoked_at)) !=
	        0) {
		log_err("module=store op=token_load err=\"row out of "
		        "bounds\"");
		return OTA_EDB;
	}
	memcpy(t->hash, hash, CRYPTO_HASH_LEN);
	return 0;
}

int
store_token_insert(struct store_conn *c, const char *id,
    const unsigned char hash[CRYPTO_HASH_LEN], const char *name,
    const char *role)
{
	struct db_stmt *s = NULL;
	char now[21];
	size_t idlen = strlen(id);
	int rc, step;

	if (idlen < 1 || idlen >= CRYPTO_TOKEN_ID_LEN ||
	    !token_name_valid(name) || !token_role_valid(role)) {
		rc = OTA_EINVAL;
		goto out;
	}
	store_now_rfc3339(now);
	if ((rc = store__prepare(c, sql_insert, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, id) != 0 || db_bind_text(s, 2, name) != 0 ||
	    db_bind_text(s, 3, role) != 0 ||
	    db_bind_blob(s, 4, hash, CRYPTO_HASH_LEN) != 0 ||
	    db_bind_text(s, 5, now) != 0) {
		rc = store__dberr(c, "token_insert");
		goto out;
	}
	step = db_step(s);
	/* The id clash is skipped by the statement, so DB_EUNIQUE is only
	 * the partial index on active names; a clash of random ids (no row
	 * written) stays a database error. */
	if (step == DB_EUNIQUE) {
		rc = OTA_ECONFLICT;
		goto out;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "token_insert");
		goto out;
	}
	if (db_changes(store__db(c)) != 1) {
		log_err(
		    "module=store op=token_insert id=%s err=\"id exists\"", id);
		rc = OTA_EDB;
		goto out;
	}
	log_info("module=store op=token_insert id=%s name=%s role=%s", id, name,
	    role);
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_token_get(struct store_conn *c, const char *id, struct store_token *out)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_get, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, id) != 0) {
		rc = store__dberr(c, "token_get");
		goto out;
	}
	if ((rc = store__step_one(c, s, "token_get")) != 0)
		goto out;
	rc = token_from_row(s, out);
out:
	store__done(s);
	return rc;
}

/* Writes last_used_at = now for token id with statement sql
 * unless it was written less than TOKEN_TOUCH_INTERVAL_SEC ago. */
static int
token_touch(struct store_conn *c, const char *sql, const char *id)
{
	struct db_stmt *s = NULL;
	char now[21], cutoff[21];
	int rc;

	store_now_rfc3339(now);
	/* RFC 3339 UTC strings of one width compare like the times. */
	timeutil_format_rfc3339(
	    timeutil_now_sec() - TOKEN_TOUCH_INTERVAL_SEC, cutoff);
	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, id) != 0 || db_bind_text(s, 2, now) != 0 ||
	    db_bind_text(s, 3, cutoff) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "token_touch");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_token_touch(struct store_conn *c, const char *id)
{
	return token_touch(c, sql_touch, id);
}

int
store_gateway_touch(struct store_conn *c, const char *id)
{
	return token_touch(c, sql_gateway_touch, id);
}

/* A row of store_token_list (store__list). */
static int
token_list_row(struct db_stmt *s, void *elem, void *arg)
{
	(void)arg;
	return token_from_row(s, elem);
}

int
store_token_list(struct store_conn *c, struct store_token **out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if ((rc = store__prepare(c, sql_list, &s)) != 0)
		goto out;
	rc = store__list(c, s, sizeof(**out), 0, token_list_row, NULL, NULL,
	    out, out_n, "token_list");
out:
	store__done(s);
	return rc;
}

int
store_token_revoke(struct store_conn *c, const char *id_or_name)
{
	return store__revoke(
	    c, sql_revoke_id, sql_revoke_name, id_or_name, "token_revoke");
}

int
store_credential_get(
    struct store_conn *c, const char *id, struct store_credential *out)
{
	struct db_stmt *s = NULL;
	const void *hash;
	int rc, kind;

	memset(out, 0, sizeof(*out));
	if ((rc = store__prepare(c, sql_credential_get, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, id) != 0) {
		rc = store__dberr(c, "credential_get");
		goto out;
	}
	if ((rc = store__step_one(c, s, "credential_get")) != 0)
		goto out;
	kind = (int)db_column_int64(s, 0);
	hash = db_column_blob(s, 3);
	if (kind < STORE_CRED_API || kind > STORE_CRED_GATEWAY ||
	    store__column_text(s, 1, out->subject, sizeof(out->subject)) != 0 ||
	    store__column_text(s, 2, out->role, sizeof(out->role)) != 0 ||
	    hash == NULL || db_column_bytes(s, 3) != CRYPTO_HASH_LEN) {
		log_err("module=store op=credential_get err=\"row out of "
		        "bounds\"");
		rc = OTA_EDB;
		goto out;
	}
	out->kind = (enum store_credential_kind)kind;
	memcpy(out->hash, hash, CRYPTO_HASH_LEN);
	out->revoked = (int)db_column_int64(s, 4) != 0;
	rc = 0;
out:
	store__done(s);
	if (rc != 0)
		sodium_memzero(out, sizeof(*out));
	return rc;
}
