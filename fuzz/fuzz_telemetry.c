/*
 * fuzz_telemetry: MQTT event messages (server/mqtt.c: mqtt_topic_device,
 * mqtt_payload_parse) and through them every event check of
 * telemetry_parse_event (server/telemetry_parse.c), the same one REST events
 * use.  The input is a topic line, '\n', then the payload (in a buffer of
 * its exact length, as libmosquitto hands it over).  Invariants: a topic
 * is accepted only as exactly "otad/devices/<id>/events"; the report
 * adds up; every accepted event is within its documented bounds and
 * round-trips (printed as JSON and parsed again, it is the same event);
 * reasons are safe in a log line.
 */
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "fuzz.h"
#include "mqtt.h"
#include "semver.h"
#include "store_devices.h"
#include "telemetry_parse.h"
#include "timeutil.h"

/* 2026-11-21T18:00:00Z */
#define NOW_MS 1795284000000LL
#define MAX_BYTES 3000

/* The writer's batch: too big for the stack, reused by every run. */
static struct telemetry_event batch[TELEMETRY_BATCH_MAX];
static struct mqtt_refusal refused[TELEMETRY_BATCH_MAX];

/* No quote, no control byte: a reason is logged as key="...". */
static int
log_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"')
			return 0;
	return 1;
}

static int
bounded(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

static void
check_event(const struct telemetry_event *e, const char *device_id)
{
	size_t n;
	int64_t ms;

	FUZZ_CHECK(bounded(e->event_id, sizeof(e->event_id)));
	FUZZ_CHECK(e->event_id[0] != '\0');
	FUZZ_CHECK(strcmp(e->device_id, device_id) == 0);
	FUZZ_CHECK(e->rollout_id > 0);
	n = strnlen(e->version, sizeof(e->version));
	FUZZ_CHECK(n < sizeof(e->version) && semver_check(e->version, n) == 0);
	FUZZ_CHECK(e->state >= UPDATE_STARTED && e->state <= UPDATE_REVERTED);
	FUZZ_CHECK(e->progress >= -1 && e->progress <= 100);
	if (e->state == UPDATE_PROGRESS)
		FUZZ_CHECK(e->progress >= 0);
	if (e->state != UPDATE_PROGRESS && e->state != UPDATE_STARTED)
		FUZZ_CHECK(e->progress == -1);
	if (e->state == UPDATE_FAILED)
		FUZZ_CHECK(e->result >= 2 && e->result <= 11);
	else
		FUZZ_CHECK(e->result == -1);
	FUZZ_CHECK(bounded(e->detail, sizeof(e->detail)));
	FUZZ_CHECK(bounded(e->ts, sizeof(e->ts)));
	FUZZ_CHECK(timeutil_parse_rfc3339(e->ts, &ms) == 0 && ms == e->ts_ms);
	FUZZ_CHECK(e->ts_ms <= NOW_MS + 86400000LL);
}

/* The event as a device would send it. */
static json_t *
event_json(const struct telemetry_event *e)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "event_id", json_string(e->event_id));
	json_object_set_new(o, "device", json_string(e->device_id));
	json_object_set_new(o, "rollout", json_integer(e->rollout_id));
	json_object_set_new(o, "version", json_string(e->version));
	json_object_set_new(
	    o, "state", json_string(update_state_name(e->state)));
	if (e->progress >= 0)
		json_object_set_new(o, "progress", json_integer(e->progress));
	if (e->result >= 0)
		json_object_set_new(o, "result", json_integer(e->result));
	if (e->detail[0] != '\0')
		json_object_set_new(o, "detail", json_string(e->detail));
	json_object_set_new(o, "ts", json_string(e->ts));
	return o;
}

static int
same_event(const struct telemetry_event *a, const struct telemetry_event *b)
{
	return strcmp(a->event_id, b->event_id) == 0 &&
	       strcmp(a->device_id, b->device_id) == 0 &&
	       a->rollout_id == b->rollout_id &&
	       strcmp(a->version, b->version) == 0 && a->state == b->state &&
	       a->progress == b->progress && a->result == b->result &&
	       strcmp(a->detail, b->detail) == 0 && strcmp(a->ts, b->ts) == 0 &&
	       a->ts_ms == b->ts_ms;
}

static void
check_topic(const uint8_t *t, size_t len, char *out_id)
{
	char *topic = malloc(len + 1), want[STORE_DEVICE_ID_MAX + 64];

	strcpy(out_id, "d1");
	if (topic == NULL)
		return;
	memcpy(topic, t, len);
	topic[len] = '\0';
	if (mqtt_topic_device("otad", topic, out_id, STORE_DEVICE_ID_MAX + 1) ==
	    0) {
		FUZZ_CHECK(
		    out_id[0] != '\0' && strlen(out_id) <= STORE_DEVICE_ID_MAX);
		snprintf(want, sizeof(want), "otad/devices/%s/events", out_id);
		FUZZ_CHECK(strcmp(topic, want) == 0);
	} else {
		strcpy(out_id, "d1");
	}
	free(topic);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char id[STORE_DEVICE_ID_MAX + 1], err[256];
	struct mqtt_payload_report rep;
	struct telemetry_event again;
	const uint8_t *payload = data;
	char *buf;
	size_t len = size;
	int rc;

	strcpy(id, "d1");
	if (nl != NULL) {
		check_topic(data, (size_t)(nl - data), id);
		payload = nl + 1;
		len = size - (size_t)(payload - data);
	}
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return 0;
	memcpy(buf, payload, len);
	memset(err, 'x', sizeof(err));
	memset(&rep, 0, sizeof(rep));
	rc = mqtt_payload_parse(buf, len, MAX_BYTES, id, NOW_MS, batch, refused,
	    &rep, err, sizeof(err));
	if (len > MAX_BYTES)
		FUZZ_CHECK(rc == OTA_ETOOBIG);
	if (rc != 0) {
		FUZZ_CHECK(rc == OTA_EINVAL || rc == OTA_ETOOBIG);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		FUZZ_CHECK(log_safe(err));
		goto out;
	}
	FUZZ_CHECK(rep.items >= 1 && rep.items <= TELEMETRY_BATCH_MAX);
	FUZZ_CHECK(rep.valid + rep.mismatched + rep.rejected == rep.items);
	FUZZ_CHECK(bounded(rep.reason, sizeof(rep.reason)));
	FUZZ_CHECK(log_safe(rep.reason));
	FUZZ_CHECK((rep.reason[0] == '\0') == (rep.valid == rep.items));
	if (rep.valid < rep.items)
		FUZZ_CHECK(rep.first_bad < rep.items);
	/* A refused event with a valid id is acknowledged as rejected. */
	FUZZ_CHECK(rep.refused_ids <= rep.mismatched + rep.rejected);
	for (size_t i = 0; i < rep.refused_ids; i++) {
		FUZZ_CHECK(
		    bounded(refused[i].event_id, sizeof(refused[i].event_id)));
		FUZZ_CHECK(refused[i].event_id[0] != '\0');
		FUZZ_CHECK(
		    bounded(refused[i].detail, sizeof(refused[i].detail)));
		FUZZ_CHECK(log_safe(refused[i].detail));
	}
	for (size_t i = 0; i < rep.valid; i++) {
		json_t *o;

		check_event(&batch[i], id);
		o = event_json(&batch[i]);
		FUZZ_CHECK(o != NULL);
		rc = telemetry_parse_event(
		    o, id, NOW_MS, &again, err, sizeof(err));
		json_decref(o);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(same_event(&batch[i], &again));
	}
out:
	free(buf);
	return 0;
}
