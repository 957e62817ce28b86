/*
 * store_images: the images and image_hardware rows.  Two images of one
 * name never share a SemVer precedence ("1.0.0+a" and "1.0.0+b" clash):
 * the UNIQUE (name, version) index compares bytes, so insert looks for an
 * equal version_key (store__version_key: byte order is precedence) inside
 * its write transaction, which serialises writers.  Blob files are
 * blob.c's business, not this file's; image_chunks rows (the bytes in the
 * database) are written once, with their images row, and never changed.
 */
#include "store_images.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "store_internal.h"

/* What a read needs; the other columns are derived from the descriptor
 * bytes at insert and exist only to be searched. */
#define IMAGE_COLUMNS                                                          \
	"id, sha256, descriptor, signatures, created_at, created_by, sha1, "   \
	"md5, embedded"

static const char sql_find_same[] = "SELECT id, descriptor FROM images"
                                    " WHERE name = ?1 AND version_key = ?2";
static const char sql_insert[] =
    "INSERT INTO images (name, version, sha256, size, min_version,"
    " security_counter, filename, descriptor, signatures, created_at,"
    " created_by, sha1, md5, version_key)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    " RETURNING id";
static const char sql_hw_insert[] =
    "INSERT INTO image_hardware (hardware, image_id) VALUES (?1, ?2)";
static const char sql_get[] =
    "SELECT " IMAGE_COLUMNS " FROM images WHERE id = ?1";
static const char sql_list[] =
    "SELECT " IMAGE_COLUMNS " FROM images"
    " WHERE (?1 IS NULL OR name = ?1)"
    " AND (?2 IS NULL OR id IN"
    "  (SELECT image_id FROM image_hardware WHERE hardware = ?2))"
    " AND (?3 IS NULL OR version_key >= ?3)"
    " AND (?4 IS NULL OR version_key <= ?4)"
    " AND id > ?5 ORDER BY id LIMIT ?6";
static const char sql_sha[] = "SELECT sha256 FROM images WHERE id = ?1";
static const char sql_delete[] = "DELETE FROM images WHERE id = ?1";
/* Reads rollouts: the delete guard. */
static const char sql_rollout_user[] =
    "SELECT id, state FROM rollouts WHERE image_id = ?1"
    " AND state IN ('draft', 'running', 'paused') ORDER BY id LIMIT 1";
static const char sql_blob_referenced[] =
    "SELECT EXISTS (SELECT 1 FROM images WHERE sha256 = ?1)";
static const char sql_digests_missing[] =
    "SELECT id, sha256 FROM images WHERE sha1 IS NULL AND id > ?1"
    " ORDER BY id LIMIT ?2";
static const char sql_embedded_set[] =
    "UPDATE images SET embedded = ?2 WHERE id = ?1 AND embedded IS NULL";
static const char sql_digests_set[] =
    "UPDATE images SET sha1 = ?2, md5 = ?3 WHERE id = ?1 AND sha1 IS NULL";
static const char sql_chunk_insert[] =
    "INSERT INTO image_chunks (image_id, seq, data) VALUES (?1, ?2, ?3)";
static const char sql_chunks_stat[] =
    "SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM image_chunks"
    " WHERE image_id = ?1";
static const char sql_chunk_get[] =
    "SELECT data FROM image_chunks WHERE image_id = ?1 AND seq = ?2";

/* Column indexes of IMAGE_COLUMNS. */
enum {
	COL_ID,
	COL_SHA256,
	COL_DESCRIPTOR,
	COL_SIGNATURES,
	COL_CREATED_AT,
	COL_CREATED_BY,
	COL_SHA1,
	COL_MD5,
	COL_EMBEDDED
};

void
store_image_free(struct store_image *img)
{
	if (img == NULL)
		return;
	free(img->descriptor);
	free(img->signatures);
	free(img->embedded);
	free(img);
}

void
store_image_list_free(struct store_image **imgs, size_t n)
{
	if (imgs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_image_free(imgs[i]);
	free(imgs);
}

/* 1 when s is exactly len lowercase hex digits. */
static int
lower_hex(const char *s, size_t len)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == len;
}

/*
 * Builds a new image from the current row of s (IMAGE_COLUMNS).  The
 * descriptor fields come from parsing the stored signed bytes, the one
 * source of truth (the name, version, sha256 and hardware columns exist to
 * be searched); a row whose bytes no longer parse, or disagree with its
 * columns, is reported as a database error.
 */
