/*
 * check_store_rollouts: store_rollouts.c (and the rollout guard of
 * store_image_delete) against a real SQLite file migrated by the embedded
 * migrations.  Groups, devices and memberships are planted with plain SQL
 * through a second, raw handle, which also looks behind the store's back.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "rollout.h"
#include "rollout_service.h"
#include "store.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct rollout_service *svc; /* the transitions' transaction */
static int64_t img_a, img_b;
static const unsigned char salt[ROLLOUT_SALT_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8,
    9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 30, 31, 32};

/* Runs sql on a separate raw connection to the test database. */
static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

/* First column of the first row of sql as an integer, or as text into
 * out[outlen] when out is not NULL ("" for NULL). */
static long long
raw_query(const char *sql, char *out, size_t outlen)
{
	return testutil_sql_query(dbpath, sql, out, outlen);
}

/* Inserts a new image (name, version, sha256 bytes = seed) through the
 * store; returns its id. */
static int64_t
insert_image(const char *name, const char *version, unsigned char seed)
{
	int existed = -1;
	int64_t id = testutil_image_insert(
	    st, name, version, 1000 + seed, seed, "tester", &existed);

	ck_assert_int_eq(existed, 0);
	return id;
}

static void
setup(void)
{
	testutil_tmpdir_new("check_store_rollouts", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 3, &st), 0);
	ck_assert_ptr_nonnull(svc = rollout_service_new(st));
	img_a = insert_image("sensor-fw", "1.2.0", 0xaa);
	img_b = insert_image("sensor-fw", "1.3.0", 0xbb);
	raw_exec("INSERT INTO device_groups (name, created_at) VALUES"
	         " ('beta', '2026-01-01T00:00:00Z'),"
	         " ('alpha', '2026-01-01T00:00:00Z'),"
	         " ('lab', '2026-01-01T00:00:00Z');"
	         "INSERT INTO devices (id, hardware, created_at) VALUES"
	         " ('dev-1', 'revA', '2026-01-01T00:00:00Z'),"
	         " ('dev-2', 'revA', '2026-01-01T00:00:00Z');"
	         "INSERT INTO group_members (group_id, device_id)"
	         " SELECT id, 'dev-1' FROM device_groups WHERE name = 'beta';"
	         "INSERT INTO group_members (group_id, device_id)"
	         " SELECT id, 'dev-2' FROM device_groups WHERE name = 'lab';");
}

static void
teardown(void)
{
	rollout_service_free(svc);
	svc = NULL;
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Creates a rollout of image on groups (NULL-terminated) with stages
 * bp[0..n) (the defaults when bp is NULL); returns its id. */
static int64_t
create_on(int64_t image, const char *const *groups, const uint16_t *bp, int n,
    int64_t advance_after)
{
	struct store_rollout_new r = {0};
	struct store_conn *c;
	char missing[STORE_GROUP_NAME_MAX + 1];
	int64_t id = 0;
	size_t count = 0;

	while (groups[count] != NULL)
		count++;
	testutil_rollout_req(&r, image, groups, count);
	r.name = "spring";
	if (bp != NULL) {
		r.stages_bp = bp;
		r.stage_count = n;
	}
	r.salt = salt;
	r.advance_after_sec = advance_after;
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_create(c, &r, &id, missing), 0);
	store_release(st, c);
	ck_assert_int_gt(id, 0);
	return id;
}

static const char *const beta[] = {"beta", NULL};

static int64_t
create_default(int64_t image)
{
	return create_on(image, beta, NULL, 0, 0);
}

/* Applies action a with no stage guard through the rollout service (whose
 * transaction has store_rollout_update write the decided row); returns
 * its answer. */
static int
apply(int64_t id, enum rollout_action a, const char *reason,
    struct store_rollout *out)
{
	return rollout_service_act(svc, id, a, -1, "ops", reason, out);
}

static void
get(int64_t id, struct store_rollout *out)
{
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(store_rollout_get(c, id, out), 0);
	store_release(st, c);
}

static long long
count(const char *sql)
{
	return raw_query(sql, NULL, 0);
}

/* ---- store_rollout_create / store_rollout_get ---- */

START_TEST(test_create_get)
{
	static const char *const groups[] = {"lab", "beta", NULL};
	struct store_rollout r;
	struct store_conn *c;
	struct store_rollout_event *ev = NULL;
	size_t nev = 0;
	int64_t id;

	id = create_on(img_a, groups, NULL, 0, 3600);
	get(id, &r);
	ck_assert_int_eq(r.id, id);
	ck_assert_str_eq(r.name, "spring");
	ck_assert_int_eq(r.image_id, img_a);
	ck_assert_str_eq(r.image_name, "sensor-fw");
	ck_assert_str_eq(r.image_version, "1.2.0");
	ck_assert_int_eq(r.state, ROLLOUT_DRAFT);
	ck_assert_int_eq(r.stage_index, 0);
	ck_assert_int_eq(r.stage_count, 4);
	ck_assert_int_eq(r.stages_bp[0], 100);
	ck_assert_int_eq(r.stages_bp[1], 500);
	ck_assert_int_eq(r.stages_bp[2], 2500);
	ck_assert_int_eq(r.stages_bp[3], 10000);
	ck_assert_mem_eq(r.salt, salt, sizeof(salt));
	ck_assert_double_eq(r.failure_threshold, 0.05);
	ck_assert_uint_eq(r.min_reports, 10);
	ck_assert_int_eq(r.advance_after_sec, 3600);
	ck_assert_int_eq(r.gate, ROLLOUT_GATE_SIMPLE);
	ck_assert_double_eq(r.gate_confidence, 0.95);
	ck_assert_str_eq(r.reason, "");
	ck_assert_str_eq(r.created_by, "ci");
	ck_assert_int_eq(strlen(r.created_at), 20);
	ck_assert_str_eq(r.updated_at, r.created_at);
	ck_assert_str_eq(r.started_at, "");
	ck_assert_str_eq(r.stage_started_at, "");
	ck_assert_str_eq(r.finished_at, "");
	/* Groups come back sorted by name. */
	ck_assert_uint_eq(r.group_count, 2);
	ck_assert_str_eq(r.groups[0].name, "beta");
	ck_assert_str_eq(r.groups[1].name, "lab");
	ck_assert_int_gt(r.groups[0].id, 0);
	/* Stored as a JSON array of basis points. */
	{
		char text[64];

		raw_query("SELECT stages_bp FROM rollouts", text, sizeof(text));
		ck_assert_str_eq(text, "[100,500,2500,10000]");
	}
	/* The create event. */
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_events(c, id, 10, &ev, &nev), 0);
	store_release(st, c);
	ck_assert_uint_eq(nev, 1);
	ck_assert_str_eq(ev[0].action, "create");
	ck_assert_str_eq(ev[0].actor, "ci");
	ck_assert_str_eq(ev[0].from_state, "");
	ck_assert_str_eq(ev[0].to_state, "draft");
	ck_assert_int_eq(ev[0].stage_index, 0);
	ck_assert_str_eq(ev[0].at, r.created_at);
	free(ev);

	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_get(c, id + 100, &r), OTA_ENOTFOUND);
	store_release(st, c);
}
END_TEST

