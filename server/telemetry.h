/*
 * telemetry: update events from devices and companion apps, over REST and
 * MQTT alike.  telemetry_event_parse validates one event (pure, bounded);
 * telemetry_submit hands a batch to the one writer thread, which groups
 * every batch waiting into one SQLite transaction (group commit) and
 * answers each submitter only once that transaction is durable.  After
 * each commit the writer has the rollouts it touched checked by the
 * automatic pause (rollout_service_check_health).
 */
#ifndef OTAD_TELEMETRY_H
#define OTAD_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "update_state.h"

struct app;
struct telemetry;

#define TELEMETRY_EVENT_ID_MAX 64 /* [A-Za-z0-9._:-] */
#define TELEMETRY_DETAIL_MAX 512  /* bytes of UTF-8 text */
#define TELEMETRY_BATCH_MAX 1000  /* events per REST call */
#define TELEMETRY_TS_MAX 39       /* RFC 3339 with fraction and offset */

enum telemetry_transport {
	TELEMETRY_REST,
	TELEMETRY_MQTT,
	TELEMETRY_DDI,
};

/* "rest", "mqtt", "ddi". */
const char *telemetry_transport_name(enum telemetry_transport t);

/* One validated event.  All strings NUL-terminated. */
struct telemetry_event {
	char event_id[TELEMETRY_EVENT_ID_MAX + 1];
	char device_id[128 + 1];
	int64_t rollout_id;
	char version[128 + 1];
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
 * future of now_ms).  Unknown fields are refused.  Returns 0 and *out, or
 * OTA_EINVAL with a one-line reason naming the field in err.
 */
int telemetry_event_parse(const json_t *obj, const char *device_id,
    int64_t now_ms, struct telemetry_event *out, char *err, size_t errlen);

/* Outcome of one submitted event. */
enum telemetry_outcome {
	TELEMETRY_ACCEPTED,
	TELEMETRY_DUPLICATE, /* already stored: acknowledged, not recounted */
	TELEMETRY_REJECTED,  /* refused by telemetry_verdict: see reject */
};
/* Why an event was rejected (the REST error names of a single event, the
 * reason label of otad_events_rejected_total). */
enum telemetry_reject {
	TELEMETRY_REJECT_NONE,
	TELEMETRY_REJECT_UNKNOWN_DEVICE,   /* "unknown_device" */
	TELEMETRY_REJECT_UNKNOWN_ROLLOUT,  /* "unknown_rollout" */
	TELEMETRY_REJECT_VERSION_MISMATCH, /* "version_mismatch" */
	TELEMETRY_REJECT_NOT_TARGETED,     /* "not_targeted" */
};
#define TELEMETRY_REJECT_COUNT 5 /* NONE .. NOT_TARGETED */
/* "unknown_device", "unknown_rollout", "version_mismatch",
 * "not_targeted"; NULL for NONE or a value outside the enum. */
const char *telemetry_reject_name(enum telemetry_reject r);

/*
 * What the store knows of an event's device D and rollout R, read inside
 * the writer's transaction (store_telemetry_target): the facts
 * telemetry_verdict decides on.
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
	                    * image is deleted) */
};

/*
 * The one rule deciding whether event e counts toward its rollout R,
 * for REST, MQTT and DDI alike, on the facts t of its device D and R.
 * Refused, in this order: D unknown (UNKNOWN_DEVICE), R unknown
 * (UNKNOWN_ROLLOUT), e's version not R's image version
 * (VERSION_MISMATCH), and R not targeting D (NOT_TARGETED): D was not
 * offered R, and is not both in one of R's groups and of a hardware R's
 * image fits.  A refused event is stored nowhere and never touches R's
 * health.  Returns TELEMETRY_REJECT_NONE (the event counts) or the
 * reason, with a one-line explanation in detail (always terminated;
 * "" for NONE).  Pure.
 */
enum telemetry_reject telemetry_verdict(const struct telemetry_event *e,
    const struct telemetry_target *t, char *detail, size_t detail_len);

struct telemetry_result {
	enum telemetry_outcome outcome;
	enum telemetry_reject reject; /* NONE unless REJECTED */
	char detail[160];
};

