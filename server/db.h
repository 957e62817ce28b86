/*
 * db: the database driver, the one seam between the store and the database
 * underneath (SQLite today, in db_sqlite.c; PostgreSQL through libpq next).
 * Modelled on SQLite's VFS: a handful of calls, and nothing above them
 * knows which database answers.  The store_*.c files speak only this API
 * and write portable SQL: numbered ?N parameters, ON CONFLICT DO NOTHING,
 * RETURNING, no collations, no rowid, no pragmas (those are the driver's).
 *
 * A connection is used by one thread at a time; the driver keeps no global
 * state.  Every call that can fail returns 0 (or a row/done code) or a
 * negative DB_E* code; db_errmsg() holds the database's own text of the
 * last failure, which the caller logs once.
 */
#ifndef OTAD_DB_H
#define OTAD_DB_H

#include <stddef.h>
#include <stdint.h>

struct db_conn; /* one open connection */
struct db_stmt; /* a prepared statement, owned and cached by its conn */

/* What db_step returns besides an error. */
enum {
	DB_DONE = 0, /* the statement ran to its end: no (more) rows */
	DB_ROW = 1   /* a row is ready: read its columns, step again */
};

/* Failures, each a class a caller may act on; every other failure is
 * DB_EERROR.  All negative; 0 is success. */
enum db_error {
	DB_EERROR = -1,   /* any other failure (I/O, misuse, syntax) */
	DB_EUNIQUE = -2,  /* a UNIQUE or PRIMARY KEY constraint */
	DB_EFOREIGN = -3, /* a FOREIGN KEY constraint */
	DB_ECHECK = -4,   /* CHECK, NOT NULL, or a trigger's abort */
	DB_EFULL = -5,    /* disk or database full */
	DB_EBUSY = -6,    /* locked by another connection past the timeout */
	DB_ENOMEM = -7    /* the driver could not allocate */
};

/* Transaction kinds of db_begin. */
enum db_begin_kind {
	DB_BEGIN_READ, /* a consistent snapshot; takes no write lock */
	DB_BEGIN_WRITE /* takes the write lock now (SQLite BEGIN IMMEDIATE),
	                  so two writers never deadlock on an upgrade */
};

/*
 * Connection settings that are not part of the target: for PostgreSQL,
 * the password (read from a file by the caller, never logged) and the TLS
 * settings, each overriding the target's own when not NULL.  SQLite uses
 * none of them.
 */
struct db_options {
	const char *password;
	const char *sslmode;     /* disable, require, verify-ca, verify-full */
	const char *sslrootcert; /* CA file for verify-ca / verify-full */
};

/* 1 when target names a PostgreSQL database: a postgresql:// or
 * postgres:// URI, or a keyword conninfo ("host=... dbname=...");
 * otherwise it is the path of a SQLite file. */
int db_target_is_postgres(const char *target);

/*
 * Opens a connection to target with the driver its form names (see
 * db_target_is_postgres) and that driver's settings applied.  SQLite: the
 * file is created when missing; busy timeout 5 s, WAL, synchronous FULL,
 * foreign keys on.  PostgreSQL: the database must exist, in UTF8 with the
 * C collation (so text orders by bytes, as on SQLite); lock timeout 10 s.
 * opt may be NULL.  Returns 0 with a new connection in *out (free with
 * db_close), DB_ENOMEM, or DB_EERROR logged once with the database's
 * text (never the password); *out is NULL on failure.
 */
int db_open(
    const char *target, const struct db_options *opt, struct db_conn **out);

/* Finalizes every cached statement and closes c.  NULL-safe. */
void db_close(struct db_conn *c);

/*
 * Runs sql, one or more statements separated by ';' that return no rows
 * (schema migrations, DDL).  Returns 0 or a DB_E* code (db_errmsg says
 * why).  Not cached: not for the hot path.
 */
int db_exec(struct db_conn *c, const char *sql);

/*
 * Returns in *out the statement of sql, prepared on first use and cached
 * on c for its life.  The cache is keyed by the address of sql, so sql
 * must be a string with static storage (a static const char in the store
 * file that uses it) whose text never changes.  The statement is borrowed:
 * bind, step, read, then db_reset before the next use.  Returns 0, or
 * DB_EERROR / DB_ENOMEM with *out NULL.
 */
int db_prepare(struct db_conn *c, const char *sql, struct db_stmt **out);

/*
 * Binds parameter i (1-based: ?1 is 1).  Text and blobs are borrowed, not
 * copied: they must stay valid until db_reset.  db_bind_text binds NULL
 * when v is NULL.  Each returns 0 or DB_EERROR (bad index) / DB_ENOMEM.
 */
