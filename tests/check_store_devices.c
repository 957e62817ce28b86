/*
 * check_store_devices: store_devices.c, store_groups.c and the credential
 * lookups of store_tokens.c against a real SQLite file migrated by the
 * embedded migrations.  A raw connection (testutil_sql_*) counts rows behind
 * the store's back (so "nothing stored" is checked, not assumed) and plants
 * rollout rows, whose store is another module's.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "crypto.h"
#include "device_service.h"
#include "errors.h"
#include "log.h"
#include "store.h"
#include "store_devices.h"
#include "store_groups.h"
#include "store_tokens.h"
#include "testutil.h"
#include "timeutil.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct store_conn *c;

static void
setup(void)
{
	ck_assert_int_eq(crypto_init(), 0);
	testutil_tmpdir_new("check_store_devices", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 1, &st), 0);
	c = store_acquire(st);
}

static void
teardown(void)
{
	store_release(st, c);
	c = NULL;
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

/* First column of the first row of sql, as an integer or (when out is
 * not NULL) as text into out[outlen]. */
static long long
raw_query(const char *sql, char *out, size_t outlen)
{
	return testutil_sql_query(dbpath, sql, out, outlen);
}

/* "<devices> <device tokens> <memberships>" */
static const char *
counts(void)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%lld %lld %lld",
	    raw_query("SELECT count(*) FROM devices", NULL, 0),
	    raw_query("SELECT count(*) FROM device_tokens", NULL, 0),
	    raw_query("SELECT count(*) FROM group_members", NULL, 0));
	return buf;
}

/* A device to provision with its own fresh token. */
struct newdev {
	struct store_device_new d;
	char token[CRYPTO_TOKEN_LEN];
	char token_id[CRYPTO_TOKEN_ID_LEN];
	unsigned char hash[CRYPTO_HASH_LEN];
};

static void
newdev_init(struct newdev *nd, const char *id, const char *hw,
    const char *version, const char *const *groups, size_t ngroups)
{
	memset(nd, 0, sizeof(*nd));
	ck_assert_int_eq(
	    crypto_token_new(nd->token, nd->token_id, nd->hash), 0);
	nd->d.id = id;
	nd->d.hardware = hw;
	nd->d.version = version;
	nd->d.groups = groups;
	nd->d.group_count = ngroups;
	nd->d.token_id = nd->token_id;
	nd->d.token_hash = nd->hash;
}

/* Provisions one device; returns store_device_insert_batch's code. */
static int
provision(const char *id, const char *hw, const char *version,
    const char *const *groups, size_t ngroups, struct newdev *out)
{
	struct newdev nd;

	newdev_init(&nd, id, hw, version, groups, ngroups);
	if (out != NULL)
		*out = nd;
	return store_device_insert_batch(c, &nd.d, 1, NULL);
}

static void
group(const char *name)
{
	ck_assert_int_eq(store_group_create(c, name, "", NULL), 0);
}

/* store_device_id_valid, store_group_name_valid */

START_TEST(test_names)
{
	char longid[STORE_DEVICE_ID_MAX + 2];

	ck_assert(store_device_id_valid("sensor-0001"));
	ck_assert(store_device_id_valid("aa:bb:cc:dd:ee:ff"));
	ck_assert(store_device_id_valid("A.b_c-9"));
	ck_assert(!store_device_id_valid(""));
	ck_assert(!store_device_id_valid("a b"));
	ck_assert(!store_device_id_valid("a/b"));
	ck_assert(!store_device_id_valid("caf\xc3\xa9"));
	memset(longid, 'x', sizeof(longid));
	longid[STORE_DEVICE_ID_MAX] = '\0';
	ck_assert(store_device_id_valid(longid));
	longid[STORE_DEVICE_ID_MAX] = 'x';
	longid[STORE_DEVICE_ID_MAX + 1] = '\0';
	ck_assert(!store_device_id_valid(longid));

	ck_assert(store_group_name_valid("eu-west.beta_1"));
	ck_assert(!store_group_name_valid("a:b"));
	ck_assert(!store_group_name_valid(""));
	longid[STORE_GROUP_NAME_MAX] = '\0';
	ck_assert(store_group_name_valid(longid));
	longid[STORE_GROUP_NAME_MAX] = 'x';
	ck_assert(!store_group_name_valid(longid));
}
END_TEST

/* store_device_insert_batch, store_device_get */

START_TEST(test_insert_get)
{
	static const char *const g1[] = {"zeta", "alpha"};
	struct newdev v[3];
	struct store_device_new nv[3];
	struct store_device d;

	group("alpha");
	group("zeta");
	newdev_init(&v[0], "dev-1", "revA", "1.2.0", g1, 2);
	v[0].d.labels_json = "{\"site\":\"lyon\"}";
	newdev_init(&v[1], "dev-2", "revB", NULL, NULL, 0);
	newdev_init(&v[2], "dev-3", "revA", "2.0.0-rc.1", g1 + 1, 1);
	for (int i = 0; i < 3; i++)
		nv[i] = v[i].d;
	ck_assert_int_eq(store_device_insert_batch(c, nv, 3, NULL), 0);
	ck_assert_str_eq(counts(), "3 3 3");

	ck_assert_int_eq(store_device_get(c, "dev-1", &d), 0);
	ck_assert_str_eq(d.id, "dev-1");
	ck_assert_str_eq(d.hardware, "revA");
	ck_assert_str_eq(d.version, "1.2.0");
	ck_assert_str_eq(d.labels, "{\"site\":\"lyon\"}");
	ck_assert_int_eq(strlen(d.created_at), 20);
	ck_assert_str_eq(d.last_seen_at, "");
	ck_assert_uint_eq(d.group_count, 2);
	ck_assert_str_eq(d.groups[0], "alpha"); /* sorted */
	ck_assert_str_eq(d.groups[1], "zeta");
	store_device_clear(&d);

	ck_assert_int_eq(store_device_get(c, "dev-2", &d), 0);
	ck_assert_str_eq(d.version, "");
	ck_assert_str_eq(d.labels, "{}");
	ck_assert_uint_eq(d.group_count, 0);
	ck_assert_ptr_null(d.groups);
	store_device_clear(&d);

	ck_assert_int_eq(store_device_get(c, "nope", &d), OTA_ENOTFOUND);
	store_device_clear(&d);
}
END_TEST

