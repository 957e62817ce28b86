/*
 * check_store: store.c, store_images.c and store_tokens.c against a real
 * SQLite file in a fresh temporary directory, migrated by the embedded
 * migrations.  A second, raw connection (testutil_sql_*) looks behind the
 * store's back (journal mode, cascades) and plants states otad would never
 * write.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "errors.h"
#include "log.h"
#include "migrations.h"
#include "store.h"
#include "store_images.h"
#include "store_internal.h"
#include "store_tokens.h"
#include "testutil.h"

/* SHA-1 and MD5 of "abc": what an image row stores beside sha256. */
#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;

static void
setup(void)
{
	testutil_tmpdir_new("check_store", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	ck_assert_ptr_nonnull(st);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Runs sql on a separate raw connection to the test database. */
static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

/* First column of the first row of sql as an integer, or as text into
 * out[outlen] when out is not NULL. */
static long long
raw_query(const char *sql, char *out, size_t outlen)
{
	return testutil_sql_query(dbpath, sql, out, outlen);
}

/* Serialises d (descriptor_build) into buf; returns the length. */
static size_t
build_bytes(const struct ota_descriptor *d, char *buf, size_t buflen)
{
	unsigned char *bytes = NULL;
	char err[200];
	size_t len = 0;

	ck_assert_msg(descriptor_build(d, &bytes, &len, err, sizeof(err)) == 0,
	    "descriptor_build: %s", err);
	ck_assert(len < buflen);
	memcpy(buf, bytes, len);
	free(bytes);
	return len;
}

/*
 * Fills d for an image; hw is a comma-separated list; seed picks the
 * sha256 (all bytes = seed).  The descriptor bytes are written to buf and
 * differ with extra (the filename), so equal (d, extra) pairs give
 * identical bytes.
 */
static size_t
make_image(struct ota_descriptor *d, const char *name, const char *version,
    const char *hw, unsigned char seed, const char *extra, char *buf,
    size_t buflen)
{
	char hwcopy[256], *save = NULL, *tok;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->version, sizeof(d->version), "%s", version);
	snprintf(hwcopy, sizeof(hwcopy), "%s", hw);
	for (tok = strtok_r(hwcopy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		snprintf(d->hardware[d->hardware_count++],
		    sizeof(d->hardware[0]), "%s", tok);
	d->size = 1000 + seed;
	memset(d->sha256, seed, sizeof(d->sha256));
	for (int i = 0; i < 32; i++)
		snprintf(d->sha256_hex + 2 * i, 3, "%02x", seed);
	snprintf(d->filename, sizeof(d->filename), "%s", extra);
	return build_bytes(d, buf, buflen);
}

/* Inserts an image through a pooled connection; returns its id. */
static int64_t
insert_image(
    const char *name, const char *version, const char *hw, unsigned char seed)
{
	struct ota_descriptor d;
	struct store_conn *c;
	char buf[512];
	size_t len;
	int64_t id = 0;
	int existed = -1;

	len = make_image(&d, name, version, hw, seed, "", buf, sizeof(buf));
	c = store_acquire(st);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "tester", &id, &existed),
	    0);
	store_release(st, c);
	ck_assert_int_eq(existed, 0);
	ck_assert(id > 0);
	return id;
}

/* Lists with f and returns the versions, space-separated, in out. */
static size_t
list_versions(const struct store_image_filter *f, char *out, size_t outlen)
{
	struct store_image **imgs = NULL;
	struct store_conn *c;
	size_t n = 0, used = 0;

	c = store_acquire(st);
	ck_assert_int_eq(store_image_list(c, f, &imgs, &n), 0);
	store_release(st, c);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		    i > 0 ? " " : "", imgs[i]->desc.version);
	store_image_list_free(imgs, n);
	return n;
}

/* store_open / store_close / store_schema_version / store_ping */

START_TEST(test_open_twice)
{
	struct store_conn *c;
	int version = -1;

	store_close(st);
	st = NULL;
	ck_assert_int_eq(store_open(testutil_db(dbpath), 3, &st), 0);
	c = store_acquire(st);
	ck_assert_int_eq(store_schema_version(c, &version), 0);
	ck_assert_int_eq(
	    version, store_migrations[store_migrations_count - 1].version);
	ck_assert_int_eq(store_ping(c), 0);
	store_release(st, c);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM schema_migrations", NULL, 0),
	    (long long)store_migrations_count);
}
END_TEST

START_TEST(test_open_bad_nconns)
{
	struct store *other = (struct store *)1;

	ck_assert_int_eq(
	    store_open(testutil_db(dbpath), 0, &other), OTA_EINVAL);
	ck_assert_ptr_null(other);
	ck_assert_int_eq(
	    store_open(testutil_db(dbpath), 257, &other), OTA_EINVAL);
}
END_TEST

START_TEST(test_wal)
{
	char mode[16];

	if (testutil_db_is_postgres())
		return; /* a SQLite setting */
	raw_query("PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
}
END_TEST

START_TEST(test_schema_too_new)
{
	struct store *other = (struct store *)1;
	long long before;

	store_close(st);
	st = NULL;
	raw_exec("INSERT INTO schema_migrations (version, name, applied_at)"
	         " VALUES (9999, '9999_from_the_future',"
	         " '2099-01-01T00:00:00Z')");
	before = raw_query("SELECT count(*) FROM schema_migrations", NULL, 0);
	ck_assert_int_eq(
	    store_open(testutil_db(dbpath), 2, &other), OTA_ESCHEMA);
	ck_assert_ptr_null(other);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM schema_migrations", NULL, 0),
	    before);
	ck_assert_int_eq(raw_query("SELECT max(version) FROM "
	                           "schema_migrations",
	                     NULL, 0),
	    9999);
	raw_exec("DELETE FROM schema_migrations WHERE version = 9999");
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
}
END_TEST

/* A database left at migration 0021 (the runner's steps, done by hand):
 * db_path's schema_migrations and tables, on a raw connection. */
static void
schema_at_0021(const char *db_path)
{
	struct db_conn *d = NULL;
	char ins[160];

	ck_assert_int_eq(db_open(testutil_db(db_path), NULL, &d), 0);
	ck_assert_int_eq(db_exec(d, "CREATE TABLE schema_migrations ("
	                            " version INTEGER PRIMARY KEY,"
	                            " name TEXT NOT NULL,"
	                            " applied_at TEXT NOT NULL)"),
	    0);
	for (size_t i = 0;
	     i < store_migrations_count && store_migrations[i].version <= 21;
	     i++) {
		const struct store_migration *m = &store_migrations[i];
		const char *sql = testutil_db_is_postgres() && m->sql_pg != NULL
		                      ? m->sql_pg
		                      : m->sql;

		ck_assert_msg(
		    db_exec(d, sql) == 0, "%s: %s", m->name, db_errmsg(d));
		snprintf(ins, sizeof(ins),
		    "INSERT INTO schema_migrations VALUES (%d, '%s',"
		    " '2026-01-01T00:00:00Z')",
		    m->version, m->name);
		ck_assert_int_eq(db_exec(d, ins), 0);
	}
	db_close(d);
}

/* Migration 0022 on a database of 0021 that holds a device: its token
 * and membership are kept, the keys to devices are gone (a token naming
 * no device is the store's to refuse), a group's delete still cascades. */
