/*
 * store: opens the SQLite database as a fixed pool of connections, each
 * set up the same way (pragmas, SEMVER collation, statement cache), and
 * brings the schema up to date with the embedded migrations on the first
 * connection before the others exist.  A connection is used by one thread
 * at a time (SQLITE_OPEN_NOMUTEX); the pool's mutex guards only the free
 * list.  Nothing outside store*.c sees sqlite.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "errors.h"
#include "log.h"
#include "migrations.h"
#include "semver.h"
#include "store_internal.h"
#include "timeutil.h"

#define STORE_CONNS_MAX 256

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *stmts[STORE_STMT_COUNT];
	struct store_conn *next_free;
};

struct store {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_conn *conns;
	int nconns;
	struct store_conn *free_list; /* guarded by mu */
};

/* Every connection gets these, in this order: busy_timeout first so that
 * switching to WAL waits for a lock held by another process. */
static const char *const store_pragmas[] = {
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
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
static const char sql_begin[] = "BEGIN IMMEDIATE";
/* Deferred: a read snapshot, no write lock (WAL readers never wait). */
static const char sql_begin_read[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_ping[] = "SELECT 1";

sqlite3 *
store__db(struct store_conn *c)
{
	return c->db;
}

int
store__prepare(struct store_conn *c, enum store_stmt id, const char *sql,
    sqlite3_stmt **out)
{
	assert(id >= 0 && id < STORE_STMT_COUNT);
	if (c->stmts[id] == NULL) {
		if (sqlite3_prepare_v3(c->db, sql, -1,
		        SQLITE_PREPARE_PERSISTENT, &c->stmts[id],
		        NULL) != SQLITE_OK) {
			log_err("module=store op=prepare sql=\"%s\" "
			        "err=\"%s\"",
			    sql, sqlite3_errmsg(c->db));
			c->stmts[id] = NULL;
			*out = NULL;
			return OTA_EDB;
		}
	}
	*out = c->stmts[id];
	return 0;
}

void
store__done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	/* reset repeats the last step's error, already reported. */
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
}

int
store__column_text(sqlite3_stmt *s, int col, char *dst, size_t dstsize)
{
	const unsigned char *v = sqlite3_column_text(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);

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
store__bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

int
store__bind_int64_or_null(sqlite3_stmt *s, int i, int64_t v)
{
	return v < 0 ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

int
store__dberr(struct store_conn *c, const char *op)
{
	log_err("module=store op=%s sqlite_rc=%d err=\"%s\"", op,
	    sqlite3_extended_errcode(c->db), sqlite3_errmsg(c->db));
	return OTA_EDB;
}

int
store__step_one(struct store_conn *c, sqlite3_stmt *s, const char *op)
{
	int step = sqlite3_step(s);

	if (step == SQLITE_ROW)
		return 0;
	if (step == SQLITE_DONE)
		return OTA_ENOTFOUND;
	return store__dberr(c, op);
}

int
store__find_text(struct store_conn *c, enum store_stmt id, const char *sql,
    const char *key, int64_t *out_v, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, id, sql, &s)) != 0)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = store__dberr(c, op);
		goto out;
	}
	if ((rc = store__step_one(c, s, op)) == 0 && out_v != NULL)
		*out_v = sqlite3_column_int64(s, 0);
out:
	store__done(s);
	return rc;
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
store__text_list(struct store_conn *c, enum store_stmt id, const char *sql,
    const char *key, char ***out, size_t *out_n, const char *op)
{
	sqlite3_stmt *s = NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc, step;

	*out = NULL;
	*out_n = 0;
	if ((rc = store__prepare(c, id, sql, &s)) != 0)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = store__dberr(c, op);
		goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(s, 0);

		if ((rc = store__grow(&v, &cap, n, sizeof(*v), op)) != 0)
			goto out;
		/* NULL is sqlite failing to allocate the text. */
		if (text == NULL || (v[n] = strdup(text)) == NULL) {
			log_err("module=store op=%s err=\"out of memory\"", op);
			rc = OTA_ENOMEM;
			goto out;
		}
		n++;
	}
	if (step != SQLITE_DONE) {
		rc = store__dberr(c, op);
		goto out;
	}
	*out = v;
	*out_n = n;
	v = NULL;
	rc = 0;
