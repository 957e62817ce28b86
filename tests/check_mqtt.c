/*
 * check_mqtt: the pure half of mqtt.c, what decides about each message
 * before anything is queued: mqtt_topic_device (the strict topic shape)
 * and mqtt_payload_parse (size, JSON shape, events checked one by one,
 * device mismatches told apart, reasons safe to log).  The connection
 * itself is specified with a real Mosquitto in
 * tests/integration/test_mqtt.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "mqtt.h"
#include "store_devices.h"
#include "telemetry.h"
#include "testutil.h"

/* 2026-11-21T18:00:00Z, the ts of the events below. */
#define NOW_MS 1795284000000LL
#define MAXB ((size_t)1 << 20)

#define EV(id)                                                                 \
	"{\"event_id\":\"" id "\",\"rollout\":1,\"version\":\"1.2.0\","        \
	"\"state\":\"started\",\"ts\":\"2026-11-21T18:00:00Z\"}"

static struct telemetry_event *out;
static struct mqtt_refusal *refused;

static void
setup(void)
{
	out = calloc(TELEMETRY_BATCH_MAX, sizeof(*out));
	refused = calloc(TELEMETRY_BATCH_MAX, sizeof(*refused));
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(refused);
}

static void
teardown(void)
{
	free(refused);
	free(out);
}

/* Parses text (copied to a buffer of exactly its length, without a NUL,
 * as libmosquitto's payload may be) for device d1. */
static int
parse(
    const char *text, struct mqtt_payload_report *rep, char *err, size_t errlen)
{
	size_t n = strlen(text);
	char *buf = malloc(n > 0 ? n : 1);
	int rc;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, text, n);
	rc = mqtt_payload_parse(
	    buf, n, MAXB, "d1", NOW_MS, out, refused, rep, err, errlen);
	free(buf);
	return rc;
}

static int
topic_ok(const char *prefix, const char *topic, const char *want)
{
	char id[STORE_DEVICE_ID_MAX + 1];

	if (mqtt_topic_device(prefix, topic, id, sizeof(id)) != 0)
		return 0;
	return strcmp(id, want) == 0;
}

static int
topic_refused(const char *prefix, const char *topic)
{
	char id[STORE_DEVICE_ID_MAX + 1];

	return mqtt_topic_device(prefix, topic, id, sizeof(id)) == OTA_EINVAL;
}

START_TEST(test_topic_accepted)
{
	ck_assert(topic_ok("otad", "otad/devices/d1/events", "d1"));
	ck_assert(topic_ok(
	    "otad", "otad/devices/sensor-7.a_b:c/events", "sensor-7.a_b:c"));
	ck_assert(topic_ok("fleet/eu-1", "fleet/eu-1/devices/x/events", "x"));
	/* "devices" and "events" are fine device ids too. */
	ck_assert(topic_ok("otad", "otad/devices/events/events", "events"));
	ck_assert(topic_ok("otad", "otad/devices/devices/events", "devices"));
}
END_TEST

START_TEST(test_topic_refused)
{
	ck_assert(topic_refused("otad", "otad/devices//events"));
	ck_assert(topic_refused("otad", "otad/devices/a/b/events"));
	ck_assert(topic_refused("otad", "otad/devices/+/events"));
	ck_assert(topic_refused("otad", "otad/devices/#/events"));
	ck_assert(topic_refused("otad", "otad/devices/a b/events"));
	ck_assert(topic_refused("otad", "otad/devices/d1/events/x"));
	ck_assert(topic_refused("otad", "otad/devices/d1/eventsx"));
	ck_assert(topic_refused("otad", "otad/devices/d1/update"));
	ck_assert(topic_refused("otad", "otad/devices/d1"));
	ck_assert(topic_refused("otad", "otad/devices/"));
	ck_assert(topic_refused("otad", "otad/device/d1/events"));
	ck_assert(topic_refused("otad", "otadx/devices/d1/events"));
	ck_assert(topic_refused("otad", "x/otad/devices/d1/events"));
	ck_assert(topic_refused("otad", "/otad/devices/d1/events"));
	ck_assert(topic_refused("fleet/eu", "fleet/devices/d1/events"));
	ck_assert(topic_refused("otad", ""));
	ck_assert(topic_refused("otad", "otad"));
}
END_TEST

