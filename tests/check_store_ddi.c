/*
 * check_store_ddi: store_ddi.c against a real SQLite file migrated by the
 * embedded migrations.  Devices, groups, an image and rollouts are
 * planted with plain SQL through a raw handle, which also reads the rows
 * back behind the store's back.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddi.h"
#include "errors.h"
#include "store.h"
#include "store_ddi.h"
#include "store_devices.h"
#include "testutil.h"

#define NOW "2026-01-02T00:00:00Z"
#define LATER "2026-01-03T00:00:00Z"
#define LATEST "2026-01-04T00:00:00Z"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct store_conn *conn;

static void
raw_exec(const char *sql)
{
	testutil_sql_exec(dbpath, sql);
}

/* First column of the first row of sql: an integer, or text into out
 * ("" for NULL). */
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

/*
 * d1, d2 in group g1; d3 in g2.  Image 1 is fw 2.0.0.  Rollouts on g1:
 * 1 running (image 1, 2.0.0), 2 paused (no image left, 3.0.0),
 * 3 aborted (4.0.0), 4 completed (5.0.0); rollout 5 running on g2.
 */
static void
setup(void)
{
	testutil_tmpdir_new("check_store_ddi", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	raw_exec(
	    "INSERT INTO devices (id, hardware, version, created_at) VALUES"
	    " ('d1', 'revA', '1.0.0', 'x'), ('d2', 'revA', '1.0.0', 'x'),"
	    " ('d3', 'revA', NULL, 'x');"
	    "INSERT INTO device_groups (id, name, created_at) VALUES"
	    " (1, 'g1', 'x'), (2, 'g2', 'x');"
	    "INSERT INTO group_members (group_id, device_id) VALUES"
	    " (1, 'd1'), (1, 'd2'), (2, 'd3');"
	    "INSERT INTO images (id, name, version, sha256, size, descriptor,"
	    " signatures, created_at, created_by) VALUES (1, 'fw', '2.0.0',"
	    " printf('%064d', 1), 10, x'00', '[]', 'x', 'ci');"
	    "INSERT INTO rollouts (id, image_id, image_name, image_version,"
	    " state, stages_bp, salt, failure_threshold, min_reports,"
	    " created_at, created_by, updated_at) VALUES"
	    " (1, 1, 'fw', '2.0.0', 'running', '[10000]', zeroblob(32), 0.05,"
	    "  10, 'x', 'ci', 'x'),"
	    " (2, NULL, 'fw', '3.0.0', 'paused', '[10000]', zeroblob(32), 0.05,"
	    "  10, 'x', 'ci', 'x'),"
	    " (3, 1, 'fw', '4.0.0', 'aborted', '[10000]', zeroblob(32), 0.05,"
	    "  10, 'x', 'ci', 'x'),"
	    " (4, 1, 'fw', '5.0.0', 'completed', '[10000]', zeroblob(32),"
	    "  0.05, 10, 'x', 'ci', 'x'),"
	    " (5, 1, 'fw', '2.0.0', 'running', '[10000]', zeroblob(32), 0.05,"
	    "  10, 'x', 'ci', 'x');"
	    "INSERT INTO rollout_groups (rollout_id, group_id) VALUES"
	    " (1, 1), (2, 1), (3, 1), (4, 1), (5, 2);");
	conn = store_acquire(st);
}

static void
teardown(void)
{
	store_release(st, conn);
	conn = NULL;
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Opens (rollout, device)'s action and returns its id. */
static int64_t
open_action(int64_t rollout, const char *device)
{
	struct store_ddi_action a;

	ck_assert_int_eq(
	    store_ddi_action_open(conn, rollout, device, NOW, &a), 0);
	return a.id;
}

/* Sets an action's status (and result) behind the store's back. */
static void
raw_status(int64_t id, const char *status, const char *result)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "UPDATE ddi_actions SET status = '%s', result = %s%s%s"
	    " WHERE id = %lld",
	    status, result ? "'" : "", result ? result : "NULL",
	    result ? "'" : "", (long long)id);
	raw_exec(sql);
}

static enum ddi_status
status_of(int64_t id)
{
	struct store_ddi_action a;
	char device[16];
	char sql[128];

	snprintf(sql, sizeof(sql),
	    "SELECT device_id FROM ddi_actions"
	    " WHERE id = %lld",
	    (long long)id);
	raw_query(sql, device, sizeof(device));
	ck_assert_int_eq(store_ddi_action_get(conn, device, id, &a), 0);
	return a.status;
}

/* A feedback of execution e / finished f with no progress. */
static void
fb_init(struct ddi_feedback *fb, enum ddi_execution e, enum ddi_finished f,
    const char *details)
{
	memset(fb, 0, sizeof(*fb));
	fb->execution = e;
	fb->finished = f;
	fb->progress_cnt = -1;
	fb->progress_of = -1;
	snprintf(fb->details, sizeof(fb->details), "%s", details);
	snprintf(fb->digest, sizeof(fb->digest), "0123456789abcdef");
}

