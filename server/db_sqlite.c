/*
 * db_sqlite: the SQLite implementation of the database driver (db.h), the
 * one file of server/ that includes <sqlite3.h>.  It owns the connection
 * settings (busy timeout, WAL, synchronous FULL, foreign keys) and the
 * mapping of SQLite's result codes to DB_E* classes; db.c calls it through
 * db_sqlite_driver.  It keeps no global state and decides nothing about
 * the data.
 */
#include "db.h"
#include "db_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"

/* A statement; db.c caches it per SQL text and connection. */
struct sq_stmt {
	struct db_stmt base;
	sqlite3_stmt *st;
};

struct sq_conn {
	struct db_conn base;
	sqlite3 *db;
	sqlite3_stmt *tx[4]; /* BEGIN IMMEDIATE, BEGIN, COMMIT, ROLLBACK */
};

#define SQ(c) ((struct sq_conn *)(c))
#define ST(s) (((struct sq_stmt *)(s))->st)

/* Every connection gets these, in this order: busy_timeout first so that
 * switching to WAL waits for a lock held by another process.  A page cache
 * of 1 MiB rather than SQLite's 2,000 KiB: the pool holds up to 256
 * connections, each keeps its cache full once used, and a page missed is
 * read from the OS's cache (at 1M devices, 6 connections: 6 MiB less
 * resident, the poll-report writer and the events benchmark as fast;
 * bench/README.md). */
static const char *const db_pragmas[] = {
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -1024",
};

/* The transaction statements, by index of sq_conn.tx.  BEGIN (deferred)
 * is a read snapshot without a write lock (WAL readers never wait). */
enum { SQ_BEGIN_WRITE, SQ_BEGIN_READ, SQ_COMMIT, SQ_ROLLBACK };
static const char *const db_tx_sql[] = {
    "BEGIN IMMEDIATE", "BEGIN", "COMMIT", "ROLLBACK"};

/* SQLite's (extended) result code as a DB_E* class. */
static int
db_map(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return DB_EUNIQUE;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return DB_EFOREIGN;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_TRIGGER:
		return DB_ECHECK;
	}
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return DB_EFULL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return DB_EBUSY;
	case SQLITE_NOMEM:
		return DB_ENOMEM;
	}
	return DB_EERROR;
}

/* Runs one uncached statement (a pragma), checking that its first row's
 * first column reads expect when expect is not NULL. */