out:
	store__done(s);
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* Runs one revoke statement (?1 key, ?2 now); *out_changed is the number
 * of rows hit. */
static int
store_revoke_by(struct store_conn *c, enum store_stmt id, const char *sql,
    const char *key, const char *now, const char *op, int *out_changed)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, id, sql, &s)) != 0)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		rc = store__dberr(c, op);
		goto out;
	}
	*out_changed = sqlite3_changes(c->db);
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store__revoke_one(struct store_conn *c, enum store_stmt id, const char *sql,
    const char *key, const char *op)
{
	char now[21], v[LOG_VALUE_MAX];
	int rc, changed = 0;

	store_now_rfc3339(now);
	if ((rc = store_revoke_by(c, id, sql, key, now, op, &changed)) != 0)
		return rc;
	if (changed == 0)
		return OTA_ENOTFOUND;
	log_info("module=store op=%s key=%s", op, log_value(v, sizeof(v), key));
	return 0;
}

int
store__revoke(struct store_conn *c, enum store_stmt by_id,
    const char *sql_by_id, enum store_stmt by_name, const char *sql_by_name,
    const char *id_or_name, const char *op)
{
	int rc;

	/* By id first, so that a name that looks like another token's id
	 * never revokes both. */
	rc = store__revoke_one(c, by_id, sql_by_id, id_or_name, op);
	if (rc == OTA_ENOTFOUND)
		rc = store__revoke_one(c, by_name, sql_by_name, id_or_name, op);
	return rc;
}

/* sqlite collation callback: SemVer precedence (semver.h). */
static int
store_semver_collate(
    void *arg, int alen, const void *a, int blen, const void *b)
{
	(void)arg;
	return semver_cmp(a, (size_t)alen, b, (size_t)blen);
}

/* Runs one statement that needs no cache (pragmas, DDL), checking that its
 * first row's first column reads expect when expect is not NULL. */
static int
store_exec_once(struct store_conn *c, const char *sql, const char *expect)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *v;
	int rc = OTA_EDB, step;

	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store__dberr(c, "prepare");
		goto out;
	}
	step = sqlite3_step(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		store__dberr(c, "exec");
		goto out;
	}
	if (expect != NULL) {
		v = step == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
		if (v == NULL || strcasecmp((const char *)v, expect) != 0)
			log_warn("module=store op=exec sql=\"%s\" got=%s "
			         "want=%s",
			    sql, v != NULL ? (const char *)v : "none", expect);
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* Finalises c's statements and closes its handle.  NULL-handle safe. */
static void
store_conn_close(struct store_conn *c)
{
	for (int i = 0; i < STORE_STMT_COUNT; i++) {
		sqlite3_finalize(c->stmts[i]);
		c->stmts[i] = NULL;
	}
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		log_err(
		    "module=store op=close err=\"%s\"", sqlite3_errmsg(c->db));
	c->db = NULL;
}

/* Opens one connection of the pool with the pragmas and the collation. */
static int
store_conn_open(struct store_conn *c, const char *path)
{
	int rc = OTA_EDB;

	if (sqlite3_open_v2(path, &c->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK) {
		if (c->db == NULL)
			log_err("module=store op=open path=%s err=\"%s\"", path,
			    "out of memory");
		else
			log_err("module=store op=open path=%s err=\"%s\"", path,
			    sqlite3_errmsg(c->db));
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	for (size_t i = 0; i < sizeof(store_pragmas) / sizeof(*store_pragmas);
	     i++) {
		const char *expect = NULL;

		if (strstr(store_pragmas[i], "journal_mode") != NULL)
			expect = "wal";
		if (store_exec_once(c, store_pragmas[i], expect) != 0)
			goto out;
	}
	if (sqlite3_create_collation_v2(c->db, "SEMVER", SQLITE_UTF8, NULL,
	        store_semver_collate, NULL) != SQLITE_OK) {
		store__dberr(c, "create_collation");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		store_conn_close(c);
	return rc;
}

/* Runs one step of a cached statement expecting DONE (BEGIN, COMMIT...). */
static int
store_step_done(
    struct store_conn *c, enum store_stmt id, const char *sql, const char *op)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, id, sql, &s)) != 0)
		return rc;
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store__dberr(c, op);
	store__done(s);
	return rc;
}

