/*
 * db: the public driver API of db.h.  Picks the driver a target names
 * (db_sqlite.c or db_pg.c), keeps each connection's statement cache keyed
 * by the address of the SQL text, and passes every other call to the
 * connection's driver.  Keeps no global state.
 */
#include "db.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"

int
db_target_is_postgres(const char *target)
{
	const char *p = target;

	if (strncmp(target, "postgresql://", 13) == 0 ||
	    strncmp(target, "postgres://", 11) == 0)
		return 1;
	/* A keyword conninfo starts with a keyword and '='. */
	while (*p == ' ')
		p++;
	if (!islower((unsigned char)*p))
		return 0;
	while (islower((unsigned char)*p) || *p == '_')
		p++;
	while (*p == ' ')
		p++;
	return *p == '=';
}

int
db_open(const char *target, const struct db_options *opt, struct db_conn **out)
{
	const struct db_driver *drv =
	    db_target_is_postgres(target) ? &db_pg_driver : &db_sqlite_driver;
	static const struct db_options none;

	return drv->open(target, opt != NULL ? opt : &none, out);
}

void
db_close(struct db_conn *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cap; i++) {
		if (c->slots[i] != NULL)
			c->drv->finalize(c->slots[i]);
	}
	free(c->slots);
	c->slots = NULL;
	c->cap = c->n = 0;
	c->drv->close(c);
}

int
db_exec(struct db_conn *c, const char *sql)
{
	return c->drv->exec(c, sql);
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
	struct db_stmt *e = NULL;
	size_t j;
	int rc;

	if ((c->n + 1) * 2 > c->cap && (rc = db_cache_grow(c)) != 0)
		return rc;
	if ((rc = c->drv->prepare(c, sql, &e)) != 0)
		return rc;
	e->conn = c;
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
	return s->conn->drv->bind_int64(s, i, v);
}

int
db_bind_double(struct db_stmt *s, int i, double v)
{
	return s->conn->drv->bind_double(s, i, v);
}

int
db_bind_text(struct db_stmt *s, int i, const char *v)
{
	return s->conn->drv->bind_text(s, i, v);
}

int
db_bind_blob(struct db_stmt *s, int i, const void *p, size_t n)
{
	return s->conn->drv->bind_blob(s, i, p, n);
}

int
db_bind_null(struct db_stmt *s, int i)
{
	return s->conn->drv->bind_null(s, i);
}

int
db_step(struct db_stmt *s)
{
	return s->conn->drv->step(s);
}

int64_t
db_column_int64(struct db_stmt *s, int col)
{
	return s->conn->drv->column_int64(s, col);
}

double
db_column_double(struct db_stmt *s, int col)
{
	return s->conn->drv->column_double(s, col);
}

const char *
db_column_text(struct db_stmt *s, int col)
{
	return s->conn->drv->column_text(s, col);
}

const void *
db_column_blob(struct db_stmt *s, int col)
{
	return s->conn->drv->column_blob(s, col);
}

size_t
db_column_bytes(struct db_stmt *s, int col)
{
	return s->conn->drv->column_bytes(s, col);
}

int
db_column_is_null(struct db_stmt *s, int col)
{
	return s->conn->drv->column_is_null(s, col);
}

void
db_reset(struct db_stmt *s)
{
	if (s != NULL)
		s->conn->drv->reset(s);
}

int64_t
db_changes(struct db_conn *c)
{
	return c->drv->changes(c);
}

int
db_begin(struct db_conn *c, enum db_begin_kind kind)
{
	return c->drv->begin(c, kind);
}

int
db_commit(struct db_conn *c)
{
	return c->drv->commit(c);
}

int
db_rollback(struct db_conn *c)
{
	return c->drv->rollback(c);
}

int
db_in_transaction(struct db_conn *c)
{
	return c->drv->in_transaction(c);
}

int
db_bulk(struct db_conn *c, int on)
{
	return c->drv->bulk != NULL ? c->drv->bulk(c, on) : 0;
}

enum db_kind
db_kind(struct db_conn *c)
{
	return c->drv->kind;
}

int
db_notify(struct db_conn *c, const char *channel, const char *payload)
{
	return c->drv->notify(c, channel, payload);
}

int
db_listen(struct db_conn *c, const char *channel)
{
	return c->drv->listen(c, channel);
}

int
db_wait_notify(struct db_conn *c, int timeout_ms, char *channel_out, size_t n,
    char *payload_out, size_t payload_n)
{
	if (payload_out != NULL && payload_n > 0)
		payload_out[0] = '\0';
	return c->drv->wait_notify(
	    c, timeout_ms, channel_out, n, payload_out, payload_n);
}

const char *
db_errmsg(struct db_conn *c)
{
	return c->drv->errmsg(c);
}

int
db_errcode(struct db_conn *c)
{
	return c->drv->errcode(c);
}
