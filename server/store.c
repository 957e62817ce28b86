/*
 * store: opens the database as a fixed pool of driver connections (db.h),
 * and brings the schema up to date with the embedded migrations on the
 * first connection before the others exist.  A connection is used by one
 * thread at a time; the pool's mutex guards only the free list.  Nothing
 * outside store*.c sees the driver, and nothing here sees SQLite.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "errors.h"
#include "log.h"
#include "migrations.h"
#include "semver.h"
#include "store_internal.h"
#include "timeutil.h"

#define STORE_CONNS_MAX 256
#define STORE_WRITE_WAIT_SEC 5 /* SQLite's busy_timeout (db_sqlite.c) */

struct store_conn {
	struct db_conn *db;
	struct store_conn *next_free;
	struct store *st;
	/* The devices the open transaction changed (store_devices_changed):
	 * ids separated by spaces (malloc'd, grown up to
	 * STORE_CHANGES_MAX), or every device. */
	char *changed;
	size_t changed_len, changed_cap;
	int changed_all;
	int writer; /* holds st->write_mu (store_begin on SQLite) */
};

struct store {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* SQLite's writers queue here before BEGIN IMMEDIATE: a waiter is
	 * woken as the writer before it ends, where SQLite's busy handler
	 * would poll the lock with sleeps growing to 100 ms (and let a later
	 * writer pass it).  PostgreSQL's advisory lock queues already. */
	pthread_mutex_t write_mu;
	struct store_conn *conns;
	int nconns;
	struct store_conn *free_list; /* guarded by mu */
	/* Told of each committed device change (store_set_devices_hook). */
	void (*devices_fn)(void *arg, const char *ids);
	void *devices_arg;
};

static const char sql_migrations_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL)";
static const char sql_schema_version[] =
    "SELECT coalesce(max(version), 0) FROM schema_migrations";
static const char sql_migration_insert[] =
    "INSERT INTO schema_migrations (version, name, applied_at)"
    " VALUES (?1, ?2, ?3)";
static const char sql_ping[] = "SELECT 1";
/* The two lookups store_devices and store_groups both need: here, so that
 * neither file calls the other. */
static const char sql_device_exists[] = "SELECT 1 FROM devices WHERE id = ?1";
static const char sql_group_id[] =
    "SELECT id FROM device_groups WHERE name = ?1";
/* The version_key backfill (migration 0006), a batch at a time. */
static const char sql_keys_missing[] =
    "SELECT id, version FROM images WHERE version_key IS NULL"
    " ORDER BY id LIMIT 64";
static const char sql_key_set[] =
    "UPDATE images SET version_key = ?2 WHERE id = ?1";

struct db_conn *
store__db(struct store_conn *c)
{
	return c->db;
}

int
store__prepare(struct store_conn *c, const char *sql, struct db_stmt **out)
{
	int rc = db_prepare(c->db, sql, out);

	if (rc != 0) {
		/* The driver's own allocations (its statement cache) fail
		 * without a database message: db_errmsg would be a stale
		 * one. */
		log_err("module=store op=prepare sql=\"%s\" err=\"%s\"", sql,
		    rc == DB_ENOMEM ? "out of memory" : db_errmsg(c->db));
		return OTA_EDB;
	}
	return 0;
}

void
store__done(struct db_stmt *s)
{
	db_reset(s);
}

int
store__column_text(struct db_stmt *s, int col, char *dst, size_t dstsize)
{
	const char *v = db_column_text(s, col);
	size_t len = db_column_bytes(s, col);

	if (v == NULL) {
		dst[0] = '\0';
		return 0;
	}
	if (len >= dstsize)
		return -1;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

int
store__bind_text_or_null(struct db_stmt *s, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return db_bind_null(s, i);
	return db_bind_text(s, i, v);
}

int
store__bind_int64_or_null(struct db_stmt *s, int i, int64_t v)
{
	return v < 0 ? db_bind_null(s, i) : db_bind_int64(s, i, v);
}

int
store__dberr(struct store_conn *c, const char *op)
{
	log_err("module=store op=%s db_rc=%d err=\"%s\"", op, db_errcode(c->db),
	    db_errmsg(c->db));
	return OTA_EDB;
}

int
store__step_one(struct store_conn *c, struct db_stmt *s, const char *op)
{
	int step = db_step(s);

	if (step == DB_ROW)
		return 0;
	if (step == DB_DONE)
		return OTA_ENOTFOUND;
	return store__dberr(c, op);
}

int
store__find_text(struct store_conn *c, const char *sql, const char *key,
    int64_t *out_v, const char *op)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, key) != 0) {
		rc = store__dberr(c, op);
		goto out;
	}
	if ((rc = store__step_one(c, s, op)) == 0 && out_v != NULL)
		*out_v = db_column_int64(s, 0);
