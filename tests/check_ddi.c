/*
 * check_ddi: the pure hawkBit DDI module as a specification.  The JSON
 * shapes are checked member by member against hawkBit's documented DDI
 * examples and what SWUpdate needs; feedback and configData parsing
 * against hawkBit's and SWUpdate's bodies; the action status rules as
 * one table over every (status, execution, finished, endpoint); every
 * branch of the poll decision.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "ddi.h"
#include "errors.h"
#include "json_util.h"
#include "testutil.h"

/* Parses text (which must be valid JSON) into a new value. */
static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v =
	    json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

	ck_assert_msg(v != NULL, "test JSON: %s: %s", jerr.text, text);
	return v;
}

/* The string at a jansson path such as "config.polling.sleep" (members
 * only), or NULL. */
static const char *
str_at(const json_t *root, const char *path)
{
	char buf[256], *save = NULL, *part;
	const json_t *v = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part != NULL && v != NULL;
	     part = strtok_r(NULL, ".", &save))
		v = json_object_get(v, part);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ddi_feedback_parse on text; returns its code, err in err[256]. */
static int
parse_fb(
    const char *text, int64_t expect_id, struct ddi_feedback *fb, char *err)
{
	json_t *body = load(text);
	int rc;

	err[0] = '\0';
	rc = ddi_feedback_parse(body, expect_id, fb, err, 256);
	json_decref(body);
	return rc;
}

static void
setup(void)
{
	ck_assert_int_eq(crypto_init(), 0);
}

START_TEST(test_status_names)
{
	static const char *const names[] = {"open", "running", "canceling",
	    "cancel_rejected", "closed", "canceled"};
	enum ddi_status s = DDI_RUNNING;

	for (int i = 0; i < 6; i++) {
		ck_assert_str_eq(ddi_status_name((enum ddi_status)i), names[i]);
		ck_assert_int_eq(ddi_status_parse(names[i], &s), 0);
		ck_assert_int_eq(s, i);
		ck_assert_int_eq(ddi_status_final((enum ddi_status)i),
		    i == DDI_CLOSED || i == DDI_CANCELED);
	}
	ck_assert_ptr_null(ddi_status_name((enum ddi_status)6));
	ck_assert_ptr_null(ddi_status_name((enum ddi_status) - 1));
	s = DDI_RUNNING;
	ck_assert_int_eq(ddi_status_parse("Open", &s), OTA_EINVAL);
	ck_assert_int_eq(ddi_status_parse("", &s), OTA_EINVAL);
	ck_assert_int_eq(ddi_status_parse(NULL, &s), OTA_EINVAL);
	ck_assert_int_eq(s, DDI_RUNNING);
}
END_TEST

START_TEST(test_execution_names)
{
	static const char *const ex[] = {"closed", "proceeding", "canceled",
	    "scheduled", "rejected", "resumed", "download", "downloaded"};
	static const char *const fin[] = {"none", "success", "failure"};

	for (int i = 0; i < 8; i++)
		ck_assert_str_eq(
		    ddi_execution_name((enum ddi_execution)i), ex[i]);
	ck_assert_ptr_null(ddi_execution_name((enum ddi_execution)8));
	for (int i = 0; i < 3; i++)
		ck_assert_str_eq(
		    ddi_finished_name((enum ddi_finished)i), fin[i]);
	ck_assert_ptr_null(ddi_finished_name((enum ddi_finished)3));
}
END_TEST

START_TEST(test_sleep_format)
{
	static const struct {
		int64_t sec;
		const char *want;
	} cases[] = {
	    {0, "00:00:00"},
	    {1, "00:00:01"},
	    {59, "00:00:59"},
	    {60, "00:01:00"},
	    {300, "00:05:00"},
	    {3599, "00:59:59"},
	    {3600, "01:00:00"},
	    {86399, "23:59:59"},
	    {86400, "24:00:00"},
	    {359999, "99:59:59"},
	    {360000, "99:59:59"},
	    {INT64_MAX, "99:59:59"},
	    {-1, "00:00:00"},
	    {INT64_MIN, "00:00:00"},
	};
	char out[DDI_SLEEP_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		ddi_sleep_format(cases[i].sec, out);
		ck_assert_str_eq(out, cases[i].want);
	}
}
END_TEST

START_TEST(test_poll_json)
{
	const char *base = "https://ota.example:8443/DEFAULT/controller/v1/d1";
	char href[4][160];
	struct ddi_poll_links links;
	json_t *j, *l;

	snprintf(href[0], sizeof(href[0]), "%s/deploymentBase/5?c=0123", base);
	snprintf(href[1], sizeof(href[1]), "%s/cancelAction/6", base);
	snprintf(href[2], sizeof(href[2]), "%s/configData", base);
	snprintf(href[3], sizeof(href[3]), "%s/installedBase/4", base);

	/* hawkBit: {"config":{"polling":{"sleep":"12:00:00"}},
	 * "_links":{"deploymentBase":{"href":...},"configData":{...}}} */
	links =
	    (struct ddi_poll_links){href[0], href[1], href[2], href[3], NULL};
	j = ddi_poll_json(43200, &links);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str_at(j, "config.polling.sleep"), "12:00:00");
	l = json_object_get(j, "_links");
	ck_assert_int_eq(json_object_size(l), 4);
	ck_assert_int_eq(json_object_size(j), 2);
	ck_assert_str_eq(str_at(j, "_links.deploymentBase.href"), href[0]);
	ck_assert_str_eq(str_at(j, "_links.cancelAction.href"), href[1]);
	ck_assert_str_eq(str_at(j, "_links.configData.href"), href[2]);
	ck_assert_str_eq(str_at(j, "_links.installedBase.href"), href[3]);
	ck_assert_int_eq(
	    json_object_size(json_object_get(l, "deploymentBase")), 1);
	json_decref(j);

	/* Only the links given. */
	links = (struct ddi_poll_links){NULL, NULL, href[2], NULL, NULL};
	j = ddi_poll_json(300, &links);
	ck_assert_str_eq(str_at(j, "config.polling.sleep"), "00:05:00");
	l = json_object_get(j, "_links");
	ck_assert_int_eq(json_object_size(l), 1);
	ck_assert_str_eq(str_at(j, "_links.configData.href"), href[2]);
	json_decref(j);

	/* Nothing to do: no "_links" at all (all NULL, or no struct). */
	links = (struct ddi_poll_links){NULL, NULL, NULL, NULL, NULL};
	j = ddi_poll_json(60, &links);
	ck_assert_ptr_null(json_object_get(j, "_links"));
	ck_assert_int_eq(json_object_size(j), 1);
	ck_assert_str_eq(str_at(j, "config.polling.sleep"), "00:01:00");
	json_decref(j);
	/* Consent asked: confirmationBase (hawkBit's link name). */
	links = (struct ddi_poll_links){NULL, NULL, NULL, NULL, href[3]};
	j = ddi_poll_json(60, &links);
	ck_assert_str_eq(str_at(j, "_links.confirmationBase.href"), href[3]);
	ck_assert_int_eq(json_object_size(json_object_get(j, "_links")), 1);
	json_decref(j);
	j = ddi_poll_json(999999, NULL);
	ck_assert_ptr_null(json_object_get(j, "_links"));
	ck_assert_str_eq(str_at(j, "config.polling.sleep"), "99:59:59");
	json_decref(j);
}
END_TEST

static const struct ddi_artifact artifact = {
    .image_id = 42,
    .name = "sensor-fw",
    .version = "1.4.0",
    .filename = "sensor-fw.swu",
    .size = 3145728,
    .sha1_hex = "2d86c2a659e364e9abba49ea6ffcd53dd5559f05",
    .md5_hex = "0d1b08c34858921bc7c662b228acb7ba",
    .sha256_hex = "a03b221c6c6eae7122ca51695d456d5222e524889136394944b2f9763b"
                  "483615",
    .download_href = "https://ota.example/DEFAULT/controller/v1/d1/"
                     "softwaremodules/42/artifacts/sensor-fw.swu",
    .md5sum_href = "https://ota.example/DEFAULT/controller/v1/d1/"
                   "softwaremodules/42/artifacts/sensor-fw.swu.MD5SUM",
};

