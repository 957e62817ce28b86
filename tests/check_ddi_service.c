/*
 * check_ddi_service: the DDI service over a real SQLite file migrated by
 * the embedded migrations, with its real collaborators (offer cache, seen
 * buffer without a thread, telemetry writer).  The image goes in through
 * the store; devices, groups and rollouts are planted with plain SQL,
 * which also reads the rows back behind the service's back.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ddi.h"
#include "ddi_service.h"
#include "errors.h"
#include "offers.h"
#include "seen.h"
#include "store.h"
#include "store_images.h"
#include "telemetry.h"
#include "testutil.h"

#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static atomic_uint_fast64_t gen;
static struct offers *offers;
static struct seen *seen;
static struct telemetry *tel;
static struct ddi_service *svc;
static int64_t image_id;

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
text_of(const char *sql, char *out, size_t outlen)
{
	testutil_sql_query(dbpath, sql, out, outlen);
}

/* The telemetry writer the feedback submits to, over st and seen (no
 * rollout service: no automatic pause here). */
static struct telemetry *
start_telemetry(void)
{
	return telemetry_start(st, seen, NULL, 64);
}

/*
 * d1 (version 1.0.0) and d2 (no version yet) in group g1; d3 (1.0.0) in
 * no group.  Rollout 1 runs image fw 2.0.0 on g1 at 100 %.
 */
static void
setup(void)
{
	char sql[1024];

	ck_assert_int_eq(crypto_init(), 0);
	testutil_tmpdir_new("check_ddi_service", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 4, &st), 0);
	image_id = testutil_image_insert(
	    st, "fw", "2.0.0", 1234, 0xab, "tester", NULL);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO devices (id, hardware, version, created_at) VALUES"
	    " ('d1', 'revA', '1.0.0', 'x'), ('d2', 'revA', NULL, 'x'),"
	    " ('d3', 'revA', '1.0.0', 'x');"
	    "INSERT INTO device_groups (id, name, created_at) VALUES"
	    " (1, 'g1', 'x');"
	    "INSERT INTO group_members (group_id, device_id) VALUES"
	    " (1, 'd1'), (1, 'd2');"
	    "INSERT INTO rollouts (id, image_id, image_name, image_version,"
	    " state, stages_bp, salt, failure_threshold, min_reports,"
	    " created_at, created_by, updated_at) VALUES"
	    " (1, %lld, 'fw', '2.0.0', 'running', '[10000]', zeroblob(32),"
	    "  0.05, 10, 'x', 'ci', 'x');"
	    "INSERT INTO rollout_groups (rollout_id, group_id) VALUES (1, 1);",
	    (long long)image_id);
	raw_exec(sql);
	gen = 0;
	offers = offers_new(st, &gen);
	ck_assert_ptr_nonnull(offers);
	seen = seen_start(st, SEEN_BYTES_MIN, 0, 0);
	ck_assert_ptr_nonnull(seen);
	tel = start_telemetry();
	ck_assert_ptr_nonnull(tel);
	svc =
	    ddi_service_new(st, offers, seen, tel, "hw_revision", "sw_version");
	ck_assert_ptr_nonnull(svc);
}

