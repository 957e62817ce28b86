/*
 * store_groups: the device_groups, group_members, gateway_tokens and
 * gateway_token_groups rows.  Membership changes and gateway creation are
 * one transaction each: an unknown name leaves nothing changed.  A group
 * that a live rollout (draft, running, paused) targets cannot be deleted,
 * so a rollout never loses its audience while it can still deliver.
 */
#include "store_groups.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "store_internal.h"
#include "names.h"
#include "store_notify.h"

#define GROUP_COLUMNS                                                          \
	"g.id, g.name, g.description, g.created_at,"                           \
	" (SELECT count(*) FROM group_members m WHERE m.group_id = g.id),"     \
	" g.maintenance_windows"

static const char sql_insert[] =
    "INSERT INTO device_groups (name, description, created_at)"
    " VALUES (?1, ?2, ?3) RETURNING id";
static const char sql_get[] =
    "SELECT " GROUP_COLUMNS " FROM device_groups g WHERE g.name = ?1";
static const char sql_list[] =
    "SELECT " GROUP_COLUMNS " FROM device_groups g ORDER BY g.name";
static const char sql_in_use[] =
    "SELECT 1 FROM rollout_groups rg JOIN rollouts r ON r.id = rg.rollout_id"
    " WHERE rg.group_id = ?1 AND r.state IN ('draft', 'running', 'paused')"
    " LIMIT 1";
static const char sql_delete[] = "DELETE FROM device_groups WHERE id = ?1";
static const char sql_set_windows[] =
    "UPDATE device_groups SET maintenance_windows = ?2 WHERE name = ?1";
static const char sql_windows[] =
    "SELECT id, maintenance_windows FROM device_groups"
    " WHERE maintenance_windows <> '' ORDER BY id";
static const char sql_member_add[] =
    "INSERT INTO group_members (group_id, device_id)"
    " SELECT ?1, id FROM devices WHERE id = ?2 ON CONFLICT DO NOTHING";
static const char sql_member_remove[] =
    "DELETE FROM group_members WHERE group_id = ?1 AND device_id = ?2";
static const char sql_gateway_insert[] =
    "INSERT INTO gateway_tokens (id, name, secret_hash, created_at)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING";
static const char sql_gateway_group_add[] =
    "INSERT INTO gateway_token_groups (token_id, group_id)"
    " VALUES (?1, ?2) ON CONFLICT DO NOTHING";
static const char sql_gateway_list[] =
    "SELECT id, name, created_at, last_used_at, revoked_at"
    " FROM gateway_tokens ORDER BY created_at, id";
static const char sql_gateway_groups[] =
    "SELECT g.name FROM gateway_token_groups t"
    " JOIN device_groups g ON g.id = t.group_id"
    " WHERE t.token_id = ?1 ORDER BY g.name";
static const char sql_gateway_revoke_id[] =
    "UPDATE gateway_tokens SET revoked_at = ?2"
    " WHERE id = ?1 AND revoked_at IS NULL";
static const char sql_gateway_revoke_name[] =
    "UPDATE gateway_tokens SET revoked_at = ?2"
    " WHERE name = ?1 AND revoked_at IS NULL";
/* Both primary keys: the token's groups, then (group, device). */
static const char sql_gateway_covers[] =
    "SELECT 1 FROM gateway_token_groups t"
    " JOIN group_members m ON m.group_id = t.group_id"
    " WHERE t.token_id = ?1 AND m.device_id = ?2 LIMIT 1";

int
store_group_name_valid(const char *name)
{
	return names_valid(name, STORE_GROUP_NAME_MAX, NAMES_GROUP_PUNCT);
}