START_TEST(test_deployment_json)
{
	json_t *j, *dep, *chunks, *chunk, *arts, *art, *v;

	/* hawkBit's documented deploymentBase shape, one chunk of one
	 * artifact. */
	j = ddi_deployment_json(5, &artifact, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_object_size(j), 2);
	ck_assert_str_eq(str_at(j, "id"), "5"); /* a string, as hawkBit */
	dep = json_object_get(j, "deployment");
	ck_assert_int_eq(json_object_size(dep), 4);
	ck_assert_str_eq(str_at(dep, "download"), "forced");
	ck_assert_str_eq(str_at(dep, "update"), "forced");
	ck_assert_str_eq(str_at(dep, "maintenanceWindow"), "available");
	chunks = json_object_get(dep, "chunks");
	ck_assert(json_is_array(chunks));
	ck_assert_int_eq(json_array_size(chunks), 1);
	chunk = json_array_get(chunks, 0);
	ck_assert_str_eq(str_at(chunk, "part"), "os");
	ck_assert_str_eq(str_at(chunk, "version"), "1.4.0");
	ck_assert_str_eq(str_at(chunk, "name"), "sensor-fw");
	arts = json_object_get(chunk, "artifacts");
	ck_assert_int_eq(json_array_size(arts), 1);
	art = json_array_get(arts, 0);
	ck_assert_str_eq(str_at(art, "filename"), "sensor-fw.swu");
	v = json_object_get(art, "size");
	ck_assert(json_is_integer(v));
	ck_assert_int_eq(json_integer_value(v), 3145728);
	ck_assert_int_eq(json_object_size(json_object_get(art, "hashes")), 3);
	ck_assert_str_eq(str_at(art, "hashes.sha1"), artifact.sha1_hex);
	ck_assert_str_eq(str_at(art, "hashes.md5"), artifact.md5_hex);
	ck_assert_str_eq(str_at(art, "hashes.sha256"), artifact.sha256_hex);
	ck_assert_int_eq(json_object_size(json_object_get(art, "_links")), 4);
	ck_assert_str_eq(
	    str_at(art, "_links.download.href"), artifact.download_href);
	ck_assert_str_eq(
	    str_at(art, "_links.download-http.href"), artifact.download_href);
	ck_assert_str_eq(
	    str_at(art, "_links.md5sum.href"), artifact.md5sum_href);
	ck_assert_str_eq(
	    str_at(art, "_links.md5sum-http.href"), artifact.md5sum_href);
	json_decref(j);

	/* A large id stays exact (a string, not a double). */
	j = ddi_deployment_json(INT64_MAX, &artifact, NULL);
	ck_assert_str_eq(str_at(j, "id"), "9223372036854775807");
	json_decref(j);
}
END_TEST

/* A bundle's deployment: one chunk per part, in the order given, each
 * "part" the component; the hash covers every chunk and its part. */
START_TEST(test_deployment_chunks)
{
	struct ddi_artifact a[2] = {artifact, artifact};
	char h1[DDI_HASH_LEN], h2[DDI_HASH_LEN], h0[DDI_HASH_LEN];
	json_t *j, *chunks;

	a[0].part = "ncp";
	a[1].part = "mcu";
	a[1].image_id = 43;
	a[1].name = "mcu-fw";
	a[1].version = "2.1.0";
	j = ddi_deployment_json_chunks(9, a, 2, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "9");
	chunks = json_object_get(json_object_get(j, "deployment"), "chunks");
	ck_assert_int_eq(json_array_size(chunks), 2);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(chunks, 0), "part")),
	    "ncp");
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(chunks, 1), "part")),
	    "mcu");
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(chunks, 1), "name")),
	    "mcu-fw");
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(chunks, 1), "version")),
	    "2.1.0");
	json_decref(j);
	ck_assert_ptr_null(ddi_deployment_json_chunks(9, a, 0, NULL));
	a[1].name = NULL;
	ck_assert_ptr_null(ddi_deployment_json_chunks(9, a, 2, NULL));
	a[1].name = "mcu-fw";
	/* One image chunk hashes as ddi_action_hash always did. */
	ddi_action_hash(9, &artifact, NULL, h0);
	ddi_action_hash_chunks(9, &artifact, 1, NULL, h1);
	ck_assert_str_eq(h0, h1);
	ddi_action_hash_chunks(9, a, 2, NULL, h1);
	ck_assert_str_ne(h0, h1);
	a[1].part = "hub";
	ddi_action_hash_chunks(9, a, 2, NULL, h2);
	ck_assert_str_ne(h1, h2);
}
END_TEST

/* Component versions from configData attributes "<component>.version". */
START_TEST(test_attrs_components)
{
	struct component c[COMPONENTS_MAX];
	char err[256];
	size_t n = 9;
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "mcu.version", "2.1.0",
	    "sensor-hub.version", "0.9.0+b3", "sw_version", "1.0.0",
	    "MCU.version", "1.0.0", "ncp.hw", "c6");
	ck_assert_int_eq(
	    ddi_attrs_components(o, c, COMPONENTS_MAX, &n, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(c[0].name, "mcu");
	ck_assert_str_eq(c[0].version, "2.1.0");
	ck_assert_str_eq(c[1].name, "sensor-hub");
	ck_assert_str_eq(c[1].version, "0.9.0+b3");
	ck_assert_int_eq(
	    ddi_attrs_components(o, c, 1, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	json_object_set_new(o, "ncp.version", json_string("1.x"));
	ck_assert_int_eq(
	    ddi_attrs_components(o, c, COMPONENTS_MAX, &n, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(err, "data.ncp.version: must be a SemVer 2.0.0 "
	                      "version (the version component 'ncp' runs)");
	json_decref(o);
	ck_assert_int_eq(
	    ddi_attrs_components(NULL, c, COMPONENTS_MAX, &n, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_deployment_json_partial)
{
	struct ddi_artifact a = artifact;
	json_t *j, *art;

	/* Digests not computed yet and no .MD5SUM link: left out. */
	a.md5_hex = "";
	a.sha256_hex = NULL;
	a.md5sum_href = NULL;
	a.size = UINT64_C(5000000000); /* over 32 bits */
	j = ddi_deployment_json(1, &a, NULL);
	ck_assert_ptr_nonnull(j);
	art = json_array_get(
	    json_object_get(
	        json_array_get(
	            json_object_get(json_object_get(j, "deployment"), "chunks"),
	            0),
	        "artifacts"),
	    0);
	ck_assert_int_eq(json_object_size(json_object_get(art, "hashes")), 1);
	ck_assert_str_eq(str_at(art, "hashes.sha1"), a.sha1_hex);
	ck_assert_int_eq(json_object_size(json_object_get(art, "_links")), 2);
	ck_assert_ptr_null(str_at(art, "_links.md5sum.href"));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(art, "size")), 5000000000);
	json_decref(j);

	/* Required members missing, or not UTF-8: NULL, no leak. */
	a = artifact;
	a.name = NULL;
	ck_assert_ptr_null(ddi_deployment_json(1, &a, NULL));
	a = artifact;
	a.version = NULL;
	ck_assert_ptr_null(ddi_deployment_json(1, &a, NULL));
	a = artifact;
	a.filename = NULL;
	ck_assert_ptr_null(ddi_deployment_json(1, &a, NULL));
	a = artifact;
	a.filename = "bad\xff.swu";
	ck_assert_ptr_null(ddi_deployment_json(1, &a, NULL));
	a = artifact;
	a.version = "1.0.0\xc0";
	ck_assert_ptr_null(ddi_deployment_json(1, &a, NULL));
}
END_TEST

START_TEST(test_cancel_json)
{
	/* hawkBit: {"id":"11","cancelAction":{"stopId":"11"}} */
	json_t *j = ddi_cancel_json(11);

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_object_size(j), 2);
	ck_assert_str_eq(str_at(j, "id"), "11");
	ck_assert_int_eq(
	    json_object_size(json_object_get(j, "cancelAction")), 1);
	ck_assert_str_eq(str_at(j, "cancelAction.stopId"), "11");
	json_decref(j);
}
END_TEST

START_TEST(test_feedback_hawkbit_example)
{
	struct ddi_feedback fb;
	char err[256];

	/* hawkBit's documented deploymentBase feedback example. */
	ck_assert_int_eq(
	    parse_fb("{\"id\":\"1\",\"time\":\"20140511T121314\",\"status\":"
	             "{\"execution\":\"closed\",\"result\":{\"finished\":"
	             "\"success\",\"progress\":{\"cnt\":2,\"of\":5}},"
	             "\"details\":[\"Some feedback\"]}}",
	        1, &fb, err),
	    0);
	ck_assert_int_eq(fb.execution, DDI_EXEC_CLOSED);
	ck_assert_int_eq(fb.finished, DDI_FINISHED_SUCCESS);
	ck_assert_int_eq(fb.progress_cnt, 2);
	ck_assert_int_eq(fb.progress_of, 5);
	ck_assert_str_eq(fb.details, "Some feedback");
	ck_assert_int_eq(strlen(fb.digest), 16);
	ck_assert_int_eq(strspn(fb.digest, "0123456789abcdef"), 16);

	/* The same with expect_id 0 (not checked) and without an id. */
	ck_assert_int_eq(
	    parse_fb(
	        "{\"id\":\"99\",\"status\":{\"execution\":\"proceeding\"}}", 0,
	        &fb, err),
	    0);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\"}}",
	                     7, &fb, err),
	    0);
	ck_assert_int_eq(fb.execution, DDI_EXEC_PROCEEDING);
	ck_assert_int_eq(fb.finished, DDI_FINISHED_NONE);
	ck_assert_int_eq(fb.progress_cnt, -1);
	ck_assert_int_eq(fb.progress_of, -1);
	ck_assert_str_eq(fb.details, "");
}
END_TEST

START_TEST(test_feedback_swupdate)
{
	/* SWUpdate's hand-built body: numeric id, a raw newline and tab
	 * in details (repaired first, as the HTTP layer does). */
	static const char raw[] =
	    "{\"id\":12,\"time\":\"20261121T181754\",\"status\":{"
	    "\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\","
	    "\"progress\":{\"cnt\":1,\"of\":1}},\"details\":[\"Installing"
	    " image\n\tstep 2\",\"All Chunks Installed.\"]}}";
	struct ddi_feedback fb;
	char err[256], *fixed = NULL;
	size_t fixed_len = 0;
	json_t *body = NULL;

	ck_assert_int_eq(
	    json_util_load(raw, sizeof(raw) - 1, 16, &body, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    json_util_repair_strings(raw, sizeof(raw) - 1, &fixed, &fixed_len),
	    0);
	ck_assert_int_eq(
	    json_util_load(fixed, fixed_len, 16, &body, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    ddi_feedback_parse(body, 12, &fb, err, sizeof(err)), 0);
	ck_assert_int_eq(fb.execution, DDI_EXEC_PROCEEDING);
	ck_assert_int_eq(fb.finished, DDI_FINISHED_NONE);
	ck_assert_int_eq(fb.progress_cnt, 1);
	ck_assert_int_eq(fb.progress_of, 1);
	ck_assert_str_eq(
	    fb.details, "Installing image\n\tstep 2\nAll Chunks Installed.");
	ck_assert_int_eq(
	    ddi_feedback_parse(body, 13, &fb, err, sizeof(err)), OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "id"));
	json_decref(body);
	free(fixed);
}
END_TEST

START_TEST(test_feedback_progress)
{
	struct ddi_feedback fb;
	char err[256];

	/* cnt > of happens (SWUpdate): accepted as sent. */
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":7,"
	                          "\"of\":5}}}}",
	                     0, &fb, err),
	    0);
	ck_assert_int_eq(fb.progress_cnt, 7);
	ck_assert_int_eq(fb.progress_of, 5);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":0,"
	                          "\"of\":0}}}}",
	                     0, &fb, err),
	    0);
	ck_assert_int_eq(fb.progress_of, 0);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":3}}}}",
	                     0, &fb, err),
	    0);
	ck_assert_int_eq(fb.progress_cnt, 3);
	ck_assert_int_eq(fb.progress_of, -1);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":"
	                          "2147483647,\"of\":2147483647}}}}",
	                     0, &fb, err),
	    0);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":-1,"
	                          "\"of\":5}}}}",
	                     0, &fb, err),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "status.result.progress.cnt"));
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":1,"
	                          "\"of\":2147483648}}}}",
	                     0, &fb, err),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "status.result.progress.of"));
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":1.5}}}}",
	                     0, &fb, err),
	    OTA_EINVAL);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":[1,2]}}}",
	                     0, &fb, err),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "status.result.progress"));
}
END_TEST