int
store_begin(struct store_conn *c)
{
	return store_step_done(c, STORE_STMT_BEGIN, sql_begin, "begin");
}

int
store_begin_read(struct store_conn *c)
{
	return store_step_done(
	    c, STORE_STMT_BEGIN_READ, sql_begin_read, "begin_read");
}

int
store_commit(struct store_conn *c)
{
	int rc;

	rc = store_step_done(c, STORE_STMT_COMMIT, sql_commit, "commit");
	if (rc != 0)
		store_rollback(c);
	return rc;
}

void
store_rollback(struct store_conn *c)
{
	/* sqlite may already have rolled back on its own (e.g. SQLITE_FULL). */
	if (sqlite3_get_autocommit(c->db))
		return;
	(void)store_step_done(c, STORE_STMT_ROLLBACK, sql_rollback, "rollback");
}

int
store_schema_version(struct store_conn *c, int *out_version)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(
	         c, STORE_STMT_SCHEMA_VERSION, sql_schema_version, &s)) != 0)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = store__dberr(c, "schema_version");
		goto out;
	}
	*out_version = sqlite3_column_int(s, 0);
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
	sqlite3_stmt *s = NULL;
	int rc, version;

	if ((rc = store__prepare(c, STORE_STMT_PING, sql_ping, &s)) != 0)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW) {
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
	timeutil_format_rfc3339((int64_t)time(NULL), out);
}

/* Applies migration m in its own transaction unless some other process
 * applied it meanwhile. */
static int
store_migrate_one(struct store_conn *c, const struct store_migration *m)
{
	sqlite3_stmt *s = NULL;
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
	if (sqlite3_exec(c->db, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_err("module=store op=migrate migration=%s err=\"%s\"",
		    m->name, sqlite3_errmsg(c->db));
		rc = OTA_EDB;
		goto out;
	}
	store_now_rfc3339(now);
	if ((rc = store__prepare(c, STORE_STMT_MIGRATION_INSERT,
	         sql_migration_insert, &s)) != 0)
		goto out;
	if (sqlite3_bind_int(s, 1, m->version) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, m->name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 3, now, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
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

/* Brings the schema of c's database up to the newest embedded migration,
 * or refuses (OTA_ESCHEMA) a database written by a newer otad. */
static int
store_migrate(struct store_conn *c)
{
	int rc, version;

	if ((rc = store_exec_once(c, sql_migrations_table, NULL)) != 0)
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
	return 0;
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
	struct store *st = NULL;
	int rc = OTA_ENOMEM;

	*out = NULL;
	if (nconns < 1 || nconns > STORE_CONNS_MAX) {
		log_err("module=store op=open connections=%d err=\"not in "
		        "1..%d\"",
		    nconns, STORE_CONNS_MAX);
		return OTA_EINVAL;
	}
	if (!sqlite3_threadsafe()) {
		log_err("module=store op=open err=\"sqlite built without "
		        "thread support\"");
		return OTA_EDB;
	}
	if ((rc = store_files_private(path)) != 0)
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
	/* Migrations run alone on the first connection, before the rest of
	 * the pool exists. */
	if ((rc = store_conn_open(&st->conns[0], path)) != 0)
		goto out;
	st->nconns = 1;
	if ((rc = store_migrate(&st->conns[0])) != 0)
		goto out;
	for (int i = 1; i < nconns; i++) {
		if ((rc = store_conn_open(&st->conns[i], path)) != 0)
			goto out;
		st->nconns = i + 1;
	}
	for (int i = nconns - 1; i >= 0; i--) {
		st->conns[i].next_free = st->free_list;
		st->free_list = &st->conns[i];
	}
	log_info("module=store op=open path=%s connections=%d "
	         "schema_version=%d",
	    path, nconns, store_latest_version());
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
	for (int i = 0; i < st->nconns; i++)
		store_conn_close(&st->conns[i]);
	pthread_cond_destroy(&st->cv);
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
	if (!sqlite3_get_autocommit(c->db)) {
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
