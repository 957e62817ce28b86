/*
 * check_rollout_service: the rollout service on a real, migrated SQLite
 * file: create and each action with its generation bump, the automatic
 * pause (and not below min_reports), the timed advance and the health
 * figures.  rollout_service_advance_due takes the time as an argument,
 * so the tests plant stage_started_at with plain SQL and move the clock
 * themselves.  Two nodes are two stores and services on one database,
 * racing for the same decisions.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"
#include "rollout.h"
#include "rollout_service.h"
#include "store.h"
#include "store_rollouts.h"
#include "testutil.h"

/* 2026-01-01T00:00:00Z */
#define T0 1767225600LL
#define T0_TEXT "2026-01-01T00:00:00Z"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
/* The service under test, and another for the test's own moves (so the
 * generation of the first counts only what the test exercises). */
static struct rollout_service *svc, *ops;
static int64_t image_id;

static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

static void
setup(void)
{
	testutil_tmpdir_new("check_rollout_service", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 4, &st), 0);
	svc = rollout_service_new(st);
	ops = rollout_service_new(st);
	ck_assert_ptr_nonnull(svc);
	ck_assert_ptr_nonnull(ops);
	image_id =
	    testutil_image_insert(st, "fw", "2.0.0", 100, 0xcd, "t", NULL);
	raw_exec("INSERT INTO device_groups (name, created_at)"
	         " VALUES ('beta', '" T0_TEXT "')");
}

static void
teardown(void)
{
	rollout_service_free(svc);
	rollout_service_free(ops);
	svc = ops = NULL;
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Applies a to id through the test's own service; it must succeed. */
static void
act(int64_t id, enum rollout_action a)
{
	struct store_rollout *r = malloc(sizeof(*r));

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(
	    rollout_service_act(ops, id, a, -1, "ops", NULL, r), 0);
	free(r);
}

/* A rollout with the default stages and advance_after, started, its
 * stage_started_at planted at T0; state is RUNNING or PAUSED. */
static int64_t
running(int64_t advance_after, enum rollout_state state)
{
	static const char *const groups[] = {"beta"};
	static const unsigned char salt[ROLLOUT_SALT_BYTES];
	struct store_rollout_new r = {0};
	char sql[160];
	int64_t id = 0;

	testutil_rollout_req(&r, image_id, groups, 1);
	r.salt = salt;
	r.advance_after_sec = advance_after;
	ck_assert_int_eq(rollout_service_create(ops, &r, &id, NULL), 0);
	if (state != ROLLOUT_DRAFT)
		act(id, ROLLOUT_START);
	if (state == ROLLOUT_PAUSED)
		act(id, ROLLOUT_PAUSE);
	snprintf(sql, sizeof(sql),
	    "UPDATE rollouts SET stage_started_at = '" T0_TEXT "'"
	    " WHERE id = %lld",
	    (long long)id);
	raw_exec(sql);
	return id;
}

static void
get(int64_t id, struct store_rollout *out)
{
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(store_rollout_get(c, id, out), 0);
	store_release(st, c);
}

START_TEST(test_tick_due)
{
	struct store_rollout_event *ev = NULL;
	struct store_rollout r;
	struct store_conn *c;
	size_t n = 0;
	int64_t id = running(3600, ROLLOUT_RUNNING);

	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 3599, NULL), 0);
	get(id, &r);
	ck_assert_int_eq(r.stage_index, 0);
	ck_assert_uint_eq(rollout_service_generation(svc), 0);

	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 3600, NULL), 1);
	get(id, &r);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r.stage_index, 1);
	ck_assert_str_ne(r.stage_started_at, T0_TEXT);
	ck_assert_uint_eq(rollout_service_generation(svc), 1);

	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_events(c, id, 100, &ev, &n), 0);
	store_release(st, c);
	ck_assert_uint_eq(n, 3); /* create, start, advance */
	ck_assert_str_eq(ev[2].action, "advance");
	ck_assert_str_eq(ev[2].actor, "otad");
	ck_assert_str_eq(ev[2].reason, "advance_after: stage 0 ran 3600 s");
	ck_assert_int_eq(ev[2].stage_index, 1);
	free(ev);

	/* The new stage's clock started now: not due again at once. */
	ck_assert_int_eq(
	    rollout_service_advance_due(svc, (int64_t)time(NULL), NULL), 0);
	get(id, &r);
	ck_assert_int_eq(r.stage_index, 1);
}
END_TEST

static void draft_req(struct store_rollout_new *r, const char *const *groups);

/* A draft starts at its start_at, by the pass at or after it; a draft
 * scheduled later, one without start_at, and one started by hand (no
 * longer a draft) are left alone. */
