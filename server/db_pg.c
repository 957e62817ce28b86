/*
 * db_pg: the PostgreSQL implementation of the database driver (db.h)
 * through libpq, the one file of server/ that includes <libpq-fe.h>.  It
 * turns the store's ?N parameters into $N, prepares each statement on the
 * server on first use (again after a reconnect), maps SQLSTATEs to DB_E*
 * classes and makes a write transaction take one transaction-scoped
 * advisory lock, so writers are serialized across every otad on the
 * database as SQLite's BEGIN IMMEDIATE serializes them.  No global state.
 */
#include "db.h"
#include "db_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "log.h"

/* Type OIDs of pg_type, stable across PostgreSQL versions. */
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_TEXT 25
#define PG_OID_FLOAT8 701

/* Most parameters one statement may have (?1..?PG_PARAMS_MAX). */
#define PG_PARAMS_MAX 1024

/* A statement: its $N text, its server-side name and its bindings. */
struct pg_stmt {
	struct db_stmt base;
	char name[24];
	char *sql;           /* with $N */
	int nparams;         /* highest ?N */
	int writes;          /* INSERT, UPDATE, DELETE or WITH */
	uint64_t epoch;      /* connection epoch it was prepared in; 0 */
	const char **values; /* nparams bindings (borrowed text/blob) */
	int *lengths;        /* of binary (blob) values */
	int *formats;        /* 1 for a blob, else 0 */
	Oid *types;          /* declared at prepare: 0 lets the server infer */
	char (*nums)[32];    /* the text of bound numbers */
	PGresult *res;       /* of the run, until reset */
	int ran, row, nrows;
	unsigned char **blobs; /* decoded bytea columns of the current row */
	size_t *blob_lens;
	int nblobs;   /* columns of blobs and blob_lens */
	int blob_row; /* the row blobs belong to */
};

struct pg_conn {
	struct db_conn base;
	PGconn *pg;
	uint64_t epoch; /* moves at each (re)connect: statements re-prepare */
	unsigned next_id;
	int64_t changes;
	int errcode;
	char err[512];
};

#define PG(c) ((struct pg_conn *)(c))
#define PS(s) ((struct pg_stmt *)(s))
#define PSC(s) PG((s)->conn)

/* The key of the advisory lock every write transaction takes ("otad", 1). */
static const char sql_begin_write[] =
    "BEGIN; SELECT pg_advisory_xact_lock(1869898084, 1)";
static const char sql_begin_read[] = "BEGIN ISOLATION LEVEL REPEATABLE READ";
/* Notices ("relation ... already exists, skipping" of every migration
 * check) would go to stderr through libpq: only warnings and errors. */
static const char sql_setup[] = "SET lock_timeout = '10s';"
                                " SET synchronous_commit = on;"
                                " SET client_min_messages = warning;"
                                " SET TIME ZONE 'UTC'";
static const char sql_database_check[] =
    "SELECT datcollate, pg_encoding_to_char(encoding) FROM pg_database"
    " WHERE datname = current_database()";

/* SQLSTATE (5 characters) as the number db_errcode returns: PostgreSQL's
 * own packing of six bits per character. */
static int
pg_sqlstate_code(const char *st)
{
	int v = 0;

	for (int i = 0; i < 5 && st[i] != '\0'; i++)
		v |= ((st[i] - '0') & 0x3f) << (6 * i);
	return v;
}

/* A SQLSTATE as a DB_E* class. */
static int
pg_map(const char *st)
{
	if (st == NULL)
		return DB_EERROR; /* no server answer: the connection */
	if (strcmp(st, "23505") == 0)
		return DB_EUNIQUE;
	if (strcmp(st, "23503") == 0)
		return DB_EFOREIGN;
	if (strcmp(st, "23514") == 0 || strcmp(st, "23502") == 0 ||
	    strcmp(st, "P0001") == 0)
		return DB_ECHECK;
	if (strcmp(st, "53100") == 0)
		return DB_EFULL;
	if (strcmp(st, "53200") == 0)
		return DB_ENOMEM;
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	    strcmp(st, "55P03") == 0)
		return DB_EBUSY;
	return DB_EERROR;
}

/* Records the failure of res (or of the connection when res has none) on
 * c and returns its class. */
