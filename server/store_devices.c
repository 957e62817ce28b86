/*
 * store_devices: the devices and device_tokens rows, and a device's group
 * memberships as seen from the device.  Provisioning is one transaction
 * over reused prepared statements, so thousands of devices cost one
 * fsync.  The manifest path reads a device with store_device_facts (one
 * statement over two primary keys) and never writes per poll: reports
 * arrive in batches through store_device_record_seen.
 */
#include "store_devices.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "log.h"
#include "store_components.h"
#include "store_internal.h"
#include "names.h"

#define DEVICE_COLUMNS                                                         \
	"d.id, d.hardware, d.version, d.labels, d.created_at, "                \
	"ds.last_seen_at,"                                                     \
	" d.reported_hardware"
/* A device's last poll is in device_seen (migration 0021), when it
 * polled. */
#define SEEN_JOIN " LEFT JOIN device_seen ds ON ds.device_id = d.id"
/* A device whose last report named another hardware than its own (the
 * condition of the devices_hardware_mismatch partial index). */
#define HARDWARE_MISMATCH                                                      \
	"(d.reported_hardware IS NOT NULL AND d.reported_hardware <> "         \
	"d.hardware)"
/* Provisioning inserts its rows with multi-row statements (a chunk of
 * rows per statement); a device that conflicts is found afterwards. */
static struct store_multi m_insert = STORE_MULTI_INIT(
    "INSERT INTO devices (id, hardware, version, labels, created_at)"
    " VALUES ",
    "(?, ?, ?, ?, ?)", "", 5);
static struct store_multi m_token_insert = STORE_MULTI_INIT(
    "INSERT INTO device_tokens (id, device_id, secret_hash, created_at)"
    " VALUES ",
    "(?, ?, ?, ?)", "", 4);
/* What a deleted device with the same id left in device_seen. */
static struct store_multi m_seen_clear = STORE_MULTI_INIT(
    "DELETE FROM device_seen WHERE device_id IN (", "?", ")", 1);
static struct store_multi m_member_insert =
    STORE_MULTI_INIT("INSERT INTO group_members (group_id, device_id) VALUES ",
        "(?, ?)", " ON CONFLICT DO NOTHING", 2);
static const char sql_token_insert[] =
    "INSERT INTO device_tokens (id, device_id, secret_hash, created_at)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char sql_get[] =
    "SELECT " DEVICE_COLUMNS " FROM devices d" SEEN_JOIN " WHERE d.id = ?1";
static const char sql_groups[] = "SELECT g.name FROM group_members m"
                                 " JOIN device_groups g ON g.id = m.group_id"
                                 " WHERE m.device_id = ?1 ORDER BY g.name";
/* One row per membership (one with a NULL group for none), read through
 * the primary key of devices and the group_members_device index. */
static const char sql_facts[] =
    "SELECT d.hardware, d.version, m.group_id, d.reported_hardware,"
    " d.labels FROM devices d"
    " LEFT JOIN group_members m ON m.device_id = d.id"
    " WHERE d.id = ?1 ORDER BY m.group_id";
/*
 * The list: ?1 cursor ('' for the first page), ?2 hardware, ?3 version,
 * ?4 seen_after, ?5 seen_before, ?6 limit, ?7 group id.  Three plans for
 * one filter set, so that each walks an index in id order from the
 * cursor instead of scanning the table: the primary key, the hardware
 * index, or the group's slice of group_members.
 */
#define LIST_FILTERS                                                           \
	" AND (?2 IS NULL OR d.hardware = ?2)"                                 \
	" AND (?3 IS NULL OR d.version = ?3)"                                  \
	" AND (?4 IS NULL OR ds.last_seen_at >= ?4)"                           \
	" AND (?5 IS NULL OR ds.last_seen_at IS NULL OR ds.last_seen_at < ?5)" \
	" AND (CAST(?8 AS INTEGER) IS NULL OR (CASE WHEN " HARDWARE_MISMATCH   \
	" THEN 1 ELSE 0 END) = ?8)"
static const char sql_list[] =
    "SELECT " DEVICE_COLUMNS " FROM devices d" SEEN_JOIN
    " WHERE d.id > ?1" LIST_FILTERS " ORDER BY d.id LIMIT ?6";
static const char sql_list_hardware[] =
    "SELECT " DEVICE_COLUMNS " FROM devices d" SEEN_JOIN
    " WHERE d.hardware = ?2 AND d.id > ?1" LIST_FILTERS
    " ORDER BY d.id LIMIT ?6";
