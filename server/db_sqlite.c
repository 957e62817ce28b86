/*
 * db_sqlite: the SQLite implementation of the database driver (db.h), the
 * one file of server/ that includes <sqlite3.h>.  It owns the connection
 * settings (busy timeout, WAL, synchronous FULL, foreign keys), the
 * per-connection statement cache keyed by the address of the SQL text,
 * and the mapping of SQLite's result codes to DB_E* classes.  It keeps no
 * global state and decides nothing about the data.
 */
#include "db.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"

/* A cached statement: allocated once per SQL text and connection, so the
 * pointer a caller borrows stays valid when the table grows. */
struct db_stmt {
	const char *sql; /* the key: the caller's static text */
	sqlite3_stmt *st;
};

struct db_conn {
	sqlite3 *db;
	struct db_stmt **slots; /* open addressing, linear probing */
	size_t cap;             /* a power of two, or 0 */
	size_t n;               /* slots in use */
};

/* Every connection gets these, in this order: busy_timeout first so that
 * switching to WAL waits for a lock held by another process. */
static const char *const db_pragmas[] = {
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
};

static const char sql_begin_write[] = "BEGIN IMMEDIATE";
/* Deferred: a read snapshot, no write lock (WAL readers never wait). */
static const char sql_begin_read[] = "BEGIN";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";

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

	if ((rc = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL)) != SQLITE_OK) {
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

	sqlite3_extended_result_codes(c->db, 1);
	for (size_t i = 0; i < sizeof(db_pragmas) / sizeof(*db_pragmas); i++) {
		const char *expect = NULL;

		if (strstr(db_pragmas[i], "journal_mode") != NULL)
			expect = "wal";
		if ((rc = db_exec_once(c, db_pragmas[i], expect)) != 0)
			return rc;
	}
	return 0;
}

int
db_open(const char *target, struct db_conn **out)
{
	struct db_conn *c = NULL;
	int rc = DB_ENOMEM;

	*out = NULL;
	if (!sqlite3_threadsafe()) {
		log_err("module=db op=open err=\"sqlite built without thread "
		        "support\"");
		return DB_EERROR;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err(
		    "module=db op=open path=%s err=\"out of memory\"", target);
		return DB_ENOMEM;
	}
	rc = sqlite3_open_v2(target, &c->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		log_err("module=db op=open path=%s err=\"%s\"", target,
		    c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
		rc = c->db != NULL ? db_map(sqlite3_extended_errcode(c->db))
		                   : DB_ENOMEM;
		goto out;
	}
	if ((rc = db_setup(c)) != 0) {
		log_err("module=db op=open path=%s sqlite_rc=%d err=\"%s\"",
		    target, sqlite3_extended_errcode(c->db),
		    sqlite3_errmsg(c->db));
		goto out;
	}
	*out = c;
	c = NULL;
out:
	db_close(c);
	return rc;
}

void
db_close(struct db_conn *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cap; i++) {
		if (c->slots[i] == NULL)
			continue;
		sqlite3_finalize(c->slots[i]->st);
		free(c->slots[i]);
	}
	free(c->slots);
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		log_err("module=db op=close err=\"%s\"", sqlite3_errmsg(c->db));
	free(c);
}