/* The gate settings round-trip on every store (a double kept exact). */
START_TEST(test_create_gate)
{
	struct store_rollout_new q = {0};
	struct store_rollout r;
	struct store_conn *c;
	char missing[STORE_GROUP_NAME_MAX + 1];
	int64_t id = 0, none = 0;

	testutil_rollout_req(&q, img_a, beta, 1);
	q.salt = salt;
	q.gate = ROLLOUT_GATE_WILSON;
	q.gate_confidence = 0.9999;
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_create(c, &q, &id, missing), 0);
	/* A gate outside the enum is never written. */
	q.gate = (enum rollout_gate)7;
	ck_assert_int_eq(
	    store_rollout_create(c, &q, &none, missing), OTA_EINVAL);
	store_release(st, c);
	get(id, &r);
	ck_assert_int_eq(r.gate, ROLLOUT_GATE_WILSON);
	ck_assert_double_eq(r.gate_confidence, 0.9999);
	ck_assert_int_eq(count("SELECT count(*) FROM rollouts WHERE gate = "
	                       "'wilson' AND gate_confidence = 0.9999"),
	    1);
}
END_TEST

/* The when-and-how-hard columns round-trip on create and set_policy. */
START_TEST(test_create_when)
{
	struct store_rollout_new q = {0};
	struct store_rollout r;
	struct store_conn *c;
	char missing[STORE_GROUP_NAME_MAX + 1];
	int64_t id = 0, none = 0;

	testutil_rollout_req(&q, img_a, beta, 1);
	q.salt = salt;
	q.windows = "mon-fri 22:00 4h Europe/Berlin";
	q.outside_window = ROLLOUT_OUTSIDE_SILENT;
	q.action_type = ROLLOUT_ACTION_TIME_FORCED;
	q.forced_at = "2099-01-02T03:04:05Z";
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_create(c, &q, &id, missing), 0);
	q.action_type = (enum rollout_action_type)9;
	ck_assert_int_eq(
	    store_rollout_create(c, &q, &none, missing), OTA_EINVAL);
	store_release(st, c);
	get(id, &r);
	ck_assert_str_eq(r.windows, "mon-fri 22:00 4h Europe/Berlin");
	ck_assert_int_eq(r.outside_window, ROLLOUT_OUTSIDE_SILENT);
	ck_assert_int_eq(r.action_type, ROLLOUT_ACTION_TIME_FORCED);
	ck_assert_str_eq(r.forced_at, "2099-01-02T03:04:05Z");
	/* set_policy writes them back; forced_at "" is NULL */
	r.windows[0] = '\0';
	r.outside_window = ROLLOUT_OUTSIDE_NOTIFY;
	r.action_type = ROLLOUT_ACTION_DOWNLOAD_ONLY;
	r.forced_at[0] = '\0';
	c = store_acquire(st);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_rollout_set_policy(c, &r, "t", "x"), 0);
	ck_assert_int_eq(store_commit(c), 0);
	store_release(st, c);
	get(id, &r);
	ck_assert_str_eq(r.windows, "");
	ck_assert_int_eq(r.outside_window, ROLLOUT_OUTSIDE_NOTIFY);
	ck_assert_int_eq(r.action_type, ROLLOUT_ACTION_DOWNLOAD_ONLY);
	ck_assert_str_eq(r.forced_at, "");
	ck_assert_int_eq(count("SELECT count(*) FROM rollouts WHERE forced_at "
	                       "IS NULL AND action_type = 'download-only'"),
	    1);
}
END_TEST

/* store_rollout_members callback: counts the devices. */
static int
count_member(void *ctx, const char *device_id, int image_fits)
{
	(void)device_id;
	(void)image_fits;
	(*(long long *)ctx)++;
	return 0;
}

/* The stuck-device policy and the rate: written at create, read back,
 * rewritten by a policy edit; the defaults for a create without one; a
 * policy the rules refuse is never written.  A rollout without groups. */
START_TEST(test_create_stuck)
{
	struct store_rollout_new q = {0};
	struct rollout_stuck_policy p, bad;
	struct store_rollout r;
	struct store_conn *c;
	char missing[STORE_GROUP_NAME_MAX + 1];
	int64_t id = 0, none = 0, nogroups = 0;
	long long members = 0;

	rollout_stuck_defaults(&p);
	p.device_timeout_sec = 3600;
	p.max_retries = 2;
	p.retry_backoff_sec = 60;
	p.abort_on = 1u << ROLLOUT_OUTCOME_TIMED_OUT;
	p.ignore_results = (1u << 4) | (1u << 11);
	p.breach_action = ROLLOUT_BREACH_ABORT;
	p.max_offers_per_minute = 100;
	p.rate_ramp_min = 10;
	p.rate_ramp_max = 1600;
	testutil_rollout_req(&q, img_a, beta, 1);
	q.salt = salt;
	q.stuck = &p;
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_create(c, &q, &id, missing), 0);
	bad = p;
	bad.max_retries = 101;
	q.stuck = &bad;
	ck_assert_int_eq(
	    store_rollout_create(c, &q, &none, missing), OTA_EINVAL);
	/* No groups: allowed by the store (the service asks for a
	 * selector). */
	q.stuck = NULL;
	q.groups = NULL;
	q.group_count = 0;
	q.selector = "ring=canary";
	ck_assert_int_eq(store_rollout_create(c, &q, &nogroups, missing), 0);
	store_release(st, c);
	get(id, &r);
	ck_assert_mem_eq(&r.stuck, &p, sizeof(p));
	ck_assert_int_eq(count("SELECT count(*) FROM rollouts WHERE abort_on ="
	                       " 'timed_out' AND ignore_results = '4,11' AND"
	                       " breach_action = 'abort'"),
	    1);
	get(nogroups, &r);
	ck_assert_uint_eq(r.group_count, 0);
	/* Its members: every device. */
	c = store_acquire(st);
	ck_assert_int_eq(
	    store_rollout_members(c, nogroups, count_member, &members), 0);
	store_release(st, c);
	ck_assert_int_eq(members, count("SELECT count(*) FROM devices"));
	ck_assert_int_gt(members, 0);
	rollout_stuck_defaults(&p);
	ck_assert_mem_eq(&r.stuck, &p, sizeof(p));
	/* A policy edit rewrites it. */
	get(id, &r);
	r.stuck.max_retries = 0;
	r.stuck.abort_on = ROLLOUT_OUTCOMES_ALL;
	c = store_acquire(st);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_rollout_set_policy(c, &r, "ops", "x"), 0);
	ck_assert_int_eq(store_commit(c), 0);
	store_release(st, c);
	get(id, &r);
	ck_assert_uint_eq(r.stuck.max_retries, 0);
	ck_assert_uint_eq(r.stuck.abort_on, ROLLOUT_OUTCOMES_ALL);
	ck_assert_uint_eq(r.stuck.rate_ramp_max, 1600);
}
END_TEST

