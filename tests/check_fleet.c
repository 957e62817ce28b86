/*
 * check_fleet: fleet_summary's reuse while a scan runs, against a real
 * store of one pooled connection.  The test holds that connection to keep
 * a scan running (it waits in store_acquire) as long as it likes: a scan
 * held long enough counts as slow and its answer is kept.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "fleet.h"
#include "store.h"
#include "testutil.h"
#include "timeutil.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct fleet *fl;

static void
setup(void)
{
	testutil_tmpdir_new("check_fleet", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 1, &st), 0);
	testutil_sql_exec(dbpath,
	    "INSERT INTO devices (id, hardware, version, created_at) VALUES"
	    " ('d1', 'revA', '1.0.0', '2026-01-01T00:00:00Z'),"
	    " ('d2', 'revB', '1.0.0', '2026-01-01T00:00:00Z')");
	ck_assert_ptr_nonnull(fl = fleet_new(st));
}

static void
teardown(void)
{
	fleet_free(fl);
	fl = NULL;
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* One fleet_summary call on a thread of its own. */
struct call {
	pthread_t th;
	int stale_days;
	int rc;
	char *text;
	size_t len;
	int done; /* under mu */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *
call_run(void *arg)
{
	struct call *c = arg;
	int rc = fleet_summary(fl, c->stale_days, &c->text, &c->len);

	pthread_mutex_lock(&mu);
	c->rc = rc;
	c->done = 1;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void
call_start(struct call *c, int stale_days)
{
	memset(c, 0, sizeof(*c));
	c->stale_days = stale_days;
	ck_assert_int_eq(pthread_create(&c->th, NULL, call_run, c), 0);
}

/* 1 when c returned within ms. */
static int
call_done_within(struct call *c, int64_t ms)
{
	int64_t until = timeutil_mono_ms() + ms;
	int done;

	for (;;) {
		pthread_mutex_lock(&mu);
		done = c->done;
		pthread_mutex_unlock(&mu);
		if (done || timeutil_mono_ms() >= until)
			return done;
		sleep_ms(10);
	}
}

static void
call_join(struct call *c)
{
	pthread_join(c->th, NULL);
	ck_assert_int_eq(c->rc, 0);
}

START_TEST(test_kept_answer_while_scanning)
{
	struct store_conn *held;
	struct call a, b, c, d;
	int64_t t0, took;

	/* A scan held 300 ms: slow, its answer kept for 10 times that. */
	held = store_acquire(st);
	t0 = timeutil_mono_ms();
	call_start(&a, 7);
	sleep_ms(300);
	store_release(st, held);
	call_join(&a);
	took = timeutil_mono_ms() - t0;
	ck_assert_ptr_nonnull(strstr(a.text, "\"devices\":2"));
	/* Past its reuse time. */
	sleep_ms(took * FLEET_REUSE_FACTOR + took + 200);

	/* A scan runs (held); a caller for the same stale_days gets the
	 * expired answer at once, one for another stale_days waits. */
	held = store_acquire(st);
	call_start(&b, 7);
	sleep_ms(200);
	call_start(&c, 7);
	call_start(&d, 30);
	ck_assert_msg(call_done_within(&c, 2000),
	    "a caller with a kept answer waited for the running scan");
	ck_assert_int_eq(c.rc, 0);
	ck_assert_str_eq(c.text, a.text);
	ck_assert_msg(!call_done_within(&d, 300),
	    "a caller with nothing kept did not wait for the scan");
	store_release(st, held);
	call_join(&b);
	call_join(&c);
	call_join(&d);
	ck_assert_ptr_nonnull(strstr(d.text, "\"stale_days\":30"));
	free(a.text);
	free(b.text);
	free(c.text);
	free(d.text);
}
END_TEST

static Suite *
fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("reuse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kept_answer_while_scanning);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(fleet_suite());
}