START_TEST(test_feedback_refused)
{
	static const struct {
		const char *body;
		const char *field; /* expected in err */
	} cases[] = {
	    {"[]", "body"},
	    {"\"x\"", "body"},
	    {"{}", "status"},
	    {"{\"id\":\"7\"}", "status"},
	    {"{\"status\":\"closed\"}", "status"},
	    {"{\"status\":{}}", "status.execution"},
	    {"{\"status\":{\"execution\":null}}", "status.execution"},
	    {"{\"status\":{\"execution\":1}}", "status.execution"},
	    {"{\"status\":{\"execution\":\"finished\"}}", "status.execution"},
	    {"{\"status\":{\"execution\":\"Closed\",\"result\":{\"finished\":"
	     "\"success\"}}}",
	        "status.execution"},
	    {"{\"status\":{\"execution\":\"closed\"}}",
	        "status.result.finished"},
	    {"{\"status\":{\"execution\":\"closed\",\"result\":{}}}",
	        "status.result.finished"},
	    {"{\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":"
	     "\"none\"}}}",
	        "status.result.finished"},
	    {"{\"status\":{\"execution\":\"proceeding\",\"result\":{"
	     "\"finished\":\"ok\"}}}",
	        "status.result.finished"},
	    {"{\"status\":{\"execution\":\"proceeding\",\"result\":{"
	     "\"finished\":true}}}",
	        "status.result.finished"},
	    {"{\"status\":{\"execution\":\"proceeding\",\"result\":\"x\"}}",
	        "status.result"},
	    {"{\"status\":{\"execution\":\"proceeding\",\"details\":\"x\"}}",
	        "status.details"},
	    {"{\"status\":{\"execution\":\"proceeding\",\"details\":[\"a\","
	     "1]}}",
	        "status.details[1]"},
	    {"{\"status\":{\"execution\":\"proceeding\",\"details\":[null]}}",
	        "status.details[0]"},
	    {"{\"status\":{\"execution\":\"proceeding\",\"details\":[[\"a\"]]}"
	     "}",
	        "status.details[0]"},
	    {"{\"id\":\"8\",\"status\":{\"execution\":\"proceeding\"}}", "id"},
	    {"{\"id\":8,\"status\":{\"execution\":\"proceeding\"}}", "id"},
	    {"{\"id\":\"seven\",\"status\":{\"execution\":\"proceeding\"}}",
	        "id"},
	    {"{\"id\":\"7x\",\"status\":{\"execution\":\"proceeding\"}}", "id"},
	    {"{\"id\":-7,\"status\":{\"execution\":\"proceeding\"}}", "id"},
	    {"{\"id\":7.0,\"status\":{\"execution\":\"proceeding\"}}", "id"},
	    {"{\"id\":[7],\"status\":{\"execution\":\"proceeding\"}}", "id"},
	};
	struct ddi_feedback fb;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&fb, 0x5a, sizeof(fb));
		ck_assert_msg(
		    parse_fb(cases[i].body, 7, &fb, err) == OTA_EINVAL,
		    "accepted %s", cases[i].body);
		ck_assert_msg(
		    strncmp(err, cases[i].field, strlen(cases[i].field)) == 0,
		    "%s: err '%s' does not name %s", cases[i].body, err,
		    cases[i].field);
		/* *out untouched on failure. */
		ck_assert_int_eq(((unsigned char *)&fb)[0], 0x5a);
	}
}
END_TEST

START_TEST(test_feedback_lenient)
{
	struct ddi_feedback fb;
	char err[256];

	/* Every execution name, unknown fields, nulls, "" as id. */
	static const char *const ex[] = {"closed", "proceeding", "canceled",
	    "scheduled", "rejected", "resumed", "download", "downloaded"};
	for (int i = 0; i < 8; i++) {
		char body[256];

		snprintf(body, sizeof(body),
		    "{\"id\":\"7\",\"status\":{\"execution\":\"%s\","
		    "\"result\":{\"finished\":\"failure\"}}}",
		    ex[i]);
		ck_assert_int_eq(parse_fb(body, 7, &fb, err), 0);
		ck_assert_int_eq(fb.execution, i);
		ck_assert_int_eq(fb.finished, DDI_FINISHED_FAILURE);
	}
	ck_assert_int_eq(
	    parse_fb("{\"id\":\"\",\"extra\":{\"a\":1},\"status\":{\"code\":3,"
	             "\"execution\":\"proceeding\",\"result\":{\"finished\":"
	             "null,\"progress\":null,\"x\":1},\"details\":null}}",
	        7, &fb, err),
	    0);
	ck_assert_int_eq(fb.finished, DDI_FINISHED_NONE);
	ck_assert_int_eq(fb.progress_cnt, -1);
	ck_assert_int_eq(
	    parse_fb("{\"id\":null,\"status\":{\"execution\":\"proceeding\","
	             "\"result\":null,\"details\":[]}}",
	        7, &fb, err),
	    0);
	ck_assert_int_eq(
	    parse_fb("{\"id\":7,\"status\":{\"execution\":\"proceeding\"}}", 7,
	        &fb, err),
	    0);
}
END_TEST