int
db_exec(struct db_conn *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

/* The home slot of key in a table of cap (a power of two) slots. */
static size_t
db_slot(const char *key, size_t cap)
{
	uint64_t k = (uint64_t)(uintptr_t)key;

	return (size_t)((k * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (cap - 1);
}

/* Doubles the statement table (64 slots at first), keeping it at most half
 * full so that probes stay short.  Returns 0 or DB_ENOMEM. */
static int
db_cache_grow(struct db_conn *c)
{
	size_t cap = c->cap == 0 ? 64 : c->cap * 2;
	struct db_stmt **slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return DB_ENOMEM;
	for (size_t i = 0; i < c->cap; i++) {
		size_t j;

		if (c->slots[i] == NULL)
			continue;
		j = db_slot(c->slots[i]->sql, cap);
		while (slots[j] != NULL)
			j = (j + 1) & (cap - 1);
		slots[j] = c->slots[i];
	}
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
	return 0;
}

/* Prepares sql into a new cache entry at its slot. */
static int
db_cache_add(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	struct db_stmt *e;
	size_t j;
	int rc;

	if ((c->n + 1) * 2 > c->cap && (rc = db_cache_grow(c)) != 0)
		return rc;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return DB_ENOMEM;
	rc = sqlite3_prepare_v3(
	    c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(e->st);
		free(e);
		return db_map(rc);
	}
	e->sql = sql;
	j = db_slot(sql, c->cap);
	while (c->slots[j] != NULL)
		j = (j + 1) & (c->cap - 1);
	c->slots[j] = e;
	c->n++;
	*out = e;
	return 0;
}

int
db_prepare(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	*out = NULL;
	if (c->cap != 0) {
		size_t j = db_slot(sql, c->cap);

		for (; c->slots[j] != NULL; j = (j + 1) & (c->cap - 1)) {
			if (c->slots[j]->sql == sql) {
				*out = c->slots[j];
				return 0;
			}
		}
	}
	return db_cache_add(c, sql, out);
}

int
db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	int rc = sqlite3_bind_int64(s->st, i, v);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

int
db_bind_double(struct db_stmt *s, int i, double v)
{
	int rc = sqlite3_bind_double(s->st, i, v);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

int
db_bind_text(struct db_stmt *s, int i, const char *v)
{
	int rc = sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

int
db_bind_blob(struct db_stmt *s, int i, const void *p, size_t n)
{
	int rc = sqlite3_bind_blob64(s->st, i, p, n, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

int
db_bind_null(struct db_stmt *s, int i)
{
	int rc = sqlite3_bind_null(s->st, i);

	return rc == SQLITE_OK ? 0 : db_map(rc);
}

int
db_step(struct db_stmt *s)
{
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return db_map(rc);
}

int64_t
db_column_int64(struct db_stmt *s, int col)
{
	return sqlite3_column_int64(s->st, col);
}

double
db_column_double(struct db_stmt *s, int col)
{
	return sqlite3_column_double(s->st, col);
}

const char *
db_column_text(struct db_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s->st, col);
}

const void *
db_column_blob(struct db_stmt *s, int col)
{
	return sqlite3_column_blob(s->st, col);
}

size_t
db_column_bytes(struct db_stmt *s, int col)
{
	return (size_t)sqlite3_column_bytes(s->st, col);
}

int
db_column_is_null(struct db_stmt *s, int col)
{
	return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

void
db_reset(struct db_stmt *s)
{
	if (s == NULL)
		return;
	/* reset repeats the last step's error, already returned. */
	(void)sqlite3_reset(s->st);
	(void)sqlite3_clear_bindings(s->st);
}

int64_t
db_changes(struct db_conn *c)
{
	return sqlite3_changes64(c->db);
}

/* Runs one cached statement expecting no rows (BEGIN, COMMIT...). */
static int
db_step_done(struct db_conn *c, const char *sql)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = db_prepare(c, sql, &s)) != 0)
		return rc;
	rc = db_step(s);
	db_reset(s);
	return rc == DB_DONE ? 0 : rc < 0 ? rc : DB_EERROR;
}

int
db_begin(struct db_conn *c, enum db_begin_kind kind)
{
	return db_step_done(
	    c, kind == DB_BEGIN_WRITE ? sql_begin_write : sql_begin_read);
}

int
db_commit(struct db_conn *c)
{
	return db_step_done(c, sql_commit);
}

int
db_rollback(struct db_conn *c)
{
	/* SQLite may already have rolled back on its own (e.g. on FULL). */
	if (sqlite3_get_autocommit(c->db))
		return 0;
	return db_step_done(c, sql_rollback);
}

int
db_in_transaction(struct db_conn *c)
{
	return !sqlite3_get_autocommit(c->db);
}

const char *
db_errmsg(struct db_conn *c)
{
	return sqlite3_errmsg(c->db);
}

int
db_errcode(struct db_conn *c)
{
	return sqlite3_extended_errcode(c->db);
}

enum db_kind
db_kind(struct db_conn *c)
{
	(void)c;
	return DB_KIND_SQLITE;
}

int
db_notify(struct db_conn *c, const char *channel, const char *payload)
{
	(void)c;
	(void)channel;
	(void)payload;
	return 0;
}

int
db_listen(struct db_conn *c, const char *channel)
{
	(void)c;
	(void)channel;
	return 0;
}

int
db_wait_notify(struct db_conn *c, int timeout_ms, char *channel_out, size_t n)
{
	struct timespec ts;

	(void)c;
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
