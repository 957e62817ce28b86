/*
 * check_store_telemetry: store_telemetry.c against a real SQLite file
 * migrated by the embedded migrations.  Devices and rollouts are planted
 * with plain SQL through a raw handle, which also reads the rows back
 * behind the store's back.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "store.h"
#include "store_telemetry.h"
#include "store_telemetry_write.h"
#include "testutil.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z in ms */
#define NOW "2026-01-02T00:00:00Z"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;

static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

/* First column of the first row of sql: an integer, or text into out. */
static long long
raw_query(const char *sql, char *out, size_t outlen)
{
	return testutil_sql_query(dbpath, sql, out, outlen);
}

static long long
count(const char *sql)
{
	return raw_query(sql, NULL, 0);
}

static void
setup(void)
{
	testutil_tmpdir_new("check_store_telemetry", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	/* Rollout 1: version 2.0.0, running at stage 0 of [10%, 100%];
	 * rollout 2: version 3.0.0 at stage 1. */
	raw_exec("INSERT INTO devices (id, hardware, created_at) VALUES"
	         " ('d1', 'revA', '2026-01-01T00:00:00Z'),"
	         " ('d2', 'revA', '2026-01-01T00:00:00Z'),"
	         " ('d3', 'revA', '2026-01-01T00:00:00Z');"
	         "INSERT INTO rollouts (id, image_name, image_version, state,"
	         " stage_index, stages_bp, salt, failure_threshold,"
	         " min_reports, created_at, created_by, updated_at) VALUES"
	         " (1, 'fw', '2.0.0', 'running', 0, '[1000,10000]',"
	         "  zeroblob(32), 0.05, 10, 'x', 'ci', 'x'),"
	         " (2, 'fw', '3.0.0', 'running', 1, '[1000,10000]',"
	         "  zeroblob(32), 0.05, 10, 'x', 'ci', 'x');");
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Fills e with a valid event. */
static void
ev(struct telemetry_event *e, const char *event_id, const char *device,
    int64_t rollout, const char *version, enum update_state state,
    int64_t ts_ms)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->event_id, sizeof(e->event_id), "%s", event_id);
	snprintf(e->device_id, sizeof(e->device_id), "%s", device);
	e->rollout_id = rollout;
	snprintf(e->version, sizeof(e->version), "%s", version);
	e->state = state;
	e->progress = state == UPDATE_PROGRESS ? 50 : -1;
	e->result = state == UPDATE_FAILED ? 8 : -1;
	snprintf(e->ts, sizeof(e->ts), "ts-%lld", (long long)ts_ms);
	e->ts_ms = ts_ms;
}

/* Writes v[0..n) in one transaction, each judged to be written unless
 * res[i] is already REJECTED when keep_verdicts; returns
 * store_telemetry_write's answer (committed when 0). */
static int
write_judged(const struct telemetry_event *v, size_t n,
    struct store_event_result *res, int keep_verdicts, int64_t *touched,
    size_t max_touched, size_t *ntouched)
{
	struct store_conn *c = store_acquire(st);
	int rc;

	if (!keep_verdicts)
		memset(res, 0, n * sizeof(*res));
	ck_assert_int_eq(store_begin(c), 0);
	rc = store_telemetry_write(
	    c, v, n, "rest", NOW, res, touched, max_touched, ntouched);
	if (rc == 0)
		ck_assert_int_eq(store_commit(c), 0);
	else
		store_rollback(c);
	store_release(st, c);
	return rc;
}

static int
write_events(const struct telemetry_event *v, size_t n,
    struct store_event_result *res, int64_t *touched, size_t max_touched,
    size_t *ntouched)
{
	return write_judged(v, n, res, 0, touched, max_touched, ntouched);
}

/* Writes one event and returns its outcome. */
static enum store_event_outcome
write1(const char *event_id, const char *device, int64_t rollout,
    enum update_state state, int64_t ts_ms)
{
	struct telemetry_event e;
	struct store_event_result r;

	ev(&e, event_id, device, rollout, rollout == 2 ? "3.0.0" : "2.0.0",
	    state, ts_ms);
	ck_assert_int_eq(write_events(&e, 1, &r, NULL, 0, NULL), 0);
	return r.outcome;
}

static void
status_of(const char *device, int64_t rollout, char out[16])
{
	char sql[200];

	snprintf(sql, sizeof(sql),
	    "SELECT status FROM device_updates WHERE device_id = '%s'"
	    " AND rollout_id = %lld",
	    device, (long long)rollout);
	raw_query(sql, out, 16);
}

/* ---- store_telemetry_write ---- */

START_TEST(test_write_outcomes)
{
	struct telemetry_event v[4];
	struct store_event_result r[4];
	int64_t touched[4];
	size_t nt = 0;

	ev(&v[0], "e1", "d1", 1, "2.0.0", UPDATE_STARTED, T0);
	ev(&v[1], "e1", "d1", 1, "2.0.0", UPDATE_STARTED, T0); /* dup */
	ev(&v[2], "e2", "d2", 1, "2.0.0", UPDATE_FAILED, T0);
	ev(&v[3], "e5", "d1", 1, "2.0.0", UPDATE_PROGRESS, T0 + 1);
	/* The caller refused e2: skipped, its verdict left as it was. */
	memset(r, 0, sizeof(r));
	r[2].outcome = STORE_EVENT_REJECTED;
	r[2].reject = TELEMETRY_REJECT_NOT_TARGETED;
	snprintf(r[2].detail, sizeof(r[2].detail), "not yours");
	ck_assert_int_eq(write_judged(v, 4, r, 1, touched, 4, &nt), 0);
	ck_assert_int_eq(r[0].outcome, STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(r[0].reject, TELEMETRY_REJECT_NONE);
	ck_assert_str_eq(r[0].detail, "");
	ck_assert_int_eq(r[1].outcome, STORE_EVENT_DUPLICATE);
	ck_assert_int_eq(r[2].outcome, STORE_EVENT_REJECTED);
	ck_assert_int_eq(r[2].reject, TELEMETRY_REJECT_NOT_TARGETED);
	ck_assert_str_eq(r[2].detail, "not yours");
	ck_assert_int_eq(r[3].outcome, STORE_EVENT_ACCEPTED);
	ck_assert_uint_eq(nt, 0); /* nothing finished: e2's failure skipped */
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 2);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 1);
	ck_assert_int_eq(count("SELECT progress FROM device_updates"), 50);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " event_id = 'e5' AND progress = 50 AND"
	                       " transport = 'rest' AND received_at = '" NOW
	                       "' AND device_ts_ms = 1767225600001"),
	    1);

	/* Resent in a later transaction: a duplicate, nothing changes. */
	nt = 0;
	ck_assert_int_eq(write_events(v, 1, r, touched, 4, &nt), 0);
	ck_assert_int_eq(r[0].outcome, STORE_EVENT_DUPLICATE);
	ck_assert_uint_eq(nt, 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 2);
	/* The same event id from another device is another event. */
	ck_assert_int_eq(
	    write1("e1", "d2", 1, UPDATE_STARTED, T0), STORE_EVENT_ACCEPTED);
	/* An event the caller let through on an unknown rollout or device
	 * breaks its contract: the transaction fails, nothing is kept. */
	ev(&v[0], "e6", "d3", 1, "2.0.0", UPDATE_STARTED, T0);
	ev(&v[1], "e7", "d3", 7, "2.0.0", UPDATE_STARTED, T0);
	ck_assert_int_eq(write_events(v, 2, r, NULL, 0, NULL), OTA_EDB);
	ev(&v[1], "e7", "nobody", 1, "2.0.0", UPDATE_STARTED, T0);
	ck_assert_int_eq(write_events(v, 2, r, NULL, 0, NULL), OTA_EDB);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 3);
}
END_TEST

