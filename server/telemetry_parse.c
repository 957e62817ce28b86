/*
 * telemetry_parse: the event parser and the verdict, pure.  The parser
 * checks each field in turn and names the first one it refuses; the
 * verdict is the one rule of which events count toward a rollout.  Both
 * read only their arguments and write only their outputs.
 */
#include "telemetry_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "json_util.h"
#include "names.h"
#include "semver.h"
#include "timeutil.h"

#define TS_FUTURE_MS (24LL * 3600 * 1000) /* ts at most a day ahead */

const char *
telemetry_parse_transport_name(enum telemetry_transport t)
{
	switch (t) {
	case TELEMETRY_REST:
		return "rest";
	case TELEMETRY_MQTT:
		return "mqtt";
	case TELEMETRY_DDI:
		return "ddi";
	}
	return NULL;
}

const char *
telemetry_parse_reject_name(enum telemetry_reject r)
{
	switch (r) {
	case TELEMETRY_REJECT_UNKNOWN_DEVICE:
		return "unknown_device";
	case TELEMETRY_REJECT_UNKNOWN_ROLLOUT:
		return "unknown_rollout";
	case TELEMETRY_REJECT_VERSION_MISMATCH:
		return "version_mismatch";
	case TELEMETRY_REJECT_NOT_TARGETED:
		return "not_targeted";
	case TELEMETRY_REJECT_COMPONENT:
		return "component_mismatch";
	case TELEMETRY_REJECT_NONE:
		break;
	}
	return NULL;
}

static enum telemetry_reject verdict_detail(enum telemetry_reject why,
    char *detail, size_t detail_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes the explanation of why into detail; returns why. */
static enum telemetry_reject
verdict_detail(enum telemetry_reject why, char *detail, size_t detail_len,
    const char *fmt, ...)
{
	va_list ap;

	if (detail != NULL && detail_len > 0) {
		va_start(ap, fmt);
		vsnprintf(detail, detail_len, fmt, ap);
		va_end(ap);
	}
	return why;
}

/* The targeting rule of telemetry_parse_verdict. */
static enum telemetry_reject
verdict_targeted(const struct telemetry_event *e,
    const struct telemetry_target *t, char *detail, size_t detail_len)
{
	/* Offered once, a device stays counted: leaving a group or a
	 * change of hardware does not erase what it did. */
	if (t->offered || (t->in_groups && t->hardware_fits))
		return TELEMETRY_REJECT_NONE;
	if (!t->in_groups)
		return verdict_detail(TELEMETRY_REJECT_NOT_TARGETED, detail,
		    detail_len,
		    "rollout %lld does not target device '%.64s': not in "
		    "its groups, never offered it",
		    (long long)e->rollout_id, e->device_id);
	if (t->bundle)
		return verdict_detail(TELEMETRY_REJECT_NOT_TARGETED, detail,
		    detail_len,
		    "rollout %lld does not target device '%.64s': part "
		    "'%s' does not fit its component's hardware",
		    (long long)e->rollout_id, e->device_id, e->component);
	return verdict_detail(TELEMETRY_REJECT_NOT_TARGETED, detail, detail_len,
	    "rollout %lld does not target device '%.64s': its image does "
	    "not fit hardware '%.64s'",
	    (long long)e->rollout_id, e->device_id, t->device_hardware);
}

/* The component and version rules of an event on a bundle rollout (or
 * one naming a component), then the targeting rule. */
static enum telemetry_reject
verdict_bundle(const struct telemetry_event *e,
    const struct telemetry_target *t, char *detail, size_t detail_len)
{
	if (!t->bundle)
		return verdict_detail(TELEMETRY_REJECT_COMPONENT, detail,
		    detail_len,
		    "component: rollout %lld rolls out an image, not a "
		    "bundle (leave component out)",
		    (long long)e->rollout_id);
	if (e->component[0] == '\0')
		return verdict_detail(TELEMETRY_REJECT_COMPONENT, detail,
		    detail_len,
		    "component: required, rollout %lld rolls out bundle "
		    "%.64s %.40s (name the part's component)",
		    (long long)e->rollout_id, t->bundle_name,
		    t->rollout_version);
	if (!t->part_found)
		return verdict_detail(TELEMETRY_REJECT_COMPONENT, detail,
		    detail_len,
		    "component '%s' is not a part of bundle %.64s %.40s",
		    e->component, t->bundle_name, t->rollout_version);
	if (strcmp(t->part_version, e->version) != 0)
		return verdict_detail(TELEMETRY_REJECT_VERSION_MISMATCH, detail,
		    detail_len,
		    "version %.40s is not the version of part '%s' (%.40s)",
		    e->version, e->component, t->part_version);
	return verdict_targeted(e, t, detail, detail_len);
}

enum telemetry_reject
telemetry_parse_verdict(const struct telemetry_event *e,
    const struct telemetry_target *t, char *detail, size_t detail_len)
{
	/* A consent answer is on the whole update: a bundle's names no
	 * part and carries the bundle's version. */
	int consent =
	    e->state == UPDATE_ACCEPTED || e->state == UPDATE_DECLINED;

	if (detail != NULL && detail_len > 0)
		detail[0] = '\0';
	if (!t->device_found)
		return verdict_detail(TELEMETRY_REJECT_UNKNOWN_DEVICE, detail,
		    detail_len, "unknown device '%.128s'", e->device_id);
	if (!t->rollout_found)
		return verdict_detail(TELEMETRY_REJECT_UNKNOWN_ROLLOUT, detail,
		    detail_len, "unknown rollout %lld",
		    (long long)e->rollout_id);
	if (t->bundle && consent && e->component[0] != '\0')
		return verdict_detail(TELEMETRY_REJECT_COMPONENT, detail,
		    detail_len,
		    "component: a bundle is %s as a whole (leave component "
		    "out, version %.40s)",
		    update_state_name(e->state), t->rollout_version);
	if ((t->bundle && !consent) || e->component[0] != '\0')
		return verdict_bundle(e, t, detail, detail_len);
	if (strcmp(t->rollout_version, e->version) != 0)
		return verdict_detail(TELEMETRY_REJECT_VERSION_MISMATCH, detail,
		    detail_len,
		    "version %.40s is not rollout %lld's version %.40s",
		    e->version, (long long)e->rollout_id, t->rollout_version);
	return verdict_targeted(e, t, detail, detail_len);
}

static int
event_id_valid(const char *s, size_t len)
{
	return names_valid_len(s, len, TELEMETRY_EVENT_ID_MAX, NAMES_ID_PUNCT);
}

/* A string member of at most max bytes without NUL: 0 and *out (borrowed),
 * 1 when absent, OTA_EINVAL when not a string or too long. */
static int
get_string(const json_t *obj, const char *key, size_t max, const char **out,
    size_t *out_len)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	if (v == NULL)
		return 1;
	if (!json_is_string(v))
		return OTA_EINVAL;
	len = json_string_length(v);
	if (len > max || strlen(json_string_value(v)) != len)
		return OTA_EINVAL;
	*out = json_string_value(v);
	*out_len = len;
	return 0;
}

