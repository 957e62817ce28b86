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
 * Opens (creating if needed) the SQLite database at path (or the
 * PostgreSQL database path names: see store_open_with) with nconns pooled
 * connections (1..256), applies pending migrations and checks the schema
 * version.  Returns 0 and *out, or OTA_EDB (logged with sqlite's text) or
 * OTA_ESCHEMA (database written by a newer otad; nothing was changed).
 */
int store_open(const char *path, int nconns, struct store **out);

/* What a PostgreSQL connection needs besides its target: the password
 * (never logged) and TLS settings, each NULL to keep the target's own. */
struct store_options {
	const char *password;
	const char *sslmode;
	const char *sslrootcert;
};

/*
 * store_open for any database: target is a SQLite path, or a PostgreSQL
 * URI (postgresql://...) or keyword conninfo (host=... dbname=...), which
 * must name an existing UTF8 database with collation C; opt may be NULL.
 * Several otad may open one PostgreSQL database at once: migrations run
 * once, under the write lock.  Returns as store_open.
 */
int store_open_with(const char *target, const struct store_options *opt,
    int nconns, struct store **out);

/* 1 when target names a PostgreSQL database rather than a SQLite file. */
int store_target_is_postgres(const char *target);

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

/*
 * Device changes: every store function that changes what a poll reads of
 * a device (its tokens, hardware, reported hardware or version, existence,
 * group memberships, a group) reports it with store_devices_changed.  The
 * reports of a transaction are kept on its connection and, once it
 * commits, handed to the hook (dropped on rollback); an autocommit write
 * reports after it ran.  On a shared database (PostgreSQL) they are also
 * sent to the other nodes at the commit (channel STORE_CHANNEL_DEVICES,
 * the same payload).  ids is device ids separated by single spaces, or
 * "*" for "possibly every device" (a bulk change, or more ids than a
 * transaction keeps: STORE_CHANGES_MAX bytes).  A notification carries
 * at most STORE_CHANGES_BYTES of them: a longer list is sent as several.
 */
#define STORE_CHANNEL_DEVICES "otad_devices"
#define STORE_CHANGES_BYTES 7900 /* under PostgreSQL's payload limit */
#define STORE_CHANGES_MAX (256 * 1024)

/* Sets the hook called with the ids of each committed change (on the
 * committing thread, with no lock of the store held; it must not call
 * the store).  Call before the pool is used; fn NULL: none. */
void store_set_devices_hook(
    struct store *st, void (*fn)(void *arg, const char *ids), void *arg);

/*
 * Reports that device id changed (NULL: possibly every device) in the
 * transaction open on c, or in the autocommit write just run on it.
 * Returns 0, or OTA_EDB (logged) when the notification of an autocommit
 * write could not be sent (this process's hook was told); inside a
 * transaction it never fails (past STORE_CHANGES_MAX the report becomes
 * "*").
 */
int store_devices_changed(struct store_conn *c, const char *id);

/* 0 when the database answers a trivial query and is at the schema
 * version this binary knows; OTA_EDB otherwise.  For /readyz. */
int store_ping(struct store_conn *c);

/* Highest migration version applied (and known to this binary). */
int store_schema_version(struct store_conn *c, int *out_version);

/* Current UTC time as RFC 3339 with seconds ("2026-11-21T18:00:00Z"). */
void store_now_rfc3339(char out[21]);

#endif