static int
pg_fail(struct pg_conn *c, const PGresult *res)
{
	const char *st =
	    res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
	size_t n;

	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(c->pg);
	snprintf(c->err, sizeof(c->err), "SQLSTATE %s: %s",
	    st != NULL ? st : "none", msg != NULL ? msg : "unknown");
	n = strlen(c->err);
	while (n > 0 && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
		c->err[--n] = '\0';
	c->errcode = st != NULL ? pg_sqlstate_code(st) : -1;
	return pg_map(st);
}

/* Runs sql (one or more statements) with the simple protocol, expecting
 * the last to succeed; *out_res gets the result when not NULL. */
static int
pg_simple(struct pg_conn *c, const char *sql, PGresult **out_res)
{
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK))
		rc = pg_fail(c, res);
	if (rc == 0 && out_res != NULL) {
		*out_res = res;
		return 0;
	}
	PQclear(res);
	return rc;
}

/* Refuses a database whose text would not order by bytes as on SQLite
 * (cursors, version keys) or could not hold any UTF-8 text. */
static int
pg_check_database(struct pg_conn *c)
{
	PGresult *res = NULL;
	const char *coll, *enc;
	int rc;

	if ((rc = pg_simple(c, sql_database_check, &res)) != 0)
		return rc;
	coll = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	enc = PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "";
	if ((strcmp(coll, "C") != 0 && strcmp(coll, "POSIX") != 0) ||
	    strcmp(enc, "UTF8") != 0) {
		snprintf(c->err, sizeof(c->err),
		    "database %s has collation %s and encoding %s; otad needs "
		    "collation C and UTF8 (CREATE DATABASE %s TEMPLATE "
		    "template0 "
		    "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C')",
		    PQdb(c->pg), coll, enc, PQdb(c->pg));
		rc = DB_EERROR;
	}
	PQclear(res);
	return rc;
}

/* Applies the session settings of a new or reset connection. */
static int
pg_setup(struct pg_conn *c)
{
	int rc;

	if ((rc = pg_simple(c, sql_setup, NULL)) != 0)
		return rc;
	c->epoch++;
	return 0;
}