static void
effect_init(struct ddi_effect *e, enum ddi_status s, enum update_state state,
    int sets_version)
{
	memset(e, 0, sizeof(*e));
	e->status = s;
	e->telemetry = 1;
	e->state = state;
	e->progress = -1;
	e->result = state == UPDATE_FAILED ? DDI_FAILURE_RESULT : -1;
	e->sets_version = sets_version;
}

START_TEST(test_poll_empty)
{
	struct store_ddi_poll p;

	memset(&p, 0xff, sizeof(p));
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_uint_eq(p.action_count, 0);
	ck_assert_int_eq(p.attributes_wanted, 1);
	ck_assert_int_eq(p.installed_action_id, 0);
	/* No check that the device exists: the caller read its facts. */
	ck_assert_int_eq(store_ddi_poll_facts(conn, "nobody", &p), 0);
	ck_assert_uint_eq(p.action_count, 0);
	ck_assert_int_eq(p.attributes_wanted, 1);
}
END_TEST

START_TEST(test_poll_actions)
{
	struct store_ddi_poll p;
	int64_t a1, a2, a3, a4, a5, other;

	a4 = open_action(4, "d1"); /* completed rollout, closed: gone */
	a1 = open_action(1, "d1"); /* running rollout, open: listed */
	a2 = open_action(2, "d1"); /* paused rollout, closed: listed */
	a3 = open_action(3, "d1"); /* aborted rollout, closed: gone */
	a5 = open_action(3, "d2"); /* another device's */
	other = open_action(5, "d3");
	(void)other;
	raw_status(a4, "closed", "success");
	raw_status(a2, "closed", "failure");
	raw_status(a3, "canceled", NULL);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_uint_eq(p.action_count, 2);
	/* Newest first. */
	ck_assert_int_eq(p.actions[1].id, a1);
	ck_assert_int_eq(p.actions[1].status, DDI_OPEN);
	ck_assert_str_eq(p.actions[1].rollout_state, "running");
	ck_assert_int_eq(p.actions[1].targeted, 1);
	ck_assert_int_eq(p.actions[1].image_id, 1);
	ck_assert_str_eq(p.actions[1].image_version, "2.0.0");
	ck_assert_int_eq(p.actions[0].id, a2);
	ck_assert_int_eq(p.actions[0].status, DDI_CLOSED);
	ck_assert_str_eq(p.actions[0].result, "failure");
	ck_assert_str_eq(p.actions[0].rollout_state, "paused");
	ck_assert_int_eq(p.actions[0].image_id, 0);
	ck_assert_int_eq(p.installed_action_id, a4);
	/* An action not final stays listed whatever its rollout does. */
	raw_status(a3, "running", NULL);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_uint_eq(p.action_count, 3);
	ck_assert_int_eq(p.actions[0].id, a3);
	ck_assert_str_eq(p.actions[0].rollout_state, "aborted");
	/* Running on a completed rollout: listed (it reports to its end);
	 * still open there: nothing can deploy or cancel it, not listed. */
	raw_status(a4, "running", NULL);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_uint_eq(p.action_count, 4);
	ck_assert_int_eq(p.actions[3].id, a4);
	raw_status(a4, "open", NULL);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_uint_eq(p.action_count, 3);
	raw_status(a4, "closed", "success");
	/* The device leaves g1: no longer targeted by any of them. */
	raw_exec("DELETE FROM group_members WHERE device_id = 'd1'");
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_uint_eq(p.action_count, 3);
	for (size_t i = 0; i < p.action_count; i++)
		ck_assert_int_eq(p.actions[i].targeted, 0);
	/* ...and joins g2 (rollout 5's, not theirs): still not. */
	raw_exec("INSERT INTO group_members VALUES (2, 'd1')");
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.actions[2].targeted, 0);
	raw_exec("INSERT INTO group_members VALUES (1, 'd1')");
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.actions[2].targeted, 1);
	/* d2's action on the aborted rollout is open: listed for d2. */
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d2", &p), 0);
	ck_assert_uint_eq(p.action_count, 1);
	ck_assert_int_eq(p.actions[0].id, a5);
	ck_assert_str_eq(p.actions[0].device_id, "d2");
	ck_assert_int_eq(p.installed_action_id, 0);
	/* The newest closed + success is the installed one; a failure is
	 * not. */
	raw_status(a1, "closed", "success");
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.installed_action_id, a1);
	/* Inside a caller's transaction too. */
	ck_assert_int_eq(store_begin(conn), 0);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.installed_action_id, a1);
	ck_assert_int_eq(store_commit(conn), 0);
}
END_TEST