START_TEST(test_start_due)
{
	static const char *const beta[] = {"beta"};
	struct store_rollout_event *ev = NULL;
	struct store_rollout_new q;
	struct store_rollout r;
	struct store_conn *c;
	int64_t due = 0, later = 0, none = 0, manual = 0;
	size_t n = 0;

	draft_req(&q, beta);
	q.start_at = T0_TEXT;
	ck_assert_int_eq(rollout_service_create(ops, &q, &due, NULL), 0);
	ck_assert_int_eq(rollout_service_create(ops, &q, &manual, NULL), 0);
	act(manual, ROLLOUT_START);
	act(manual, ROLLOUT_PAUSE);
	q.start_at = "2099-01-01T00:00:00Z";
	ck_assert_int_eq(rollout_service_create(ops, &q, &later, NULL), 0);
	q.start_at = NULL;
	ck_assert_int_eq(rollout_service_create(ops, &q, &none, NULL), 0);

	ck_assert_int_eq(rollout_service_start_due(svc, T0 - 1), 0);
	get(due, &r);
	ck_assert_int_eq(r.state, ROLLOUT_DRAFT);
	ck_assert_int_eq(rollout_service_start_due(svc, T0), 1);
	get(due, &r);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	ck_assert_str_eq(r.start_at, T0_TEXT);
	get(later, &r);
	ck_assert_int_eq(r.state, ROLLOUT_DRAFT);
	get(none, &r);
	ck_assert_int_eq(r.state, ROLLOUT_DRAFT);
	get(manual, &r);
	ck_assert_int_eq(r.state, ROLLOUT_PAUSED);
	ck_assert_int_eq(rollout_service_start_due(svc, T0 + 60), 0);

	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_events(c, due, 100, &ev, &n), 0);
	store_release(st, c);
	ck_assert_uint_eq(n, 2); /* create, start */
	ck_assert_str_eq(ev[1].action, "start");
	ck_assert_str_eq(ev[1].actor, "otad");
	ck_assert_str_eq(ev[1].reason, "start_at " T0_TEXT);
	free(ev);
}
END_TEST

/* A policy edit: refused while running, written with its event while
 * paused (the generation moves), nothing written when nothing changes,
 * a refused value changes nothing. */