/* Text longer than a column of struct store_device is refused, so that
 * every stored row reads back (store_device_get, store_device_facts). */
START_TEST(test_insert_too_long)
{
	char hw[STORE_HARDWARE_MAX + 2], ver[STORE_VERSION_MAX + 2];
	static char labels[STORE_LABELS_MAX + 2];
	struct newdev nd;

	memset(hw, 'h', sizeof(hw) - 1);
	hw[sizeof(hw) - 1] = '\0';
	memset(ver, '1', sizeof(ver) - 1);
	ver[sizeof(ver) - 1] = '\0';
	memset(labels, 'x', sizeof(labels) - 1);
	ck_assert_int_eq(
	    provision("long-1", hw, NULL, NULL, 0, NULL), OTA_EINVAL);
	ck_assert_int_eq(
	    provision("long-2", "revA", ver, NULL, 0, NULL), OTA_EINVAL);
	newdev_init(&nd, "long-3", "revA", NULL, NULL, 0);
	nd.d.labels_json = labels;
	ck_assert_int_eq(
	    store_device_insert_batch(c, &nd.d, 1, NULL), OTA_EINVAL);
	ck_assert_str_eq(counts(), "0 0 0");
	hw[STORE_HARDWARE_MAX] = '\0';
	ck_assert_int_eq(provision("long-4", hw, NULL, NULL, 0, NULL), 0);
}
END_TEST

START_TEST(test_insert_atomic)
{
	static const char *const g[] = {"lab"};
	static const char *const bad[] = {"lab", "ghost"};
	struct newdev v[4];
	struct store_device_new nv[4];
	char conflict[STORE_DEVICE_ID_MAX + 1];

	group("lab");
	ck_assert_int_eq(provision("old", "revA", NULL, g, 1, NULL), 0);
	ck_assert_str_eq(counts(), "1 1 1");

	/* An existing id in the middle: nothing of the batch is kept. */
	newdev_init(&v[0], "n1", "revA", NULL, g, 1);
	newdev_init(&v[1], "n2", "revA", NULL, g, 1);
	newdev_init(&v[2], "old", "revA", NULL, NULL, 0);
	newdev_init(&v[3], "n3", "revA", NULL, NULL, 0);
	for (int i = 0; i < 4; i++)
		nv[i] = v[i].d;
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, 4, conflict), OTA_ECONFLICT);
	ck_assert_str_eq(conflict, "old");
	ck_assert_str_eq(counts(), "1 1 1");

	/* An id repeated within the batch. */
	nv[2].id = "n1";
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, 4, conflict), OTA_ECONFLICT);
	ck_assert_str_eq(conflict, "n1");
	ck_assert_str_eq(counts(), "1 1 1");

	/* An unknown group on the last device. */
	nv[2].id = "n4";
	nv[3].groups = bad;
	nv[3].group_count = 2;
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, 4, conflict), OTA_ENOTFOUND);
	ck_assert_str_eq(conflict, "ghost");
	ck_assert_str_eq(counts(), "1 1 1");

	ck_assert_int_eq(store_device_insert_batch(c, nv, 0, NULL), OTA_EINVAL);
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, STORE_DEVICE_BATCH_MAX + 1, NULL),
	    OTA_EINVAL);
	nv[3].group_count = 1;
	ck_assert_int_eq(store_device_insert_batch(c, nv, 4, NULL), 0);
	ck_assert_str_eq(counts(), "5 5 4");
}
END_TEST

/*
 * The error is the one a device-by-device insert would meet first, over
 * batches of several statements (200 devices, two groups each): an id
 * conflict before a missing group is 409, one after it 404, and a device
 * whose own id conflicts and which names a missing group is 409.
 */
START_TEST(test_insert_first_error)
{
	static const char *const g[] = {"even", "odd"};
	static const char *const bad[] = {"even", "ghost"};
	enum { N = 200 };
	struct newdev *v = calloc(N, sizeof(*v));
	struct store_device_new nv[N];
	char ids[N][16], conflict[STORE_DEVICE_ID_MAX + 1];

	ck_assert(v != NULL);
	group("even");
	group("odd");
	ck_assert_int_eq(provision("taken", "revA", NULL, g, 2, NULL), 0);
	for (size_t i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "m%03zu", i);
		newdev_init(&v[i], ids[i], "revA", NULL, g, 2);
		nv[i] = v[i].d;
	}
	nv[150].id = "taken";
	nv[170].groups = bad;
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, N, conflict), OTA_ECONFLICT);
	ck_assert_str_eq(conflict, "taken");
	nv[150].id = ids[150];
	nv[190].id = ids[3]; /* repeats, after the missing group */
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, N, conflict), OTA_ENOTFOUND);
	ck_assert_str_eq(conflict, "ghost");
	nv[170].id = "taken";
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, N, conflict), OTA_ECONFLICT);
	ck_assert_str_eq(conflict, "taken");
	nv[170].id = ids[99]; /* repeats, and names the missing group */
	ck_assert_int_eq(
	    store_device_insert_batch(c, nv, N, conflict), OTA_ECONFLICT);
	ck_assert_str_eq(conflict, "m099");
	ck_assert_str_eq(counts(), "1 1 2");

	/* Fixed, the whole batch is stored with both memberships each. */
	nv[170] = v[170].d;
	nv[190] = v[190].d;
	ck_assert_int_eq(store_device_insert_batch(c, nv, N, conflict), 0);
	ck_assert_str_eq(counts(), "201 201 402");
	free(v);
}
END_TEST

