/*
 * check_telemetry: telemetry.c, the writer, against a real, migrated
 * SQLite file: duplicates, rejections, enqueued batches, group commit
 * (the database write lock is held by a raw handle so that batches pile
 * up behind it), a failed transaction answered OTA_EDB to every batch of
 * its group, and the automatic pause with its audit reason.
 */
#include <check.h>
#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "db.h"
#include "errors.h"
#include "rollout_service.h"
#include "seen.h"
#include "store.h"
#include "telemetry.h"
#include "testutil.h"
#include "timeutil.h"

/* ---- NULL-safety ---- */

START_TEST(test_null)
{
	struct telemetry_stats st;

	memset(&st, 0xff, sizeof(st));
	telemetry_stats_get(NULL, &st);
	ck_assert_uint_eq(st.commits + st.duplicates + st.rejected, 0);
	telemetry_stop(NULL);
}
END_TEST

/* ---- the writer, on a real store ---- */

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct rollout_service *rollouts; /* the writer's collaborator */
static struct telemetry *tel;

static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

static long long
count(const char *sql)
{
	return testutil_sql_query(dbpath, sql, NULL, 0);
}

static void
setup(void)
{
	char sql[256];

	testutil_tmpdir_new("check_telemetry", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 4, &st), 0);
	rollouts = rollout_service_new(st);
	ck_assert_ptr_nonnull(rollouts);
	/* Devices d0..d19 (revA, in group 1); rollout 1 (2.0.0, 5%, min
	 * 10) running; rollout 2 (3.0.0) paused; both target group 1 with
	 * images for revA. */
	for (int i = 0; i < 20; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO devices (id, hardware, created_at)"
		    " VALUES ('d%d', 'revA', 'x')",
		    i);
		raw_exec(sql);
	}
	raw_exec("INSERT INTO images (id, name, version, sha256, size,"
	         " descriptor, signatures, created_at, created_by) VALUES"
	         " (1, 'fw', '2.0.0', printf('%064d', 1), 1, x'00', '[]',"
	         "  'x', 'ci'),"
	         " (2, 'fw', '3.0.0', printf('%064d', 2), 1, x'00', '[]',"
	         "  'x', 'ci');"
	         "INSERT INTO image_hardware (hardware, image_id) VALUES"
	         " ('revA', 1), ('revA', 2);"
	         "INSERT INTO device_groups (id, name, created_at)"
	         " VALUES (1, 'fleet', 'x');"
	         "INSERT INTO group_members (group_id, device_id)"
	         " SELECT 1, id FROM devices;"
	         "INSERT INTO rollouts (id, image_id, image_name,"
	         " image_version, state,"
	         " stage_index, stages_bp, salt, failure_threshold,"
	         " min_reports, created_at, created_by, updated_at) VALUES"
	         " (1, 1, 'fw', '2.0.0', 'running', 0, '[500,10000]',"
	         "  zeroblob(32), 0.05, 10, 'x', 'ci', 'x'),"
	         " (2, 2, 'fw', '3.0.0', 'paused', 0, '[500,10000]',"
	         "  zeroblob(32), 0.05, 1, 'x', 'ci', 'x');"
	         "INSERT INTO rollout_groups (rollout_id, group_id)"
	         " VALUES (1, 1), (2, 1)");
	tel = telemetry_start(st, NULL, rollouts, 2000);
	ck_assert_ptr_nonnull(tel);
}

static void
teardown(void)
{
	telemetry_stop(tel);
	tel = NULL;
	rollout_service_free(rollouts);
	store_close(st);
	testutil_tmpdir_remove(tmpdir);
}

static void
ev(struct telemetry_event *e, const char *event_id, int dev, int64_t rollout,
    enum update_state state)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->event_id, sizeof(e->event_id), "%s", event_id);
	snprintf(e->device_id, sizeof(e->device_id), "d%d", dev);
	e->rollout_id = rollout;
	snprintf(e->version, sizeof(e->version), "%s",
	    rollout == 2 ? "3.0.0" : "2.0.0");
	e->state = state;
	e->progress = -1;
	e->result = state == UPDATE_FAILED ? 5 : -1;
	snprintf(e->ts, sizeof(e->ts), "2026-01-01T00:00:00Z");
	e->ts_ms = 1767225600000LL;
}