START_TEST(test_patch)
{
	struct rollout_patch p;
	struct store_rollout r;
	char err[256];
	int64_t id = running(0, ROLLOUT_RUNNING);
	uint64_t gen;

	memset(&p, 0, sizeof(p));
	p.fields = ROLLOUT_PATCH_MIN_REPORTS;
	p.v.min_reports = 25;
	ck_assert_int_eq(
	    rollout_service_patch(svc, id, &p, "ops", &r, err, sizeof(err)),
	    OTA_ECONFLICT);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	act(id, ROLLOUT_PAUSE);
	gen = rollout_service_generation(svc);
	ck_assert_int_eq(
	    rollout_service_patch(svc, id, &p, "ops", &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.min_reports, 25);
	ck_assert_uint_eq(rollout_service_generation(svc), gen + 1);
	ck_assert_int_eq(
	    rollout_service_patch(svc, id, &p, "ops", &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(rollout_service_generation(svc), gen + 1);
	p.v.min_reports = 0;
	ck_assert_int_eq(
	    rollout_service_patch(svc, id, &p, "ops", &r, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "min_reports: must be 1..1000000");
	get(id, &r);
	ck_assert_uint_eq(r.min_reports, 25);
	ck_assert_int_eq(
	    rollout_service_patch(svc, 99999, &p, "ops", &r, err, sizeof(err)),
	    OTA_ENOTFOUND);
}
END_TEST

/* One stage per pass, and from the last stage to completed. */
START_TEST(test_tick_walks_to_completed)
{
	struct store_rollout r;
	char sql[160];
	int64_t id = running(60, ROLLOUT_RUNNING);

	snprintf(sql, sizeof(sql),
	    "UPDATE rollouts SET stage_started_at = '" T0_TEXT "'"
	    " WHERE id = %lld",
	    (long long)id);
	for (int i = 1; i <= 4; i++) {
		raw_exec(sql);
		ck_assert_int_eq(
		    rollout_service_advance_due(svc, T0 + 600, NULL), 1);
		get(id, &r);
		if (i < 4) {
			ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
			ck_assert_int_eq(r.stage_index, i);
		}
	}
	ck_assert_int_eq(r.state, ROLLOUT_COMPLETED);
	ck_assert_int_eq(r.stage_index, 3);
	ck_assert_uint_eq(rollout_service_generation(svc), 4);
	ck_assert_int_eq(
	    rollout_service_advance_due(svc, T0 + 999999, NULL), 0);
}
END_TEST

/* Paused, draft and manual (advance_after 0) rollouts never move. */
START_TEST(test_tick_leaves_others)
{
	struct store_rollout r;
	int64_t paused = running(60, ROLLOUT_PAUSED);
	int64_t manual = running(0, ROLLOUT_RUNNING);
	int64_t draft = running(60, ROLLOUT_DRAFT);
	int64_t due = running(60, ROLLOUT_RUNNING);

	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 86400, NULL), 1);
	get(paused, &r);
	ck_assert_int_eq(r.state, ROLLOUT_PAUSED);
	ck_assert_int_eq(r.stage_index, 0);
	get(manual, &r);
	ck_assert_int_eq(r.stage_index, 0);
	get(draft, &r);
	ck_assert_int_eq(r.state, ROLLOUT_DRAFT);
	get(due, &r);
	ck_assert_int_eq(r.stage_index, 1);
}
END_TEST

/* Plants n device_updates rows of rollout id in status. */
static void
plant(int64_t id, const char *status, int n, int from)
{
	char sql[320];

	for (int i = from; i < from + n; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO devices (id, hardware, created_at)"
		    " VALUES ('dev%d', 'revA', 'x');"
		    "INSERT INTO device_updates (rollout_id, device_id, "
		    "version,"
		    " status, stage_index, result, updated_at)"
		    " VALUES (%lld, 'dev%d', '2.0.0', '%s', 0, %s, 'x')",
		    i, (long long)id, i, status,
		    strcmp(status, "failed") == 0 ? "8" : "NULL");
		raw_exec(sql);
	}
}

/* The health gate: a breached rollout (resumed by hand) does not move; a
 * healthy one, or one below min_reports, does. */
START_TEST(test_tick_health_gate)
{
	struct store_rollout r;
	int64_t breached = running(60, ROLLOUT_RUNNING);
	int64_t healthy = running(60, ROLLOUT_RUNNING);
	int64_t few = running(60, ROLLOUT_RUNNING);

	plant(breached, "completed", 9, 0); /* 1/10 = 10% >= 5% */
	plant(breached, "reverted", 1, 9);
	plant(healthy, "completed", 20, 10); /* 1/21 < 5% */
	plant(healthy, "failed", 1, 30);
	plant(few, "failed", 5, 40); /* 5 finished < min_reports 10 */
	plant(few, "offered", 50, 45);
	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 60, NULL), 2);
	get(breached, &r);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r.stage_index, 0);
	get(healthy, &r);
	ck_assert_int_eq(r.stage_index, 1);
	get(few, &r);
	ck_assert_int_eq(r.stage_index, 1);
	/* Once enough succeed, the breached one moves too. */
	plant(breached, "completed", 11, 100); /* 1/21 */
	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 60, NULL), 1);
	get(breached, &r);
	ck_assert_int_eq(r.stage_index, 1);
}
END_TEST

/* Makes rollout id judged by the wilson gate at 40%, min_reports 5,
 * confidence 0.95 (docs/rollouts.md). */
static void
wilson(int64_t id)
{
	char sql[200];

	snprintf(sql, sizeof(sql),
	    "UPDATE rollouts SET gate = 'wilson', gate_confidence = 0.95,"
	    " failure_threshold = 0.4, min_reports = 5 WHERE id = %lld",
	    (long long)id);
	raw_exec(sql);
}

/* The wilson gate: 2 failures in 5 (the simple gate's breach at 40%)
 * neither pause nor advance; 2 in 27 is below 40% with confidence and
 * advances; 5 failures in 5 pause, with the gate in the reason. */
START_TEST(test_wilson_gate)
{
	struct store_rollout r;
	int64_t lucky = running(60, ROLLOUT_RUNNING);
	int64_t bad = running(60, ROLLOUT_RUNNING);

	wilson(lucky);
	wilson(bad);
	plant(lucky, "failed", 2, 0);
	plant(lucky, "completed", 3, 2);
	plant(bad, "failed", 4, 100);
	ck_assert_int_eq(rollout_service_check_rollouts(svc, NULL, 0), 0);
	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 60, NULL), 0);
	plant(lucky, "completed", 21, 5); /* 2 in 26: not yet */
	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 60, NULL), 0);
	plant(lucky, "completed", 1, 26); /* 2 in 27 */
	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 60, NULL), 1);
	get(lucky, &r);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r.stage_index, 1);
	plant(bad, "failed", 1, 104);
	ck_assert_int_eq(rollout_service_check_health(svc, bad, NULL), 1);
	get(bad, &r);
	ck_assert_int_eq(r.state, ROLLOUT_PAUSED);
	ck_assert_str_eq(r.reason,
	    "failure rate 5/5 (100.0%) is above the threshold 40.0% with "
	    "95.0% confidence (gate wilson, min_reports 5)");
}
END_TEST