/* ---- store_telemetry_target ---- */

/* The facts of (device, rollout), as "found found version hw offered
 * in_groups fits". */
static const char *
target(const char *device, int64_t rollout)
{
	static char out[256];
	struct telemetry_target t;
	struct store_conn *c = store_acquire(st);

	memset(&t, 0xff, sizeof(t));
	ck_assert_int_eq(store_telemetry_target(c, device, rollout, &t), 0);
	store_release(st, c);
	snprintf(out, sizeof(out), "%d %d '%s' '%s' %d %d %d", t.device_found,
	    t.rollout_found, t.rollout_version, t.device_hardware, t.offered,
	    t.in_groups, t.hardware_fits);
	return out;
}

START_TEST(test_target)
{
	/* Rollout 1 (image 1 for revA and revB) targets group g1 (d1,
	 * d2); d3 is in g2 only.  Rollout 2 has no image any more. */
	raw_exec("INSERT INTO images (id, name, version, sha256, size,"
	         " descriptor, signatures, created_at, created_by) VALUES"
	         " (1, 'fw', '2.0.0', printf('%064d', 1), 1, x'00', '[]',"
	         "  'x', 'ci');"
	         "INSERT INTO image_hardware (hardware, image_id) VALUES"
	         " ('revA', 1), ('revB', 1);"
	         "UPDATE rollouts SET image_id = 1 WHERE id = 1;"
	         "INSERT INTO device_groups (id, name, created_at) VALUES"
	         " (1, 'g1', 'x'), (2, 'g2', 'x');"
	         "INSERT INTO group_members (group_id, device_id) VALUES"
	         " (1, 'd1'), (1, 'd2'), (2, 'd3');"
	         "INSERT INTO rollout_groups (rollout_id, group_id) VALUES"
	         " (1, 1), (2, 1), (2, 2);"
	         "UPDATE devices SET hardware = 'bleA' WHERE id = 'd2'");
	ck_assert_str_eq(target("d1", 1), "1 1 '2.0.0' 'revA' 0 1 1");
	ck_assert_str_eq(target("d2", 1), "1 1 '2.0.0' 'bleA' 0 1 0");
	ck_assert_str_eq(target("d3", 1), "1 1 '2.0.0' 'revA' 0 0 1");
	ck_assert_str_eq(target("d3", 2), "1 1 '3.0.0' 'revA' 0 1 0");
	ck_assert_str_eq(target("nobody", 1), "0 1 '2.0.0' '' 0 0 0");
	ck_assert_str_eq(target("d1", 9), "1 0 '' 'revA' 0 0 0");
	ck_assert_str_eq(target("nobody", 9), "0 0 '' '' 0 0 0");
	/* Offered: a status row (an offer, or an event counted before),
	 * or a DDI action. */
	raw_exec("INSERT INTO device_updates (rollout_id, device_id, version,"
	         " status, stage_index, updated_at)"
	         " VALUES (1, 'd3', '2.0.0', 'offered', 0, 'x');"
	         "INSERT INTO ddi_actions (rollout_id, device_id, status,"
	         " created_at, updated_at) VALUES (1, 'd2', 'closed', 'x',"
	         " 'x')");
	ck_assert_str_eq(target("d3", 1), "1 1 '2.0.0' 'revA' 1 0 1");
	ck_assert_str_eq(target("d2", 1), "1 1 '2.0.0' 'bleA' 1 1 0");
	ck_assert_str_eq(target("d1", 1), "1 1 '2.0.0' 'revA' 0 1 1");
}
END_TEST

START_TEST(test_write_rolled_back)
{
	struct telemetry_event e;
	struct store_event_result r;
	struct store_conn *c = store_acquire(st);

	ev(&e, "e1", "d1", 1, "2.0.0", UPDATE_COMPLETED, T0);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(
	    store_telemetry_write(c, &e, 1, "mqtt", NOW, &r, NULL, 0, NULL), 0);
	store_rollback(c);
	store_release(st, c);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 0);
	/* ...so the retry is new, not a duplicate. */
	ck_assert_int_eq(
	    write1("e1", "d1", 1, UPDATE_COMPLETED, T0), STORE_EVENT_ACCEPTED);
}
END_TEST

START_TEST(test_write_merge)
{
	char status[16];

	/* completed then a late started: stays completed */
	ck_assert_int_eq(write1("a1", "d1", 1, UPDATE_COMPLETED, T0 + 50),
	    STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(write1("a0", "d1", 1, UPDATE_STARTED, T0 + 10),
	    STORE_EVENT_ACCEPTED);
	status_of("d1", 1, status);
	ck_assert_str_eq(status, "completed");
	ck_assert_int_eq(count("SELECT status_ts_ms FROM device_updates WHERE"
	                       " device_id = 'd1'"),
	    T0 + 50);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " device_id = 'd1'"),
	    2); /* every event is kept */
	/* reverted before its completed: ends reverted */
	ck_assert_int_eq(write1("b2", "d2", 1, UPDATE_REVERTED, T0 + 90),
	    STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(write1("b1", "d2", 1, UPDATE_COMPLETED, T0 + 50),
	    STORE_EVENT_ACCEPTED);
	status_of("d2", 1, status);
	ck_assert_str_eq(status, "reverted");
	/* failed, then completed later by device time: completed, and the
	 * failure's result is gone */
	ck_assert_int_eq(write1("c1", "d3", 1, UPDATE_FAILED, T0 + 10),
	    STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(count("SELECT result FROM device_updates WHERE"
	                       " device_id = 'd3'"),
	    8);
	ck_assert_int_eq(write1("c2", "d3", 1, UPDATE_COMPLETED, T0 + 20),
	    STORE_EVENT_ACCEPTED);
	status_of("d3", 1, status);
	ck_assert_str_eq(status, "completed");
	ck_assert_int_eq(count("SELECT result IS NULL FROM device_updates"
	                       " WHERE device_id = 'd3'"),
	    1);
	/* a failure earlier than that completion changes nothing */
	ck_assert_int_eq(write1("c3", "d3", 1, UPDATE_FAILED, T0 + 15),
	    STORE_EVENT_ACCEPTED);
	status_of("d3", 1, status);
	ck_assert_str_eq(status, "completed");
}
END_TEST

START_TEST(test_write_progress)
{
	struct telemetry_event e;
	struct store_event_result r;

	ck_assert_int_eq(
	    write1("p0", "d1", 1, UPDATE_STARTED, T0), STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"
	                       " WHERE started_at = '2026-01-01T00:00:00Z'"),
	    1);
	ev(&e, "p1", "d1", 1, "2.0.0", UPDATE_PROGRESS, T0 + 30);
	e.progress = 80;
	ck_assert_int_eq(write_events(&e, 1, &r, NULL, 0, NULL), 0);
	/* An older progress report arriving late keeps 80. */
	ev(&e, "p2", "d1", 1, "2.0.0", UPDATE_PROGRESS, T0 + 20);
	e.progress = 40;
	ck_assert_int_eq(write_events(&e, 1, &r, NULL, 0, NULL), 0);
	ck_assert_int_eq(count("SELECT progress FROM device_updates"), 80);
	ev(&e, "p3", "d1", 1, "2.0.0", UPDATE_PROGRESS, T0 + 40);
	e.progress = 90;
	ck_assert_int_eq(write_events(&e, 1, &r, NULL, 0, NULL), 0);
	ck_assert_int_eq(count("SELECT progress FROM device_updates"), 90);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " status = 'progress' AND finished_at IS NULL"
	                       " AND started_at IS NOT NULL"),
	    1);
	ck_assert_int_eq(write1("p4", "d1", 1, UPDATE_COMPLETED, T0 + 60000),
	    STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " finished_at = '2026-01-01T00:01:00Z'"),
	    1);
}
END_TEST

