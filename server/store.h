/*
 * store: the database, through the driver (db.h, which owns the
 * connection settings).  Owns opening, the embedded migrations (applied in
 * order, each in its own transaction, recorded in schema_migrations; a
 * database newer than this binary is refused, and images rows get their
 * version_key) and a small pool of connections so HTTP threads never
 * share one.  All SQL of otad lives in store.c and the store_*.c files;
 * only db_sqlite.c includes sqlite3.h.
 */
#ifndef OTAD_STORE_H
#define OTAD_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_conn;

/*
 * Opens (creating if needed) the database at path with nconns pooled
 * connections (1..256), applies pending migrations and checks the schema
 * version.  Returns 0 and *out, or OTA_EDB (logged with sqlite's text) or
 * OTA_ESCHEMA (database written by a newer otad; nothing was changed).
 */
int store_open(const char *path, int nconns, struct store **out);

/* Closes every connection (all must have been released).  NULL-safe. */
void store_close(struct store *st);

/*
 * Borrows a connection, waiting while all are in use.  Never NULL.  Give
 * it back with store_release from the same thread.
 */
struct store_conn *store_acquire(struct store *st);
void store_release(struct store *st, struct store_conn *c);

/*
 * Transactions on one connection.  store_begin starts BEGIN IMMEDIATE (so
 * a writer waits for the lock up front rather than failing at commit).
 * store_commit returns 0 only when the commit is durable; on failure the
 * transaction has been rolled back.  store_rollback is safe to call when
 * no transaction is open.  Return 0 or OTA_EDB.
 */
int store_begin(struct store_conn *c);
/* BEGIN (deferred): one consistent snapshot for several reads, ended by
 * store_commit; takes no write lock (do not write in it: a write would
 * have to upgrade the snapshot and may fail busy). */
int store_begin_read(struct store_conn *c);
int store_commit(struct store_conn *c);
void store_rollback(struct store_conn *c);

/* 0 when the database answers a trivial query and is at the schema
 * version this binary knows; OTA_EDB otherwise.  For /readyz. */
int store_ping(struct store_conn *c);

/* Highest migration version applied (and known to this binary). */
int store_schema_version(struct store_conn *c, int *out_version);

/* Current UTC time as RFC 3339 with seconds ("2026-11-21T18:00:00Z"). */
void store_now_rfc3339(char out[21]);

#endif
