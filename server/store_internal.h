/*
 * store_internal: what store.c shares with the store_*.c files and nobody
 * else: the connection's driver handle (db.h), the helpers every store
 * file uses, and the one way driver errors become OTA_EDB.  A statement is
 * a static const char in the file that uses it, cached by the driver under
 * that address (a fragment two files share is a STORE_SQL_ macro here).
 */
#ifndef OTAD_STORE_INTERNAL_H
#define OTAD_STORE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "semver.h"
#include "store.h"

/* The rollouts whose image does not list hardware ?2, as a subquery
 * (a rollout whose image was deleted is left out): what a device moved to
 * hardware ?2 can no longer install.  The one home of that rule for
 * store_telemetry_cancel_unfit and store_ddi_actions_cancel_unfit. */
#define STORE_SQL_ROLLOUTS_UNFIT                                               \
	"(SELECT r.id FROM rollouts r WHERE r.image_id IS NOT NULL"            \
	" AND NOT EXISTS (SELECT 1 FROM image_hardware ih"                     \
	" WHERE ih.image_id = r.image_id AND ih.hardware = ?2))"

/* A condition: rollout R targets device D by its groups: D is a member of
 * one of them, or R has none (a rollout of a selector alone targets every
 * device; the selector narrows the offers, docs/rollouts.md).  R and D
 * are SQL expressions.  The one home of that rule for DDI and downloads
 * (telemetry counts toward a rollout without groups only from the devices
 * it offered: the selector decided at the poll). */
#define STORE_SQL_TARGETS(R, D)                                                \
	"(EXISTS (SELECT 1 FROM rollout_groups rg_t JOIN group_members gm_t"   \
	" ON gm_t.group_id = rg_t.group_id WHERE rg_t.rollout_id = " R         \
	" AND gm_t.device_id = " D ") OR NOT EXISTS (SELECT 1"                 \
	" FROM rollout_groups rg_n WHERE rg_n.rollout_id = " R "))"

/* Opens one driver connection to target with opt (may be NULL): the one
 * place store options become the driver's.  0, or OTA_EDB (the driver
 * logged why). */
int store__db_open(
    const char *target, const struct store_options *opt, struct db_conn **out);

/* The connection's driver handle, borrowed for as long as c is held. */
struct db_conn *store__db(struct store_conn *c);

/*
 * Returns in *out the cached statement of sql, preparing it on first use:
 * sql must be a static const char (the driver keys its cache by the
 * address).  The statement is borrowed: finish with store__done.  Returns
 * 0 or OTA_EDB (logged with the SQL text).
 */
int store__prepare(struct store_conn *c, const char *sql, struct db_stmt **out);

/* Resets s and clears its bindings so it is ready for the next use.
 * NULL-safe. */
void store__done(struct db_stmt *s);

/*
 * Copies text column col of s's current row into dst[dstsize], "" for
 * NULL.  Returns 0, or -1 when it does not fit (the row breaks an
 * invariant of its table; the caller logs and returns OTA_EDB).
 */
int store__column_text(struct db_stmt *s, int col, char *dst, size_t dstsize);

/* Binds v at parameter i as text, or as NULL when v is NULL or "" (an
 * optional column).  Returns 0 or the driver's DB_E* code. */
int store__bind_text_or_null(struct db_stmt *s, int i, const char *v);

/* Binds v at parameter i, or NULL when v < 0 (an optional count, id or
 * percentage).  Returns 0 or the driver's DB_E* code. */
int store__bind_int64_or_null(struct db_stmt *s, int i, int64_t v);

/* Logs the driver's message for the last failure on c, naming op, once.
 * Returns OTA_EDB so callers can write rc = store__dberr(c, "op"). */
int store__dberr(struct store_conn *c, const char *op);

/*
 * Steps s (prepared and bound) expecting at most one row: 0 when s is on
 * a row (read its columns, then store__done), OTA_ENOTFOUND when there is
 * none, or OTA_EDB logged naming op.
 */
int store__step_one(struct store_conn *c, struct db_stmt *s, const char *op);