START_TEST(test_write_stage_index)
{
	/* A new row takes the rollout's current stage and keeps it. */
	ck_assert_int_eq(
	    write1("s1", "d1", 1, UPDATE_STARTED, T0), STORE_EVENT_ACCEPTED);
	raw_exec("UPDATE rollouts SET stage_index = 1 WHERE id = 1");
	ck_assert_int_eq(
	    write1("s2", "d2", 1, UPDATE_STARTED, T0), STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(write1("s3", "d1", 1, UPDATE_COMPLETED, T0 + 1),
	    STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(count("SELECT stage_index FROM device_updates"
	                       " WHERE device_id = 'd1'"),
	    0);
	ck_assert_int_eq(count("SELECT stage_index FROM device_updates"
	                       " WHERE device_id = 'd2'"),
	    1);
}
END_TEST

START_TEST(test_write_touched)
{
	struct telemetry_event v[4];
	struct store_event_result r[4];
	int64_t touched[1];
	size_t nt = 0;
	struct rollout_outcome_counts fin;
	struct store_conn *c;

	/* Not finished: no finished count moves, nothing touched. */
	ev(&v[0], "t1", "d1", 1, "2.0.0", UPDATE_STARTED, T0);
	ev(&v[1], "t2", "d1", 2, "3.0.0", UPDATE_STARTED, T0);
	ev(&v[2], "t3", "d2", 1, "2.0.0", UPDATE_PROGRESS, T0);
	ck_assert_int_eq(write_events(v, 3, r, touched, 1, &nt), 0);
	ck_assert_uint_eq(nt, 0);
	/* Finished in two rollouts, room for one: the set keeps the first,
	 * the caller sees it full. */
	ev(&v[0], "t4", "d1", 1, "2.0.0", UPDATE_COMPLETED, T0 + 1);
	ev(&v[1], "t5", "d1", 2, "3.0.0", UPDATE_FAILED, T0 + 1);
	ev(&v[2], "t6", "d2", 1, "2.0.0", UPDATE_FAILED, T0 + 1);
	ck_assert_int_eq(write_events(v, 3, r, touched, 1, &nt), 0);
	ck_assert_uint_eq(nt, 1);
	ck_assert_int_eq(touched[0], 1);
	/* completed -> reverted moves the counts; a late started does not. */
	nt = 0;
	ev(&v[0], "t7", "d1", 1, "2.0.0", UPDATE_REVERTED, T0 + 2);
	ck_assert_int_eq(write_events(v, 1, r, touched, 1, &nt), 0);
	ck_assert_uint_eq(nt, 1);
	nt = 0;
	ev(&v[0], "t8", "d2", 1, "2.0.0", UPDATE_STARTED, T0 + 3);
	ck_assert_int_eq(write_events(v, 1, r, touched, 1, &nt), 0);
	ck_assert_uint_eq(nt, 0);
	/* The finished counts the gate reads. */
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_finished(c, 1, &fin), 0);
	ck_assert_uint_eq(fin.completed, 0);
	ck_assert_uint_eq(fin.failed, 1);
	ck_assert_uint_eq(fin.reverted, 1);
	ck_assert_uint_eq(fin.timed_out, 0);
	ck_assert_int_eq(store_telemetry_finished(c, 2, &fin), 0);
	ck_assert_uint_eq(fin.failed, 1);
	ck_assert_uint_eq(fin.completed + fin.reverted, 0);
	ck_assert_int_eq(store_telemetry_finished(c, 77, &fin), 0);
	ck_assert_uint_eq(fin.completed + fin.failed + fin.reverted, 0);
	store_release(st, c);
}
END_TEST

/* ---- store_telemetry_write_group ---- */

/* What the recording judge saw: offered per event of the group. */
struct judge_log {
	const struct store_event_in *in;
	int offered[8];
};

/* Lets through events whose id starts with "in", or whose pair counts
 * as offered; records what it saw. */
static enum telemetry_reject
judge_rec(void *arg, size_t i, const struct telemetry_target *t, char *detail,
    size_t detail_len)
{
	struct judge_log *l = arg;

	if (l == NULL) { /* no log: every event passes */
		snprintf(detail, detail_len, "%s", "");
		return TELEMETRY_REJECT_NONE;
	}
	l->offered[i] = t->offered;
	if (t->offered || strncmp(l->in[i].ev->event_id, "in", 2) == 0) {
		snprintf(detail, detail_len, "%s", "");
		return TELEMETRY_REJECT_NONE;
	}
	snprintf(detail, detail_len, "not offered");
	return TELEMETRY_REJECT_NOT_TARGETED;
}

/* Writes v[0..n) as one group, event i in batch batch[i], the caller's
 * verdicts being judge_rec's (all pass when log is NULL). */
static int
write_group(const struct telemetry_event *v, const size_t *batch, size_t n,
    struct store_event_result *res, struct judge_log *log)
{
	struct store_event_in in[200];
	struct store_conn *c = store_acquire(st);
	int rc;

	ck_assert_uint_le(n, 200);
	for (size_t i = 0; i < n; i++) {
		in[i].ev = &v[i];
		in[i].transport = "rest";
		in[i].batch = batch[i];
	}
	if (log != NULL)
		log->in = in;
	ck_assert_int_eq(store_begin(c), 0);
	rc = store_telemetry_write_group(c, in, n, NOW, judge_rec,
	    log != NULL ? (void *)log : NULL, res, NULL, 0, NULL);
	if (rc == 0)
		ck_assert_int_eq(store_commit(c), 0);
	else
		store_rollback(c);
	store_release(st, c);
	return rc;
}

/* 1 when device a's device_updates rows are device b's, column by
 * column (but the device). */
static int
same_rows(const char *a, const char *b)
{
	char sql[900];

	snprintf(sql, sizeof(sql),
	    "SELECT (SELECT COUNT(*) FROM device_updates WHERE device_id = "
	    "'%s')"
	    " = (SELECT COUNT(*) FROM device_updates WHERE device_id = '%s')"
	    " AND (SELECT COUNT(*) FROM device_updates x JOIN device_updates y"
	    " ON y.rollout_id = x.rollout_id AND y.device_id = '%s'"
	    " WHERE x.device_id = '%s' AND x.version = y.version"
	    " AND x.status = y.status AND x.stage_index = y.stage_index"
	    " AND x.progress IS NOT DISTINCT FROM y.progress"
	    " AND x.result IS NOT DISTINCT FROM y.result"
	    " AND x.status_ts_ms IS NOT DISTINCT FROM y.status_ts_ms"
	    " AND x.started_at IS NOT DISTINCT FROM y.started_at"
	    " AND x.finished_at IS NOT DISTINCT FROM y.finished_at"
	    " AND x.offered_at IS NOT DISTINCT FROM y.offered_at"
	    " AND x.updated_at = y.updated_at)"
	    " = (SELECT COUNT(*) FROM device_updates WHERE device_id = '%s')",
	    a, b, b, a, a);
	return count(sql) == 1;
}

/* Writes v[0..n) again for device `serial`, one event per transaction:
 * the rows one event at a time gives. */
static void
write_serial(const struct telemetry_event *v, size_t n, const char *serial)
{
	for (size_t i = 0; i < n; i++) {
		struct telemetry_event e = v[i];
		struct store_event_result r;

		snprintf(e.device_id, sizeof(e.device_id), "%s", serial);
		ck_assert_int_eq(write_events(&e, 1, &r, NULL, 0, NULL), 0);
	}
}

START_TEST(test_group_same_row)
{
	struct telemetry_event v[6];
	struct store_event_result r[6];
	size_t batch[6] = {0, 0, 1, 1, 0, 1};

	raw_exec("INSERT INTO devices (id, hardware, created_at) VALUES"
	         " ('s1', 'revA', '2026-01-01T00:00:00Z')");
	/* One device twice in one batch and across batches: started,
	 * progress 50, an older progress 30, completed; and a failure then
	 * a later completion in the other rollout, interleaved. */
	ev(&v[0], "a1", "d1", 1, "2.0.0", UPDATE_STARTED, T0);
	ev(&v[1], "a2", "d1", 1, "2.0.0", UPDATE_PROGRESS, T0 + 10000);
	ev(&v[2], "a3", "d1", 1, "2.0.0", UPDATE_PROGRESS, T0 + 5000);
	v[2].progress = 30;
	ev(&v[3], "a4", "d1", 1, "2.0.0", UPDATE_COMPLETED, T0 + 20000);
	ev(&v[4], "b1", "d1", 2, "3.0.0", UPDATE_FAILED, T0);
	ev(&v[5], "b2", "d1", 2, "3.0.0", UPDATE_COMPLETED, T0 + 1000);
	ck_assert_int_eq(write_group(v, batch, 6, r, NULL), 0);
	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(r[i].outcome, STORE_EVENT_ACCEPTED);
	write_serial(v, 6, "s1");
	ck_assert(same_rows("d1", "s1"));
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " device_id = 'd1' AND rollout_id = 1 AND"
	                       " status = 'completed' AND progress = 50 AND"
	                       " result IS NULL AND version = '2.0.0' AND"
	                       " stage_index = 0 AND"
	                       " status_ts_ms = 1767225620000 AND"
	                       " started_at = '2026-01-01T00:00:00Z' AND"
	                       " finished_at = '2026-01-01T00:00:20Z'"),
	    1);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " device_id = 'd1' AND rollout_id = 2 AND"
	                       " status = 'completed' AND result IS NULL AND"
	                       " stage_index = 1 AND"
	                       " finished_at = '2026-01-01T00:00:01Z'"),
	    1);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " device_id = 'd1'"),
	    6);
}
END_TEST