/* Only the mismatched devices: the partial index, in id order. */
static const char sql_list_mismatch[] =
    "SELECT " DEVICE_COLUMNS " FROM devices d" SEEN_JOIN
    " WHERE " HARDWARE_MISMATCH " AND d.id > ?1" LIST_FILTERS
    " ORDER BY d.id LIMIT ?6";
static const char sql_count_mismatch[] =
    "SELECT COUNT(*) FROM devices d WHERE " HARDWARE_MISMATCH;
static const char sql_set_hardware[] =
    "UPDATE devices SET hardware = ?2 WHERE id = ?1";
static const char sql_list_group[] =
    "SELECT " DEVICE_COLUMNS " FROM group_members m"
    " JOIN devices d ON d.id = m.device_id" SEEN_JOIN
    " WHERE m.group_id = ?7 AND m.device_id > ?1" LIST_FILTERS
    " ORDER BY m.device_id LIMIT ?6";
static const char sql_set_labels[] =
    "UPDATE devices SET labels = ?2 WHERE id = ?1";
static const char sql_delete[] = "DELETE FROM devices WHERE id = ?1";
/* update_events has no foreign key to devices on PostgreSQL (migration
 * 0009: its per-row check was a third of an event's cost there): a
 * device's events go with it here, on both stores. */
static const char sql_delete_events[] =
    "DELETE FROM update_events WHERE device_id = ?1";
/* Nor have device_tokens and group_members (migrations 0011 on
 * PostgreSQL, 0022 on SQLite: provisioning checked one key per row
 * inserted): deleted here too. */
static const char sql_delete_tokens[] =
    "DELETE FROM device_tokens WHERE device_id = ?1";
static const char sql_delete_members[] =
    "DELETE FROM group_members WHERE device_id = ?1";
/* Nor has device_seen (migration 0021). */
static const char sql_delete_seen[] =
    "DELETE FROM device_seen WHERE device_id = ?1";
static const char sql_token_revoke[] =
    "UPDATE device_tokens SET revoked_at = ?2"
    " WHERE device_id = ?1 AND revoked_at IS NULL";
/* Each changing report of the VALUES list: the fields it carries (''
 * keeps the stored one). */
static struct store_multi m_seen =
    STORE_MULTI_INIT("WITH v(i, h, ver) AS (VALUES ", "(?, ?, ?)",
        ") UPDATE devices SET"
        " reported_hardware = CASE WHEN v.h = '' THEN devices.reported_hardware"
        " ELSE v.h END,"
        " version = CASE WHEN v.ver = '' THEN devices.version ELSE v.ver END"
        " FROM v WHERE devices.id = v.i",
        3);
/* Each report's time, only moving forward.  Not joined with devices (a
 * read of its page per report): a device deleted since the poll leaves a
 * row no device shows, which provisioning the id again deletes
 * (m_seen_clear). */
static struct store_multi m_seen_at = STORE_MULTI_INIT(
    "INSERT INTO device_seen (device_id, last_seen_at) VALUES ", "(?, ?)",
    " ON CONFLICT (device_id) DO UPDATE SET"
    " last_seen_at = excluded.last_seen_at"
    " WHERE device_seen.last_seen_at < excluded.last_seen_at",
    2);

int
store_device_id_valid(const char *id)
{
	return names_valid(id, STORE_DEVICE_ID_MAX, NAMES_ID_PUNCT);
}

void
store_device_clear(struct store_device *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->group_count; i++)
		free(d->groups[i]);
	free(d->groups);
	d->groups = NULL;
	d->group_count = 0;
	free(d->components);
	d->components = NULL;
	d->component_count = 0;
}

void
store_device_list_free(struct store_device *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_device_clear(&v[i]);
	free(v);
}