/* An integer member in [min, max]: 0 and *out, 1 when absent (or null),
 * OTA_EINVAL otherwise. */
static int
get_int(const json_t *obj, const char *key, json_int_t min, json_int_t max,
    json_int_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 1;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return OTA_EINVAL;
	*out = json_integer_value(v);
	return 0;
}

/* event_id, device, rollout and version: who reports on what. */
static int
parse_ids(const json_t *obj, const char *device_id, struct telemetry_event *out,
    char *err, size_t errlen)
{
	const char *s = NULL;
	size_t len = 0;
	json_int_t v = 0;
	int rc;

	if (get_string(obj, "event_id", TELEMETRY_EVENT_ID_MAX, &s, &len) !=
	        0 ||
	    !event_id_valid(s, len)) {
		ota_errf(err, errlen,
		    "event_id: required, 1..%d characters of [A-Za-z0-9._:-]",
		    TELEMETRY_EVENT_ID_MAX);
		return OTA_EINVAL;
	}
	memcpy(out->event_id, s, len + 1);

	rc = get_string(obj, "device", sizeof(out->device_id) - 1, &s, &len);
	if (rc < 0 || (rc == 0 && strcmp(s, device_id) != 0)) {
		ota_errf(err, errlen,
		    "device: must be the device of the %s ('%s') when given",
		    "URL or topic", device_id);
		return OTA_EINVAL;
	}
	memcpy(out->device_id, device_id, strlen(device_id) + 1);

	if (get_int(obj, "rollout", 1, INT64_MAX, &v) != 0) {
		ota_errf(err, errlen,
		    "rollout: required, a positive integer "
		    "(the rollout id of the manifest)");
		return OTA_EINVAL;
	}
	out->rollout_id = (int64_t)v;

	if (get_string(obj, "version", SEMVER_MAX_LEN, &s, &len) != 0 ||
	    semver_check(s, len) != 0) {
		ota_errf(err, errlen,
		    "version: required, the SemVer 2.0.0 version being "
		    "installed (e.g. 1.4.2)");
		return OTA_EINVAL;
	}
	memcpy(out->version, s, len + 1);

	rc = get_string(obj, "component", COMPONENT_NAME_MAX, &s, &len);
	if (rc < 0 || (rc == 0 && !components_name_valid(s))) {
		ota_errf(err, errlen,
		    "component: 1..%d characters of [a-z0-9._-] (the part of "
		    "a bundle rollout)",
		    COMPONENT_NAME_MAX);
		return OTA_EINVAL;
	}
	if (rc == 0)
		memcpy(out->component, s, len + 1);
	return 0;
}