/* A received_at that is not a time: refused, nothing written (it was
 * stored as attempt time 0). */
START_TEST(test_group_bad_received_at)
{
	struct telemetry_event v[1];
	struct store_event_result r[1];
	struct store_event_in in[1];
	struct store_conn *c = store_acquire(st);

	ev(&v[0], "in-bad", "d1", 1, "2.0.0", UPDATE_STARTED, T0);
	in[0].ev = &v[0];
	in[0].transport = "rest";
	in[0].batch = 0;
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_telemetry_write_group(c, in, 1, "yesterday",
	                     judge_rec, NULL, r, NULL, 0, NULL),
	    OTA_EINVAL);
	store_rollback(c);
	store_release(st, c);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 0);
}
END_TEST

START_TEST(test_group_chunks)
{
	static struct telemetry_event v[150];
	struct store_event_result r[150];
	size_t batch[150];
	const enum update_state states[] = {UPDATE_STARTED, UPDATE_PROGRESS,
	    UPDATE_FAILED, UPDATE_COMPLETED, UPDATE_PROGRESS, UPDATE_REVERTED};
	char dev[16], id[16];
	size_t dups = 0;

	raw_exec("INSERT INTO devices (id, hardware, created_at) VALUES"
	         " ('s1', 'revA', 'x'), ('s2', 'revA', 'x'),"
	         " ('s3', 'revA', 'x')");
	/* Three devices, two rollouts interleaved, four batches, more than
	 * a chunk of everything; every tenth event repeats the one before
	 * it (a duplicate within its chunk). */
	for (size_t k = 0; k < 150; k++) {
		size_t src = k % 10 == 9 ? k - 1 : k;
		int64_t rollout = 1 + (int64_t)(src % 2);

		snprintf(dev, sizeof(dev), "d%zu", 1 + src % 3);
		snprintf(id, sizeof(id), "c%zu", src);
		ev(&v[k], id, dev, rollout, rollout == 1 ? "2.0.0" : "3.0.0",
		    states[(src / 6) % 6],
		    T0 + (int64_t)((src * 7919) % 97) * 1000);
		if (v[k].state == UPDATE_PROGRESS)
			v[k].progress = (int)(src % 101);
		batch[k] = k / 40;
		dups += src != k;
	}
	/* c0 of d1 is stored already: a duplicate of the database. */
	write_serial(v, 1, "d1");
	write_serial(v, 1, "s1");
	ck_assert_int_eq(write_group(v, batch, 150, r, NULL), 0);
	ck_assert_int_eq(r[0].outcome, STORE_EVENT_DUPLICATE);
	for (size_t k = 1; k < 150; k++)
		ck_assert_int_eq(r[k].outcome,
		    k % 10 == 9 ? STORE_EVENT_DUPLICATE : STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " device_id LIKE 'd%'"),
	    (long long)(150 - dups));
	for (size_t k = 1; k < 150; k++) {
		struct telemetry_event e = v[k];

		snprintf(
		    e.device_id, sizeof(e.device_id), "s%c", v[k].device_id[1]);
		write_serial(&e, 1, e.device_id);
	}
	ck_assert(same_rows("d1", "s1"));
	ck_assert(same_rows("d2", "s2"));
	ck_assert(same_rows("d3", "s3"));
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 12);
}
END_TEST