/* The biggest batch in one call, with its tokens all distinct. */
START_TEST(test_insert_big_batch)
{
	static const char *const g[] = {"fleet"};
	struct store_device_new *nv;
	char(*ids)[16], (*tids)[CRYPTO_TOKEN_ID_LEN];
	unsigned char(*hashes)[CRYPTO_HASH_LEN];
	char tok[CRYPTO_TOKEN_LEN];
	size_t n = STORE_DEVICE_BATCH_MAX;

	group("fleet");
	nv = calloc(n, sizeof(*nv));
	ids = calloc(n, sizeof(*ids));
	tids = calloc(n, sizeof(*tids));
	hashes = calloc(n, sizeof(*hashes));
	ck_assert(nv != NULL && ids != NULL && tids != NULL && hashes != NULL);
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "d%05zu", i);
		ck_assert_int_eq(crypto_token_new(tok, tids[i], hashes[i]), 0);
		nv[i].id = ids[i];
		nv[i].hardware = "revA";
		nv[i].groups = g;
		nv[i].group_count = 1;
		nv[i].token_id = tids[i];
		nv[i].token_hash = hashes[i];
	}
	ck_assert_int_eq(store_device_insert_batch(c, nv, n, NULL), 0);
	ck_assert_str_eq(counts(), "10000 10000 10000");
	free(nv);
	free(ids);
	free(tids);
	free(hashes);
}
END_TEST

/* store_device_list */

/* Lists with f; writes the ids space-separated to out; returns n. */
static size_t
list_ids(const struct store_device_filter *f, char *out, size_t outlen)
{
	struct store_device *v = NULL;
	size_t n = 0, used = 0;

	ck_assert_int_eq(store_device_list(c, f, &v, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		    i > 0 ? " " : "", v[i].id);
	store_device_list_free(v, n);
	return n;
}

START_TEST(test_list_filters)
{
	static const char *const ga[] = {"a"};
	static const char *const gab[] = {"a", "b"};
	struct store_device_filter f;
	struct store_device *v = NULL;
	size_t n = 0;
	char ids[512];

	group("a");
	group("b");
	group("empty");
	ck_assert_int_eq(provision("d1", "revA", "1.0.0", ga, 1, NULL), 0);
	ck_assert_int_eq(provision("d2", "revB", "1.0.0", gab, 2, NULL), 0);
	ck_assert_int_eq(provision("d3", "revA", "2.0.0", NULL, 0, NULL), 0);
	ck_assert_int_eq(provision("d4", "revA", NULL, gab, 2, NULL), 0);
	raw_exec("INSERT INTO device_seen (device_id, last_seen_at) VALUES"
	         " ('d1', '2026-01-01T00:00:00Z'),"
	         " ('d2', '2026-03-01T00:00:00Z'),"
	         " ('d3', '2026-03-01T00:00:00Z')");

	memset(&f, 0, sizeof(f));
	f.limit = 100;
	ck_assert_uint_eq(list_ids(&f, ids, sizeof(ids)), 4);
	ck_assert_str_eq(ids, "d1 d2 d3 d4");
	f.group = "a";
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "d1 d2 d4");
	f.hardware = "revA";
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "d1 d4");
	f.group = NULL;
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "d1 d3 d4");
	f.hardware = NULL;
	f.version = "1.0.0";
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "d1 d2");
	f.version = NULL;
	f.seen_after = "2026-02-01T00:00:00Z";
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "d2 d3");
	f.seen_after = NULL;
	/* Never seen counts as seen before any time. */
	f.seen_before = "2026-02-01T00:00:00Z";
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "d1 d4");
	f.seen_after = "2025-12-31T00:00:00Z";
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "d1");
	memset(&f, 0, sizeof(f));
	f.limit = 100;
	f.group = "empty";
	ck_assert_uint_eq(list_ids(&f, ids, sizeof(ids)), 0);

	/* Rows come with their groups. */
	f.group = "b";
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(v[0].group_count, 2);
	ck_assert_str_eq(v[0].groups[1], "b");
	store_device_list_free(v, n);

	f.group = "ghost";
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), OTA_ENOTFOUND);
	f.group = NULL;
	f.limit = 0;
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), OTA_EINVAL);
	f.limit = 1001;
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), OTA_EINVAL);
}
END_TEST

START_TEST(test_list_pages)
{
	static const char *const g[] = {"odd"};
	struct store_device_filter f;
	struct store_device *v = NULL;
	char id[16], last[STORE_DEVICE_ID_MAX + 1] = "";
	size_t n, total = 0, pages = 0;

	group("odd");
	for (int i = 0; i < 25; i++) {
		snprintf(id, sizeof(id), "p%02d", i);
		ck_assert_int_eq(provision(id, i % 3 ? "revA" : "revB", NULL, g,
		                     i % 2, NULL),
		    0);
	}
	memset(&f, 0, sizeof(f));
	f.limit = 10;
	do {
		f.after_id = pages > 0 ? last : NULL;
		ck_assert_int_eq(store_device_list(c, &f, &v, &n), 0);
		for (size_t i = 0; i < n; i++) {
			/* Strictly ascending across pages: no repeat, no
			 * gap. */
			snprintf(id, sizeof(id), "p%02zu", total + i);
			ck_assert_str_eq(v[i].id, id);
		}
		if (n > 0)
			snprintf(last, sizeof(last), "%s", v[n - 1].id);
		store_device_list_free(v, n);
		total += n;
		pages++;
	} while (n == (size_t)f.limit);
	ck_assert_uint_eq(total, 25);
	ck_assert_uint_eq(pages, 3);

	/* The group and hardware plans page the same way. */
	f.group = "odd";
	f.after_id = "p10";
	f.limit = 3;
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].id, "p11");
	ck_assert_str_eq(v[2].id, "p15");
	store_device_list_free(v, n);
	f.group = NULL;
	f.hardware = "revB";
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].id, "p12");
	ck_assert_str_eq(v[2].id, "p18");
	store_device_list_free(v, n);
}
END_TEST

/* store_device_facts */