static int
pg_open(const char *target, const struct db_options *opt, struct db_conn **out)
{
	const char *keys[8], *vals[8];
	struct pg_conn *c;
	int n = 0, rc;

	*out = NULL;
	if (!PQisthreadsafe()) {
		log_err("module=db op=open err=\"libpq built without thread "
		        "support\"");
		return DB_EERROR;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DB_ENOMEM;
	c->base.drv = &db_pg_driver;
	keys[n] = "dbname", vals[n++] = target;
	keys[n] = "application_name", vals[n++] = "otad";
	keys[n] = "client_encoding", vals[n++] = "UTF8";
	if (opt->password != NULL)
		keys[n] = "password", vals[n++] = opt->password;
	if (opt->sslmode != NULL)
		keys[n] = "sslmode", vals[n++] = opt->sslmode;
	if (opt->sslrootcert != NULL)
		keys[n] = "sslrootcert", vals[n++] = opt->sslrootcert;
	keys[n] = NULL, vals[n] = NULL;
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (c->pg == NULL) {
		free(c);
		return DB_ENOMEM;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		rc = pg_fail(c, NULL);
		goto fail;
	}
	if ((rc = pg_check_database(c)) != 0 || (rc = pg_setup(c)) != 0)
		goto fail;
	*out = &c->base;
	return 0;
fail:
	/* The target may hold a password: log where, never what. */
	log_err("module=db op=open driver=postgresql host=%s port=%s "
	        "dbname=%s user=%s err=\"%s\"",
	    PQhost(c->pg) != NULL ? PQhost(c->pg) : "", PQport(c->pg),
	    PQdb(c->pg), PQuser(c->pg), c->err);
	PQfinish(c->pg);
	free(c);
	return rc != 0 ? rc : DB_EERROR;
}

static void
pg_close(struct db_conn *c)
{
	PQfinish(PG(c)->pg);
	free(c);
}

static int
pg_exec(struct db_conn *c, const char *sql)
{
	return pg_simple(PG(c), sql, NULL);
}

/*
 * Copies sql into a new string with each ?N as $N, leaving quoted text
 * and identifiers alone; *out_n gets the highest N.  Returns NULL when
 * out of memory or when a parameter is bare or out of range (logged).
 */
static char *
pg_translate(const char *sql, int *out_n)
{
	char *out = malloc(strlen(sql) + 1), *o = out;
	char quote = 0;
	int max = 0;

	if (out == NULL)
		return NULL;
	for (const char *p = sql; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?') {
			long v = strtol(p + 1, NULL, 10);

			if (v < 1 || v > PG_PARAMS_MAX || p[1] < '1' ||
			    p[1] > '9') {
				log_err("module=db op=prepare sql=\"%s\" "
				        "err=\"parameter not ?1..?%d\"",
				    sql, PG_PARAMS_MAX);
				free(out);
				return NULL;
			}
			if (v > max)
				max = (int)v;
			*o++ = '$';
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	*out_n = max;
	return out;
}

/* 1 when sql's first word makes it a write (or may: WITH). */
static int
pg_writes(const char *sql)
{
	static const char *const verbs[] = {
	    "INSERT", "UPDATE", "DELETE", "WITH"};

	sql += strspn(sql, " \t\n(");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
		if (strncasecmp(sql, verbs[i], strlen(verbs[i])) == 0)
			return 1;
	return 0;
}

static void
pg_finalize(struct db_stmt *s)
{
	struct pg_stmt *p = PS(s);

	if (p->res != NULL)
		PQclear(p->res);
	for (int i = 0; i < p->nblobs; i++)
		PQfreemem(p->blobs[i]);
	free(p->blobs);
	free(p->blob_lens);
	free(p->sql);
	free(p->values);
	free(p->lengths);
	free(p->formats);
	free(p->types);
	free(p->nums);
	free(p);
}

static int
pg_prepare(struct db_conn *c, const char *sql, struct db_stmt **out)
{
	struct pg_stmt *p;
	size_t n;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return DB_ENOMEM;
	if ((p->sql = pg_translate(sql, &p->nparams)) == NULL) {
		free(p);
		return DB_EERROR;
	}
	n = p->nparams > 0 ? (size_t)p->nparams : 1;
	p->values = calloc(n, sizeof(*p->values));
	p->lengths = calloc(n, sizeof(*p->lengths));
	p->formats = calloc(n, sizeof(*p->formats));
	p->types = calloc(n, sizeof(*p->types));
	p->nums = calloc(n, sizeof(*p->nums));
	if (p->values == NULL || p->lengths == NULL || p->formats == NULL ||
	    p->types == NULL || p->nums == NULL) {
		pg_finalize(&p->base);
		return DB_ENOMEM;
	}
	snprintf(p->name, sizeof(p->name), "otad_%u", PG(c)->next_id++);
	p->writes = pg_writes(sql);
	p->blob_row = -1;
	*out = &p->base;
	return 0;
}

/* Checks parameter i of s and clears what was bound to it. */
static int
pg_param(struct db_stmt *s, int i)
{
	struct pg_stmt *p = PS(s);

	if (i < 1 || i > p->nparams)
		return DB_EERROR;
	p->values[i - 1] = NULL;
	p->lengths[i - 1] = 0;
	p->formats[i - 1] = 0;
	return 0;
}

/* The type a parameter is declared with at prepare, from its first
 * binding: numbers are typed so that they compare as numbers; text and
 * NULL are left for the server to infer from where they are used. */
static void
pg_type(struct pg_stmt *p, int i, Oid oid)
{
	if (p->epoch == 0)
		p->types[i - 1] = oid;
}

static int
pg_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	struct pg_stmt *p = PS(s);

	if (pg_param(s, i) != 0)
		return DB_EERROR;
	snprintf(p->nums[i - 1], sizeof(p->nums[0]), "%" PRId64, v);
	p->values[i - 1] = p->nums[i - 1];
	pg_type(p, i, PG_OID_INT8);
	return 0;
}

static int
pg_bind_double(struct db_stmt *s, int i, double v)
{
	struct pg_stmt *p = PS(s);

	if (pg_param(s, i) != 0)
		return DB_EERROR;
	snprintf(p->nums[i - 1], sizeof(p->nums[0]), "%.17g", v);
	p->values[i - 1] = p->nums[i - 1];
	pg_type(p, i, PG_OID_FLOAT8);
	return 0;
}

static int
pg_bind_text(struct db_stmt *s, int i, const char *v)
{
	if (pg_param(s, i) != 0)
		return DB_EERROR;
	PS(s)->values[i - 1] = v;
	return 0;
}

static int
pg_bind_blob(struct db_stmt *s, int i, const void *v, size_t n)
{
	struct pg_stmt *p = PS(s);
	static const char empty[1];

	if (pg_param(s, i) != 0 || n > INT32_MAX)
		return DB_EERROR;
	p->values[i - 1] = v != NULL ? (const char *)v : empty;
	p->lengths[i - 1] = (int)n;
	p->formats[i - 1] = 1;
	pg_type(p, i, PG_OID_BYTEA);
	return 0;
}

static int
pg_bind_null(struct db_stmt *s, int i)
{
	return pg_param(s, i);
}

/* Reconnects a connection the server dropped, outside a transaction
 * (inside one, its work is lost: the caller gets the error and rolls
 * back).  Returns 0 when the connection is usable. */
static int
pg_alive(struct pg_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK)
		return pg_fail(c, NULL);
	log_warn("module=db op=reconnect driver=postgresql host=%s port=%s",
	    PQhost(c->pg) != NULL ? PQhost(c->pg) : "", PQport(c->pg));
	return pg_setup(c);
}