out:
	store__done(s);
	return rc;
}

int
store__device_exists(struct store_conn *c, const char *id, const char *op)
{
	return store__find_text(c, sql_device_exists, id, NULL, op);
}

int
store__group_id(
    struct store_conn *c, const char *name, int64_t *out_id, const char *op)
{
	return store__find_text(c, sql_group_id, name, out_id, op);
}

void
store__version_key(const char *version, char out[STORE_VERSION_KEY_MAX])
{
	/* Not a version (never stored by otad): after every version, and
	 * among such strings by bytes, as semver_cmp orders them. */
	if (semver_sort_key(version, out, STORE_VERSION_KEY_MAX) != 0)
		snprintf(out, STORE_VERSION_KEY_MAX, "~%s", version);
}

int
store__grow(void *pv, size_t *cap, size_t n, size_t elem_size, const char *op)
{
	void *v, *grown;
	size_t newcap;

	if (n < *cap)
		return 0;
	/* The caller's pointer is not a void *: copy it, do not alias it. */
	memcpy(&v, pv, sizeof(v));
	newcap = *cap == 0 ? 16 : *cap * 2;
	if ((grown = reallocarray(v, newcap, elem_size)) == NULL) {
		log_err("module=store op=%s err=\"out of memory\"", op);
		return OTA_ENOMEM;
	}
	memcpy(pv, &grown, sizeof(grown));
	*cap = newcap;
	return 0;
}

int
store__list(struct store_conn *c, struct db_stmt *s, size_t elem_size,
    size_t max, store__row_fn row, void *arg, store__elem_free_fn elem_free,
    void *out, size_t *out_n, const char *op)
{
	unsigned char *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, step = DB_DONE;

	while (max == 0 || n < max) {
		if ((step = db_step(s)) != DB_ROW)
			break;
		if ((rc = store__grow(&v, &cap, n, elem_size, op)) != 0)
			goto out;
		memset(v + n * elem_size, 0, elem_size);
		/* Counted before the call: a failed row is freed too. */
		n++;
		if ((rc = row(s, v + (n - 1) * elem_size, arg)) != 0)
			goto out;
	}
	if (step < 0) {
		rc = store__dberr(c, op);
		goto out;
	}
	memcpy(out, &v, sizeof(v));
	*out_n = n;
	return 0;
out:
	for (size_t i = 0; elem_free != NULL && i < n; i++)
		elem_free(v + i * elem_size);
	free(v);
	v = NULL;
	memcpy(out, &v, sizeof(v));
	*out_n = 0;
	return rc;
}

/* A row of store__text_list: column 0, strdup'd (arg is the op). */
static int
store_text_row(struct db_stmt *s, void *elem, void *arg)
{
	const char *text = db_column_text(s, 0);
	char **v = elem;

	/* NULL is the driver failing to allocate the text. */
	if (text == NULL || (*v = strdup(text)) == NULL) {
		log_err("module=store op=%s err=\"out of memory\"",
		    (const char *)arg);
		return OTA_ENOMEM;
	}
	return 0;
}

static void
store_text_free(void *elem)
{
	free(*(char **)elem);
}

int
store__text_list(struct store_conn *c, const char *sql, const char *key,
    char ***out, size_t *out_n, const char *op)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, key) != 0) {
		rc = store__dberr(c, op);
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), 0, store_text_row, (void *)op,
	    store_text_free, out, out_n, op);
out:
	store__done(s);
	return rc;
}

/* Runs one revoke statement (?1 key, ?2 now); *out_changed is the number
 * of rows hit. */