/* Runs pass(arg) with stderr (the log) sent to a file; returns how many
 * lines of it contain needle. */
static int
log_lines(void (*pass)(void *), void *arg, const char *needle)
{
	char path[PATH_MAX + 16], line[2048];
	FILE *f;
	int fd, saved, n = 0;

	snprintf(path, sizeof(path), "%s/log.txt", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
	pass(arg);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Three passes at the due time with the holds of pass to pass. */
static void
three_passes(void *holds)
{
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(
		    rollout_service_advance_due(svc, T0 + 60, holds), 0);
}

#define HELD "automatic advance held: failure threshold reached"

/* A breached rollout left running is held at every pass, but logged once
 * per hold: again only after it stopped being held (here paused and
 * resumed while still breached). */
START_TEST(test_tick_hold_logged_once)
{
	struct rollout_service_holds holds = {0};
	int64_t id = running(60, ROLLOUT_RUNNING);

	plant(id, "failed", 10, 0);
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 1);
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 0);
	act(id, ROLLOUT_PAUSE);
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 0);
	ck_assert_uint_eq(holds.n, 0);
	act(id, ROLLOUT_RESUME);
	raw_exec("UPDATE rollouts SET stage_started_at = '" T0_TEXT "'");
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 1);
	/* Without memory, every pass says it. */
	ck_assert_int_eq(log_lines(three_passes, NULL, HELD), 3);
	rollout_service_holds_clear(&holds);
	rollout_service_holds_clear(NULL);
}
END_TEST

/* More running rollouts than one page of the pass's query. */
START_TEST(test_tick_pages)
{
	struct store_rollout r;
	int64_t first = 0, last = 0;

	for (int i = 0; i < 105; i++) {
		last = running(60, ROLLOUT_RUNNING);
		if (first == 0)
			first = last;
	}
	ck_assert_int_eq(rollout_service_advance_due(svc, T0 + 60, NULL), 105);
	get(first, &r);
	ck_assert_int_eq(r.stage_index, 1);
	get(last, &r);
	ck_assert_int_eq(r.stage_index, 1);
}
END_TEST

/* ---- new, free, create ---- */

START_TEST(test_new_free)
{
	struct rollout_service *s = rollout_service_new(st);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(rollout_service_generation(s), 0);
	ck_assert_uint_eq(rollout_service_auto_pauses(s), 0);
	ck_assert_ptr_eq(rollout_service_generation_counter(s),
	    rollout_service_generation_counter(s));
	rollout_service_set_moved_hook(s, NULL, NULL);
	rollout_service_set_moved_hook(NULL, NULL, NULL);
	rollout_service_free(s);
	rollout_service_free(NULL);
}
END_TEST

/* The request of a draft with the default stages on group beta. */
static void
draft_req(struct store_rollout_new *r, const char *const *groups)
{
	testutil_rollout_req(r, image_id, groups, 1);
	r->name = "n";
}

/* One of two release engineers advancing the same rollout at once: each
 * round, both ask to advance out of the stage they both saw. */
struct advancer {
	pthread_t thread;
	pthread_barrier_t *start;
	int64_t id;
	int rounds;
	int won, refused, failed;
};

static void *
advancer_main(void *arg)
{
	struct advancer *a = arg;
	struct store_rollout *r = malloc(sizeof(*r));

	for (int i = 0; i < a->rounds && r != NULL; i++) {
		int rc;

		pthread_barrier_wait(a->start);
		rc = rollout_service_act(
		    svc, a->id, ROLLOUT_ADVANCE, i, "ops", NULL, r);
		a->won += rc == 0;
		a->refused += rc == OTA_ECONFLICT;
		a->failed += rc != 0 && rc != OTA_ECONFLICT;
	}
	free(r);
	return NULL;
}

/* Two actions on one rollout at once, each a read-modify-write on its own
 * connection: every round exactly one advance wins and the other is
 * refused as stale, with one audit row per advance. */
