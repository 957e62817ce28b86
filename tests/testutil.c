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

#include <sqlite3.h>

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

/* Opens db_path for testutil_sql_*, failing the test when it cannot. */
static sqlite3 *
sql_open(const char *db_path)
{
	sqlite3 *db = NULL;

	ck_assert_msg(sqlite3_open(db_path, &db) == SQLITE_OK, "%s: %s",
	    db_path, db != NULL ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_busy_timeout(db, 5000);
	return db;
}

void
testutil_sql_exec(const char *db_path, const char *sql)
{
	sqlite3 *db = sql_open(db_path);
	char *err = NULL;
	int rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, err != NULL ? err : "?");
	sqlite3_close(db);
}

long long
testutil_sql_query(
    const char *db_path, const char *sql, char *out, size_t outlen)
{
	sqlite3 *db = sql_open(db_path);
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	long long v;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	ck_assert_msg(sqlite3_step(s) == SQLITE_ROW, "no row: %s", sql);
	v = sqlite3_column_int64(s, 0);
	if (out != NULL) {
		t = sqlite3_column_text(s, 0);
		snprintf(out, outlen, "%s", t != NULL ? (const char *)t : "");
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
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
	r->created_by = "ci";
}