static int
image_from_row(struct db_stmt *s, struct store_image **out)
{
	struct store_image *img = NULL;
	const char *sigs, *sha;
	char why[200];
	int rc = OTA_ENOMEM, len;

	*out = NULL;
	if ((img = calloc(1, sizeof(*img))) == NULL)
		goto out;
	img->id = db_column_int64(s, COL_ID);
	len = db_column_bytes(s, COL_DESCRIPTOR);
	/* One spare byte so that an empty blob is still a valid pointer. */
	if ((img->descriptor = malloc((size_t)len + 1)) == NULL)
		goto out;
	if (len > 0)
		memcpy(img->descriptor, db_column_blob(s, COL_DESCRIPTOR),
		    (size_t)len);
	img->descriptor_len = (size_t)len;
	sigs = db_column_text(s, COL_SIGNATURES);
	len = db_column_bytes(s, COL_SIGNATURES);
	if ((img->signatures = malloc((size_t)len + 1)) == NULL)
		goto out;
	if (len > 0)
		memcpy(img->signatures, sigs, (size_t)len);
	img->signatures[len] = '\0';
	if (db_column_text(s, COL_EMBEDDED) != NULL &&
	    (img->embedded = strdup(
	         (const char *)db_column_text(s, COL_EMBEDDED))) == NULL)
		goto out;

	rc = OTA_EDB;
	sha = db_column_text(s, COL_SHA256);
	if (descriptor_parse(img->descriptor, img->descriptor_len, &img->desc,
	        why, sizeof(why)) != 0) {
		log_err("module=store op=image_load id=%lld err=\"stored "
		        "descriptor does not parse: %s\"",
		    (long long)img->id, why);
		goto out;
	}
	if (sha == NULL || strcmp((const char *)sha, img->desc.sha256_hex) ||
	    store__column_text(s, COL_CREATED_AT, img->created_at,
	        sizeof(img->created_at)) != 0 ||
	    store__column_text(s, COL_CREATED_BY, img->created_by,
	        sizeof(img->created_by)) != 0 ||
	    store__column_text(
	        s, COL_SHA1, img->sha1_hex, sizeof(img->sha1_hex)) != 0 ||
	    store__column_text(
	        s, COL_MD5, img->md5_hex, sizeof(img->md5_hex)) != 0) {
		log_err("module=store op=image_load id=%lld err=\"row "
		        "disagrees with its descriptor or is out of bounds\"",
		    (long long)img->id);
		goto out;
	}
	*out = img;
	img = NULL;
	rc = 0;
out:
	if (rc == OTA_ENOMEM)
		log_err("module=store op=image_load err=\"out of memory\"");
	store_image_free(img);
	return rc;
}

/*
 * Looks for an image of d's name whose version has d's precedence (key,
 * its store__version_key).  Sets *out_id and *out_existed when one has exactly
 * these descriptor bytes; returns OTA_ECONFLICT when one has other bytes.
 */
static int
image_find_same(struct store_conn *c, const struct ota_descriptor *d,
    const char *key, const unsigned char *descriptor, size_t descriptor_len,
    int64_t *out_id, int *out_existed)
{
	struct db_stmt *s = NULL;
	int rc, step, conflict = 0;

	if ((rc = store__prepare(c, sql_find_same, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, d->name) != 0 || db_bind_text(s, 2, key) != 0) {
		rc = store__dberr(c, "image_insert");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		const void *blob = db_column_blob(s, 1);
		size_t len = (size_t)db_column_bytes(s, 1);

		if (len == descriptor_len &&
		    (len == 0 || memcmp(blob, descriptor, len) == 0)) {
			*out_id = db_column_int64(s, 0);
			*out_existed = 1;
			rc = 0;
			goto out;
		}
		conflict = 1;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "image_insert");
		goto out;
	}
	rc = conflict ? OTA_ECONFLICT : 0;
out:
	store__done(s);
	return rc;
}

/* Writes the images row for d (key: its version's store__version_key);
 * *out_id is its new id. */