START_TEST(test_submit)
{
	struct telemetry_event v[4];
	struct telemetry_result r[4];
	struct telemetry_stats s;

	ev(&v[0], "a", 0, 1, UPDATE_STARTED);
	ev(&v[1], "a", 0, 1, UPDATE_STARTED);
	ev(&v[2], "b", 0, 9, UPDATE_STARTED);
	ev(&v[3], "c", 0, 1, UPDATE_STARTED);
	snprintf(v[3].version, sizeof(v[3].version), "1.0.0");
	ck_assert_int_eq(telemetry_submit(tel, v, 4, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(r[0].outcome, TELEMETRY_ACCEPTED);
	ck_assert_int_eq(r[1].outcome, TELEMETRY_DUPLICATE);
	ck_assert_int_eq(r[2].outcome, TELEMETRY_REJECTED);
	ck_assert_int_eq(r[2].reject, TELEMETRY_REJECT_UNKNOWN_ROLLOUT);
	ck_assert_str_eq(r[2].detail, "unknown rollout 9");
	ck_assert_int_eq(r[3].outcome, TELEMETRY_REJECTED);
	ck_assert_int_eq(r[3].reject, TELEMETRY_REJECT_VERSION_MISMATCH);
	/* Durable when submit returns: another connection sees it. */
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 1);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " status = 'started'"),
	    1);
	/* Resent: a duplicate. */
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_MQTT, r), 0);
	ck_assert_int_eq(r[0].outcome, TELEMETRY_DUPLICATE);
	telemetry_stats_get(tel, &s);
	ck_assert_uint_eq(s.events[TELEMETRY_REST][UPDATE_STARTED], 1);
	ck_assert_uint_eq(s.events[TELEMETRY_MQTT][UPDATE_STARTED], 0);
	ck_assert_uint_eq(s.duplicates, 2);
	ck_assert_uint_eq(s.rejected, 2);
	ck_assert_uint_eq(s.commits, 2);
	ck_assert_uint_eq(s.write_errors, 0);
	/* Bad arguments. */
	ck_assert_int_eq(
	    telemetry_submit(tel, v, 0, TELEMETRY_REST, r), OTA_EINVAL);
	ck_assert_int_eq(telemetry_submit(tel, v, TELEMETRY_BATCH_MAX + 1,
	                     TELEMETRY_REST, r),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    telemetry_submit(tel, v, 1, (enum telemetry_transport)5, r),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    telemetry_enqueue(tel, v, 0, TELEMETRY_MQTT), OTA_EINVAL);
}
END_TEST

/* What the done hook was told: outcomes by event id, and each call's rc. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int events, calls, failed;
	char seen[8][80]; /* "<event id>=<outcome>" */
} done_rec = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, {{0}}};

static void
record_done(void *arg, const struct telemetry_done *d, size_t n, int rc)
{
	ck_assert_ptr_eq(arg, &done_rec);
	pthread_mutex_lock(&done_rec.mu);
	done_rec.calls++;
	if (rc != 0)
		done_rec.failed++;
	for (size_t b = 0; b < n; b++) {
		ck_assert_int_eq(d[b].transport, TELEMETRY_MQTT);
		for (size_t i = 0; i < d[b].n; i++, done_rec.events++)
			if (done_rec.events < 8)
				snprintf(done_rec.seen[done_rec.events],
				    sizeof(done_rec.seen[0]), "%s=%d",
				    d[b].ev[i].event_id,
				    rc == 0 ? (int)d[b].res[i].outcome : -1);
	}
	pthread_cond_broadcast(&done_rec.cv);
	pthread_mutex_unlock(&done_rec.mu);
}

/* Waits (5 s at most) until the done hook was told of n events. */
static int
wait_done(int n)
{
	int64_t end = timeutil_mono_ms() + 5000;

	pthread_mutex_lock(&done_rec.mu);
	while (done_rec.events < n && timeutil_mono_ms() < end) {
		pthread_mutex_unlock(&done_rec.mu);
		usleep(1000);
		pthread_mutex_lock(&done_rec.mu);
	}
	n = done_rec.events;
	pthread_mutex_unlock(&done_rec.mu);
	return n;
}