static int
db_exec_once(struct db_conn *c, const char *sql, const char *expect)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *v;
	int rc, step;

	if ((rc = sqlite3_prepare_v2(SQ(c)->db, sql, -1, &s, NULL)) !=
	    SQLITE_OK) {
		rc = db_map(rc);
		goto out;
	}
	step = sqlite3_step(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = db_map(step);
		goto out;
	}
	if (expect != NULL) {
		v = step == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
		if (v == NULL || strcasecmp((const char *)v, expect) != 0)
			log_warn("module=db op=exec sql=\"%s\" got=%s want=%s",
			    sql, v != NULL ? (const char *)v : "none", expect);
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* Applies the connection settings. */
static int
db_setup(struct db_conn *c)
{
	int rc;

	sqlite3_extended_result_codes(SQ(c)->db, 1);
	for (size_t i = 0; i < sizeof(db_pragmas) / sizeof(*db_pragmas); i++) {
		const char *expect = NULL;

		if (strstr(db_pragmas[i], "journal_mode") != NULL)
			expect = "wal";
		if ((rc = db_exec_once(c, db_pragmas[i], expect)) != 0)
			return rc;
	}
	return 0;
}

static int
sq_open(const char *target, const struct db_options *opt, struct db_conn **out)
{
	struct sq_conn *q = NULL;
	int rc = DB_ENOMEM;

	(void)opt;
	*out = NULL;
	if (!sqlite3_threadsafe()) {
		log_err("module=db op=open err=\"sqlite built without thread "
		        "support\"");
		return DB_EERROR;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_err(
		    "module=db op=open path=%s err=\"out of memory\"", target);
		return DB_ENOMEM;
	}
	q->base.drv = &db_sqlite_driver;
	rc = sqlite3_open_v2(target, &q->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		log_err("module=db op=open path=%s err=\"%s\"", target,
		    q->db != NULL ? sqlite3_errmsg(q->db) : "out of memory");
		rc = q->db != NULL ? db_map(sqlite3_extended_errcode(q->db))
		                   : DB_ENOMEM;
		goto out;
	}
	if ((rc = db_setup(&q->base)) != 0) {
		log_err("module=db op=open path=%s sqlite_rc=%d err=\"%s\"",
		    target, sqlite3_extended_errcode(q->db),
		    sqlite3_errmsg(q->db));
		goto out;
	}
	*out = &q->base;
	q = NULL;
out:
	if (q != NULL) {
		sqlite3_close(q->db);
		free(q);
	}
	return rc;
}

static void
sq_close(struct db_conn *c)
{
	for (size_t i = 0; i < sizeof(SQ(c)->tx) / sizeof(*SQ(c)->tx); i++)
		sqlite3_finalize(SQ(c)->tx[i]);
	if (SQ(c)->db != NULL && sqlite3_close(SQ(c)->db) != SQLITE_OK)
		log_err(
		    "module=db op=close err=\"%s\"", sqlite3_errmsg(SQ(c)->db));
	free(c);
}

static int
sq_exec(struct db_conn *c, const char *sql)
{
	int rc = sqlite3_exec(SQ(c)->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

/*
 * A bulk write's settings, and back: a page cache of 16 MiB rather
 * than db_pragmas' 1 MiB (lowering it again frees the pages above it),
 * and statement journals in memory: a multi-row INSERT keeps the
 * pages it changes in one, which spills to a temporary file past 64 KiB
 * (a pwrite per page) unless temp_store is MEMORY.  The journal of one
 * statement of 64 rows is well under a MiB.
 */
static int
sq_bulk(struct db_conn *c, int on)
{
	static const char *const sql[2] = {
	    "PRAGMA cache_size = -1024; PRAGMA temp_store = DEFAULT",
	    "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY"};

	return sq_exec(c, sql[on != 0]);
}

/* A new statement of sql (db.c caches it). */
static int
sq_prepare(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	struct sq_stmt *e;
	int rc;

	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return DB_ENOMEM;
	rc = sqlite3_prepare_v3(
	    SQ(c)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(e->st);
		free(e);
		return db_map(rc);
	}
	*out = &e->base;
	return 0;
}

static void
sq_finalize(struct db_stmt *s)
{
	sqlite3_finalize(ST(s));
	free(s);
}

static int
sq_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	int rc = sqlite3_bind_int64(ST(s), i, v);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

static int
sq_bind_double(struct db_stmt *s, int i, double v)
{
	int rc = sqlite3_bind_double(ST(s), i, v);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

static int
sq_bind_text(struct db_stmt *s, int i, const char *v)
{
	int rc = sqlite3_bind_text(ST(s), i, v, -1, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

static int
sq_bind_blob(struct db_stmt *s, int i, const void *p, size_t n)
{
	int rc = sqlite3_bind_blob64(ST(s), i, p, n, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

static int
sq_bind_null(struct db_stmt *s, int i)
{
	int rc = sqlite3_bind_null(ST(s), i);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

static int
sq_step(struct db_stmt *s)
{
	int rc = sqlite3_step(ST(s));

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return db_map(rc);
}

static int64_t
sq_column_int64(struct db_stmt *s, int col)
{
	return sqlite3_column_int64(ST(s), col);
}

static double
sq_column_double(struct db_stmt *s, int col)
{
	return sqlite3_column_double(ST(s), col);
}

static const char *
sq_column_text(struct db_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(ST(s), col);
}

static const void *
sq_column_blob(struct db_stmt *s, int col)
{
	return sqlite3_column_blob(ST(s), col);
}

static size_t
sq_column_bytes(struct db_stmt *s, int col)
{
	return (size_t)sqlite3_column_bytes(ST(s), col);
}

static int
sq_column_is_null(struct db_stmt *s, int col)
{
	return sqlite3_column_type(ST(s), col) == SQLITE_NULL;
}

static void
sq_reset(struct db_stmt *s)
{
	/* reset repeats the last step's error, already returned. */
	(void)sqlite3_reset(ST(s));
	(void)sqlite3_clear_bindings(ST(s));
}

static int64_t
sq_changes(struct db_conn *c)
{
	return sqlite3_changes64(SQ(c)->db);
}

/* Runs transaction statement i of db_tx_sql, prepared once per connection,
 * expecting no rows. */
static int
sq_step_done(struct db_conn *c, size_t i)
{
	sqlite3_stmt **st = &SQ(c)->tx[i];
	int rc;

	if (*st == NULL) {
		rc = sqlite3_prepare_v3(SQ(c)->db, db_tx_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, st, NULL);
		if (rc != SQLITE_OK)
			return db_map(rc);
	}
	rc = sqlite3_step(*st);
	(void)sqlite3_reset(*st);
	return rc == SQLITE_DONE  ? 0
	       : rc == SQLITE_ROW ? DB_EERROR
	                          : db_map(rc);
}

static int
sq_begin(struct db_conn *c, enum db_begin_kind kind)
{
	return sq_step_done(
	    c, kind == DB_BEGIN_WRITE ? SQ_BEGIN_WRITE : SQ_BEGIN_READ);
}

static int
sq_commit(struct db_conn *c)
{
	return sq_step_done(c, SQ_COMMIT);
}

static int
sq_rollback(struct db_conn *c)
{
	/* SQLite may already have rolled back on its own (e.g. on FULL). */
	if (sqlite3_get_autocommit(SQ(c)->db))
		return 0;
	return sq_step_done(c, SQ_ROLLBACK);
}

static int
sq_in_transaction(struct db_conn *c)
{
	return !sqlite3_get_autocommit(SQ(c)->db);
}

static const char *
sq_errmsg(struct db_conn *c)
{
	return sqlite3_errmsg(SQ(c)->db);
}

static int
sq_errcode(struct db_conn *c)
{
	return sqlite3_extended_errcode(SQ(c)->db);
}

static int
sq_notify(struct db_conn *c, const char *channel, const char *payload)
{
	(void)c;
	(void)channel;
	(void)payload;
	return 0;
}

static int
sq_listen(struct db_conn *c, const char *channel)
{
	(void)c;
	(void)channel;
	return 0;
}

static int
sq_wait_notify(struct db_conn *c, int timeout_ms, char *channel_out, size_t n,
    char *payload_out, size_t payload_n)
{
	struct timespec ts;

	(void)c;
	(void)payload_out;
	(void)payload_n;
	if (n > 0)
		channel_out[0] = '\0';
	if (timeout_ms <= 0)
		return 0;
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
	return 0;
}

const struct db_driver db_sqlite_driver = {
    .kind = DB_KIND_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_text = sq_column_text,
    .column_blob = sq_column_blob,
    .column_bytes = sq_column_bytes,
    .column_is_null = sq_column_is_null,
    .reset = sq_reset,
    .changes = sq_changes,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .notify = sq_notify,
    .listen = sq_listen,
    .wait_notify = sq_wait_notify,
    .errmsg = sq_errmsg,
    .errcode = sq_errcode,
    .bulk = sq_bulk,
};