static int
image_insert_row(struct store_conn *c, const struct ota_descriptor *d,
    const char *key, const unsigned char *descriptor, size_t descriptor_len,
    const char *signatures_json, const char *sha1_hex, const char *md5_hex,
    const char *created_by, int64_t *out_id)
{
	struct db_stmt *s = NULL;
	char now[21];
	int rc, step, bound;

	store_now_rfc3339(now);
	if ((rc = store__prepare(c, sql_insert, &s)) != 0)
		goto out;
	bound = db_bind_text(s, 1, d->name) == 0 &&
	        db_bind_text(s, 2, d->version) == 0 &&
	        db_bind_text(s, 3, d->sha256_hex) == 0 &&
	        db_bind_int64(s, 4, (int64_t)d->size) == 0 &&
	        store__bind_text_or_null(s, 5, d->min_version) == 0 &&
	        (d->has_security_counter
	                ? db_bind_int64(s, 6, (int64_t)d->security_counter)
	                : db_bind_null(s, 6)) == 0 &&
	        store__bind_text_or_null(s, 7, d->filename) == 0 &&
	        db_bind_blob(s, 8, descriptor, descriptor_len) == 0 &&
	        db_bind_text(s, 9, signatures_json) == 0 &&
	        db_bind_text(s, 10, now) == 0 &&
	        db_bind_text(s, 11, created_by) == 0 &&
	        db_bind_text(s, 12, sha1_hex) == 0 &&
	        db_bind_text(s, 13, md5_hex) == 0 &&
	        db_bind_text(s, 14, key) == 0;
	if (!bound) {
		rc = store__dberr(c, "image_insert");
		goto out;
	}
	step = db_step(s);
	if (step == DB_EUNIQUE) {
		/* Same bytes of name and version; cannot happen while
		 * image_find_same runs in the same write transaction. */
		log_warn("module=store op=image_insert name=%s version=%s "
		         "err=\"exists\"",
		    d->name, d->version);
		rc = OTA_ECONFLICT;
		goto out;
	}
	/* RETURNING id: the row, then the end of the statement. */
	if (step != DB_ROW) {
		rc = store__dberr(c, "image_insert");
		goto out;
	}
	*out_id = db_column_int64(s, 0);
	if (db_step(s) != DB_DONE) {
		rc = store__dberr(c, "image_insert");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Writes one image_hardware row per revision of d for image id. */
static int
image_insert_hardware(
    struct store_conn *c, const struct ota_descriptor *d, int64_t id)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_hw_insert, &s)) != 0)
		goto out;
	for (size_t i = 0; i < d->hardware_count; i++) {
		if (db_bind_text(s, 1, d->hardware[i]) != 0 ||
		    db_bind_int64(s, 2, id) != 0 || db_step(s) != DB_DONE) {
			rc = store__dberr(c, "image_insert_hardware");
			goto out;
		}
		store__done(s);
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_image_insert(struct store_conn *c, const struct ota_descriptor *d,
    const unsigned char *descriptor, size_t descriptor_len,
    const char *signatures_json, const char *sha1_hex, const char *md5_hex,
    const char *created_by, int64_t *out_id, int *out_existed)
{
	char key[STORE_VERSION_KEY_MAX];
	int64_t id = 0;
	int rc, existed = 0, in_tx = 0, own = 0;

	*out_id = 0;
	*out_existed = 0;
	/* descriptor_parse guarantees these; the columns are signed. */
	if (d->size < 1 || d->size > INT64_MAX ||
	    (d->has_security_counter && d->security_counter > INT64_MAX) ||
	    d->hardware_count > DESCRIPTOR_HW_MAX) {
		log_err("module=store op=image_insert name=%s err=\"descriptor "
		        "out of range\"",
		    d->name);
		rc = OTA_EINVAL;
		goto out;
	}
	/* A longer name would make the row unreadable (created_by[65]). */
	if (created_by == NULL ||
	    strlen(created_by) >=
	        sizeof(((struct store_image *)0)->created_by)) {
		log_err("module=store op=image_insert name=%s err=\"created_by "
		        "missing or too long\"",
		    d->name);
		rc = OTA_EINVAL;
		goto out;
	}
	if (!lower_hex(sha1_hex, 40) || !lower_hex(md5_hex, 32)) {
		log_err(
		    "module=store op=image_insert name=%s err=\"sha1 or md5 "
		    "is not lowercase hex\"",
		    d->name);
		rc = OTA_EINVAL;
		goto out;
	}
	store__version_key(d->version, key);
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own)) != 0)
		goto out;
	in_tx = 1;
	if ((rc = image_find_same(
	         c, d, key, descriptor, descriptor_len, &id, &existed)) != 0)
		goto out;
	if (existed) {
		/* The same bytes again: they give a row from before 0004,
		 * whose blob the backfill could not read, its digests. */
		rc = store_image_digests_set(c, id, sha1_hex, md5_hex);
		if (rc == OTA_ENOTFOUND)
			rc = 0; /* already set: nothing to write */
		goto out;
	}
	if ((rc = image_insert_row(c, d, key, descriptor, descriptor_len,
	         signatures_json, sha1_hex, md5_hex, created_by, &id)) != 0)
		goto out;
	if ((rc = image_insert_hardware(c, d, id)) != 0)
		goto out;