static int
store_revoke_by(struct store_conn *c, const char *sql, const char *key,
    const char *now, const char *op, int *out_changed)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, key) != 0 || db_bind_text(s, 2, now) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, op);
		goto out;
	}
	*out_changed = (int)db_changes(c->db);
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store__revoke_one(
    struct store_conn *c, const char *sql, const char *key, const char *op)
{
	char now[21], v[LOG_VALUE_MAX];
	int rc, changed = 0;

	store_now_rfc3339(now);
	if ((rc = store_revoke_by(c, sql, key, now, op, &changed)) != 0)
		return rc;
	if (changed == 0)
		return OTA_ENOTFOUND;
	log_info("module=store op=%s key=%s", op, log_value(v, sizeof(v), key));
	return 0;
}

int
store__revoke(struct store_conn *c, const char *sql_by_id,
    const char *sql_by_name, const char *id_or_name, const char *op)
{
	int rc;

	/* By id first, so that a name that looks like another token's id
	 * never revokes both. */
	rc = store__revoke_one(c, sql_by_id, id_or_name, op);
	if (rc == OTA_ENOTFOUND)
		rc = store__revoke_one(c, sql_by_name, id_or_name, op);
	return rc;
}

/* Closes c's driver connection.  NULL-handle safe. */
static void
store_conn_close(struct store_conn *c)
{
	db_close(c->db);
	c->db = NULL;
}

/* Opens one connection of the pool (the driver applies its settings and
 * logs a failure). */
static int
store_conn_open(
    struct store_conn *c, const char *target, const struct store_options *opt)
{
	return store__db_open(target, opt, &c->db);
}

int
store__db_open(
    const char *target, const struct store_options *opt, struct db_conn **out)
{
	struct db_options o = {0};

	if (opt != NULL) {
		o.password = opt->password;
		o.sslmode = opt->sslmode;
		o.sslrootcert = opt->sslrootcert;
	}
	return db_open(target, &o, out) == 0 ? 0 : OTA_EDB;
}

int
store_target_is_postgres(const char *target)
{
	return db_target_is_postgres(target);
}

/* Ends c's write turn (store_begin), if it has one. */
static void
write_turn_end(struct store_conn *c)
{
	if (c->writer) {
		c->writer = 0;
		pthread_mutex_unlock(&c->st->write_mu);
	}
}