START_TEST(test_enqueue)
{
	struct telemetry_event v[3];
	struct telemetry_result r[1];
	struct telemetry_stats s;

	memset(&done_rec.seen, 0, sizeof(done_rec.seen));
	done_rec.events = done_rec.calls = done_rec.failed = 0;
	telemetry_set_done_hook(tel, record_done, &done_rec);

	ev(&v[0], "m1", 1, 1, UPDATE_STARTED);
	ev(&v[1], "m1", 1, 1, UPDATE_STARTED);
	ev(&v[2], "m2", 1, 1, UPDATE_PROGRESS);
	v[2].progress = 30;
	ck_assert_int_eq(telemetry_enqueue(tel, v, 3, TELEMETRY_MQTT), 0);
	ev(&v[0], "m3", 19, 77, UPDATE_STARTED); /* rejected, logged */
	ck_assert_int_eq(telemetry_enqueue(tel, v, 1, TELEMETRY_MQTT), 0);
	/* The queue is FIFO: once a later submit is durable, so is all
	 * that was enqueued before it. */
	ev(&v[0], "m4", 2, 1, UPDATE_COMPLETED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " transport = 'mqtt'"),
	    2);
	ck_assert_int_eq(count("SELECT progress FROM device_updates WHERE"
	                       " device_id = 'd1'"),
	    30);
	telemetry_stats_get(tel, &s);
	ck_assert_uint_eq(s.events[TELEMETRY_MQTT][UPDATE_STARTED], 1);
	ck_assert_uint_eq(s.events[TELEMETRY_MQTT][UPDATE_PROGRESS], 1);
	ck_assert_uint_eq(s.events[TELEMETRY_REST][UPDATE_COMPLETED], 1);
	ck_assert_uint_eq(s.duplicates, 1);
	ck_assert_uint_eq(s.rejected, 1);
	/* The done hook heard of every enqueued event (not the submitted
	 * one), in order, with its outcome, after the commit. */
	ck_assert_int_eq(wait_done(4), 4);
	ck_assert_str_eq(done_rec.seen[0], "m1=0"); /* accepted */
	ck_assert_str_eq(done_rec.seen[1], "m1=1"); /* duplicate */
	ck_assert_str_eq(done_rec.seen[2], "m2=0");
	ck_assert_str_eq(done_rec.seen[3], "m3=2"); /* rejected */
	ck_assert_int_eq(done_rec.failed, 0);
	telemetry_set_done_hook(tel, NULL, NULL);
	ev(&v[0], "m5", 1, 1, UPDATE_COMPLETED);
	ck_assert_int_eq(telemetry_enqueue(tel, v, 1, TELEMETRY_MQTT), 0);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(wait_done(4), 4); /* cleared: not called */
}
END_TEST

/* stop drains what was enqueued. */
START_TEST(test_stop_drains)
{
	struct telemetry_event *v = calloc(TELEMETRY_BATCH_MAX, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	for (int b = 0; b < 5; b++) {
		for (int i = 0; i < TELEMETRY_BATCH_MAX; i++) {
			char id[32];

			snprintf(id, sizeof(id), "s%d-%d", b, i);
			ev(&v[i], id, i % 20, 1, UPDATE_STARTED);
		}
		ck_assert_int_eq(telemetry_enqueue(tel, v, TELEMETRY_BATCH_MAX,
		                     TELEMETRY_MQTT),
		    0);
	}
	free(v);
	telemetry_stop(tel);
	tel = NULL;
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"),
	    5 * TELEMETRY_BATCH_MAX);
}
END_TEST

/* A raw connection holding the write lock. */
static struct db_conn *
lock_db(void)
{
	struct db_conn *db = NULL;

	ck_assert_int_eq(db_open(testutil_db(dbpath), NULL, &db), 0);
	ck_assert_int_eq(db_begin(db, DB_BEGIN_WRITE), 0);
	return db;
}

static void
unlock_db(struct db_conn *db)
{
	ck_assert_int_eq(db_commit(db), 0);
	db_close(db);
}

/* One thread's share of a concurrent test. */
struct job {
	pthread_t thread;
	int index;
	int batches;
	int per_batch;
	int rc;
	int accepted;
};

