/*
 * store_bundles: the bundles and bundle_parts rows (store_bundles.h).  A
 * bundle is read back by parsing its stored descriptor: the bytes were
 * checked when they came in and are the only copy of the parts' rules.
 */
#include "store_bundles.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "store_internal.h"

#define BUNDLE_COLUMNS "id, descriptor, signatures, created_at, created_by"

static const char sql_find_image[] =
    "SELECT i.id, i.name, i.version FROM images i WHERE i.sha256 = ?1"
    " AND (CAST(?2 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM image_hardware h"
    " WHERE h.image_id = i.id AND h.hardware = ?2))"
    " ORDER BY i.id LIMIT 1";
static const char sql_same[] =
    "SELECT id, descriptor FROM bundles WHERE name = ?1 AND version = ?2";
static const char sql_insert[] =
    "INSERT INTO bundles (name, version, descriptor, signatures,"
    " created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
static const char sql_part_insert[] =
    "INSERT INTO bundle_parts (bundle_id, component, image_id)"
    " VALUES (?1, ?2, ?3)";
static const char sql_list[] =
    "SELECT " BUNDLE_COLUMNS " FROM bundles WHERE id > ?1"
    " AND (CAST(?2 AS TEXT) IS NULL OR name = ?2) ORDER BY id LIMIT ?3";
static const char sql_parts[] =
    "SELECT component, image_id FROM bundle_parts WHERE bundle_id = ?1";
static const char sql_delete[] =
    "DELETE FROM bundles WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM rollouts"
    " WHERE bundle_id = ?1 AND state IN ('draft', 'running', 'paused'))";
static const char sql_exists[] = "SELECT 1 FROM bundles WHERE id = ?1";

void
store_bundle_free(struct store_bundle *b)
{
	if (b == NULL)
		return;
	free(b->descriptor);
	free(b->signatures);
	free(b);
}

void
store_bundle_list_free(struct store_bundle **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		store_bundle_free(v[i]);
	free(v);
}

int
store_bundle_find_image(struct store_conn *c, const char *sha256_hex,
    const char *hardware, struct store_bundle_image *out)
{
	struct db_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store__prepare(c, sql_find_image, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, sha256_hex) != 0 ||
	    db_bind_text(s, 2, hardware) != 0) {
		rc = store__dberr(c, "bundle_find_image");
		goto out;
	}
	if ((rc = store__step_one(c, s, "bundle_find_image")) != 0)
		goto out;
	out->id = db_column_int64(s, 0);
	if (store__column_text(s, 1, out->name, sizeof(out->name)) != 0 ||
	    store__column_text(s, 2, out->version, sizeof(out->version)) != 0)
		rc = store__dberr(c, "bundle_find_image");
out:
	store__done(s);
	return rc;
}

/* The bundle of d's name and version, if any: *out_id, and *out_same 1
 * when its bytes are desc[0..len). */
static int
bundle_find_same(struct store_conn *c, const struct bundle_descriptor *d,
    const unsigned char *desc, size_t len, int64_t *out_id, int *out_same)
{
	struct db_stmt *s = NULL;
	int rc;

	*out_id = 0;
	*out_same = 0;
	if ((rc = store__prepare(c, sql_same, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, d->name) != 0 ||
	    db_bind_text(s, 2, d->version) != 0) {
		rc = store__dberr(c, "bundle_insert");
		goto out;
	}
	rc = store__step_one(c, s, "bundle_insert");
	if (rc == OTA_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	*out_id = db_column_int64(s, 0);
	*out_same = db_column_bytes(s, 1) == len &&
	            memcmp(db_column_blob(s, 1), desc, len) == 0;
out:
	store__done(s);
	return rc;
}

/* Inserts the bundles row: *out_id. */
static int
bundle_row_insert(struct store_conn *c, const struct bundle_descriptor *d,
    const unsigned char *desc, size_t len, const char *sigs,
    const char *created_by, int64_t *out_id)
{
	struct db_stmt *s = NULL;
	char now[21];
	int rc;

	store_now_rfc3339(now);
	if ((rc = store__prepare(c, sql_insert, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, d->name) != 0 ||
	    db_bind_text(s, 2, d->version) != 0 ||
	    db_bind_blob(s, 3, desc, len) != 0 ||
	    db_bind_text(s, 4, sigs) != 0 || db_bind_text(s, 5, now) != 0 ||
	    db_bind_text(s, 6, created_by) != 0 || db_step(s) != DB_ROW) {
		rc = store__dberr(c, "bundle_insert");
		goto out;
	}
	*out_id = db_column_int64(s, 0);
out:
	store__done(s);
	return rc;
}

/* Inserts the bundle_parts rows of bundle id. */
static int
bundle_parts_insert(struct store_conn *c, int64_t id,
    const struct bundle_descriptor *d, const int64_t *image_ids)
{
	struct db_stmt *s = NULL;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < d->part_count; i++) {
		if ((rc = store__prepare(c, sql_part_insert, &s)) != 0)
			break;
		if (db_bind_int64(s, 1, id) != 0 ||
		    db_bind_text(s, 2, d->parts[i].component) != 0 ||
		    db_bind_int64(s, 3, image_ids[i]) != 0 ||
		    db_step(s) != DB_DONE)
			rc = store__dberr(c, "bundle_insert");
		store__done(s);
	}
	return rc;
}

int
store_bundle_insert(struct store_conn *c, const struct bundle_descriptor *d,
    const int64_t *image_ids, const unsigned char *descriptor,
    size_t descriptor_len, const char *signatures_json, const char *created_by,
    int64_t *out_id, int *out_existed)
{
	int64_t id = 0;
	int rc, own = 0, same = 0;

	*out_id = 0;
	*out_existed = 0;
	if (created_by == NULL ||
	    strlen(created_by) >=
	        sizeof(((struct store_bundle *)0)->created_by))
		return OTA_EINVAL;
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own)) != 0)
		return rc;
	rc = bundle_find_same(c, d, descriptor, descriptor_len, &id, &same);
	if (rc == 0 && id > 0 && !same)
		rc = OTA_ECONFLICT;
	if (rc == 0 && id == 0) {
		rc = bundle_row_insert(c, d, descriptor, descriptor_len,
		    signatures_json, created_by, &id);
		if (rc == 0)
			rc = bundle_parts_insert(c, id, d, image_ids);
	}
	rc = store__tx_end(c, own, rc);
	if (rc == 0) {
		*out_id = id;
		*out_existed = same;
	}
	return rc;
}