START_TEST(test_poll_max)
{
	struct store_ddi_poll p;
	char sql[512];

	/* More rollouts with open actions than a poll reads. */
	for (int i = 0; i < STORE_DDI_POLL_ACTIONS_MAX + 3; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO rollouts (id, image_id, image_name,"
		    " image_version, state, stages_bp, salt,"
		    " failure_threshold, min_reports, created_at, created_by,"
		    " updated_at) VALUES (%d, 1, 'fw', '2.0.0', 'running',"
		    " '[10000]', zeroblob(32), 0.05, 10, 'x', 'ci', 'x')",
		    100 + i);
		raw_exec(sql);
		open_action(100 + i, "d1");
	}
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	/* The newest ones: a long history never hides a new action. */
	ck_assert_uint_eq(p.action_count, STORE_DDI_POLL_ACTIONS_MAX);
	ck_assert_int_eq(
	    p.actions[0].rollout_id, 100 + STORE_DDI_POLL_ACTIONS_MAX + 2);
	for (size_t i = 1; i < p.action_count; i++)
		ck_assert_int_lt(p.actions[i].id, p.actions[i - 1].id);
}
END_TEST

START_TEST(test_poll_attributes)
{
	struct store_ddi_poll p;

	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.attributes_wanted, 1);
	/* A refresh before anything was received: still wanted. */
	ck_assert_int_eq(store_ddi_attributes_refresh(conn, "d1"), 0);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.attributes_wanted, 1);
	ck_assert_int_eq(store_ddi_attributes_put(conn, "d1",
	                     "{\"hwRevision\":\"revA\"}", "", "", NOW),
	    0);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.attributes_wanted, 0);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d2", &p), 0);
	ck_assert_int_eq(p.attributes_wanted, 1);
	ck_assert_int_eq(store_ddi_attributes_refresh(conn, "d1"), 0);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.attributes_wanted, 1);
	ck_assert_int_eq(count("SELECT refresh FROM device_attributes"
	                       " WHERE device_id = 'd1'"),
	    1);
	ck_assert_int_eq(store_ddi_attributes_put(conn, "d1",
	                     "{\"hwRevision\":\"revA\"}", "", "", LATER),
	    0);
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_int_eq(p.attributes_wanted, 0);
	ck_assert_int_eq(
	    store_ddi_attributes_refresh(conn, "nobody"), OTA_ENOTFOUND);
}
END_TEST

START_TEST(test_action_open)
{
	struct store_ddi_action a, b, c;

	ck_assert_int_eq(store_ddi_action_open(conn, 1, "d1", NOW, &a), 0);
	ck_assert_int_gt(a.id, 0);
	ck_assert_int_eq(a.rollout_id, 1);
	ck_assert_str_eq(a.device_id, "d1");
	ck_assert_int_eq(a.status, DDI_OPEN);
	ck_assert_str_eq(a.result, "");
	ck_assert_str_eq(a.rollout_state, "running");
	ck_assert_int_eq(a.targeted, 1);
	ck_assert_int_eq(a.image_id, 1);
	ck_assert_str_eq(a.image_version, "2.0.0");
	ck_assert_str_eq(a.created_at, NOW);
	ck_assert_str_eq(a.updated_at, NOW);
	ck_assert_str_eq(a.closed_at, "");
	/* Idempotent: the same row, as it is (even final). */
	ck_assert_int_eq(store_ddi_action_open(conn, 1, "d1", LATER, &b), 0);
	ck_assert_int_eq(b.id, a.id);
	ck_assert_str_eq(b.created_at, NOW);
	raw_status(a.id, "closed", "success");
	ck_assert_int_eq(store_ddi_action_open(conn, 1, "d1", LATER, &b), 0);
	ck_assert_int_eq(b.id, a.id);
	ck_assert_int_eq(b.status, DDI_CLOSED);
	ck_assert_str_eq(b.result, "success");
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"), 1);
	/* A retry: attempt 1 is a new action of the same rollout and
	 * device, open; idempotent too; attempt 0 is still the first. */
	ck_assert_int_eq(
	    store_ddi_action_open_attempt(conn, 1, "d1", 1, LATER, &b), 0);
	ck_assert_int_gt(b.id, a.id);
	ck_assert_int_eq(b.status, DDI_OPEN);
	ck_assert_int_eq(
	    store_ddi_action_open_attempt(conn, 1, "d1", 1, LATER, &c), 0);
	ck_assert_int_eq(c.id, b.id);
	ck_assert_int_eq(store_ddi_action_open(conn, 1, "d1", LATER, &c), 0);
	ck_assert_int_eq(c.id, a.id);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"), 2);
	raw_exec("DELETE FROM ddi_actions WHERE attempt = 1");
	/* Another device, another rollout: other rows. */
	ck_assert_int_eq(store_ddi_action_open(conn, 1, "d2", NOW, &b), 0);
	ck_assert_int_gt(b.id, a.id);
	ck_assert_int_eq(store_ddi_action_open(conn, 5, "d1", NOW, &b), 0);
	ck_assert_int_eq(b.targeted, 0);
	ck_assert_int_eq(store_ddi_action_open(conn, 2, "d1", NOW, &b), 0);
	ck_assert_int_eq(b.image_id, 0);
	ck_assert_str_eq(b.image_version, "3.0.0");
	ck_assert_str_eq(b.rollout_state, "paused");
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"), 4);
	/* Unknown rollout or device. */
	ck_assert_int_eq(
	    store_ddi_action_open(conn, 99, "d1", NOW, &b), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_ddi_action_open(conn, 1, "nobody", NOW, &b), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_ddi_action_open(conn, 1, "d3", "yesterday", &b), OTA_EINVAL);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"), 4);
}
END_TEST