out:
	if (in_tx)
		rc = store__tx_end(c, own, rc);
	if (rc == 0 && !existed)
		log_info("module=store op=image_insert id=%lld name=%s "
		         "version=%s",
		    (long long)id, d->name, d->version);
	if (rc == 0) {
		*out_id = id;
		*out_existed = existed;
	}
	return rc;
}

int
store_image_get(struct store_conn *c, int64_t id, struct store_image **out)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = store__prepare(c, sql_get, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0) {
		rc = store__dberr(c, "image_get");
		goto out;
	}
	if ((rc = store__step_one(c, s, "image_get")) != 0)
		goto out;
	rc = image_from_row(s, out);
out:
	store__done(s);
	return rc;
}

/* A row of store_image_list (store__list): elem is a struct
 * store_image *. */
static int
image_list_row(struct db_stmt *s, void *elem, void *arg)
{
	(void)arg;
	return image_from_row(s, elem);
}

static void
image_list_elem_free(void *elem)
{
	store_image_free(*(struct store_image **)elem);
}

/* Binds at i the version_key of the bound v, or NULL when v is NULL or "". */
static int
bind_key_or_null(
    struct db_stmt *s, int i, const char *v, char key[STORE_VERSION_KEY_MAX])
{
	if (v == NULL || v[0] == '\0')
		return db_bind_null(s, i);
	store__version_key(v, key);
	return db_bind_text(s, i, key);
}

int
store_image_list(struct store_conn *c, const struct store_image_filter *f,
    struct store_image ***out, size_t *out_n)
{
	char min_key[STORE_VERSION_KEY_MAX], max_key[STORE_VERSION_KEY_MAX];
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (f->limit < 1 || f->limit > 1000) {
		rc = OTA_EINVAL;
		goto out;
	}
	if ((rc = store__prepare(c, sql_list, &s)) != 0)
		goto out;
	if (store__bind_text_or_null(s, 1, f->name) != 0 ||
	    store__bind_text_or_null(s, 2, f->hardware) != 0 ||
	    bind_key_or_null(s, 3, f->min_version, min_key) != 0 ||
	    bind_key_or_null(s, 4, f->max_version, max_key) != 0 ||
	    db_bind_int64(s, 5, f->after_id) != 0 ||
	    db_bind_int64(s, 6, f->limit) != 0) {
		rc = store__dberr(c, "image_list");
		goto out;
	}
	/* LIMIT ?6 already stops there; max is the same bound. */
	rc = store__list(c, s, sizeof(**out), (size_t)f->limit, image_list_row,
	    NULL, image_list_elem_free, out, out_n, "image_list");
out:
	store__done(s);
	return rc;
}

int
store_blob_referenced(struct store_conn *c, const char *sha256_hex)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_blob_referenced, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, sha256_hex) != 0 || db_step(s) != DB_ROW) {
		rc = store__dberr(c, "blob_referenced");
		goto out;
	}
	rc = (int)db_column_int64(s, 0) != 0;
out:
	store__done(s);
	return rc;
}

int
store_image_digests_missing(struct store_conn *c, int64_t after_id, int limit,
    struct store_image_ref *out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	size_t n = 0;
	int rc, step;

	*out_n = 0;
	if (limit < 1 || limit > 1000)
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_digests_missing, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, after_id) != 0 ||
	    db_bind_int64(s, 2, limit) != 0) {
		rc = store__dberr(c, "image_digests_missing");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		/* LIMIT ?2 already stops there; this guards out[]. */
		if (n == (size_t)limit) {
			step = DB_DONE;
			break;
		}
		out[n].id = db_column_int64(s, 0);
		if (store__column_text(s, 1, out[n].sha256_hex,
		        sizeof(out[n].sha256_hex)) != 0) {
			log_err("module=store op=image_digests_missing "
			        "id=%lld err=\"bad sha256\"",
			    (long long)out[n].id);
			rc = OTA_EDB;
			goto out;
		}
		n++;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "image_digests_missing");
		goto out;
	}
	*out_n = n;
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_image_digests_set(
    struct store_conn *c, int64_t id, const char *sha1_hex, const char *md5_hex)
{
	struct db_stmt *s = NULL;
	int rc;