START_TEST(test_create_refused)
{
	static const char *const ghost[] = {"beta", "ghost", NULL};
	static const char *const twice[] = {"beta", "lab", "beta", NULL};
	static const uint16_t bad_order[] = {500, 100, 10000};
	struct store_rollout_new r = {0};
	struct store_conn *c;
	char missing[STORE_GROUP_NAME_MAX + 1];
	const char *many[STORE_ROLLOUT_GROUPS_MAX + 1];
	int64_t id = 7;

	testutil_rollout_req(&r, img_a, beta, 1);
	r.salt = salt;
	c = store_acquire(st);

	/* Unknown image: missing is "" (never a group's name). */
	r.image_id = 9999;
	snprintf(missing, sizeof(missing), "junk");
	ck_assert_int_eq(
	    store_rollout_create(c, &r, &id, missing), OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "");
	ck_assert_int_eq(id, 0);
	r.image_id = img_a;

	/* Unknown group: named; nothing stored, not even the rollout. */
	r.groups = ghost;
	r.group_count = 2;
	ck_assert_int_eq(
	    store_rollout_create(c, &r, &id, missing), OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "ghost");
	ck_assert_int_eq(store_rollout_create(c, &r, &id, NULL), OTA_ENOTFOUND);

	/* A group named twice. */
	r.groups = twice;
	r.group_count = 3;
	ck_assert_int_eq(store_rollout_create(c, &r, &id, missing), OTA_EINVAL);

	/* Counts out of range (no group and no selector). */
	r.groups = beta;
	r.group_count = 0;
	ck_assert_int_eq(store_rollout_create(c, &r, &id, missing), OTA_EINVAL);
	for (int i = 0; i <= STORE_ROLLOUT_GROUPS_MAX; i++)
		many[i] = "beta";
	r.groups = many;
	r.group_count = STORE_ROLLOUT_GROUPS_MAX + 1;
	ck_assert_int_eq(store_rollout_create(c, &r, &id, missing), OTA_EINVAL);
	r.groups = beta;
	r.group_count = 1;
	r.stage_count = 0;
	ck_assert_int_eq(store_rollout_create(c, &r, &id, missing), OTA_EINVAL);
	r.stage_count = ROLLOUT_MAX_STAGES + 1;
	ck_assert_int_eq(store_rollout_create(c, &r, &id, missing), OTA_EINVAL);
	r.stages_bp = bad_order;
	r.stage_count = 3;
	ck_assert_int_eq(store_rollout_create(c, &r, &id, missing), OTA_EINVAL);
	store_release(st, c);

	ck_assert_int_eq(count("SELECT count(*) FROM rollouts"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM rollout_groups"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM rollout_events"), 0);
}
END_TEST

/* ---- store_rollout_list ---- */

/* Lists with f; returns the ids joined by spaces in out. */
static void
list_ids(struct store_rollout_filter *f, char *out, size_t outlen)
{
	struct store_rollout *v = NULL;
	struct store_conn *c;
	size_t n = 0, used = 0;

	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_list(c, f, &v, &n), 0);
	store_release(st, c);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_ge(v[i].group_count, 1);
		used += (size_t)snprintf(out + used, outlen - used, "%s%lld",
		    i ? " " : "", (long long)v[i].id);
	}
	free(v);
}