/* The N of "... parameter $N" in the message of res, or 0. */
static int
pg_param_named(const PGresult *res)
{
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *d = m != NULL ? strrchr(m, '$') : NULL;

	return d != NULL ? atoi(d + 1) : 0;
}

/* Prepares s on the server if this connection has not yet (a first use,
 * or a new session after a reconnect).  A parameter whose type the server
 * cannot infer from its use ("?3 IS NULL" alone) is declared text and the
 * prepare retried, one such parameter at a time. */
static int
pg_server_prepare(struct pg_stmt *p, struct pg_conn *c)
{
	PGresult *res;
	int rc = 0;

	if (p->epoch == c->epoch)
		return 0;
	for (int attempt = 0; attempt <= p->nparams; attempt++) {
		int n;

		res = PQprepare(c->pg, p->name, p->sql, p->nparams, p->types);
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			PQclear(res);
			p->epoch = c->epoch;
			return 0;
		}
		rc = pg_fail(c, res);
		n = pg_param_named(res);
		PQclear(res);
		/* "could not determine data type of parameter $N" */
		if ((c->errcode != pg_sqlstate_code("42P18") &&
		        c->errcode != pg_sqlstate_code("42P08")) ||
		    n < 1 || n > p->nparams || p->types[n - 1] != 0)
			break;
		p->types[n - 1] = PG_OID_TEXT;
	}
	log_err("module=db op=prepare sql=\"%s\" err=\"%s\"", p->sql, c->err);
	return rc;
}

static int pg_begin(struct db_conn *c, enum db_begin_kind kind);
static int pg_commit(struct db_conn *c);
static int pg_in_transaction(struct db_conn *c);