/* Copies src into dst[cap] (cut short if need be) when dst is not NULL. */
static void
copy_name(char *dst, size_t cap, const char *src)
{
	size_t len;

	if (dst == NULL)
		return;
	len = strnlen(src, cap - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int
store_group_create(struct store_conn *c, const char *name,
    const char *description, int64_t *out_id)
{
	struct db_stmt *s = NULL;
	char now[21];
	int rc, step;

	if (!store_group_name_valid(name) ||
	    (description != NULL && strlen(description) > STORE_GROUP_DESC_MAX))
		return OTA_EINVAL;
	store_now_rfc3339(now);
	if ((rc = store__prepare(c, sql_insert, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, name) != 0 ||
	    db_bind_text(s, 2, description != NULL ? description : "") != 0 ||
	    db_bind_text(s, 3, now) != 0) {
		rc = store__dberr(c, "group_create");
		goto out;
	}
	step = db_step(s);
	if (step == DB_EUNIQUE) {
		rc = OTA_ECONFLICT;
		goto out;
	}
	/* RETURNING id: the row, then the end of the statement. */
	if (step != DB_ROW) {
		rc = store__dberr(c, "group_create");
		goto out;
	}
	if (out_id != NULL)
		*out_id = db_column_int64(s, 0);
	if (db_step(s) != DB_DONE) {
		rc = store__dberr(c, "group_create");
		goto out;
	}
	log_info("module=store op=group_create name=%s", name);
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Fills g from the current row of s (GROUP_COLUMNS). */
static int
group_from_row(struct db_stmt *s, struct store_group *g)
{
	memset(g, 0, sizeof(*g));
	g->id = db_column_int64(s, 0);
	if (store__column_text(s, 1, g->name, sizeof(g->name)) != 0 ||
	    store__column_text(s, 2, g->description, sizeof(g->description)) !=
	        0 ||
	    store__column_text(s, 3, g->created_at, sizeof(g->created_at)) !=
	        0) {
		log_err("module=store op=group_load err=\"row out of bounds\"");
		return OTA_EDB;
	}
	g->member_count = db_column_int64(s, 4);
	if (store__column_text(s, 5, g->windows, sizeof(g->windows)) != 0) {
		log_err("module=store op=group_load err=\"windows out of "
		        "bounds\"");
		return OTA_EDB;
	}
	return 0;
}

int
store_group_set_windows(
    struct store_conn *c, const char *name, const char *windows)
{
	struct db_stmt *s = NULL;
	int rc, in_tx = 0;

	if (windows == NULL || strlen(windows) >= MWINDOW_TEXT_MAX)
		return OTA_EINVAL;
	if ((rc = store_begin(c)) != 0)
		return rc;
	in_tx = 1;
	if ((rc = store__prepare(c, sql_set_windows, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, name) != 0 || db_bind_text(s, 2, windows) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "group_set_windows");
		goto out;
	}
	if (db_changes(store__db(c)) == 0) {
		rc = OTA_ENOTFOUND;
		goto out;
	}
	/* Every node's offer snapshot holds the groups' windows. */
	if ((rc = store_notify_rollouts(c)) != 0)
		goto out;
	rc = store_commit(c);
	in_tx = 0;
out:
	store__done(s);
	if (in_tx)
		store_rollback(c);
	return rc;
}

/* A row of store_group_windows (store__list). */
static int
group_windows_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_group_windows *g = elem;

	(void)arg;
	g->id = db_column_int64(s, 0);
	if (store__column_text(s, 1, g->windows, sizeof(g->windows)) != 0) {
		log_err("module=store op=group_windows err=\"row out of "
		        "bounds\"");
		return OTA_EDB;
	}
	return 0;
}

int
store_group_windows(
    struct store_conn *c, struct store_group_windows **out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if ((rc = store__prepare(c, sql_windows, &s)) != 0)
		goto out;
	rc = store__list(c, s, sizeof(**out), 0, group_windows_row, NULL, NULL,
	    out, out_n, "group_windows");
out:
	store__done(s);
	return rc;
}

int
store_group_get(struct store_conn *c, const char *name, struct store_group *out)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_get, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, name) != 0) {
		rc = store__dberr(c, "group_get");
		goto out;
	}
	if ((rc = store__step_one(c, s, "group_get")) != 0)
		goto out;
	rc = group_from_row(s, out);
out:
	store__done(s);
	return rc;
}

/* A row of store_group_list (store__list). */
static int
group_list_row(struct db_stmt *s, void *elem, void *arg)
{
	(void)arg;
	return group_from_row(s, elem);
}

int
store_group_list(struct store_conn *c, struct store_group **out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if ((rc = store__prepare(c, sql_list, &s)) != 0)
		goto out;
	rc = store__list(c, s, sizeof(**out), 0, group_list_row, NULL, NULL,
	    out, out_n, "group_list");
out:
	store__done(s);
	return rc;
}