START_TEST(test_migrate_device_keys)
{
	static const char ghost[] =
	    "INSERT INTO device_tokens (id, device_id, secret_hash,"
	    " created_at) VALUES ('t2', 'ghost', zeroblob(32), 'then')";
	char old[PATH_MAX + 16], text[64];
	struct store *o = NULL;

	snprintf(old, sizeof(old), "%s/old.db", tmpdir);
	schema_at_0021(old);
	testutil_sql_exec(old,
	    "INSERT INTO devices (id, hardware, version, labels, created_at)"
	    " VALUES ('d1', 'revA', '1.0.0', '{}', '2026-01-01T00:00:00Z');"
	    "INSERT INTO device_groups (id, name, created_at)"
	    " VALUES (5, 'g', '2026-01-01T00:00:00Z');"
	    "INSERT INTO group_members (group_id, device_id) VALUES (5, 'd1');"
	    "INSERT INTO device_tokens (id, device_id, secret_hash,"
	    " created_at, revoked_at) VALUES ('t1', 'd1', zeroblob(32),"
	    " '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z')");
	if (!testutil_db_is_postgres()) {
		/* Before 0022 SQLite checked the key. */
		struct db_conn *d = NULL;

		ck_assert_int_eq(db_open(testutil_db(old), NULL, &d), 0);
		ck_assert_int_eq(db_exec(d, ghost), DB_EFOREIGN);
		db_close(d);
	}

	ck_assert_int_eq(store_open(testutil_db(old), 1, &o), 0);
	store_close(o);
	ck_assert_int_eq(
	    testutil_sql_query(
	        old, "SELECT max(version) FROM schema_migrations", NULL, 0),
	    store_migrations[store_migrations_count - 1].version);
	testutil_sql_query(old,
	    "SELECT device_id || ' ' || created_at || ' ' || revoked_at"
	    " FROM device_tokens WHERE id = 't1'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "d1 2026-01-02T00:00:00Z 2026-01-03T00:00:00Z");
	ck_assert_int_eq(testutil_sql_query(old,
	                     "SELECT count(*) FROM group_members"
	                     " WHERE group_id = 5 AND device_id = 'd1'",
	                     NULL, 0),
	    1);
	testutil_sql_exec(old, ghost);
	ck_assert_int_eq(testutil_sql_query(old,
	                     "SELECT count(*) FROM device_tokens"
	                     " WHERE device_id = 'ghost'",
	                     NULL, 0),
	    1);
	testutil_sql_exec(old, "DELETE FROM device_groups WHERE id = 5");
	ck_assert_int_eq(testutil_sql_query(old,
	                     "SELECT count(*) FROM group_members", NULL, 0),
	    0);
	if (!testutil_db_is_postgres())
		ck_assert_int_eq(testutil_sql_query(old,
		                     "SELECT count(*) FROM sqlite_master"
		                     " WHERE type = 'index' AND name IN"
		                     " ('device_tokens_device',"
		                     " 'group_members_device')",
		                     NULL, 0),
		    2);
}
END_TEST

/* store_begin / store_commit / store_rollback / store_now_rfc3339 */

START_TEST(test_transactions)
{
	struct store_conn *c;
	char now[21];

	store_now_rfc3339(now);
	ck_assert_uint_eq(strlen(now), 20);
	ck_assert(now[4] == '-' && now[10] == 'T' && now[19] == 'Z');

	c = store_acquire(st);
	store_rollback(c); /* none open: harmless */
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_token_insert(c, "0000000000000001",
	                     (const unsigned char *)"0123456789abcdef"
	                                            "0123456789abcdef",
	                     "rolled-back", "viewer"),
	    0);
	store_rollback(c);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM api_tokens", NULL, 0), 0);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_token_insert(c, "0000000000000001",
	                     (const unsigned char *)"0123456789abcdef"
	                                            "0123456789abcdef",
	                     "committed", "viewer"),
	    0);
	ck_assert_int_eq(store_commit(c), 0);
	store_release(st, c);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM api_tokens", NULL, 0), 1);
}
END_TEST

/* store_image_insert / store_image_get */

START_TEST(test_image_insert_get)
{
	struct ota_descriptor d;
	struct store_image *img = NULL;
	struct store_conn *c;
	char buf[512];
	size_t len;
	int64_t id = 0;
	int existed = -1;

	len = make_image(
	    &d, "sensor-fw", "1.4.0", "revB,revA", 7, "x", buf, sizeof(buf));
	snprintf(d.min_version, sizeof(d.min_version), "1.2.0");
	d.has_security_counter = 1;
	d.security_counter = 3;
	snprintf(d.filename, sizeof(d.filename), "fw.bin");
	len = build_bytes(&d, buf, sizeof(buf));
	c = store_acquire(st);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[{\"keyid\":\"k1\",\"sig\":\"AA==\"}]", ABC_SHA1,
	                     ABC_MD5, "ci-bot", &id, &existed),
	    0);
	ck_assert(id > 0);
	ck_assert_int_eq(existed, 0);

	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	ck_assert_int_eq(img->id, id);
	ck_assert_str_eq(img->desc.name, "sensor-fw");
	ck_assert_str_eq(img->desc.version, "1.4.0");
	ck_assert_uint_eq(img->desc.hardware_count, 2);
	/* As listed in the signed descriptor. */
	ck_assert_str_eq(img->desc.hardware[0], "revB");
	ck_assert_str_eq(img->desc.hardware[1], "revA");
	ck_assert_uint_eq(img->desc.size, 1007);
	ck_assert_str_eq(img->desc.sha256_hex, d.sha256_hex);
	ck_assert_mem_eq(img->desc.sha256, d.sha256, 32);
	ck_assert_str_eq(img->desc.min_version, "1.2.0");
	ck_assert_int_eq(img->desc.has_security_counter, 1);
	ck_assert_uint_eq(img->desc.security_counter, 3);
	ck_assert_str_eq(img->desc.filename, "fw.bin");
	ck_assert_uint_eq(img->descriptor_len, len);
	ck_assert_mem_eq(img->descriptor, buf, len);
	ck_assert_str_eq(
	    img->signatures, "[{\"keyid\":\"k1\",\"sig\":\"AA==\"}]");
	ck_assert_uint_eq(strlen(img->created_at), 20);
	ck_assert_str_eq(img->created_by, "ci-bot");
	store_image_free(img);
	img = NULL;

	/* Optional fields absent. */
	len = make_image(
	    &d, "sensor-fw", "1.5.0", "revA", 8, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "ci-bot", &id, &existed),
	    0);
	ck_assert_int_eq(store_image_get(c, id, &img), 0);
	ck_assert_str_eq(img->desc.min_version, "");
	ck_assert_int_eq(img->desc.has_security_counter, 0);
	ck_assert_str_eq(img->desc.filename, "");
	store_image_free(img);
	img = NULL;

	ck_assert_int_eq(store_image_get(c, id + 100, &img), OTA_ENOTFOUND);
	ck_assert_ptr_null(img);
	store_release(st, c);
}
END_TEST

START_TEST(test_image_duplicates)
{
	struct ota_descriptor d;
	struct store_conn *c;
	char buf[512];
	size_t len;
	int64_t id = 0, first;
	int existed = -1;

	c = store_acquire(st);
	len = make_image(&d, "fw", "1.0.0", "revA", 1, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &first, &existed),
	    0);
	ck_assert_int_eq(existed, 0);

	/* Identical bytes: the existing image, nothing written. */
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "b", &id, &existed),
	    0);
	ck_assert_int_eq(existed, 1);
	ck_assert_int_eq(id, first);

	/* Same name and version, other bytes. */
	len =
	    make_image(&d, "fw", "1.0.0", "revA", 1, "other", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &id, &existed),
	    OTA_ECONFLICT);

	/* Build metadata does not change precedence. */
	len = make_image(
	    &d, "fw", "1.1.0+build1", "revA", 2, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &id, &existed),
	    0);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &id, &existed),
	    0);
	ck_assert_int_eq(existed, 1);
	len = make_image(
	    &d, "fw", "1.1.0+build2", "revA", 2, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &id, &existed),
	    OTA_ECONFLICT);
	len = make_image(&d, "fw", "1.1.0", "revA", 2, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &id, &existed),
	    OTA_ECONFLICT);

	/* Another name may reuse the version. */
	len = make_image(&d, "boot", "1.0.0", "revA", 1, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &id, &existed),
	    0);
	ck_assert_int_eq(existed, 0);
	store_release(st, c);

	ck_assert_int_eq(raw_query("SELECT count(*) FROM images", NULL, 0), 3);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM image_hardware", NULL, 0), 3);
}
END_TEST