/* progress: required for progress, optional for started, else refused. */
static int
parse_progress(
    const json_t *obj, struct telemetry_event *out, char *err, size_t errlen)
{
	json_int_t v = 0;
	int rc = get_int(obj, "progress", 0, 100, &v);

	if (rc < 0) {
		ota_errf(err, errlen, "progress: an integer 0..100");
		return OTA_EINVAL;
	}
	if (rc == 0 && out->state != UPDATE_STARTED &&
	    out->state != UPDATE_PROGRESS) {
		ota_errf(err, errlen,
		    "progress: only with state progress or started");
		return OTA_EINVAL;
	}
	if (rc == 1 && out->state == UPDATE_PROGRESS) {
		ota_errf(err, errlen,
		    "progress: required with state progress (0..100)");
		return OTA_EINVAL;
	}
	if (rc == 0)
		out->progress = (int)v;
	return 0;
}

/* result: required for failed, refused otherwise. */
static int
parse_result(
    const json_t *obj, struct telemetry_event *out, char *err, size_t errlen)
{
	json_int_t v = 0;
	int rc = get_int(obj, "result", 2, 11, &v);

	if (rc < 0) {
		ota_errf(err, errlen,
		    "result: an LwM2M firmware update result code 2..11");
		return OTA_EINVAL;
	}
	if (rc == 0 && out->state != UPDATE_FAILED) {
		ota_errf(err, errlen, "result: only with state failed");
		return OTA_EINVAL;
	}
	if (rc == 1 && out->state == UPDATE_FAILED) {
		ota_errf(err, errlen,
		    "result: required with state failed (LwM2M code 2..11)");
		return OTA_EINVAL;
	}
	if (rc == 0)
		out->result = (int)v;
	return 0;
}

/* state, then the progress and result it allows. */
static int
parse_state(
    const json_t *obj, struct telemetry_event *out, char *err, size_t errlen)
{
	const char *s = NULL;
	size_t len = 0;
	int rc;

	if (get_string(obj, "state", 16, &s, &len) != 0 ||
	    update_state_parse(s, &out->state) != 0 ||
	    out->state == UPDATE_OFFERED || out->state == UPDATE_CANCELED ||
	    out->state == UPDATE_TIMED_OUT) {
		ota_errf(err, errlen,
		    "state: required, one of started, progress, completed, "
		    "failed, reverted, deferred, accepted, declined");
		return OTA_EINVAL;
	}
	if ((rc = parse_progress(obj, out, err, errlen)) != 0)
		return rc;
	return parse_result(obj, out, err, errlen);
}

/* detail and ts: what the device says, and when. */
static int
parse_detail_ts(const json_t *obj, int64_t now_ms, struct telemetry_event *out,
    char *err, size_t errlen)
{
	const char *s = NULL;
	size_t len = 0;
	int rc;

	rc = get_string(obj, "detail", TELEMETRY_DETAIL_MAX, &s, &len);
	if (rc < 0) {
		ota_errf(err, errlen,
		    "detail: a string of at most %d bytes (no NUL)",
		    TELEMETRY_DETAIL_MAX);
		return OTA_EINVAL;
	}
	if (rc == 0)
		memcpy(out->detail, s, len + 1);

	if (get_string(obj, "ts", TELEMETRY_TS_MAX, &s, &len) != 0 ||
	    timeutil_parse_rfc3339(s, &out->ts_ms) != 0) {
		ota_errf(err, errlen,
		    "ts: required, RFC 3339 date-time (e.g. "
		    "2026-11-21T18:00:00Z or 2026-11-21T19:00:00.250+01:00)");
		return OTA_EINVAL;
	}
	if (out->ts_ms > now_ms + TS_FUTURE_MS) {
		ota_errf(err, errlen,
		    "ts: more than a day in the future of the server's clock");
		return OTA_EINVAL;
	}
	memcpy(out->ts, s, len + 1);
	return 0;
}

int
telemetry_parse_event(const json_t *obj, const char *device_id, int64_t now_ms,
    struct telemetry_event *out, char *err, size_t errlen)
{
	static const char *const keys[] = {"event_id", "device", "rollout",
	    "version", "component", "state", "progress", "result", "detail",
	    "ts", NULL};
	int rc;

	if (!json_is_object(obj)) {
		ota_errf(err, errlen, "event: must be a JSON object");
		return OTA_EINVAL;
	}
	if (device_id == NULL || strlen(device_id) >= sizeof(out->device_id)) {
		ota_errf(err, errlen, "device: unknown device");
		return OTA_EINVAL;
	}
	if (json_util_check_keys(obj, keys, "", err, errlen) != 0)
		return OTA_EINVAL;
	memset(out, 0, sizeof(*out));
	out->progress = -1;
	out->result = -1;
	if ((rc = parse_ids(obj, device_id, out, err, errlen)) != 0 ||
	    (rc = parse_state(obj, out, err, errlen)) != 0)
		return rc;
	return parse_detail_ts(obj, now_ms, out, err, errlen);
}