#define TELEMETRY_QUEUE_DEFAULT 20000 /* events waiting for the writer */
#define TELEMETRY_GROUP_MAX 5000      /* events per writer transaction */

/*
 * Starts the writer thread.  queue_max bounds the events waiting (submit
 * blocks when full: back-pressure, never loss; a batch always fits an
 * empty queue).  Returns NULL (logged) on failure.  stop drains every
 * queued batch, then joins; call it after the last submit/enqueue (HTTP
 * and MQTT stopped).  NULL-safe.
 */
struct telemetry *telemetry_start(struct app *app, size_t queue_max);
void telemetry_stop(struct telemetry *t);

/*
 * Submits ev[0..n) (1..TELEMETRY_BATCH_MAX) and waits until the writer's
 * transaction holding them is committed (durable) or failed.  res[i] gets
 * each event's outcome.  Returns 0 (every res[] is final and durable),
 * OTA_EDB (nothing of this batch may be acknowledged), or OTA_EINVAL for
 * n out of range.  Thread-safe; blocks the caller.  Also used by the MQTT
 * thread (which then acknowledges nothing it has not written).
 */
int telemetry_submit(struct telemetry *t, const struct telemetry_event *ev,
    size_t n, enum telemetry_transport transport, struct telemetry_result *res);

/*
 * Queues ev[0..n) (1..TELEMETRY_BATCH_MAX) for the writer without waiting
 * for the commit: for the MQTT thread, which must not stall its network
 * loop for a commit per message (libmosquitto has already acknowledged a
 * QoS 1 message to the broker when it hands it over).  Rejections are
 * logged and counted by the writer; every outcome goes to the done hook
 * (telemetry_set_done_hook) after the transaction.  Blocks only while the queue
 * is full (back-pressure, never loss).  Returns 0, OTA_EINVAL for n out of
 * range, OTA_ENOMEM, or OTA_EDB once telemetry_stop has begun (logged:
 * stop the MQTT client first).  Thread-safe.
 */
int telemetry_enqueue(struct telemetry *t, const struct telemetry_event *ev,
    size_t n, enum telemetry_transport transport);

/* One enqueued batch, as the writer hands it to the done hook: its
 * events and their outcomes (borrowed for the call only). */
struct telemetry_done {
	const struct telemetry_event *ev;
	const struct telemetry_result *res; /* meaningful when rc is 0 */
	size_t n;
	enum telemetry_transport transport;
};

/*
 * Called by the writer thread after each transaction that held enqueued
 * batches, with done[0..n) (n >= 1) in queue order: rc 0 when the
 * transaction committed (every res[] is final and durable), OTA_EDB when
 * it failed (nothing of them was stored; counted as lost).  Runs on the
 * writer thread while the next group waits: keep it short, never block
 * on the network.
 */
typedef void (*telemetry_done_fn)(
    void *arg, const struct telemetry_done *done, size_t n, int rc);

/*
 * Sets (fn non-NULL) or clears (fn NULL) the done hook of enqueued
 * batches.  Returns once no call of the previous hook runs any more, so
 * arg may be freed after clearing it.  Thread-safe; NULL-safe for t.
 */
void telemetry_set_done_hook(
    struct telemetry *t, telemetry_done_fn fn, void *arg);

/* Counters for /metrics (monotonic since start). */
struct telemetry_stats {
	uint64_t events[3]
	               [UPDATE_STATE_COUNT]; /* [transport][state] accepted */
	uint64_t duplicates, rejected, commits, auto_pauses;
	/* rejected, by [transport][enum telemetry_reject] */
	uint64_t rejected_by[3][TELEMETRY_REJECT_COUNT];
	uint64_t write_errors; /* transactions that failed (rolled back) */
	/* Enqueued events (telemetry_enqueue: no one waits for the
	 * answer) lost to a failed transaction, a stop or memory: the
	 * broker got its PUBACK, the device no ack from the done hook. */
	uint64_t lost;
	/* Gauges: events waiting on the queue, and in the transaction
	 * being written now. */
	uint64_t queued, writing;
};
/* A consistent copy of the counters (zeros when t is NULL).  Thread-safe. */
void telemetry_stats_get(struct telemetry *t, struct telemetry_stats *out);

#endif