static void
teardown(void)
{
	ddi_service_free(svc);
	svc = NULL;
	telemetry_stop(tel);
	tel = NULL;
	seen_stop(seen);
	seen = NULL;
	offers_free(offers);
	offers = NULL;
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Polls device id and checks the answer's kind; returns it in *out. */
static void
poll_as(const char *id, enum ddi_poll_kind want, struct ddi_service_poll *out)
{
	ck_assert_int_eq(ddi_service_poll(svc, id, 1767225600, out), 0);
	ck_assert_int_eq(out->kind, want);
}

/* The status of action id as stored. */
static const char *
status_of(int64_t id)
{
	static char status[32];
	char sql[128];

	snprintf(sql, sizeof(sql),
	    "SELECT status FROM ddi_actions WHERE id = %lld", (long long)id);
	text_of(sql, status, sizeof(status));
	return status;
}

/* A feedback of execution e / finished f, no progress. */
static void
fb_init(struct ddi_feedback *fb, enum ddi_execution e, enum ddi_finished f,
    const char *digest)
{
	memset(fb, 0, sizeof(*fb));
	fb->execution = e;
	fb->finished = f;
	fb->progress_cnt = -1;
	fb->progress_of = -1;
	snprintf(fb->details, sizeof(fb->details), "details");
	snprintf(fb->digest, sizeof(fb->digest), "%s", digest);
}

/* configData text body of device id through the service; returns its
 * code, the reason in err[320]. */
static int
config_data(const char *id, const char *body_text, char *err)
{
	struct ddi_config cfg;
	json_t *body = json_loads(body_text, 0, NULL);
	int rc;

	ck_assert_ptr_nonnull(body);
	err[0] = '\0';
	rc = ddi_config_parse(body, &cfg, err, 320);
	if (rc == 0)
		rc = ddi_service_config_data(svc, id, &cfg, err, 320);
	json_decref(body);
	return rc;
}

/* One of two writers of configData at once: merges keys "<tag>0".. */
struct merger {
	pthread_t thread;
	char tag;
	int count;
	int failed;
};

static void *
merger_main(void *arg)
{
	struct merger *m = arg;

	for (int i = 0; i < m->count; i++) {
		char body[96], err[320];

		snprintf(body, sizeof(body), "{\"data\":{\"%c%d\":\"v\"}}",
		    m->tag, i);
		m->failed += config_data("d1", body, err) != 0;
	}
	return NULL;
}

/* One of the writers of test_config_data_mixed: thread n sends, in
 * turn, a key of its own to d1 (stored), a version that is no SemVer to
 * d2 (OTA_EINVAL, with its reason) and anything to ghost (OTA_ENOTFOUND). */
struct mixer {
	pthread_t thread;
	int n;
	int wrong; /* answers other than expected */
};

static void *
mixer_main(void *arg)
{
	struct mixer *m = arg;
	char body[96], err[320];

	/* 8 threads x 7 keys: under DDI_ATTR_MAX. */
	for (int i = 0; i < 7; i++) {
		snprintf(body, sizeof(body), "{\"data\":{\"m%d_%d\":\"v\"}}",
		    m->n, i);
		m->wrong += config_data("d1", body, err) != 0;
		m->wrong +=
		    config_data("d2", "{\"data\":{\"sw_version\":\"v2\"}}",
		        err) != OTA_EINVAL ||
		    strstr(err, "sw_version") == NULL;
		m->wrong += config_data("ghost", body, err) != OTA_ENOTFOUND;
	}
	return NULL;
}

/* Many configData at once share transactions (group commit): each
 * caller gets its own answer, a refused one never fails the others
 * committed with it, and every accepted one is stored. */
START_TEST(test_config_data_mixed)
{
	struct mixer m[8];
	char text[8192], key[32];

	for (int i = 0; i < 8; i++) {
		m[i].n = i;
		m[i].wrong = 0;
		ck_assert_int_eq(
		    pthread_create(&m[i].thread, NULL, mixer_main, &m[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(m[i].thread, NULL), 0);
		ck_assert_int_eq(m[i].wrong, 0);
	}
	text_of("SELECT attributes FROM device_attributes WHERE device_id ="
	        " 'd1'",
	    text, sizeof(text));
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 7; j++) {
			snprintf(key, sizeof(key), "\"m%d_%d\"", i, j);
			ck_assert_msg(strstr(text, key) != NULL, "%s lost: %s",
			    key, text);
		}
	ck_assert_int_eq(count("SELECT count(*) FROM device_attributes"
	                       " WHERE device_id <> 'd1'"),
	    0);
}
END_TEST

/* ddi_service_new, ddi_service_free */

/* Two configData merges of one device at once, each a read-modify-write
 * of its attributes on its own connection: none is lost. */
START_TEST(test_config_data_concurrent)
{
	struct merger m[2] = {
	    {.tag = 'a', .count = 30}, {.tag = 'b', .count = 30}};
	char text[4096], key[24];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(
		    pthread_create(&m[i].thread, NULL, merger_main, &m[i]), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_join(m[i].thread, NULL), 0);
		ck_assert_int_eq(m[i].failed, 0);
	}
	text_of("SELECT attributes FROM device_attributes WHERE device_id ="
	        " 'd1'",
	    text, sizeof(text));
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < m[i].count; j++) {
			snprintf(key, sizeof(key), "\"%c%d\"", m[i].tag, j);
			ck_assert_msg(strstr(text, key) != NULL, "%s lost: %s",
			    key, text);
		}
}
END_TEST