/*
 * Joins the transaction the caller holds on c, or opens one of kind when
 * none is open: 0 with *out_own 1 when this call opened it (end it with
 * store__tx_end), 0 with *out_own 0 when it joins the caller's, or the
 * error of store_begin/store_begin_read (logged; nothing is open).  The
 * one way a store function works inside its caller's transaction or in
 * its own.
 */
int store__tx_join(struct store_conn *c, enum db_begin_kind kind, int *out_own);

/*
 * Ends what store__tx_join opened, by rc, the result of the work done in
 * it: when own, commits on rc == 0 (returning the commit's result) and
 * rolls back otherwise (returning rc); when joined, returns rc untouched
 * (the caller's transaction decides).
 */
int store__tx_end(struct store_conn *c, int own, int rc);

/*
 * Runs sql with ?1 bound to key expecting at most one row: 0
 * (with column 0 of the row as an integer in *out_v when out_v is not
 * NULL), OTA_ENOTFOUND when there is none, or OTA_EDB logged naming op.
 */
int store__find_text(struct store_conn *c, const char *sql, const char *key,
    int64_t *out_v, const char *op);

/* 0 when device id exists, OTA_ENOTFOUND, or OTA_EDB
 * logged naming op.  The one "does this device exist" of the store. */
int store__device_exists(struct store_conn *c, const char *id, const char *op);

/* The id of group name into *out_id: 0, OTA_ENOTFOUND,
 * or OTA_EDB logged naming op.  The one group lookup by name. */
int store__group_id(
    struct store_conn *c, const char *name, int64_t *out_id, const char *op);

/* Room for an images.version_key, NUL included. */
#define STORE_VERSION_KEY_MAX SEMVER_KEY_MAX

/*
 * Writes into out the images.version_key of version: semver_sort_key's
 * key, so that byte order is SemVer precedence; a string that is not a
 * version (otad never stores one) gets "~" and its bytes, after every
 * version, as semver_cmp orders it.  The one home of that column's value.
 */
void store__version_key(const char *version, char out[STORE_VERSION_KEY_MAX]);

/*
 * Makes room for element n of a growing array: pv is the address of the
 * array pointer (NULL at first), *cap its capacity in elements of
 * elem_size bytes and n the count in use.  When n == *cap the array is
 * reallocated to twice the capacity (16 at first).  Returns 0, or
 * OTA_ENOMEM, logged once naming op, with the array and *cap unchanged
 * (still the caller's to free).
 */
int store__grow(
    void *pv, size_t *cap, size_t n, size_t elem_size, const char *op);

/* The row function of store__list: fills elem (zeroed, elem_size bytes)
 * from the current row of s.  Returns 0, or an OTA_E* code (logged by the
 * row function) that ends the list. */
typedef int (*store__row_fn)(struct db_stmt *s, void *elem, void *arg);

/* Frees what a row function put in elem (not elem itself); must accept a
 * zeroed or partly filled element. */
typedef void (*store__elem_free_fn)(void *elem);

/*
 * The one list loop of the store: steps s (prepared and bound by the
 * caller, who also store__done's it) to its end, or to max rows when max
 * is not 0, growing an array of elem_size elements and calling row(s,
 * elem, arg) on each new, zeroed element.  out is the address of the
 * caller's typed array pointer: on success it gets a new array of *out_n
 * elements (NULL when there are none), freed by the caller.  On failure
 * elem_free (when not NULL) is called on every element filled so far,
 * including the one whose row failed, the array is freed, *out is NULL and
 * *out_n 0.  Returns 0, OTA_ENOMEM or OTA_EDB (logged naming op), or the
 * code row returned.
 */
int store__list(struct store_conn *c, struct db_stmt *s, size_t elem_size,
    size_t max, store__row_fn row, void *arg, store__elem_free_fn elem_free,
    void *out, size_t *out_n, const char *op);