START_TEST(test_group_offered)
{
	struct telemetry_event v[5];
	struct store_event_result r[5];
	struct store_event_result one;
	size_t batch[5] = {0, 0, 1, 0, 1};
	struct judge_log l;

	/* d2 stored "in-9" before, and its row is gone since: a duplicate
	 * that makes nothing offered. */
	ev(&v[0], "in-9", "d2", 1, "2.0.0", UPDATE_STARTED, T0);
	ck_assert_int_eq(write_events(&v[0], 1, &one, NULL, 0, NULL), 0);
	raw_exec("DELETE FROM device_updates");
	/* d3: accepted in batch 0, so offered for batch 1 only. */
	ev(&v[0], "in-1", "d3", 1, "2.0.0", UPDATE_STARTED, T0);
	ev(&v[1], "x-1", "d3", 1, "2.0.0", UPDATE_PROGRESS, T0 + 1);
	ev(&v[2], "x-2", "d3", 1, "2.0.0", UPDATE_PROGRESS, T0 + 2);
	ev(&v[3], "in-9", "d2", 1, "2.0.0", UPDATE_STARTED, T0);
	ev(&v[4], "x-3", "d2", 1, "2.0.0", UPDATE_PROGRESS, T0 + 1);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(write_group(v, batch, 5, r, &l), 0);
	ck_assert_int_eq(r[0].outcome, STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(r[1].outcome, STORE_EVENT_REJECTED);
	ck_assert_int_eq(r[1].reject, TELEMETRY_REJECT_NOT_TARGETED);
	ck_assert_str_eq(r[1].detail, "not offered");
	ck_assert_int_eq(r[2].outcome, STORE_EVENT_ACCEPTED);
	ck_assert_str_eq(r[2].detail, "");
	ck_assert_int_eq(l.offered[2], 1);
	ck_assert_int_eq(r[3].outcome, STORE_EVENT_DUPLICATE);
	ck_assert_int_eq(r[4].outcome, STORE_EVENT_REJECTED);
	ck_assert_int_eq(l.offered[4], 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 3);
	ck_assert_int_eq(count("SELECT progress FROM device_updates WHERE"
	                       " device_id = 'd3'"),
	    50);
	/* A judge that lets through an unknown device breaks the
	 * contract: nothing is kept. */
	ev(&v[0], "in-5", "nobody", 1, "2.0.0", UPDATE_STARTED, T0);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(write_group(v, batch, 1, r, &l), OTA_EDB);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 3);
}
END_TEST

/* ---- store_telemetry_offers ---- */

/* Plants devices x0..x(n-1), each with a completed update of rollout 1
 * (2.0.0) recorded at 2026-01-01T00:00:00Z when completed. */
static void
plant_many(int n, int completed)
{
	char sql[200];

	for (int i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO devices (id, hardware, created_at) VALUES"
		    " ('x%d', 'revA', 'x')",
		    i);
		raw_exec(sql);
		if (!completed)
			continue;
		snprintf(sql, sizeof(sql),
		    "INSERT INTO device_updates (rollout_id, device_id,"
		    " version, status, stage_index, updated_at) VALUES"
		    " (1, 'x%d', '2.0.0', 'completed', 0,"
		    " '2026-01-01T00:00:00Z')",
		    i);
		raw_exec(sql);
	}
}

START_TEST(test_offers_chunks)
{
	static struct store_offer_seen v[72];
	struct store_conn *c;

	/* More than a chunk, a repeated pair (the first offer is kept) and
	 * a deleted device. */
	plant_many(70, 0);
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 72; i++) {
		v[i].rollout_id = 1;
		v[i].stage_index = -1;
		snprintf(v[i].at, sizeof(v[i].at), NOW);
		snprintf(v[i].device_id, sizeof(v[i].device_id), "x%d",
		    i < 70 ? i : 3);
	}
	snprintf(v[70].version, sizeof(v[70].version), "9.9.9");
	snprintf(v[71].device_id, sizeof(v[71].device_id), "ghost");
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_offers(c, v, 72), 0);
	store_release(st, c);
	ck_assert_int_eq(
	    count("SELECT COUNT(*) FROM device_updates WHERE"
	          " status = 'offered' AND version = '2.0.0'"
	          " AND stage_index = 0 AND offered_at = '" NOW "'"),
	    70);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 70);
}
END_TEST

START_TEST(test_silent_reverts_chunks)
{
	static char ids[70][16];
	struct store_revert_check v[70];
	int64_t touched[4];
	size_t nt = 0;
	struct store_conn *c;

	/* 70 devices completed 2.0.0; they report 1.0.0 a day later but
	 * x5 (2.0.0: no revert), x6 (in the completion's second: undecided)
	 * and x7 (not a version: skipped). */
	plant_many(70, 1);
	for (int i = 0; i < 70; i++) {
		snprintf(ids[i], sizeof(ids[i]), "x%d", i);
		v[i].device_id = ids[i];
		v[i].installed_version = i == 5   ? "2.0.0"
		                         : i == 7 ? "x"
		                                  : "1.0.0";
		v[i].at = i == 6 ? "2026-01-01T00:00:00Z" : NOW;
		v[i].state = -1;
	}
	c = store_acquire(st);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(
	    store_telemetry_silent_reverts(c, v, 70, touched, 4, &nt), 0);
	ck_assert_int_eq(store_commit(c), 0);
	store_release(st, c);
	for (int i = 0; i < 70; i++)
		ck_assert_int_eq(v[i].state, i == 6   ? 1
		                             : i == 7 ? OTA_EINVAL
		                                      : 0);
	ck_assert_uint_eq(nt, 1);
	ck_assert_int_eq(touched[0], 1);
	ck_assert_int_eq(
	    count("SELECT COUNT(*) FROM device_updates WHERE"
	          " status = 'reverted' AND finished_at = '" NOW "'"),
	    67);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " transport = 'otad' AND state = 'reverted'"),
	    67);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " status = 'completed' AND device_id IN"
	                       " ('x5', 'x6', 'x7')"),
	    3);
}
END_TEST