/* store_image_list */

START_TEST(test_image_list_filters)
{
	struct store_image_filter f = {.limit = 100};
	struct store_image **imgs = NULL;
	struct store_conn *c;
	char got[512];
	size_t n = 99;

	insert_image("fw", "1.10.0", "revA,revB", 1);
	insert_image("fw", "1.0.0", "revA", 2);
	insert_image("fw", "1.0.0-rc.1", "revB", 3);
	insert_image("fw", "1.2.0", "revA", 4);
	insert_image("fw", "2.0.0-alpha", "revC", 5);
	insert_image("boot", "1.0.0", "revA", 6);

	ck_assert_uint_eq(list_versions(&f, got, sizeof(got)), 6);
	ck_assert_str_eq(got, "1.10.0 1.0.0 1.0.0-rc.1 1.2.0 2.0.0-alpha "
	                      "1.0.0");

	f.name = "fw";
	ck_assert_uint_eq(list_versions(&f, got, sizeof(got)), 5);
	f.name = "nope";
	ck_assert_uint_eq(list_versions(&f, got, sizeof(got)), 0);

	f.name = NULL;
	f.hardware = "revA";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.10.0 1.0.0 1.2.0 1.0.0");
	f.name = "fw";
	f.hardware = "revB";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.10.0 1.0.0-rc.1");

	/* SemVer ranges, not byte order: 1.0.0-rc.1 < 1.0.0 < 1.2.0 <
	 * 1.10.0 < 2.0.0-alpha. */
	f.hardware = NULL;
	f.min_version = "1.0.0";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.10.0 1.0.0 1.2.0 2.0.0-alpha");
	f.min_version = NULL;
	f.max_version = "1.0.0";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.0.0 1.0.0-rc.1");
	f.max_version = "1.0.0-rc.2";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.0.0-rc.1");
	f.min_version = "1.0.1";
	f.max_version = "1.10.0";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.10.0 1.2.0");
	f.min_version = "1.2.0";
	f.max_version = "2.0.0";
	f.hardware = "revA";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.10.0 1.2.0");

	c = store_acquire(st);
	f.limit = 0;
	ck_assert_int_eq(store_image_list(c, &f, &imgs, &n), OTA_EINVAL);
	f.limit = 1001;
	ck_assert_int_eq(store_image_list(c, &f, &imgs, &n), OTA_EINVAL);
	ck_assert_ptr_null(imgs);
	ck_assert_uint_eq(n, 0);
	store_release(st, c);
}
END_TEST

START_TEST(test_image_list_pages)
{
	struct store_image_filter f = {.name = "fw", .limit = 2};
	struct store_image **imgs = NULL;
	struct store_conn *c;
	int64_t ids[5];
	size_t n = 0, seen = 0;
	char v[16];

	for (int i = 0; i < 5; i++) {
		snprintf(v, sizeof(v), "1.%d.0", i);
		ids[i] = insert_image("fw", v, "revA", (unsigned char)i);
	}
	insert_image("other", "1.0.0", "revA", 9);
	c = store_acquire(st);
	do {
		ck_assert_int_eq(store_image_list(c, &f, &imgs, &n), 0);
		ck_assert_uint_le(n, 2);
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_lt(seen, 5);
			ck_assert_int_eq(imgs[i]->id, ids[seen]);
			ck_assert_uint_eq(imgs[i]->desc.hardware_count, 1);
			seen++;
		}
		if (n > 0)
			f.after_id = imgs[n - 1]->id;
		store_image_list_free(imgs, n);
		imgs = NULL;
	} while (n == 2);
	store_release(st, c);
	ck_assert_uint_eq(seen, 5);
}
END_TEST

/* store_image_delete / store_blob_referenced */

START_TEST(test_image_delete)
{
	struct store_conn *c;
	char sha[65], hex[65];
	int64_t a, b;
	int unused = -1;

	a = insert_image("fw", "1.0.0", "revA,revB", 0xab);
	b = insert_image("fw-copy", "1.0.0", "revA", 0xab); /* same blob */
	memset(hex, 0, sizeof(hex));
	memset(hex, 'a', 64);
	for (int i = 0; i < 64; i += 2)
		hex[i + 1] = 'b';

	c = store_acquire(st);
	ck_assert_int_eq(store_blob_referenced(c, hex), 1);
	ck_assert_int_eq(store_image_delete(c, a, sha, &unused, NULL), 0);
	ck_assert_str_eq(sha, hex);
	ck_assert_int_eq(unused, 0);
	ck_assert_int_eq(store_blob_referenced(c, hex), 1);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM image_hardware", NULL, 0), 1);

	ck_assert_int_eq(store_image_delete(c, b, sha, &unused, NULL), 0);
	ck_assert_int_eq(unused, 1);
	ck_assert_int_eq(store_blob_referenced(c, hex), 0);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM image_hardware", NULL, 0), 0);

	ck_assert_int_eq(
	    store_image_delete(c, b, sha, &unused, NULL), OTA_ENOTFOUND);
	ck_assert_int_eq(unused, 0);
	store_release(st, c);
}
END_TEST

/* store_token_* */

static const unsigned char hash_a[CRYPTO_HASH_LEN] = {1, 2, 3};
static const unsigned char hash_b[CRYPTO_HASH_LEN] = {4, 5, 6};