static void *
job_main(void *arg)
{
	struct job *j = arg;
	struct telemetry_event *v = calloc((size_t)j->per_batch, sizeof(*v));
	struct telemetry_result *r = calloc((size_t)j->per_batch, sizeof(*r));

	for (int b = 0; b < j->batches && v != NULL && r != NULL; b++) {
		for (int i = 0; i < j->per_batch; i++) {
			char id[48];

			snprintf(id, sizeof(id), "j%d-b%d-%d", j->index, b, i);
			ev(&v[i], id, (j->index + i) % 20, 1,
			    i % 2 ? UPDATE_PROGRESS : UPDATE_STARTED);
			if (i % 2)
				v[i].progress = i % 100;
		}
		j->rc = telemetry_submit(
		    tel, v, (size_t)j->per_batch, TELEMETRY_REST, r);
		if (j->rc != 0)
			break;
		for (int i = 0; i < j->per_batch; i++)
			j->accepted += r[i].outcome == TELEMETRY_ACCEPTED;
	}
	free(v);
	free(r);
	return NULL;
}

/* Waits (10 s at most) until the writer holds `writing` events in its
 * transaction and `queued` more wait behind it. */
static void
settle(uint64_t writing, uint64_t queued)
{
	struct telemetry_stats s;
	int i;

	for (i = 0; i < 1000; i++) {
		telemetry_stats_get(tel, &s);
		if (s.writing == writing && s.queued == queued)
			return;
		usleep(10 * 1000);
	}
	ck_abort_msg("writer never had %llu writing, %llu queued (%llu, "
	             "%llu)",
	    (unsigned long long)writing, (unsigned long long)queued,
	    (unsigned long long)s.writing, (unsigned long long)s.queued);
}

START_TEST(test_group_commit)
{
	struct job jobs[8], first;
	struct telemetry_stats s;
	struct db_conn *db;

	/* The writer takes the first batch and waits for the lock; the
	 * eight that arrive meanwhile are written in one transaction. */
	db = lock_db();
	memset(&first, 0, sizeof(first));
	first.index = 100;
	first.batches = 1;
	first.per_batch = 10;
	ck_assert_int_eq(
	    pthread_create(&first.thread, NULL, job_main, &first), 0);
	settle(10, 0);
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 8; i++) {
		jobs[i].index = i;
		jobs[i].batches = 1;
		jobs[i].per_batch = 100;
		ck_assert_int_eq(
		    pthread_create(&jobs[i].thread, NULL, job_main, &jobs[i]),
		    0);
	}
	settle(10, 800);
	unlock_db(db);
	pthread_join(first.thread, NULL);
	ck_assert_int_eq(first.rc, 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(jobs[i].thread, NULL);
		ck_assert_int_eq(jobs[i].rc, 0);
		ck_assert_int_eq(jobs[i].accepted, 100);
	}
	telemetry_stats_get(tel, &s);
	ck_assert_uint_eq(s.commits, 2);
	ck_assert_uint_eq(s.queued + s.writing, 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 810);

	/* Then free-running: 8 threads x 20 batches of 50, all stored. */
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 8; i++) {
		jobs[i].index = 10 + i;
		jobs[i].batches = 20;
		jobs[i].per_batch = 50;
		ck_assert_int_eq(
		    pthread_create(&jobs[i].thread, NULL, job_main, &jobs[i]),
		    0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(jobs[i].thread, NULL);
		ck_assert_int_eq(jobs[i].rc, 0);
		ck_assert_int_eq(jobs[i].accepted, 1000);
	}
	ck_assert_int_eq(
	    count("SELECT COUNT(*) FROM update_events"), 810 + 8000);
	telemetry_stats_get(tel, &s);
	ck_assert_uint_le(s.commits, 2 + 160);
	ck_assert_uint_eq(s.events[TELEMETRY_REST][UPDATE_STARTED] +
	                      s.events[TELEMETRY_REST][UPDATE_PROGRESS],
	    8810);
}
END_TEST

/* One event submitted from a thread of its own. */
struct one {
	pthread_t thread;
	struct telemetry_event e;
	struct telemetry_result r;
	int rc;
};

static void *
one_main(void *arg)
{
	struct one *o = arg;

	o->rc = telemetry_submit(tel, &o->e, 1, TELEMETRY_REST, &o->r);
	return NULL;
}

