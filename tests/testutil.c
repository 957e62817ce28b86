/*
 * testutil: the helpers every Check suite used to carry its own copy of.
 * Failures are Check assertions (the test's process ends there), so no
 * function returns an error code; shell commands go through /bin/sh.
 */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "descriptor.h"
#include "rollout.h"
#include "store.h"
#include "store_images.h"
#include "store_rollouts.h"

/* Big enough for the longest openssl command line a suite builds. */
#define COMMAND_MAX 1024

/*
 * Reads f to its end into a new buffer with a NUL after the bytes; the
 * byte count goes to *out_len unless out_len is NULL.  The caller frees.
 */
static char *
read_stream(FILE *f, size_t *out_len)
{
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap), *grown;

	ck_assert_ptr_nonnull(buf);
	/* One byte of cap always stays free for the NUL. */
	while ((n = fread(buf + len, 1, cap - 1 - len, f)) > 0) {
		len += n;
		if (len == cap - 1) {
			grown = realloc(buf, cap * 2);
			ck_assert_ptr_nonnull(grown);
			buf = grown;
			cap *= 2;
		}
	}
	ck_assert_int_eq(ferror(f), 0);
	buf[len] = '\0';
	if (out_len != NULL)
		*out_len = len;
	return buf;
}

/* Formats a shell command into cmd[size]; one that does not fit fails. */
static void
format_command(char *cmd, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(cmd, size, fmt, ap);

	ck_assert(n > 0 && (size_t)n < size);
}

/* nftw callback: removes one entry (FTW_DEPTH: a directory's last). */
static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	ck_assert_msg(
	    remove(path) == 0, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

void
testutil_tmpdir_new(const char *name, char *out_dir, size_t out_size)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(out_dir, out_size, "%s/%s.XXXXXX", base, name);
	ck_assert_msg(n > 0 && (size_t)n < out_size,
	    "temporary directory name too long: %s/%s.XXXXXX", base, name);
	ck_assert_ptr_nonnull(mkdtemp(out_dir));
}