int
store_group_delete(struct store_conn *c, const char *name)
{
	struct db_stmt *s = NULL;
	int64_t gid;
	int rc;

	if ((rc = store_begin(c)) != 0)
		return rc;
	if ((rc = store__group_id(c, name, &gid, "group_delete")) != 0)
		goto out;
	if ((rc = store__prepare(c, sql_in_use, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, gid) != 0) {
		rc = store__dberr(c, "group_delete");
		goto out;
	}
	rc = store__step_one(c, s, "group_delete");
	if (rc == 0) {
		rc = OTA_ECONFLICT;
		goto out;
	}
	if (rc != OTA_ENOTFOUND)
		goto out;
	store__done(s);
	s = NULL;
	/* Memberships and gateway scopes go by ON DELETE CASCADE. */
	if ((rc = store__prepare(c, sql_delete, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, gid) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "group_delete");
		goto out;
	}
	store__done(s);
	s = NULL;
	/* Every member's groups changed: not listed, so all devices. */
	if ((rc = store_devices_changed(c, NULL)) == 0)
		rc = store_commit(c);
out:
	store__done(s);
	if (rc != 0)
		store_rollback(c);
	else
		log_info("module=store op=group_delete name=%s", name);
	return rc;
}

/* Runs the (group id, device id) write sql for id; *out_changed += rows
 * changed. */
static int
member_write(struct store_conn *c, const char *sql, int64_t gid, const char *id,
    int64_t *out_changed)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, gid) != 0 || db_bind_text(s, 2, id) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "group_members");
		goto out;
	}
	if (db_changes(store__db(c)) > 0) {
		*out_changed += db_changes(store__db(c));
		rc = store_devices_changed(c, id);
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_group_members_change(struct store_conn *c, const char *group,
    const char *const *add, size_t nadd, const char *const *remove,
    size_t nremove, char missing[STORE_DEVICE_ID_MAX + 1], int64_t *out_added,
    int64_t *out_removed)
{
	int64_t gid, added = 0, removed = 0, before;
	int rc;

	if (missing != NULL)
		missing[0] = '\0';
	*out_added = 0;
	*out_removed = 0;
	if (nadd > STORE_DEVICE_BATCH_MAX || nremove > STORE_DEVICE_BATCH_MAX)
		return OTA_EINVAL;
	if ((rc = store_begin(c)) != 0)
		return rc;
	rc = store__group_id(c, group, &gid, "group_members");
	if (rc == OTA_ENOTFOUND)
		copy_name(missing, STORE_DEVICE_ID_MAX + 1, group);
	if (rc != 0)
		goto out;
	/* Adds first, then removes: an id in both lists ends up out. */
	for (size_t i = 0; i < nadd; i++) {
		before = added;
		if ((rc = member_write(
		         c, sql_member_add, gid, add[i], &added)) != 0)
			goto out;
		if (added > before)
			continue;
		/* Nothing inserted: already a member, or no such device. */
		rc = store__device_exists(c, add[i], "group_members");
		if (rc == OTA_ENOTFOUND)
			copy_name(missing, STORE_DEVICE_ID_MAX + 1, add[i]);
		if (rc != 0)
			goto out;
	}
	for (size_t i = 0; i < nremove; i++)
		if ((rc = member_write(
		         c, sql_member_remove, gid, remove[i], &removed)) != 0)
			goto out;
	rc = store_commit(c);
out:
	if (rc != 0) {
		store_rollback(c);
		return rc;
	}
	*out_added = added;
	*out_removed = removed;
	log_info("module=store op=group_members group=%s added=%lld "
	         "removed=%lld",
	    group, (long long)added, (long long)removed);
	return 0;
}

void
store_gateway_list_free(struct store_gateway *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].group_count; j++)
			free(v[i].groups[j]);
		free(v[i].groups);
	}
	free(v);
}