int
store_begin(struct store_conn *c)
{
	struct timespec until;
	int rc;

	if (db_kind(c->db) == DB_KIND_SQLITE && !c->writer) {
		/* As long as SQLite's busy timeout: a writer that waits on
		 * itself (a second write transaction of one thread) fails
		 * as SQLite's busy lock would, it does not hang. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += STORE_WRITE_WAIT_SEC;
		if (pthread_mutex_timedlock(&c->st->write_mu, &until) != 0) {
			log_err("module=store op=begin err=\"no write turn in "
			        "%d s\"",
			    STORE_WRITE_WAIT_SEC);
			return OTA_EDB;
		}
		c->writer = 1;
	}
	rc =
	    db_begin(c->db, DB_BEGIN_WRITE) == 0 ? 0 : store__dberr(c, "begin");
	if (rc != 0)
		write_turn_end(c);
	return rc;
}

int
store__tx_join(struct store_conn *c, enum db_begin_kind kind, int *out_own)
{
	int rc;

	*out_own = 0;
	if (db_in_transaction(c->db))
		return 0;
	rc = kind == DB_BEGIN_READ ? store_begin_read(c) : store_begin(c);
	if (rc == 0)
		*out_own = 1;
	return rc;
}

int
store__tx_end(struct store_conn *c, int own, int rc)
{
	if (!own)
		return rc;
	if (rc == 0)
		return store_commit(c);
	store_rollback(c);
	return rc;
}

int
store_begin_read(struct store_conn *c)
{
	return db_begin(c->db, DB_BEGIN_READ) == 0
	           ? 0
	           : store__dberr(c, "begin_read");
}

void
store_set_devices_hook(
    struct store *st, void (*fn)(void *arg, const char *ids), void *arg)
{
	st->devices_fn = fn;
	st->devices_arg = arg;
}

/* Forgets the device changes of c's transaction. */
static void
changes_clear(struct store_conn *c)
{
	c->changed_len = 0;
	if (c->changed != NULL)
		c->changed[0] = '\0';
	c->changed_all = 0;
}

/* c's device changes: "" when none. */
static const char *
changes_ids(struct store_conn *c)
{
	if (c->changed_all)
		return "*";
	return c->changed != NULL ? c->changed : "";
}

/* Appends id to c's changes, or makes them "every device" when the list
 * would pass STORE_CHANGES_MAX (or cannot grow). */
static void
changes_add(struct store_conn *c, const char *id, size_t n)
{
	size_t need = c->changed_len + n + 2, cap;
	char *grown;

	if (need > STORE_CHANGES_MAX) {
		c->changed_all = 1;
		return;
	}
	if (need > c->changed_cap) {
		cap = c->changed_cap == 0 ? 1024 : c->changed_cap * 2;
		while (cap < need)
			cap *= 2;
		if ((grown = realloc(c->changed, cap)) == NULL) {
			c->changed_all = 1;
			return;
		}
		c->changed = grown;
		c->changed_cap = cap;
	}
	if (c->changed_len > 0)
		c->changed[c->changed_len++] = ' ';
	memcpy(c->changed + c->changed_len, id, n + 1);
	c->changed_len += n;
}

/*
 * Queues the notifications of ids (as changes_ids gives them) on c's
 * transaction: one per STORE_CHANGES_BYTES of the list at most, split
 * between ids.  ids is changed in place and restored.  0 or OTA_EDB.
 */
static int
changes_notify(struct store_conn *c, char *ids)
{
	size_t len = strlen(ids), at = 0, end;
	int rc = 0;

	while (rc == 0 && at < len) {
		end = len;
		if (end - at > STORE_CHANGES_BYTES) {
			end = at + STORE_CHANGES_BYTES;
			while (end > at && ids[end] != ' ')
				end--;
		}
		if (end < len)
			ids[end] = '\0';
		if (db_notify(c->db, STORE_CHANNEL_DEVICES, ids + at) != 0)
			rc = store__dberr(c, "notify_devices");
		if (end < len)
			ids[end] = ' ';
		at = end + 1;
	}
	return rc;
}

/* Tells the hook of changes committed (or written in autocommit). */
static void
changes_publish(struct store_conn *c, const char *ids)
{
	if (ids[0] != '\0' && c->st != NULL && c->st->devices_fn != NULL)
		c->st->devices_fn(c->st->devices_arg, ids);
}

int
store_devices_changed(struct store_conn *c, const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	if (!db_in_transaction(c->db)) {
		/* Autocommit: the write is already durable. */
		changes_publish(c, id != NULL && n > 0 ? id : "*");
		if (db_notify(c->db, STORE_CHANNEL_DEVICES,
		        id != NULL && n > 0 ? id : "*") != 0)
			return store__dberr(c, "devices_changed");
		return 0;
	}
	if (c->changed_all)
		return 0;
	/* An id longer than a notification cannot be one (ids are far
	 * shorter): every device. */
	if (id == NULL || n == 0 || n > STORE_CHANGES_BYTES)
		c->changed_all = 1;
	else
		changes_add(c, id, n);
	return 0;
}

int
store_commit(struct store_conn *c)
{
	int rc = 0;

	/* Queued in the transaction: the other nodes hear of the change
	 * only if it commits. */
	if (c->changed_all && db_notify(c->db, STORE_CHANNEL_DEVICES, "*") != 0)
		rc = store__dberr(c, "notify_devices");
	else if (!c->changed_all && c->changed_len > 0)
		rc = changes_notify(c, c->changed);
	if (rc == 0)
		rc = db_commit(c->db) == 0 ? 0 : store__dberr(c, "commit");
	if (rc != 0) {
		store_rollback(c);
		return rc;
	}
	write_turn_end(c);
	changes_publish(c, changes_ids(c));
	changes_clear(c);
	return 0;
}

void
store_rollback(struct store_conn *c)
{
	changes_clear(c);
	/* The driver does nothing when the database already rolled back on
	 * its own (e.g. when the disk is full). */
	if (db_rollback(c->db) != 0)
		(void)store__dberr(c, "rollback");
	write_turn_end(c);
}

int
store_schema_version(struct store_conn *c, int *out_version)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_schema_version, &s)) != 0)
		goto out;
	if (db_step(s) != DB_ROW) {
		rc = store__dberr(c, "schema_version");
		goto out;
	}
	*out_version = (int)db_column_int64(s, 0);
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Version of the newest migration embedded in this binary (0 if none). */
static int
store_latest_version(void)
{
	if (store_migrations_count == 0)
		return 0;
	return store_migrations[store_migrations_count - 1].version;
}