START_TEST(test_offers)
{
	struct store_offer_seen v[3];
	struct store_conn *c;
	char status[16];

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 3; i++) {
		v[i].rollout_id = 1;
		snprintf(v[i].version, sizeof(v[i].version), "2.0.0");
		v[i].stage_index = 0;
		snprintf(v[i].at, sizeof(v[i].at), NOW);
	}
	snprintf(v[0].device_id, sizeof(v[0].device_id), "d1");
	snprintf(v[1].device_id, sizeof(v[1].device_id), "gone");
	snprintf(v[2].device_id, sizeof(v[2].device_id), "d2");
	v[2].rollout_id = 99; /* no such rollout: skipped */
	ck_assert_int_eq(
	    write1("o1", "d3", 1, UPDATE_FAILED, T0), STORE_EVENT_ACCEPTED);
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_offers(c, v, 3), 0);
	store_release(st, c);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"), 2);
	status_of("d1", 1, status);
	ck_assert_str_eq(status, "offered");
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " device_id = 'd1' AND offered_at = '" NOW
	                       "' AND stage_index = 0 AND version = '2.0.0'"),
	    1);
	/* An offer never changes an existing row (d3 failed). */
	snprintf(v[0].device_id, sizeof(v[0].device_id), "d3");
	snprintf(v[0].at, sizeof(v[0].at), "2026-02-01T00:00:00Z");
	c = store_acquire(st);
	ck_assert_int_eq(store_begin(c), 0); /* inside the caller's tx */
	ck_assert_int_eq(store_telemetry_offers(c, v, 1), 0);
	ck_assert_int_eq(store_commit(c), 0);
	ck_assert_int_eq(store_telemetry_offers(c, v, 0), 0);
	store_release(st, c);
	status_of("d3", 1, status);
	ck_assert_str_eq(status, "failed");
	ck_assert_int_eq(count("SELECT offered_at IS NULL FROM device_updates"
	                       " WHERE device_id = 'd3'"),
	    1);
	/* Then an event moves an offered row on. */
	ck_assert_int_eq(
	    write1("o2", "d1", 1, UPDATE_STARTED, T0), STORE_EVENT_ACCEPTED);
	status_of("d1", 1, status);
	ck_assert_str_eq(status, "started");
	ck_assert_int_eq(count("SELECT offered_at IS NOT NULL FROM"
	                       " device_updates WHERE device_id = 'd1'"),
	    1);
}
END_TEST

/* ---- store_telemetry_silent_revert ---- */

/* A report after the completions written at NOW. */
#define LATER "2026-01-03T00:00:00Z"

/* The last call's *out_undecided. */
static int last_undecided;

static int
silent_revert_at(const char *device, const char *installed, const char *at,
    int64_t *touched, size_t max, size_t *nt)
{
	struct store_conn *c = store_acquire(st);
	int rc;

	ck_assert_int_eq(store_begin(c), 0);
	last_undecided = -1;
	rc = store_telemetry_silent_revert(
	    c, device, installed, at, touched, max, nt, &last_undecided);
	if (rc == 0)
		ck_assert_int_eq(store_commit(c), 0);
	else
		store_rollback(c);
	store_release(st, c);
	return rc;
}

static int
silent_revert(const char *device, const char *installed, int64_t *touched,
    size_t max, size_t *nt)
{
	return silent_revert_at(device, installed, LATER, touched, max, nt);
}

START_TEST(test_silent_revert)
{
	int64_t touched[4];
	size_t nt = 0;
	char status[16];

	/* d1 completed 2.0.0 (rollout 1) and 3.0.0 (rollout 2); d2 failed
	 * rollout 1; d3 completed 2.0.0. */
	ck_assert_int_eq(
	    write1("r1", "d1", 1, UPDATE_COMPLETED, T0), STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(
	    write1("r2", "d1", 2, UPDATE_COMPLETED, T0), STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(
	    write1("r3", "d2", 1, UPDATE_FAILED, T0), STORE_EVENT_ACCEPTED);
	ck_assert_int_eq(
	    write1("r4", "d3", 1, UPDATE_COMPLETED, T0), STORE_EVENT_ACCEPTED);

	/* Running what it completed, or newer: nothing. */
	ck_assert_int_eq(silent_revert("d1", "3.0.0", touched, 4, &nt), 0);
	ck_assert_int_eq(silent_revert("d3", "2.0.0", touched, 4, &nt), 0);
	ck_assert_int_eq(silent_revert("d3", "2.0.1", touched, 4, &nt), 0);
	ck_assert_int_eq(silent_revert("d2", "1.0.0", touched, 4, &nt), 0);
	ck_assert_uint_eq(nt, 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates WHERE"
	                       " status = 'reverted'"),
	    0);
	/* An older version reported before the completions were recorded
	 * (at their second, or earlier) is not a revert: the report is
	 * older than the news. */
	ck_assert_int_eq(
	    silent_revert_at("d1", "1.0.0", NOW, touched, 4, &nt), 0);
	/* In the completion's second: undecided (the next report is). */
	ck_assert_int_eq(last_undecided, 1);
	ck_assert_int_eq(silent_revert_at("d1", "1.0.0", "2026-01-01T12:00:00Z",
	                     touched, 4, &nt),
	    0);
	ck_assert_int_eq(last_undecided, 0);
	ck_assert_uint_eq(nt, 0);
	/* Running what it completed in that second: nothing undecided. */
	ck_assert_int_eq(
	    silent_revert_at("d1", "3.0.0", NOW, touched, 4, &nt), 0);
	ck_assert_int_eq(last_undecided, 0);
	/* d1 back on 2.0.0: rollout 2 reverted, rollout 1 still done. */
	ck_assert_int_eq(silent_revert("d1", "2.0.0", touched, 4, &nt), 0);
	ck_assert_int_eq(last_undecided, 0);
	ck_assert_uint_eq(nt, 1);
	ck_assert_int_eq(touched[0], 2);
	status_of("d1", 2, status);
	ck_assert_str_eq(status, "reverted");
	status_of("d1", 1, status);
	ck_assert_str_eq(status, "completed");
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " device_id = 'd1' AND rollout_id = 2 AND"
	                       " state = 'reverted' AND transport = 'otad'"
	                       " AND version = '3.0.0' AND event_id ="
	                       " 'otad-revert-2-1767398400000' AND"
	                       " device_ts = '" LATER "'"),
	    1);
	/* A pre-release of 2.0.0 is older than it: rollout 1 too. */
	nt = 0;
	ck_assert_int_eq(silent_revert("d1", "2.0.0-rc.1", touched, 4, &nt), 0);
	ck_assert_uint_eq(nt, 1);
	ck_assert_int_eq(touched[0], 1);
	status_of("d1", 1, status);
	ck_assert_str_eq(status, "reverted");
	/* Reported again: already reverted, nothing more. */
	nt = 0;
	ck_assert_int_eq(silent_revert("d1", "1.0.0", touched, 4, &nt), 0);
	ck_assert_uint_eq(nt, 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events WHERE"
	                       " transport = 'otad'"),
	    2);
	/* Bad input. */
	ck_assert_int_eq(
	    silent_revert("d1", "not-semver", touched, 4, &nt), OTA_EINVAL);
}
END_TEST

/* ---- store_telemetry_counts ---- */