void
testutil_tmpdir_remove(const char *dir)
{
	/* FTW_PHYS: a symlink a test planted is removed, never followed. */
	ck_assert_int_eq(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

void
testutil_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

char *
testutil_read_file(const char *path, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	buf = read_stream(f, out_len);
	fclose(f);
	return buf;
}

int
testutil_run(const char *fmt, ...)
{
	char cmd[COMMAND_MAX];
	va_list ap;

	va_start(ap, fmt);
	format_command(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

char *
testutil_popen_read(const char *fmt, ...)
{
	char cmd[COMMAND_MAX], *out;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	format_command(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	out = read_stream(f, NULL);
	ck_assert_int_eq(pclose(f), 0);
	return out;
}

int
testutil_have_command(const char *name)
{
	return testutil_run("command -v '%s' >/dev/null 2>&1", name) == 0;
}

int
testutil_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *
testutil_db(const char *db_path)
{
	static char target[1024];
	const char *base = getenv("OTAD_TEST_PG");
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
	char sql[128];
	struct db_conn *c = NULL;

	if (base == NULL || base[0] == '\0')
		return db_path;
	for (const char *p = db_path; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS t_%016llx",
	    (unsigned long long)h);
	ck_assert_msg(db_open(base, NULL, &c) == 0, "OTAD_TEST_PG: cannot "
	                                            "connect");
	ck_assert_msg(db_exec(c, sql) == 0, "%s: %s", sql, db_errmsg(c));
	db_close(c);
	ck_assert_msg((size_t)snprintf(target, sizeof(target),
	                  "%s options='-csearch_path=t_%016llx'", base,
	                  (unsigned long long)h) < sizeof(target),
	    "OTAD_TEST_PG too long");
	return target;
}

int
testutil_db_is_postgres(void)
{
	const char *base = getenv("OTAD_TEST_PG");

	return base != NULL && base[0] != '\0';
}

/* The tables whose id PostgreSQL draws from an identity sequence. */
static const char *const identity_tables[] = {"images", "device_groups",
    "rollouts", "rollout_events", "update_events", "ddi_actions",
    "ddi_feedback"};

/*
 * The tests' SQL is SQLite's; on PostgreSQL its few SQLite functions are
 * rewritten into new text (freed by the caller): zeroblob(N) as N zero
 * bytes, x'HEX' as decode, group_concat(X[, SEP]) as string_agg,
 * printf('<text>%0Wd', X) as lpad.  Plain text otherwise.
 */
static char *
sql_dialect(const char *sql)
{
	size_t cap = strlen(sql) * 2 + 64, o = 0;
	char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	for (const char *p = sql; *p != '\0';) {
		if (!testutil_db_is_postgres()) {
			out[o++] = *p++;
			continue;
		}
		if (strncmp(p, "zeroblob(", 9) == 0) {
			long n = strtol(p + 9, (char **)&p, 10);

			ck_assert(*p == ')');
			p++;
			o += (size_t)snprintf(out + o, cap - o,
			    "decode(repeat('00', %ld), 'hex')", n);
		} else if ((p[0] == 'x' || p[0] == 'X') && p[1] == '\'' &&
		           (p == sql || strchr(" ,(", p[-1]) != NULL)) {
			/* x'HEX', a blob literal */
			const char *end = strchr(p + 2, '\'');

			ck_assert_ptr_nonnull(end);
			o += (size_t)snprintf(out + o, cap - o,
			    "decode('%.*s', 'hex')", (int)(end - p - 2), p + 2);
			p = end + 1;
		} else if (strncmp(p, "printf('", 8) == 0) {
			/* printf('<prefix>%0Wd', X) */
			const char *pct = strstr(p, "%0");
			const char *comma =
			    pct != NULL ? strchr(pct, ',') : NULL;
			const char *end =
			    comma != NULL ? strchr(comma, ')') : NULL;
			long w = pct != NULL ? strtol(pct + 2, NULL, 10) : 0;

			ck_assert_msg(end != NULL && w > 0, "printf: %s", sql);
			o += (size_t)snprintf(out + o, cap - o,
			    "'%.*s' || lpad((%.*s)::text, %ld, '0')",
			    (int)(pct - p - 8), p + 8, (int)(end - comma - 1),
			    comma + 1, w);
			p = end + 1;
		} else if (strncmp(p, "group_concat(", 13) == 0) {
			const char *end = p + 13;
			int depth = 1;
			const char *comma = NULL;

			for (; *end != '\0' && depth > 0; end++) {
				if (*end == '(')
					depth++;
				else if (*end == ')')
					depth--;
				else if (*end == ',' && depth == 1)
					comma = end;
			}
			ck_assert_int_eq(depth, 0);
			if (comma != NULL)
				o += (size_t)snprintf(out + o, cap - o,
				    "string_agg((%.*s)::text, %.*s)",
				    (int)(comma - p - 13), p + 13,
				    (int)(end - 1 - comma - 1), comma + 1);
			else
				o += (size_t)snprintf(out + o, cap - o,
				    "string_agg((%.*s)::text, ',')",
				    (int)(end - 1 - p - 13), p + 13);
			p = end;
		} else {
			out[o++] = *p++;
		}
		ck_assert(o < cap);
	}
	out[o] = '\0';
	return out;
}

/* After rows planted with explicit ids: PostgreSQL's identity sequences
 * move past them, as SQLite's next rowid does on its own. */
static void
sql_sync_identities(struct db_conn *c)
{
	char sql[256];

	if (!testutil_db_is_postgres())
		return;
	for (size_t i = 0;
	     i < sizeof(identity_tables) / sizeof(*identity_tables); i++) {
		snprintf(sql, sizeof(sql),
		    "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
		    " COALESCE(max(id), 0) + 1, false) FROM %s",
		    identity_tables[i], identity_tables[i]);
		ck_assert_msg(
		    db_exec(c, sql) == 0, "%s: %s", sql, db_errmsg(c));
	}
}

/* Opens db_path's database (testutil_db) for testutil_sql_*, failing the
 * test when it cannot. */
static struct db_conn *
sql_open(const char *db_path)
{
	struct db_conn *c = NULL;

	ck_assert_msg(db_open(testutil_db(db_path), NULL, &c) == 0,
	    "%s: cannot open", db_path);
	return c;
}

void
testutil_sql_exec(const char *db_path, const char *sql)
{
	struct db_conn *c = sql_open(db_path);
	char *text = sql_dialect(sql);
	int rc = db_exec(c, text);

	ck_assert_msg(rc == 0, "%s: %s", text, db_errmsg(c));
	sql_sync_identities(c);
	free(text);
	db_close(c);
}

long long
testutil_sql_query(
    const char *db_path, const char *sql, char *out, size_t outlen)
{
	struct db_conn *c = sql_open(db_path);
	struct db_stmt *s = NULL;
	char *text = sql_dialect(sql);
	const char *t;
	long long v;

	/* The connection is new and closed below: its statement cache,
	 * keyed by the text's address, never sees another text there. */
	sql = text;
	ck_assert_msg(db_prepare(c, sql, &s) == 0, "%s: %s", sql, db_errmsg(c));
	ck_assert_msg(
	    db_step(s) == DB_ROW, "no row: %s (%s)", sql, db_errmsg(c));
	v = db_column_int64(s, 0);
	if (out != NULL) {
		t = db_column_text(s, 0);
		snprintf(out, outlen, "%s", t != NULL ? t : "");
	}
	db_reset(s);
	db_close(c);
	free(text);
	return v;
}

void
testutil_sql_join(const char *db_path, const char *sql, const char *sep,
    char *out, size_t outlen)
{
	struct db_conn *c = sql_open(db_path);
	struct db_stmt *s = NULL;
	char *text = sql_dialect(sql);
	size_t used = 0;
	int step;

	out[0] = '\0';
	sql = text;
	ck_assert_msg(db_prepare(c, sql, &s) == 0, "%s: %s", sql, db_errmsg(c));
	while ((step = db_step(s)) == DB_ROW) {
		const char *t = db_column_text(s, 0);
		int w = snprintf(out + used, outlen - used, "%s%s",
		    used > 0 ? sep : "", t != NULL ? t : "");

		ck_assert_msg(w >= 0 && (size_t)w < outlen - used,
		    "%s: result too long", sql);
		used += (size_t)w;
	}
	ck_assert_msg(step == DB_DONE, "%s: %s", sql, db_errmsg(c));
	db_reset(s);
	db_close(c);
	free(text);
}

/* The sha1 and md5 of "abc": any well-formed digests do for the store. */
#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"

int64_t
testutil_image_insert(struct store *st, const char *name, const char *version,
    uint64_t size, unsigned char seed, const char *created_by, int *out_existed)
{
	struct ota_descriptor d;
	struct store_conn *c;
	unsigned char *bytes = NULL;
	char err[200];
	size_t len = 0;
	int64_t id = 0;
	int existed = -1;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.version, sizeof(d.version), "%s", version);
	snprintf(d.hardware[0], sizeof(d.hardware[0]), "revA");
	d.hardware_count = 1;
	d.size = size;
	memset(d.sha256, seed, sizeof(d.sha256));
	for (int i = 0; i < 32; i++)
		snprintf(d.sha256_hex + 2 * i, 3, "%02x", seed);
	ck_assert_msg(descriptor_build(&d, &bytes, &len, err, sizeof(err)) == 0,
	    "descriptor_build: %s", err);
	c = store_acquire(st);
	ck_assert_int_eq(store_image_insert(c, &d, bytes, len, "[]", ABC_SHA1,
	                     ABC_MD5, created_by, &id, &existed),
	    0);
	store_release(st, c);
	free(bytes);
	if (out_existed != NULL)
		*out_existed = existed;
	return id;
}

void
testutil_rollout_req(struct store_rollout_new *r, int64_t image_id,
    const char *const *groups, size_t group_count)
{
	memset(r, 0, sizeof(*r));
	r->image_id = image_id;
	r->groups = groups;
	r->group_count = group_count;
	r->stages_bp = rollout_default_stages_bp;
	r->stage_count = ROLLOUT_DEFAULT_STAGE_COUNT;
	r->failure_threshold = 0.05;
	r->min_reports = 10;
	r->gate = ROLLOUT_GATE_SIMPLE;
	r->gate_confidence = ROLLOUT_CONFIDENCE_DEFAULT;
	r->created_by = "ci";
}