START_TEST(test_action_get)
{
	struct store_ddi_action a;
	int64_t id = open_action(1, "d1");

	ck_assert_int_eq(store_ddi_action_get(conn, "d1", id, &a), 0);
	ck_assert_int_eq(a.id, id);
	ck_assert_str_eq(a.device_id, "d1");
	ck_assert_str_eq(a.image_version, "2.0.0");
	/* Never another device's. */
	ck_assert_int_eq(
	    store_ddi_action_get(conn, "d2", id, &a), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_ddi_action_get(conn, "d1", id + 1, &a), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_ddi_action_get(conn, "nobody", id, &a), OTA_ENOTFOUND);
}
END_TEST

START_TEST(test_action_cancel)
{
	struct store_ddi_action a;
	int64_t open = open_action(1, "d1"), running = open_action(2, "d1");
	int64_t rejected = open_action(3, "d1"), closed = open_action(4, "d1");
	int64_t canceled = open_action(5, "d1");

	raw_status(running, "running", NULL);
	raw_status(rejected, "cancel_rejected", NULL);
	raw_status(closed, "closed", "success");
	raw_status(canceled, "canceled", NULL);
	ck_assert_int_eq(store_ddi_action_cancel(conn, open, LATER), 0);
	ck_assert_int_eq(store_ddi_action_get(conn, "d1", open, &a), 0);
	ck_assert_int_eq(a.status, DDI_CANCELING);
	ck_assert_str_eq(a.updated_at, LATER);
	ck_assert_str_eq(a.closed_at, "");
	/* Already canceling: 0, nothing written. */
	ck_assert_int_eq(store_ddi_action_cancel(conn, open, LATEST), 0);
	ck_assert_int_eq(store_ddi_action_get(conn, "d1", open, &a), 0);
	ck_assert_str_eq(a.updated_at, LATER);
	ck_assert_int_eq(store_ddi_action_cancel(conn, running, LATER), 0);
	ck_assert_int_eq(status_of(running), DDI_CANCELING);
	ck_assert_int_eq(
	    store_ddi_action_cancel(conn, rejected, LATER), OTA_ECONFLICT);
	ck_assert_int_eq(status_of(rejected), DDI_CANCEL_REJECTED);
	ck_assert_int_eq(
	    store_ddi_action_cancel(conn, closed, LATER), OTA_ECONFLICT);
	ck_assert_int_eq(status_of(closed), DDI_CLOSED);
	ck_assert_int_eq(
	    store_ddi_action_cancel(conn, canceled, LATER), OTA_ECONFLICT);
	ck_assert_int_eq(status_of(canceled), DDI_CANCELED);
	ck_assert_int_eq(
	    store_ddi_action_cancel(conn, 999, LATER), OTA_ENOTFOUND);
	ck_assert_int_eq(store_ddi_action_cancel(conn, open, ""), OTA_EINVAL);
}
END_TEST

START_TEST(test_feedback_conflict)
{
	struct ddi_feedback fb;
	struct ddi_effect e;
	int64_t id = open_action(1, "d1");

	fb_init(&fb, DDI_EXEC_PROCEEDING, DDI_FINISHED_NONE, "");
	effect_init(&e, DDI_RUNNING, UPDATE_STARTED, 0);
	/* The caller computed from running; the row is open. */
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_RUNNING, &e, LATER),
	    OTA_ECONFLICT);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_feedback"), 0);
	ck_assert_int_eq(status_of(id), DDI_OPEN);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"
	                       " WHERE updated_at = '" NOW "'"),
	    1);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, 999, 0, &fb, DDI_OPEN, &e, LATER),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_OPEN, &e, "now"),
	    OTA_EINVAL);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_feedback"), 0);
}
END_TEST