START_TEST(test_new_free)
{
	struct ddi_service *s;

	s = ddi_service_new(st, offers, seen, tel, NULL, "");
	ck_assert_ptr_nonnull(s);
	ddi_service_free(s);
	ddi_service_free(NULL);
}
END_TEST

/* ddi_service_config_submit: answered once each, after the commit, and
 * a service freed with jobs queued answers them all first. */
static void
submit_done(struct ddi_service_config_job *j)
{
	int *calls = j->arg;

	(*calls)++;
}

START_TEST(test_config_submit)
{
	struct ddi_service *s2;
	struct ddi_service_config_job jobs[12];
	struct ddi_config cfg[12];
	json_t *body[12];
	char err[12][320], sql[128], ver[32];
	int calls[12] = {0};

	s2 =
	    ddi_service_new(st, offers, seen, tel, "hw_revision", "sw_version");
	ck_assert_ptr_nonnull(s2);
	for (int i = 0; i < 12; i++) {
		snprintf(sql, sizeof(sql),
		    "{\"data\":{\"sw_version\":\"3.0.%d\"}}", i);
		body[i] = json_loads(sql, 0, NULL);
		ck_assert_int_eq(
		    ddi_config_parse(body[i], &cfg[i], err[i], 320), 0);
		memset(&jobs[i], 0, sizeof(jobs[i]));
		/* d1 and d2 in turn; the last one an unknown device. */
		jobs[i].device_id = i == 11 ? "ghost" : i % 2 ? "d2" : "d1";
		jobs[i].cfg = &cfg[i];
		jobs[i].err = err[i];
		jobs[i].errlen = 320;
		jobs[i].done = submit_done;
		jobs[i].arg = &calls[i];
		ck_assert_int_eq(ddi_service_config_submit(s2, &jobs[i]), 0);
	}
	ddi_service_free(s2);
	for (int i = 0; i < 12; i++) {
		ck_assert_int_eq(calls[i], 1);
		ck_assert_int_eq(jobs[i].rc, i == 11 ? OTA_ENOTFOUND : 0);
		json_decref(body[i]);
	}
	/* In arrival order: each device's last one stands. */
	text_of(
	    "SELECT version FROM devices WHERE id = 'd1'", ver, sizeof(ver));
	ck_assert_str_eq(ver, "3.0.10");
	text_of(
	    "SELECT version FROM devices WHERE id = 'd2'", ver, sizeof(ver));
	ck_assert_str_eq(ver, "3.0.9");
}
END_TEST

/* ddi_service_poll: no action */