START_TEST(test_act_concurrent)
{
	static const uint16_t stages[] = {
	    100, 500, 1000, 2500, 5000, 7500, 9000, 10000};
	static const char *const beta[] = {"beta"};
	struct advancer a[2];
	struct store_rollout_new q;
	pthread_barrier_t start;
	char sql[128];
	int64_t id = 0;

	draft_req(&q, beta);
	q.stages_bp = stages;
	q.stage_count = 8;
	ck_assert_int_eq(rollout_service_create(ops, &q, &id, NULL), 0);
	act(id, ROLLOUT_START);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
	for (int i = 0; i < 2; i++) {
		a[i] =
		    (struct advancer){.start = &start, .id = id, .rounds = 6};
		ck_assert_int_eq(
		    pthread_create(&a[i].thread, NULL, advancer_main, &a[i]),
		    0);
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(a[i].thread, NULL), 0);
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(a[0].failed + a[1].failed, 0);
	ck_assert_int_eq(a[0].won + a[1].won, 6);
	ck_assert_int_eq(a[0].refused + a[1].refused, 6);
	snprintf(sql, sizeof(sql),
	    "SELECT stage_index FROM rollouts WHERE id = %lld", (long long)id);
	ck_assert_int_eq(testutil_sql_query(dbpath, sql, NULL, 0), 6);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM rollout_events WHERE rollout_id = %lld"
	    " AND action = 'advance'",
	    (long long)id);
	ck_assert_int_eq(testutil_sql_query(dbpath, sql, NULL, 0), 6);
}
END_TEST

START_TEST(test_create)
{
	static const char *const beta[] = {"beta"}, *const nope[] = {"nope"};
	static const unsigned char zero[ROLLOUT_SALT_BYTES];
	struct store_rollout_new q;
	struct store_rollout r, r2;
	char missing[STORE_GROUP_NAME_MAX + 1];
	int64_t id = 0, id2 = 0;

	draft_req(&q, beta);
	q.salt = zero; /* ignored: the service draws the salt */
	ck_assert_int_eq(rollout_service_create(svc, &q, &id, missing), 0);
	ck_assert_uint_eq(rollout_service_generation(svc), 1);
	get(id, &r);
	ck_assert_int_eq(r.state, ROLLOUT_DRAFT);
	ck_assert_str_eq(r.created_by, "ci");
	ck_assert_int_eq(r.group_count, 1);
	ck_assert_int_ne(memcmp(r.salt, zero, sizeof(zero)), 0);
	ck_assert_int_eq(rollout_service_create(svc, &q, &id2, NULL), 0);
	get(id2, &r2);
	ck_assert_int_ne(memcmp(r.salt, r2.salt, sizeof(r.salt)), 0);
	ck_assert_uint_eq(rollout_service_generation(svc), 2);

	/* Refused: nothing committed, the generation stays. */
	q.image_id = 9999;
	ck_assert_int_eq(
	    rollout_service_create(svc, &q, &id, missing), OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "");
	draft_req(&q, nope);
	ck_assert_int_eq(
	    rollout_service_create(svc, &q, &id, missing), OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "nope");
	ck_assert_uint_eq(rollout_service_generation(svc), 2);
}
END_TEST

/* ---- the actions ---- */

/* What the moved hook was told, in order. */
struct moves {
	int n;
	int64_t id[8];
	uint16_t from[8], to[8];
};

static void
record_move(void *arg, int64_t id, uint16_t from_bp, uint16_t to_bp)
{
	struct moves *m = arg;

	ck_assert_int_lt(m->n, 8);
	m->id[m->n] = id;
	m->from[m->n] = from_bp;
	m->to[m->n] = to_bp;
	m->n++;
}

/* Each action's transition, its generation bump and its audit event;
 * a refused one leaves the generation and says the state refusing it. */