/* Copies src into dst[STORE_DEVICE_ID_MAX + 1] when dst is not NULL. */
static void
copy_name(char *dst, const char *src)
{
	size_t len;

	if (dst == NULL)
		return;
	len = strnlen(src, STORE_DEVICE_ID_MAX);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* A provisioning call's rows: the devices, the time, and each
 * membership (device and group id), flattened in device order. */
struct insert_batch {
	const struct store_device_new *v;
	size_t n;
	const char *now;
	size_t nm;      /* memberships */
	size_t *m_dev;  /* nm: the device of each membership */
	int64_t *m_gid; /* nm: its group's id */
	size_t missing; /* first device naming a missing group, or n */
	const char *missing_name;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Group ids of the sorted names[0..k) (k unique), -1 for a missing one. */
static int
groups_lookup(
    struct store_conn *c, const char **names, size_t k, int64_t *out_ids)
{
	int rc;

	for (size_t i = 0; i < k; i++) {
		rc = store__group_id(c, names[i], &out_ids[i], "device_insert");
		if (rc == OTA_ENOTFOUND)
			out_ids[i] = -1;
		else if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Fills b's memberships: each distinct group name is read once (sorted,
 * then found by binary search), whatever the batch's size.  Sets
 * b->missing and b->missing_name for the first device naming a group
 * that does not exist.  Returns 0, OTA_ENOMEM or OTA_EDB.
 */
static int
batch_groups(struct store_conn *c, struct insert_batch *b)
{
	const char **names = NULL;
	int64_t *ids = NULL;
	size_t k = 0, m = 0;
	int rc = OTA_ENOMEM;

	b->missing = b->n;
	for (size_t i = 0; i < b->n; i++)
		b->nm += b->v[i].group_count;
	if (b->nm == 0)
		return 0;
	names = malloc(b->nm * sizeof(*names));
	ids = malloc(b->nm * sizeof(*ids));
	b->m_dev = malloc(b->nm * sizeof(*b->m_dev));
	b->m_gid = malloc(b->nm * sizeof(*b->m_gid));
	if (names == NULL || ids == NULL || b->m_dev == NULL ||
	    b->m_gid == NULL)
		goto out;
	for (size_t i = 0; i < b->n; i++)
		for (size_t g = 0; g < b->v[i].group_count; g++)
			names[m++] = b->v[i].groups[g];
	qsort(names, m, sizeof(*names), name_cmp);
	for (size_t i = 0; i < m; i++)
		if (k == 0 || strcmp(names[k - 1], names[i]) != 0)
			names[k++] = names[i];
	if ((rc = groups_lookup(c, names, k, ids)) != 0)
		goto out;
	m = 0;
	for (size_t i = 0; i < b->n; i++) {
		for (size_t g = 0; g < b->v[i].group_count; g++, m++) {
			const char *name = b->v[i].groups[g];
			const char **at =
			    bsearch(&name, names, k, sizeof(*names), name_cmp);

			b->m_dev[m] = i;
			b->m_gid[m] = ids[at - names];
			if (b->m_gid[m] < 0 && b->missing == b->n) {
				b->missing = i;
				b->missing_name = name;
			}
		}
	}
	rc = 0;
out:
	free(names);
	free(ids);
	return rc;
}

static int
index_cmp(const void *a, const void *b, void *arg)
{
	const struct store_device_new *v = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int d = strcmp(v[i].id, v[j].id);

	return d != 0 ? d : (i > j) - (i < j);
}

/*
 * The device a one-row-at-a-time insert of v[0..upto] would have stopped
 * at: the first whose id repeats an earlier one of v or is already
 * stored.  Its id goes to conflict_id.  Returns OTA_ECONFLICT,
 * OTA_ENOTFOUND when there is none, OTA_ENOMEM or OTA_EDB.  Runs after
 * the rollback of the failed insert: only errors take this path.
 */
static int
batch_conflict(struct store_conn *c, const struct store_device_new *v, size_t n,
    size_t upto, char *conflict_id)
{
	size_t *order = malloc(n * sizeof(*order));
	unsigned char *repeat = calloc(n, 1);
	int rc = OTA_ENOMEM;

	if (order == NULL || repeat == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), index_cmp, (void *)v);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[order[i - 1]].id, v[order[i]].id) == 0)
			repeat[order[i]] = 1;
	rc = OTA_ENOTFOUND;
	for (size_t i = 0; i <= upto && i < n && rc == OTA_ENOTFOUND; i++) {
		if (repeat[i])
			rc = 0;
		else
			rc = store__device_exists(c, v[i].id, "device_insert");
		if (rc == 0) {
			copy_name(conflict_id, v[i].id);
			rc = OTA_ECONFLICT;
		}
	}
out:
	free(order);
	free(repeat);
	return rc;
}

/* Binds row i of a multi-row statement at parameters base + 1... */
typedef int (*batch_bind_fn)(
    struct db_stmt *s, int base, const struct insert_batch *b, size_t i);