START_TEST(test_token_insert_get)
{
	struct store_token t;
	struct store_conn *c = store_acquire(st);
	char longname[STORE_TOKEN_NAME_MAX + 2];

	ck_assert_int_eq(store_token_insert(c, "00000000000000aa", hash_a,
	                     "alice@example.org", "admin"),
	    0);
	ck_assert_int_eq(store_token_get(c, "00000000000000aa", &t), 0);
	ck_assert_str_eq(t.id, "00000000000000aa");
	ck_assert_str_eq(t.name, "alice@example.org");
	ck_assert_str_eq(t.role, "admin");
	ck_assert_mem_eq(t.hash, hash_a, CRYPTO_HASH_LEN);
	ck_assert_uint_eq(strlen(t.created_at), 20);
	ck_assert_str_eq(t.last_used_at, "");
	ck_assert_str_eq(t.revoked_at, "");
	ck_assert_int_eq(
	    store_token_get(c, "00000000000000ff", &t), OTA_ENOTFOUND);

	ck_assert_int_eq(store_token_insert(c, "00000000000000ab", hash_b,
	                     "bad name", "admin"),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    store_token_insert(c, "00000000000000ab", hash_b, "", "admin"),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    store_token_insert(c, "00000000000000ab", hash_b, "bob", "root"),
	    OTA_EINVAL);
	memset(longname, 'x', STORE_TOKEN_NAME_MAX + 1);
	longname[STORE_TOKEN_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(store_token_insert(
	                     c, "00000000000000ab", hash_b, longname, "viewer"),
	    OTA_EINVAL);
	longname[STORE_TOKEN_NAME_MAX] = '\0';
	ck_assert_int_eq(store_token_insert(
	                     c, "00000000000000ac", hash_b, longname, "viewer"),
	    0);
	ck_assert_int_eq(store_token_insert(c, "00000000000000ab", hash_b,
	                     "a.b_c-d@E9", "release"),
	    0);
	store_release(st, c);
}
END_TEST

START_TEST(test_token_duplicate_name)
{
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(
	    store_token_insert(c, "0000000000000001", hash_a, "ci", "release"),
	    0);
	ck_assert_int_eq(
	    store_token_insert(c, "0000000000000002", hash_b, "ci", "viewer"),
	    OTA_ECONFLICT);
	/* Once revoked, the name is free again. */
	ck_assert_int_eq(store_token_revoke(c, "ci"), 0);
	ck_assert_int_eq(
	    store_token_insert(c, "0000000000000002", hash_b, "ci", "viewer"),
	    0);
	/* A duplicate id is a database error, not a name conflict. */
	ck_assert_int_eq(store_token_insert(
	                     c, "0000000000000002", hash_b, "other", "viewer"),
	    OTA_EDB);
	store_release(st, c);
}
END_TEST

START_TEST(test_token_list)
{
	struct store_token *toks = NULL;
	struct store_conn *c = store_acquire(st);
	size_t n = 99;

	ck_assert_int_eq(store_token_list(c, &toks, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(toks);
	ck_assert_int_eq(
	    store_token_insert(c, "0000000000000003", hash_a, "first", "admin"),
	    0);
	ck_assert_int_eq(store_token_insert(
	                     c, "0000000000000001", hash_a, "second", "viewer"),
	    0);
	ck_assert_int_eq(store_token_insert(
	                     c, "0000000000000002", hash_b, "third", "release"),
	    0);
	ck_assert_int_eq(store_token_revoke(c, "second"), 0);
	ck_assert_int_eq(store_token_list(c, &toks, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(toks[0].name, "first");
	ck_assert_str_eq(toks[1].name, "second");
	ck_assert_str_eq(toks[2].name, "third");
	ck_assert_str_ne(toks[1].revoked_at, "");
	ck_assert_str_eq(toks[2].revoked_at, "");
	ck_assert_mem_eq(toks[2].hash, hash_b, CRYPTO_HASH_LEN);
	free(toks);
	store_release(st, c);
}
END_TEST

START_TEST(test_token_touch)
{
	struct store_token t;
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(
	    store_token_insert(c, "0000000000000001", hash_a, "ci", "release"),
	    0);
	ck_assert_int_eq(store_token_touch(c, "0000000000000001"), 0);
	ck_assert_int_eq(store_token_get(c, "0000000000000001", &t), 0);
	ck_assert_uint_eq(strlen(t.last_used_at), 20);

	/* Within the minute: no write. */
	raw_exec("UPDATE api_tokens SET last_used_at = '2999-01-01T00:00:00Z'");
	ck_assert_int_eq(store_token_touch(c, "0000000000000001"), 0);
	ck_assert_int_eq(store_token_get(c, "0000000000000001", &t), 0);
	ck_assert_str_eq(t.last_used_at, "2999-01-01T00:00:00Z");

	/* Older than a minute: written. */
	raw_exec("UPDATE api_tokens SET last_used_at = '2000-01-01T00:00:00Z'");
	ck_assert_int_eq(store_token_touch(c, "0000000000000001"), 0);
	ck_assert_int_eq(store_token_get(c, "0000000000000001", &t), 0);
	ck_assert_str_ne(t.last_used_at, "2000-01-01T00:00:00Z");
	ck_assert_str_ne(t.last_used_at, "2999-01-01T00:00:00Z");

	/* Unknown id: nothing to do, not an error. */
	ck_assert_int_eq(store_token_touch(c, "00000000000000ff"), 0);
	store_release(st, c);
}
END_TEST

START_TEST(test_token_revoke)
{
	struct store_token t;
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(
	    store_token_insert(c, "0000000000000001", hash_a, "ci", "release"),
	    0);
	ck_assert_int_eq(
	    store_token_insert(c, "0000000000000002", hash_b, "ops", "admin"),
	    0);
	ck_assert_int_eq(store_token_revoke(c, "0000000000000001"), 0);
	ck_assert_int_eq(store_token_get(c, "0000000000000001", &t), 0);
	ck_assert_uint_eq(strlen(t.revoked_at), 20);
	ck_assert_int_eq(
	    store_token_revoke(c, "0000000000000001"), OTA_ENOTFOUND);
	ck_assert_int_eq(store_token_revoke(c, "ci"), OTA_ENOTFOUND);
	ck_assert_int_eq(store_token_revoke(c, "ops"), 0);
	ck_assert_int_eq(store_token_get(c, "0000000000000002", &t), 0);
	ck_assert_str_ne(t.revoked_at, "");
	ck_assert_int_eq(store_token_revoke(c, "nobody"), OTA_ENOTFOUND);
	store_release(st, c);
}
END_TEST

/* store_acquire / store_release from several threads */

#define POOL_THREADS 4
#define POOL_INSERTS 25

struct pool_arg {
	int thread;
	int failures;
};

static void *
pool_worker(void *p)
{
	struct pool_arg *arg = p;
	struct ota_descriptor d;
	struct store_conn *c;
	struct store_image *img;
	char name[32], version[32], hw[16], buf[512];
	size_t len;
	int64_t id;
	int existed;

	for (int i = 0; i < POOL_INSERTS; i++) {
		snprintf(name, sizeof(name), "fw-%d", arg->thread);
		snprintf(version, sizeof(version), "1.%d.0", i);
		snprintf(hw, sizeof(hw), "rev%d", i % 3);
		len = make_image(
		    &d, name, version, hw, 0xff, "", buf, sizeof(buf));
		c = store_acquire(st);
		if (store_image_insert(c, &d, (unsigned char *)buf, len, "[]",
		        ABC_SHA1, ABC_MD5, "pool", &id, &existed) != 0 ||
		    existed)
			arg->failures++;
		else if (store_image_get(c, id, &img) != 0)
			arg->failures++;
		else
			store_image_free(img);
		store_release(st, c);
	}
	return NULL;
}

/* Runs nthreads workers against a pool of nconns connections. */
static void
run_pool(int nconns, int nthreads)
{
	pthread_t th[8];
	struct pool_arg args[8];

	ck_assert_int_le(nthreads, 8);
	store_close(st);
	st = NULL;
	ck_assert_int_eq(store_open(testutil_db(dbpath), nconns, &st), 0);
	for (int i = 0; i < nthreads; i++) {
		args[i].thread = i;
		args[i].failures = 0;
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, pool_worker, &args[i]), 0);
	}
	for (int i = 0; i < nthreads; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(args[i].failures, 0);
	}
	ck_assert_int_eq(raw_query("SELECT count(*) FROM images", NULL, 0),
	    nthreads * POOL_INSERTS);
}

START_TEST(test_pool_threads)
{
	run_pool(4, POOL_THREADS);
}
END_TEST

START_TEST(test_pool_waits)
{
	/* More threads than connections: store_acquire must block. */
	run_pool(2, 6);
}
END_TEST

/* store_image_insert refuses a created_by its row could not give back. */
START_TEST(test_image_created_by_bounds)
{
	struct ota_descriptor d;
	struct store_conn *c;
	char buf[512], who[66];
	size_t len;
	int64_t id = 0;
	int existed = -1;

	len = make_image(&d, "fw", "1.0.0", "revA", 9, "", buf, sizeof(buf));
	memset(who, 'a', sizeof(who) - 1);
	who[sizeof(who) - 1] = '\0';
	c = store_acquire(st);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, who, &id, &existed),
	    OTA_EINVAL);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, NULL, &id, &existed),
	    OTA_EINVAL);
	ck_assert_int_eq(raw_query("SELECT count(*) FROM images", NULL, 0), 0);
	who[64] = '\0';
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, who, &id, &existed),
	    0);
	store_release(st, c);
}
END_TEST

