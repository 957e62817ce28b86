/*
 * mqtt: otad's client of an MQTT broker (libmosquitto), the second way in
 * for update events.  One thread owns the connection: it connects with a
 * fixed client id and clean_session=false (the broker keeps otad's session
 * and queues QoS 1 messages while otad is away), subscribes with QoS 1 to
 * {mqtt_prefix}/devices/+/events on every connection, and reconnects with
 * exponential backoff.  Each message is checked here (topic, size, JSON
 * shape, each event through telemetry_parse_event) and the valid events
 * are queued for the telemetry writer with telemetry_enqueue; this module
 * never touches the store.  libmosquitto acknowledges a QoS 1 message
 * before otad has committed it, so otad acknowledges each event itself,
 * after the commit, on {prefix}/devices/{id}/acks, and reads no further
 * message while mqtt_max_uncommitted events wait for their commit: see
 * docs/mqtt.md, "Delivery".  It also publishes the update hints that
 * hints.c asks for ({prefix}/devices/{id}/update).
 */
#ifndef OTAD_MQTT_H
#define OTAD_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "telemetry.h"

struct mqtt;
struct ota_config;

/*
 * Starts the MQTT client of cfg (mqtt_host must be set; borrowed, it
 * outlives the client) on its own thread, feeding the writer telemetry
 * (which must be running, and outlive the client).  Reads the password file and
 * checks the TLS files now; the broker itself may be down: the thread keeps
 * trying, and otad runs meanwhile.  Returns NULL (logged) on a configuration or
 * system error. Call from main before any request can need it; not thread-safe
 * (libmosquitto's global initialisation).
 */
struct mqtt *mqtt_start(
    const struct ota_config *cfg, struct telemetry *telemetry);

/*
 * Disconnects cleanly (when connected), joins the thread and frees m.
 * Every message received before has been handed to the writer when this
 * returns, so stop the telemetry writer after this to drain them.  May
 * wait for a connection attempt in progress (a TCP connect or name lookup
 * to an unreachable broker).  NULL-safe.
 */
void mqtt_stop(struct mqtt *m);

/* 1 while connected to the broker (CONNACK accepted), else 0; 0 for NULL.
 * Thread-safe. */
int mqtt_connected(const struct mqtt *m);

/* Counters for /metrics, monotonic since mqtt_start. */
struct mqtt_stats {
	uint64_t messages;    /* PUBLISH messages received */
	uint64_t events;      /* valid events queued for the writer */
	uint64_t malformed;   /* messages refused whole: topic, size, JSON */
	uint64_t mismatched;  /* events naming another device than the topic */
	uint64_t rejected;    /* other invalid events (telemetry_parse_event) */
	uint64_t reconnects;  /* connections accepted after the first */
	uint64_t acks;        /* ack messages published (one per device and
	                       * commit, or per refused message) */
	uint64_t hints;       /* update hints published */
	uint64_t unsent;      /* acks and hints dropped: not connected */
	uint64_t pauses;      /* times reading stopped for the commit */
	uint64_t uncommitted; /* gauge: events waiting for their commit */
};

/* Copies m's counters to *out (zeros for NULL).  Thread-safe. */
void mqtt_stats_get(const struct mqtt *m, struct mqtt_stats *out);

/*
 * Queues an update hint for device_id: {"rollout":rollout_id,
 * "version":version} on {prefix}/devices/{device_id}/update, QoS 1,
 * published by the connection's thread.  Returns 0, OTA_EINVAL (bad id
 * or version), OTA_ENOMEM, or OTA_EIO while not connected (the hint is
 * dropped: devices still poll).  Never blocks on the network.
 * Thread-safe; NULL-safe (OTA_EIO).
 */
int mqtt_hint(struct mqtt *m, const char *device_id, int64_t rollout_id,
    const char *version);

/*
 * The acknowledgement of one event, as an object of the "acks" array:
 * {"event_id", "result": "stored" | "duplicate" | "rejected"} and, when
 * rejected, "reason" (telemetry_parse_reject_name, or "rejected" for a verdict
 * without a name) and "detail".  Returns a new reference, or NULL out of
 * memory.  Pure.
 */
json_t *mqtt_ack_item(const char *event_id, const struct telemetry_result *res);

/*
 * The device id of a topic that must be exactly
 * "<prefix>/devices/<id>/events" with id a valid device id
 * (store_device_id_valid).  Writes the id to out_id[out_size] (at least
 * STORE_DEVICE_ID_MAX + 1 bytes).  Returns 0 or OTA_EINVAL.  Pure.
 */
int mqtt_topic_device(
    const char *prefix, const char *topic, char *out_id, size_t out_size);

/* What mqtt_payload_parse made of the events of one message. */
struct mqtt_payload_report {
	size_t items;       /* events in the message (1 for an object) */
	size_t valid;       /* events written to out[0..valid) */
	size_t mismatched;  /* naming another device than the topic's */
	size_t rejected;    /* otherwise invalid */
	size_t first_bad;   /* index of the first refused event */
	char reason[192];   /* why that one was refused, "" when none */
	size_t refused_ids; /* refused events written to out_refused */
};

/* A refused event that has a valid event_id, so that it can be
 * acknowledged as rejected (and the device stops sending it). */
struct mqtt_refusal {
	char event_id[TELEMETRY_EVENT_ID_MAX + 1];
	char detail[192]; /* why, safe in a log line */
};

/*
 * Parses payload[0..len), published on device_id's events topic: one
 * event object or an array of 1..TELEMETRY_BATCH_MAX of them, at most
 * max_bytes, nested at most JSON_UTIL_MAX_DEPTH levels.  Each event goes
 * through telemetry_parse_event(device_id, now_ms); the valid ones are
 * written to out[0..rep->valid) (out holds TELEMETRY_BATCH_MAX), the
 * others counted in *rep (an event whose "device" differs from device_id
 * as mismatched), and those of them with a valid event_id written to
 * out_refused[0..rep->refused_ids) (NULL: not written; else it holds
 * TELEMETRY_BATCH_MAX).  Returns 0 when the message was usable, even if some of
 * its events were refused, or OTA_ETOOBIG / OTA_EINVAL with a one-line
 * reason in err for a message refused whole.  Reasons are safe in a log
 * line (no quotes or control characters) and leave out jansson's quote of
 * the input.  Pure.
 */
int mqtt_payload_parse(const void *payload, size_t len, size_t max_bytes,
    const char *device_id, int64_t now_ms, struct telemetry_event *out,
    struct mqtt_refusal *out_refused, struct mqtt_payload_report *rep,
    char *err, size_t errlen);

#endif