START_TEST(test_poll_none)
{
	struct ddi_service_poll p;

	ck_assert_int_eq(
	    ddi_service_poll(svc, "ghost", 1767225600, &p), OTA_ENOTFOUND);
	/* Outside every group: nothing offered, no row. */
	poll_as("d3", DDI_POLL_NONE, &p);
	ck_assert_int_eq(p.action_id, 0);
	ck_assert_int_eq(p.attributes_wanted, 1); /* no configData yet */
	ck_assert_int_eq(p.installed_action_id, 0);
	/* In the group but no known version: no offer either. */
	poll_as("d2", DDI_POLL_NONE, &p);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM ddi_actions"), 0);
	/* The poll reports went to seen: the flush writes last_seen. */
	ck_assert_int_eq(seen_flush(seen), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_seen"), 2);
}
END_TEST

/* ddi_service_poll: the offered rollout's action is opened and deployed */

START_TEST(test_poll_deploy)
{
	struct ddi_service_poll p, again;

	poll_as("d1", DDI_POLL_DEPLOY, &p);
	ck_assert_int_gt(p.action_id, 0);
	ck_assert_str_eq(status_of(p.action_id), "open");
	ck_assert_int_eq(p.image.id, image_id);
	ck_assert_str_eq(p.image.name, "fw");
	ck_assert_str_eq(p.image.version, "2.0.0");
	ck_assert_str_eq(p.image.filename, "fw-2.0.0.bin");
	ck_assert_uint_eq(p.image.size, 1234);
	ck_assert_str_eq(p.image.sha1_hex, ABC_SHA1);
	ck_assert_str_eq(p.image.md5_hex, ABC_MD5);
	ck_assert_int_eq(strspn(p.image.sha256_hex, "ab"), 64);
	/* The next poll deploys the same action: one row. */
	poll_as("d1", DDI_POLL_DEPLOY, &again);
	ck_assert_int_eq(again.action_id, p.action_id);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM ddi_actions"), 1);
	/* The offer was recorded: the flush makes its update row. */
	ck_assert_int_eq(seen_flush(seen), 0);
	ck_assert_int_eq(count("SELECT COUNT(*) FROM device_updates"
	                       " WHERE device_id = 'd1' AND rollout_id = 1"),
	    1);
}
END_TEST

/* ddi_service_poll: an action whose device left the rollout is canceled */

START_TEST(test_poll_cancel)
{
	struct ddi_service_poll p, c;

	poll_as("d1", DDI_POLL_DEPLOY, &p);
	raw_exec("DELETE FROM group_members WHERE device_id = 'd1'");
	poll_as("d1", DDI_POLL_CANCEL, &c);
	ck_assert_int_eq(c.action_id, p.action_id);
	ck_assert_str_eq(status_of(p.action_id), "canceling");
	/* Still canceling until the device answers. */
	poll_as("d1", DDI_POLL_CANCEL, &c);
	ck_assert_int_eq(c.action_id, p.action_id);
	/* Final meanwhile: no action link. */
	raw_exec("UPDATE ddi_actions SET status = 'canceled'");
	poll_as("d1", DDI_POLL_NONE, &c);
	ck_assert_int_eq(c.action_id, 0);
}
END_TEST

/* ddi_service_poll: a deployment whose image is gone deploys nothing */

START_TEST(test_poll_image_gone)
{
	struct ddi_service_poll p;

	poll_as("d1", DDI_POLL_DEPLOY, &p);
	/* Running: the action carries on, but the rollout leaves the
	 * snapshot and its image row goes. */
	raw_exec("UPDATE ddi_actions SET status = 'running';"
	         "UPDATE rollouts SET state = 'completed', image_id = NULL;");
	atomic_fetch_add(&gen, 1);
	poll_as("d1", DDI_POLL_NONE, &p);
}
END_TEST

/* ddi_service_action, ddi_service_artifact */

START_TEST(test_action_artifact)
{
	struct ddi_service_poll p;
	struct store_image *img = NULL;
	struct ddi_modes modes;

	poll_as("d1", DDI_POLL_DEPLOY, &p);
	ck_assert_int_eq(ddi_service_action(svc, "d1", p.action_id,
	                     DDI_VIEW_DEPLOYMENT, 1767225600, &img, &modes),
	    0);
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(img->id, image_id);
	/* A forced rollout without windows: hawkBit's defaults. */
	ck_assert_str_eq(modes.download, "forced");
	ck_assert_str_eq(modes.update, "forced");
	ck_assert_str_eq(modes.window, "available");
	ck_assert_str_eq(p.modes.update, "forced");
	store_image_free(img);
	ck_assert_int_eq(ddi_service_action(svc, "d1", p.action_id,
	                     DDI_VIEW_INSTALLED, 1767225600, &img, &modes),
	    OTA_ENOTFOUND);
	ck_assert_ptr_null(img);
	ck_assert_int_eq(ddi_service_action(svc, "d1", p.action_id,
	                     DDI_VIEW_CANCEL, 1767225600, &img, &modes),
	    OTA_ENOTFOUND);
	/* Never another device's action. */
	ck_assert_int_eq(ddi_service_action(svc, "d2", p.action_id,
	                     DDI_VIEW_DEPLOYMENT, 1767225600, &img, &modes),
	    OTA_ENOTFOUND);
	raw_exec("UPDATE ddi_actions SET status = 'canceling'");
	ck_assert_int_eq(ddi_service_action(svc, "d1", p.action_id,
	                     DDI_VIEW_CANCEL, 1767225600, &img, &modes),
	    0);
	ck_assert_ptr_null(img);

	ck_assert_int_eq(ddi_service_artifact(svc, "d1", image_id, &img), 0);
	ck_assert_ptr_nonnull(img);
	store_image_free(img);
	ck_assert_int_eq(
	    ddi_service_artifact(svc, "d3", image_id, &img), OTA_ENOTFOUND);
	ck_assert_ptr_null(img);
	ck_assert_int_eq(
	    ddi_service_artifact(svc, "d1", image_id + 1, &img), OTA_ENOTFOUND);
}
END_TEST

/* ddi_service_feedback: deployment feedback to its end */

START_TEST(test_feedback_deployment)
{
	struct ddi_service_poll p;
	struct ddi_feedback fb;
	char ver[32];

	poll_as("d1", DDI_POLL_DEPLOY, &p);
	fb_init(
	    &fb, DDI_EXEC_PROCEEDING, DDI_FINISHED_NONE, "0000000000000001");
	ck_assert_int_eq(
	    ddi_service_feedback(svc, "d1", p.action_id, 0, &fb), 0);
	ck_assert_str_eq(status_of(p.action_id), "running");
	/* The event was committed before the answer. */
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"
	                       " WHERE event_id = 'ddi-1-0000000000000001'"),
	    1);
	fb_init(&fb, DDI_EXEC_CLOSED, DDI_FINISHED_SUCCESS, "0000000000000002");
	ck_assert_int_eq(
	    ddi_service_feedback(svc, "d1", p.action_id, 0, &fb), 0);
	ck_assert_str_eq(status_of(p.action_id), "closed");
	text_of(
	    "SELECT version FROM devices WHERE id = 'd1'", ver, sizeof(ver));
	ck_assert_str_eq(ver, "2.0.0");
	ck_assert_int_eq(count("SELECT COUNT(*) FROM ddi_feedback"), 2);
	/* A retry changes nothing more. */
	ck_assert_int_eq(
	    ddi_service_feedback(svc, "d1", p.action_id, 0, &fb), 0);
	ck_assert_str_eq(status_of(p.action_id), "closed");
	/* Another device's action, or none. */
	ck_assert_int_eq(ddi_service_feedback(svc, "d2", p.action_id, 0, &fb),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    ddi_service_feedback(svc, "d1", 999, 0, &fb), OTA_ENOTFOUND);
	/* A feedback outside the rules. */
	fb.execution = (enum ddi_execution)42;
	ck_assert_int_eq(
	    ddi_service_feedback(svc, "d1", p.action_id, 0, &fb), OTA_EINVAL);
}
END_TEST