/* A row of BUNDLE_COLUMNS into a new bundle (descriptor parsed). */
static int
bundle_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_bundle **out = elem, *b;
	size_t len = db_column_bytes(s, 1);
	const char *sigs = db_column_text(s, 2);
	char err[160];

	(void)arg;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return OTA_ENOMEM;
	*out = b;
	b->id = db_column_int64(s, 0);
	b->descriptor = malloc(len > 0 ? len : 1);
	b->signatures = strdup(sigs != NULL ? sigs : "[]");
	if (b->descriptor == NULL || b->signatures == NULL)
		return OTA_ENOMEM;
	if (len > 0)
		memcpy(b->descriptor, db_column_blob(s, 1), len);
	b->descriptor_len = len;
	if (store__column_text(s, 3, b->created_at, sizeof(b->created_at)) !=
	        0 ||
	    store__column_text(s, 4, b->created_by, sizeof(b->created_by)) !=
	        0 ||
	    bundle_parse(b->descriptor, len, &b->desc, err, sizeof(err)) != 0) {
		log_err("module=store op=bundle_load id=%lld err=\"row out of "
		        "bounds or descriptor unreadable\"",
		    (long long)b->id);
		return OTA_EDB;
	}
	return 0;
}

static void
bundle_row_free(void *elem)
{
	store_bundle_free(*(struct store_bundle **)elem);
}

/* Fills b->image_ids from its bundle_parts rows. */
static int
bundle_load_parts(struct store_conn *c, struct store_bundle *b)
{
	struct db_stmt *s = NULL;
	int rc, step;

	if ((rc = store__prepare(c, sql_parts, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, b->id) != 0) {
		rc = store__dberr(c, "bundle_parts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		const char *comp = db_column_text(s, 0);

		for (size_t i = 0; comp != NULL && i < b->desc.part_count; i++)
			if (strcmp(b->desc.parts[i].component, comp) == 0)
				b->image_ids[i] = db_column_int64(s, 1);
	}
	if (step != DB_DONE)
		rc = store__dberr(c, "bundle_parts");
out:
	store__done(s);
	return rc;
}

int
store_bundle_get(struct store_conn *c, int64_t id, struct store_bundle **out)
{
	struct store_bundle **v = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = store_bundle_list(c, NULL, id - 1, 1, &v, &n)) != 0)
		return rc;
	if (n == 0 || v[0]->id != id) {
		store_bundle_list_free(v, n);
		return OTA_ENOTFOUND;
	}
	*out = v[0];
	free(v);
	return 0;
}

int
store_bundle_list(struct store_conn *c, const char *name, int64_t after_id,
    int limit, struct store_bundle ***out, size_t *out_n)
{
	struct store_bundle **v = NULL;
	struct db_stmt *s = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (limit < 1 || limit > 1000)
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_list, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, after_id) != 0 ||
	    db_bind_text(s, 2, name) != 0 || db_bind_int64(s, 3, limit) != 0) {
		rc = store__dberr(c, "bundle_list");
		goto out;
	}
	if ((rc = store__list(c, s, sizeof(*v), (size_t)limit, bundle_row, NULL,
	         bundle_row_free, &v, &n, "bundle_list")) != 0)
		goto out;
	store__done(s);
	s = NULL;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = bundle_load_parts(c, v[i]);
	if (rc != 0)
		goto out;
	*out = v;
	*out_n = n;
	v = NULL;
	n = 0;
out:
	store__done(s);
	store_bundle_list_free(v, n);
	return rc;
}

/* After a delete that changed nothing: OTA_ECONFLICT when bundle id
 * exists (an unfinished rollout ships it), else OTA_ENOTFOUND. */
static int
bundle_delete_why(struct store_conn *c, int64_t id)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_exists, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, id) != 0)
		rc = store__dberr(c, "bundle_delete");
	else
		rc = store__step_one(c, s, "bundle_delete");
	store__done(s);
	return rc == 0 ? OTA_ECONFLICT : rc;
}

int
store_bundle_delete(struct store_conn *c, int64_t id)
{
	struct db_stmt *s = NULL;
	int rc, step;

	if ((rc = store__prepare(c, sql_delete, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, id) != 0) {
		rc = store__dberr(c, "bundle_delete");
		goto out;
	}
	step = db_step(s);
	if (step == DB_EFOREIGN || step == DB_ECHECK)
		rc = OTA_ECONFLICT;
	else if (step != DB_DONE)
		rc = store__dberr(c, "bundle_delete");
	else if (db_changes(store__db(c)) == 0)
		rc = OTA_ENOTFOUND;
out:
	store__done(s);
	if (rc == OTA_ENOTFOUND)
		rc = bundle_delete_why(c, id);
	if (rc == 0)
		log_info(
		    "module=store op=bundle_delete id=%lld", (long long)id);
	return rc;
}