static int
bind_device(struct db_stmt *s, int base, const struct insert_batch *b, size_t i)
{
	const struct store_device_new *d = &b->v[i];

	return db_bind_text(s, base + 1, d->id) != 0 ||
	       db_bind_text(s, base + 2, d->hardware) != 0 ||
	       store__bind_text_or_null(s, base + 3, d->version) != 0 ||
	       db_bind_text(s, base + 4,
	           d->labels_json != NULL ? d->labels_json : "{}") != 0 ||
	       db_bind_text(s, base + 5, b->now) != 0;
}

static int
bind_token(struct db_stmt *s, int base, const struct insert_batch *b, size_t i)
{
	const struct store_device_new *d = &b->v[i];

	return db_bind_text(s, base + 1, d->token_id) != 0 ||
	       db_bind_text(s, base + 2, d->id) != 0 ||
	       db_bind_blob(s, base + 3, d->token_hash, CRYPTO_HASH_LEN) != 0 ||
	       db_bind_text(s, base + 4, b->now) != 0;
}

static int
bind_id(struct db_stmt *s, int base, const struct insert_batch *b, size_t i)
{
	return db_bind_text(s, base + 1, b->v[i].id) != 0;
}

static int
bind_member(struct db_stmt *s, int base, const struct insert_batch *b, size_t i)
{
	return db_bind_int64(s, base + 1, b->m_gid[i]) != 0 ||
	       db_bind_text(s, base + 2, b->v[b->m_dev[i]].id) != 0;
}

/* Inserts rows [0, n) of m, as many per statement as m takes, binding
 * each with bind.  Returns 0, OTA_ECONFLICT (a unique key), OTA_ENOMEM or
 * OTA_EDB (logged). */
static int
batch_insert(struct store_conn *c, struct store_multi *m, size_t n,
    batch_bind_fn bind, const struct insert_batch *b)
{
	struct db_stmt *s = NULL;
	size_t done = 0, rows;
	int rc = 0, step;

	while (done < n) {
		if ((rc = store__multi_prepare(c, m, n - done, &s, &rows)) != 0)
			return rc;
		for (size_t r = 0; r < rows; r++) {
			if (bind(s, (int)r * m->ncols, b, done + r) != 0) {
				rc = store__dberr(c, "device_insert");
				goto out;
			}
		}
		step = db_step(s);
		if (step == DB_EUNIQUE) {
			rc = OTA_ECONFLICT;
			goto out;
		}
		if (step != DB_DONE) {
			rc = store__dberr(c, "device_insert");
			goto out;
		}
		store__done(s);
		s = NULL;
		done += rows;
	}
out:
	store__done(s);
	return rc;
}

/* 1 when d can be stored and read back: a valid id, the required fields,
 * and text no longer than the columns store_device_get reads into. */
static int
device_new_fits(const struct store_device_new *d)
{
	return store_device_id_valid(d->id) && d->hardware != NULL &&
	       strlen(d->hardware) <= STORE_HARDWARE_MAX &&
	       (d->version == NULL ||
	           strlen(d->version) <= STORE_VERSION_MAX) &&
	       (d->labels_json == NULL ||
	           strlen(d->labels_json) <= STORE_LABELS_MAX) &&
	       d->component_count <= COMPONENTS_MAX && d->token_id != NULL &&
	       d->token_hash != NULL;
}

/* The rows of b, in one transaction of c: a missing group (b->missing)
 * stores nothing.  Returns 0, OTA_ECONFLICT (a device id: unique key),
 * OTA_ENOTFOUND (a group), OTA_ENOMEM or OTA_EDB; rolled back on error. */
static int
batch_store(struct store_conn *c, struct insert_batch *b)
{
	int rc;

	if ((rc = store_begin(c)) != 0)
		return rc;
	rc = batch_groups(c, b);
	if (rc == 0 && b->missing < b->n)
		rc = OTA_ENOTFOUND;
	if (rc == 0)
		rc = batch_insert(c, &m_insert, b->n, bind_device, b);
	/* A token id is drawn at random: one already stored is not the
	 * caller's conflict. */
	if (rc == 0 && (rc = batch_insert(c, &m_token_insert, b->n, bind_token,
	                    b)) == OTA_ECONFLICT)
		rc = store__dberr(c, "device_token_insert");
	if (rc == 0)
		rc = batch_insert(c, &m_member_insert, b->nm, bind_member, b);
	if (rc == 0)
		rc = batch_insert(c, &m_seen_clear, b->n, bind_id, b);
	for (size_t i = 0; rc == 0 && i < b->n; i++)
		rc = store_components_insert(
		    c, b->v[i].id, b->v[i].components, b->v[i].component_count);
	if (rc == 0)
		rc = store_commit(c);
	if (rc != 0)
		store_rollback(c);
	return rc;
}

