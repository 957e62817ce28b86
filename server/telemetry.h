/*
 * telemetry: the one writer of update events (REST, MQTT, DDI; parsed and
 * judged by telemetry_parse.h).  It groups every batch waiting into one
 * store transaction, judges each event there and answers each submitter
 * only once that transaction is durable.  After each commit the writer
 * has the rollouts it touched checked by the automatic pause.
 */
#ifndef OTAD_TELEMETRY_H
#define OTAD_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "telemetry_parse.h"
#include "update_state.h"

struct rollout_service;
struct seen;
struct store;
struct telemetry;

/* Outcome of one submitted event. */
enum telemetry_outcome {
	TELEMETRY_ACCEPTED,
	TELEMETRY_DUPLICATE, /* already stored: acknowledged, not recounted */
	TELEMETRY_REJECTED,  /* refused by telemetry_parse_verdict: see
	                      * reject */
};
/* What the writer answers for one event. */
struct telemetry_result {
	enum telemetry_outcome outcome;
	enum telemetry_reject reject; /* NONE unless REJECTED */
	char detail[160];
};

#define TELEMETRY_QUEUE_DEFAULT 20000 /* events waiting for the writer */
#define TELEMETRY_GROUP_MAX 5000      /* events per writer transaction */

/*
 * Starts the writer thread on its collaborators, all borrowed and
 * outliving it: st (the events' store; the writer takes one connection
 * per group), seen (may be NULL: told to forget a device that completed
 * an update, so its next poll is judged for a silent revert) and
 * rollouts (the rollouts it touched go to its automatic pause).  queue_max
 * bounds the events waiting (submit blocks when full: back-pressure, never
 * loss; a batch always fits an empty queue). Returns NULL (logged) on failure.
 * stop drains every queued batch, then joins; call it after the last
 * submit/enqueue (HTTP and MQTT stopped). NULL-safe.
 */
struct telemetry *telemetry_start(struct store *st, struct seen *seen,
    struct rollout_service *rollouts, size_t queue_max);
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
	/* accepted, by [transport][state] */
	uint64_t events[TELEMETRY_TRANSPORT_COUNT][UPDATE_STATE_COUNT];
	uint64_t duplicates, rejected, commits;
	/* rejected, by [transport][enum telemetry_reject] */
	uint64_t rejected_by[TELEMETRY_TRANSPORT_COUNT][TELEMETRY_REJECT_COUNT];
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
