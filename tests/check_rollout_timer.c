/*
 * check_rollout_timer: the thread of the automatic advance on a real,
 * migrated SQLite file: its first pass and a prompt stop.  What a pass
 * does (rollout_service_advance_due) is check_rollout_service's.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"
#include "rollout.h"
#include "rollout_service.h"
#include "rollout_timer.h"
#include "store.h"
#include "store_rollouts.h"
#include "testutil.h"

/* 2026-01-01T00:00:00Z */
#define T0 1767225600LL
#define T0_TEXT "2026-01-01T00:00:00Z"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct rollout_service *svc;
static int64_t image_id;

static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

static void
setup(void)
{
	testutil_tmpdir_new("check_rollout_timer", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	svc = rollout_service_new(st);
	ck_assert_ptr_nonnull(svc);
	image_id =
	    testutil_image_insert(st, "fw", "2.0.0", 100, 0xcd, "t", NULL);
	raw_exec("INSERT INTO device_groups (name, created_at)"
	         " VALUES ('beta', '" T0_TEXT "')");
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

/* A rollout with the default stages and advance_after, started (unless
 * state is DRAFT), its stage_started_at planted at T0. */
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
	ck_assert_int_eq(rollout_service_create(svc, &r, &id, NULL), 0);
	if (state != ROLLOUT_DRAFT) {
		struct store_rollout *after = malloc(sizeof(*after));

		ck_assert_ptr_nonnull(after);
		ck_assert_int_eq(rollout_service_act(svc, id, ROLLOUT_START, -1,
		                     "ops", NULL, after),
		    0);
		free(after);
	}
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

/* The thread runs a pass at start and stops at once when asked. */
START_TEST(test_thread_start_stop)
{
	struct rollout_timer *t;
	struct store_rollout r;
	struct timespec a, b;
	int64_t id = running(60, ROLLOUT_RUNNING);
	double stop_sec;

	t = rollout_timer_start(svc);
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
	TCase *tc;

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