START_TEST(test_act_each)
{
	static const uint16_t two[] = {5000, 10000};
	static const char *const beta[] = {"beta"};
	struct store_rollout_new q;
	struct store_rollout_event *ev = NULL;
	struct store_rollout *r = malloc(sizeof(*r));
	struct store_conn *c;
	struct moves m = {0};
	size_t n = 0;
	int64_t id = 0;

	ck_assert_ptr_nonnull(r);
	rollout_service_set_moved_hook(svc, record_move, &m);
	draft_req(&q, beta);
	q.stages_bp = two;
	q.stage_count = 2;
	ck_assert_int_eq(rollout_service_create(ops, &q, &id, NULL), 0);

	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_START, -1, "ops", NULL, r), 0);
	ck_assert_int_eq(r->state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r->stage_index, 0);
	ck_assert_str_ne(r->started_at, "");
	ck_assert_uint_eq(rollout_service_generation(svc), 1);

	ck_assert_int_eq(rollout_service_act(svc, id, ROLLOUT_PAUSE, -1, "ops",
	                     "crash reports", r),
	    0);
	ck_assert_int_eq(r->state, ROLLOUT_PAUSED);
	ck_assert_str_eq(r->reason, "crash reports");
	ck_assert_uint_eq(rollout_service_generation(svc), 2);

	/* Refused: the state that refused it comes back. */
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_PAUSE, -1, "ops", NULL, r),
	    OTA_ECONFLICT);
	ck_assert_int_eq(r->id, id);
	ck_assert_int_eq(r->state, ROLLOUT_PAUSED);
	ck_assert_uint_eq(rollout_service_generation(svc), 2);

	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_RESUME, -1, "ops", NULL, r),
	    0);
	ck_assert_int_eq(r->state, ROLLOUT_RUNNING);
	ck_assert_str_eq(r->reason, "");
	ck_assert_uint_eq(rollout_service_generation(svc), 3);

	/* The stage guard: another stage than expected is refused. */
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_ADVANCE, 1, "ops", NULL, r),
	    OTA_ECONFLICT);
	ck_assert_int_eq(r->stage_index, 0);
	ck_assert_uint_eq(rollout_service_generation(svc), 3);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_ADVANCE, 0, "ops", NULL, r),
	    0);
	ck_assert_int_eq(r->state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r->stage_index, 1);
	ck_assert_uint_eq(rollout_service_generation(svc), 4);

	ck_assert_int_eq(rollout_service_act(
	                     svc, id, ROLLOUT_ABORT, -1, "ops", "bad batch", r),
	    0);
	ck_assert_int_eq(r->state, ROLLOUT_ABORTED);
	ck_assert_str_ne(r->finished_at, "");
	ck_assert_uint_eq(rollout_service_generation(svc), 5);

	c = store_acquire(st);
	ck_assert_int_eq(store_rollout_events(c, id, 100, &ev, &n), 0);
	store_release(st, c);
	ck_assert_uint_eq(n, 6); /* create, start, pause, resume, advance,
	                          * abort */
	ck_assert_str_eq(ev[5].action, "abort");
	ck_assert_str_eq(ev[5].reason, "bad batch");
	free(ev);
	/* Told of the start and the advance only. */
	ck_assert_int_eq(m.n, 2);
	ck_assert_int_eq(m.id[0], id);
	ck_assert_uint_eq(m.from[0], 0);
	ck_assert_uint_eq(m.to[0], 5000);
	ck_assert_uint_eq(m.from[1], 5000);
	ck_assert_uint_eq(m.to[1], 10000);

	/* Unknown rollout, bad actor. */
	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(
	    rollout_service_act(svc, 9999, ROLLOUT_START, -1, "ops", NULL, r),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_START, -1, "", NULL, r),
	    OTA_EINVAL);
	ck_assert_uint_eq(rollout_service_generation(svc), 5);
	free(r);
}
END_TEST

/* Advance from the last stage completes it. */
START_TEST(test_act_completes)
{
	struct store_rollout *r = malloc(sizeof(*r));
	struct moves m = {0};
	int64_t id = running(0, ROLLOUT_RUNNING);

	ck_assert_ptr_nonnull(r);
	rollout_service_set_moved_hook(svc, record_move, &m);
	for (int i = 1; i <= 4; i++) {
		ck_assert_int_eq(rollout_service_act(svc, id, ROLLOUT_ADVANCE,
		                     -1, "ops", NULL, r),
		    0);
		ck_assert_int_eq(
		    r->state, i < 4 ? ROLLOUT_RUNNING : ROLLOUT_COMPLETED);
	}
	ck_assert_int_eq(r->stage_index, 3);
	ck_assert_uint_eq(rollout_service_generation(svc), 4);
	/* 1 -> 5 -> 25 -> 100 told; completing moves no stage. */
	ck_assert_int_eq(m.n, 3);
	ck_assert_uint_eq(m.from[2], 2500);
	ck_assert_uint_eq(m.to[2], 10000);
	ck_assert_int_eq(
	    rollout_service_act(svc, id, ROLLOUT_ABORT, -1, "ops", NULL, r),
	    OTA_ECONFLICT);
	ck_assert_int_eq(r->state, ROLLOUT_COMPLETED);
	free(r);
}
END_TEST

/* ---- the automatic pause ---- */