int
store_device_insert_batch(struct store_conn *c,
    const struct store_device_new *v, size_t n,
    char conflict_id[STORE_DEVICE_ID_MAX + 1])
{
	struct insert_batch b;
	char now[21];
	int rc;

	if (conflict_id != NULL)
		conflict_id[0] = '\0';
	if (n < 1 || n > STORE_DEVICE_BATCH_MAX)
		return OTA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!device_new_fits(&v[i]))
			return OTA_EINVAL;
	memset(&b, 0, sizeof(b));
	store_now_rfc3339(now);
	b.v = v;
	b.n = n;
	b.now = now;
	/* The bulk settings only help: a failure to set them is ignored. */
	(void)db_bulk(store__db(c), 1);
	rc = batch_store(c, &b);
	(void)db_bulk(store__db(c), 0);
	/* As if inserted one by one: the first device that conflicts or
	 * names a missing group decides the error (its own id first). */
	if (rc == OTA_ECONFLICT || rc == OTA_ENOTFOUND) {
		int crc = batch_conflict(c, v, n, b.missing, conflict_id);

		if (crc == OTA_ENOTFOUND && rc == OTA_ENOTFOUND)
			copy_name(conflict_id, b.missing_name);
		else if (crc == OTA_ENOTFOUND)
			crc = store__dberr(c, "device_insert");
		rc = crc == OTA_ENOTFOUND ? rc : crc;
	}
	free(b.m_dev);
	free(b.m_gid);
	if (rc == 0)
		log_info("module=store op=device_insert count=%zu", n);
	return rc;
}

/* Fills d's columns from the current row of s (DEVICE_COLUMNS). */
static int
device_from_row(struct db_stmt *s, struct store_device *d)
{
	memset(d, 0, sizeof(*d));
	if (store__column_text(s, 0, d->id, sizeof(d->id)) != 0 ||
	    store__column_text(s, 1, d->hardware, sizeof(d->hardware)) != 0 ||
	    store__column_text(s, 2, d->version, sizeof(d->version)) != 0 ||
	    store__column_text(s, 3, d->labels, sizeof(d->labels)) != 0 ||
	    store__column_text(s, 4, d->created_at, sizeof(d->created_at)) !=
	        0 ||
	    store__column_text(
	        s, 5, d->last_seen_at, sizeof(d->last_seen_at)) != 0 ||
	    store__column_text(s, 6, d->reported_hardware,
	        sizeof(d->reported_hardware)) != 0) {
		log_err("module=store op=device_load err=\"row out of "
		        "bounds\"");
		return OTA_EDB;
	}
	return 0;
}

/* Loads d->groups (sorted names) and d->components for d->id; both must
 * be NULL. */
static int
device_load_groups(struct store_conn *c, struct store_device *d)
{
	int rc = store__text_list(
	    c, sql_groups, d->id, &d->groups, &d->group_count, "device_groups");

	if (rc == 0)
		rc = store_components_get(
		    c, d->id, &d->components, &d->component_count);
	return rc;
}

int
store_device_get(struct store_conn *c, const char *id, struct store_device *out)
{
	struct db_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store__prepare(c, sql_get, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, id) != 0) {
		rc = store__dberr(c, "device_get");
		goto out;
	}
	if ((rc = store__step_one(c, s, "device_get")) != 0)
		goto out;
	if ((rc = device_from_row(s, out)) != 0)
		goto out;
	store__done(s);
	s = NULL;
	rc = device_load_groups(c, out);
out:
	store__done(s);
	if (rc != 0)
		store_device_clear(out);
	return rc;
}

int
store_device_facts(struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count)
{
	char reported[STORE_HARDWARE_MAX + 1];

	return store_device_poll_facts(c, id, out_hardware, reported,
	    out_version, out_group_ids, max_groups, out_group_count);
}