START_TEST(test_counts)
{
	struct store_rollout_counts k;
	struct telemetry_event e;
	struct store_event_result r;
	struct store_conn *c;
	char id[16];

	/* Stage 0: d1 completed, d2 failed (result 8), d3 failed result 2;
	 * stage 1: x0 offered, x1 started, x2 progress, x3 reverted. */
	raw_exec("INSERT INTO devices (id, hardware, created_at) VALUES"
	         " ('x0', 'revA', 'x'), ('x1', 'revA', 'x'),"
	         " ('x2', 'revA', 'x'), ('x3', 'revA', 'x')");
	write1("k1", "d1", 1, UPDATE_COMPLETED, T0);
	write1("k2", "d2", 1, UPDATE_FAILED, T0);
	ev(&e, "k3", "d3", 1, "2.0.0", UPDATE_FAILED, T0);
	e.result = 2;
	ck_assert_int_eq(write_events(&e, 1, &r, NULL, 0, NULL), 0);
	raw_exec("UPDATE rollouts SET stage_index = 1 WHERE id = 1;"
	         "INSERT INTO device_updates (rollout_id, device_id, version,"
	         " status, stage_index, updated_at) VALUES"
	         " (1, 'x0', '2.0.0', 'offered', 1, 'x')");
	for (int i = 1; i < 4; i++) {
		static const enum update_state s[] = {UPDATE_NONE,
		    UPDATE_STARTED, UPDATE_PROGRESS, UPDATE_REVERTED};

		snprintf(id, sizeof(id), "x%d", i);
		write1(id, id, 1, s[i], T0);
	}
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_counts(c, 1, &k), 0);
	ck_assert_uint_eq(k.total.offered, 1);
	ck_assert_uint_eq(k.total.started, 1);
	ck_assert_uint_eq(k.total.progress, 1);
	ck_assert_uint_eq(k.total.completed, 1);
	ck_assert_uint_eq(k.total.failed, 2);
	ck_assert_uint_eq(k.total.failed_by_result[8], 1);
	ck_assert_uint_eq(k.total.failed_by_result[2], 1);
	ck_assert_uint_eq(k.total.failed_by_result[0], 0);
	ck_assert_uint_eq(k.total.reverted, 1);
	ck_assert_uint_eq(k.stage[0].completed, 1);
	ck_assert_uint_eq(k.stage[0].failed, 2);
	ck_assert_uint_eq(k.stage[0].failed_by_result[2], 1);
	ck_assert_uint_eq(k.stage[0].offered + k.stage[0].started +
	                      k.stage[0].progress + k.stage[0].reverted,
	    0);
	ck_assert_uint_eq(k.stage[1].offered, 1);
	ck_assert_uint_eq(k.stage[1].started, 1);
	ck_assert_uint_eq(k.stage[1].progress, 1);
	ck_assert_uint_eq(k.stage[1].reverted, 1);
	ck_assert_uint_eq(k.stage[1].completed + k.stage[1].failed, 0);
	ck_assert_uint_eq(k.stage[2].offered + k.stage[2].failed, 0);
	/* Nothing reported: zeros; no rollout: not found. */
	ck_assert_int_eq(store_telemetry_counts(c, 2, &k), 0);
	ck_assert_uint_eq(k.total.offered + k.total.completed, 0);
	ck_assert_int_eq(store_telemetry_counts(c, 3, &k), OTA_ENOTFOUND);
	store_release(st, c);
}
END_TEST

/* ---- store_telemetry_cancel ---- */

START_TEST(test_cancel)
{
	struct store_rollout_counts k;
	struct store_conn *c;
	char text[128];

	/* d1 started, d2 completed, d3 offered; nothing for rollout 2. */
	write1("c1", "d1", 1, UPDATE_STARTED, T0);
	write1("c2", "d2", 1, UPDATE_COMPLETED, T0);
	raw_exec("INSERT INTO device_updates (rollout_id, device_id, version,"
	         " status, stage_index, updated_at) VALUES"
	         " (1, 'd3', '2.0.0', 'offered', 0, 'x')");
	c = store_acquire(st);
	ck_assert_int_eq(
	    store_telemetry_cancel(c, 1, "d1", "2026-02-01T00:00:00Z"), 0);
	ck_assert_int_eq(
	    store_telemetry_cancel(c, 1, "d2", "2026-02-01T00:00:00Z"), 0);
	ck_assert_int_eq(
	    store_telemetry_cancel(c, 1, "d3", "2026-02-01T00:00:00Z"), 0);
	ck_assert_int_eq(
	    store_telemetry_cancel(c, 2, "d1", "2026-02-01T00:00:00Z"), 0);
	ck_assert_int_eq(
	    store_telemetry_cancel(c, 1, "d1", "yesterday"), OTA_EINVAL);
	ck_assert_int_eq(store_telemetry_counts(c, 1, &k), 0);
	ck_assert_uint_eq(k.total.canceled, 2);
	ck_assert_uint_eq(k.total.started, 0);
	ck_assert_uint_eq(k.total.offered, 0);
	ck_assert_uint_eq(k.total.completed, 1);
	store_release(st, c);
	raw_query("SELECT group_concat(device_id || '=' || status || '@' ||"
	          " COALESCE(finished_at, '-'), ' ') FROM (SELECT * FROM"
	          " device_updates ORDER BY rollout_id, device_id) t",
	    text, sizeof(text));
	ck_assert_str_eq(text, "d1=canceled@2026-02-01T00:00:00Z "
	                       "d2=completed@2026-01-01T00:00:00Z "
	                       "d3=canceled@2026-02-01T00:00:00Z");
	/* No row is made for rollout 2; a late completion replaces
	 * canceled, a late progress does not. */
	ck_assert_int_eq(
	    count("SELECT COUNT(*) FROM device_updates WHERE rollout_id = 2"),
	    0);
	write1("c3", "d3", 1, UPDATE_PROGRESS, T0 + 5);
	write1("c4", "d1", 1, UPDATE_COMPLETED, T0 + 5);
	raw_query("SELECT group_concat(device_id || '=' || status, ' ') FROM"
	          " (SELECT * FROM device_updates WHERE rollout_id = 1"
	          " ORDER BY device_id) t",
	    text, sizeof(text));
	ck_assert_str_eq(text, "d1=completed d2=completed d3=canceled");
}
END_TEST

/* ---- store_telemetry_device_events ---- */

