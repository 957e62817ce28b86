/*
 * check_telemetry_parse: telemetry_parse.c.  The parser is specified
 * field by field (valid and invalid values, RFC 3339 with fractions and
 * offsets), the names of transports and rejections, and the verdict on
 * the facts of a device and rollout: no store, no thread.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "telemetry_parse.h"
#include "testutil.h"

#define NOW_MS 1795300000000LL /* 2026-11-21T22:26:40Z */

/* ---- telemetry_parse_event ---- */

/* Parses text for device "dev-1" at NOW_MS; returns the parser's rc and
 * leaves its message in err. */
static int
parse(const char *text, struct telemetry_event *e, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *obj = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	int rc;

	ck_assert_msg(obj != NULL, "bad test JSON %s: %s", text, jerr.text);
	err[0] = '\0';
	rc = telemetry_parse_event(obj, "dev-1", NOW_MS, e, err, errlen);
	json_decref(obj);
	return rc;
}

/* Asserts that text is refused with a message starting with field. */
static void
refused(const char *text, const char *field)
{
	struct telemetry_event e;
	char err[256];

	ck_assert_msg(parse(text, &e, err, sizeof(err)) == OTA_EINVAL,
	    "accepted: %s", text);
	ck_assert_msg(strncmp(err, field, strlen(field)) == 0,
	    "%s: message '%s' does not name %s", text, err, field);
}

#define BASE "\"event_id\":\"e-1\",\"rollout\":7,\"version\":\"1.4.0\","