START_TEST(test_feedback_details_cut)
{
	struct ddi_feedback fb;
	char err[256];
	json_t *body, *details;
	char line[64];
	size_t i;

	/* More lines than are read: the first DDI_DETAIL_LINES_MAX kept
	 * (as far as the bytes go), the rest ignored even if not strings. */
	body = load("{\"status\":{\"execution\":\"proceeding\"}}");
	details = json_array();
	for (i = 0; i < DDI_DETAIL_LINES_MAX; i++) {
		snprintf(line, sizeof(line), "%zu", i % 10);
		json_array_append_new(details, json_string(line));
	}
	json_array_append_new(details, json_integer(1));
	json_object_set_new(
	    json_object_get(body, "status"), "details", details);
	ck_assert_int_eq(ddi_feedback_parse(body, 0, &fb, err, sizeof(err)), 0);
	ck_assert_int_eq(strlen(fb.details), 2 * DDI_DETAIL_LINES_MAX - 1);
	ck_assert_int_eq(fb.details[0], '0');
	ck_assert_int_eq(fb.details[1], '\n');
	ck_assert_int_eq(fb.details[2 * DDI_DETAIL_LINES_MAX - 2], '7');
	json_decref(body);

	/* Too long: cut to DDI_DETAILS_MAX bytes on a character boundary.
	 * "a" then 2-byte characters: the cut falls inside one. */
	{
		char big[DDI_DETAILS_MAX * 2 + 8];
		size_t n = 0;

		big[n++] = 'a';
		while (n + 2 < sizeof(big) - 1) {
			big[n++] = '\xc3';
			big[n++] = '\xa9'; /* é */
		}
		big[n] = '\0';
		body = load("{\"status\":{\"execution\":\"proceeding\"}}");
		details = json_array();
		json_array_append_new(details, json_string(big));
		json_object_set_new(
		    json_object_get(body, "status"), "details", details);
		ck_assert_int_eq(
		    ddi_feedback_parse(body, 0, &fb, err, sizeof(err)), 0);
		ck_assert_int_eq(strlen(fb.details), DDI_DETAILS_MAX - 1);
		ck_assert_int_eq(
		    memcmp(fb.details, big, DDI_DETAILS_MAX - 1), 0);
		ck_assert_int_eq(
		    (unsigned char)fb.details[DDI_DETAILS_MAX - 2], 0xa9);
		json_decref(body);

		/* Exactly DDI_DETAILS_MAX of ASCII over two lines: kept
		 * whole; one byte more is cut. */
		memset(big, 'b', DDI_DETAILS_MAX);
		big[DDI_DETAILS_MAX - 10] = '\0';
		body = load("{\"status\":{\"execution\":\"proceeding\"}}");
		details = json_array();
		json_array_append_new(details, json_string(big));
		json_array_append_new(details, json_string("123456789"));
		json_array_append_new(details, json_string("more"));
		json_object_set_new(
		    json_object_get(body, "status"), "details", details);
		ck_assert_int_eq(
		    ddi_feedback_parse(body, 0, &fb, err, sizeof(err)), 0);
		ck_assert_int_eq(strlen(fb.details), DDI_DETAILS_MAX);
		ck_assert_str_eq(
		    fb.details + DDI_DETAILS_MAX - 10, "\n123456789");
		json_decref(body);
	}
}
END_TEST

/* hawkBit's DdiConfirmationFeedback: confirmation required, code and
 * details optional, null as absent, unknown fields ignored. */
START_TEST(test_confirmation_parse)
{
	struct ddi_confirmation cf, other;
	char err[256];
	json_t *b;

	b = load("{\"confirmation\":\"confirmed\",\"code\":200,"
	         "\"details\":[\"ok\",\"by user\"],\"extra\":1}");
	ck_assert_int_eq(ddi_confirmation_parse(b, &cf, err, sizeof(err)), 0);
	ck_assert_int_eq(cf.confirmed, 1);
	ck_assert_int_eq(cf.code, 200);
	ck_assert_str_eq(cf.details, "ok\nby user");
	ck_assert_uint_eq(strlen(cf.digest), DDI_HASH_LEN - 1);
	json_decref(b);
	b = load("{\"confirmation\":\"denied\",\"code\":null,"
	         "\"details\":null}");
	ck_assert_int_eq(
	    ddi_confirmation_parse(b, &other, err, sizeof(err)), 0);
	ck_assert_int_eq(other.confirmed, 0);
	ck_assert_int_eq(other.code, -1);
	ck_assert_str_eq(other.details, "");
	ck_assert_str_ne(other.digest, cf.digest);
	json_decref(b);
	/* Refused, naming the field; *out untouched. */
	static const char *const bad[][2] = {
	    {"{}", "confirmation: required, \"confirmed\" or \"denied\""},
	    {"{\"confirmation\":\"Confirmed\"}",
	        "confirmation: required, \"confirmed\" or \"denied\""},
	    {"{\"confirmation\":true}",
	        "confirmation: required, \"confirmed\" or \"denied\""},
	    {"{\"confirmation\":\"denied\",\"code\":2147483648}",
	        "code: an integer -2147483648..2147483647 when given"},
	    {"{\"confirmation\":\"denied\",\"code\":\"7\"}",
	        "code: an integer -2147483648..2147483647 when given"},
	    {"{\"confirmation\":\"denied\",\"details\":\"no\"}",
	        "details: must be an array of strings"},
	    {"{\"confirmation\":\"denied\",\"details\":[\"a\",2]}",
	        "details[1]: must be a string"},
	    {"[]", "body: must be a JSON object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		other.code = 77;
		b = load(bad[i][0]);
		ck_assert_int_eq(
		    ddi_confirmation_parse(b, &other, err, sizeof(err)),
		    OTA_EINVAL);
		ck_assert_str_eq(err, bad[i][1]);
		ck_assert_int_eq(other.code, 77);
		json_decref(b);
	}
}
END_TEST

START_TEST(test_feedback_digest)
{
	struct ddi_feedback a, b;
	char err[256];

	/* The same report again, with another time and id form: same. */
	ck_assert_int_eq(parse_fb("{\"id\":\"3\",\"time\":\"20261121T181754\","
	                          "\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"finished\":\"none\","
	                          "\"progress\":{\"cnt\":1,\"of\":3}},"
	                          "\"details\":[\"a\",\"b\"]}}",
	                     3, &a, err),
	    0);
	ck_assert_int_eq(parse_fb("{\"id\":3,\"time\":\"20261121T181800\","
	                          "\"status\":{\"details\":[\"a\",\"b\"],"
	                          "\"execution\":\"proceeding\",\"result\":{"
	                          "\"progress\":{\"of\":3,\"cnt\":1}}}}",
	                     3, &b, err),
	    0);
	ck_assert_str_eq(a.digest, b.digest);

	/* Other details, progress, execution or finished: different. */
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":1,"
	                          "\"of\":3}},\"details\":[\"a\",\"c\"]}}",
	                     0, &b, err),
	    0);
	ck_assert_str_ne(a.digest, b.digest);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":1,"
	                          "\"of\":3}},\"details\":[\"a\\nb\"]}}",
	                     0, &b, err),
	    0);
	/* Joined details are the same bytes: the report is the same. */
	ck_assert_str_eq(a.digest, b.digest);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"progress\":{\"cnt\":2,"
	                          "\"of\":3}},\"details\":[\"a\",\"b\"]}}",
	                     0, &b, err),
	    0);
	ck_assert_str_ne(a.digest, b.digest);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"resumed\","
	                          "\"result\":{\"progress\":{\"cnt\":1,"
	                          "\"of\":3}},\"details\":[\"a\",\"b\"]}}",
	                     0, &b, err),
	    0);
	ck_assert_str_ne(a.digest, b.digest);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"result\":{\"finished\":\"failure\","
	                          "\"progress\":{\"cnt\":1,\"of\":3}},"
	                          "\"details\":[\"a\",\"b\"]}}",
	                     0, &b, err),
	    0);
	ck_assert_str_ne(a.digest, b.digest);
	ck_assert_int_eq(parse_fb("{\"status\":{\"execution\":\"proceeding\","
	                          "\"details\":[\"a\",\"b\"]}}",
	                     0, &b, err),
	    0);
	ck_assert_str_ne(a.digest, b.digest);
}
END_TEST

/*
 * The action rules as a table.  Columns: what the feedback says, as
 * the rules group it.  START: proceeding, scheduled, resumed, download
 * and downloaded (each with every finished value).
 */
enum col { START, CSUCC, CFAIL, CANC, REJ, NCOL };

#define O DDI_OPEN
#define R DDI_RUNNING
#define G DDI_CANCELING
#define J DDI_CANCEL_REJECTED
#define L DDI_CLOSED
#define A DDI_CANCELED

/* Status afterwards [is_cancel][cur][col]. */
static const enum ddi_status after[2][6][NCOL] = {
    {
        /* deploymentBase feedback: START CSUCC CFAIL CANC REJ */
        [O] = {R, L, L, A, O},
        [R] = {R, L, L, A, R},
        [G] = {G, L, L, A, G},
        [J] = {J, L, L, A, J},
        [L] = {L, L, L, L, L},
        [A] = {A, A, A, A, A},
    },
    {
        /* cancelAction feedback */
        [O] = {O, A, O, A, O},
        [R] = {R, A, R, A, R},
        [G] = {G, A, J, A, J},
        [J] = {J, A, J, A, J},
        [L] = {L, L, L, L, L},
        [A] = {A, A, A, A, A},
    },
};

/* The event of deployment feedback [cur][col]: N none, S started, X
 * started without progress / progress with it, C completed, F failed. */
enum ev { N, S, X, C, F };
static const enum ev event[6][NCOL] = {
    [O] = {S, C, F, N, N},
    [R] = {X, C, F, N, N},
    [G] = {X, C, F, N, N},
    [J] = {X, C, F, N, N},
    [L] = {N, N, N, N, N},
    [A] = {N, N, N, N, N},
};

static enum col
column(enum ddi_execution e, enum ddi_finished f)
{
	switch (e) {
	case DDI_EXEC_CLOSED:
		return f == DDI_FINISHED_SUCCESS ? CSUCC : CFAIL;
	case DDI_EXEC_CANCELED:
		return CANC;
	case DDI_EXEC_REJECTED:
		return REJ;
	default:
		return START;
	}
}