START_TEST(test_device_events)
{
	struct store_event_row *v = NULL;
	struct store_conn *c;
	struct telemetry_event e;
	struct store_event_result r;
	size_t n = 0;
	char id[16];

	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "l%d", i);
		write1(id, "d1", 1, UPDATE_STARTED, T0 + i);
	}
	ev(&e, "fail", "d1", 1, "2.0.0", UPDATE_FAILED, T0 + 9);
	snprintf(e.detail, sizeof(e.detail), "flash full");
	snprintf(e.ts, sizeof(e.ts), "2026-01-01T01:00:00+01:00");
	ck_assert_int_eq(write_events(&e, 1, &r, NULL, 0, NULL), 0);
	write1("other", "d2", 1, UPDATE_STARTED, T0);
	c = store_acquire(st);
	ck_assert_int_eq(
	    store_telemetry_device_events(c, "d1", 0, 3, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].event_id, "fail");
	ck_assert_str_eq(v[0].state, "failed");
	ck_assert_int_eq(v[0].result, 8);
	ck_assert_int_eq(v[0].progress, -1);
	ck_assert_str_eq(v[0].detail, "flash full");
	ck_assert_str_eq(v[0].device_ts, "2026-01-01T01:00:00+01:00");
	ck_assert_str_eq(v[0].received_at, NOW);
	ck_assert_str_eq(v[0].transport, "rest");
	ck_assert_str_eq(v[0].device_id, "d1");
	ck_assert_str_eq(v[0].version, "2.0.0");
	ck_assert_int_eq(v[0].rollout_id, 1);
	ck_assert_str_eq(v[1].event_id, "l4");
	ck_assert_str_eq(v[2].event_id, "l3");
	ck_assert_int_gt(v[0].id, v[1].id);
	/* The next page, from the last id. */
	{
		int64_t before = v[2].id;

		free(v);
		v = NULL;
		ck_assert_int_eq(store_telemetry_device_events(
		                     c, "d1", before, 1000, &v, &n),
		    0);
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0].event_id, "l2");
	ck_assert_str_eq(v[2].event_id, "l0");
	free(v);
	v = NULL;
	ck_assert_int_eq(
	    store_telemetry_device_events(c, "nobody", 0, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(v);
	v = NULL;
	ck_assert_int_eq(
	    store_telemetry_device_events(c, "d1", 0, 0, &v, &n), OTA_EINVAL);
	ck_assert_int_eq(
	    store_telemetry_device_events(c, "d1", 0, 1001, &v, &n),
	    OTA_EINVAL);
	ck_assert_ptr_null(v);
	store_release(st, c);
}
END_TEST

/* The sweep of timeouts, the marks a poll reads, a retry's new attempt,
 * a late final after timed_out, the counts the gate tallies. */
START_TEST(test_timeouts_retries)
{
	struct store_offer_seen v[2];
	struct store_update_mark m[STORE_UPDATE_MARKS_MAX];
	struct rollout_outcome_counts fin;
	struct store_rollout_counts cnt;
	struct store_conn *c;
	char status[16];
	size_t n = 99;
	int64_t at0;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 2; i++) {
		v[i].rollout_id = 1;
		v[i].stage_index = -1;
		snprintf(v[i].at, sizeof(v[i].at), NOW);
		snprintf(v[i].device_id, sizeof(v[i].device_id), "d%d", i + 1);
	}
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_offers(c, v, 2), 0);
	store_release(st, c);
	at0 = count("SELECT attempt_at FROM device_updates WHERE device_id ="
	            " 'd1'");
	ck_assert_int_eq(at0, (T0 + 86400000) / 1000);
	ck_assert_int_eq(
	    write1("s1", "d2", 1, UPDATE_STARTED, T0), STORE_EVENT_ACCEPTED);
	/* Marks: both in flight (offered, started). */
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_device_marks(c, "d2", m, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(m[0].rollout_id, 1);
	ck_assert_uint_eq(m[0].status, UPDATE_STARTED);
	/* Not yet due: nothing; due: both, the oldest first, bounded. */
	ck_assert_int_eq(
	    store_telemetry_time_out(c, 1, at0 - 1, 10, NOW, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_telemetry_time_out(c, 1, at0, 1, NOW, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_telemetry_time_out(c, 1, at0, 10, NOW, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_telemetry_time_out(c, 1, at0, 10, NOW, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(
	    store_telemetry_time_out(c, 1, at0, 0, NOW, &n), OTA_EINVAL);
	ck_assert_int_eq(
	    store_telemetry_time_out(c, 1, at0, 10, "yesterday", &n),
	    OTA_EINVAL);
	ck_assert_int_eq(store_telemetry_device_marks(c, "d1", m, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(m[0].status, UPDATE_TIMED_OUT);
	ck_assert_uint_eq(m[0].retries, 0);
	ck_assert_int_eq(m[0].outcome_at, (T0 + 86400000) / 1000);
	ck_assert_int_eq(store_telemetry_finished(c, 1, &fin), 0);
	ck_assert_uint_eq(fin.timed_out, 2);
	store_release(st, c);
	/* A late final records the real outcome; a late start does not undo
	 * timed_out. */
	ck_assert_int_eq(write1("s2", "d2", 1, UPDATE_COMPLETED, T0 + 5),
	    STORE_EVENT_ACCEPTED);
	status_of("d2", 1, status);
	ck_assert_str_eq(status, "completed");
	ck_assert_int_eq(write1("s3", "d1", 1, UPDATE_STARTED, T0 + 5),
	    STORE_EVENT_ACCEPTED);
	status_of("d1", 1, status);
	ck_assert_str_eq(status, "timed_out");
	/* A retry: a new attempt, once; a retry seeing other retries, none. */
	v[0].retry = 1;
	v[0].retries_seen = 0;
	snprintf(v[0].at, sizeof(v[0].at), "2026-01-03T00:00:00Z");
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_offers(c, v, 1), 0);
	ck_assert_int_eq(store_telemetry_offers(c, v, 1), 0);
	store_release(st, c);
	ck_assert_int_eq(count("SELECT count(*) FROM device_updates WHERE"
	                       " device_id = 'd1' AND status = 'offered' AND"
	                       " retries = 1 AND started_at IS NULL AND"
	                       " offered_at = '2026-01-03T00:00:00Z'"),
	    1);
	ck_assert_int_eq(count("SELECT attempt_at FROM device_updates WHERE"
	                       " device_id = 'd1'"),
	    (T0 + 2 * 86400000) / 1000);
	c = store_acquire(st);
	ck_assert_int_eq(store_telemetry_counts(c, 1, &cnt), 0);
	store_release(st, c);
	ck_assert_uint_eq(cnt.total.retries, 1);
	ck_assert_uint_eq(cnt.total.timed_out, 0);
	ck_assert_uint_eq(cnt.total.offered, 1);
	ck_assert_uint_eq(cnt.total.completed, 1);
}
END_TEST

static Suite *
store_telemetry_suite(void)
{
	Suite *s = suite_create("store_telemetry");
	TCase *tc;

	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_outcomes);
	tcase_add_test(tc, test_target);
	tcase_add_test(tc, test_write_rolled_back);
	tcase_add_test(tc, test_write_merge);
	tcase_add_test(tc, test_write_progress);
	tcase_add_test(tc, test_write_stage_index);
	tcase_add_test(tc, test_write_touched);
	suite_add_tcase(s, tc);
	tc = tcase_create("write_group");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120); /* one commit per event for comparison */
	tcase_add_test(tc, test_group_same_row);
	tcase_add_test(tc, test_group_chunks);
	tcase_add_test(tc, test_group_bad_received_at);
	tcase_add_test(tc, test_group_offered);
	suite_add_tcase(s, tc);
	tc = tcase_create("offers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60); /* planting row by row */
	tcase_add_test(tc, test_offers);
	tcase_add_test(tc, test_offers_chunks);
	tcase_add_test(tc, test_timeouts_retries);
	tcase_add_test(tc, test_silent_reverts_chunks);
	suite_add_tcase(s, tc);
	tc = tcase_create("silent_revert");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_silent_revert);
	suite_add_tcase(s, tc);
	tc = tcase_create("counts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	tc = tcase_create("device_events");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_device_events);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(store_telemetry_suite());
}