START_TEST(test_list_filters)
{
	struct store_rollout_filter f = {-1, 0, 0, 100};
	struct store_rollout *v = NULL;
	struct store_conn *c;
	char ids[256], want[256];
	int64_t r1, r2, r3, r4;
	size_t n = 5;

	r1 = create_default(img_a); /* draft */
	r2 = create_default(img_a); /* running */
	r3 = create_default(img_b); /* running */
	r4 = create_default(img_b); /* aborted */
	ck_assert_int_eq(apply(r2, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(apply(r3, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(apply(r4, ROLLOUT_ABORT, "no", NULL), 0);

	list_ids(&f, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%lld %lld %lld %lld", (long long)r1,
	    (long long)r2, (long long)r3, (long long)r4);
	ck_assert_str_eq(ids, want);

	f.state = ROLLOUT_RUNNING;
	list_ids(&f, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%lld %lld", (long long)r2, (long long)r3);
	ck_assert_str_eq(ids, want);

	f.image_id = img_b;
	list_ids(&f, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%lld", (long long)r3);
	ck_assert_str_eq(ids, want);

	f.state = -1;
	list_ids(&f, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%lld %lld", (long long)r3, (long long)r4);
	ck_assert_str_eq(ids, want);

	f.state = ROLLOUT_PAUSED;
	f.image_id = 0;
	list_ids(&f, ids, sizeof(ids));
	ck_assert_str_eq(ids, "");

	/* Pages: limit and cursor. */
	f.state = -1;
	f.limit = 3;
	list_ids(&f, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%lld %lld %lld", (long long)r1,
	    (long long)r2, (long long)r3);
	ck_assert_str_eq(ids, want);
	f.after_id = r3;
	list_ids(&f, ids, sizeof(ids));
	snprintf(want, sizeof(want), "%lld", (long long)r4);
	ck_assert_str_eq(ids, want);

	/* Bad filters. */
	c = store_acquire(st);
	f.after_id = 0;
	f.limit = 0;
	ck_assert_int_eq(store_rollout_list(c, &f, &v, &n), OTA_EINVAL);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(n, 0);
	f.limit = 1001;
	ck_assert_int_eq(store_rollout_list(c, &f, &v, &n), OTA_EINVAL);
	f.limit = 10;
	f.state = 5;
	ck_assert_int_eq(store_rollout_list(c, &f, &v, &n), OTA_EINVAL);
	store_release(st, c);
}
END_TEST

/* ---- store_rollout_update through the service: every transition and
 * every refusal ---- */

/* A rollout of img_a in state s, at stage 1 of 4 when it can be. */
static int64_t
rollout_in(enum rollout_state s)
{
	int64_t id = create_default(img_a);

	if (s == ROLLOUT_DRAFT)
		return id;
	if (s == ROLLOUT_ABORTED) {
		ck_assert_int_eq(apply(id, ROLLOUT_ABORT, NULL, NULL), 0);
		return id;
	}
	ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, NULL), 0);
	if (s == ROLLOUT_PAUSED)
		ck_assert_int_eq(apply(id, ROLLOUT_PAUSE, NULL, NULL), 0);
	if (s == ROLLOUT_COMPLETED)
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(
			    apply(id, ROLLOUT_ADVANCE, NULL, NULL), 0);
	return id;
}

START_TEST(test_apply_matrix)
{
	/* expected[from][action]: the new state, or -1 for refused. */
	static const int expected[5][5] = {
	    /* start, pause, resume, advance, abort */
	    [ROLLOUT_DRAFT] = {ROLLOUT_RUNNING, -1, -1, -1, ROLLOUT_ABORTED},
	    [ROLLOUT_RUNNING] = {-1, ROLLOUT_PAUSED, -1, ROLLOUT_RUNNING,
	        ROLLOUT_ABORTED},
	    [ROLLOUT_PAUSED] = {-1, -1, ROLLOUT_RUNNING, ROLLOUT_PAUSED,
	        ROLLOUT_ABORTED},
	    [ROLLOUT_COMPLETED] = {-1, -1, -1, -1, -1},
	    [ROLLOUT_ABORTED] = {-1, -1, -1, -1, -1},
	};

	for (int from = 0; from < 5; from++) {
		for (int act = 0; act < 5; act++) {
			struct store_rollout before, after, out;
			char sql[128];
			long long nev;
			int64_t id = rollout_in((enum rollout_state)from);
			int rc;

			get(id, &before);
			ck_assert_int_eq(before.state, from);
			snprintf(sql, sizeof(sql),
			    "SELECT count(*) FROM rollout_events"
			    " WHERE rollout_id = %lld",
			    (long long)id);
			nev = count(sql);
			memset(&out, 0x5a, sizeof(out));
			rc = apply(id, (enum rollout_action)act, "why", &out);
			get(id, &after);
			if (expected[from][act] < 0) {
				ck_assert_msg(rc == OTA_ECONFLICT,
				    "%s %s: rc %d", rollout_state_name(from),
				    rollout_action_name(act), rc);
				/* Nothing written; out is the row as it
				 * stood, the state that refused. */
				ck_assert_mem_eq(
				    &before, &after, sizeof(before));
				ck_assert_int_eq(count(sql), nev);
				ck_assert_mem_eq(&out, &before, sizeof(out));
				continue;
			}
			ck_assert_msg(rc == 0, "%s %s: rc %d",
			    rollout_state_name(from), rollout_action_name(act),
			    rc);
			ck_assert_int_eq(after.state, expected[from][act]);
			ck_assert_mem_eq(&out, &after, sizeof(out));
			ck_assert_int_eq(count(sql), nev + 1);
			ck_assert_int_eq(after.stage_index,
			    act == ROLLOUT_ADVANCE ? before.stage_index + 1
			    : act == ROLLOUT_START ? 0
			                           : before.stage_index);
		}
	}
}
END_TEST

START_TEST(test_apply_fields)
{
	static const uint16_t two[] = {5000, 10000};
	struct store_rollout r;
	struct store_conn *c;
	char old[] = "2000-01-01T00:00:00Z", sql[160];
	int64_t id = create_on(img_a, beta, two, 2, 0);

	ck_assert_int_eq(apply(id, ROLLOUT_START, "go", &r), 0);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r.stage_index, 0);
	ck_assert_int_eq(strlen(r.started_at), 20);
	ck_assert_str_eq(r.stage_started_at, r.started_at);
	ck_assert_str_eq(r.updated_at, r.started_at);
	ck_assert_str_eq(r.finished_at, "");
	ck_assert_str_eq(r.reason, ""); /* only pause and abort set it */

	/* Pause records why; resume clears it and restarts the stage's
	 * clock (planted far in the past here). */
	ck_assert_int_eq(apply(id, ROLLOUT_PAUSE, "crash reports", &r), 0);
	ck_assert_str_eq(r.reason, "crash reports");
	snprintf(sql, sizeof(sql),
	    "UPDATE rollouts SET stage_started_at = '%s',"
	    " started_at = '%s' WHERE id = %lld",
	    old, old, (long long)id);
	raw_exec(sql);
	ck_assert_int_eq(apply(id, ROLLOUT_RESUME, "fixed", &r), 0);
	ck_assert_str_eq(r.reason, "");
	ck_assert_str_ne(r.stage_started_at, old);
	ck_assert_str_eq(r.started_at, old); /* start time stays */

	/* Advance moves the stage and its clock. */
	raw_exec(sql);
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, &r), 0);
	ck_assert_int_eq(r.stage_index, 1);
	ck_assert_str_ne(r.stage_started_at, old);
	/* From the last stage: completed, the stage kept for the record. */
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, &r), 0);
	ck_assert_int_eq(r.state, ROLLOUT_COMPLETED);
	ck_assert_int_eq(r.stage_index, 1);
	ck_assert_int_eq(strlen(r.finished_at), 20);

	/* Abort records why and when. */
	id = rollout_in(ROLLOUT_RUNNING);
	ck_assert_int_eq(apply(id, ROLLOUT_ABORT, "bad batch", &r), 0);
	ck_assert_int_eq(r.state, ROLLOUT_ABORTED);
	ck_assert_int_eq(r.stage_index, 1);
	ck_assert_str_eq(r.reason, "bad batch");
	ck_assert_int_eq(strlen(r.finished_at), 20);

	/* Unknown rollout, bad arguments. */
	c = store_acquire(st);
	ck_assert_int_eq(rollout_service_act(
	                     svc, 9999, ROLLOUT_START, -1, "ops", NULL, NULL),
	    OTA_ENOTFOUND);
	id = create_default(img_a);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_START, -1, "", NULL, NULL),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_START, -1, NULL, NULL, NULL),
	    OTA_EINVAL);
	{
		char longer[STORE_ROLLOUT_REASON_MAX + 2];

		memset(longer, 'x', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		ck_assert_int_eq(rollout_service_act(svc, id, ROLLOUT_START, -1,
		                     "ops", longer, NULL),
		    OTA_EINVAL);
		longer[STORE_ROLLOUT_REASON_MAX] = '\0';
		ck_assert_int_eq(rollout_service_act(svc, id, ROLLOUT_ABORT, -1,
		                     "ops", longer, &r),
		    0);
		ck_assert_str_eq(r.reason, longer);
	}
	ck_assert_int_eq(rollout_service_act(svc, id, (enum rollout_action)9,
	                     -1, "ops", NULL, NULL),
	    OTA_EINVAL);
	store_release(st, c);
}
END_TEST