/* Checks one feedback against the tables; returns 1 when it was a
 * valid combination, 0 for closed+none (refused). */
static int
check_transition(int cancel, int cur, int e, int f, int prog)
{
	struct ddi_feedback fb;
	struct ddi_effect eff;
	enum col c;
	enum ev want;
	int rc;

	memset(&fb, 0, sizeof(fb));
	fb.execution = (enum ddi_execution)e;
	fb.finished = (enum ddi_finished)f;
	fb.progress_cnt = prog ? 1 : -1;
	fb.progress_of = prog ? 4 : -1;
	memset(&eff, 0x5a, sizeof(eff));
	rc = ddi_feedback_apply((enum ddi_status)cur, cancel, &fb, &eff);
	if (e == DDI_EXEC_CLOSED && f == DDI_FINISHED_NONE) {
		/* Parse refuses it; apply does too, and changes nothing. */
		ck_assert_int_eq(rc, OTA_EINVAL);
		ck_assert_int_eq(eff.status, cur);
		ck_assert_int_eq(eff.telemetry, 0);
		return 0;
	}
	ck_assert_int_eq(rc, 0);
	c = column(fb.execution, fb.finished);
	ck_assert_msg(eff.status == after[cancel][cur][c],
	    "cancel %d cur %s exec %s finished %s: status %s, want %s", cancel,
	    ddi_status_name((enum ddi_status)cur),
	    ddi_execution_name(fb.execution), ddi_finished_name(fb.finished),
	    ddi_status_name(eff.status),
	    ddi_status_name(after[cancel][cur][c]));
	ck_assert_int_eq(
	    eff.cancels_update, cur != A && after[cancel][cur][c] == A);
	want = cancel ? N : event[cur][c];
	ck_assert_int_eq(eff.telemetry, want != N);
	ck_assert_int_eq(eff.sets_version, want == C);
	ck_assert_int_eq(eff.result, want == F ? DDI_FAILURE_RESULT : -1);
	switch (want) {
	case N:
		ck_assert_int_eq(eff.state, UPDATE_NONE);
		ck_assert_int_eq(eff.progress, -1);
		break;
	case S:
		ck_assert_int_eq(eff.state, UPDATE_STARTED);
		ck_assert_int_eq(eff.progress, prog ? 25 : -1);
		break;
	case X:
		ck_assert_int_eq(
		    eff.state, prog ? UPDATE_PROGRESS : UPDATE_STARTED);
		ck_assert_int_eq(eff.progress, prog ? 25 : -1);
		break;
	case C:
		ck_assert_int_eq(eff.state, UPDATE_COMPLETED);
		ck_assert_int_eq(eff.progress, -1);
		break;
	case F:
		ck_assert_int_eq(eff.state, UPDATE_FAILED);
		ck_assert_int_eq(eff.progress, -1);
		break;
	}
	return 1;
}

START_TEST(test_apply_every_transition)
{
	/* endpoint x status x execution x finished x progress given */
	const int total = 2 * 6 * 8 * 3 * 2;
	int checked = 0;

	for (int i = 0; i < total; i++)
		checked += check_transition(i / (6 * 8 * 3 * 2),
		    i / (8 * 3 * 2) % 6, i / (3 * 2) % 8, i / 2 % 3, i % 2);
	/* Every combination but closed+none. */
	ck_assert_int_eq(checked, 2 * 6 * 23 * 2);
}
END_TEST

START_TEST(test_apply_percent)
{
	static const struct {
		int64_t cnt, of;
		int want;
	} cases[] = {
	    {0, 5, 0},
	    {1, 3, 33},
	    {1, 2, 50},
	    {2, 3, 66},
	    {4, 5, 80},
	    {5, 5, 100},
	    {7, 5, 100}, /* cnt > of: capped */
	    {0, 0, -1},  /* of 0: no progress (SWUpdate's first logs) */
	    {3, 0, -1},
	    {2147483646, 2147483647, 99},
	    {2147483647, 2147483647, 100},
	    {1, -1, -1}, /* of absent: started again */
	    {-1, 5, -1},
	};
	struct ddi_feedback fb;
	struct ddi_effect eff;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&fb, 0, sizeof(fb));
		fb.execution = DDI_EXEC_PROCEEDING;
		fb.progress_cnt = cases[i].cnt;
		fb.progress_of = cases[i].of;
		ck_assert_int_eq(
		    ddi_feedback_apply(DDI_RUNNING, 0, &fb, &eff), 0);
		ck_assert_msg(eff.progress == cases[i].want,
		    "cnt %lld of %lld: %d", (long long)cases[i].cnt,
		    (long long)cases[i].of, eff.progress);
		ck_assert_int_eq(eff.state,
		    cases[i].want < 0 ? UPDATE_STARTED : UPDATE_PROGRESS);
	}
}
END_TEST

/* SWUpdate's first feedback, with its log lines and "0 of 0": the
 * update started, nothing downloaded yet. */
START_TEST(test_apply_zero_of)
{
	struct ddi_feedback fb;
	struct ddi_effect eff;
	char err[256];

	ck_assert_int_eq(
	    parse_fb("{\"id\":1,\"status\":{\"execution\":\"proceeding\","
	             "\"result\":{\"finished\":\"none\",\"progress\":{"
	             "\"cnt\":0,\"of\":0}},\"details\":[\"Update "
	             "started\"]}}",
	        1, &fb, err),
	    0);
	ck_assert_int_eq(ddi_feedback_apply(DDI_OPEN, 0, &fb, &eff), 0);
	ck_assert_int_eq(eff.state, UPDATE_STARTED);
	ck_assert_int_eq(eff.progress, -1);
	ck_assert_int_eq(ddi_feedback_apply(DDI_RUNNING, 0, &fb, &eff), 0);
	ck_assert_int_eq(eff.state, UPDATE_STARTED);
	ck_assert_int_eq(eff.progress, -1);
}
END_TEST

START_TEST(test_apply_invalid)
{
	struct ddi_feedback fb;
	struct ddi_effect eff;

	memset(&fb, 0, sizeof(fb));
	fb.execution = DDI_EXEC_PROCEEDING;
	fb.progress_cnt = fb.progress_of = -1;
	ck_assert_int_eq(
	    ddi_feedback_apply((enum ddi_status)6, 0, &fb, &eff), OTA_EINVAL);
	ck_assert_int_eq(eff.telemetry, 0);
	ck_assert_int_eq(
	    ddi_feedback_apply((enum ddi_status) - 1, 1, &fb, &eff),
	    OTA_EINVAL);
	fb.execution = (enum ddi_execution)8;
	ck_assert_int_eq(
	    ddi_feedback_apply(DDI_OPEN, 0, &fb, &eff), OTA_EINVAL);
	ck_assert_int_eq(eff.status, DDI_OPEN);
	ck_assert_int_eq(eff.telemetry, 0);
	fb.execution = DDI_EXEC_PROCEEDING;
	fb.finished = (enum ddi_finished)3;
	ck_assert_int_eq(
	    ddi_feedback_apply(DDI_OPEN, 0, &fb, &eff), OTA_EINVAL);
}
END_TEST

/* One successful SWUpdate update, as the reference describes it. */
START_TEST(test_apply_story)
{
	static const char *const bodies[] = {
	    "{\"id\":1,\"status\":{\"execution\":\"proceeding\",\"result\":{"
	    "\"finished\":\"none\",\"progress\":{\"cnt\":0,\"of\":1}},"
	    "\"details\":[\"Installing\"]}}",
	    "{\"id\":1,\"status\":{\"execution\":\"proceeding\",\"result\":{"
	    "\"finished\":\"none\",\"progress\":{\"cnt\":1,\"of\":1}},"
	    "\"details\":[\"All Chunks Installed.\"]}}",
	    "{\"id\":1,\"status\":{\"execution\":\"closed\",\"result\":{"
	    "\"finished\":\"success\"},\"details\":[\"ok\"]}}",
	    /* a retry of the last one */
	    "{\"id\":1,\"status\":{\"execution\":\"closed\",\"result\":{"
	    "\"finished\":\"success\"},\"details\":[\"ok\"]}}",
	};
	static const enum update_state states[] = {
	    UPDATE_STARTED, UPDATE_PROGRESS, UPDATE_COMPLETED, UPDATE_NONE};
	static const enum ddi_status statuses[] = {
	    DDI_RUNNING, DDI_RUNNING, DDI_CLOSED, DDI_CLOSED};
	enum ddi_status cur = DDI_OPEN;
	struct ddi_feedback fb;
	struct ddi_effect eff;
	char err[256];

	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(parse_fb(bodies[i], 1, &fb, err), 0);
		ck_assert_int_eq(ddi_feedback_apply(cur, 0, &fb, &eff), 0);
		ck_assert_int_eq(eff.state, states[i]);
		ck_assert_int_eq(eff.status, statuses[i]);
		ck_assert_int_eq(eff.sets_version, i == 2);
		cur = eff.status;
	}
}
END_TEST