/* Runs s on the server: the first step of each use. */
static int
pg_run(struct pg_stmt *p, struct pg_conn *c)
{
	ExecStatusType st;
	const char *tuples;
	int rc;

	/* A dropped connection's status is PQTRANS_UNKNOWN, not IDLE:
	 * reconnect whenever no transaction of ours is open on it. */
	if (!pg_in_transaction(&c->base) && (rc = pg_alive(c)) != 0)
		return rc;
	if ((rc = pg_server_prepare(p, c)) != 0)
		return rc;
	p->res = PQexecPrepared(
	    c->pg, p->name, p->nparams, p->values, p->lengths, p->formats, 0);
	p->ran = 1;
	st = PQresultStatus(p->res);
	if (p->res == NULL ||
	    (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
		rc = pg_fail(c, p->res);
		PQclear(p->res);
		p->res = NULL;
		return rc;
	}
	tuples = PQcmdTuples(p->res);
	if (tuples[0] != '\0')
		c->changes = strtoll(tuples, NULL, 10);
	p->nrows = st == PGRES_TUPLES_OK ? PQntuples(p->res) : 0;
	p->row = -1;
	return 0;
}

/*
 * Runs a write outside a transaction in one of its own that holds the
 * write lock, as SQLite runs it: a single UPDATE can then never land
 * between the read and the write of another node's read-modify-write.
 */
static int
pg_run_locked(struct pg_stmt *p, struct pg_conn *c)
{
	int rc;

	if ((rc = pg_begin(&c->base, DB_BEGIN_WRITE)) != 0)
		return rc;
	if ((rc = pg_run(p, c)) != 0) {
		(void)pg_simple(c, "ROLLBACK", NULL);
		return rc;
	}
	if ((rc = pg_commit(&c->base)) != 0) {
		PQclear(p->res);
		p->res = NULL;
	}
	return rc;
}

static int
pg_step(struct db_stmt *s)
{
	struct pg_stmt *p = PS(s);
	struct pg_conn *c = PSC(s);
	int rc;

	if (!p->ran) {
		/* Not "status IDLE": a dropped connection (UNKNOWN) is
		 * reconnected by pg_begin, and the write still locked. */
		rc = p->writes && !pg_in_transaction(&c->base)
		         ? pg_run_locked(p, c)
		         : pg_run(p, c);
		if (rc != 0)
			return rc;
	}
	if (p->res == NULL)
		return DB_EERROR; /* stepped again after a failure */
	if (p->row + 1 < p->nrows) {
		p->row++;
		return DB_ROW;
	}
	p->row = p->nrows;
	return DB_DONE;
}

/* The current row's value of col, or NULL for SQL NULL or no row. */
static const char *
pg_value(struct pg_stmt *p, int col)
{
	if (p->res == NULL || p->row < 0 || p->row >= p->nrows || col < 0 ||
	    col >= PQnfields(p->res) || PQgetisnull(p->res, p->row, col))
		return NULL;
	return PQgetvalue(p->res, p->row, col);
}

static int64_t
pg_column_int64(struct db_stmt *s, int col)
{
	const char *v = pg_value(PS(s), col);

	if (v == NULL)
		return 0;
	if (v[0] == 't' || v[0] == 'f') /* a boolean, as SQLite's 1/0 */
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static double
pg_column_double(struct db_stmt *s, int col)
{
	const char *v = pg_value(PS(s), col);

	return v != NULL ? strtod(v, NULL) : 0.0;
}

static const char *
pg_column_text(struct db_stmt *s, int col)
{
	return pg_value(PS(s), col);
}

/* Decodes bytea column col of the current row (once per row). */
static const unsigned char *
pg_blob(struct pg_stmt *p, int col, size_t *out_len)
{
	const char *v = pg_value(p, col);
	int ncols;

	*out_len = 0;
	if (v == NULL)
		return NULL;
	if (PQftype(p->res, col) != PG_OID_BYTEA) {
		*out_len = (size_t)PQgetlength(p->res, p->row, col);
		return (const unsigned char *)v;
	}
	ncols = PQnfields(p->res);
	if (p->blob_row != p->row || p->nblobs < ncols) {
		for (int i = 0; i < p->nblobs; i++) {
			PQfreemem(p->blobs[i]);
			p->blobs[i] = NULL;
		}
		if (p->nblobs < ncols) {
			free(p->blobs);
			free(p->blob_lens);
			p->blobs = calloc((size_t)ncols, sizeof(*p->blobs));
			p->blob_lens = calloc((size_t)ncols, sizeof(size_t));
			p->nblobs = p->blobs != NULL && p->blob_lens != NULL
			                ? ncols
			                : 0;
			if (p->nblobs == 0)
				return NULL;
		}
		p->blob_row = p->row;
	}
	if (p->blobs[col] == NULL)
		p->blobs[col] = PQunescapeBytea(
		    (const unsigned char *)v, &p->blob_lens[col]);
	*out_len = p->blobs[col] != NULL ? p->blob_lens[col] : 0;
	return p->blobs[col];
}

static const void *
pg_column_blob(struct db_stmt *s, int col)
{
	size_t n;
	const unsigned char *b = pg_blob(PS(s), col, &n);

	return n > 0 ? b : NULL;
}

static size_t
pg_column_bytes(struct db_stmt *s, int col)
{
	size_t n;

	(void)pg_blob(PS(s), col, &n);
	return n;
}

static int
pg_column_is_null(struct db_stmt *s, int col)
{
	return pg_value(PS(s), col) == NULL;
}

static void
pg_reset(struct db_stmt *s)
{
	struct pg_stmt *p = PS(s);

	if (p->res != NULL)
		PQclear(p->res);
	p->res = NULL;
	p->ran = 0;
	p->row = -1;
	p->nrows = 0;
	for (int i = 0; i < p->nblobs; i++) {
		PQfreemem(p->blobs[i]);
		p->blobs[i] = NULL;
	}
	p->blob_row = -1;
	for (int i = 0; i < p->nparams; i++) {
		p->values[i] = NULL;
		p->lengths[i] = 0;
		p->formats[i] = 0;
	}
}

static int64_t
pg_changes(struct db_conn *c)
{
	return PG(c)->changes;
}

static int
pg_begin(struct db_conn *c, enum db_begin_kind kind)
{
	int rc;

	if ((rc = pg_alive(PG(c))) != 0)
		return rc;
	rc = pg_simple(PG(c),
	    kind == DB_BEGIN_WRITE ? sql_begin_write : sql_begin_read, NULL);
	if (rc != 0 && PQtransactionStatus(PG(c)->pg) != PQTRANS_IDLE)
		(void)pg_simple(PG(c), "ROLLBACK", NULL);
	return rc;
}

static int
pg_commit(struct db_conn *c)
{
	PGresult *res = NULL;
	int rc;

	if ((rc = pg_simple(PG(c), "COMMIT", &res)) != 0)
		return rc;
	/* COMMIT of a transaction an error aborted answers ROLLBACK. */
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		snprintf(PG(c)->err, sizeof(PG(c)->err),
		    "commit answered %s: an earlier statement failed",
		    PQcmdStatus(res));
		PG(c)->errcode = -1;
		rc = DB_EERROR;
	}
	PQclear(res);
	return rc;
}

static int
pg_in_transaction(struct db_conn *c)
{
	PGTransactionStatusType st = PQtransactionStatus(PG(c)->pg);

	return st == PQTRANS_INTRANS || st == PQTRANS_INERROR ||
	       st == PQTRANS_ACTIVE;
}

static int
pg_rollback(struct db_conn *c)
{
	if (!pg_in_transaction(c))
		return 0;
	return pg_simple(PG(c), "ROLLBACK", NULL);
}

static int
pg_notify(struct db_conn *c, const char *channel, const char *payload)
{
	const char *vals[2] = {channel, payload};
	PGresult *res = PQexecParams(PG(c)->pg, "SELECT pg_notify($1, $2)", 2,
	    NULL, vals, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_fail(PG(c), res);
	PQclear(res);
	return rc;
}

/* 1 when name is a channel db.h allows: 1..63 of [a-z0-9_]. */
static int
pg_channel_valid(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_");

	return n > 0 && n < 64 && name[n] == '\0';
}

static int
pg_listen(struct db_conn *c, const char *channel)
{
	char sql[80];

	if (!pg_channel_valid(channel)) {
		snprintf(PG(c)->err, sizeof(PG(c)->err),
		    "channel name not 1..63 of [a-z0-9_]");
		return DB_EERROR;
	}
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	return pg_simple(PG(c), sql, NULL);
}

static int
pg_wait_notify(struct db_conn *c, int timeout_ms, char *channel_out, size_t n)
{
	PGconn *pg = PG(c)->pg;
	PGnotify *note;
	struct pollfd pfd;

	if (n > 0)
		channel_out[0] = '\0';
	for (int waited = 0;; waited = 1) {
		if (!PQconsumeInput(pg))
			return pg_fail(PG(c), NULL);
		if ((note = PQnotifies(pg)) != NULL) {
			if (n > 0)
				snprintf(channel_out, n, "%s", note->relname);
			PQfreemem(note);
			return 1;
		}
		if (waited)
			return 0;
		pfd.fd = PQsocket(pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			return pg_fail(PG(c), NULL);
		while (poll(&pfd, 1, timeout_ms) < 0) {
			if (errno != EINTR)
				return DB_EERROR;
		}
		if (pfd.revents == 0)
			return 0;
	}
}

static const char *
pg_errmsg(struct db_conn *c)
{
	return PG(c)->err;
}

static int
pg_errcode(struct db_conn *c)
{
	return PG(c)->errcode;
}

const struct db_driver db_pg_driver = {
    .kind = DB_KIND_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .column_bytes = pg_column_bytes,
    .column_is_null = pg_column_is_null,
    .reset = pg_reset,
    .changes = pg_changes,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
    .notify = pg_notify,
    .listen = pg_listen,
    .wait_notify = pg_wait_notify,
    .errmsg = pg_errmsg,
    .errcode = pg_errcode,
};