/*
 * Runs sql with ?1 bound to key and collects the text of column
 * 0 of every row, in order, into a new array *out of *out_n strdup'd
 * strings (*out is NULL when there are none); the caller frees each and
 * the array.  Returns 0, OTA_ENOMEM or OTA_EDB (logged naming op; *out is
 * then NULL and *out_n 0).
 */
int store__text_list(struct store_conn *c, const char *sql, const char *key,
    char ***out, size_t *out_n, const char *op);

/*
 * Revokes a credential by id, or else by name: sql_by_id and sql_by_name
 * are UPDATEs of ?1 (the key) setting
 * revoked_at = ?2 on rows not yet revoked.  Trying the id first means a
 * name that looks like another token's id never revokes both.  Returns 0
 * (logged at info naming op), OTA_ENOTFOUND when no active row matched,
 * or OTA_EDB.
 */
int store__revoke(struct store_conn *c, const char *sql_by_id,
    const char *sql_by_name, const char *id_or_name, const char *op);

/* Revokes a credential with one such UPDATE: 0 (logged at info naming
 * op), OTA_ENOTFOUND when no active row matched, or OTA_EDB. */
int store__revoke_one(
    struct store_conn *c, const char *sql, const char *key, const char *op);

/*
 * Statements of many rows (multi-row VALUES): one static descriptor per
 * statement, declared with STORE_MULTI_INIT, holds head, the text of one
 * row with ncols bare '?' placeholders, and tail.  The texts for 1, 2, 4,
 * ... STORE_MULTI_ROWS_MAX rows are built on first use and kept for the
 * life of the process (the driver caches statements by address), rows
 * joined by ", " and numbered ?1..?(rows * ncols): row r's column j is
 * parameter r * ncols + j + 1.  A statement has at most
 * STORE_MULTI_PARAMS_MAX parameters, which caps the rows of a wide one
 * (16 events of 12 columns): 64-row event inserts (768 parameters)
 * were not faster on PostgreSQL than 16-row ones in our measurement.
 */
#define STORE_MULTI_ROWS_MAX 64
#define STORE_MULTI_PARAMS_MAX 256
#define STORE_MULTI_SIZES 7 /* 1, 2, 4, ... 64 rows */
struct store_multi {
	const char *head;
	const char *row;
	const char *tail;
	int ncols;
	pthread_mutex_t mu;
	char *sql[STORE_MULTI_SIZES]; /* built on first use, never freed */
};
#define STORE_MULTI_INIT(head, row, tail, ncols)                               \
	{                                                                      \
		(head), (row), (tail), (ncols), PTHREAD_MUTEX_INITIALIZER,     \
		{                                                              \
			NULL                                                   \
		}                                                              \
	}

/*
 * The text of a statement of rows rows (1..): head, rows copies of row
 * (ncols bare '?' each, renumbered ?1..?(rows * ncols)) joined by ", ",
 * then tail.  Returns a new string (free()), or NULL when row does not
 * hold exactly ncols '?' or memory runs out.  Pure.
 */
char *store__multi_sql(const char *head, const char *row, const char *tail,
    int ncols, size_t rows);

/*
 * The most rows one statement of m takes for n rows waiting (n >= 1): the
 * largest power of two <= n, STORE_MULTI_ROWS_MAX and
 * STORE_MULTI_PARAMS_MAX / ncols.  Pure.
 */
size_t store__multi_rows(const struct store_multi *m, size_t n);

/*
 * Returns in *out the prepared statement of m for store__multi_rows(m, n)
 * rows, that count in *out_rows: bind row r column j at r * m->ncols + j +
 * 1, step, then store__done.  Thread-safe (the text is built once, under
 * m->mu).  Returns 0, OTA_ENOMEM or OTA_EDB (logged).
 */
int store__multi_prepare(struct store_conn *c, struct store_multi *m, size_t n,
    struct db_stmt **out, size_t *out_rows);

/* Adds rollout id to the set touched[0..*n) of at most max entries (a
 * full set drops it: the caller then re-checks every running rollout).
 * touched or n NULL: nothing. */
void store__touch(int64_t id, int64_t *touched, size_t max, size_t *n);

#endif