int
store_ping(struct store_conn *c)
{
	struct db_stmt *s = NULL;
	int rc, version;

	if ((rc = store__prepare(c, sql_ping, &s)) != 0)
		goto out;
	if (db_step(s) != DB_ROW) {
		rc = store__dberr(c, "ping");
		goto out;
	}
	store__done(s);
	s = NULL;
	if ((rc = store_schema_version(c, &version)) != 0)
		goto out;
	if (version != store_latest_version()) {
		log_err("module=store op=ping schema_version=%d want=%d",
		    version, store_latest_version());
		rc = OTA_EDB;
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

void
store_now_rfc3339(char out[21])
{
	timeutil_format_rfc3339(timeutil_now_sec(), out);
}

/* Applies migration m in its own transaction unless some other process
 * applied it meanwhile. */
static int
store_migrate_one(struct store_conn *c, const struct store_migration *m)
{
	struct db_stmt *s = NULL;
	const char *sql;
	char now[21];
	int rc, version;

	if ((rc = store_begin(c)) != 0)
		goto out;
	if ((rc = store_schema_version(c, &version)) != 0)
		goto out;
	if (version >= m->version) {
		store_rollback(c);
		goto out;
	}
	sql = db_kind(c->db) == DB_KIND_POSTGRES && m->sql_pg != NULL
	          ? m->sql_pg
	          : m->sql;
	if (db_exec(c->db, sql) != 0) {
		log_err("module=store op=migrate migration=%s err=\"%s\"",
		    m->name, db_errmsg(c->db));
		rc = OTA_EDB;
		goto out;
	}
	store_now_rfc3339(now);
	if ((rc = store__prepare(c, sql_migration_insert, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, m->version) != 0 ||
	    db_bind_text(s, 2, m->name) != 0 || db_bind_text(s, 3, now) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "migrate");
		goto out;
	}
	store__done(s);
	s = NULL;
	if ((rc = store_commit(c)) != 0)
		goto out;
	log_info("module=store op=migrate migration=%s version=%d", m->name,
	    m->version);
out:
	store__done(s);
	if (rc != 0)
		store_rollback(c);
	return rc;
}

/* An image row without its version_key. */
struct store_key_row {
	int64_t id;
	char *version;
};

static int
store_key_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_key_row *r = elem;
	const char *v = db_column_text(s, 1);

	(void)arg;
	r->id = db_column_int64(s, 0);
	if ((r->version = strdup(v != NULL ? v : "")) == NULL) {
		log_err("module=store op=version_keys err=\"out of memory\"");
		return OTA_ENOMEM;
	}
	return 0;
}

static void
store_key_row_free(void *elem)
{
	free(((struct store_key_row *)elem)->version);
}

/* Writes the key of each row of v[n]; *out_done counts them. */
static int
store_keys_set(struct store_conn *c, const struct store_key_row *v, size_t n,
    size_t *out_done)
{
	char key[STORE_VERSION_KEY_MAX];
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_key_set, &s)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		store__version_key(v[i].version, key);
		if (db_bind_int64(s, 1, v[i].id) != 0 ||
		    db_bind_text(s, 2, key) != 0 || db_step(s) != DB_DONE) {
			rc = store__dberr(c, "version_keys");
			break;
		}
		store__done(s);
		(*out_done)++;
	}
	store__done(s);
	return rc;
}

/*
 * Gives every images row written before migration 0006 its version_key,
 * in one write transaction; a no-op once done (every insert writes the
 * key), so it runs at each open.  The key is semver.c's, hence C, not SQL.
 */