START_TEST(test_feedback_success)
{
	struct store_ddi_feedback_row *v = NULL;
	struct store_ddi_action a;
	struct ddi_feedback fb;
	struct ddi_effect e;
	char version[32];
	size_t n = 0;
	int64_t id = open_action(1, "d1");

	fb_init(&fb, DDI_EXEC_PROCEEDING, DDI_FINISHED_NONE, "downloading");
	fb.progress_cnt = 2;
	fb.progress_of = 5;
	effect_init(&e, DDI_RUNNING, UPDATE_STARTED, 0);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_OPEN, &e, LATER), 0);
	ck_assert_int_eq(store_ddi_action_get(conn, "d1", id, &a), 0);
	ck_assert_int_eq(a.status, DDI_RUNNING);
	ck_assert_str_eq(a.result, "");
	ck_assert_str_eq(a.closed_at, "");
	ck_assert_str_eq(a.updated_at, LATER);
	/* closed + success: result, closed_at and the device's version. */
	fb_init(&fb, DDI_EXEC_CLOSED, DDI_FINISHED_SUCCESS, "line 1\nline 2");
	effect_init(&e, DDI_CLOSED, UPDATE_COMPLETED, 1);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_RUNNING, &e, LATER), 0);
	ck_assert_int_eq(store_ddi_action_get(conn, "d1", id, &a), 0);
	ck_assert_int_eq(a.status, DDI_CLOSED);
	ck_assert_str_eq(a.result, "success");
	ck_assert_str_eq(a.closed_at, LATER);
	raw_query("SELECT version FROM devices WHERE id = 'd1'", version,
	    sizeof(version));
	ck_assert_str_eq(version, "2.0.0");
	raw_query("SELECT version FROM devices WHERE id = 'd2'", version,
	    sizeof(version));
	ck_assert_str_eq(version, "1.0.0");
	/* A retry on the closed action: recorded, nothing else moves. */
	effect_init(&e, DDI_CLOSED, UPDATE_COMPLETED, 0);
	e.telemetry = 0;
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_CLOSED, &e, LATEST), 0);
	ck_assert_int_eq(store_ddi_action_get(conn, "d1", id, &a), 0);
	ck_assert_str_eq(a.closed_at, LATER);
	ck_assert_str_eq(a.updated_at, LATEST);
	ck_assert_str_eq(a.result, "success");
	/* The record, in order. */
	ck_assert_int_eq(store_ddi_feedback_list(conn, id, 0, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0].action_id, id);
	ck_assert_int_eq(v[0].is_cancel, 0);
	ck_assert_str_eq(v[0].execution, "proceeding");
	ck_assert_str_eq(v[0].finished, "none");
	ck_assert_int_eq(v[0].progress_cnt, 2);
	ck_assert_int_eq(v[0].progress_of, 5);
	ck_assert_str_eq(v[0].details, "downloading");
	ck_assert_str_eq(v[0].status_after, "running");
	ck_assert_str_eq(v[0].received_at, LATER);
	ck_assert_str_eq(v[1].execution, "closed");
	ck_assert_str_eq(v[1].finished, "success");
	ck_assert_int_eq(v[1].progress_cnt, -1);
	ck_assert_int_eq(v[1].progress_of, -1);
	ck_assert_str_eq(v[1].details, "line 1\nline 2");
	ck_assert_str_eq(v[1].status_after, "closed");
	ck_assert_int_gt(v[1].id, v[0].id);
	ck_assert_int_gt(v[2].id, v[1].id);
	ck_assert_str_eq(v[2].received_at, LATEST);
	free(v);
	v = NULL;
	/* Paging and limits. */
	ck_assert_int_eq(store_ddi_feedback_list(conn, id, 0, 2, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	free(v);
	v = NULL;
	ck_assert_int_eq(
	    store_ddi_feedback_list(conn, id,
	        (int64_t)count("SELECT max(id) FROM ddi_feedback"), 10, &v, &n),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(
	    store_ddi_feedback_list(conn, id, 0, 0, &v, &n), OTA_EINVAL);
	ck_assert_int_eq(store_ddi_feedback_list(
	                     conn, id, 0, STORE_DDI_LIST_MAX + 1, &v, &n),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    store_ddi_feedback_list(conn, id, -1, 10, &v, &n), OTA_EINVAL);
	ck_assert_int_eq(
	    store_ddi_feedback_list(conn, id + 1, 0, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_feedback_failure_cancel)
{
	struct store_ddi_feedback_row *v = NULL;
	struct store_ddi_action a;
	struct store_ddi_poll p;
	struct ddi_feedback fb;
	struct ddi_effect e;
	char version[32];
	size_t n = 0;
	int64_t failed = open_action(1, "d1"), canceled = open_action(2, "d1");

	fb_init(&fb, DDI_EXEC_CLOSED, DDI_FINISHED_FAILURE, "no space");
	effect_init(&e, DDI_CLOSED, UPDATE_FAILED, 0);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, failed, 0, &fb, DDI_OPEN, &e, LATER), 0);
	ck_assert_int_eq(store_ddi_action_get(conn, "d1", failed, &a), 0);
	ck_assert_int_eq(a.status, DDI_CLOSED);
	ck_assert_str_eq(a.result, "failure");
	ck_assert_str_eq(a.closed_at, LATER);
	raw_query("SELECT version FROM devices WHERE id = 'd1'", version,
	    sizeof(version));
	ck_assert_str_eq(version, "1.0.0");
	/* The device confirms a cancel: canceled, closed_at, no result. */
	ck_assert_int_eq(store_ddi_action_cancel(conn, canceled, NOW), 0);
	fb_init(&fb, DDI_EXEC_CANCELED, DDI_FINISHED_NONE, "");
	effect_init(&e, DDI_CANCELED, UPDATE_STARTED, 0);
	e.telemetry = 0;
	ck_assert_int_eq(store_ddi_feedback(
	                     conn, canceled, 1, &fb, DDI_CANCELING, &e, LATEST),
	    0);
	ck_assert_int_eq(store_ddi_action_get(conn, "d1", canceled, &a), 0);
	ck_assert_int_eq(a.status, DDI_CANCELED);
	ck_assert_str_eq(a.result, "");
	ck_assert_str_eq(a.closed_at, LATEST);
	ck_assert_int_eq(
	    store_ddi_feedback_list(conn, canceled, 0, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0].is_cancel, 1);
	ck_assert_str_eq(v[0].execution, "canceled");
	ck_assert_str_eq(v[0].status_after, "canceled");
	free(v);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_feedback"), 2);
	/* Both final: the poll lists them while their rollouts are running
	 * or paused (never offered again). */
	ck_assert_int_eq(store_ddi_poll_facts(conn, "d1", &p), 0);
	ck_assert_uint_eq(p.action_count, 2);
	ck_assert_int_eq(p.actions[0].id, canceled);
	ck_assert_int_eq(p.actions[1].id, failed);
	ck_assert_int_eq(p.installed_action_id, 0);
	/* Values outside the enums: nothing written. */
	effect_init(&e, (enum ddi_status)99, UPDATE_STARTED, 0);
	ck_assert_int_eq(store_ddi_feedback(
	                     conn, canceled, 1, &fb, DDI_CANCELED, &e, LATEST),
	    OTA_EINVAL);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_feedback"), 2);
}
END_TEST

START_TEST(test_feedback_rolled_back)
{
	struct ddi_feedback fb;
	struct ddi_effect e;
	int64_t id = open_action(1, "d1");

	/* The last write of the transaction fails: nothing is kept. */
	if (testutil_db_is_postgres())
		raw_exec(
		    "CREATE FUNCTION no_version() RETURNS trigger"
		    " LANGUAGE plpgsql AS $$ BEGIN"
		    " RAISE EXCEPTION 'refused'; END $$;"
		    " CREATE TRIGGER no_version BEFORE UPDATE OF version ON"
		    " devices FOR EACH ROW EXECUTE FUNCTION no_version()");
	else
		raw_exec("CREATE TRIGGER no_version BEFORE UPDATE OF version ON"
		         " devices BEGIN SELECT RAISE(ABORT, 'refused'); END");
	fb_init(&fb, DDI_EXEC_CLOSED, DDI_FINISHED_SUCCESS, "");
	effect_init(&e, DDI_CLOSED, UPDATE_COMPLETED, 1);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_OPEN, &e, LATER), OTA_EDB);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_feedback"), 0);
	ck_assert_int_eq(status_of(id), DDI_OPEN);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"
	                       " WHERE closed_at IS NULL AND result IS NULL"),
	    1);
	/* The connection is usable again. */
	raw_exec(testutil_db_is_postgres()
	             ? "DROP TRIGGER no_version ON devices"
	             : "DROP TRIGGER no_version");
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_OPEN, &e, LATER), 0);
	ck_assert_int_eq(status_of(id), DDI_CLOSED);
}
END_TEST

