/*
 * check_rollout_timer: the automatic advance on a real, migrated SQLite
 * file.  rollout_timer_tick takes the time as an argument, so the tests
 * plant stage_started_at with plain SQL and move the clock themselves;
 * the thread itself is checked for its first pass and a prompt stop.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "app.h"
#include "descriptor.h"
#include "errors.h"
#include "log.h"
#include "rollout.h"
#include "rollout_timer.h"
#include "store.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "testutil.h"

/* SHA-1 and MD5 of "abc": what an image row stores beside sha256. */
#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"

/* 2026-01-01T00:00:00Z */
#define T0 1767225600LL
#define T0_TEXT "2026-01-01T00:00:00Z"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct app app;
static int64_t image_id;

static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

static void
setup(void)
{
	struct ota_descriptor d;
	struct store_conn *c;
	unsigned char *bytes = NULL;
	char err[200];
	size_t len = 0;
	int existed;

	testutil_tmpdir_new("check_rollout_timer", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	memset(&app, 0, sizeof(app));
	ck_assert_int_eq(store_open(dbpath, 2, &app.store), 0);
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "fw");
	snprintf(d.version, sizeof(d.version), "2.0.0");
	snprintf(d.hardware[0], sizeof(d.hardware[0]), "revA");
	d.hardware_count = 1;
	d.size = 100;
	memset(d.sha256, 0xcd, sizeof(d.sha256));
	for (int i = 0; i < 32; i++)
		snprintf(d.sha256_hex + 2 * i, 3, "cd");
	ck_assert_msg(descriptor_build(&d, &bytes, &len, err, sizeof(err)) == 0,
	    "descriptor_build: %s", err);
	c = store_acquire(app.store);
	ck_assert_int_eq(store_image_insert(c, &d, bytes, len, "[]", ABC_SHA1,
	                     ABC_MD5, "t", &image_id, &existed),
	    0);
	store_release(app.store, c);
	free(bytes);
	raw_exec("INSERT INTO device_groups (name, created_at)"
	         " VALUES ('beta', '" T0_TEXT "')");
}

static void
teardown(void)
{
	store_close(app.store);
	app.store = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* A rollout with the default stages and advance_after, started, its
 * stage_started_at planted at T0; state is RUNNING or PAUSED. */
static int64_t
running(int64_t advance_after, enum rollout_state state)
{
	static const char *const groups[] = {"beta"};
	static const unsigned char salt[ROLLOUT_SALT_BYTES];
	struct store_rollout_new r = {0};
	struct store_conn *c;
	char sql[160];
	int64_t id = 0;

	r.image_id = image_id;
	r.groups = groups;
	r.group_count = 1;
	r.stages_bp = rollout_default_stages_bp;
	r.stage_count = ROLLOUT_DEFAULT_STAGE_COUNT;
	r.salt = salt;
	r.failure_threshold = 0.05;
	r.min_reports = 10;
	r.advance_after_sec = advance_after;
	r.created_by = "ci";
	c = store_acquire(app.store);
	ck_assert_int_eq(store_rollout_create(c, &r, &id, NULL), 0);
	if (state != ROLLOUT_DRAFT)
		ck_assert_int_eq(store_rollout_apply(c, id, ROLLOUT_START, -1,
		                     "ops", NULL, NULL),
		    0);
	if (state == ROLLOUT_PAUSED)
		ck_assert_int_eq(store_rollout_apply(c, id, ROLLOUT_PAUSE, -1,
		                     "ops", NULL, NULL),
		    0);
	store_release(app.store, c);
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
	struct store_conn *c = store_acquire(app.store);

	ck_assert_int_eq(store_rollout_get(c, id, out), 0);
	store_release(app.store, c);
}

START_TEST(test_tick_due)
{
	struct store_rollout_event *ev = NULL;
	struct store_rollout r;
	struct store_conn *c;
	size_t n = 0;
	int64_t id = running(3600, ROLLOUT_RUNNING);

	ck_assert_int_eq(rollout_timer_tick(&app, T0 + 3599, NULL), 0);
	get(id, &r);
	ck_assert_int_eq(r.stage_index, 0);
	ck_assert_uint_eq(atomic_load(&app.rollouts_gen), 0);

	ck_assert_int_eq(rollout_timer_tick(&app, T0 + 3600, NULL), 1);
	get(id, &r);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r.stage_index, 1);
	ck_assert_str_ne(r.stage_started_at, T0_TEXT);
	ck_assert_uint_eq(atomic_load(&app.rollouts_gen), 1);

	c = store_acquire(app.store);
	ck_assert_int_eq(store_rollout_events(c, id, 100, &ev, &n), 0);
	store_release(app.store, c);
	ck_assert_uint_eq(n, 3); /* create, start, advance */
	ck_assert_str_eq(ev[2].action, "advance");
	ck_assert_str_eq(ev[2].actor, "otad");
	ck_assert_str_eq(ev[2].reason, "advance_after: stage 0 ran 3600 s");
	ck_assert_int_eq(ev[2].stage_index, 1);
	free(ev);

	/* The new stage's clock started now: not due again at once. */
	ck_assert_int_eq(
	    rollout_timer_tick(&app, (int64_t)time(NULL), NULL), 0);
	get(id, &r);
	ck_assert_int_eq(r.stage_index, 1);
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
		ck_assert_int_eq(rollout_timer_tick(&app, T0 + 600, NULL), 1);
		get(id, &r);
		if (i < 4) {
			ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
			ck_assert_int_eq(r.stage_index, i);
		}
	}
	ck_assert_int_eq(r.state, ROLLOUT_COMPLETED);
	ck_assert_int_eq(r.stage_index, 3);
	ck_assert_uint_eq(atomic_load(&app.rollouts_gen), 4);
	ck_assert_int_eq(rollout_timer_tick(&app, T0 + 999999, NULL), 0);
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

	ck_assert_int_eq(rollout_timer_tick(&app, T0 + 86400, NULL), 1);
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
	ck_assert_int_eq(rollout_timer_tick(&app, T0 + 60, NULL), 2);
	get(breached, &r);
	ck_assert_int_eq(r.state, ROLLOUT_RUNNING);
	ck_assert_int_eq(r.stage_index, 0);
	get(healthy, &r);
	ck_assert_int_eq(r.stage_index, 1);
	get(few, &r);
	ck_assert_int_eq(r.stage_index, 1);
	/* Once enough succeed, the breached one moves too. */
	plant(breached, "completed", 11, 100); /* 1/21 */
	ck_assert_int_eq(rollout_timer_tick(&app, T0 + 60, NULL), 1);
	get(breached, &r);
	ck_assert_int_eq(r.stage_index, 1);
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
		ck_assert_int_eq(rollout_timer_tick(&app, T0 + 60, holds), 0);
}