START_TEST(test_check_health)
{
	struct store_rollout r;
	uint64_t finished = 0;
	int64_t bad = running(0, ROLLOUT_RUNNING);
	int64_t few = running(0, ROLLOUT_RUNNING);
	int64_t ok = running(0, ROLLOUT_RUNNING);

	plant(bad, "completed", 9, 0); /* 1/10 = 10% >= 5% */
	plant(bad, "failed", 1, 9);
	plant(few, "failed", 9, 20);    /* 9 finished < min_reports 10 */
	plant(ok, "completed", 20, 40); /* 1/21 < 5% */
	plant(ok, "reverted", 1, 60);

	ck_assert_int_eq(rollout_service_check_health(svc, few, &finished), 0);
	ck_assert_uint_eq(finished, 9);
	ck_assert_int_eq(rollout_service_check_health(svc, ok, NULL), 0);
	ck_assert_uint_eq(rollout_service_generation(svc), 0);
	ck_assert_uint_eq(rollout_service_auto_pauses(svc), 0);

	ck_assert_int_eq(rollout_service_check_health(svc, bad, &finished), 1);
	ck_assert_uint_eq(finished, 10);
	get(bad, &r);
	ck_assert_int_eq(r.state, ROLLOUT_PAUSED);
	ck_assert_str_eq(r.reason, "failure rate 1/10 (10.0%) reached the "
	                           "threshold 5.0% (min_reports 10)");
	ck_assert_uint_eq(rollout_service_generation(svc), 1);
	ck_assert_uint_eq(rollout_service_auto_pauses(svc), 1);
	/* Paused already: nothing again; unknown: nothing. */
	ck_assert_int_eq(rollout_service_check_health(svc, bad, NULL), 0);
	ck_assert_int_eq(rollout_service_check_health(svc, 9999, NULL), 0);
	get(few, &r);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);

	/* The tenth report of few breaches it: every running rollout is
	 * checked (ids NULL), a list of ids only those. */
	plant(few, "completed", 1, 30);
	raw_exec("UPDATE rollouts SET state = 'running'");
	{
		int64_t ids[] = {ok, 4242};

		ck_assert_int_eq(
		    rollout_service_check_rollouts(svc, ids, 2), 0);
	}
	ck_assert_int_eq(rollout_service_check_rollouts(svc, NULL, 0), 2);
	ck_assert_uint_eq(rollout_service_auto_pauses(svc), 3);
	ck_assert_uint_eq(rollout_service_generation(svc), 3);
	get(few, &r);
	ck_assert_int_eq(r.state, ROLLOUT_PAUSED);
	ck_assert_int_eq(
	    rollout_service_check_rollouts(NULL, NULL, 0), OTA_EINVAL);
	ck_assert_int_eq(
	    rollout_service_check_health(NULL, bad, NULL), OTA_EINVAL);
	/* The callback form: n == 0 with ids is nothing to do. */
	raw_exec("UPDATE rollouts SET state = 'running'");
	rollout_service_touched(svc, (const int64_t[]){bad}, 0);
	ck_assert_uint_eq(rollout_service_auto_pauses(svc), 3);
	rollout_service_touched(svc, NULL, 0);
	ck_assert_uint_eq(rollout_service_auto_pauses(svc), 5);
}
END_TEST

/* ---- the health answer ---- */

START_TEST(test_health)
{
	struct rollout_service_health *h = malloc(sizeof(*h));
	uint64_t sum = 0;
	char sql[200];
	int64_t id = running(0, ROLLOUT_RUNNING);

	ck_assert_ptr_nonnull(h);
	/* 40 members of beta: 30 revA (the image fits), 10 revB (not). */
	for (int i = 0; i < 40; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO devices (id, hardware, created_at)"
		    " VALUES ('m%d', '%s', 'x');"
		    "INSERT INTO group_members (group_id, device_id)"
		    " SELECT id, 'm%d' FROM device_groups WHERE name = 'beta'",
		    i, i < 30 ? "revA" : "revB", i);
		raw_exec(sql);
	}
	plant(id, "completed", 8, 100);
	plant(id, "failed", 2, 108);
	ck_assert_int_eq(rollout_service_health(svc, id, h), 0);
	ck_assert_int_eq(h->r.id, id);
	ck_assert_uint_eq(h->targeted, 30);
	for (int i = 0; i < h->r.stage_count; i++)
		sum += h->entered[i];
	ck_assert_uint_eq(sum, 30);
	ck_assert_uint_eq(h->counts.total.completed, 8);
	ck_assert_uint_eq(h->counts.total.failed, 2);
	ck_assert_str_ne(h->stage_started[0], "");
	ck_assert_str_eq(h->stage_started[1], "");
	ck_assert_int_ne(h->breached, 0); /* 2/10 >= 5% */
	ck_assert_uint_eq(rollout_service_generation(svc), 0);

	ck_assert_int_eq(rollout_service_health(svc, 9999, h), OTA_ENOTFOUND);
	free(h);
}
END_TEST

/* ---- two nodes on one database ---- */

#define NODES_ROLLOUTS 12

