/*
 * telemetry_parse: what an update event is, and the two pure rules on one:
 * telemetry_parse_event validates an event object (REST, MQTT: bounded,
 * every field checked), telemetry_parse_verdict decides on facts the store
 * read whether a valid event counts toward its rollout.  No I/O, no
 * globals: the store and the writer include it, it includes neither.
 */
#ifndef OTAD_TELEMETRY_PARSE_H
#define OTAD_TELEMETRY_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "components.h"
#include "update_state.h"

#define TELEMETRY_EVENT_ID_MAX 64   /* [A-Za-z0-9._:-] */
#define TELEMETRY_DEVICE_ID_MAX 128 /* bytes of a device id */
#define TELEMETRY_DETAIL_MAX 512    /* bytes of UTF-8 text */
#define TELEMETRY_BATCH_MAX 1000    /* events per REST call */
#define TELEMETRY_TS_MAX 39         /* RFC 3339 with fraction and offset */

enum telemetry_transport {
	TELEMETRY_REST,
	TELEMETRY_MQTT,
	TELEMETRY_DDI,
};
#define TELEMETRY_TRANSPORT_COUNT 3 /* REST .. DDI */

/* "rest", "mqtt", "ddi"; NULL for a value outside the enum. */
const char *telemetry_parse_transport_name(enum telemetry_transport t);

/* One validated event.  All strings NUL-terminated. */
struct telemetry_event {
	char event_id[TELEMETRY_EVENT_ID_MAX + 1];
	char device_id[TELEMETRY_DEVICE_ID_MAX + 1];
	int64_t rollout_id;
	char version[128 + 1];
	/* The part of a bundle rollout the event is about (a component of
	 * the device), "" for an image rollout's event. */
	char component[COMPONENT_NAME_MAX + 1];
	enum update_state state; /* started .. reverted (never offered) */
	int progress;            /* 0..100, or -1 when absent */
	int result;              /* LwM2M /5 code 2..11 for failed, or -1 */
	char detail[TELEMETRY_DETAIL_MAX + 1];
	char ts[TELEMETRY_TS_MAX + 1]; /* as sent */
	int64_t ts_ms;                 /* the same, unix milliseconds */
};

/*
 * Validates one event object: event_id (1..64 of [A-Za-z0-9._:-]),
 * device (optional; when present must equal device_id, the device named
 * by the URL path or MQTT topic), rollout (positive integer), version
 * (SemVer), state (started|progress|completed|failed|reverted), progress
 * (integer 0..100, required for progress, optional for started, refused
 * otherwise), result (integer 2..11, required for failed, refused
 * otherwise), detail (optional string <= 512 bytes), ts (RFC 3339, e.g.
 * 2026-11-21T18:00:00Z or with fraction/offset; at most 1 day in the
 * future of now_ms).  Unknown fields are refused.  obj is borrowed.
 * Returns 0 and *out, or OTA_EINVAL with a one-line reason naming the
 * field in err (err may be NULL with errlen 0; always terminated).
 * Pure; thread-safe.
 */
int telemetry_parse_event(const json_t *obj, const char *device_id,
    int64_t now_ms, struct telemetry_event *out, char *err, size_t errlen);

/* Why an event was rejected (the REST error names of a single event, the
 * reason label of otad_events_rejected_total). */
enum telemetry_reject {
	TELEMETRY_REJECT_NONE,
	TELEMETRY_REJECT_UNKNOWN_DEVICE,   /* "unknown_device" */
	TELEMETRY_REJECT_UNKNOWN_ROLLOUT,  /* "unknown_rollout" */
	TELEMETRY_REJECT_VERSION_MISMATCH, /* "version_mismatch" */
	TELEMETRY_REJECT_NOT_TARGETED,     /* "not_targeted" */
	TELEMETRY_REJECT_COMPONENT,        /* "component_mismatch" */
};
#define TELEMETRY_REJECT_COUNT 6 /* NONE .. COMPONENT */

/* "unknown_device", "unknown_rollout", "version_mismatch",
 * "not_targeted", "component_mismatch"; NULL for NONE or a value outside
 * the enum. */
const char *telemetry_parse_reject_name(enum telemetry_reject r);

/*
 * What the store knows of an event's device D and rollout R, read inside
 * the writer's transaction (store_telemetry_target): the facts
 * telemetry_parse_verdict decides on.
 */
struct telemetry_target {
	int device_found;
	int rollout_found;
	char rollout_version[128 + 1]; /* R's image version */
	char device_hardware[64 + 1];  /* D's hardware, for the detail */
	/* R was offered to D: R has a status for D (an offer recorded from
	 * a poll, or an event counted before) or a DDI action. */
	int offered;
	int in_groups;     /* D is a member of one of R's target groups */
	int hardware_fits; /* R's image lists D's hardware (0 once the
	                    * image is deleted); for a bundle rollout, the
	                    * event's part's image lists the hardware of D's
	                    * component of that name */
	/* R rolls out a bundle (rollout_version is the bundle's). */
	int bundle;
	/* Of a bundle rollout and an event naming a component: the bundle
	 * has a part for it, and that part's image version. */
	int part_found;
	char part_version[128 + 1];
	char bundle_name[64 + 1]; /* for the detail */
};

/*
 * The one rule deciding whether event e counts toward its rollout R,
 * for REST, MQTT and DDI alike, on the facts t of its device D and R.
 * Refused, in this order: D unknown (UNKNOWN_DEVICE), R unknown
 * (UNKNOWN_ROLLOUT), e naming no component while R is a bundle's, a
 * component not among the bundle's parts, or one while R is an image's
 * (COMPONENT), e's version not R's image version, or for a bundle not
 * the version of the part's image (VERSION_MISMATCH), and R not
 * targeting D (NOT_TARGETED): D was not
 * offered R, and is not both in one of R's groups and of a hardware R's
 * image fits.  A consent answer (accepted, declined) on a bundle's R is
 * on the whole bundle: it names no component (one that does is
 * COMPONENT) and carries the bundle's version (rollout_version).  A refused
 * event is stored nowhere and never touches R's health.  Returns
 * TELEMETRY_REJECT_NONE (the event counts) or the reason, with a one-line
 * explanation in detail (always terminated;
 * "" for NONE; detail may be NULL with detail_len 0).  Pure.
 */
enum telemetry_reject telemetry_parse_verdict(const struct telemetry_event *e,
    const struct telemetry_target *t, char *detail, size_t detail_len);

#endif