START_TEST(test_group_failure)
{
	struct one first, good, bad, after;
	struct telemetry_stats s;
	struct db_conn *db;

	/* An event the database refuses makes its whole group fail: every
	 * batch of it is answered OTA_EDB and nothing of it is stored. */
	if (testutil_db_is_postgres())
		raw_exec("CREATE FUNCTION poison() RETURNS trigger"
		         " LANGUAGE plpgsql AS $$ BEGIN"
		         " RAISE EXCEPTION 'poisoned'; END $$;"
		         " CREATE TRIGGER poison BEFORE INSERT ON update_events"
		         " FOR EACH ROW WHEN (NEW.event_id = 'poison')"
		         " EXECUTE FUNCTION poison()");
	else
		raw_exec("CREATE TRIGGER poison BEFORE INSERT ON update_events"
		         " WHEN NEW.event_id = 'poison'"
		         " BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
	db = lock_db();
	ev(&first.e, "first", 0, 1, UPDATE_STARTED);
	ck_assert_int_eq(
	    pthread_create(&first.thread, NULL, one_main, &first), 0);
	settle(1, 0);
	ev(&good.e, "good", 1, 1, UPDATE_STARTED);
	ev(&bad.e, "poison", 2, 1, UPDATE_STARTED);
	ck_assert_int_eq(
	    pthread_create(&good.thread, NULL, one_main, &good), 0);
	ck_assert_int_eq(pthread_create(&bad.thread, NULL, one_main, &bad), 0);
	settle(1, 2);
	unlock_db(db);
	pthread_join(first.thread, NULL);
	pthread_join(good.thread, NULL);
	pthread_join(bad.thread, NULL);
	ck_assert_int_eq(first.rc, 0);
	ck_assert_int_eq(good.rc, OTA_EDB);
	ck_assert_int_eq(bad.rc, OTA_EDB);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 1);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 1);
	telemetry_stats_get(tel, &s);
	ck_assert_uint_eq(s.write_errors, 1);
	ck_assert_uint_eq(s.commits, 1);
	/* The writer goes on: a retry of the good one is stored. */
	ev(&after.e, "good", 1, 1, UPDATE_STARTED);
	one_main(&after);
	ck_assert_int_eq(after.rc, 0);
	ck_assert_int_eq(after.r.outcome, TELEMETRY_ACCEPTED);
	telemetry_stats_get(tel, &s);
	ck_assert_uint_eq(s.lost, 0); /* submitters were answered */
	/* An enqueued event in a failed group has no one to answer: it is
	 * counted as lost.  The queue is FIFO: once a later submit is
	 * answered (in that group or the next), the count is there. */
	memset(&done_rec.seen, 0, sizeof(done_rec.seen));
	done_rec.events = done_rec.calls = done_rec.failed = 0;
	telemetry_set_done_hook(tel, record_done, &done_rec);
	ev(&after.e, "poison", 3, 1, UPDATE_STARTED);
	ck_assert_int_eq(
	    telemetry_enqueue(tel, &after.e, 1, TELEMETRY_MQTT), 0);
	ev(&after.e, "later", 4, 1, UPDATE_STARTED);
	one_main(&after);
	telemetry_stats_get(tel, &s);
	ck_assert_uint_eq(s.lost, 1);
	/* The done hook hears of the failure: nothing to acknowledge. */
	ck_assert_int_eq(wait_done(1), 1);
	ck_assert_int_eq(done_rec.failed, 1);
	ck_assert_str_eq(done_rec.seen[0], "poison=-1");
	telemetry_set_done_hook(tel, NULL, NULL);
}
END_TEST

/*
 * The writer's seen collaborator: a device whose update is recorded
 * completed is forgotten by seen, so its next poll is written (and
 * judged for a silent revert) even though it reports nothing new; other
 * states leave seen alone.
 */