int
store_labels_flatten(const char *json, struct store_labels *out)
{
	json_t *o = json_loads(json != NULL ? json : "{}", 0, NULL);
	const char *k;
	json_t *v;
	int rc = OTA_EINVAL;

	out->len = 0;
	if (!json_is_object(o))
		goto out;
	json_object_foreach(o, k, v) {
		size_t kl = strlen(k), vl;

		if (!json_is_string(v))
			goto out;
		vl = strlen(json_string_value(v));
		if (out->len + kl + vl + 2 > sizeof(out->flat))
			goto out;
		memcpy(out->flat + out->len, k, kl + 1);
		out->len += kl + 1;
		memcpy(out->flat + out->len, json_string_value(v), vl + 1);
		out->len += vl + 1;
	}
	rc = 0;
out:
	if (rc != 0)
		out->len = 0;
	json_decref(o);
	return rc;
}

int
store_device_poll_facts(struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count)
{
	return store_device_poll_facts_labels(c, id, out_hardware,
	    out_reported_hardware, out_version, out_group_ids, max_groups,
	    out_group_count, NULL);
}

int
store_device_poll_facts_labels(struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count, struct store_labels *labels)
{
	struct db_stmt *s = NULL;
	size_t n = 0;
	int rc, step, first = 1;

	*out_group_count = 0;
	if ((rc = store__prepare(c, sql_facts, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, id) != 0) {
		rc = store__dberr(c, "device_facts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		if (first) {
			first = 0;
			if (store__column_text(s, 0, out_hardware,
			        STORE_HARDWARE_MAX + 1) != 0 ||
			    store__column_text(s, 1, out_version,
			        STORE_VERSION_MAX + 1) != 0 ||
			    store__column_text(s, 3, out_reported_hardware,
			        STORE_HARDWARE_MAX + 1) != 0) {
				log_err("module=store op=device_facts "
				        "err=\"row out of bounds\"");
				rc = OTA_EDB;
				goto out;
			}
			/* Unreadable labels are no labels: logged. */
			if (labels != NULL &&
			    store_labels_flatten(
			        db_column_text(s, 4), labels) != 0)
				log_err("module=store op=device_facts id=%s "
				        "err=\"labels unreadable\"",
				    id);
		}
		if (!db_column_is_null(s, 2) && n < max_groups)
			out_group_ids[n++] = db_column_int64(s, 2);
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "device_facts");
		goto out;
	}
	if (first) {
		rc = OTA_ENOTFOUND;
		goto out;
	}
	*out_group_count = n;
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* A row of store_device_list (store__list), without its groups. */
static int
device_list_row(struct db_stmt *s, void *elem, void *arg)
{
	(void)arg;
	return device_from_row(s, elem);
}

int
store_device_list(struct store_conn *c, const struct store_device_filter *f,
    struct store_device **out, size_t *out_n)
{
	struct store_device *v = NULL;
	struct db_stmt *s = NULL;
	const char *sql = sql_list;
	int64_t gid = 0;
	size_t n = 0;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (f->limit < 1 || f->limit > 1000)
		return OTA_EINVAL;
	if (f->group != NULL) {
		if ((rc = store__group_id(c, f->group, &gid, "device_list")) !=
		    0)
			return rc;
		sql = sql_list_group;
	} else if (f->hardware != NULL) {
		sql = sql_list_hardware;
	} else if (f->hardware_mismatch > 0) {
		sql = sql_list_mismatch;
	}
	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	/* '' sorts before every valid id: the first page. */
	if (db_bind_text(s, 1, f->after_id != NULL ? f->after_id : "") != 0 ||
	    store__bind_text_or_null(s, 2, f->hardware) != 0 ||
	    store__bind_text_or_null(s, 3, f->version) != 0 ||
	    store__bind_text_or_null(s, 4, f->seen_after) != 0 ||
	    store__bind_text_or_null(s, 5, f->seen_before) != 0 ||
	    db_bind_int64(s, 6, f->limit) != 0 ||
	    (f->group != NULL && db_bind_int64(s, 7, gid) != 0) ||
	    store__bind_int64_or_null(s, 8,
	        f->hardware_mismatch > 0   ? 1
	        : f->hardware_mismatch < 0 ? 0
	                                   : -1) != 0) {
		rc = store__dberr(c, "device_list");
		goto out;
	}
	if ((rc = store__list(c, s, sizeof(*v), (size_t)f->limit,
	         device_list_row, NULL, NULL, &v, &n, "device_list")) != 0)
		goto out;
	store__done(s);
	s = NULL;
	for (size_t i = 0; i < n; i++)
		if ((rc = device_load_groups(c, &v[i])) != 0)
			goto out;
	*out = v;
	*out_n = n;
	v = NULL;
	rc = 0;
out:
	store__done(s);
	store_device_list_free(v, n);
	return rc;
}

/* Runs a one-row-by-id write (?1 id, ?2 value); OTA_ENOTFOUND when no row
 * changed. */
static int
device_write_by_id(struct store_conn *c, const char *sql, const char *id,
    const char *value, const char *op)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, id) != 0 ||
	    (value != NULL && db_bind_text(s, 2, value) != 0) ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, op);
		goto out;
	}
	rc = db_changes(store__db(c)) > 0 ? 0 : OTA_ENOTFOUND;
