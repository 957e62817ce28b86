/*
 * check_http_reply: the one mapping from OTA_E* codes to HTTP statuses,
 * and the reply-once rule (a request already answered drops later
 * replies without queueing anything).
 */
#include <check.h>
#include <string.h>

#include "errors.h"
#include "http_reply.h"
#include "testutil.h"

START_TEST(test_status_for)
{
	ck_assert_uint_eq(http_reply_status_for(OTA_OK), 200);
	ck_assert_uint_eq(http_reply_status_for(OTA_EINVAL), 400);
	ck_assert_uint_eq(http_reply_status_for(OTA_EUNAUTH), 401);
	ck_assert_uint_eq(http_reply_status_for(OTA_EFORBID), 403);
	ck_assert_uint_eq(http_reply_status_for(OTA_ENOTFOUND), 404);
	ck_assert_uint_eq(http_reply_status_for(OTA_ECONFLICT), 409);
	ck_assert_uint_eq(http_reply_status_for(OTA_ETOOBIG), 413);
	ck_assert_uint_eq(http_reply_status_for(OTA_ERANGE), 416);
	ck_assert_uint_eq(http_reply_status_for(OTA_ESIG), 422);
	ck_assert_uint_eq(http_reply_status_for(OTA_EMISMATCH), 422);
	ck_assert_uint_eq(http_reply_status_for(OTA_ESCHEMA), 503);
	ck_assert_uint_eq(http_reply_status_for(OTA_ENOMEM), 503);
	ck_assert_uint_eq(http_reply_status_for(OTA_EIO), 500);
	ck_assert_uint_eq(http_reply_status_for(OTA_EDB), 500);
	ck_assert_uint_eq(http_reply_status_for(-12345), 500);
}
END_TEST

START_TEST(test_reply_nothing_to_queue)
{
	struct http_req req;

	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(http_reply(&req, 200, NULL, 0), OTA_ENOMEM);
	ck_assert_int_eq(http_reply_json(&req, 200, NULL), OTA_ENOMEM);
	ck_assert_int_eq(req.replied, 0);
}
END_TEST

START_TEST(test_reply_once)
{
	struct http_req req;

	memset(&req, 0, sizeof(req));
	req.replied = 1;
	req.status = 201;
	ck_assert_int_eq(http_reply_empty(&req, 204), 0);
	ck_assert_int_eq(http_reply_rc(&req, OTA_EINVAL, NULL), 0);
	ck_assert_int_eq(
	    http_reply_error(&req, 404, "not_found", "%s", "gone"), 0);
	ck_assert_uint_eq(req.status, 201);
}
END_TEST

static Suite *
http_reply_suite(void)
{
	Suite *s = suite_create("http_reply");
	TCase *tc;

	tc = tcase_create("http_reply_status_for");
	tcase_add_test(tc, test_status_for);
	suite_add_tcase(s, tc);

	tc = tcase_create("http_reply");
	tcase_add_test(tc, test_reply_nothing_to_queue);
	tcase_add_test(tc, test_reply_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(http_reply_suite());
}