#define HELD "automatic advance held: failure threshold reached"

/* A breached rollout left running is held at every pass, but logged once
 * per hold: again only after it stopped being held (here paused and
 * resumed while still breached). */
START_TEST(test_tick_hold_logged_once)
{
	struct rollout_timer_holds holds = {0};
	struct store_conn *c;
	int64_t id = running(60, ROLLOUT_RUNNING);

	plant(id, "failed", 10, 0);
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 1);
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 0);
	c = store_acquire(app.store);
	ck_assert_int_eq(
	    store_rollout_apply(c, id, ROLLOUT_PAUSE, -1, "ops", NULL, NULL),
	    0);
	store_release(app.store, c);
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 0);
	ck_assert_uint_eq(holds.n, 0);
	c = store_acquire(app.store);
	ck_assert_int_eq(
	    store_rollout_apply(c, id, ROLLOUT_RESUME, -1, "ops", NULL, NULL),
	    0);
	store_release(app.store, c);
	raw_exec("UPDATE rollouts SET stage_started_at = '" T0_TEXT "'");
	ck_assert_int_eq(log_lines(three_passes, &holds, HELD), 1);
	/* Without memory, every pass says it. */
	ck_assert_int_eq(log_lines(three_passes, NULL, HELD), 3);
	rollout_timer_holds_clear(&holds);
	rollout_timer_holds_clear(NULL);
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
	ck_assert_int_eq(rollout_timer_tick(&app, T0 + 60, NULL), 105);
	get(first, &r);
	ck_assert_int_eq(r.stage_index, 1);
	get(last, &r);
	ck_assert_int_eq(r.stage_index, 1);
}
END_TEST

/* The thread runs a pass at start and stops at once when asked. */
START_TEST(test_thread_start_stop)
{
	struct rollout_timer *t;
	struct store_rollout r;
	struct timespec a, b;
	int64_t id = running(60, ROLLOUT_RUNNING);
	double stop_sec;

	t = rollout_timer_start(&app);
	ck_assert_ptr_nonnull(t);
	for (int i = 0; i < 100; i++) {
		get(id, &r);
		if (r.stage_index == 1)
			break;
		usleep(20 * 1000);
	}
	ck_assert_int_eq(r.stage_index, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	rollout_timer_stop(t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	stop_sec = (double)(b.tv_sec - a.tv_sec) +
	           (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ck_assert_msg(stop_sec < 1.0, "stop took %.3f s", stop_sec);
	rollout_timer_stop(NULL);
}
END_TEST

static Suite *
rollout_timer_suite(void)
{
	Suite *s = suite_create("rollout_timer");
	TCase *tc = tcase_create("tick");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tick_due);
	tcase_add_test(tc, test_tick_walks_to_completed);
	tcase_add_test(tc, test_tick_leaves_others);
	tcase_add_test(tc, test_tick_pages);
	tcase_add_test(tc, test_tick_health_gate);
	tcase_add_test(tc, test_tick_hold_logged_once);
	suite_add_tcase(s, tc);
	tc = tcase_create("thread");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_thread_start_stop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(rollout_timer_suite());
}