out:
	store__done(s);
	return rc;
}

int
store_device_set_labels(
    struct store_conn *c, const char *id, const char *labels_json)
{
	/* Longer labels would make the row unreadable (labels[]). */
	if (labels_json == NULL || strlen(labels_json) > STORE_LABELS_MAX)
		return OTA_EINVAL;
	return store_device_patch(c, id, NULL, labels_json);
}

int
store_device_patch(struct store_conn *c, const char *id, const char *hardware,
    const char *labels_json)
{
	int rc, in_tx = 0;

	if (hardware != NULL &&
	    !names_valid(hardware, STORE_HARDWARE_MAX, NAMES_ID_PUNCT))
		return OTA_EINVAL;
	if (labels_json != NULL && strlen(labels_json) > STORE_LABELS_MAX)
		return OTA_EINVAL;
	if (hardware == NULL && labels_json == NULL)
		return OTA_EINVAL;
	/* Inside the caller's transaction when one is open (a hardware
	 * change cancels what no longer fits in the same one). */
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &in_tx)) != 0)
		return rc;
	if (hardware != NULL)
		rc = device_write_by_id(
		    c, sql_set_hardware, id, hardware, "device_set_hardware");
	/* Labels are poll facts too (rollout selectors). */
	if (rc == 0)
		rc = store_devices_changed(c, id);
	if (rc == 0 && labels_json != NULL)
		rc = device_write_by_id(
		    c, sql_set_labels, id, labels_json, "device_set_labels");
	return store__tx_end(c, in_tx, rc);
}

int
store_device_count_hardware_mismatch(struct store_conn *c, uint64_t *out)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = 0;
	if ((rc = store__prepare(c, sql_count_mismatch, &s)) != 0)
		goto out;
	if ((rc = store__step_one(c, s, "device_count_mismatch")) != 0)
		goto out;
	*out = (uint64_t)db_column_int64(s, 0);
out:
	store__done(s);
	return rc;
}

/* Deletes the rows of device id that no foreign key cascades on every
 * store: events, tokens, memberships, the last poll (none of them is
 * not an error). */
static int
device_delete_owned(struct store_conn *c, const char *id)
{
	static const char *const sql[] = {sql_delete_events, sql_delete_tokens,
	    sql_delete_members, sql_delete_seen};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(sql) / sizeof(sql[0]); i++) {
		rc = device_write_by_id(c, sql[i], id, NULL, "device_delete");
		if (rc == OTA_ENOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		rc = store_components_delete(c, id);
	return rc;
}

int
store_device_delete(struct store_conn *c, const char *id)
{
	int rc, own = 0;

	/* In a transaction, so that the change is reported (and sent to
	 * the other nodes) only if the delete commits. */
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own)) != 0)
		return rc;
	/* Updates and DDI rows go by ON DELETE CASCADE; events, tokens and
	 * memberships first (no cascade on PostgreSQL), so a missing device
	 * is still OTA_ENOTFOUND. */
	rc = device_delete_owned(c, id);
	if (rc == 0)
		rc = device_write_by_id(
		    c, sql_delete, id, NULL, "device_delete");
	if (rc == 0)
		rc = store_devices_changed(c, id);
	rc = store__tx_end(c, own, rc);
	if (rc == 0)
		log_info("module=store op=device_delete id=%s", id);
	return rc;
}