	if (!lower_hex(sha1_hex, 40) || !lower_hex(md5_hex, 32))
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_digests_set, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0 || db_bind_text(s, 2, sha1_hex) != 0 ||
	    db_bind_text(s, 3, md5_hex) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "image_digests_set");
		goto out;
	}
	rc = db_changes(store__db(c)) == 1 ? 0 : OTA_ENOTFOUND;
out:
	store__done(s);
	return rc;
}

int
store_image_embedded_set(struct store_conn *c, int64_t id, const char *json)
{
	struct db_stmt *s = NULL;
	int rc;

	if (json == NULL || json[0] != '{')
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_embedded_set, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0 || db_bind_text(s, 2, json) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "image_embedded_set");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Reads the sha256 of image id into out_hex. */
static int
image_sha(struct store_conn *c, int64_t id, char out_hex[65])
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_sha, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0) {
		rc = store__dberr(c, "image_delete");
		goto out;
	}
	if ((rc = store__step_one(c, s, "image_delete")) != 0)
		goto out;
	if (store__column_text(s, 0, out_hex, 65) != 0) {
		log_err("module=store op=image_delete id=%lld err=\"bad "
		        "sha256\"",
		    (long long)id);
		rc = OTA_EDB;
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Finds the oldest rollout that is not over and uses image id:
 * OTA_ECONFLICT naming it in *out_user (may be NULL), or 0 when none. */
static int
image_rollout_user(
    struct store_conn *c, int64_t id, struct store_image_user *out_user)
{
	struct db_stmt *s = NULL;
	int rc, step;

	if ((rc = store__prepare(c, sql_rollout_user, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0) {
		rc = store__dberr(c, "image_delete");
		goto out;
	}
	step = db_step(s);
	if (step == DB_DONE) {
		rc = 0;
		goto out;
	}
	if (step != DB_ROW) {
		rc = store__dberr(c, "image_delete");
		goto out;
	}
	if (out_user != NULL) {
		out_user->rollout_id = db_column_int64(s, 0);
		if (store__column_text(
		        s, 1, out_user->state, sizeof(out_user->state)) != 0)
			out_user->state[0] = '\0';
	}
	rc = OTA_ECONFLICT;
out:
	store__done(s);
	return rc;
}

int
store_image_delete(struct store_conn *c, int64_t id, char out_sha256_hex[65],
    int *out_blob_unused, struct store_image_user *out_user)
{
	struct db_stmt *s = NULL;
	int rc, step, in_tx = 0;

	out_sha256_hex[0] = '\0';
	*out_blob_unused = 0;
	if (out_user != NULL)
		memset(out_user, 0, sizeof(*out_user));
	if ((rc = store_begin(c)) != 0)
		goto out;
	in_tx = 1;
	if ((rc = image_sha(c, id, out_sha256_hex)) != 0)
		goto out;
	/* In the same transaction as the delete: no rollout can be
	 * created on the image in between. */
	if ((rc = image_rollout_user(c, id, out_user)) != 0)
		goto out;
	if ((rc = store__prepare(c, sql_delete, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0) {
		rc = store__dberr(c, "image_delete");
		goto out;
	}
	step = db_step(s);
	if (step == DB_EFOREIGN || step == DB_ECHECK) {
		/* A row of a later table (rollouts) still points here. */
		log_info("module=store op=image_delete id=%lld err=\"%s\"",
		    (long long)id, db_errmsg(store__db(c)));
		rc = OTA_ECONFLICT;
		goto out;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "image_delete");
		goto out;
	}
	store__done(s);
	s = NULL;
	if ((rc = store_blob_referenced(c, out_sha256_hex)) < 0)
		goto out;
	*out_blob_unused = rc == 0;
	in_tx = 0;
	if ((rc = store_commit(c)) != 0)
		goto out;
	log_info("module=store op=image_delete id=%lld blob_unused=%d",
	    (long long)id, *out_blob_unused);
out:
	store__done(s);
	if (in_tx)
		store_rollback(c);
	if (rc != 0) {
		out_sha256_hex[0] = '\0';
		*out_blob_unused = 0;
	}
	return rc;
}

int
store_image_chunks_stat(
    struct store_conn *c, int64_t id, int64_t *out_count, int64_t *out_bytes)
{
	struct db_stmt *s = NULL;
	int rc;

	*out_count = 0;
	*out_bytes = 0;
	if ((rc = store__prepare(c, sql_chunks_stat, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0 || db_step(s) != DB_ROW) {
		rc = store__dberr(c, "image_chunks_stat");
		goto out;
	}
	*out_count = db_column_int64(s, 0);
	*out_bytes = db_column_int64(s, 1);
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Inserts chunk seq of image id, buf[0..n). */
static int
chunk_insert(
    struct store_conn *c, int64_t id, int64_t seq, const void *buf, size_t n)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_chunk_insert, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0 || db_bind_int64(s, 2, seq) != 0 ||
	    db_bind_blob(s, 3, buf, n) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "image_chunks_write");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Reads and inserts the chunks of image id until read gives no more
 * bytes; *out_total is their sum. */
static int
chunks_copy(struct store_conn *c, int64_t id, store_image_read_fn read,
    void *arg, unsigned char *buf, uint64_t *out_total)
{
	size_t n;
	int64_t seq;
	int rc;

	*out_total = 0;
	/* Ends at the reader's end: each turn but the last consumes a
	 * whole chunk. */
	for (seq = 0;; seq++) {
		if ((rc = read(arg, buf, STORE_IMAGE_CHUNK_BYTES, &n)) != 0)
			return rc;
		if (n == 0)
			return 0;
		if ((rc = chunk_insert(c, id, seq, buf, n)) != 0)
			return rc;
		*out_total += n;
		if (n < STORE_IMAGE_CHUNK_BYTES)
			return 0;
	}
}

int
store_image_chunks_write(struct store_conn *c, int64_t id, uint64_t size,
    store_image_read_fn read, void *arg)
{
	unsigned char *buf = NULL;
	int64_t count, bytes;
	uint64_t total = 0;
	int rc, own = 0, in_tx = 0;

	if ((buf = malloc(STORE_IMAGE_CHUNK_BYTES)) == NULL) {
		log_err("module=store op=image_chunks_write err=\"out of "
		        "memory\"");
		return OTA_ENOMEM;
	}
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own)) != 0)
		goto out;
	in_tx = 1;
	if ((rc = store_image_chunks_stat(c, id, &count, &bytes)) != 0)
		goto out;
	if (count > 0) {
		log_warn("module=store op=image_chunks_write id=%lld "
		         "err=\"image has chunks\"",
		    (long long)id);
		rc = OTA_ECONFLICT;
		goto out;
	}
	if ((rc = chunks_copy(c, id, read, arg, buf, &total)) != 0)
		goto out;
	if (total != size) {
		log_err("module=store op=image_chunks_write id=%lld "
		        "err=\"read %llu bytes, expected %llu\"",
		    (long long)id, (unsigned long long)total,
		    (unsigned long long)size);
		rc = OTA_EMISMATCH;
		goto out;
	}
out:
	if (in_tx)
		rc = store__tx_end(c, own, rc);
	free(buf);
	return rc;
}

int
store_image_chunk_read(struct store_conn *c, int64_t id, int64_t seq, void *buf,
    size_t cap, size_t *out_n)
{
	struct db_stmt *s = NULL;
	size_t n;
	int rc;

	*out_n = 0;
	if ((rc = store__prepare(c, sql_chunk_get, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0 || db_bind_int64(s, 2, seq) != 0) {
		rc = store__dberr(c, "image_chunk_read");
		goto out;
	}
	if ((rc = store__step_one(c, s, "image_chunk_read")) != 0)
		goto out;
	n = db_column_bytes(s, 0);
	if (n > cap || (n > 0 && db_column_blob(s, 0) == NULL)) {
		log_err("module=store op=image_chunk_read id=%lld seq=%lld "
		        "err=\"chunk of %zu bytes does not fit %zu\"",
		    (long long)id, (long long)seq, n, cap);
		rc = OTA_EDB;
		goto out;
	}
	if (n > 0)
		memcpy(buf, db_column_blob(s, 0), n);
	*out_n = n;
	rc = 0;
out:
	store__done(s);
	return rc;
}