START_TEST(test_topic_id_length)
{
	char topic[512], id[STORE_DEVICE_ID_MAX + 2], small[4];

	memset(id, 'a', STORE_DEVICE_ID_MAX);
	id[STORE_DEVICE_ID_MAX] = '\0';
	snprintf(topic, sizeof(topic), "otad/devices/%s/events", id);
	ck_assert(topic_ok("otad", topic, id));

	memset(id, 'a', STORE_DEVICE_ID_MAX + 1);
	id[STORE_DEVICE_ID_MAX + 1] = '\0';
	snprintf(topic, sizeof(topic), "otad/devices/%s/events", id);
	ck_assert(topic_refused("otad", topic));

	/* An id that does not fit the caller's buffer is refused, whole. */
	ck_assert_int_eq(mqtt_topic_device("otad", "otad/devices/abcd/events",
	                     small, sizeof(small)),
	    OTA_EINVAL);
	ck_assert_int_eq(mqtt_topic_device("otad", "otad/devices/abc/events",
	                     small, sizeof(small)),
	    0);
	ck_assert_str_eq(small, "abc");
}
END_TEST

START_TEST(test_payload_one_object)
{
	struct mqtt_payload_report rep;
	char err[256] = "";

	ck_assert_int_eq(parse(EV("e1"), &rep, err, sizeof(err)), 0);
	ck_assert_uint_eq(rep.items, 1);
	ck_assert_uint_eq(rep.valid, 1);
	ck_assert_uint_eq(rep.mismatched + rep.rejected, 0);
	ck_assert_str_eq(rep.reason, "");
	ck_assert_str_eq(out[0].event_id, "e1");
	ck_assert_str_eq(out[0].device_id, "d1");

	/* The topic's device may be repeated in the payload. */
	ck_assert_int_eq(parse("{\"device\":\"d1\",\"event_id\":\"e2\","
	                       "\"rollout\":1,\"version\":\"1.2.0\","
	                       "\"state\":\"started\","
	                       "\"ts\":\"2026-11-21T18:00:00Z\"}",
	                     &rep, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(rep.valid, 1);
	ck_assert_str_eq(out[0].event_id, "e2");
}
END_TEST

START_TEST(test_payload_array)
{
	struct mqtt_payload_report rep;
	char err[256] = "";

	ck_assert_int_eq(parse("[" EV("a") "," EV("b") "," EV("c") "]", &rep,
	                     err, sizeof(err)),
	    0);
	ck_assert_uint_eq(rep.items, 3);
	ck_assert_uint_eq(rep.valid, 3);
	ck_assert_str_eq(out[0].event_id, "a");
	ck_assert_str_eq(out[2].event_id, "c");
}
END_TEST

/* Refused events are counted and the first one explained; the valid ones
 * around them are kept, in order. */
START_TEST(test_payload_mixed)
{
	struct mqtt_payload_report rep;
	char err[256] = "";

	ck_assert_int_eq(
	    parse("[" EV("ok1") ","
	                        "{\"device\":\"d2\",\"event_id\":\"x\","
	                        "\"rollout\":1,"
	                        "\"version\":\"1.2.0\",\"state\":\"started\","
	                        "\"ts\":\"2026-11-21T18:00:00Z\"},"
	                        "{\"event_id\":\"y\",\"rollout\":1,\"version\":"
	                        "\"1.2.0\","
	                        "\"state\":\"exploded\",\"ts\":\"2026-11-21T18:"
	                        "00:00Z\"},"
	                        "42," EV("ok2") "]",
	        &rep, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(rep.items, 5);
	ck_assert_uint_eq(rep.valid, 2);
	ck_assert_uint_eq(rep.mismatched, 1);
	ck_assert_uint_eq(rep.rejected, 2);
	ck_assert_uint_eq(rep.first_bad, 1);
	ck_assert_str_eq(rep.reason, "device: differs from the topic's device");
	ck_assert_str_eq(out[0].event_id, "ok1");
	ck_assert_str_eq(out[1].event_id, "ok2");
	/* The refused events with an event_id, to be acknowledged as
	 * rejected (42 has none). */
	ck_assert_uint_eq(rep.refused_ids, 2);
	ck_assert_str_eq(refused[0].event_id, "x");
	ck_assert_str_eq(
	    refused[0].detail, "device: differs from the topic's device");
	ck_assert_str_eq(refused[1].event_id, "y");
	ck_assert(strstr(refused[1].detail, "state") == refused[1].detail);

	/* An event_id that is not one cannot be acknowledged. */
	ck_assert_int_eq(parse("[{\"event_id\":\"a b\"},{\"event_id\":7}]",
	                     &rep, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(rep.rejected, 2);
	ck_assert_uint_eq(rep.refused_ids, 0);

	/* Only invalid events: still a usable message, nothing valid. */
	ck_assert_int_eq(
	    parse("[{\"event_id\":\"y\"},7]", &rep, err, sizeof(err)), 0);
	ck_assert_uint_eq(rep.valid, 0);
	ck_assert_uint_eq(rep.rejected, 2);
	ck_assert_uint_eq(rep.first_bad, 0);
	ck_assert(rep.reason[0] != '\0');

	/* A single object naming another device. */
	ck_assert_int_eq(
	    parse("{\"device\":\"d9\",\"event_id\":\"z\",\"rollout\":1,"
	          "\"version\":\"1.2.0\",\"state\":\"started\","
	          "\"ts\":\"2026-11-21T18:00:00Z\"}",
	        &rep, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(rep.items, 1);
	ck_assert_uint_eq(rep.mismatched, 1);
	ck_assert_uint_eq(rep.valid, 0);
}
END_TEST

/* The ack of each outcome; any rejection carries its verdict's name, or
 * "rejected" for one without a name, and its detail. */
START_TEST(test_ack_item)
{
	struct telemetry_result res;
	json_t *o;
	char *text;

	memset(&res, 0, sizeof(res));
	res.outcome = TELEMETRY_ACCEPTED;
	o = mqtt_ack_item("e1", &res);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(text, "{\"event_id\":\"e1\",\"result\":\"stored\"}");
	free(text);
	json_decref(o);

	res.outcome = TELEMETRY_DUPLICATE;
	o = mqtt_ack_item("e2", &res);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(
	    text, "{\"event_id\":\"e2\",\"result\":\"duplicate\"}");
	free(text);
	json_decref(o);

	res.outcome = TELEMETRY_REJECTED;
	res.reject = TELEMETRY_REJECT_UNKNOWN_ROLLOUT;
	snprintf(res.detail, sizeof(res.detail), "no rollout 9");
	o = mqtt_ack_item("e3", &res);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(text,
	    "{\"detail\":\"no rollout 9\",\"event_id\":\"e3\","
	    "\"reason\":\"unknown_rollout\",\"result\":\"rejected\"}");
	free(text);
	json_decref(o);

	res.reject = (enum telemetry_reject)99;
	o = mqtt_ack_item("e4", &res);
	ck_assert_str_eq(
	    json_string_value(json_object_get(o, "reason")), "rejected");
	ck_assert_str_eq(
	    json_string_value(json_object_get(o, "detail")), "no rollout 9");
	json_decref(o);
}
END_TEST

START_TEST(test_payload_refused_whole)
{
	struct mqtt_payload_report rep;
	char err[256];

	ck_assert_int_eq(parse("", &rep, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "empty payload");
	ck_assert_int_eq(parse("42", &rep, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "not a JSON object or an array of event objects");
	ck_assert_int_eq(parse("\"e\"", &rep, err, sizeof(err)), OTA_EINVAL);
	ck_assert_int_eq(parse("[]", &rep, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "array of 0 events (must hold 1..1000)");
	ck_assert_uint_eq(rep.valid, 0);
	ck_assert_int_eq(parse("{\"event_id\":\"a\",\"event_id\":\"b\"}", &rep,
	                     err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_int_eq(parse("[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]", &rep,
	                     err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "JSON nested deeper than 16 levels");
	ck_assert_int_eq(
	    parse(EV("a") "garbage", &rep, err, sizeof(err)), OTA_EINVAL);
}
END_TEST

/* jansson quotes the input near a syntax error: none of it reaches the
 * reason, which is safe in a quoted log value. */
START_TEST(test_payload_reason_is_safe)
{
	struct mqtt_payload_report rep;
	char err[256];

	ck_assert_int_eq(
	    parse("{\"token\": SECRETVALUE}", &rep, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_ptr_null(strstr(err, "SECRET"));
	ck_assert_ptr_nonnull(strstr(err, "invalid JSON at line 1"));

	ck_assert_int_eq(
	    parse("[{\"event_id\":\"e\",\"a\\\"b\\nc\":1,\"rollout\":1,"
	          "\"version\":\"1.2.0\",\"state\":\"started\","
	          "\"ts\":\"2026-11-21T18:00:00Z\"}]",
	        &rep, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(rep.rejected, 1);
	ck_assert(rep.reason[0] != '\0');
	ck_assert_ptr_null(strchr(rep.reason, '"'));
	ck_assert_ptr_null(strchr(rep.reason, '\n'));
}
END_TEST

START_TEST(test_payload_limits)
{
	struct mqtt_payload_report rep;
	static const char one[] = EV("e") ",";
	size_t n1 = strlen(one), len;
	char err[256], *buf;

	/* 1000 events pass, 1001 do not. */
	buf = malloc(1 + 1001 * n1 + 1);
	ck_assert_ptr_nonnull(buf);
	buf[0] = '[';
	for (size_t i = 0; i < 1001; i++)
		memcpy(buf + 1 + i * n1, one, n1);
	len = 1 + 1000 * n1;
	buf[len - 1] = ']';
	ck_assert_int_eq(mqtt_payload_parse(buf, len, MAXB, "d1", NOW_MS, out,
	                     NULL, &rep, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(rep.valid, 1000);
	buf[len - 1] = ',';
	len = 1 + 1001 * n1;
	buf[len - 1] = ']';
	ck_assert_int_eq(mqtt_payload_parse(buf, len, MAXB, "d1", NOW_MS, out,
	                     NULL, &rep, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "array of 1001 events (must hold 1..1000)");
	ck_assert_uint_eq(rep.valid, 0);

	/* The byte limit is checked before parsing. */
	ck_assert_int_eq(mqtt_payload_parse(buf, len, len - 1, "d1", NOW_MS,
	                     out, NULL, &rep, err, sizeof(err)),
	    OTA_ETOOBIG);
	ck_assert_int_eq(
	    mqtt_payload_parse(EV("e"), strlen(EV("e")), strlen(EV("e")), "d1",
	        NOW_MS, out, NULL, &rep, err, sizeof(err)),
	    0);
	free(buf);
}
END_TEST

static Suite *
mqtt_suite(void)
{
	Suite *s = suite_create("mqtt");
	TCase *tc;

	tc = tcase_create("mqtt_topic_device");
	tcase_add_test(tc, test_topic_accepted);
	tcase_add_test(tc, test_topic_refused);
	tcase_add_test(tc, test_topic_id_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_payload_parse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_payload_one_object);
	tcase_add_test(tc, test_payload_array);
	tcase_add_test(tc, test_payload_mixed);
	tcase_add_test(tc, test_payload_refused_whole);
	tcase_add_test(tc, test_payload_reason_is_safe);
	tcase_add_test(tc, test_payload_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_ack_item");
	tcase_add_test(tc, test_ack_item);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(mqtt_suite());
}