/* store_rollout_update writes exactly the row it is given, with its
 * event, inside the caller's transaction; it refuses bad arguments. */
START_TEST(test_update_direct)
{
	struct store_rollout r, back;
	struct store_conn *c;
	char sql[200];
	int64_t id = create_default(img_a);

	get(id, &r);
	r.state = ROLLOUT_RUNNING;
	r.stage_index = 2;
	snprintf(r.started_at, sizeof(r.started_at), "2026-01-02T00:00:00Z");
	snprintf(r.updated_at, sizeof(r.updated_at), "2026-01-03T00:00:00Z");
	snprintf(r.reason, sizeof(r.reason), "as given");
	c = store_acquire(st);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(
	    store_rollout_update(c, &r, ROLLOUT_START, ROLLOUT_DRAFT, "", NULL),
	    OTA_EINVAL);
	ck_assert_int_eq(store_rollout_update(c, &r, (enum rollout_action)9,
	                     ROLLOUT_DRAFT, "ops", NULL),
	    OTA_EINVAL);
	ck_assert_int_eq(store_rollout_update(c, &r, ROLLOUT_START,
	                     (enum rollout_state)9, "ops", NULL),
	    OTA_EINVAL);
	ck_assert_int_eq(store_rollout_update(
	                     c, &r, ROLLOUT_START, ROLLOUT_DRAFT, "ops", "why"),
	    0);
	ck_assert_int_eq(store_commit(c), 0);
	store_release(st, c);
	get(id, &back);
	ck_assert_int_eq(back.state, ROLLOUT_RUNNING);
	ck_assert_int_eq(back.stage_index, 2);
	ck_assert_str_eq(back.started_at, "2026-01-02T00:00:00Z");
	ck_assert_str_eq(back.updated_at, "2026-01-03T00:00:00Z");
	ck_assert_str_eq(back.reason, "as given");
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM rollout_events WHERE rollout_id = %lld"
	    " AND action = 'start' AND from_state = 'draft'"
	    " AND to_state = 'running' AND stage_index = 2 AND reason = 'why'",
	    (long long)id);
	ck_assert_int_eq(count(sql), 1);
}
END_TEST

/* The default 4 stages, one click each: 1 -> 5 -> 25 -> 100 -> done. */
START_TEST(test_apply_full_walk)
{
	struct store_rollout r;
	int64_t id = create_default(img_a);

	ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, &r), 0);
	for (int i = 1; i < 4; i++) {
		ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, &r), 0);
		ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
		ck_assert_int_eq(r.stage_index, i);
		ck_assert_int_eq(
		    r.stages_bp[r.stage_index], rollout_default_stages_bp[i]);
	}
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, &r), 0);
	ck_assert_int_eq(r.state, ROLLOUT_COMPLETED);
	ck_assert_int_eq(r.stage_index, 3);
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, &r), OTA_ECONFLICT);
	ck_assert_int_eq(apply(id, ROLLOUT_ABORT, NULL, &r), OTA_ECONFLICT);
}
END_TEST

/* ---- expect_stage: one stage per click, however many clicks ---- */

START_TEST(test_expect_stage)
{
	struct store_rollout r;
	struct store_conn *c;
	int64_t id = rollout_in(ROLLOUT_RUNNING); /* at stage 1 */

	c = store_acquire(st);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_ADVANCE, 0, "ops", NULL, NULL),
	    OTA_ECONFLICT);
	get(id, &r);
	ck_assert_int_eq(r.stage_index, 1);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_ADVANCE, 1, "ops", NULL, &r),
	    0);
	ck_assert_int_eq(r.stage_index, 2);
	/* The second click of the same moment. */
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_ADVANCE, 1, "ops", NULL, NULL),
	    OTA_ECONFLICT);
	/* The guard applies to any action. */
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_PAUSE, 1, "ops", NULL, NULL),
	    OTA_ECONFLICT);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_PAUSE, 2, "ops", NULL, &r), 0);
	ck_assert_int_eq(r.state, ROLLOUT_PAUSED);
	store_release(st, c);
}
END_TEST

struct racer {
	int64_t id;
	int rc;
};

static void *
race_advance(void *arg)
{
	struct racer *rr = arg;

	/* A connection of the service's own for each. */
	rr->rc = rollout_service_act(
	    svc, rr->id, ROLLOUT_ADVANCE, 0, "ops", NULL, NULL);
	return NULL;
}

/* Three threads on three connections advance from stage 0 at once:
 * exactly one wins, the rollout moves one stage. */
START_TEST(test_expect_stage_race)
{
	for (int round = 0; round < 10; round++) {
		struct racer rr[3];
		pthread_t th[3];
		struct store_rollout r;
		int64_t id = create_default(img_a);
		int won = 0;

		ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, NULL), 0);
		for (int i = 0; i < 3; i++) {
			rr[i].id = id;
			rr[i].rc = 1;
			ck_assert_int_eq(
			    pthread_create(&th[i], NULL, race_advance, &rr[i]),
			    0);
		}
		for (int i = 0; i < 3; i++) {
			pthread_join(th[i], NULL);
			ck_assert(rr[i].rc == 0 || rr[i].rc == OTA_ECONFLICT);
			won += rr[i].rc == 0;
		}
		ck_assert_int_eq(won, 1);
		get(id, &r);
		ck_assert_int_eq(r.stage_index, 1);
	}
}
END_TEST

/* ---- store_rollout_events ---- */