static int
store_backfill_version_keys(struct store_conn *c)
{
	struct store_key_row *v = NULL;
	struct db_stmt *s = NULL;
	size_t n = 0, done = 0;
	int rc;

	if ((rc = store_begin(c)) != 0)
		return rc;
	do {
		if ((rc = store__prepare(c, sql_keys_missing, &s)) != 0 ||
		    (rc = store__list(c, s, sizeof(*v), 0, store_key_row, NULL,
		         store_key_row_free, &v, &n, "version_keys")) != 0)
			goto out;
		store__done(s);
		s = NULL;
		rc = store_keys_set(c, v, n, &done);
		for (size_t i = 0; i < n; i++)
			store_key_row_free(&v[i]);
		free(v);
		v = NULL;
		if (rc != 0)
			goto out;
	} while (n > 0);
	if ((rc = store_commit(c)) != 0)
		goto out;
	if (done > 0)
		log_info("module=store op=version_keys images=%zu", done);
out:
	store__done(s);
	if (rc != 0)
		store_rollback(c);
	return rc;
}

/* Brings the schema of c's database up to the newest embedded migration,
 * or refuses (OTA_ESCHEMA) a database written by a newer otad. */
static int
store_migrate(struct store_conn *c)
{
	int rc, version;

	/* In a write transaction: several otad starting at once on one
	 * PostgreSQL create it once. */
	if (store_begin(c) != 0)
		return OTA_EDB;
	if (db_exec(c->db, sql_migrations_table) != 0) {
		rc = store__dberr(c, "migrate");
		store_rollback(c);
		return rc;
	}
	if ((rc = store_commit(c)) != 0)
		return rc;
	if ((rc = store_schema_version(c, &version)) != 0)
		return rc;
	if (version > store_latest_version()) {
		log_err("module=store op=migrate schema_version=%d "
		        "known=%d err=\"database is newer than this otad\"",
		    version, store_latest_version());
		return OTA_ESCHEMA;
	}
	for (size_t i = 0; i < store_migrations_count; i++) {
		if (store_migrations[i].version <= version)
			continue;
		if ((rc = store_migrate_one(c, &store_migrations[i])) != 0)
			return rc;
	}
	return store_backfill_version_keys(c);
}

/*
 * The database holds token hashes and the device inventory: makes path
 * and its -wal, -shm and -journal files (those that exist) readable by
 * their owner only, creating path 0600 when it is missing.  SQLite gives
 * the WAL and shared-memory files the mode of the database file, so this
 * keeps every file of the store private, whatever the umask.  Returns 0
 * or OTA_EIO (logged).
 */
static int
store_files_private(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char name[4096];
	struct stat st;
	int fd;

	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("module=store op=open path=%s err=\"%s\"", path,
		    strerror(errno));
		return OTA_EIO;
	}
	close(fd);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path,
		        suffixes[i]) >= sizeof(name))
			return OTA_EIO;
		if (lstat(name, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & 077) == 0)
			continue;
		if (chmod(name, st.st_mode & 0700) != 0) {
			log_err("module=store op=chmod path=%s err=\"%s\"",
			    name, strerror(errno));
			return OTA_EIO;
		}
		log_warn("module=store op=chmod path=%s mode=%03o "
		         "msg=\"was readable by others; now owner only\"",
		    name, (unsigned)(st.st_mode & 0700));
	}
	return 0;
}

int
store_open(const char *path, int nconns, struct store **out)
{
	return store_open_with(path, NULL, nconns, out);
}

int
store_open_with(const char *path, const struct store_options *opt, int nconns,
    struct store **out)
{
	struct store *st = NULL;
	int rc = OTA_ENOMEM;

	*out = NULL;
	if (nconns < 1 || nconns > STORE_CONNS_MAX) {
		log_err("module=store op=open connections=%d err=\"not in "
		        "1..%d\"",
		    nconns, STORE_CONNS_MAX);
		return OTA_EINVAL;
	}
	if (!db_target_is_postgres(path) &&
	    (rc = store_files_private(path)) != 0)
		return rc;
	rc = OTA_ENOMEM;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto out;
	if ((st->conns = calloc((size_t)nconns, sizeof(*st->conns))) == NULL) {
		free(st);
		st = NULL;
		goto out;
	}
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	pthread_mutex_init(&st->write_mu, NULL);
	for (int i = 0; i < nconns; i++)
		st->conns[i].st = st; /* store_begin's write turn */
	/* Migrations run alone on the first connection, before the rest of
	 * the pool exists. */
	if ((rc = store_conn_open(&st->conns[0], path, opt)) != 0)
		goto out;
	st->nconns = 1;
	if ((rc = store_migrate(&st->conns[0])) != 0)
		goto out;
	for (int i = 1; i < nconns; i++) {
		if ((rc = store_conn_open(&st->conns[i], path, opt)) != 0)
			goto out;
		st->nconns = i + 1;
	}
	for (int i = nconns - 1; i >= 0; i--) {
		st->conns[i].next_free = st->free_list;
		st->free_list = &st->conns[i];
	}
	/* A PostgreSQL target may hold a password: never logged. */
	log_info("module=store op=open database=%s connections=%d "
	         "schema_version=%d",
	    db_target_is_postgres(path) ? "postgresql" : path, nconns,
	    store_latest_version());
	*out = st;
	st = NULL;
	rc = 0;
out:
	store_close(st);
	return rc;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < st->nconns; i++) {
		store_conn_close(&st->conns[i]);
		free(st->conns[i].changed);
	}
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->write_mu);
	pthread_mutex_destroy(&st->mu);
	free(st->conns);
	free(st);
}

