/*
 * check_device_service: the device service over a real SQLite file
 * migrated by the embedded migrations.  Devices, images, rollouts and the
 * rows of other modules (updates, DDI actions, attributes) are planted
 * with plain SQL, which also reads them back behind the service's back.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_service.h"
#include "errors.h"
#include "store.h"
#include "store_devices.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;

static void
setup(void)
{
	testutil_tmpdir_new("check_device_service", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	testutil_sql_exec(dbpath,
	    "INSERT INTO devices (id, hardware, version, created_at) VALUES"
	    " ('h1', 'revA', '1.0.0', 'x'), ('p1', 'revA', '1.0.0', 'x')");
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Loads device id through the store (another connection). */
static void
get(const char *id, struct store_device *d)
{
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(store_device_get(c, id, d), 0);
	store_release(st, c);
}

/* device_service_get: the row with the attributes sent over DDI */

START_TEST(test_get)
{
	struct store_device d;
	json_t *attrs = NULL;

	ck_assert_int_eq(device_service_get(st, "p1", &d, &attrs), 0);
	ck_assert_str_eq(d.id, "p1");
	ck_assert_str_eq(d.hardware, "revA");
	ck_assert(json_is_null(attrs));
	store_device_clear(&d);
	json_decref(attrs);
	testutil_sql_exec(dbpath,
	    "INSERT INTO device_attributes (device_id, attributes,"
	    " received_at, refresh) VALUES ('p1', '{\"VIN\":\"x\"}', 'x', 0)");
	ck_assert_int_eq(device_service_get(st, "p1", &d, &attrs), 0);
	ck_assert(json_is_object(attrs));
	ck_assert_str_eq(json_string_value(json_object_get(attrs, "VIN")), "x");
	store_device_clear(&d);
	json_decref(attrs);
	attrs = NULL;
	ck_assert_int_eq(
	    device_service_get(st, "ghost", &d, &attrs), OTA_ENOTFOUND);
	ck_assert_ptr_null(attrs);
}
END_TEST

/* device_service_patch: a new hardware and what no longer fits it (rows
 * of other modules planted) */

START_TEST(test_patch_hardware)
{
	struct store_device d;
	char text[256];
	size_t nu = 9, na = 9;

	/* Image 1 fits revA only, image 2 revA and revB; a rollout of
	 * each, and of a deleted image (3). */
	testutil_sql_exec(dbpath,
	    "INSERT INTO images (id, name, version, sha256, size,"
	    " descriptor, signatures, created_at, created_by) VALUES"
	    " (1, 'fw', '2.0.0', printf('%064d', 1), 1, x'00', '[]',"
	    "  'x', 'x'),"
	    " (2, 'fw', '3.0.0', printf('%064d', 2), 1, x'00', '[]',"
	    "  'x', 'x');"
	    "INSERT INTO image_hardware (hardware, image_id) VALUES"
	    " ('revA', 1), ('revA', 2), ('revB', 2);"
	    "INSERT INTO rollouts (id, image_id, image_name, image_version,"
	    " state, stages_bp, salt, failure_threshold, min_reports,"
	    " created_at, created_by, updated_at) VALUES"
	    " (1, 1, 'fw', '2.0.0', 'running', '[10000]', zeroblob(32),"
	    "  0.05, 10, 'x', 't', 'x'),"
	    " (2, 2, 'fw', '3.0.0', 'running', '[10000]', zeroblob(32),"
	    "  0.05, 10, 'x', 't', 'x'),"
	    " (3, NULL, 'fw', '1.5.0', 'completed', '[10000]',"
	    "  zeroblob(32), 0.05, 10, 'x', 't', 'x');"
	    "INSERT INTO device_updates (rollout_id, device_id, version,"
	    " status, stage_index, updated_at) VALUES"
	    " (1, 'h1', '2.0.0', 'started', 0, 'x'),"
	    " (2, 'h1', '3.0.0', 'offered', 0, 'x'),"
	    " (3, 'h1', '1.5.0', 'started', 0, 'x');"
	    "INSERT INTO ddi_actions (rollout_id, device_id, status,"
	    " created_at, updated_at) VALUES"
	    " (1, 'h1', 'open', 'x', 'x'), (2, 'h1', 'running', 'x', 'x')");
	ck_assert_int_eq(device_service_patch(st, "h1", "revB", NULL,
	                     "2026-05-01T00:00:00Z", &nu, &na),
	    0);
	ck_assert_uint_eq(nu, 1);
	ck_assert_uint_eq(na, 1);
	get("h1", &d);
	ck_assert_str_eq(d.hardware, "revB");
	store_device_clear(&d);
	testutil_sql_join(dbpath,
	    "SELECT rollout_id || '=' || status FROM device_updates"
	    " ORDER BY rollout_id",
	    " ", text, sizeof(text));
	ck_assert_str_eq(text, "1=canceled 2=offered 3=started");
	testutil_sql_join(dbpath,
	    "SELECT rollout_id || '=' || status FROM ddi_actions"
	    " ORDER BY rollout_id",
	    " ", text, sizeof(text));
	ck_assert_str_eq(text, "1=canceling 2=running");
	/* Refusals change nothing. */
	ck_assert_int_eq(device_service_patch(st, "ghost", "revA", NULL,
	                     "2026-05-01T00:00:00Z", &nu, &na),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(device_service_patch(st, "h1", "rev A", NULL,
	                     "2026-05-01T00:00:00Z", &nu, &na),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    device_service_patch(st, "h1", "revA", NULL, "yesterday", &nu, &na),
	    OTA_EINVAL);
	get("h1", &d);
	ck_assert_str_eq(d.hardware, "revB");
	store_device_clear(&d);
}
END_TEST

/* device_service_patch: hardware and labels change together or not at
 * all */

START_TEST(test_patch)
{
	struct store_device d;
	size_t nu = 9, na = 9;

	ck_assert_int_eq(device_service_patch(st, "p1", "revB", "{\"k\":\"v\"}",
	                     "2026-05-01T00:00:00Z", &nu, &na),
	    0);
	ck_assert_uint_eq(nu + na, 0);
	get("p1", &d);
	ck_assert_str_eq(d.hardware, "revB");
	ck_assert_str_eq(d.labels, "{\"k\":\"v\"}");
	store_device_clear(&d);
	/* A failure after the hardware was written (a bad time for the
	 * cancellations) leaves the labels unwritten and the hardware back. */
	ck_assert_int_eq(device_service_patch(st, "p1", "revC", "{\"k\":\"w\"}",
	                     "yesterday", &nu, &na),
	    OTA_EINVAL);
	get("p1", &d);
	ck_assert_str_eq(d.hardware, "revB");
	ck_assert_str_eq(d.labels, "{\"k\":\"v\"}");
	store_device_clear(&d);
	ck_assert_int_eq(device_service_patch(st, "p1", NULL, NULL,
	                     "2026-05-01T00:00:00Z", &nu, &na),
	    OTA_EINVAL);
	ck_assert_int_eq(device_service_patch(st, "p1", NULL, "{}",
	                     "2026-05-01T00:00:00Z", &nu, &na),
	    0);
	get("p1", &d);
	ck_assert_str_eq(d.hardware, "revB");
	ck_assert_str_eq(d.labels, "{}");
	store_device_clear(&d);
}
END_TEST

static Suite *
device_service_suite(void)
{
	Suite *s = suite_create("device_service");
	TCase *tc;

	tc = tcase_create("get");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get);
	suite_add_tcase(s, tc);
	tc = tcase_create("patch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_patch_hardware);
	tcase_add_test(tc, test_patch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(device_service_suite());
}