START_TEST(test_facts)
{
	static const char *const g[] = {"c", "a", "b"};
	char hw[STORE_HARDWARE_MAX + 1], ver[STORE_VERSION_MAX + 1];
	int64_t ids[8], want[3];
	size_t n = 99;

	group("a");
	group("b");
	group("c");
	want[0] =
	    raw_query("SELECT id FROM device_groups WHERE name = 'a'", NULL, 0);
	want[1] =
	    raw_query("SELECT id FROM device_groups WHERE name = 'b'", NULL, 0);
	want[2] =
	    raw_query("SELECT id FROM device_groups WHERE name = 'c'", NULL, 0);
	ck_assert_int_eq(provision("f1", "revC", "3.1.4", g, 3, NULL), 0);
	ck_assert_int_eq(provision("f2", "revD", NULL, NULL, 0, NULL), 0);

	ck_assert_int_eq(store_device_facts(c, "f1", hw, ver, ids, 8, &n), 0);
	ck_assert_str_eq(hw, "revC");
	ck_assert_str_eq(ver, "3.1.4");
	ck_assert_uint_eq(n, 3);
	for (int i = 0; i < 3; i++) /* ascending ids */
		ck_assert_int_eq(ids[i], want[i]);
	ck_assert_int_eq(store_device_facts(c, "f1", hw, ver, ids, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ids[1], want[1]);

	ck_assert_int_eq(store_device_facts(c, "f2", hw, ver, ids, 8, &n), 0);
	ck_assert_str_eq(hw, "revD");
	ck_assert_str_eq(ver, "");
	ck_assert_uint_eq(n, 0);

	n = 99;
	ck_assert_int_eq(
	    store_device_facts(c, "ghost", hw, ver, ids, 8, &n), OTA_ENOTFOUND);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* store_device_record_seen */

START_TEST(test_record_seen)
{
	struct store_device_seen v[4];
	struct store_device d;

	ck_assert_int_eq(provision("s1", "revA", "1.0.0", NULL, 0, NULL), 0);
	ck_assert_int_eq(provision("s2", "revA", NULL, NULL, 0, NULL), 0);
	memset(v, 0, sizeof(v));
	v[0].id = "s1";
	v[0].version = "1.1.0";
	v[0].changes = 1;
	snprintf(v[0].seen_at, sizeof(v[0].seen_at), "2026-05-01T10:00:00Z");
	v[1].id = "gone"; /* deleted meanwhile */
	snprintf(v[1].seen_at, sizeof(v[1].seen_at), "2026-05-01T10:00:00Z");
	v[2].id = "s2";
	v[2].hardware = "revB";
	v[2].version = "0.9.0";
	v[2].changes = 1;
	snprintf(v[2].seen_at, sizeof(v[2].seen_at), "2026-05-01T10:00:05Z");
	/* A late report of s1: empty fields keep, an older time does not
	 * move last_seen_at back. */
	v[3].id = "s1";
	snprintf(v[3].seen_at, sizeof(v[3].seen_at), "2026-04-30T00:00:00Z");
	ck_assert_int_eq(store_device_record_seen(c, v, 4), 0);

	ck_assert_int_eq(store_device_get(c, "s1", &d), 0);
	ck_assert_str_eq(d.hardware, "revA");
	ck_assert_str_eq(d.version, "1.1.0");
	ck_assert_str_eq(d.last_seen_at, "2026-05-01T10:00:00Z");
	store_device_clear(&d);
	ck_assert_int_eq(store_device_get(c, "s2", &d), 0);
	/* A report is the reported hardware, never the provisioned one. */
	ck_assert_str_eq(d.hardware, "revA");
	ck_assert_str_eq(d.reported_hardware, "revB");
	ck_assert_str_eq(d.version, "0.9.0");
	ck_assert_str_eq(d.last_seen_at, "2026-05-01T10:00:05Z");
	store_device_clear(&d);
	ck_assert_int_eq(store_device_get(c, "s1", &d), 0);
	ck_assert_str_eq(d.reported_hardware, "");
	store_device_clear(&d);
	ck_assert_int_eq(raw_query("SELECT count(*) FROM devices", NULL, 0), 2);
	/* The deleted device's time is kept, but a device created again
	 * with its id was never seen: provisioning deleted it. */
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM device_seen", NULL, 0), 3);
	ck_assert_int_eq(provision("gone", "revA", NULL, NULL, 0, NULL), 0);
	ck_assert_int_eq(store_device_get(c, "gone", &d), 0);
	ck_assert_str_eq(d.last_seen_at, "");
	store_device_clear(&d);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM device_seen", NULL, 0), 2);
	ck_assert_int_eq(store_device_delete(c, "gone"), 0);
	ck_assert_int_eq(store_device_record_seen(c, v, 0), 0);
	/* A report without changes writes the time only: its version is
	 * carried for the silent-revert check, not stored. */
	v[2].version = "0.8.0";
	v[2].changes = 0;
	snprintf(v[2].seen_at, sizeof(v[2].seen_at), "2026-05-01T11:00:00Z");
	ck_assert_int_eq(store_device_record_seen(c, &v[2], 1), 0);
	ck_assert_int_eq(store_device_get(c, "s2", &d), 0);
	ck_assert_str_eq(d.version, "0.9.0");
	ck_assert_str_eq(d.last_seen_at, "2026-05-01T11:00:00Z");
	store_device_clear(&d);
	/* Deleting a device deletes its time. */
	ck_assert_int_eq(store_device_delete(c, "s2"), 0);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM device_seen", NULL, 0), 1);
}
END_TEST

/* The mismatch: count, list filter, poll facts */

START_TEST(test_hardware_mismatch)
{
	struct store_device_filter f;
	struct store_device *v = NULL;
	struct store_device_seen r;
	char hw[STORE_HARDWARE_MAX + 1], rep[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1];
	int64_t groups[4];
	uint64_t k = 99;
	size_t n = 0;

	ck_assert_int_eq(provision("m1", "revA", "1.0.0", NULL, 0, NULL), 0);
	ck_assert_int_eq(provision("m2", "revA", "1.0.0", NULL, 0, NULL), 0);
	ck_assert_int_eq(provision("m3", "revB", "1.0.0", NULL, 0, NULL), 0);
	ck_assert_int_eq(store_device_count_hardware_mismatch(c, &k), 0);
	ck_assert_uint_eq(k, 0);
	/* m1 reports its own, m2 another: one mismatch. */
	memset(&r, 0, sizeof(r));
	r.id = "m1";
	r.hardware = "revA";
	r.changes = 1;
	ck_assert_int_eq(store_device_record_seen(c, &r, 1), 0);
	r.id = "m2";
	r.hardware = "bleA";
	ck_assert_int_eq(store_device_record_seen(c, &r, 1), 0);
	ck_assert_int_eq(store_device_count_hardware_mismatch(c, &k), 0);
	ck_assert_uint_eq(k, 1);
	ck_assert_int_eq(
	    store_device_poll_facts(c, "m2", hw, rep, ver, groups, 4, &n), 0);
	ck_assert_str_eq(hw, "revA");
	ck_assert_str_eq(rep, "bleA");
	ck_assert_int_eq(
	    store_device_poll_facts(c, "m3", hw, rep, ver, groups, 4, &n), 0);
	ck_assert_str_eq(rep, "");
	memset(&f, 0, sizeof(f));
	f.limit = 10;
	f.hardware_mismatch = 1;
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].id, "m2");
	store_device_list_free(v, n);
	f.hardware_mismatch = -1;
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].id, "m1");
	ck_assert_str_eq(v[1].id, "m3");
	store_device_list_free(v, n);
	/* With another filter (the hardware plan) too. */
	f.hardware = "revA";
	f.hardware_mismatch = 1;
	ck_assert_int_eq(store_device_list(c, &f, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	store_device_list_free(v, n);
	/* The admin sets m2's hardware to what it reports: no mismatch. */
	{
		size_t nu = 9, na = 9;

		/* Through the service, which owns the transaction (and the
		 * pool's one connection meanwhile). */
		store_release(st, c);
		ck_assert_int_eq(device_service_patch(st, "m2", "bleA", NULL,
		                     "2026-05-01T00:00:00Z", &nu, &na),
		    0);
		c = store_acquire(st);
		ck_assert_uint_eq(nu + na, 0);
	}
	ck_assert_int_eq(store_device_count_hardware_mismatch(c, &k), 0);
	ck_assert_uint_eq(k, 0);
}
END_TEST

/* store_device_patch: the rows only (what a hardware change cancels is
 * device_service's: check_device_service.c) */

START_TEST(test_patch)
{
	struct store_device d;

	ck_assert_int_eq(provision("p1", "revA", "1.0.0", NULL, 0, NULL), 0);
	ck_assert_int_eq(
	    store_device_patch(c, "p1", "revB", "{\"k\":\"v\"}"), 0);
	ck_assert_int_eq(store_device_get(c, "p1", &d), 0);
	ck_assert_str_eq(d.hardware, "revB");
	ck_assert_str_eq(d.labels, "{\"k\":\"v\"}");
	store_device_clear(&d);
	ck_assert_int_eq(store_device_patch(c, "p1", NULL, "{}"), 0);
	ck_assert_int_eq(store_device_patch(c, "p1", "revC", NULL), 0);
	ck_assert_int_eq(store_device_get(c, "p1", &d), 0);
	ck_assert_str_eq(d.hardware, "revC");
	ck_assert_str_eq(d.labels, "{}");
	store_device_clear(&d);
	/* Refusals change nothing. */
	ck_assert_int_eq(store_device_patch(c, "p1", NULL, NULL), OTA_EINVAL);
	ck_assert_int_eq(
	    store_device_patch(c, "p1", "rev A", "{\"k\":\"w\"}"), OTA_EINVAL);
	ck_assert_int_eq(
	    store_device_patch(c, "ghost", "revA", NULL), OTA_ENOTFOUND);
	/* Inside the caller's transaction: its rollback undoes both. */
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(
	    store_device_patch(c, "p1", "revD", "{\"k\":\"x\"}"), 0);
	store_rollback(c);
	ck_assert_int_eq(store_device_get(c, "p1", &d), 0);
	ck_assert_str_eq(d.hardware, "revC");
	ck_assert_str_eq(d.labels, "{}");
	store_device_clear(&d);
}
END_TEST

/* store_device_set_labels, store_device_delete */

START_TEST(test_labels_delete)
{
	static const char *const g[] = {"x"};
	struct store_device d;

	group("x");
	ck_assert_int_eq(provision("l1", "revA", NULL, g, 1, NULL), 0);
	ck_assert_int_eq(provision("l2", "revA", NULL, g, 1, NULL), 0);
	ck_assert_int_eq(store_device_set_labels(c, "l1", "{\"k\":\"v\"}"), 0);
	ck_assert_int_eq(store_device_get(c, "l1", &d), 0);
	ck_assert_str_eq(d.labels, "{\"k\":\"v\"}");
	store_device_clear(&d);
	ck_assert_int_eq(
	    store_device_set_labels(c, "ghost", "{}"), OTA_ENOTFOUND);
	/* Longer labels could be stored but never read back. */
	{
		static char big[STORE_LABELS_MAX + 2];

		memset(big, 'x', STORE_LABELS_MAX + 1);
		ck_assert_int_eq(
		    store_device_set_labels(c, "l1", big), OTA_EINVAL);
		ck_assert_int_eq(
		    store_device_set_labels(c, "l1", NULL), OTA_EINVAL);
		ck_assert_int_eq(store_device_get(c, "l1", &d), 0);
		ck_assert_str_eq(d.labels, "{\"k\":\"v\"}");
		store_device_clear(&d);
	}

	/* Events of both devices: only l1's go with it (on PostgreSQL
	 * update_events has no foreign key to cascade: the store deletes
	 * them). */
	raw_exec("INSERT INTO rollouts (id, image_name, image_version, state,"
	         " stages_bp, salt, failure_threshold, min_reports, created_at,"
	         " created_by, updated_at) VALUES (7, 'fw', '1.1.0', 'running',"
	         " '[10000]', zeroblob(32), 0.5, 10, '2026-01-01T00:00:00Z',"
	         " 'test', '2026-01-01T00:00:00Z')");
	raw_exec(
	    "INSERT INTO update_events (device_id, event_id, rollout_id,"
	    " version, state, device_ts, device_ts_ms, received_at, transport)"
	    " VALUES ('l1', 'e1', 7, '1.1.0', 'started', 't', 1, 't', 'rest'),"
	    " ('l1', 'e2', 7, '1.1.0', 'completed', 't', 2, 't', 'rest'),"
	    " ('l2', 'e1', 7, '1.1.0', 'started', 't', 1, 't', 'rest')");
	ck_assert_int_eq(store_device_delete(c, "l1"), 0);
	/* Its token and membership go too (deleted by the store: on
	 * PostgreSQL no foreign key cascades them). */
	ck_assert_str_eq(counts(), "1 1 1");
	ck_assert_int_eq(raw_query("SELECT count(*) FROM update_events"
	                           " WHERE device_id = 'l1'",
	                     NULL, 0),
	    0);
	ck_assert_int_eq(raw_query("SELECT count(*) FROM update_events"
	                           " WHERE device_id = 'l2'",
	                     NULL, 0),
	    1);
	ck_assert_int_eq(store_device_delete(c, "l1"), OTA_ENOTFOUND);
	ck_assert_int_eq(store_device_get(c, "l1", &d), OTA_ENOTFOUND);
}
END_TEST

/* store_device_token_rotate, with store_credential_get */

START_TEST(test_token_rotate)
{
	struct newdev first, second;
	struct store_credential cred;

	ck_assert_int_eq(provision("r1", "revA", NULL, NULL, 0, &first), 0);
	ck_assert_int_eq(store_credential_get(c, first.token_id, &cred), 0);
	ck_assert_int_eq(cred.kind, STORE_CRED_DEVICE);
	ck_assert_int_eq(cred.revoked, 0);

	newdev_init(&second, "r1", "revA", NULL, NULL, 0);
	ck_assert_int_eq(
	    store_device_token_rotate(c, "r1", second.token_id, second.hash),
	    0);
	ck_assert_int_eq(store_credential_get(c, first.token_id, &cred), 0);
	ck_assert_int_eq(cred.revoked, 1);
	ck_assert_int_eq(store_credential_get(c, second.token_id, &cred), 0);
	ck_assert_int_eq(cred.revoked, 0);
	ck_assert_str_eq(cred.subject, "r1");
	ck_assert(memcmp(cred.hash, second.hash, CRYPTO_HASH_LEN) == 0);

	/* Revoke only. */
	ck_assert_int_eq(store_device_token_rotate(c, "r1", NULL, NULL), 0);
	ck_assert_int_eq(store_credential_get(c, second.token_id, &cred), 0);
	ck_assert_int_eq(cred.revoked, 1);
	ck_assert_int_eq(raw_query("SELECT count(*) FROM device_tokens"
	                           " WHERE revoked_at IS NULL",
	                     NULL, 0),
	    0);

	ck_assert_int_eq(
	    store_device_token_rotate(c, "ghost", second.token_id, second.hash),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM device_tokens", NULL, 0), 2);
}
END_TEST

/* store_group_create, _get, _list */

START_TEST(test_groups)
{
	static const char *const g[] = {"beta"};
	struct store_group grp, *v = NULL;
	int64_t id = 0;
	size_t n = 0;

	ck_assert_int_eq(store_group_create(c, "beta", "second", &id), 0);
	ck_assert(id > 0);
	ck_assert_int_eq(store_group_create(c, "alpha", NULL, NULL), 0);
	ck_assert_int_eq(
	    store_group_create(c, "beta", "again", NULL), OTA_ECONFLICT);
	ck_assert_int_eq(store_group_create(c, "a b", "", NULL), OTA_EINVAL);
	ck_assert_int_eq(provision("m1", "revA", NULL, g, 1, NULL), 0);
	ck_assert_int_eq(provision("m2", "revA", NULL, g, 1, NULL), 0);

	ck_assert_int_eq(store_group_get(c, "beta", &grp), 0);
	ck_assert_int_eq(grp.id, id);
	ck_assert_str_eq(grp.description, "second");
	ck_assert_int_eq(grp.member_count, 2);
	ck_assert_int_eq(strlen(grp.created_at), 20);
	ck_assert_int_eq(store_group_get(c, "nope", &grp), OTA_ENOTFOUND);

	ck_assert_int_eq(store_group_list(c, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].name, "alpha");
	ck_assert_str_eq(v[0].description, "");
	ck_assert_int_eq(v[0].member_count, 0);
	ck_assert_str_eq(v[1].name, "beta");
	free(v);
}
END_TEST

/* store_group_members_change */

START_TEST(test_members_change)
{
	static const char *const add1[] = {"d1", "d2", "ghost", "d3"};
	static const char *const add2[] = {"d1", "d2", "d2"};
	static const char *const rem[] = {"d2", "d3", "nobody"};
	char missing[STORE_DEVICE_ID_MAX + 1];
	int64_t added = -1, removed = -1;

	group("g");
	ck_assert_int_eq(provision("d1", "revA", NULL, NULL, 0, NULL), 0);
	ck_assert_int_eq(provision("d2", "revA", NULL, NULL, 0, NULL), 0);
	ck_assert_int_eq(provision("d3", "revA", NULL, NULL, 0, NULL), 0);

	/* One unknown device: nothing changes. */
	ck_assert_int_eq(store_group_members_change(c, "g", add1, 4, rem, 1,
	                     missing, &added, &removed),
	    OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "ghost");
	ck_assert_int_eq(added, 0);
	ck_assert_str_eq(counts(), "3 3 0");

	ck_assert_int_eq(store_group_members_change(c, "g", add2, 3, NULL, 0,
	                     missing, &added, &removed),
	    0);
	ck_assert_int_eq(added, 2); /* the repeat is not counted */
	ck_assert_int_eq(removed, 0);
	/* Again: members already, not an error, nothing added. */
	ck_assert_int_eq(store_group_members_change(c, "g", add2, 2, NULL, 0,
	                     missing, &added, &removed),
	    0);
	ck_assert_int_eq(added, 0);
	ck_assert_int_eq(store_group_members_change(c, "g", add1 + 3, 1, rem, 3,
	                     missing, &added, &removed),
	    0);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(removed, 2); /* d2, d3 (added then removed) */
	raw_query("SELECT group_concat(device_id) FROM group_members", missing,
	    sizeof(missing));
	ck_assert_str_eq(missing, "d1");

	ck_assert_int_eq(store_group_members_change(c, "nope", add2, 1, NULL, 0,
	                     missing, &added, &removed),
	    OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "nope");
	ck_assert_int_eq(
	    store_group_members_change(c, "g", add2, STORE_DEVICE_BATCH_MAX + 1,
	        NULL, 0, missing, &added, &removed),
	    OTA_EINVAL);
}
END_TEST

/* store_group_delete against rollouts (planted: store_rollouts.c is
 * another module's) */

START_TEST(test_group_delete_rollouts)
{
	static const char *const g[] = {"ring0"};
	static const char *const states[] = {"draft", "running", "paused"};
	char sql[512];

	group("ring0");
	group("spare");
	ck_assert_int_eq(provision("x1", "revA", NULL, g, 1, NULL), 0);
	raw_exec("INSERT INTO rollouts (id, image_name, image_version, state,"
	         " stages_bp, salt, failure_threshold, min_reports,"
	         " created_at, created_by, updated_at) VALUES (1, 'fw',"
	         " '1.0.0', 'draft', '[10000]', zeroblob(32), 0.05, 10,"
	         " '2026-01-01T00:00:00Z', 't', '2026-01-01T00:00:00Z');"
	         "INSERT INTO rollout_groups (rollout_id, group_id)"
	         " SELECT 1, id FROM device_groups WHERE name = 'ring0'");
	for (size_t i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql),
		    "UPDATE rollouts SET state = '%s' WHERE id = 1", states[i]);
		raw_exec(sql);
		ck_assert_int_eq(store_group_delete(c, "ring0"), OTA_ECONFLICT);
		ck_assert_str_eq(counts(), "1 1 1");
	}
	ck_assert_int_eq(store_group_delete(c, "spare"), 0);
	raw_exec("UPDATE rollouts SET state = 'completed' WHERE id = 1");
	ck_assert_int_eq(store_group_delete(c, "ring0"), 0);
	ck_assert_str_eq(counts(), "1 1 0");
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM rollout_groups", NULL, 0), 0);
	ck_assert_int_eq(store_group_delete(c, "ring0"), OTA_ENOTFOUND);
}
END_TEST