START_TEST(test_events)
{
	struct store_rollout_event *ev = NULL;
	struct store_conn *c;
	size_t n = 0;
	int64_t id = create_default(img_a), other = create_default(img_a);

	ck_assert_int_eq(apply(id, ROLLOUT_START, "ship it", NULL), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_PAUSE, "crash rate", NULL), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_RESUME, "fixed config", NULL), 0);
	c = store_acquire(st);
	ck_assert_int_eq(rollout_service_act(svc, id, ROLLOUT_ADVANCE, 0,
	                     "otad", "advance_after: stage 0 ran 3600 s", NULL),
	    0);
	ck_assert_int_eq(apply(other, ROLLOUT_ABORT, "unrelated", NULL), 0);
	ck_assert_int_eq(store_rollout_events(c, id, 1000, &ev, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(ev[0].action, "create");
	ck_assert_str_eq(ev[1].action, "start");
	ck_assert_str_eq(ev[1].actor, "ops");
	ck_assert_str_eq(ev[1].from_state, "draft");
	ck_assert_str_eq(ev[1].to_state, "running");
	ck_assert_str_eq(ev[1].reason, "ship it");
	ck_assert_str_eq(ev[2].action, "pause");
	ck_assert_str_eq(ev[2].to_state, "paused");
	ck_assert_str_eq(ev[2].reason, "crash rate");
	ck_assert_str_eq(ev[3].action, "resume");
	ck_assert_str_eq(ev[3].from_state, "paused");
	ck_assert_str_eq(ev[3].reason, "fixed config");
	ck_assert_str_eq(ev[4].action, "advance");
	ck_assert_str_eq(ev[4].actor, "otad");
	ck_assert_str_eq(ev[4].reason, "advance_after: stage 0 ran 3600 s");
	ck_assert_int_eq(ev[4].stage_index, 1);
	for (size_t i = 1; i < n; i++)
		ck_assert_int_gt(ev[i].id, ev[i - 1].id);
	free(ev);

	/* limit keeps the oldest. */
	ck_assert_int_eq(store_rollout_events(c, id, 2, &ev, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ev[1].action, "start");
	free(ev);
	ck_assert_int_eq(store_rollout_events(c, 9999, 10, &ev, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(ev);
	ev = NULL;
	ck_assert_int_eq(store_rollout_events(c, id, 0, &ev, &n), OTA_EINVAL);
	ck_assert_int_eq(
	    store_rollout_events(c, id, 1001, &ev, &n), OTA_EINVAL);
	ck_assert_ptr_null(ev);
	store_release(st, c);
}
END_TEST

/* ---- image delete guard, store_rollout_image_in_use ---- */

/* store_image_delete through the pool. */
static int
image_delete(int64_t image, struct store_image_user *user)
{
	struct store_conn *c = store_acquire(st);
	char sha[65];
	int unused = -1, rc;

	rc = store_image_delete(c, image, sha, &unused, user);
	store_release(st, c);
	return rc;
}

static int
in_use(int64_t image)
{
	struct store_conn *c = store_acquire(st);
	int rc = store_rollout_image_in_use(c, image);

	store_release(st, c);
	return rc;
}

START_TEST(test_image_delete_guard)
{
	struct store_image_user user;
	struct store_rollout r;
	int64_t id = create_default(img_a), done;

	/* Refused while draft, running and paused, naming the rollout. */
	ck_assert_int_eq(image_delete(img_a, &user), OTA_ECONFLICT);
	ck_assert_int_eq(user.rollout_id, id);
	ck_assert_str_eq(user.state, "draft");
	ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(image_delete(img_a, &user), OTA_ECONFLICT);
	ck_assert_str_eq(user.state, "running");
	ck_assert_int_eq(apply(id, ROLLOUT_PAUSE, NULL, NULL), 0);
	ck_assert_int_eq(image_delete(img_a, NULL), OTA_ECONFLICT);
	ck_assert_int_eq(image_delete(img_a, &user), OTA_ECONFLICT);
	ck_assert_str_eq(user.state, "paused");
	ck_assert_int_eq(count("SELECT count(*) FROM images"), 2);

	/* Allowed once aborted: the rollout keeps its row and the image's
	 * name and version, with no image id. */
	ck_assert_int_eq(apply(id, ROLLOUT_ABORT, NULL, NULL), 0);
	ck_assert_int_eq(image_delete(img_a, &user), 0);
	ck_assert_int_eq(user.rollout_id, 0);
	get(id, &r);
	ck_assert_int_eq(r.image_id, 0);
	ck_assert_str_eq(r.image_name, "sensor-fw");
	ck_assert_str_eq(r.image_version, "1.2.0");
	ck_assert_int_eq(count("SELECT count(*) FROM rollouts"
	                       " WHERE image_id IS NULL"),
	    1);

	/* And once completed. */
	done = create_on(img_b, beta, (const uint16_t[]){10000}, 1, 0);
	ck_assert_int_eq(apply(done, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(image_delete(img_b, &user), OTA_ECONFLICT);
	ck_assert_int_eq(apply(done, ROLLOUT_ADVANCE, NULL, &r), 0);
	ck_assert_int_eq(r.state, ROLLOUT_COMPLETED);
	ck_assert_int_eq(image_delete(img_b, &user), 0);
	get(done, &r);
	ck_assert_int_eq(r.image_id, 0);
	ck_assert_int_eq(count("SELECT count(*) FROM images"), 0);
}
END_TEST

/* The oldest active rollout is named; ended ones do not count. */
START_TEST(test_image_delete_names_oldest)
{
	struct store_image_user user;
	int64_t ended = rollout_in(ROLLOUT_ABORTED);
	int64_t first = create_default(img_a), second = create_default(img_a);

	ck_assert_int_gt(first, ended);
	ck_assert_int_eq(apply(second, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(image_delete(img_a, &user), OTA_ECONFLICT);
	ck_assert_int_eq(user.rollout_id, first);
	ck_assert_str_eq(user.state, "draft");
	ck_assert_int_eq(apply(first, ROLLOUT_ABORT, NULL, NULL), 0);
	ck_assert_int_eq(image_delete(img_a, &user), OTA_ECONFLICT);
	ck_assert_int_eq(user.rollout_id, second);
	ck_assert_str_eq(user.state, "running");
}
END_TEST

START_TEST(test_image_in_use)
{
	int64_t id = create_default(img_a);

	ck_assert_int_eq(in_use(img_a), 1); /* draft */
	ck_assert_int_eq(in_use(img_b), 0);
	ck_assert_int_eq(in_use(9999), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(in_use(img_a), 1);
	ck_assert_int_eq(apply(id, ROLLOUT_PAUSE, NULL, NULL), 0);
	ck_assert_int_eq(in_use(img_a), 1);
	ck_assert_int_eq(apply(id, ROLLOUT_ABORT, NULL, NULL), 0);
	ck_assert_int_eq(in_use(img_a), 0);

	id = create_on(img_b, beta, (const uint16_t[]){10000}, 1, 0);
	ck_assert_int_eq(in_use(img_b), 1);
	ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, NULL), 0);
	ck_assert_int_eq(in_use(img_b), 0); /* completed */
}
END_TEST

/* ---- store_rollout_device_may_fetch ---- */

static int
may_fetch(int64_t image, const char *device)
{
	struct store_conn *c = store_acquire(st);
	int rc = store_rollout_device_may_fetch(c, image, device);

	store_release(st, c);
	return rc;
}

START_TEST(test_may_fetch)
{
	int64_t id = create_default(img_a); /* targets beta: dev-1 */

	/* A draft gives nobody the image. */
	ck_assert_int_eq(may_fetch(img_a, "dev-1"), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(may_fetch(img_a, "dev-1"), 1);
	ck_assert_int_eq(may_fetch(img_a, "dev-2"), 0); /* in lab only */
	ck_assert_int_eq(may_fetch(img_b, "dev-1"), 0); /* other image */
	ck_assert_int_eq(may_fetch(img_a, "nobody"), 0);
	/* Paused and ended rollouts still let their devices finish. */
	ck_assert_int_eq(apply(id, ROLLOUT_PAUSE, NULL, NULL), 0);
	ck_assert_int_eq(may_fetch(img_a, "dev-1"), 1);
	ck_assert_int_eq(apply(id, ROLLOUT_ABORT, NULL, NULL), 0);
	ck_assert_int_eq(may_fetch(img_a, "dev-1"), 1);
	/* Membership is read live. */
	raw_exec("INSERT INTO group_members (group_id, device_id)"
	         " SELECT id, 'dev-2' FROM device_groups WHERE name = 'beta'");
	ck_assert_int_eq(may_fetch(img_a, "dev-2"), 1);
	raw_exec("DELETE FROM group_members WHERE device_id = 'dev-1'");
	ck_assert_int_eq(may_fetch(img_a, "dev-1"), 0);
}
END_TEST

/* ---- store_rollout_members ---- */

/* Collects streamed ids as "a,b,c," (sorted by the caller's query order
 * is not promised: tests compare sets). */
struct collect {
	int n;
	int stop_at;    /* return 7 on this call; 0: never */
	char seen[256]; /* "id:fits," for each */
};

static int
collect_fn(void *ctx, const char *id, int image_fits)
{
	struct collect *k = ctx;
	size_t used = strlen(k->seen);

	k->n++;
	snprintf(
	    k->seen + used, sizeof(k->seen) - used, "%s:%d,", id, image_fits);
	return k->n == k->stop_at ? 7 : 0;
}

static int
members(int64_t id, struct collect *k)
{
	struct store_conn *c = store_acquire(st);
	int rc = store_rollout_members(c, id, collect_fn, k);

	store_release(st, c);
	return rc;
}

START_TEST(test_members)
{
	static const char *const both[] = {"beta", "lab", NULL};
	static const char *const alpha[] = {"alpha", NULL};
	struct collect k = {0};
	int64_t id = create_on(img_a, both, NULL, 0, 0);
	int64_t empty = create_on(img_a, alpha, NULL, 0, 0);

	/* dev-1 in beta, dev-2 in lab, dev-3 in both: three devices. */
	raw_exec("INSERT INTO devices (id, hardware, created_at) VALUES"
	         " ('dev-3', 'revA', '2026-01-01T00:00:00Z');"
	         "INSERT INTO group_members (group_id, device_id)"
	         " SELECT id, 'dev-3' FROM device_groups"
	         " WHERE name IN ('beta', 'lab');");
	ck_assert_int_eq(members(id, &k), 0);
	ck_assert_int_eq(k.n, 3);
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-1:1,"));
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-2:1,"));
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-3:1,"));
	/* fn stops the walk with its own value. */
	memset(&k, 0, sizeof(k));
	k.stop_at = 2;
	ck_assert_int_eq(members(id, &k), 7);
	ck_assert_int_eq(k.n, 2);
	/* An empty group, an unknown rollout: nothing, no error. */
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(members(empty, &k), 0);
	ck_assert_int_eq(members(9999, &k), 0);
	ck_assert_int_eq(k.n, 0);
	/* Membership is read live. */
	raw_exec("DELETE FROM group_members WHERE device_id = 'dev-2'");
	ck_assert_int_eq(members(id, &k), 0);
	ck_assert_int_eq(k.n, 2);
}
END_TEST

/* Each member comes with whether the image fits its hardware: exactly
 * one of the image's hardware entries, or unknown once it is deleted. */
START_TEST(test_members_hardware)
{
	static const char *const both[] = {"beta", "lab", NULL};
	struct collect k = {0};
	int64_t id = create_on(img_a, both, NULL, 0, 0);
	char sql[160];

	raw_exec("UPDATE devices SET hardware = 'bleA' WHERE id = 'dev-2';"
	         "INSERT INTO devices (id, hardware, created_at) VALUES"
	         " ('dev-3', 'reva', '2026-01-01T00:00:00Z');"
	         "INSERT INTO group_members (group_id, device_id)"
	         " SELECT id, 'dev-3' FROM device_groups WHERE name = 'lab';");
	ck_assert_int_eq(members(id, &k), 0);
	ck_assert_int_eq(k.n, 3);
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-1:1,"));
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-2:0,"));
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-3:0,")); /* case counts */
	/* A second hardware entry of the image fits dev-2 too. */
	snprintf(sql, sizeof(sql),
	    "INSERT INTO image_hardware (hardware, image_id)"
	    " VALUES ('bleA', %lld)",
	    (long long)img_a);
	raw_exec(sql);
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(members(id, &k), 0);
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-2:1,"));
	/* The image deleted (an ended rollout): unknown. */
	raw_exec("UPDATE rollouts SET image_id = NULL");
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(members(id, &k), 0);
	ck_assert_int_eq(k.n, 3);
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-1:-1,"));
	ck_assert_ptr_nonnull(strstr(k.seen, "dev-3:-1,"));
}
END_TEST

/* Counts devices per bucket range, as the health endpoint does. */
struct bucket_count {
	const unsigned char *salt;
	uint64_t n, below_500;
};

static int
bucket_fn(void *ctx, const char *id, int image_fits)
{
	struct bucket_count *b = ctx;

	ck_assert_int_eq(image_fits, 1);

	b->n++;
	b->below_500 += rollout_bucket(b->salt, id) < 500;
	return 0;
}

/* 100,000 targeted devices stream, each once, and are bucketed
 * uniformly.  The time is printed, not asserted: speed is the
 * benchmarks' (bench/health.sh), and a timed unit test fails on a busy
 * machine. */
START_TEST(test_members_100k)
{
	struct bucket_count b = {salt, 0, 0};
	struct store_conn *c;
	struct timespec t0, t1;
	double sec;
	int64_t id = create_default(img_a);

	raw_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
	         " FROM n WHERE i < 100000)"
	         " INSERT INTO devices (id, hardware, created_at)"
	         " SELECT printf('fleet-%06d', i), 'revA',"
	         " '2026-01-01T00:00:00Z' FROM n;"
	         "INSERT INTO group_members (group_id, device_id)"
	         " SELECT g.id, d.id FROM device_groups g, devices d"
	         " WHERE g.name = 'beta' AND d.id LIKE 'fleet-%';");
	c = store_acquire(st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(store_rollout_members(c, id, bucket_fn, &b), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	store_release(st, c);
	sec = (double)(t1.tv_sec - t0.tv_sec) +
	      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_uint_eq(b.n, 100001); /* and dev-1 */
	/* 5% of the fleet, give or take four standard deviations. */
	ck_assert_msg(b.below_500 > 4700 && b.below_500 < 5300,
	    "%llu of 100001 below bucket 500", (unsigned long long)b.below_500);
	fprintf(stderr,
	    "check_store_rollouts: 100k members streamed and "
	    "bucketed in %.3f s\n",
	    sec);
}
END_TEST

/* ---- store_rollout_stage_starts ---- */

START_TEST(test_stage_starts)
{
	char starts[ROLLOUT_MAX_STAGES][21];
	struct store_rollout_event *ev = NULL;
	struct store_conn *c;
	size_t n = 0;
	int64_t id = create_default(img_a);

	c = store_acquire(st);
	memset(starts, 'x', sizeof(starts));
	ck_assert_int_eq(store_rollout_stage_starts(c, id, starts), 0);
	for (int i = 0; i < ROLLOUT_MAX_STAGES; i++)
		ck_assert_str_eq(starts[i], ""); /* a draft: none */
	store_release(st, c);
	ck_assert_int_eq(apply(id, ROLLOUT_START, NULL, NULL), 0);
	/* A pause and resume do not restart the stage. */
	raw_exec("UPDATE rollout_events SET at = '2026-01-01T00:00:00Z'"
	         " WHERE action = 'start'");
	ck_assert_int_eq(apply(id, ROLLOUT_PAUSE, NULL, NULL), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_RESUME, NULL, NULL), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, NULL), 0);
	raw_exec("UPDATE rollout_events SET at = '2026-01-02T00:00:00Z'"
	         " WHERE action = 'advance' AND stage_index = 1");
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_stage_starts(c, id, starts), 0);
	store_release(st, c);
	ck_assert_str_eq(starts[0], "2026-01-01T00:00:00Z");
	ck_assert_str_eq(starts[1], "2026-01-02T00:00:00Z");
	ck_assert_str_eq(starts[2], "");
	/* To the end: the last advance completes, it starts no stage. */
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, NULL), 0);
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, NULL), 0);
	raw_exec("UPDATE rollout_events SET at = '2026-01-03T00:00:00Z'"
	         " WHERE action = 'advance' AND stage_index = 3");
	ck_assert_int_eq(apply(id, ROLLOUT_ADVANCE, NULL, NULL), 0);
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_stage_starts(c, id, starts), 0);
	ck_assert_int_eq(store_rollout_events(c, id, 1000, &ev, &n), 0);
	store_release(st, c);
	ck_assert_str_eq(ev[n - 1].to_state, "completed");
	ck_assert_str_eq(starts[2], ev[n - 3].at);
	ck_assert_str_eq(starts[3], "2026-01-03T00:00:00Z");
	ck_assert_str_eq(starts[4], "");
	free(ev);
}
END_TEST

/* ---- store_rollout_count_by_state ---- */

START_TEST(test_count_by_state)
{
	uint64_t v[ROLLOUT_ABORTED + 1];
	struct store_conn *c;
	int64_t a, b;

	c = store_acquire(st);
	memset(v, 0xff, sizeof(v));
	ck_assert_int_eq(store_rollout_count_by_state(c, v), 0);
	for (int i = 0; i <= ROLLOUT_ABORTED; i++)
		ck_assert_uint_eq(v[i], 0);
	store_release(st, c);
	a = create_default(img_a);
	b = create_default(img_a);
	create_default(img_b);
	ck_assert_int_eq(apply(a, ROLLOUT_START, NULL, NULL), 0);
	ck_assert_int_eq(apply(b, ROLLOUT_ABORT, NULL, NULL), 0);
	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_count_by_state(c, v), 0);
	store_release(st, c);
	ck_assert_uint_eq(v[ROLLOUT_DRAFT], 1);
	ck_assert_uint_eq(v[ROLLOUT_RUNNING], 1);
	ck_assert_uint_eq(v[ROLLOUT_PAUSED], 0);
	ck_assert_uint_eq(v[ROLLOUT_COMPLETED], 0);
	ck_assert_uint_eq(v[ROLLOUT_ABORTED], 1);
}
END_TEST

static Suite *
store_rollouts_suite(void)
{
	Suite *s = suite_create("store_rollouts");
	struct {
		const char *name;
		const TTest *tests[6];
	} cases[] = {
	    {"create", {test_create_get, test_create_gate, test_create_when,
	                   test_create_refused, test_create_stuck}},
	    {"list", {test_list_filters}},
	    {"apply",
	        {test_apply_matrix, test_apply_fields, test_apply_full_walk,
	            test_expect_stage, test_expect_stage_race}},
	    {"update", {test_update_direct}},
	    {"events", {test_events}},
	    {"image_in_use",
	        {test_image_delete_guard, test_image_delete_names_oldest,
	            test_image_in_use}},
	    {"may_fetch", {test_may_fetch}},
	    {"members",
	        {test_members, test_members_hardware, test_members_100k}},
	    {"stage_starts", {test_stage_starts}},
	    {"count_by_state", {test_count_by_state}},
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
	return testutil_run_suite(store_rollouts_suite());
}