/* ddi_config_apply on text over cur (text or NULL); returns its code
 * and the result in *out (new reference or NULL). */
static int
config(const char *body_text, const char *cur_text, json_t **out, char *err)
{
	json_t *body = load(body_text);
	json_t *cur = cur_text != NULL ? load(cur_text) : NULL;
	int rc;

	err[0] = '\0';
	rc = ddi_config_apply(body, cur, out, err, 256);
	json_decref(body);
	json_decref(cur);
	return rc;
}

/* 1 when a equals the JSON text want. */
static int
json_is(const json_t *a, const char *want)
{
	json_t *w = load(want);
	int eq = json_equal((json_t *)a, w);

	json_decref(w);
	return eq;
}

START_TEST(test_config_modes)
{
	json_t *out;
	char err[256];

	/* hawkBit's documented configData example: merge by default. */
	ck_assert_int_eq(config("{\"mode\":\"merge\",\"data\":{\"VIN\":"
	                        "\"JH4TB2H26CC000000\",\"hwRevision\":\"2\"},"
	                        "\"status\":{\"result\":{\"finished\":"
	                        "\"success\"},\"execution\":\"closed\","
	                        "\"details\":[]}}",
	                     NULL, &out, err),
	    0);
	ck_assert(json_is(
	    out, "{\"VIN\":\"JH4TB2H26CC000000\",\"hwRevision\":\"2\"}"));
	json_decref(out);
	ck_assert_int_eq(config("{\"id\":\"\",\"time\":\"20261121T181754\","
	                        "\"data\":{\"b\":\"3\",\"c\":\"4\"}}",
	                     "{\"a\":\"1\",\"b\":\"2\"}", &out, err),
	    0);
	ck_assert(json_is(out, "{\"a\":\"1\",\"b\":\"3\",\"c\":\"4\"}"));
	json_decref(out);
	ck_assert_int_eq(config("{\"mode\":\"replace\",\"data\":{\"b\":\"3\"}}",
	                     "{\"a\":\"1\",\"b\":\"2\"}", &out, err),
	    0);
	ck_assert(json_is(out, "{\"b\":\"3\"}"));
	json_decref(out);
	ck_assert_int_eq(config("{\"mode\":\"replace\",\"data\":{}}",
	                     "{\"a\":\"1\"}", &out, err),
	    0);
	ck_assert(json_is(out, "{}"));
	json_decref(out);
	ck_assert_int_eq(config("{\"mode\":\"remove\",\"data\":{\"b\":\"\","
	                        "\"zz\":\"\"}}",
	                     "{\"a\":\"1\",\"b\":\"2\"}", &out, err),
	    0);
	ck_assert(json_is(out, "{\"a\":\"1\"}"));
	json_decref(out);
	/* mode null as absent; cur not an object as none; empty value. */
	ck_assert_int_eq(
	    config("{\"mode\":null,\"data\":{\"a\":\"\"}}", "[1]", &out, err),
	    0);
	ck_assert(json_is(out, "{\"a\":\"\"}"));
	json_decref(out);
}
END_TEST

START_TEST(test_config_refused)
{
	char key[DDI_ATTR_KEY_MAX + 2], val[DDI_ATTR_VALUE_MAX + 2];
	char body[1024];
	json_t *out = (json_t *)1, *b, *data, *cur;
	char err[256];
	int i;

	ck_assert_int_eq(config("{}", NULL, &out, err), OTA_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(err, "data"));
	ck_assert_int_eq(config("[]", NULL, &out, err), OTA_EINVAL);
	ck_assert_int_eq(
	    config("{\"data\":null}", NULL, &out, err), OTA_EINVAL);
	ck_assert_int_eq(
	    config("{\"data\":[\"a\"]}", NULL, &out, err), OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "data"));
	ck_assert_int_eq(
	    config("{\"data\":{\"a\":1}}", NULL, &out, err), OTA_EINVAL);
	ck_assert_str_eq(err, "data.a: must be a string of at most 128 bytes");
	ck_assert_int_eq(
	    config("{\"data\":{\"a\":null}}", NULL, &out, err), OTA_EINVAL);
	ck_assert_int_eq(
	    config("{\"data\":{\"a\":{\"b\":\"c\"}}}", NULL, &out, err),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    config("{\"data\":{\"a\":true}}", NULL, &out, err), OTA_EINVAL);
	ck_assert_int_eq(
	    config("{\"mode\":\"remove\",\"data\":{\"a\":1}}", NULL, &out, err),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    config("{\"data\":{\"\":\"x\"}}", NULL, &out, err), OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "data"));
	ck_assert_int_eq(
	    config("{\"mode\":\"MERGE\",\"data\":{}}", NULL, &out, err),
	    OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "mode"));
	ck_assert_int_eq(
	    config("{\"mode\":1,\"data\":{}}", NULL, &out, err), OTA_EINVAL);

	/* Key and value lengths: the limit passes, one more does not. */
	memset(key, 'k', sizeof(key));
	memset(val, 'v', sizeof(val));
	for (i = 0; i < 2; i++) {
		key[DDI_ATTR_KEY_MAX + i] = '\0';
		snprintf(body, sizeof(body), "{\"data\":{\"%s\":\"v\"}}", key);
		ck_assert_int_eq(
		    config(body, NULL, &out, err), i == 0 ? 0 : OTA_EINVAL);
		json_decref(out);
		key[DDI_ATTR_KEY_MAX + i] = 'k';
		val[DDI_ATTR_VALUE_MAX + i] = '\0';
		snprintf(body, sizeof(body), "{\"data\":{\"k\":\"%s\"}}", val);
		ck_assert_int_eq(
		    config(body, NULL, &out, err), i == 0 ? 0 : OTA_EINVAL);
		json_decref(out);
		val[DDI_ATTR_VALUE_MAX + i] = 'v';
	}
	/* Multi-byte values count bytes: 65 x "é" = 130 bytes. */
	snprintf(body, sizeof(body), "{\"data\":{\"k\":\"");
	for (i = 0; i < 65; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}}");
	ck_assert_int_eq(config(body, NULL, &out, err), OTA_EINVAL);

	/* Count: DDI_ATTR_MAX passes, one more does not; also in all. */
	b = json_object();
	data = json_object();
	json_object_set_new(b, "data", data);
	for (i = 0; i < DDI_ATTR_MAX; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(data, key, json_string("v"));
	}
	ck_assert_int_eq(ddi_config_apply(b, NULL, &out, err, 256), 0);
	ck_assert_int_eq(json_object_size(out), DDI_ATTR_MAX);
	json_decref(out);
	json_object_set_new(data, "one-more", json_string("v"));
	ck_assert_int_eq(ddi_config_apply(b, NULL, &out, err, 256), OTA_EINVAL);
	ck_assert_ptr_null(out);
	json_object_del(data, "one-more");
	cur = json_pack("{s:s}", "stored", "v");
	ck_assert_int_eq(ddi_config_apply(b, cur, &out, err, 256), OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "in all"));
	json_object_set_new(b, "mode", json_string("replace"));
	ck_assert_int_eq(ddi_config_apply(b, cur, &out, err, 256), 0);
	json_decref(out);
	json_decref(cur);
	json_decref(b);
}
END_TEST

/* ddi_attrs_device_facts on the JSON text attrs (NULL: none). */
static int
facts(const char *attrs_text, char *hw, char *ver, char *err)
{
	json_t *attrs = attrs_text != NULL ? load(attrs_text) : NULL;
	int rc;

	err[0] = '\0';
	rc = ddi_attrs_device_facts(
	    attrs, "hwRevision", "swVersion", hw, ver, err, 256);
	json_decref(attrs);
	return rc;
}