/* store_gateway_create, _list, _revoke, _covers */

START_TEST(test_gateways)
{
	static const char *const ga[] = {"a"};
	static const char *const gb[] = {"b"};
	static const char *const scope[] = {"b", "a"};
	static const char *const bad[] = {"a", "ghost"};
	char tok[CRYPTO_TOKEN_LEN], id1[CRYPTO_TOKEN_ID_LEN];
	char id2[CRYPTO_TOKEN_ID_LEN];
	char missing[STORE_GROUP_NAME_MAX + 1];
	unsigned char h1[CRYPTO_HASH_LEN], h2[CRYPTO_HASH_LEN];
	struct store_gateway *v = NULL;
	size_t n = 0;

	group("a");
	group("b");
	group("c");
	ck_assert_int_eq(provision("in-a", "revA", NULL, ga, 1, NULL), 0);
	ck_assert_int_eq(provision("in-b", "revA", NULL, gb, 1, NULL), 0);
	ck_assert_int_eq(provision("alone", "revA", NULL, NULL, 0, NULL), 0);
	ck_assert_int_eq(crypto_token_new(tok, id1, h1), 0);
	ck_assert_int_eq(crypto_token_new(tok, id2, h2), 0);

	ck_assert_int_eq(
	    store_gateway_create(c, id1, h1, "phone", bad, 2, missing),
	    OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "ghost");
	ck_assert_int_eq(
	    raw_query("SELECT count(*) FROM gateway_tokens", NULL, 0), 0);
	ck_assert_int_eq(
	    store_gateway_create(c, id1, h1, "phone", ga, 0, NULL), OTA_EINVAL);

	ck_assert_int_eq(
	    store_gateway_create(c, id1, h1, "phone", scope, 2, missing), 0);
	ck_assert_int_eq(
	    store_gateway_create(c, id2, h2, "phone", ga, 1, missing),
	    OTA_ECONFLICT);

	ck_assert_int_eq(store_gateway_covers(c, id1, "in-a"), 1);
	ck_assert_int_eq(store_gateway_covers(c, id1, "in-b"), 1);
	ck_assert_int_eq(store_gateway_covers(c, id1, "alone"), 0);
	ck_assert_int_eq(store_gateway_covers(c, id1, "ghost"), 0);
	ck_assert_int_eq(store_gateway_covers(c, id2, "in-a"), 0);

	ck_assert_int_eq(store_gateway_list(c, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].id, id1);
	ck_assert_str_eq(v[0].name, "phone");
	ck_assert_uint_eq(v[0].group_count, 2);
	ck_assert_str_eq(v[0].groups[0], "a");
	ck_assert_str_eq(v[0].groups[1], "b");
	ck_assert_str_eq(v[0].revoked_at, "");
	ck_assert_str_eq(v[0].last_used_at, "");
	store_gateway_list_free(v, n);

	/* Revoke by name; the name is then free again; revoke by id. */
	ck_assert_int_eq(
	    store_gateway_revoke(c, STORE_GATEWAY_BY_NAME, "phone"), 0);
	ck_assert_int_eq(
	    store_gateway_revoke(c, STORE_GATEWAY_BY_NAME, "phone"),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_gateway_create(c, id2, h2, "phone", gb, 1, missing), 0);
	/* Only the column asked for: the id is no name, the name no id. */
	ck_assert_int_eq(
	    store_gateway_revoke(c, STORE_GATEWAY_BY_NAME, id2), OTA_ENOTFOUND);
	ck_assert_int_eq(store_gateway_revoke(c, STORE_GATEWAY_BY_ID, "phone"),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(store_gateway_revoke(c, STORE_GATEWAY_BY_ID, id2), 0);
	ck_assert_int_eq(
	    store_gateway_revoke(c, STORE_GATEWAY_BY_ID, id2), OTA_ENOTFOUND);
	ck_assert_int_eq(store_gateway_list(c, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_ne(v[0].revoked_at, "");
	ck_assert_str_ne(v[1].revoked_at, "");
	store_gateway_list_free(v, n);

	/* A deleted group leaves the scope. */
	ck_assert_int_eq(store_group_delete(c, "a"), 0);
	ck_assert_int_eq(store_gateway_covers(c, id1, "in-a"), 0);
	ck_assert_int_eq(store_gateway_covers(c, id1, "in-b"), 1);
}
END_TEST

/* store_credential_get, store_gateway_touch */

START_TEST(test_credentials)
{
	char ago[21];
	static const char *const g[] = {"g"};
	char tok[CRYPTO_TOKEN_LEN], api_id[CRYPTO_TOKEN_ID_LEN];
	char gw_id[CRYPTO_TOKEN_ID_LEN], sql[256], when[32];
	unsigned char api_h[CRYPTO_HASH_LEN], gw_h[CRYPTO_HASH_LEN];
	struct store_credential cred;
	struct newdev dev;

	group("g");
	ck_assert_int_eq(crypto_token_new(tok, api_id, api_h), 0);
	ck_assert_int_eq(
	    store_token_insert(c, api_id, api_h, "ci", "release"), 0);
	ck_assert_int_eq(provision("dev-7", "revA", NULL, NULL, 0, &dev), 0);
	ck_assert_int_eq(crypto_token_new(tok, gw_id, gw_h), 0);
	ck_assert_int_eq(
	    store_gateway_create(c, gw_id, gw_h, "app", g, 1, NULL), 0);

	ck_assert_int_eq(store_credential_get(c, api_id, &cred), 0);
	ck_assert_int_eq(cred.kind, STORE_CRED_API);
	ck_assert_str_eq(cred.subject, "ci");
	ck_assert_str_eq(cred.role, "release");
	ck_assert(memcmp(cred.hash, api_h, CRYPTO_HASH_LEN) == 0);
	ck_assert_int_eq(cred.revoked, 0);

	ck_assert_int_eq(store_credential_get(c, dev.token_id, &cred), 0);
	ck_assert_int_eq(cred.kind, STORE_CRED_DEVICE);
	ck_assert_str_eq(cred.subject, "dev-7");
	ck_assert_str_eq(cred.role, "device");
	ck_assert(memcmp(cred.hash, dev.hash, CRYPTO_HASH_LEN) == 0);

	ck_assert_int_eq(store_credential_get(c, gw_id, &cred), 0);
	ck_assert_int_eq(cred.kind, STORE_CRED_GATEWAY);
	ck_assert_str_eq(cred.subject, "app");
	ck_assert_str_eq(cred.role, "gateway");
	ck_assert(memcmp(cred.hash, gw_h, CRYPTO_HASH_LEN) == 0);

	ck_assert_int_eq(
	    store_credential_get(c, "0123456789abcdef", &cred), OTA_ENOTFOUND);
	ck_assert_int_eq(store_token_revoke(c, "ci"), 0);
	ck_assert_int_eq(store_credential_get(c, api_id, &cred), 0);
	ck_assert_int_eq(cred.revoked, 1);
	ck_assert_int_eq(
	    store_gateway_revoke(c, STORE_GATEWAY_BY_NAME, "app"), 0);
	ck_assert_int_eq(store_credential_get(c, gw_id, &cred), 0);
	ck_assert_int_eq(cred.revoked, 1);

	/* Gateway touch: written when unset or older than a minute, not
	 * again within the minute. */
	ck_assert_int_eq(store_gateway_touch(c, gw_id), 0);
	snprintf(sql, sizeof(sql),
	    "SELECT last_used_at FROM gateway_tokens WHERE id = '%s'", gw_id);
	raw_query(sql, when, sizeof(when));
	ck_assert_int_eq(strlen(when), 20);
	timeutil_format_rfc3339((int64_t)time(NULL) - 20, ago);
	snprintf(sql, sizeof(sql),
	    "UPDATE gateway_tokens SET last_used_at = '%s' WHERE id = '%s'",
	    ago, gw_id);
	raw_exec(sql);
	ck_assert_int_eq(store_gateway_touch(c, gw_id), 0);
	timeutil_format_rfc3339((int64_t)time(NULL) - 10, ago);
	snprintf(sql, sizeof(sql),
	    "SELECT CASE WHEN last_used_at < '%s' THEN 1 ELSE 0 END"
	    " FROM gateway_tokens WHERE id = '%s'",
	    ago, gw_id);
	ck_assert_int_eq(raw_query(sql, NULL, 0), 1);
	snprintf(sql, sizeof(sql),
	    "UPDATE gateway_tokens SET last_used_at = '2020-01-01T00:00:00Z'"
	    " WHERE id = '%s'",
	    gw_id);
	raw_exec(sql);
	ck_assert_int_eq(store_gateway_touch(c, gw_id), 0);
	snprintf(sql, sizeof(sql),
	    "SELECT last_used_at FROM gateway_tokens WHERE id = '%s'", gw_id);
	raw_query(sql, when, sizeof(when));
	ck_assert_str_ne(when, "2020-01-01T00:00:00Z");
}
END_TEST

static Suite *
store_devices_suite(void)
{
	Suite *s = suite_create("store_devices");
	struct {
		const char *name;
		const TTest *tests[4];
	} cases[] = {
	    {"names", {test_names}},
	    {"device_insert",
	        {test_insert_get, test_insert_atomic, test_insert_first_error,
	            test_insert_big_batch}},
	    {"device_list", {test_list_filters, test_list_pages}},
	    {"device_facts", {test_facts}},
	    {"device_record_seen", {test_record_seen}},
	    {"device_hardware", {test_hardware_mismatch, test_patch}},
	    {"device_insert_too_long", {test_insert_too_long}},
	    {"device_labels_delete", {test_labels_delete}},
	    {"device_token_rotate", {test_token_rotate}},
	    {"groups", {test_groups}},
	    {"group_members", {test_members_change}},
	    {"group_delete", {test_group_delete_rollouts}},
	    {"gateways", {test_gateways}},
	    {"credentials", {test_credentials}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 60);
		for (size_t j = 0; j < 4 && cases[i].tests[j] != NULL; j++)
			tcase_add_test(tc, cases[i].tests[j]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(store_devices_suite());
}