/* The SHA-1 and MD5 an image row keeps beside its sha256. */
START_TEST(test_image_digests)
{
	static const char sha1_b[] = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";
	static const char md5_b[] = "9e107d9d372bb6826bd81d3542a419d6";
	struct store_image_filter f = {0};
	struct store_image *img = NULL, **imgs = NULL;
	struct ota_descriptor d;
	struct store_conn *c;
	char buf[512], text[64];
	size_t len, n = 0;
	int64_t a = 0, b = 0, id = 0;
	int existed = -1;

	c = store_acquire(st);
	len = make_image(&d, "fw", "1.0.0", "revA", 1, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &a, &existed),
	    0);
	len = make_image(&d, "fw", "2.0.0", "revA", 2, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", sha1_b, md5_b, "a", &b, &existed),
	    0);
	ck_assert_int_eq(store_image_get(c, a, &img), 0);
	ck_assert_str_eq(img->sha1_hex, ABC_SHA1);
	ck_assert_str_eq(img->md5_hex, ABC_MD5);
	store_image_free(img);
	f.limit = 10;
	ck_assert_int_eq(store_image_list(c, &f, &imgs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(imgs[1]->sha1_hex, sha1_b);
	ck_assert_str_eq(imgs[1]->md5_hex, md5_b);
	store_image_list_free(imgs, n);
	raw_query("SELECT sha1 FROM images WHERE version = '2.0.0'", text,
	    sizeof(text));
	ck_assert_str_eq(text, sha1_b);
	raw_query("SELECT md5 FROM images WHERE version = '2.0.0'", text,
	    sizeof(text));
	ck_assert_str_eq(text, md5_b);

	/* Malformed digests: nothing written. */
	len = make_image(&d, "fw", "3.0.0", "revA", 3, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", NULL, ABC_MD5, "a", &id, &existed),
	    OTA_EINVAL);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, "", "a", &id, &existed),
	    OTA_EINVAL);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", "A9993E364706816ABA3E25717850C26C9CD0D89D",
	                     ABC_MD5, "a", &id, &existed),
	    OTA_EINVAL);
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_MD5, ABC_SHA1, "a", &id, &existed),
	    OTA_EINVAL);
	ck_assert_int_eq(raw_query("SELECT count(*) FROM images", NULL, 0), 2);

	/* A row from before migration 0004: "" in the image. */
	raw_exec("UPDATE images SET sha1 = NULL, md5 = NULL");
	ck_assert_int_eq(store_image_get(c, b, &img), 0);
	ck_assert_str_eq(img->sha1_hex, "");
	ck_assert_str_eq(img->md5_hex, "");
	store_image_free(img);
	/* The same image uploaded again gives that row its digests... */
	len = make_image(&d, "fw", "2.0.0", "revA", 2, "", buf, sizeof(buf));
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", sha1_b, md5_b, "a", &id, &existed),
	    0);
	ck_assert_int_eq(existed, 1);
	ck_assert_int_eq(id, b);
	ck_assert_int_eq(store_image_get(c, b, &img), 0);
	ck_assert_str_eq(img->sha1_hex, sha1_b);
	ck_assert_str_eq(img->md5_hex, md5_b);
	store_image_free(img);
	/* ...and never replaces digests a row has. */
	ck_assert_int_eq(store_image_insert(c, &d, (unsigned char *)buf, len,
	                     "[]", ABC_SHA1, ABC_MD5, "a", &id, &existed),
	    0);
	ck_assert_int_eq(existed, 1);
	ck_assert_int_eq(store_image_get(c, b, &img), 0);
	ck_assert_str_eq(img->sha1_hex, sha1_b);
	store_image_free(img);
	ck_assert_int_eq(store_image_get(c, a, &img), 0);
	ck_assert_str_eq(img->sha1_hex, "");
	store_image_free(img);
	store_release(st, c);
}
END_TEST