/* ddi_service_feedback: cancel feedback */

START_TEST(test_feedback_cancel)
{
	struct ddi_service_poll p;
	struct ddi_feedback fb;

	char status[32];

	poll_as("d1", DDI_POLL_DEPLOY, &p);
	ck_assert_int_eq(seen_flush(seen), 0); /* the offered update row */
	raw_exec("DELETE FROM group_members WHERE device_id = 'd1'");
	poll_as("d1", DDI_POLL_CANCEL, &p);
	/* Refused first, then acknowledged. */
	fb_init(&fb, DDI_EXEC_REJECTED, DDI_FINISHED_NONE, "0000000000000003");
	ck_assert_int_eq(
	    ddi_service_feedback(svc, "d1", p.action_id, 1, &fb), 0);
	ck_assert_str_eq(status_of(p.action_id), "cancel_rejected");
	fb_init(&fb, DDI_EXEC_CANCELED, DDI_FINISHED_NONE, "0000000000000004");
	ck_assert_int_eq(
	    ddi_service_feedback(svc, "d1", p.action_id, 1, &fb), 0);
	ck_assert_str_eq(status_of(p.action_id), "canceled");
	/* With the action, the device's update in the rollout is over. */
	text_of("SELECT status FROM device_updates WHERE device_id = 'd1'"
	        " AND rollout_id = 1",
	    status, sizeof(status));
	ck_assert_str_eq(status, "canceled");
	/* Cancel feedback stores no event. */
	ck_assert_int_eq(count("SELECT COUNT(*) FROM update_events"), 0);
}
END_TEST

