/*
 * db_internal: what a database driver (db_sqlite.c, db_pg.c) gives db.c,
 * which owns the public API of db.h, picks the driver of a target and
 * keeps the per-connection statement cache.  Only db.c and the drivers
 * include this file.  A driver's connection and statement structs start
 * with the base structs below, so db.c reaches the driver through them.
 */
#ifndef OTAD_DB_INTERNAL_H
#define OTAD_DB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The first member of every driver's connection. */
struct db_conn {
	const struct db_driver *drv;
	struct db_stmt **slots; /* statement cache: open addressing */
	size_t cap;             /* a power of two, or 0 */
	size_t n;               /* slots in use */
};

/* The first member of every driver's statement. */
struct db_stmt {
	struct db_conn *conn;
	const char *sql; /* the cache key: the caller's static text */
};

/* A driver: every call of db.h but db_open/db_close/db_prepare's cache,
 * with db.h's contract. */
struct db_driver {
	enum db_kind kind;
	int (*open)(const char *target, const struct db_options *opt,
	    struct db_conn **out);
	void (*close)(struct db_conn *c);
	int (*exec)(struct db_conn *c, const char *sql);
	/* A new statement of sql (not cached: db.c caches it). */
	int (*prepare)(
	    struct db_conn *c, const char *sql, struct db_stmt **out);
	void (*finalize)(struct db_stmt *s);
	int (*bind_int64)(struct db_stmt *s, int i, int64_t v);
	int (*bind_double)(struct db_stmt *s, int i, double v);
	int (*bind_text)(struct db_stmt *s, int i, const char *v);
	int (*bind_blob)(struct db_stmt *s, int i, const void *p, size_t n);
	int (*bind_null)(struct db_stmt *s, int i);
	int (*step)(struct db_stmt *s);
	int64_t (*column_int64)(struct db_stmt *s, int col);
	double (*column_double)(struct db_stmt *s, int col);
	const char *(*column_text)(struct db_stmt *s, int col);
	const void *(*column_blob)(struct db_stmt *s, int col);
	size_t (*column_bytes)(struct db_stmt *s, int col);
	int (*column_is_null)(struct db_stmt *s, int col);
	void (*reset)(struct db_stmt *s);
	int64_t (*changes)(struct db_conn *c);
	int (*begin)(struct db_conn *c, enum db_begin_kind kind);
	int (*commit)(struct db_conn *c);
	int (*rollback)(struct db_conn *c);
	int (*in_transaction)(struct db_conn *c);
	int (*notify)(
	    struct db_conn *c, const char *channel, const char *payload);
	int (*listen)(struct db_conn *c, const char *channel);
	int (*wait_notify)(struct db_conn *c, int timeout_ms, char *channel_out,
	    size_t n, char *payload_out, size_t payload_n);
	const char *(*errmsg)(struct db_conn *c);
	int (*errcode)(struct db_conn *c);
	/* NULL when the driver has nothing to change for a bulk write. */
	int (*bulk)(struct db_conn *c, int on);
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pg_driver;

#endif