/* store_image_digests_missing / store_image_digests_set: the backfill. */
START_TEST(test_image_digests_backfill)
{
	struct store_image_ref refs[4];
	struct store_image *img = NULL;
	struct store_conn *c;
	int64_t id[3];
	size_t n = 99;

	for (int i = 0; i < 3; i++) {
		char v[16];

		snprintf(v, sizeof(v), "1.0.%d", i);
		id[i] = insert_image("fw", v, "revA", (unsigned char)(i + 1));
	}
	c = store_acquire(st);
	ck_assert_int_eq(store_image_digests_missing(c, 0, 4, refs, &n), 0);
	ck_assert_uint_eq(n, 0);
	raw_exec("UPDATE images SET sha1 = NULL, md5 = NULL");
	ck_assert_int_eq(store_image_digests_missing(c, 0, 4, refs, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		char want[65];

		for (int k = 0; k < 32; k++)
			snprintf(want + 2 * k, 3, "%02x", i + 1);
		ck_assert_int_eq(refs[i].id, id[i]);
		ck_assert_str_eq(refs[i].sha256_hex, want);
	}
	/* Pages: a cursor and a limit. */
	ck_assert_int_eq(store_image_digests_missing(c, 0, 1, refs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(refs[0].id, id[0]);
	ck_assert_int_eq(store_image_digests_missing(c, id[0], 4, refs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(refs[0].id, id[1]);
	ck_assert_int_eq(
	    store_image_digests_missing(c, 0, 0, refs, &n), OTA_EINVAL);
	ck_assert_int_eq(
	    store_image_digests_missing(c, 0, 1001, refs, &n), OTA_EINVAL);

	/* Set once; a second set, an unknown id or bad hex changes nothing. */
	ck_assert_int_eq(
	    store_image_digests_set(c, id[1], ABC_SHA1, ABC_MD5), 0);
	ck_assert_int_eq(store_image_digests_set(c, id[1], ABC_SHA1, ABC_MD5),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_image_digests_set(c, id[2] + 10, ABC_SHA1, ABC_MD5),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_image_digests_set(c, id[0], ABC_SHA1, "00"), OTA_EINVAL);
	ck_assert_int_eq(
	    store_image_digests_set(c, id[0], NULL, ABC_MD5), OTA_EINVAL);
	ck_assert_int_eq(store_image_get(c, id[1], &img), 0);
	ck_assert_str_eq(img->sha1_hex, ABC_SHA1);
	ck_assert_str_eq(img->md5_hex, ABC_MD5);
	store_image_free(img);
	ck_assert_int_eq(store_image_get(c, id[0], &img), 0);
	ck_assert_str_eq(img->sha1_hex, "");
	store_image_free(img);
	ck_assert_int_eq(store_image_digests_missing(c, 0, 4, refs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(refs[0].id, id[0]);
	ck_assert_int_eq(refs[1].id, id[2]);
	store_release(st, c);
}
END_TEST

/* store__multi_sql / store__multi_rows / store__multi_prepare */

START_TEST(test_multi_sql)
{
	static struct store_multi m =
	    STORE_MULTI_INIT("WITH v(a, b) AS (VALUES ",
	        "(CAST(? AS BIGINT), ?)", ") SELECT SUM(a), MAX(b) FROM v", 2);
	static struct store_multi wide = STORE_MULTI_INIT(
	    "", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "", 12);
	struct store_conn *c;
	struct db_stmt *s;
	size_t rows;
	char *sql;

	sql = store__multi_sql("INSERT INTO t VALUES ", "(?, f(?))",
	    " ON CONFLICT DO NOTHING", 2, 3);
	ck_assert_str_eq(sql, "INSERT INTO t VALUES (?1, f(?2)), (?3, f(?4)),"
	                      " (?5, f(?6)) ON CONFLICT DO NOTHING");
	free(sql);
	sql = store__multi_sql("H ", "(?)", "", 1, 12);
	ck_assert_str_eq(sql, "H (?1), (?2), (?3), (?4), (?5), (?6), (?7),"
	                      " (?8), (?9), (?10), (?11), (?12)");
	free(sql);
	/* The row must hold exactly ncols placeholders. */
	ck_assert_ptr_null(store__multi_sql("H", "(?, ?)", "", 3, 1));
	ck_assert_ptr_null(store__multi_sql("H", "(?)", "", 1, 0));
	ck_assert_uint_eq(store__multi_rows(&m, 1), 1);
	ck_assert_uint_eq(store__multi_rows(&m, 3), 2);
	ck_assert_uint_eq(store__multi_rows(&m, 64), 64);
	ck_assert_uint_eq(store__multi_rows(&m, 1000), 64);
	/* 12 columns: at most 256 parameters, so 16 rows. */
	ck_assert_uint_eq(store__multi_rows(&wide, 1000), 16);
	ck_assert_uint_eq(store__multi_rows(&wide, 15), 8);

	/* On the database: 5 rows waiting take a statement of 4. */
	c = store_acquire(st);
	ck_assert_int_eq(store__multi_prepare(c, &m, 5, &s, &rows), 0);
	ck_assert_uint_eq(rows, 4);
	for (size_t r = 0; r < rows; r++) {
		ck_assert_int_eq(
		    db_bind_int64(s, (int)(r * 2 + 1), 10 + (int64_t)r), 0);
		ck_assert_int_eq(
		    db_bind_text(s, (int)(r * 2 + 2), r == 2 ? "z" : "a"), 0);
	}
	ck_assert_int_eq(db_step(s), DB_ROW);
	ck_assert_int_eq(db_column_int64(s, 0), 46);
	ck_assert_str_eq(db_column_text(s, 1), "z");
	store__done(s);
	/* The same size again: the very same cached statement. */
	{
		struct db_stmt *again;

		ck_assert_int_eq(
		    store__multi_prepare(c, &m, 7, &again, &rows), 0);
		ck_assert_ptr_eq(again, s);
		store__done(again);
	}
	ck_assert_int_eq(store__multi_prepare(c, &m, 1, &s, &rows), 0);
	ck_assert_uint_eq(rows, 1);
	ck_assert_int_eq(db_bind_int64(s, 1, 7), 0);
	ck_assert_int_eq(db_bind_text(s, 2, "q"), 0);
	ck_assert_int_eq(db_step(s), DB_ROW);
	ck_assert_int_eq(db_column_int64(s, 0), 7);
	store__done(s);
	store_release(st, c);
}
END_TEST

/* store__grow / store__text_list */

START_TEST(test_grow)
{
	int *v = NULL, *first;
	size_t cap = 0, n;

	ck_assert_int_eq(store__grow(&v, &cap, 0, sizeof(*v), "test"), 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(cap, 16);
	first = v;
	for (n = 0; n < 16; n++) {
		ck_assert_int_eq(
		    store__grow(&v, &cap, n, sizeof(*v), "test"), 0);
		v[n] = (int)n;
	}
	/* No reallocation while there was room. */
	ck_assert_ptr_eq(v, first);
	ck_assert_uint_eq(cap, 16);
	ck_assert_int_eq(store__grow(&v, &cap, n, sizeof(*v), "test"), 0);
	ck_assert_uint_eq(cap, 32);
	v[n] = (int)n;
	for (n = 0; n <= 16; n++)
		ck_assert_int_eq(v[n], (int)n);
	free(v);
}
END_TEST

START_TEST(test_text_list)
{
	/* Its own statement, cached under this address like any other. */
	static const char sql[] = "SELECT name FROM schema_migrations"
	                          " WHERE name > ?1 ORDER BY version";
	struct store_conn *c = store_acquire(st);
	char **v = NULL;
	size_t n = 99;

	ck_assert_int_eq(store__text_list(c, sql, "", &v, &n, "test"), 0);
	ck_assert_uint_eq(n, store_migrations_count);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(v[i], store_migrations[i].name);
		free(v[i]);
	}
	free(v);
	ck_assert_int_eq(store__text_list(c, sql, "~", &v, &n, "test"), 0);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(n, 0);
	store_release(st, c);
}
END_TEST

/* version_key: the backfill at open, and no collation left */

START_TEST(test_version_key_backfill)
{
	struct store_image_filter f = {.limit = 100};
	char got[512], key[STORE_VERSION_KEY_MAX], want[STORE_VERSION_KEY_MAX];

	insert_image("fw", "1.10.0", "revA", 1);
	insert_image("fw", "1.0.0-rc.1", "revA", 2);
	insert_image("fw", "1.2.0+b.7", "revA", 3);
	/* Rows as a database before migration 0006 holds them. */
	raw_exec("UPDATE images SET version_key = NULL");
	store_close(st);
	st = NULL;
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	ck_assert_int_eq(raw_query("SELECT count(*) FROM images"
	                           " WHERE version_key IS NULL",
	                     NULL, 0),
	    0);
	raw_query("SELECT version_key FROM images WHERE version = '1.2.0+b.7'",
	    key, sizeof(key));
	ck_assert_int_eq(semver_sort_key("1.2.0", want, sizeof(want)), 0);
	ck_assert_str_eq(key, want);
	/* Ranges read the backfilled keys. */
	f.min_version = "1.0.0";
	list_versions(&f, got, sizeof(got));
	ck_assert_str_eq(got, "1.10.0 1.2.0+b.7");
	/* Idempotent: a second open changes nothing. */
	store_close(st);
	st = NULL;
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	raw_query("SELECT version_key FROM images WHERE version = '1.2.0+b.7'",
	    key, sizeof(key));
	ck_assert_str_eq(key, want);
	/* Not a version: after every version. */
	store__version_key("not-a-version", key);
	ck_assert_str_eq(key, "~not-a-version");
	ck_assert_int_gt(strcmp(key, want), 0);
}
END_TEST

START_TEST(test_no_semver_collation)
{
	static const char sql[] = "SELECT 'a' < 'b' COLLATE SEMVER";
	struct store_conn *c = store_acquire(st);
	struct db_stmt *s = NULL;

	/* PostgreSQL prepares on the first step: it fails there. */
	if (store__prepare(c, sql, &s) == 0) {
		ck_assert(testutil_db_is_postgres());
		ck_assert_int_lt(db_step(s), 0);
		store__done(s);
	} else {
		ck_assert_ptr_null(s);
	}
	store_release(st, c);
}
END_TEST

/* The driver (db_sqlite.c) as the store relies on it, on its own file. */

static struct db_conn *
driver_open(void)
{
	char path[PATH_MAX + 16];
	struct db_conn *d = NULL;

	snprintf(path, sizeof(path), "%s/driver.db", tmpdir);
	ck_assert_int_eq(db_open(path, NULL, &d), 0);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(db_exec(d, "CREATE TABLE p (id INTEGER PRIMARY KEY,"
	                            " name TEXT NOT NULL UNIQUE,"
	                            " n INTEGER CHECK (n >= 0));"
	                            "CREATE TABLE k (p_id INTEGER NOT NULL"
	                            " REFERENCES p (id), x REAL);"),
	    0);
	return d;
}

START_TEST(test_driver_cache)
{
	static const char sql_a[] = "SELECT 1";
	static const char sql_b[] = "SELECT 1"; /* same text, own statement */
	struct db_stmt *a = NULL, *a2 = NULL, *b = NULL;
	struct db_conn *d = driver_open();

	ck_assert_int_eq(db_prepare(d, sql_a, &a), 0);
	ck_assert_int_eq(db_prepare(d, sql_b, &b), 0);
	ck_assert_int_eq(db_prepare(d, sql_a, &a2), 0);
	ck_assert_ptr_eq(a, a2);
	ck_assert_ptr_ne(a, b);
	/* Both usable at once. */
	ck_assert_int_eq(db_step(a), DB_ROW);
	ck_assert_int_eq(db_step(b), DB_ROW);
	ck_assert_int_eq(db_column_int64(a, 0), 1);
	db_reset(a);
	db_reset(b);
	db_reset(NULL);
	/* Bad SQL: an error, no statement. */
	ck_assert_int_lt(db_prepare(d, "SELEC 1", &a), 0);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(db_errmsg(d));
	db_close(d);
	db_close(NULL);
}
END_TEST

START_TEST(test_driver_cache_grows)
{
	/* More statements than the first table holds, each kept: the cache
	 * grows and every borrowed statement stays valid. */
	static char texts[200][32];
	struct db_stmt *s[200];
	struct db_conn *d = driver_open();

	for (size_t i = 0; i < 200; i++) {
		snprintf(texts[i], sizeof(texts[i]), "SELECT %zu", i);
		ck_assert_int_eq(db_prepare(d, texts[i], &s[i]), 0);
	}
	for (size_t i = 0; i < 200; i++) {
		struct db_stmt *again = NULL;

		ck_assert_int_eq(db_prepare(d, texts[i], &again), 0);
		ck_assert_ptr_eq(again, s[i]);
		ck_assert_int_eq(db_step(s[i]), DB_ROW);
		ck_assert_int_eq(db_column_int64(s[i], 0), (int64_t)i);
		db_reset(s[i]);
	}
	db_close(d);
}
END_TEST

START_TEST(test_driver_constraints)
{
	static const char ins[] =
	    "INSERT INTO p (id, name, n) VALUES (?1, ?2, ?3)";
	static const char ins_k[] = "INSERT INTO k (p_id) VALUES (?1)";
	struct db_conn *d = driver_open();
	struct db_stmt *s = NULL;

	ck_assert_int_eq(db_prepare(d, ins, &s), 0);
	ck_assert_int_eq(db_bind_int64(s, 1, 1), 0);
	ck_assert_int_eq(db_bind_text(s, 2, "a"), 0);
	ck_assert_int_eq(db_bind_int64(s, 3, 0), 0);
	ck_assert_int_eq(db_step(s), DB_DONE);
	ck_assert_int_eq(db_changes(d), 1);
	db_reset(s);
	/* UNIQUE and PRIMARY KEY are one class. */
	db_bind_int64(s, 1, 2);
	db_bind_text(s, 2, "a");
	ck_assert_int_eq(db_step(s), DB_EUNIQUE);
	ck_assert_int_ne(db_errcode(d), 0);
	db_reset(s);
	db_bind_int64(s, 1, 1);
	db_bind_text(s, 2, "b");
	ck_assert_int_eq(db_step(s), DB_EUNIQUE);
	db_reset(s);
	/* CHECK and NOT NULL are another. */
	db_bind_int64(s, 1, 3);
	db_bind_text(s, 2, "c");
	db_bind_int64(s, 3, -1);
	ck_assert_int_eq(db_step(s), DB_ECHECK);
	db_reset(s);
	db_bind_int64(s, 1, 3);
	db_bind_text(s, 2, NULL); /* NULL text binds NULL */
	ck_assert_int_eq(db_step(s), DB_ECHECK);
	db_reset(s);
	/* Foreign keys are on. */
	ck_assert_int_eq(db_prepare(d, ins_k, &s), 0);
	db_bind_int64(s, 1, 99);
	ck_assert_int_eq(db_step(s), DB_EFOREIGN);
	db_reset(s);
	/* A bad parameter index is an error, not a crash. */
	ck_assert_int_lt(db_bind_int64(s, 5, 1), 0);
	db_reset(s);
	db_close(d);
}
END_TEST

START_TEST(test_driver_returning)
{
	static const char ins[] =
	    "INSERT INTO p (name, n) VALUES (?1, 1) RETURNING id";
	static const char ins_skip[] = "INSERT INTO p (name, n) VALUES (?1, 1)"
	                               " ON CONFLICT DO NOTHING";
	static const char upd[] = "UPDATE p SET n = n + 1";
	struct db_conn *d = driver_open();
	struct db_stmt *s = NULL;

	ck_assert_int_eq(db_prepare(d, ins, &s), 0);
	db_bind_text(s, 1, "a");
	ck_assert_int_eq(db_step(s), DB_ROW);
	ck_assert_int_eq(db_column_int64(s, 0), 1);
	ck_assert_int_eq(db_step(s), DB_DONE);
	ck_assert_int_eq(db_changes(d), 1);
	db_reset(s);
	db_bind_text(s, 1, "b");
	ck_assert_int_eq(db_step(s), DB_ROW);
	ck_assert_int_eq(db_column_int64(s, 0), 2);
	ck_assert_int_eq(db_step(s), DB_DONE);
	db_reset(s);
	/* A skipped row changes nothing and is no error. */
	ck_assert_int_eq(db_prepare(d, ins_skip, &s), 0);
	db_bind_text(s, 1, "a");
	ck_assert_int_eq(db_step(s), DB_DONE);
	ck_assert_int_eq(db_changes(d), 0);
	db_reset(s);
	db_bind_text(s, 1, "c");
	ck_assert_int_eq(db_step(s), DB_DONE);
	ck_assert_int_eq(db_changes(d), 1);
	db_reset(s);
	ck_assert_int_eq(db_prepare(d, upd, &s), 0);
	ck_assert_int_eq(db_step(s), DB_DONE);
	ck_assert_int_eq(db_changes(d), 3);
	db_reset(s);
	db_close(d);
}
END_TEST

START_TEST(test_driver_columns_transactions)
{
	static const char ins[] = "INSERT INTO k (p_id, x) VALUES (?1, ?2)";
	static const char sel[] = "SELECT x, NULL, '', x'0102', 'hé' FROM k";
	struct db_conn *d = driver_open();
	struct db_stmt *s = NULL;

	ck_assert_int_eq(
	    db_exec(d, "INSERT INTO p (id, name) VALUES (1, 'a')"), 0);
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(db_begin(d, DB_BEGIN_WRITE), 0);
	ck_assert_int_eq(db_in_transaction(d), 1);
	ck_assert_int_eq(db_prepare(d, ins, &s), 0);
	db_bind_int64(s, 1, 1);
	ck_assert_int_eq(db_bind_double(s, 2, 0.25), 0);
	ck_assert_int_eq(db_step(s), DB_DONE);
	db_reset(s);
	ck_assert_int_eq(db_rollback(d), 0);
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(db_rollback(d), 0); /* none open: fine */
	ck_assert_int_eq(db_begin(d, DB_BEGIN_WRITE), 0);
	db_bind_int64(s, 1, 1);
	db_bind_double(s, 2, 0.25);
	ck_assert_int_eq(db_step(s), DB_DONE);
	db_reset(s);
	ck_assert_int_eq(db_commit(d), 0);
	ck_assert_int_eq(db_begin(d, DB_BEGIN_READ), 0);
	ck_assert_int_eq(db_prepare(d, sel, &s), 0);
	ck_assert_int_eq(db_step(s), DB_ROW);
	ck_assert(db_column_double(s, 0) == 0.25);
	ck_assert(db_column_is_null(s, 1));
	ck_assert_ptr_null(db_column_text(s, 1));
	ck_assert(!db_column_is_null(s, 2));
	ck_assert_str_eq(db_column_text(s, 2), "");
	ck_assert_uint_eq(db_column_bytes(s, 3), 2);
	ck_assert_int_eq(memcmp(db_column_blob(s, 3), "\x01\x02", 2), 0);
	ck_assert_str_eq(db_column_text(s, 4), "hé");
	ck_assert_uint_eq(db_column_bytes(s, 4), 3);
	ck_assert_int_eq(db_step(s), DB_DONE);
	db_reset(s);
	ck_assert_int_eq(db_commit(d), 0);
	ck_assert_int_eq(db_in_transaction(d), 0);
	db_close(d);
}
END_TEST

/* store__list */
struct list_elem {
	int64_t v;
	char *p; /* allocated, so a leak shows under ASan */
};

static int list_freed;

/* Fills a list_elem; fails (OTA_EDB) on the value *(int64_t *)arg. */
static int
list_row(struct db_stmt *s, void *elem, void *arg)
{
	struct list_elem *e = elem;

	ck_assert_int_eq(e->v, 0);
	ck_assert_ptr_null(e->p);
	e->v = db_column_int64(s, 0);
	ck_assert_ptr_nonnull(e->p = strdup("x"));
	return e->v == *(int64_t *)arg ? OTA_EDB : 0;
}

static void
list_free(void *elem)
{
	free(((struct list_elem *)elem)->p);
	list_freed++;
}

/* Runs store__list over the numbers 1..upto. */
static int
list_run(struct store_conn *c, int64_t upto, size_t max, int64_t fail,
    struct list_elem **out, size_t *out_n)
{
	static const char sql[] =
	    "WITH RECURSIVE n(x) AS (SELECT 1 WHERE ?1 > 0"
	    " UNION ALL SELECT x + 1 FROM n WHERE x < ?1) SELECT x FROM n";
	struct db_stmt *s = NULL;
	int rc;

	ck_assert_int_eq(store__prepare(c, sql, &s), 0);
	ck_assert_int_eq(db_bind_int64(s, 1, upto), 0);
	rc = store__list(c, s, sizeof(**out), max, list_row, &fail, list_free,
	    out, out_n, "test");
	store__done(s);
	return rc;
}

START_TEST(test_list)
{
	struct store_conn *c = store_acquire(st);
	struct list_elem *v = NULL;
	size_t n = 99;

	/* Past two doublings of the array. */
	ck_assert_int_eq(list_run(c, 40, 0, -1, &v, &n), 0);
	ck_assert_uint_eq(n, 40);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(v[i].v, (int64_t)i + 1);
		free(v[i].p);
	}
	free(v);
	/* max stops early. */
	ck_assert_int_eq(list_run(c, 40, 5, -1, &v, &n), 0);
	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++)
		free(v[i].p);
	free(v);
	/* None: a NULL array. */
	v = (struct list_elem *)&n;
	ck_assert_int_eq(list_run(c, 0, 0, -1, &v, &n), 0);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(n, 0);
	/* A failing row frees every element so far, its own too. */
	list_freed = 0;
	n = 99;
	ck_assert_int_eq(list_run(c, 40, 0, 20, &v, &n), OTA_EDB);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(list_freed, 20);
	store_release(st, c);
}
END_TEST

/* store__tx_join / store__tx_end: a store function in its own transaction
 * commits or rolls back by its result; inside its caller's it leaves the
 * transaction to the caller. */
static int64_t
tx_rows(struct store_conn *c)
{
	static const char sql[] = "SELECT count(*) FROM tx_t";
	struct db_stmt *s = NULL;
	int64_t n;

	ck_assert_int_eq(store__prepare(c, sql, &s), 0);
	ck_assert_int_eq(db_step(s), DB_ROW);
	n = db_column_int64(s, 0);
	store__done(s);
	return n;
}

START_TEST(test_tx_join)
{
	struct store_conn *c = store_acquire(st);
	struct db_conn *d = store__db(c);
	int own = -1;

	ck_assert_int_eq(db_exec(d, "CREATE TABLE tx_t (x INTEGER)"), 0);
	/* Its own, committed. */
	ck_assert_int_eq(store__tx_join(c, DB_BEGIN_WRITE, &own), 0);
	ck_assert_int_eq(own, 1);
	ck_assert_int_eq(db_in_transaction(d), 1);
	ck_assert_int_eq(db_exec(d, "INSERT INTO tx_t VALUES (1)"), 0);
	ck_assert_int_eq(store__tx_end(c, own, 0), 0);
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(tx_rows(c), 1);
	/* Its own, failed: rolled back, the failure returned. */
	ck_assert_int_eq(store__tx_join(c, DB_BEGIN_WRITE, &own), 0);
	ck_assert_int_eq(db_exec(d, "INSERT INTO tx_t VALUES (2)"), 0);
	ck_assert_int_eq(store__tx_end(c, own, OTA_EINVAL), OTA_EINVAL);
	ck_assert_int_eq(db_in_transaction(d), 0);
	ck_assert_int_eq(tx_rows(c), 1);
	/* The caller's: joined, left open either way. */
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store__tx_join(c, DB_BEGIN_WRITE, &own), 0);
	ck_assert_int_eq(own, 0);
	ck_assert_int_eq(db_exec(d, "INSERT INTO tx_t VALUES (3)"), 0);
	ck_assert_int_eq(store__tx_end(c, own, 0), 0);
	ck_assert_int_eq(db_in_transaction(d), 1);
	ck_assert_int_eq(store__tx_end(c, own, OTA_EINVAL), OTA_EINVAL);
	ck_assert_int_eq(db_in_transaction(d), 1);
	ck_assert_int_eq(tx_rows(c), 2);
	store_rollback(c);
	ck_assert_int_eq(tx_rows(c), 1);
	/* A read snapshot of its own. */
	ck_assert_int_eq(store__tx_join(c, DB_BEGIN_READ, &own), 0);
	ck_assert_int_eq(own, 1);
	ck_assert_int_eq(tx_rows(c), 1);
	ck_assert_int_eq(store__tx_end(c, own, 0), 0);
	ck_assert_int_eq(db_in_transaction(d), 0);
	store_release(st, c);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	struct {
		const char *name;
		const TTest *tests[6];
	} cases[] = {
	    {"open", {test_open_twice, test_open_bad_nconns, test_wal}},
	    {"schema", {test_schema_too_new, test_migrate_device_keys}},
	    {"transactions", {test_transactions}},
	    {"image_insert", {test_image_insert_get, test_image_duplicates}},
	    {"image_list", {test_image_list_filters, test_image_list_pages}},
	    {"image_delete", {test_image_delete}},
	    {"image_created_by", {test_image_created_by_bounds}},
	    {"image_digests",
	        {test_image_digests, test_image_digests_backfill}},
	    {"internals", {test_grow, test_text_list, test_list, test_tx_join,
	                      test_multi_sql}},
	    {"version_key",
	        {test_version_key_backfill, test_no_semver_collation}},
	    {"driver", {test_driver_cache, test_driver_cache_grows,
	                   test_driver_constraints, test_driver_returning,
	                   test_driver_columns_transactions}},
	    {"tokens",
	        {test_token_insert_get, test_token_duplicate_name,
	            test_token_list, test_token_touch, test_token_revoke}},
	    {"pool", {test_pool_threads, test_pool_waits}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 60);
		for (size_t j = 0; j < 6 && cases[i].tests[j] != NULL; j++)
			tcase_add_test(tc, cases[i].tests[j]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(store_suite());
}
