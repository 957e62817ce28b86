/*
 * check_http_req: what handlers read of a request, and the argument
 * checks that refuse on their own.  The request is filled as http_server
 * fills it; a check that refuses finds the request already answered, so
 * its reply is dropped (http_reply's answer-once rule) and no connection
 * is needed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "errors.h"
#include "http_reply.h"
#include "http_req.h"
#include "testutil.h"

static struct app app;
static struct http_req req;

static void
setup(void)
{
	memset(&app, 0, sizeof(app));
	memset(&req, 0, sizeof(req));
	req.app = &app;
	req.method = "GET";
	req.content_length = -1;
	snprintf(req.param_buf[0], sizeof(req.param_buf[0]), "dev-1");
	req.params[0] = req.param_buf[0];
	snprintf(req.param_buf[1], sizeof(req.param_buf[1]), "bad/id");
	req.params[1] = req.param_buf[1];
}

static int freed;

static void
state_free(void *p)
{
	freed++;
	free(p);
}

START_TEST(test_accessors)
{
	ck_assert_ptr_eq(http_req_app(&req), &app);
	ck_assert_str_eq(http_req_method(&req), "GET");
	ck_assert_int_eq(http_req_is_tls(&req), 0);
	ck_assert_ptr_eq(http_req_who(&req), &req.who);
	ck_assert_ptr_null(http_req_json(&req));
	ck_assert_uint_eq(http_req_body_bytes(&req), 0);
	ck_assert_int_eq(http_req_content_length(&req), -1);
	ck_assert_int_eq(http_req_replied(&req), 0);
	req.replied = 1;
	ck_assert_int_eq(http_req_replied(&req), 1);
}
END_TEST

START_TEST(test_param)
{
	ck_assert_str_eq(http_req_param(&req, 0), "dev-1");
	ck_assert_str_eq(http_req_param(&req, 1), "bad/id");
	ck_assert_ptr_null(http_req_param(&req, 2));
	ck_assert_ptr_null(http_req_param(&req, -1));
	ck_assert_ptr_null(http_req_param(&req, HTTP_REQ_MAX_PARAMS));
}
END_TEST

START_TEST(test_state)
{
	void *p = malloc(8);

	ck_assert_ptr_null(http_req_state(&req));
	http_req_set_state(&req, p, state_free);
	ck_assert_ptr_eq(http_req_state(&req), p);
	ck_assert_ptr_eq(req.state_free, state_free);
	req.state_free(req.state);
	ck_assert_int_eq(freed, 1);
}
END_TEST

START_TEST(test_device)
{
	ck_assert_str_eq(http_req_device(&req, 0), "dev-1");
	req.replied = 1; /* the 404 of a refusal is dropped */
	ck_assert_ptr_null(http_req_device(&req, 1));
	ck_assert_ptr_null(http_req_device(&req, 3));
}
END_TEST

START_TEST(test_device_access)
{
	req.who.kind = AUTH_KIND_DEVICE;
	req.who.role = AUTH_DEVICE;
	snprintf(req.who.name, sizeof(req.who.name), "dev-1");
	/* A device token needs no store: c NULL, no pool touched. */
	ck_assert_int_eq(http_req_device_access(&req, NULL, "dev-1"), 0);
	req.replied = 1;
	ck_assert_int_eq(
	    http_req_device_access(&req, NULL, "dev-2"), OTA_EFORBID);
}
END_TEST

static Suite *
http_req_suite(void)
{
	Suite *s = suite_create("http_req");
	TCase *tc;

	tc = tcase_create("http_req_accessors");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_accessors);
	tcase_add_test(tc, test_param);
	tcase_add_test(tc, test_state);
	suite_add_tcase(s, tc);

	tc = tcase_create("http_req_device");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_device);
	suite_add_tcase(s, tc);

	tc = tcase_create("http_req_device_access");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_device_access);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(http_req_suite());
}