int
store_device_token_rotate(struct store_conn *c, const char *device_id,
    const char *token_id, const unsigned char *token_hash)
{
	struct db_stmt *s = NULL;
	char now[21];
	int rc;

	store_now_rfc3339(now);
	if ((rc = store_begin(c)) != 0)
		return rc;
	if ((rc = store__device_exists(c, device_id, "device_token_rotate")) !=
	    0)
		goto out;
	if ((rc = store__prepare(c, sql_token_revoke, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_text(s, 2, now) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "device_token_revoke");
		goto out;
	}
	store__done(s);
	s = NULL;
	if (token_id != NULL) {
		if ((rc = store__prepare(c, sql_token_insert, &s)) != 0)
			goto out;
		if (db_bind_text(s, 1, token_id) != 0 ||
		    db_bind_text(s, 2, device_id) != 0 ||
		    db_bind_blob(s, 3, token_hash, CRYPTO_HASH_LEN) != 0 ||
		    db_bind_text(s, 4, now) != 0 || db_step(s) != DB_DONE) {
			rc = store__dberr(c, "device_token_insert");
			goto out;
		}
		store__done(s);
		s = NULL;
	}
	if ((rc = store_devices_changed(c, device_id)) == 0)
		rc = store_commit(c);
out:
	store__done(s);
	if (rc != 0)
		store_rollback(c);
	else
		log_info("module=store op=device_token_%s device=%s",
		    token_id != NULL ? "rotate" : "revoke", device_id);
	return rc;
}

/* Whether rows pick[0..k) name id. */
static int
seen_repeated(
    const struct store_device_seen *const *pick, size_t k, const char *id)
{
	for (size_t j = 0; j < k; j++)
		if (strcmp(pick[j]->id, id) == 0)
			return 1;
	return 0;
}

/* Runs m's statements for rows pick[0..k) (the fields of m_seen, or of
 * m_seen_at when times). */
static int
seen_statements(struct store_conn *c, struct store_multi *m,
    const struct store_device_seen *const *pick, size_t k, int times)
{
	struct db_stmt *s = NULL;
	size_t rows;
	int rc = 0;

	for (size_t from = 0; rc == 0 && from < k; from += rows) {
		if ((rc = store__multi_prepare(c, m, k - from, &s, &rows)) != 0)
			return rc;
		for (size_t r = 0; rc == 0 && r < rows; r++) {
			const struct store_device_seen *e = pick[from + r];
			int b = (int)r * m->ncols, bad;

			bad = db_bind_text(s, b + 1, e->id) != 0;
			if (times)
				bad = bad ||
				      db_bind_text(s, b + 2, e->seen_at) != 0;
			else
				bad = bad ||
				      db_bind_text(s, b + 2,
				          e->hardware != NULL ? e->hardware
				                              : "") != 0 ||
				      db_bind_text(s, b + 3,
				          e->version != NULL ? e->version
				                             : "") != 0;
			if (bad)
				rc = store__dberr(c, "device_record_seen");
		}
		if (rc == 0 && db_step(s) != DB_DONE)
			rc = store__dberr(c, "device_record_seen");
		store__done(s);
		s = NULL;
	}
	return rc;
}

/*
 * Writes the rows of v[0..n) that change the device (times 0: m_seen) or
 * carry a time (times 1: m_seen_at), in statements of distinct ids: an
 * UPDATE ... FROM applies one row per device and an upsert may not touch
 * a row twice, so a repeated id goes to the next statement, in order.
 */
static int
seen_write(struct store_conn *c, const struct store_device_seen *v, size_t n,
    int times)
{
	const struct store_device_seen *pick[STORE_MULTI_ROWS_MAX];
	size_t i = 0;
	int rc = 0;

	while (rc == 0 && i < n) {
		size_t k = 0;

		for (; i < n && k < STORE_MULTI_ROWS_MAX; i++) {
			const struct store_device_seen *e = &v[i];

			if (times ? e->seen_at[0] == '\0' : !e->changes)
				continue;
			if (seen_repeated(pick, k, e->id))
				break;
			pick[k++] = e;
		}
		rc = seen_statements(
		    c, times ? &m_seen_at : &m_seen, pick, k, times);
	}
	return rc;
}

int
store_device_record_seen(
    struct store_conn *c, const struct store_device_seen *v, size_t n)
{
	int rc = 0, own_tx = 0;

	if (n == 0)
		return 0;
	/* Inside the caller's transaction when one is open (seen's flush
	 * writes offers and silent reverts in the same one). */
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own_tx)) != 0)
		return rc;
	if ((rc = seen_write(c, v, n, 0)) == 0)
		rc = seen_write(c, v, n, 1);
	return store__tx_end(c, own_tx, rc);
}