START_TEST(test_installed)
{
	struct store_ddi_action a;
	int64_t first = open_action(4, "d1"), second = open_action(1, "d1");
	int64_t failed = open_action(2, "d1");

	ck_assert_int_eq(store_ddi_installed(conn, "d1", &a), OTA_ENOTFOUND);
	raw_status(first, "closed", "success");
	ck_assert_int_eq(store_ddi_installed(conn, "d1", &a), 0);
	ck_assert_int_eq(a.id, first);
	ck_assert_str_eq(a.image_version, "5.0.0");
	raw_status(second, "closed", "success");
	raw_status(failed, "closed", "failure");
	ck_assert_int_eq(store_ddi_installed(conn, "d1", &a), 0);
	ck_assert_int_eq(a.id, second);
	ck_assert_str_eq(a.result, "success");
	ck_assert_int_eq(store_ddi_installed(conn, "d2", &a), OTA_ENOTFOUND);
}
END_TEST

START_TEST(test_actions_list)
{
	struct store_ddi_action *v = NULL;
	size_t n = 0;
	int64_t ids[5];

	for (int i = 0; i < 5; i++)
		ids[i] = open_action(i + 1, "d1");
	open_action(1, "d2");
	ck_assert_int_eq(store_ddi_actions_list(conn, "d1", 0, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(v[i].id, ids[i]);
		ck_assert_str_eq(v[i].device_id, "d1");
	}
	ck_assert_str_eq(v[2].rollout_state, "aborted");
	free(v);
	v = NULL;
	ck_assert_int_eq(store_ddi_actions_list(conn, "d1", 0, 2, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(v[1].id, ids[1]);
	free(v);
	v = NULL;
	ck_assert_int_eq(
	    store_ddi_actions_list(conn, "d1", ids[1], 2, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(v[0].id, ids[2]);
	ck_assert_int_eq(v[1].id, ids[3]);
	free(v);
	v = NULL;
	ck_assert_int_eq(
	    store_ddi_actions_list(conn, "d1", ids[4], 2, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(store_ddi_actions_list(conn, "d3", 0, 2, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(
	    store_ddi_actions_list(conn, "d1", 0, 0, &v, &n), OTA_EINVAL);
	ck_assert_int_eq(store_ddi_actions_list(
	                     conn, "d1", 0, STORE_DDI_LIST_MAX + 1, &v, &n),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    store_ddi_actions_list(conn, "d1", -1, 10, &v, &n), OTA_EINVAL);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(
	    store_ddi_actions_list(conn, "d1", 0, STORE_DDI_LIST_MAX, &v, &n),
	    0);
	ck_assert_uint_eq(n, 5);
	free(v);
}
END_TEST

START_TEST(test_attributes)
{
	char *json = NULL, at[21], text[64];

	memset(at, 'x', sizeof(at));
	ck_assert_int_eq(store_ddi_attributes_get(conn, "d1", &json, at), 0);
	ck_assert_ptr_null(json);
	ck_assert_str_eq(at, "");
	ck_assert_int_eq(
	    store_ddi_attributes_put(conn, "nobody", "{}", "revB", "", NOW),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(count("SELECT count(*) FROM device_attributes"), 0);
	ck_assert_int_eq(
	    store_ddi_attributes_put(conn, "d1", "{}", "", "", "x"),
	    OTA_EINVAL);
	ck_assert_int_eq(store_ddi_attributes_put(conn, "d1", "{}",
	                     "0123456789012345678901234567890123456789"
	                     "0123456789012345678901234567890123456789",
	                     "", NOW),
	    OTA_EINVAL);
	ck_assert_int_eq(count("SELECT count(*) FROM device_attributes"), 0);
	/* With the device's facts. */
	ck_assert_int_eq(
	    store_ddi_attributes_put(conn, "d1",
	        "{\"hw\":\"revB\",\"sw\":\"1.5.0\"}", "revB", "1.5.0", NOW),
	    0);
	ck_assert_int_eq(store_ddi_attributes_get(conn, "d1", &json, at), 0);
	ck_assert_str_eq(json, "{\"hw\":\"revB\",\"sw\":\"1.5.0\"}");
	ck_assert_str_eq(at, NOW);
	free(json);
	json = NULL;
	/* The reported hardware; the provisioned one never changes here. */
	raw_query("SELECT hardware || ' ' || reported_hardware FROM devices"
	          " WHERE id = 'd1'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "revA revB");
	raw_query(
	    "SELECT version FROM devices WHERE id = 'd1'", text, sizeof(text));
	ck_assert_str_eq(text, "1.5.0");
	/* Without: the columns stay; the attributes are the whole set. */
	ck_assert_int_eq(store_ddi_attributes_put(
	                     conn, "d1", "{\"a\":\"b\"}", "", "", LATER),
	    0);
	ck_assert_int_eq(store_ddi_attributes_get(conn, "d1", &json, NULL), 0);
	ck_assert_str_eq(json, "{\"a\":\"b\"}");
	free(json);
	json = NULL;
	raw_query("SELECT reported_hardware || ' ' || version FROM devices"
	          " WHERE id = 'd1'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "revB 1.5.0");
	/* Only one of them. */
	ck_assert_int_eq(store_ddi_attributes_put(
	                     conn, "d1", "{\"a\":\"b\"}", "", "1.6.0", LATER),
	    0);
	raw_query("SELECT reported_hardware || ' ' || version FROM devices"
	          " WHERE id = 'd1'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "revB 1.6.0");
	ck_assert_int_eq(count("SELECT count(*) FROM device_attributes"), 1);
	ck_assert_int_eq(store_ddi_attributes_get(conn, "d2", &json, at), 0);
	ck_assert_ptr_null(json);
	/* In the caller's transaction (a merge): its rollback undoes all;
	 * its commit keeps all. */
	ck_assert_int_eq(store_begin(conn), 0);
	ck_assert_int_eq(store_ddi_attributes_put(
	                     conn, "d2", "{\"a\":\"c\"}", "revC", "", LATER),
	    0);
	store_rollback(conn);
	ck_assert_int_eq(store_ddi_attributes_get(conn, "d2", &json, at), 0);
	ck_assert_ptr_null(json);
	raw_query(
	    "SELECT hardware FROM devices WHERE id = 'd2'", text, sizeof(text));
	ck_assert_str_eq(text, "revA");
	ck_assert_int_eq(store_begin(conn), 0);
	ck_assert_int_eq(store_ddi_attributes_put(
	                     conn, "d2", "{\"a\":\"c\"}", "revC", "", LATER),
	    0);
	ck_assert_int_eq(store_commit(conn), 0);
	ck_assert_int_eq(store_ddi_attributes_get(conn, "d2", &json, at), 0);
	ck_assert_str_eq(json, "{\"a\":\"c\"}");
	free(json);
	raw_query("SELECT hardware || ' ' || reported_hardware FROM devices"
	          " WHERE id = 'd2'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "revA revC");
}
END_TEST

START_TEST(test_device_delete_cascades)
{
	struct ddi_feedback fb;
	struct ddi_effect e;
	int64_t id = open_action(1, "d1");

	open_action(1, "d2");
	fb_init(&fb, DDI_EXEC_PROCEEDING, DDI_FINISHED_NONE, "");
	effect_init(&e, DDI_RUNNING, UPDATE_STARTED, 0);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_OPEN, &e, LATER), 0);
	ck_assert_int_eq(
	    store_ddi_attributes_put(conn, "d1", "{}", "", "", NOW), 0);
	ck_assert_int_eq(store_device_delete(conn, "d1"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"
	                       " WHERE device_id = 'd1'"),
	    0);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_feedback"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM device_attributes"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM ddi_actions"), 1);
}
END_TEST

/* The devices hook's ids, each report followed by a space. */
static void
record_changes(void *arg, const char *ids)
{
	char *buf = arg;
	size_t n = strlen(buf);

	snprintf(buf + n, 256 - n, "%s ", ids);
}

/* Every write that changes what a DDI poll reads of a device reports the
 * device (a cache of the poll's facts forgets it); a write that changes
 * nothing reports nothing. */
START_TEST(test_changes_reported)
{
	static char seen[256];
	struct store_ddi_action a;
	struct ddi_feedback fb;
	struct ddi_effect e;
	size_t n;
	int64_t id;

	store_set_devices_hook(st, record_changes, seen);
	seen[0] = '\0';
	id = open_action(1, "d1");
	ck_assert_str_eq(seen, "d1 ");
	seen[0] = '\0';
	ck_assert_int_eq(store_ddi_action_open(conn, 1, "d1", LATER, &a), 0);
	ck_assert_str_eq(seen, "");
	fb_init(&fb, DDI_EXEC_PROCEEDING, DDI_FINISHED_NONE, "");
	effect_init(&e, DDI_RUNNING, UPDATE_STARTED, 0);
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_OPEN, &e, LATER), 0);
	ck_assert_str_eq(seen, "d1 ");
	seen[0] = '\0';
	ck_assert_int_eq(
	    store_ddi_feedback(conn, id, 0, &fb, DDI_OPEN, &e, LATER),
	    OTA_ECONFLICT);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(store_ddi_action_cancel(conn, id, LATER), 0);
	ck_assert_str_eq(seen, "d1 ");
	seen[0] = '\0';
	ck_assert_int_eq(store_ddi_action_cancel(conn, id, LATER), 0);
	ck_assert_str_eq(seen, "");
	id = open_action(1, "d2");
	seen[0] = '\0';
	ck_assert_int_eq(store_begin(conn), 0);
	ck_assert_int_eq(
	    store_ddi_actions_cancel_unfit(conn, "d2", "revZ", LATER, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_commit(conn), 0);
	ck_assert_str_eq(seen, "d2 ");
	seen[0] = '\0';
	ck_assert_int_eq(store_begin(conn), 0);
	ck_assert_int_eq(
	    store_ddi_actions_cancel_unfit(conn, "d2", "revZ", LATER, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_commit(conn), 0);
	ck_assert_str_eq(seen, "");
	/* configData without facts: what the poll asks changes. */
	ck_assert_int_eq(
	    store_ddi_attributes_put(conn, "d3", "{}", "", "", NOW), 0);
	ck_assert_str_eq(seen, "d3 ");
	seen[0] = '\0';
	ck_assert_int_eq(store_ddi_attributes_refresh(conn, "d3"), 0);
	ck_assert_str_eq(seen, "d3 ");
	seen[0] = '\0';
	/* Never received: already wanted, nothing changes. */
	ck_assert_int_eq(store_ddi_attributes_refresh(conn, "d1"), 0);
	ck_assert_str_eq(seen, "");
	store_set_devices_hook(st, NULL, NULL);
}
END_TEST

static Suite *
store_ddi_suite(void)
{
	Suite *s = suite_create("store_ddi");
	TCase *tc;

	tc = tcase_create("poll_facts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_poll_empty);
	tcase_add_test(tc, test_poll_actions);
	tcase_add_test(tc, test_poll_max);
	tcase_add_test(tc, test_poll_attributes);
	suite_add_tcase(s, tc);
	tc = tcase_create("actions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_action_open);
	tcase_add_test(tc, test_action_get);
	tcase_add_test(tc, test_action_cancel);
	tcase_add_test(tc, test_installed);
	tcase_add_test(tc, test_actions_list);
	suite_add_tcase(s, tc);
	tc = tcase_create("feedback");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_feedback_conflict);
	tcase_add_test(tc, test_feedback_success);
	tcase_add_test(tc, test_feedback_failure_cancel);
	tcase_add_test(tc, test_feedback_rolled_back);
	suite_add_tcase(s, tc);
	tc = tcase_create("attributes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_attributes);
	tcase_add_test(tc, test_device_delete_cascades);
	tcase_add_test(tc, test_changes_reported);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(store_ddi_suite());
}