/* ddi_service_config_data */

START_TEST(test_config_data)
{
	struct ddi_service_poll p;
	char err[320], text[256];

	poll_as("d2", DDI_POLL_NONE, &p);
	ck_assert_int_eq(p.attributes_wanted, 1);
	ck_assert_int_eq(config_data("d2",
	                     "{\"data\":{\"hw_revision\":\"revA\","
	                     "\"sw_version\":\"1.0.0\",\"VIN\":\"x\"}}",
	                     err),
	    0);
	text_of("SELECT version || ' ' || reported_hardware FROM devices"
	        " WHERE id = 'd2'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "1.0.0 revA");
	text_of("SELECT attributes FROM device_attributes WHERE device_id ="
	        " 'd2'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "{\"VIN\":\"x\",\"hw_revision\":\"revA\","
	                       "\"sw_version\":\"1.0.0\"}");
	/* The version known, the offer comes; no more configData asked. */
	poll_as("d2", DDI_POLL_DEPLOY, &p);
	ck_assert_int_eq(p.attributes_wanted, 0);
	/* A merge that breaks a fact writes nothing. */
	ck_assert_int_eq(
	    config_data("d2", "{\"data\":{\"sw_version\":\"v2\"}}", err),
	    OTA_EINVAL);
	ck_assert_str_eq(
	    err, "data.sw_version: must be a SemVer 2.0.0 version");
	text_of("SELECT attributes FROM device_attributes WHERE device_id ="
	        " 'd2'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "{\"VIN\":\"x\",\"hw_revision\":\"revA\","
	                       "\"sw_version\":\"1.0.0\"}");
	/* Removal merges with what is stored. */
	ck_assert_int_eq(
	    config_data(
	        "d2", "{\"mode\":\"remove\",\"data\":{\"VIN\":\"\"}}", err),
	    0);
	text_of("SELECT attributes FROM device_attributes WHERE device_id ="
	        " 'd2'",
	    text, sizeof(text));
	ck_assert_str_eq(
	    text, "{\"hw_revision\":\"revA\",\"sw_version\":\"1.0.0\"}");
	ck_assert_int_eq(
	    config_data("ghost", "{\"data\":{}}", err), OTA_ENOTFOUND);
	/* Unreadable stored attributes are replaced. */
	raw_exec("UPDATE device_attributes SET attributes = '{broken'");
	ck_assert_int_eq(config_data("d2", "{\"data\":{\"a\":\"b\"}}", err), 0);
	text_of("SELECT attributes FROM device_attributes WHERE device_id ="
	        " 'd2'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "{\"a\":\"b\"}");
}
END_TEST

static Suite *
ddi_service_suite(void)
{
	Suite *s = suite_create("ddi_service");
	TCase *tc;

#define CASE(name, fn)                                                         \
	do {                                                                   \
		tc = tcase_create(name);                                       \
		tcase_add_checked_fixture(tc, setup, teardown);                \
		tcase_add_test(tc, fn);                                        \
		suite_add_tcase(s, tc);                                        \
	} while (0)
	CASE("new_free", test_new_free);
	CASE("poll_none", test_poll_none);
	CASE("poll_deploy", test_poll_deploy);
	CASE("poll_cancel", test_poll_cancel);
	CASE("poll_image_gone", test_poll_image_gone);
	CASE("action_artifact", test_action_artifact);
	CASE("feedback_deployment", test_feedback_deployment);
	CASE("feedback_cancel", test_feedback_cancel);
	CASE("config_data", test_config_data);
	CASE("config_data_concurrent", test_config_data_concurrent);
	CASE("config_data_mixed", test_config_data_mixed);
	CASE("config_submit", test_config_submit);
#undef CASE
	return s;
}

int
main(void)
{
	return testutil_run_suite(ddi_service_suite());
}