/* A second "node": its own store (pool) and service on the same
 * database, racing svc for the same decisions. */
struct node_run {
	struct rollout_service *svc;
	pthread_barrier_t *start;
	int pause; /* 1: the automatic pause; 0: the timed advance */
	int rc;
};

static void *
node_main(void *arg)
{
	struct node_run *n = arg;

	pthread_barrier_wait(n->start);
	n->rc = n->pause ? rollout_service_check_rollouts(n->svc, NULL, 0)
	                 : rollout_service_advance_due(n->svc, T0 + 7200, NULL);
	return NULL;
}

/* Runs svc and a second node's service at once, pause or advance; the
 * sum of what they report done. */
static int
race(int pause)
{
	struct store *st2 = NULL;
	struct node_run runs[2];
	pthread_barrier_t start;
	pthread_t th[2];

	ck_assert_int_eq(store_open(testutil_db(dbpath), 4, &st2), 0);
	pthread_barrier_init(&start, NULL, 2);
	runs[0] = (struct node_run){svc, &start, pause, 0};
	runs[1] = (struct node_run){rollout_service_new(st2), &start, pause, 0};
	ck_assert_ptr_nonnull(runs[1].svc);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, node_main, &runs[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	rollout_service_free(runs[1].svc);
	store_close(st2);
	ck_assert_int_ge(runs[0].rc, 0);
	ck_assert_int_ge(runs[1].rc, 0);
	return runs[0].rc + runs[1].rc;
}

/* Each due stage advances once, whichever node's timer sees it: one
 * "advance" event per rollout, however the two passes interleave. */
START_TEST(test_nodes_advance_once)
{
	struct store_rollout r;
	int64_t ids[NODES_ROLLOUTS];

	for (int i = 0; i < NODES_ROLLOUTS; i++)
		ids[i] = running(3600, ROLLOUT_RUNNING);
	ck_assert_int_eq(race(0), NODES_ROLLOUTS);
	ck_assert_int_eq(testutil_sql_query(dbpath,
	                     "SELECT count(*) FROM rollout_events"
	                     " WHERE action = 'advance'",
	                     NULL, 0),
	    NODES_ROLLOUTS);
	for (int i = 0; i < NODES_ROLLOUTS; i++) {
		get(ids[i], &r);
		ck_assert_int_eq(r.stage_index, 1);
	}
	/* The new stages began now: not due at T0 + 7200 again. */
	ck_assert_int_eq(race(0), 0);
}
END_TEST

/* A breach is paused once, whichever node's writer sees it: one "pause"
 * event per rollout, one automatic pause counted between the nodes. */
START_TEST(test_nodes_pause_once)
{
	int64_t id;

	for (int i = 0; i < NODES_ROLLOUTS; i++) {
		id = running(0, ROLLOUT_RUNNING);
		plant(id, "completed", 9, i * 10);
		plant(id, "failed", 1, i * 10 + 9);
	}
	ck_assert_int_eq(race(1), NODES_ROLLOUTS);
	ck_assert_int_eq(testutil_sql_query(dbpath,
	                     "SELECT count(*) FROM rollout_events"
	                     " WHERE action = 'pause' AND actor = 'otad'",
	                     NULL, 0),
	    NODES_ROLLOUTS);
	ck_assert_int_eq(testutil_sql_query(dbpath,
	                     "SELECT count(*) FROM rollouts"
	                     " WHERE state = 'paused'",
	                     NULL, 0),
	    NODES_ROLLOUTS);
	ck_assert_int_eq(race(1), 0);
}
END_TEST

static Suite *
rollout_service_suite(void)
{
	Suite *s = suite_create("rollout_service");
	TCase *tc = tcase_create("service");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_free);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_act_each);
	tcase_add_test(tc, test_act_concurrent);
	tcase_add_test(tc, test_act_completes);
	tcase_add_test(tc, test_check_health);
	tcase_add_test(tc, test_health);
	suite_add_tcase(s, tc);
	tc = tcase_create("advance_due");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tick_due);
	tcase_add_test(tc, test_tick_walks_to_completed);
	tcase_add_test(tc, test_tick_leaves_others);
	tcase_add_test(tc, test_tick_pages);
	tcase_add_test(tc, test_tick_health_gate);
	tcase_add_test(tc, test_wilson_gate);
	tcase_add_test(tc, test_tick_hold_logged_once);
	tcase_add_test(tc, test_start_due);
	tcase_add_test(tc, test_patch);
	suite_add_tcase(s, tc);
	tc = tcase_create("nodes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_nodes_advance_once);
	tcase_add_test(tc, test_nodes_pause_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(rollout_service_suite());
}