START_TEST(test_attrs_device_facts)
{
	char hw[DESCRIPTOR_HW_LEN_MAX + 1], ver[SEMVER_MAX_LEN + 1];
	char err[256];
	json_t *attrs;

	ck_assert_int_eq(facts("{\"hwRevision\":\"revB\",\"swVersion\":"
	                       "\"1.4.0-rc.1+b7\",\"VIN\":\"x\"}",
	                     hw, ver, err),
	    0);
	ck_assert_str_eq(hw, "revB");
	ck_assert_str_eq(ver, "1.4.0-rc.1+b7");
	ck_assert_int_eq(facts("{\"VIN\":\"x\"}", hw, ver, err), 0);
	ck_assert_str_eq(hw, "");
	ck_assert_str_eq(ver, "");
	ck_assert_int_eq(facts("{\"swVersion\":\"2.0.0\"}", hw, ver, err), 0);
	ck_assert_str_eq(hw, "");
	ck_assert_str_eq(ver, "2.0.0");
	ck_assert_int_eq(facts(NULL, hw, ver, err), 0);
	ck_assert_str_eq(hw, "");

	ck_assert_int_eq(
	    facts("{\"hwRevision\":\"rev B\"}", hw, ver, err), OTA_EINVAL);
	ck_assert_int_eq(strncmp(err, "data.hwRevision: ", 17), 0);
	ck_assert_int_eq(
	    facts("{\"hwRevision\":\"\"}", hw, ver, err), OTA_EINVAL);
	ck_assert_int_eq(facts("{\"hwRevision\":\"revB\",\"swVersion\":"
	                       "\"v1.0.0\"}",
	                     hw, ver, err),
	    OTA_EINVAL);
	ck_assert_int_eq(strncmp(err, "data.swVersion: ", 16), 0);
	ck_assert_str_eq(hw, "");
	ck_assert_str_eq(ver, "");
	ck_assert_int_eq(
	    facts("{\"swVersion\":\"1.0\"}", hw, ver, err), OTA_EINVAL);
	ck_assert_int_eq(
	    facts("{\"swVersion\":\"01.0.0\"}", hw, ver, err), OTA_EINVAL);
	ck_assert_int_eq(
	    facts("{\"swVersion\":\"\"}", hw, ver, err), OTA_EINVAL);

	/* Names not configured: nothing read. */
	attrs = load("{\"hwRevision\":\"bad one\"}");
	ck_assert_int_eq(
	    ddi_attrs_device_facts(attrs, "", NULL, hw, ver, err, 256), 0);
	ck_assert_str_eq(hw, "");
	json_decref(attrs);
}
END_TEST

/* ddi_config_parse checks the body before any stored attributes are
 * read; ddi_config_merge then applies it (the two halves of
 * ddi_config_apply). */