START_TEST(test_parse_valid)
{
	struct telemetry_event e;
	char err[256];

	ck_assert_int_eq(parse("{" BASE "\"state\":\"started\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_str_eq(e.event_id, "e-1");
	ck_assert_str_eq(e.device_id, "dev-1");
	ck_assert_int_eq(e.rollout_id, 7);
	ck_assert_str_eq(e.version, "1.4.0");
	ck_assert_int_eq(e.state, UPDATE_STARTED);
	ck_assert_int_eq(e.progress, -1);
	ck_assert_int_eq(e.result, -1);
	ck_assert_str_eq(e.detail, "");
	ck_assert_str_eq(e.ts, "2026-11-21T18:00:00Z");
	ck_assert_int_eq(e.ts_ms, 1795284000000LL);

	ck_assert_int_eq(
	    parse("{\"event_id\":\"A.b_c:9-Z\",\"device\":\"dev-1\","
	          "\"rollout\":1,\"version\":\"2.0.0-rc.1+build.5\","
	          "\"state\":\"failed\",\"result\":2,\"detail\":\"flash "
	          "\\u00e9 full\",\"ts\":\"2026-11-21T19:00:00.25+01:00\"}",
	        &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.state, UPDATE_FAILED);
	ck_assert_int_eq(e.result, 2);
	ck_assert_str_eq(e.detail, "flash \xc3\xa9 full");
	ck_assert_int_eq(e.ts_ms, 1795284000250LL);
	ck_assert_str_eq(e.ts, "2026-11-21T19:00:00.25+01:00");

	ck_assert_int_eq(parse("{" BASE "\"state\":\"progress\",\"progress\":0,"
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.progress, 0);
	ck_assert_int_eq(
	    parse("{" BASE "\"state\":\"started\",\"progress\":100,"
	          "\"ts\":\"2026-11-21T18:00:00Z\"}",
	        &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.progress, 100);
	ck_assert_int_eq(parse("{" BASE "\"state\":\"completed\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.state, UPDATE_COMPLETED);
	ck_assert_int_eq(parse("{" BASE "\"state\":\"reverted\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.state, UPDATE_REVERTED);
	/* a soft rollout's "not now" */
	ck_assert_int_eq(parse("{" BASE "\"state\":\"deferred\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.state, UPDATE_DEFERRED);
	refused("{" BASE "\"state\":\"deferred\",\"result\":2,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "result");
	/* the consent answers: no progress, no result */
	ck_assert_int_eq(parse("{" BASE "\"state\":\"accepted\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.state, UPDATE_ACCEPTED);
	ck_assert_int_eq(parse("{" BASE "\"state\":\"declined\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_int_eq(e.state, UPDATE_DECLINED);
	refused("{" BASE "\"state\":\"declined\",\"progress\":3,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "progress");
	refused("{" BASE "\"state\":\"accepted\",\"result\":2,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "result");
}
END_TEST

/* Parses ts alone; returns 0 with *ms or the parser's rc. */
static int
parse_ts(const char *ts, int64_t *ms)
{
	struct telemetry_event e;
	char text[256], err[256];
	int rc;

	snprintf(text, sizeof(text),
	    "{" BASE "\"state\":\"completed\",\"ts\":\"%s\"}", ts);
	rc = parse(text, &e, err, sizeof(err));
	if (rc == 0)
		*ms = e.ts_ms;
	return rc;
}

START_TEST(test_parse_ts)
{
	int64_t ms = 0;

	ck_assert_int_eq(parse_ts("1970-01-01T00:00:00Z", &ms), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(parse_ts("2024-02-29T12:00:00Z", &ms), 0);
	ck_assert_int_eq(ms, 1709208000000LL);
	ck_assert_int_eq(parse_ts("2000-02-29T00:00:00z", &ms), 0);
	ck_assert_int_eq(ms, 951782400000LL);
	ck_assert_int_eq(parse_ts("2026-01-01t00:00:00.1Z", &ms), 0);
	ck_assert_int_eq(ms, 1767225600100LL);
	ck_assert_int_eq(parse_ts("2026-01-01T00:00:00.123456789Z", &ms), 0);
	ck_assert_int_eq(ms, 1767225600123LL);
	ck_assert_int_eq(parse_ts("2026-01-01T00:00:00.999-00:00", &ms), 0);
	ck_assert_int_eq(ms, 1767225600999LL);
	/* Offsets move the instant the other way. */
	ck_assert_int_eq(parse_ts("2026-01-01T05:30:00+05:30", &ms), 0);
	ck_assert_int_eq(ms, 1767225600000LL);
	ck_assert_int_eq(parse_ts("2025-12-31T14:00:00-10:00", &ms), 0);
	ck_assert_int_eq(ms, 1767225600000LL);
	ck_assert_int_eq(parse_ts("2025-12-31T23:59:60Z", &ms), 0);
	ck_assert_int_eq(ms, 1767225600000LL);
	/* At most a day ahead of the server's clock. */
	ck_assert_int_eq(parse_ts("2026-11-22T22:26:40Z", &ms), 0);
	ck_assert_int_eq(parse_ts("2026-11-22T22:26:40.001Z", &ms), OTA_EINVAL);

	static const char *const bad[] = {
	    "",
	    "2026-11-21",
	    "2026-11-21T18:00:00",             /* no zone */
	    "2026-11-21 18:00:00Z",            /* space */
	    "2026-11-21T18:00Z",               /* no seconds */
	    "2026-1-21T18:00:00Z",             /* one-digit month */
	    "+2026-11-21T18:00:00Z",           /* sign */
	    " 2026-11-21T18:00:00Z",           /* leading space */
	    "2026-11-21T18:00:00Z ",           /* trailing space */
	    "2026-13-01T00:00:00Z",            /* month 13 */
	    "2026-00-01T00:00:00Z",            /* month 0 */
	    "2026-11-00T00:00:00Z",            /* day 0 */
	    "2026-11-31T00:00:00Z",            /* November 31 */
	    "2025-02-29T00:00:00Z",            /* not a leap year */
	    "1900-02-29T00:00:00Z",            /* not a leap year either */
	    "2026-11-21T24:00:00Z",            /* hour 24 */
	    "2026-11-21T18:60:00Z",            /* minute 60 */
	    "2026-11-21T18:00:61Z",            /* second 61 */
	    "2026-11-21T18:00:00.Z",           /* empty fraction */
	    "2026-11-21T18:00:00.1234567890Z", /* ten digits */
	    "2026-11-21T18:00:00+0100",        /* offset without colon */
	    "2026-11-21T18:00:00+01",          /* offset without minutes */
	    "2026-11-21T18:00:00+24:00",       /* offset hour 24 */
	    "2026-11-21T18:00:00+01:60",       /* offset minute 60 */
	    "2026-11-21T18:00:00ZZ",           /* trailing */
	    "1969-12-31T23:59:59Z",            /* before 1970 */
	    "2026-11-21T18:00:00,5Z",          /* comma fraction */
	    "２026-11-21T18:00:00Z",           /* not ASCII */
	    "2026-11-21T18:00:00.000000000+01:00:00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_ts(bad[i], &ms) == OTA_EINVAL,
		    "accepted ts '%s'", bad[i]);
}
END_TEST

START_TEST(test_parse_invalid)
{
	char text[1400];

	refused("[]", "event");
	refused("\"x\"", "event");
	refused("{" BASE
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\","
	        "\"extra\":1}",
	    "unknown field 'extra'");
	/* event_id */
	refused("{\"rollout\":7,\"version\":\"1.4.0\",\"state\":\"started\","
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "event_id");
	refused("{\"event_id\":\"\",\"rollout\":7,\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "event_id");
	refused("{\"event_id\":\"a b\",\"rollout\":7,\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "event_id");
	refused("{\"event_id\":\"a/b\",\"rollout\":7,\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "event_id");
	refused("{\"event_id\":7,\"rollout\":7,\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "event_id");
	snprintf(text, sizeof(text),
	    "{\"event_id\":\"%065d\",\"rollout\":7,\"version\":\"1.4.0\","
	    "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    0);
	refused(text, "event_id");
	/* device */
	refused("{" BASE "\"device\":\"dev-2\",\"state\":\"started\","
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "device");
	refused("{" BASE "\"device\":null,\"state\":\"started\","
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "device");
	/* rollout */
	refused("{\"event_id\":\"e\",\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "rollout");
	refused("{\"event_id\":\"e\",\"rollout\":0,\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "rollout");
	refused("{\"event_id\":\"e\",\"rollout\":-3,\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "rollout");
	refused("{\"event_id\":\"e\",\"rollout\":\"7\",\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "rollout");
	refused("{\"event_id\":\"e\",\"rollout\":7.5,\"version\":\"1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "rollout");
	/* version */
	refused("{\"event_id\":\"e\",\"rollout\":7,"
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "version");
	refused("{\"event_id\":\"e\",\"rollout\":7,\"version\":\"1.4\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "version");
	refused("{\"event_id\":\"e\",\"rollout\":7,\"version\":\"v1.4.0\","
	        "\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "version");
	/* state */
	refused("{" BASE "\"ts\":\"2026-11-21T18:00:00Z\"}", "state");
	refused("{" BASE
	        "\"state\":\"offered\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "state");
	/* canceled is otad's status, never a device's event. */
	refused("{" BASE
	        "\"state\":\"canceled\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "state");
	refused("{" BASE "\"state\":\"done\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "state");
	refused("{" BASE
	        "\"state\":\"STARTED\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "state");
	/* progress */
	refused("{" BASE
	        "\"state\":\"progress\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "progress");
	refused("{" BASE "\"state\":\"progress\",\"progress\":101,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "progress");
	refused("{" BASE "\"state\":\"progress\",\"progress\":-1,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "progress");
	refused("{" BASE "\"state\":\"progress\",\"progress\":50.5,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "progress");
	refused("{" BASE "\"state\":\"completed\",\"progress\":100,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "progress");
	/* result */
	refused("{" BASE
	        "\"state\":\"failed\",\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "result");
	refused("{" BASE "\"state\":\"failed\",\"result\":1,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "result");
	refused("{" BASE "\"state\":\"failed\",\"result\":12,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "result");
	refused("{" BASE "\"state\":\"failed\",\"result\":\"8\","
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "result");
	refused("{" BASE "\"state\":\"completed\",\"result\":8,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "result");
	/* detail */
	refused("{" BASE "\"state\":\"started\",\"detail\":5,"
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "detail");
	refused("{" BASE "\"state\":\"started\",\"detail\":\"a\\u0000b\","
	        "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    "detail");
	snprintf(text, sizeof(text),
	    "{" BASE "\"state\":\"started\",\"detail\":\"%0513d\","
	    "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    0);
	refused(text, "detail");
	snprintf(text, sizeof(text),
	    "{" BASE "\"state\":\"started\",\"detail\":\"%0512d\","
	    "\"ts\":\"2026-11-21T18:00:00Z\"}",
	    0);
	{
		struct telemetry_event e;
		char err[256];

		ck_assert_int_eq(parse(text, &e, err, sizeof(err)), 0);
		ck_assert_uint_eq(strlen(e.detail), 512);
	}
	/* ts */
	refused("{" BASE "\"state\":\"started\"}", "ts");
	refused("{" BASE "\"state\":\"started\",\"ts\":1795284000}", "ts");
	refused("{" BASE "\"state\":\"started\","
	        "\"ts\":\"2026-11-21T18:00:00.000000000+01:00xxxxx\"}",
	    "ts");
}
END_TEST

START_TEST(test_parse_args)
{
	struct telemetry_event e;
	char err[64];
	json_t *obj = json_pack("{s:s, s:i, s:s, s:s, s:s}", "event_id", "e",
	    "rollout", 1, "version", "1.0.0", "state", "started", "ts",
	    "2026-01-01T00:00:00Z");
	char longid[200];

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ck_assert_int_eq(
	    telemetry_parse_event(obj, NULL, NOW_MS, &e, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    telemetry_parse_event(obj, longid, NOW_MS, &e, err, sizeof(err)),
	    OTA_EINVAL);
	/* err may be NULL with errlen 0; a short err is cut, terminated */
	ck_assert_int_eq(
	    telemetry_parse_event(obj, "d", NOW_MS, &e, NULL, 0), 0);
	json_object_del(obj, "ts");
	ck_assert_int_eq(
	    telemetry_parse_event(obj, "d", NOW_MS, &e, NULL, 0), OTA_EINVAL);
	ck_assert_int_eq(
	    telemetry_parse_event(obj, "d", NOW_MS, &e, err, 8), OTA_EINVAL);
	ck_assert_uint_eq(strlen(err), 7);
	json_decref(obj);
}
END_TEST

/* ---- the names ---- */

START_TEST(test_names)
{
	ck_assert_str_eq(
	    telemetry_parse_transport_name(TELEMETRY_REST), "rest");
	ck_assert_str_eq(
	    telemetry_parse_transport_name(TELEMETRY_MQTT), "mqtt");
	ck_assert_str_eq(telemetry_parse_transport_name(TELEMETRY_DDI), "ddi");
	ck_assert_ptr_null(
	    telemetry_parse_transport_name((enum telemetry_transport)9));
	ck_assert_str_eq(
	    telemetry_parse_reject_name(TELEMETRY_REJECT_UNKNOWN_ROLLOUT),
	    "unknown_rollout");
	ck_assert_str_eq(
	    telemetry_parse_reject_name(TELEMETRY_REJECT_VERSION_MISMATCH),
	    "version_mismatch");
	ck_assert_str_eq(
	    telemetry_parse_reject_name(TELEMETRY_REJECT_UNKNOWN_DEVICE),
	    "unknown_device");
	ck_assert_str_eq(
	    telemetry_parse_reject_name(TELEMETRY_REJECT_NOT_TARGETED),
	    "not_targeted");
	ck_assert_ptr_null(telemetry_parse_reject_name(
	    (enum telemetry_reject)TELEMETRY_REJECT_COUNT));
	ck_assert_ptr_null(telemetry_parse_reject_name(TELEMETRY_REJECT_NONE));
}
END_TEST

/* ---- telemetry_parse_verdict ---- */

/* Facts of a device of hardware revA that exists, on a rollout of 2.0.0
 * that exists; targeting as given. */
static struct telemetry_target
facts(int offered, int in_groups, int hardware_fits)
{
	struct telemetry_target t;

	memset(&t, 0, sizeof(t));
	t.device_found = 1;
	t.rollout_found = 1;
	snprintf(t.rollout_version, sizeof(t.rollout_version), "2.0.0");
	snprintf(t.device_hardware, sizeof(t.device_hardware), "revA");
	t.offered = offered;
	t.in_groups = in_groups;
	t.hardware_fits = hardware_fits;
	return t;
}

START_TEST(test_verdict)
{
	struct telemetry_event e;
	struct telemetry_target t;
	char d[160];

	memset(&e, 0, sizeof(e));
	snprintf(e.device_id, sizeof(e.device_id), "dev-1");
	e.rollout_id = 7;
	snprintf(e.version, sizeof(e.version), "2.0.0");

	/* Targeted: offered (whatever its groups and hardware now), or in
	 * a group with a hardware the image fits. */
	for (int g = 0; g < 2; g++)
		for (int h = 0; h < 2; h++) {
			t = facts(1, g, h);
			memset(d, 'x', sizeof(d));
			ck_assert_int_eq(
			    telemetry_parse_verdict(&e, &t, d, sizeof(d)),
			    TELEMETRY_REJECT_NONE);
			ck_assert_str_eq(d, "");
		}
	t = facts(0, 1, 1);
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NONE);

	/* Not targeted: outside its groups, or of a hardware the image
	 * does not fit, and never offered. */
	t = facts(0, 0, 1);
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NOT_TARGETED);
	ck_assert_str_eq(d, "rollout 7 does not target device 'dev-1': not "
	                    "in its groups, never offered it");
	t = facts(0, 0, 0);
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NOT_TARGETED);
	t = facts(0, 1, 0);
	snprintf(t.device_hardware, sizeof(t.device_hardware), "bleA");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NOT_TARGETED);
	ck_assert_str_eq(d, "rollout 7 does not target device 'dev-1': its "
	                    "image does not fit hardware 'bleA'");

	/* Existence and version first, targeting last. */
	t = facts(0, 0, 0);
	snprintf(e.version, sizeof(e.version), "2.0.1");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_VERSION_MISMATCH);
	ck_assert_str_eq(d, "version 2.0.1 is not rollout 7's version 2.0.0");
	t.rollout_found = 0;
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_UNKNOWN_ROLLOUT);
	ck_assert_str_eq(d, "unknown rollout 7");
	t.device_found = 0;
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_UNKNOWN_DEVICE);
	ck_assert_str_eq(d, "unknown device 'dev-1'");
	/* The detail may be short, or absent. */
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, 8),
	    TELEMETRY_REJECT_UNKNOWN_DEVICE);
	ck_assert_str_eq(d, "unknown");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, NULL, 0),
	    TELEMETRY_REJECT_UNKNOWN_DEVICE);
}
END_TEST

/* The component rules: events on a bundle rollout name a part of the
 * bundle at its image's version; an image rollout's name none. */
START_TEST(test_parse_component)
{
	struct telemetry_event e;
	char err[256];

	ck_assert_int_eq(parse("{" BASE "\"component\":\"mcu.2\","
	                       "\"state\":\"started\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_str_eq(e.component, "mcu.2");
	ck_assert_int_eq(parse("{" BASE "\"state\":\"started\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    0);
	ck_assert_str_eq(e.component, "");
	ck_assert_int_eq(parse("{" BASE "\"component\":\"MCU\","
	                       "\"state\":\"started\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "component: 1..32 characters of [a-z0-9._-] "
	                      "(the part of a bundle rollout)");
	ck_assert_int_eq(parse("{" BASE "\"component\":\"\","
	                       "\"state\":\"started\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_int_eq(parse("{" BASE "\"component\":7,"
	                       "\"state\":\"started\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &e, err, sizeof(err)),
	    OTA_EINVAL);
}
END_TEST

START_TEST(test_verdict_bundle)
{
	struct telemetry_event e;
	struct telemetry_target t;
	char d[160];

	memset(&e, 0, sizeof(e));
	snprintf(e.device_id, sizeof(e.device_id), "dev-1");
	e.rollout_id = 7;
	snprintf(e.version, sizeof(e.version), "1.2.0");
	t = facts(0, 1, 1);
	t.bundle = 1;
	snprintf(t.bundle_name, sizeof(t.bundle_name), "thermo");
	/* no component on a bundle rollout */
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_COMPONENT);
	ck_assert_str_eq(d, "component: required, rollout 7 rolls out "
	                    "bundle thermo 2.0.0 (name the part's component)");
	/* a component the bundle has no part for */
	snprintf(e.component, sizeof(e.component), "hub");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_COMPONENT);
	ck_assert_str_eq(
	    d, "component 'hub' is not a part of bundle thermo 2.0.0");
	/* the part's version, not the bundle's */
	t.part_found = 1;
	snprintf(t.part_version, sizeof(t.part_version), "1.3.0");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_VERSION_MISMATCH);
	ck_assert_str_eq(d, "version 1.2.0 is not the version of part 'hub' "
	                    "(1.3.0)");
	snprintf(t.part_version, sizeof(t.part_version), "1.2.0");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NONE);
	/* targeting: the part must fit the component's hardware unless
	 * offered */
	t.hardware_fits = 0;
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NOT_TARGETED);
	ck_assert_str_eq(d, "rollout 7 does not target device 'dev-1': part "
	                    "'hub' does not fit its component's hardware");
	t.offered = 1;
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NONE);
	/* a component on an image rollout */
	t = facts(1, 1, 1);
	snprintf(e.version, sizeof(e.version), "2.0.0");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_COMPONENT);
	ck_assert_str_eq(d, "component: rollout 7 rolls out an image, not a "
	                    "bundle (leave component out)");
	e.component[0] = '\0';
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NONE);
	ck_assert_str_eq(
	    telemetry_parse_reject_name(TELEMETRY_REJECT_COMPONENT),
	    "component_mismatch");
	/* A consent answer is on a bundle as a whole: no component, the
	 * bundle's version. */
	t = facts(1, 1, 1);
	t.bundle = 1;
	snprintf(t.bundle_name, sizeof(t.bundle_name), "thermo");
	e.state = UPDATE_ACCEPTED;
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_NONE);
	e.state = UPDATE_DECLINED;
	snprintf(e.version, sizeof(e.version), "1.2.0");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_VERSION_MISMATCH);
	snprintf(e.version, sizeof(e.version), "2.0.0");
	snprintf(e.component, sizeof(e.component), "hub");
	ck_assert_int_eq(telemetry_parse_verdict(&e, &t, d, sizeof(d)),
	    TELEMETRY_REJECT_COMPONENT);
	ck_assert_str_eq(d, "component: a bundle is declined as a whole "
	                    "(leave component out, version 2.0.0)");
}
END_TEST

static Suite *
telemetry_parse_suite(void)
{
	Suite *s = suite_create("telemetry_parse");
	TCase *tc;

	tc = tcase_create("parse_event");
	tcase_add_test(tc, test_parse_valid);
	tcase_add_test(tc, test_parse_ts);
	tcase_add_test(tc, test_parse_invalid);
	tcase_add_test(tc, test_parse_args);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("verdict");
	tcase_add_test(tc, test_verdict);
	tcase_add_test(tc, test_verdict_bundle);
	tcase_add_test(tc, test_parse_component);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(telemetry_parse_suite());
}