int
store_gateway_create(struct store_conn *c, const char *token_id,
    const unsigned char hash[CRYPTO_HASH_LEN], const char *name,
    const char *const *groups, size_t ngroups,
    char missing[STORE_GROUP_NAME_MAX + 1])
{
	struct db_stmt *s = NULL;
	char now[21];
	int64_t gid;
	size_t idlen = strnlen(token_id, CRYPTO_TOKEN_ID_LEN);
	int rc, step;

	if (missing != NULL)
		missing[0] = '\0';
	if (idlen < 1 || idlen >= CRYPTO_TOKEN_ID_LEN ||
	    !store_group_name_valid(name) || ngroups < 1 ||
	    ngroups > STORE_GATEWAY_GROUPS_MAX)
		return OTA_EINVAL;
	store_now_rfc3339(now);
	if ((rc = store_begin(c)) != 0)
		return rc;
	if ((rc = store__prepare(c, sql_gateway_insert, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, token_id) != 0 ||
	    db_bind_text(s, 2, name) != 0 ||
	    db_bind_blob(s, 3, hash, CRYPTO_HASH_LEN) != 0 ||
	    db_bind_text(s, 4, now) != 0) {
		rc = store__dberr(c, "gateway_create");
		goto out;
	}
	step = db_step(s);
	/* The id clash is skipped by the statement, so DB_EUNIQUE is only
	 * the partial index on active names; an id clash (no row written)
	 * stays a database error. */
	if (step == DB_EUNIQUE) {
		rc = OTA_ECONFLICT;
		goto out;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "gateway_create");
		goto out;
	}
	if (db_changes(store__db(c)) != 1) {
		log_err("module=store op=gateway_create err=\"id exists\"");
		rc = OTA_EDB;
		goto out;
	}
	store__done(s);
	s = NULL;
	for (size_t i = 0; i < ngroups; i++) {
		rc = store__group_id(c, groups[i], &gid, "gateway_create");
		if (rc == OTA_ENOTFOUND)
			copy_name(missing, STORE_GROUP_NAME_MAX + 1, groups[i]);
		if (rc != 0)
			goto out;
		if ((rc = store__prepare(c, sql_gateway_group_add, &s)) != 0)
			goto out;
		if (db_bind_text(s, 1, token_id) != 0 ||
		    db_bind_int64(s, 2, gid) != 0 || db_step(s) != DB_DONE) {
			rc = store__dberr(c, "gateway_create");
			goto out;
		}
		store__done(s);
		s = NULL;
	}
	rc = store_commit(c);
out:
	store__done(s);
	if (rc != 0)
		store_rollback(c);
	else
		log_info("module=store op=gateway_create id=%s name=%s "
		         "groups=%zu",
		    token_id, name, ngroups);
	return rc;
}

/* A row of store_gateway_list (store__list), without its groups. */
static int
gateway_list_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_gateway *g = elem;

	(void)arg;
	if (store__column_text(s, 0, g->id, sizeof(g->id)) != 0 ||
	    store__column_text(s, 1, g->name, sizeof(g->name)) != 0 ||
	    store__column_text(s, 2, g->created_at, sizeof(g->created_at)) !=
	        0 ||
	    store__column_text(
	        s, 3, g->last_used_at, sizeof(g->last_used_at)) != 0 ||
	    store__column_text(s, 4, g->revoked_at, sizeof(g->revoked_at)) !=
	        0) {
		log_err("module=store op=gateway_list err=\"row out of "
		        "bounds\"");
		return OTA_EDB;
	}
	return 0;
}

int
store_gateway_list(
    struct store_conn *c, struct store_gateway **out, size_t *out_n)
{
	struct store_gateway *v = NULL;
	struct db_stmt *s = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*out_n = 0;
	if ((rc = store__prepare(c, sql_gateway_list, &s)) != 0)
		goto out;
	if ((rc = store__list(c, s, sizeof(*v), 0, gateway_list_row, NULL, NULL,
	         &v, &n, "gateway_list")) != 0)
		goto out;
	store__done(s);
	s = NULL;
	for (size_t i = 0; i < n; i++)
		if ((rc = store__text_list(c, sql_gateway_groups, v[i].id,
		         &v[i].groups, &v[i].group_count, "gateway_groups")) !=
		    0)
			goto out;
	*out = v;
	*out_n = n;
	v = NULL;
	rc = 0;
out:
	store__done(s);
	store_gateway_list_free(v, n);
	return rc;
}

int
store_gateway_revoke(
    struct store_conn *c, enum store_gateway_key by, const char *key)
{
	if (by == STORE_GATEWAY_BY_ID)
		return store__revoke_one(
		    c, sql_gateway_revoke_id, key, "gateway_revoke");
	return store__revoke_one(
	    c, sql_gateway_revoke_name, key, "gateway_revoke");
}

int
store_gateway_covers(
    struct store_conn *c, const char *token_id, const char *device_id)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_gateway_covers, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, token_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0) {
		rc = store__dberr(c, "gateway_covers");
		goto out;
	}
	rc = store__step_one(c, s, "gateway_covers");
	if (rc == 0)
		rc = 1;
	else if (rc == OTA_ENOTFOUND)
		rc = 0;
out:
	store__done(s);
	return rc;
}