START_TEST(test_config_parse_merge)
{
	struct ddi_config cfg;
	json_t *body, *cur, *out;
	char err[256];

	body = load("{\"mode\":\"remove\",\"data\":{\"a\":\"\"}}");
	ck_assert_int_eq(ddi_config_parse(body, &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.mode, DDI_CONFIG_REMOVE);
	ck_assert_ptr_eq(cfg.data, json_object_get(body, "data"));
	cur = load("{\"a\":\"1\",\"b\":\"2\"}");
	ck_assert_int_eq(ddi_config_merge(&cfg, cur, &out, err, 256), 0);
	ck_assert(json_is(out, "{\"b\":\"2\"}"));
	json_decref(out);
	json_decref(body);

	body = load("{\"data\":{\"a\":\"9\"}}");
	ck_assert_int_eq(ddi_config_parse(body, &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.mode, DDI_CONFIG_MERGE);
	ck_assert_int_eq(ddi_config_merge(&cfg, cur, &out, err, 256), 0);
	ck_assert(json_is(out, "{\"a\":\"9\",\"b\":\"2\"}"));
	json_decref(out);
	/* cur that is not an object counts as none. */
	json_decref(cur);
	cur = load("[1]");
	ck_assert_int_eq(ddi_config_merge(&cfg, cur, &out, err, 256), 0);
	ck_assert(json_is(out, "{\"a\":\"9\"}"));
	json_decref(out);
	json_decref(cur);
	json_decref(body);

	body = load("{\"data\":{\"a\":\"1\"},\"mode\":\"replace\"}");
	cur = load("{\"b\":\"2\"}");
	ck_assert_int_eq(ddi_config_parse(body, &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.mode, DDI_CONFIG_REPLACE);
	ck_assert_int_eq(ddi_config_merge(&cfg, cur, &out, err, 256), 0);
	ck_assert(json_is(out, "{\"a\":\"1\"}"));
	json_decref(out);
	json_decref(cur);
	json_decref(body);

	/* Refusals name the field; *out untouched. */
	cfg.mode = DDI_CONFIG_REPLACE;
	cfg.data = NULL;
	body = load("{\"data\":{\"a\":1}}");
	ck_assert_int_eq(
	    ddi_config_parse(body, &cfg, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "data.a: must be a string of at most 128 bytes");
	ck_assert_int_eq(cfg.mode, DDI_CONFIG_REPLACE);
	ck_assert_ptr_null(cfg.data);
	json_decref(body);
	body = load("{\"data\":{},\"mode\":\"add\"}");
	ck_assert_int_eq(
	    ddi_config_parse(body, &cfg, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "mode: must be merge, replace or remove");
	json_decref(body);
	body = load("[]");
	ck_assert_int_eq(
	    ddi_config_parse(body, &cfg, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "body: must be a JSON object");
	json_decref(body);
}
END_TEST

/* ddi_view_shows: which action each GET of an action shows */
START_TEST(test_view_shows)
{
	static const struct {
		enum ddi_status status;
		const char *result;
		int deployment, installed, cancel;
	} t[] = {
	    {DDI_OPEN, "", 1, 0, 0},
	    {DDI_RUNNING, "", 1, 0, 0},
	    {DDI_CANCELING, "", 0, 0, 1},
	    {DDI_CANCEL_REJECTED, "", 1, 0, 0},
	    {DDI_CLOSED, "success", 0, 1, 0},
	    {DDI_CLOSED, "failure", 0, 0, 0},
	    {DDI_CLOSED, NULL, 0, 0, 0},
	    {DDI_CANCELED, "", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(ddi_view_shows(DDI_VIEW_DEPLOYMENT,
		                     t[i].status, t[i].result),
		    t[i].deployment);
		ck_assert_int_eq(ddi_view_shows(DDI_VIEW_INSTALLED, t[i].status,
		                     t[i].result),
		    t[i].installed);
		ck_assert_int_eq(
		    ddi_view_shows(DDI_VIEW_CANCEL, t[i].status, t[i].result),
		    t[i].cancel);
	}
	ck_assert_int_eq(
	    ddi_view_shows((enum ddi_view)9, DDI_OPEN, "success"), 0);
}
END_TEST

/* ddi_attributes_json: the stored text as the device's REST JSON shows
 * it */
START_TEST(test_attributes_json)
{
	json_t *v;

	v = ddi_attributes_json("{\"hw\":\"revA\"}");
	ck_assert(json_is(v, "{\"hw\":\"revA\"}"));
	json_decref(v);
	v = ddi_attributes_json(NULL);
	ck_assert(json_is_null(v));
	json_decref(v);
	v = ddi_attributes_json("[\"not an object\"]");
	ck_assert(json_is_null(v));
	json_decref(v);
	v = ddi_attributes_json("{broken");
	ck_assert(json_is_null(v));
	json_decref(v);
}
END_TEST

/* ddi_modes_of: hawkBit's handling types by action type and window. */
START_TEST(test_modes)
{
	static const struct {
		enum rollout_action_type t;
		int open;
		const char *want;
	} cases[] = {
	    {ROLLOUT_ACTION_FORCED, 1, "forced forced available"},
	    {ROLLOUT_ACTION_SOFT, 1, "attempt attempt available"},
	    {ROLLOUT_ACTION_DOWNLOAD_ONLY, 1, "forced skip available"},
	    {ROLLOUT_ACTION_FORCED, 0, "forced skip unavailable"},
	    {ROLLOUT_ACTION_SOFT, 0, "attempt skip unavailable"},
	    {ROLLOUT_ACTION_DOWNLOAD_ONLY, 0, "forced skip unavailable"},
	};
	struct ddi_modes m;
	char got[64], base[DDI_HASH_LEN], h[DDI_HASH_LEN];
	json_t *j;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ddi_modes_of(cases[i].t, cases[i].open, &m);
		snprintf(got, sizeof(got), "%s %s %s", m.download, m.update,
		    m.window);
		ck_assert_str_eq(got, cases[i].want);
	}
	/* The deployment shows them; the link's hash follows them. */
	ddi_modes_of(ROLLOUT_ACTION_FORCED, 0, &m);
	j = ddi_deployment_json(5, &artifact, &m);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(str_at(j, "deployment.download"), "forced");
	ck_assert_str_eq(str_at(j, "deployment.update"), "skip");
	ck_assert_str_eq(
	    str_at(j, "deployment.maintenanceWindow"), "unavailable");
	json_decref(j);
	ddi_action_hash(5, &artifact, NULL, base);
	ddi_action_hash(5, &artifact, &m, h);
	ck_assert_str_ne(base, h);
	ddi_modes_of(ROLLOUT_ACTION_FORCED, 1, &m);
	ddi_action_hash(5, &artifact, &m, h);
	ck_assert_str_eq(base, h); /* NULL is forced, forced, available */
}
END_TEST

START_TEST(test_action_hash)
{
	char base[DDI_HASH_LEN], again[DDI_HASH_LEN], h[DDI_HASH_LEN];
	struct ddi_artifact a;

	ddi_action_hash(5, &artifact, NULL, base);
	ck_assert_int_eq(strlen(base), 16);
	ck_assert_int_eq(strspn(base, "0123456789abcdef"), 16);
	a = artifact; /* same content in other buffers */
	a.name = strdup(artifact.name);
	ddi_action_hash(5, &a, NULL, again);
	free((char *)a.name);
	ck_assert_str_eq(base, again);

	ddi_action_hash(6, &artifact, NULL, h);
	ck_assert_str_ne(base, h);
#define CHANGED(field, value)                                                  \
	do {                                                                   \
		a = artifact;                                                  \
		a.field = value;                                               \
		ddi_action_hash(5, &a, NULL, h);                               \
		ck_assert_msg(strcmp(base, h) != 0, #field " not hashed");     \
	} while (0)
	CHANGED(image_id, 43);
	CHANGED(name, "sensor-fx");
	CHANGED(version, "1.4.1");
	CHANGED(filename, "sensor-fw.bin");
	CHANGED(size, 3145729);
	CHANGED(sha1_hex, "3d86c2a659e364e9abba49ea6ffcd53dd5559f05");
	CHANGED(md5_hex, "1d1b08c34858921bc7c662b228acb7ba");
	CHANGED(sha256_hex, "b03b221c6c6eae7122ca51695d456d5222e524889136394944"
	                    "b2f9763b483615");
	CHANGED(download_href, "https://other/x");
	CHANGED(md5sum_href, "https://other/x.MD5SUM");
	CHANGED(md5_hex, "");
	CHANGED(md5_hex, NULL);
#undef CHANGED
	/* Lengths are framed: moving a byte between fields changes it. */
	a = artifact;
	a.name = "sensor-fw1";
	a.version = ".4.0";
	ddi_action_hash(5, &a, NULL, h);
	ck_assert_str_ne(base, h);
	a = artifact;
	a.sha1_hex = "";
	ddi_action_hash(5, &a, NULL, h);
	a.sha1_hex = NULL;
	ddi_action_hash(5, &a, NULL, again);
	ck_assert_str_ne(h, again);
}
END_TEST

/* ddi_poll_decide over a[0..n) with the offer; checks kind, index and
 * mark. */
static void
decide(const struct ddi_active *a, size_t n, int64_t offer,
    enum ddi_poll_kind want, size_t want_index, int want_mark)
{
	size_t index = 99;
	int mark = 99;
	enum ddi_poll_kind k = ddi_poll_decide(a, n, offer, &index, &mark);

	ck_assert_int_eq(k, want);
	ck_assert_uint_eq(index, want_index);
	ck_assert_int_eq(mark, want_mark);
}

START_TEST(test_poll_decide)
{
	/* {action, rollout, status, aborted, targeted} */
	struct ddi_active a[4];

	/* 4. nothing: none (offer or not: the caller opens it). */
	decide(NULL, 0, 0, DDI_POLL_NONE, 0, 0);
	decide(NULL, 0, 3, DDI_POLL_NONE, 0, 0);

	/* 1. canceling: cancel, already marked. */
	a[0] = (struct ddi_active){10, 1, DDI_CANCELING, 0, 1};
	decide(a, 1, 1, DDI_POLL_CANCEL, 0, 0);
	/* 1. open/running of an aborted rollout or one the device left:
	 * cancel, mark it. */
	a[0] = (struct ddi_active){10, 1, DDI_OPEN, 1, 1};
	decide(a, 1, 1, DDI_POLL_CANCEL, 0, 1);
	a[0] = (struct ddi_active){10, 1, DDI_OPEN, 0, 0};
	decide(a, 1, 0, DDI_POLL_CANCEL, 0, 1);
	a[0] = (struct ddi_active){10, 1, DDI_RUNNING, 1, 1};
	decide(a, 1, 0, DDI_POLL_CANCEL, 0, 1);
	a[0] = (struct ddi_active){10, 1, DDI_RUNNING, 0, 0};
	decide(a, 1, 2, DDI_POLL_CANCEL, 0, 1);
	a[0] = (struct ddi_active){10, 1, DDI_CANCELING, 1, 0};
	decide(a, 1, 0, DDI_POLL_CANCEL, 0, 0);
	/* ... the lowest action id of them, wherever it is. */
	a[0] = (struct ddi_active){30, 3, DDI_RUNNING, 1, 1};
	a[1] = (struct ddi_active){20, 2, DDI_CANCELING, 0, 1};
	a[2] = (struct ddi_active){25, 4, DDI_OPEN, 0, 0};
	decide(a, 3, 0, DDI_POLL_CANCEL, 1, 0);
	a[1].action_id = 40;
	decide(a, 3, 0, DDI_POLL_CANCEL, 2, 1);
	/* ... and a cancel wins over a running action of lower id. */
	a[0] = (struct ddi_active){5, 1, DDI_RUNNING, 0, 1};
	a[1] = (struct ddi_active){9, 2, DDI_OPEN, 1, 1};
	decide(a, 2, 1, DDI_POLL_CANCEL, 1, 1);

	/* 2. running and cancel_rejected are carried on whatever the
	 * rollout does (a rejected cancel is not asked again). */
	a[0] = (struct ddi_active){10, 1, DDI_RUNNING, 0, 1};
	decide(a, 1, 0, DDI_POLL_DEPLOY, 0, 0);
	decide(a, 1, 2, DDI_POLL_DEPLOY, 0, 0);
	a[0] = (struct ddi_active){10, 1, DDI_CANCEL_REJECTED, 1, 0};
	decide(a, 1, 0, DDI_POLL_DEPLOY, 0, 0);
	a[0] = (struct ddi_active){12, 1, DDI_CANCEL_REJECTED, 0, 1};
	a[1] = (struct ddi_active){11, 2, DDI_RUNNING, 0, 1};
	decide(a, 2, 0, DDI_POLL_DEPLOY, 1, 0);
	a[1].action_id = 13;
	decide(a, 2, 0, DDI_POLL_DEPLOY, 0, 0);
	/* ... over an open action of the offered rollout. */
	a[0] = (struct ddi_active){7, 2, DDI_OPEN, 0, 1};
	a[1] = (struct ddi_active){8, 1, DDI_RUNNING, 0, 1};
	decide(a, 2, 2, DDI_POLL_DEPLOY, 1, 0);

	/* 3. an open action of the offered rollout. */
	a[0] = (struct ddi_active){7, 2, DDI_OPEN, 0, 1};
	decide(a, 1, 2, DDI_POLL_DEPLOY, 0, 0);
	a[0] = (struct ddi_active){7, 3, DDI_OPEN, 0, 1};
	a[1] = (struct ddi_active){8, 2, DDI_OPEN, 0, 1};
	decide(a, 2, 2, DDI_POLL_DEPLOY, 1, 0);
	/* An open action of a rollout no longer offered waits. */
	decide(a, 2, 0, DDI_POLL_NONE, 0, 0);
	decide(a, 2, 4, DDI_POLL_NONE, 0, 0);
	a[0] = (struct ddi_active){7, 0, DDI_OPEN, 0, 1};
	decide(a, 1, 0, DDI_POLL_NONE, 0, 0);

	/* Final entries are ignored, aborted or not. */
	a[0] = (struct ddi_active){1, 1, DDI_CLOSED, 1, 0};
	a[1] = (struct ddi_active){2, 1, DDI_CANCELED, 1, 0};
	a[2] = (struct ddi_active){3, 2, DDI_CLOSED, 0, 1};
	decide(a, 3, 2, DDI_POLL_NONE, 0, 0);
	a[3] = (struct ddi_active){4, 2, DDI_OPEN, 0, 1};
	decide(a, 4, 2, DDI_POLL_DEPLOY, 3, 0);
}
END_TEST

static Suite *
ddi_suite(void)
{
	Suite *s = suite_create("ddi");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_test(tc, test_status_names);
	tcase_add_test(tc, test_execution_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, test_sleep_format);
	tcase_add_test(tc, test_poll_json);
	tcase_add_test(tc, test_deployment_json);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_deployment_json_partial);
	tcase_add_test(tc, test_deployment_chunks);
	tcase_add_test(tc, test_attrs_components);
	tcase_add_test(tc, test_cancel_json);
	suite_add_tcase(s, tc);
	tc = tcase_create("feedback_parse");
	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_feedback_hawkbit_example);
	tcase_add_test(tc, test_feedback_swupdate);
	tcase_add_test(tc, test_feedback_progress);
	tcase_add_test(tc, test_feedback_refused);
	tcase_add_test(tc, test_feedback_lenient);
	tcase_add_test(tc, test_feedback_details_cut);
	tcase_add_test(tc, test_feedback_digest);
	tcase_add_test(tc, test_confirmation_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("feedback_apply");
	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_apply_every_transition);
	tcase_add_test(tc, test_apply_percent);
	tcase_add_test(tc, test_apply_zero_of);
	tcase_add_test(tc, test_apply_invalid);
	tcase_add_test(tc, test_apply_story);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_test(tc, test_config_modes);
	tcase_add_test(tc, test_config_refused);
	tcase_add_test(tc, test_attrs_device_facts);
	tcase_add_test(tc, test_config_parse_merge);
	tcase_add_test(tc, test_attributes_json);
	suite_add_tcase(s, tc);
	tc = tcase_create("view");
	tcase_add_test(tc, test_view_shows);
	suite_add_tcase(s, tc);
	tc = tcase_create("action_hash");
	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_action_hash);
	suite_add_tcase(s, tc);
	tc = tcase_create("poll_decide");
	tcase_add_test(tc, test_poll_decide);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(ddi_suite());
}