START_TEST(test_seen_forget)
{
	const int64_t t0 = 1700000000;
	struct telemetry_event v[1];
	struct telemetry_result r[1];
	struct seen_stats ss;
	struct seen *sn = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);

	ck_assert_ptr_nonnull(sn);
	telemetry_stop(tel);
	tel = telemetry_start(st, sn, rollouts, 2000);
	ck_assert_ptr_nonnull(tel);
	seen_note(sn, "d0", NULL, "1.0.0", "revA", "1.0.0", t0);
	ck_assert_int_eq(seen_flush(sn), 0);
	seen_note(sn, "d0", NULL, "1.0.0", "revA", "1.0.0", t0 + 5);
	seen_get_stats(sn, &ss);
	ck_assert_uint_eq(ss.skipped, 1);
	ev(&v[0], "s0", 0, 1, UPDATE_STARTED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	seen_note(sn, "d0", NULL, "1.0.0", "revA", "1.0.0", t0 + 6);
	seen_get_stats(sn, &ss);
	ck_assert_uint_eq(ss.skipped, 2);
	ev(&v[0], "c0", 0, 1, UPDATE_COMPLETED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(r[0].outcome, TELEMETRY_ACCEPTED);
	seen_note(sn, "d0", NULL, "1.0.0", "revA", "1.0.0", t0 + 7);
	seen_get_stats(sn, &ss);
	ck_assert_uint_eq(ss.skipped, 2);
	ck_assert_uint_eq(ss.pending, 1);
	/* The writer first: it may still tell seen. */
	telemetry_stop(tel);
	tel = NULL;
	seen_stop(sn);
}
END_TEST

START_TEST(test_auto_pause)
{
	struct telemetry_event v[10];
	struct telemetry_result r[10];
	char id[16];
	uint64_t gen = rollout_service_generation(rollouts);

	/* 9 completed: finished 9 < min_reports 10, and no failure. */
	for (int i = 0; i < 9; i++) {
		snprintf(id, sizeof(id), "ok%d", i);
		ev(&v[i], id, i, 1, UPDATE_COMPLETED);
	}
	ck_assert_int_eq(telemetry_submit(tel, v, 9, TELEMETRY_REST, r), 0);
	/* One failure: 1/10 = 10% >= 5% with 10 finished.  The pause runs
	 * after the commit; the next submit's commit comes after it. */
	ev(&v[0], "bad", 9, 1, UPDATE_FAILED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ev(&v[0], "barrier", 10, 1, UPDATE_STARTED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(count("SELECT state = 'paused' FROM rollouts"
	                       " WHERE id = 1"),
	    1);
	ck_assert_int_eq(
	    count("SELECT COUNT(*) FROM rollout_events WHERE rollout_id = 1"
	          " AND action = 'pause' AND actor = 'otad' AND reason ="
	          " 'failure rate 1/10 (10.0%) reached the threshold 5.0%"
	          " (min_reports 10)'"),
	    1);
	ck_assert_int_eq(count("SELECT reason LIKE 'failure rate 1/10%'"
	                       " FROM rollouts WHERE id = 1"),
	    1);
	ck_assert_uint_eq(rollout_service_generation(rollouts), gen + 1);
	ck_assert_uint_eq(rollout_service_auto_pauses(rollouts), 1);
	/* More failures on the paused rollout pause nothing again; neither
	 * does a paused rollout that is breached (rollout 2). */
	ev(&v[0], "bad2", 11, 1, UPDATE_FAILED);
	ev(&v[1], "bad3", 11, 2, UPDATE_FAILED);
	ck_assert_int_eq(telemetry_submit(tel, v, 2, TELEMETRY_REST, r), 0);
	/* The writer's own check of that batch runs after its commit: let it
	 * finish (the next commit comes after it) before the state moves. */
	ev(&v[0], "barrier2", 12, 1, UPDATE_STARTED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(rollout_service_check_rollouts(rollouts, NULL, 0), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM rollout_events WHERE"
	                       " action = 'pause'"),
	    1);
	/* Resumed by hand while still breached: the next check pauses it. */
	raw_exec("UPDATE rollouts SET state = 'running' WHERE id IN (1, 2)");
	{
		int64_t ids[] = {1, 2, 42};

		ck_assert_int_eq(
		    rollout_service_check_rollouts(rollouts, ids, 3), 2);
	}
	ck_assert_int_eq(count("SELECT COUNT(*) FROM rollouts WHERE"
	                       " state = 'paused'"),
	    2);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM rollouts WHERE id = 2"
	                       " AND reason = 'failure rate 1/1 (100.0%)"
	                       " reached the threshold 5.0% (min_reports 1)'"),
	    1);
	ck_assert_uint_eq(rollout_service_auto_pauses(rollouts), 3);
}
END_TEST

/*
 * Events from devices the rollout does not target are refused as
 * not_targeted over every transport, stored nowhere, and never pause it:
 * ten devices outside its group reporting failed leave it running with
 * nothing counted.  Offered devices count whatever their group, group
 * members only with a hardware the image fits.
 */
START_TEST(test_not_targeted)
{
	struct telemetry_event v[10];
	struct telemetry_result r[10];
	struct telemetry_stats s;
	char id[16], sql[200];

	for (int i = 0; i < 10; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO devices (id, hardware, created_at)"
		    " VALUES ('x%d', 'revA', 'x')",
		    i);
		raw_exec(sql);
		snprintf(id, sizeof(id), "xf%d", i);
		ev(&v[i], id, 0, 1, UPDATE_FAILED);
		snprintf(v[i].device_id, sizeof(v[i].device_id), "x%d", i);
	}
	ck_assert_int_eq(telemetry_submit(tel, v, 10, TELEMETRY_REST, r), 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(r[i].outcome, TELEMETRY_REJECTED);
		ck_assert_int_eq(r[i].reject, TELEMETRY_REJECT_NOT_TARGETED);
	}
	ck_assert_str_eq(r[3].detail, "rollout 1 does not target device "
	                              "'x3': not in its groups, never "
	                              "offered it");
	/* Over MQTT and DDI alike; the FIFO queue makes the submit after
	 * them a barrier. */
	ck_assert_int_eq(telemetry_enqueue(tel, v, 5, TELEMETRY_MQTT), 0);
	ck_assert_int_eq(telemetry_submit(tel, v + 5, 5, TELEMETRY_DDI, r), 0);
	ck_assert_int_eq(r[0].reject, TELEMETRY_REJECT_NOT_TARGETED);
	ck_assert_int_eq(rollout_service_check_rollouts(rollouts, NULL, 0), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 0);
	ck_assert_int_eq(count("SELECT state = 'running' FROM rollouts"
	                       " WHERE id = 1"),
	    1);
	telemetry_stats_get(tel, &s);
	ck_assert_uint_eq(s.rejected, 20);
	ck_assert_uint_eq(
	    s.rejected_by[TELEMETRY_REST][TELEMETRY_REJECT_NOT_TARGETED], 10);
	ck_assert_uint_eq(
	    s.rejected_by[TELEMETRY_MQTT][TELEMETRY_REJECT_NOT_TARGETED], 5);
	ck_assert_uint_eq(
	    s.rejected_by[TELEMETRY_DDI][TELEMETRY_REJECT_NOT_TARGETED], 5);
	ck_assert_uint_eq(rollout_service_auto_pauses(rollouts), 0);

	/* Offered (a status recorded from a poll, or a DDI action): counts
	 * though outside the group. */
	raw_exec("INSERT INTO device_updates (rollout_id, device_id, version,"
	         " status, stage_index, updated_at)"
	         " VALUES (1, 'x0', '2.0.0', 'offered', 0, 'x');"
	         "INSERT INTO ddi_actions (rollout_id, device_id, status,"
	         " created_at, updated_at) VALUES (1, 'x1', 'open', 'x', 'x')");
	ck_assert_int_eq(telemetry_submit(tel, v, 3, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(r[0].outcome, TELEMETRY_ACCEPTED);
	ck_assert_int_eq(r[1].outcome, TELEMETRY_ACCEPTED);
	ck_assert_int_eq(r[2].outcome, TELEMETRY_REJECTED);
	/* In the group, but of a hardware the image does not fit. */
	raw_exec("INSERT INTO group_members VALUES (1, 'x2');"
	         "UPDATE devices SET hardware = 'bleA' WHERE id = 'x2'");
	ck_assert_int_eq(telemetry_submit(tel, v + 2, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(r[0].reject, TELEMETRY_REJECT_NOT_TARGETED);
	ck_assert_str_eq(r[0].detail, "rollout 1 does not target device "
	                              "'x2': its image does not fit "
	                              "hardware 'bleA'");
	raw_exec("UPDATE devices SET hardware = 'revA' WHERE id = 'x2'");
	ck_assert_int_eq(telemetry_submit(tel, v + 2, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(r[0].outcome, TELEMETRY_ACCEPTED);
	/* Once counted, a device stays counted when it leaves the group:
	 * its retry is a duplicate, its next event accepted. */
	raw_exec("DELETE FROM group_members WHERE device_id = 'x2'");
	ck_assert_int_eq(telemetry_submit(tel, v + 2, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(r[0].outcome, TELEMETRY_DUPLICATE);
	ev(&v[0], "x2-later", 0, 1, UPDATE_FAILED);
	snprintf(v[0].device_id, sizeof(v[0].device_id), "x2");
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(r[0].outcome, TELEMETRY_ACCEPTED);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 3);
}
END_TEST

START_TEST(test_healthy_not_paused)
{
	struct telemetry_event v[20];
	struct telemetry_result r[20];
	char id[16];

	/* 20 completed and 1 reverted: 1/21 (4.8%) stays under 5%. */
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "ok%d", i);
		ev(&v[i], id, i, 1, UPDATE_COMPLETED);
	}
	ck_assert_int_eq(telemetry_submit(tel, v, 20, TELEMETRY_REST, r), 0);
	raw_exec("INSERT INTO devices (id, hardware, created_at)"
	         " VALUES ('d20', 'revA', 'x');"
	         "INSERT INTO group_members VALUES (1, 'd20')");
	ev(&v[0], "rev", 20, 1, UPDATE_REVERTED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	ck_assert_int_eq(rollout_service_check_rollouts(rollouts, NULL, 0), 0);
	ck_assert_int_eq(count("SELECT state = 'running' FROM rollouts"
	                       " WHERE id = 1"),
	    1);
}
END_TEST

/* A large rollout, whose health check is expensive enough to be deferred
 * right after another: the deferred check still runs on its own and
 * pauses it, with no further event to trigger it. */
START_TEST(test_auto_pause_large)
{
	struct telemetry_event v[2];
	struct telemetry_result r[2];
	int i;

	raw_exec("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1"
	         " FROM n WHERE i < 49999)"
	         " INSERT INTO devices (id, hardware, created_at)"
	         " SELECT 'big' || i, 'revA', 'x' FROM n;"
	         "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1"
	         " FROM n WHERE i < 49999)"
	         " INSERT INTO device_updates (rollout_id, device_id, version,"
	         " status, stage_index, result, updated_at)"
	         " SELECT 1, 'big' || i, '2.0.0', CASE WHEN i < 2499 THEN"
	         " 'failed' ELSE 'completed' END, 0, CASE WHEN i < 2499 THEN"
	         " 8 END, 'x' FROM n");
	/* 2499/50001 < 5%: healthy after this one. */
	ev(&v[0], "ok", 0, 1, UPDATE_COMPLETED);
	ck_assert_int_eq(telemetry_submit(tel, v, 1, TELEMETRY_REST, r), 0);
	/* 2501/50003 >= 5%, checked at once or a moment later. */
	ev(&v[0], "bad1", 1, 1, UPDATE_FAILED);
	ev(&v[1], "bad2", 2, 1, UPDATE_FAILED);
	ck_assert_int_eq(telemetry_submit(tel, v, 2, TELEMETRY_REST, r), 0);
	for (i = 0; i < 250; i++) {
		if (count("SELECT state = 'paused' FROM rollouts WHERE id = 1"))
			break;
		usleep(20 * 1000);
	}
	ck_assert_msg(i < 250, "not paused within 5 s");
	ck_assert_int_eq(
	    count("SELECT COUNT(*) FROM rollout_events WHERE rollout_id = 1"
	          " AND action = 'pause' AND reason = 'failure rate"
	          " 2501/50003 (5.0%) reached the threshold 5.0%"
	          " (min_reports 10)'"),
	    1);
}
END_TEST

static Suite *
telemetry_suite(void)
{
	Suite *s = suite_create("telemetry");
	TCase *tc;

	tc = tcase_create("null");
	tcase_add_test(tc, test_null);
	suite_add_tcase(s, tc);
	tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_submit);
	tcase_add_test(tc, test_enqueue);
	tcase_add_test(tc, test_stop_drains);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_group_failure);
	tcase_add_test(tc, test_seen_forget);
	suite_add_tcase(s, tc);
	tc = tcase_create("auto_pause");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_auto_pause);
	tcase_add_test(tc, test_healthy_not_paused);
	tcase_add_test(tc, test_not_targeted);
	tcase_add_test(tc, test_auto_pause_large);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(telemetry_suite());
}