struct store_conn *
store_acquire(struct store *st)
{
	struct store_conn *c;

	pthread_mutex_lock(&st->mu);
	while (st->free_list == NULL)
		pthread_cond_wait(&st->cv, &st->mu);
	c = st->free_list;
	st->free_list = c->next_free;
	c->next_free = NULL;
	pthread_mutex_unlock(&st->mu);
	return c;
}

void
store_release(struct store *st, struct store_conn *c)
{
	/* A transaction left open is a caller's bug; do not let the next
	 * borrower inherit it. */
	if (db_in_transaction(c->db)) {
		log_err("module=store op=release err=\"transaction left "
		        "open; rolled back\"");
		store_rollback(c);
	}
	pthread_mutex_lock(&st->mu);
	c->next_free = st->free_list;
	st->free_list = c;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

char *
store__multi_sql(
    const char *head, const char *row, const char *tail, int ncols, size_t rows)
{
	size_t hlen = strlen(head), rlen = strlen(row), tlen = strlen(tail);
	size_t cap, len = 0, param = 1;
	int marks = 0;
	char *out;

	for (const char *p = row; *p != '\0'; p++)
		marks += *p == '?';
	if (marks != ncols || ncols < 1 || rows < 1)
		return NULL;
	/* Each '?' grows by at most 10 digits; ", " joins the rows. */
	cap = hlen + tlen + 1 + rows * (rlen + 2 + (size_t)ncols * 10);
	if ((out = malloc(cap)) == NULL)
		return NULL;
	memcpy(out, head, hlen);
	len = hlen;
	for (size_t r = 0; r < rows; r++) {
		if (r > 0) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		for (const char *p = row; *p != '\0'; p++) {
			if (*p != '?') {
				out[len++] = *p;
				continue;
			}
			len += (size_t)snprintf(
			    out + len, cap - len, "?%zu", param++);
		}
	}
	memcpy(out + len, tail, tlen + 1);
	return out;
}

size_t
store__multi_rows(const struct store_multi *m, size_t n)
{
	size_t max = STORE_MULTI_ROWS_MAX, rows = 1;

	while (max > 1 && max * (size_t)m->ncols > STORE_MULTI_PARAMS_MAX)
		max /= 2;
	if (n > max)
		n = max;
	while (rows * 2 <= n)
		rows *= 2;
	return rows;
}

int
store__multi_prepare(struct store_conn *c, struct store_multi *m, size_t n,
    struct db_stmt **out, size_t *out_rows)
{
	size_t rows = store__multi_rows(m, n);
	const char *sql;
	int k = 0;

	*out = NULL;
	*out_rows = rows;
	while (((size_t)1 << k) < rows)
		k++;
	pthread_mutex_lock(&m->mu);
	if (m->sql[k] == NULL)
		m->sql[k] =
		    store__multi_sql(m->head, m->row, m->tail, m->ncols, rows);
	sql = m->sql[k];
	pthread_mutex_unlock(&m->mu);
	if (sql == NULL) {
		log_err("module=store op=multi_prepare rows=%zu err=\"out of "
		        "memory or bad row text\"",
		    rows);
		return OTA_ENOMEM;
	}
	return store__prepare(c, sql, out);
}

void
store__touch(int64_t id, int64_t *touched, size_t max, size_t *n)
{
	if (touched == NULL || n == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (touched[i] == id)
			return;
	if (*n < max)
		touched[(*n)++] = id;
}