int db_bind_int64(struct db_stmt *s, int i, int64_t v);
int db_bind_text(struct db_stmt *s, int i, const char *v);
int db_bind_blob(struct db_stmt *s, int i, const void *p, size_t n);
int db_bind_null(struct db_stmt *s, int i);
int db_bind_double(struct db_stmt *s, int i, double v);

/*
 * Runs s to its next row: DB_ROW (read the columns), DB_DONE, or a
 * negative DB_E* code (a constraint class, DB_EBUSY, DB_EFULL, ...).
 */
int db_step(struct db_stmt *s);

/*
 * The columns of the current row (0-based), valid until the next db_step
 * or db_reset of s.  db_column_text returns NULL for SQL NULL and a
 * NUL-terminated string otherwise; db_column_blob returns NULL for NULL
 * or an empty blob; db_column_bytes is the length in bytes of the text or
 * blob.  db_column_is_null tells NULL from 0 and "".
 */
int64_t db_column_int64(struct db_stmt *s, int col);
double db_column_double(struct db_stmt *s, int col);
const char *db_column_text(struct db_stmt *s, int col);
const void *db_column_blob(struct db_stmt *s, int col);
size_t db_column_bytes(struct db_stmt *s, int col);
int db_column_is_null(struct db_stmt *s, int col);

/* Makes s ready for its next use: ends the run, clears the bindings.
 * NULL-safe; never fails (an error of the run was returned by db_step). */
void db_reset(struct db_stmt *s);

/* The number of rows the last INSERT, UPDATE or DELETE run on c changed
 * (not counting ON CONFLICT DO NOTHING skips or trigger changes). */
int64_t db_changes(struct db_conn *c);

/*
 * Transactions: db_begin opens one of the given kind; db_commit makes it
 * durable (returns only once it is); db_rollback undoes it and is safe to
 * call when none is open.  Each returns 0 or a DB_E* code (db_commit:
 * DB_EBUSY, DB_EFULL or DB_EERROR, the transaction then still open for
 * db_rollback).
 */
int db_begin(struct db_conn *c, enum db_begin_kind kind);
int db_commit(struct db_conn *c);
int db_rollback(struct db_conn *c);

/* 1 when a transaction is open on c (db_begin ran and neither db_commit
 * nor db_rollback ended it, nor the database on its own after a failure
 * such as DB_EFULL), else 0.  Lets a store function join its caller's
 * transaction or open its own. */
int db_in_transaction(struct db_conn *c);

/*
 * Marks the start (on = 1) or the end (on = 0) of a bulk write on c,
 * outside a transaction: one transaction of thousands of rows.  The
 * driver may give c more memory while it lasts (SQLite: a larger page
 * cache, and statement journals in memory rather than in a temporary
 * file) and takes it back at the end.  Returns 0 or a DB_E* code; a
 * failure changes nothing the caller must undo.
 */
int db_bulk(struct db_conn *c, int on);

/* Which database answers on c: the one fact the store may branch on, and
 * only to pick a migration's text written for that database. */
enum db_kind { DB_KIND_SQLITE, DB_KIND_POSTGRES };
enum db_kind db_kind(struct db_conn *c);

/*
 * Notifications between the processes sharing one database (PostgreSQL's
 * LISTEN/NOTIFY; with SQLite there is one process and nothing to hear).
 * db_notify queues payload (may be "") on channel (a plain identifier of
 * [a-z0-9_]): sent when the transaction open on c commits, or at once
 * outside one; dropped on rollback.  db_listen makes c hear channel from
 * now on.  db_wait_notify waits up to timeout_ms for one notification on
 * a listening connection: 1 with its channel copied into channel_out
 * (truncated to n) and its payload into payload_out (truncated to
 * payload_n; payload_out may be NULL), 0 at the timeout, or a negative DB_E*
 * code (the connection is lost: close it, open a new one, listen again and
 * assume that notifications were missed).  SQLite: db_notify and db_listen do
 * nothing and return 0; db_wait_notify sleeps timeout_ms and returns 0.
 */
int db_notify(struct db_conn *c, const char *channel, const char *payload);
int db_listen(struct db_conn *c, const char *channel);
int db_wait_notify(struct db_conn *c, int timeout_ms, char *channel_out,
    size_t n, char *payload_out, size_t payload_n);

/* The database's own text for the last failure on c (borrowed until the
 * next call on c), and its numeric code in the database's terms (SQLite's
 * extended result code), for the one log line of a failure. */
const char *db_errmsg(struct db_conn *c);
int db_errcode(struct db_conn *c);

#endif
