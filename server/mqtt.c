/*
 * mqtt: the broker connection and the events it brings.  One thread runs
 * the connection with libmosquitto's non-threaded calls (loop_read, _write,
 * _misc) over poll(2) rather than mosquitto_loop_start: libmosquitto
 * 2.0.11's own thread ends for good on a TLS close or protocol error and
 * cannot watch a socket numbered above FD_SETSIZE, and otad must never
 * stop listening.  Callbacks run on that thread, parse, and hand events to
 * telemetry_enqueue; counters are atomics read by /metrics.  The writer's
 * done hook (after each commit) builds the acks and hands them back over
 * a queue and the wake pipe; every libmosquitto call stays on the
 * connection's thread.  Nothing here logs a password or a payload.
 */
#include "mqtt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>
#include <sodium.h>

#include "config.h"
#include "errors.h"
#include "fsutil.h"
#include "json_util.h"
#include "log.h"
#include "names.h"
#include "semver.h"
#include "store_devices.h"
#include "timeutil.h"

#define MQTT_PASSWORD_MAX 1024 /* bytes of the password file */
#define MQTT_TOPIC_MAX 256     /* prefix (64) + id (128) + the rest */
#define MQTT_LOG_TEXT_MAX 200  /* of a refusal reason (mqtt_log_safe) */
#define MQTT_POLL_MS 1000      /* keepalive and stop checks */
#define MQTT_FLUSH_MS 1000     /* to send DISCONNECT when stopping */
#define MQTT_DRAIN_MS 3000     /* to ack what is committed when stopping */
#define MQTT_OUT_MAX 100000    /* acks and hints waiting to be published */

/* A message for the connection's thread to publish (QoS 1). */
struct mqtt_out {
	struct mqtt_out *next;
	int hint; /* 1: update hint, 0: ack */
	size_t len;
	char topic[MQTT_TOPIC_MAX];
	char payload[]; /* len bytes */
};

struct mqtt {
	const struct ota_config *cfg; /* borrowed */
	struct telemetry *telemetry;  /* borrowed: the events' writer */
	struct mosquitto *mosq;
	char sub_topic[MQTT_TOPIC_MAX]; /* {prefix}/devices/+/events */
	size_t max_bytes;               /* of a payload: max_json_bytes */
	struct telemetry_event *batch;  /* TELEMETRY_BATCH_MAX, loop thread */
	struct mqtt_refusal *refused;   /* TELEMETRY_BATCH_MAX, loop thread */
	/* Events handed to the writer whose transaction has not ended: no
	 * message is read while cfg.mqtt_max_uncommitted of them wait. */
	atomic_long uncommitted;
	/* Acks (from the writer's done hook) and hints (hints.c) for the
	 * loop thread to publish; the wake pipe says there are some. */
	pthread_mutex_t out_mu;
	struct mqtt_out *out_head, *out_tail; /* guarded by out_mu */
	size_t out_len;                       /* guarded by out_mu */
	int wake[2]; /* pipe: mqtt_stop wakes the thread */
	pthread_t thread;
	int have_thread;
	atomic_int stopping;
	atomic_int connected;
	/* Loop thread only. */
	int session_up;      /* this connection got its CONNACK */
	int ever_up;         /* some connection did */
	int outage_logged;   /* the failures since the last CONNACK were */
	const char *refusal; /* the broker's CONNACK refusal, static text */
	int cut_short;       /* a read stopped for the commit, data may wait */
	int paused;          /* reading stopped until commits catch up */
	atomic_uint_fast64_t messages, events, malformed, mismatched, rejected,
	    reconnects, acks, hints, unsent, pauses;
};

static void
mqtt_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
mqtt_read_count(const atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Copies s into buf[len] fit for a quoted log value: quotes, backslashes
 * and control bytes become '?', and long text is cut. */
static void
mqtt_log_safe(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len && i < MQTT_LOG_TEXT_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
		             ? '?'
		             : (char)ch;
	}
	buf[i] = '\0';
}

int
mqtt_topic_device(
    const char *prefix, const char *topic, char *out_id, size_t out_size)
{
	static const char mid[] = "/devices/", tail[] = "/events";
	size_t plen = strlen(prefix), tlen, idlen;
	const char *id;

	tlen = strnlen(topic, MQTT_TOPIC_MAX + 1);
	if (tlen > MQTT_TOPIC_MAX || strncmp(topic, prefix, plen) != 0 ||
	    strncmp(topic + plen, mid, sizeof(mid) - 1) != 0)
		return OTA_EINVAL;
	id = topic + plen + sizeof(mid) - 1;
	if (tlen < (size_t)(id - topic) + sizeof(tail) - 1)
		return OTA_EINVAL;
	idlen = tlen - (size_t)(id - topic) - (sizeof(tail) - 1);
	if (strcmp(id + idlen, tail) != 0 || idlen == 0 ||
	    idlen > STORE_DEVICE_ID_MAX || idlen + 1 > out_size)
		return OTA_EINVAL;
	memcpy(out_id, id, idlen);
	out_id[idlen] = '\0';
	if (!store_device_id_valid(out_id)) {
		out_id[0] = '\0';
		return OTA_EINVAL;
	}
	return 0;
}

/* Records why event i (item, NULL when not an object) was refused: the
 * message's first reason, and the event's own when it has a valid
 * event_id and out_refused is given. */
static void
mqtt_report_bad(struct mqtt_payload_report *rep, size_t i, const json_t *item,
    const char *why, struct mqtt_refusal *out_refused)
{
	const char *id = item != NULL ? json_util_str(item, "event_id") : NULL;
	struct mqtt_refusal *r;

	if (rep->reason[0] == '\0') {
		rep->first_bad = i;
		mqtt_log_safe(why, rep->reason, sizeof(rep->reason));
	}
	if (out_refused == NULL || id == NULL ||
	    !names_valid(id, TELEMETRY_EVENT_ID_MAX, NAMES_ID_PUNCT))
		return;
	r = &out_refused[rep->refused_ids++];
	memcpy(r->event_id, id, strlen(id) + 1);
	mqtt_log_safe(why, r->detail, sizeof(r->detail));
}

/* Checks one event of the message; a valid one is appended to out. */
static void
mqtt_payload_item(const json_t *item, size_t i, const char *device_id,
    int64_t now_ms, struct telemetry_event *out,
    struct mqtt_refusal *out_refused, struct mqtt_payload_report *rep)
{
	const char *dev = json_util_str(item, "device");
	char why[192];

	if (dev != NULL && strcmp(dev, device_id) != 0) {
		rep->mismatched++;
		mqtt_report_bad(rep, i, item,
		    "device: differs from the topic's device", out_refused);
		return;
	}
	if (telemetry_parse_event(item, device_id, now_ms, &out[rep->valid],
	        why, sizeof(why)) != 0) {
		rep->rejected++;
		mqtt_report_bad(rep, i, item, why, out_refused);
		return;
	}
	rep->valid++;
}

int
mqtt_payload_parse(const void *payload, size_t len, size_t max_bytes,
    const char *device_id, int64_t now_ms, struct telemetry_event *out,
    struct mqtt_refusal *out_refused, struct mqtt_payload_report *rep,
    char *err, size_t errlen)
{
	json_t *root = NULL, *item;
	char why[256], *near;
	size_t i;
	int rc = OTA_EINVAL;

	memset(rep, 0, sizeof(*rep));
	if (len == 0) {
		snprintf(err, errlen, "empty payload");
		goto out;
	}
	if (len > max_bytes) {
		snprintf(err, errlen,
		    "payload of %zu bytes over the limit of %zu", len,
		    max_bytes);
		rc = OTA_ETOOBIG;
		goto out;
	}
	if (json_util_load(payload, len, JSON_UTIL_MAX_DEPTH, &root, why,
	        sizeof(why)) != 0) {
		/* jansson quotes the input "near" the error: keep it out. */
		if ((near = strstr(why, " near ")) != NULL)
			*near = '\0';
		mqtt_log_safe(why, err, errlen);
		goto out;
	}
	if (json_is_object(root)) {
		rep->items = 1;
		mqtt_payload_item(
		    root, 0, device_id, now_ms, out, out_refused, rep);
	} else if (json_is_array(root)) {
		rep->items = json_array_size(root);
		if (rep->items == 0 || rep->items > TELEMETRY_BATCH_MAX) {
			snprintf(err, errlen,
			    "array of %zu events (must hold 1..%d)", rep->items,
			    TELEMETRY_BATCH_MAX);
			rep->items = 0;
			goto out;
		}
		json_array_foreach(root, i, item) {
			if (!json_is_object(item)) {
				rep->rejected++;
				mqtt_report_bad(rep, i, NULL,
				    "not a JSON object", out_refused);
				continue;
			}
			mqtt_payload_item(
			    item, i, device_id, now_ms, out, out_refused, rep);
		}
	} else {
		snprintf(err, errlen,
		    "not a JSON object or an array of event objects");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

json_t *
mqtt_ack_item(const char *event_id, const struct telemetry_result *res)
{
	const char *reason;

	switch (res->outcome) {
	case TELEMETRY_ACCEPTED:
		return json_pack(
		    "{s:s, s:s}", "event_id", event_id, "result", "stored");
	case TELEMETRY_DUPLICATE:
		return json_pack(
		    "{s:s, s:s}", "event_id", event_id, "result", "duplicate");
	case TELEMETRY_REJECTED:
		break;
	}
	/* Any verdict, named or not, is a rejection with its reason. */
	reason = telemetry_parse_reject_name(res->reject);
	return json_pack("{s:s, s:s, s:s, s:s%}", "event_id", event_id,
	    "result", "rejected", "reason",
	    reason != NULL ? reason : "rejected", "detail", res->detail,
	    strnlen(res->detail, sizeof(res->detail)));
}

/* Writes one byte to the wake pipe: the loop thread has work. */
static void
mqtt_wake(struct mqtt *m)
{
	if (write(m->wake[1], "x", 1) < 0 && errno != EAGAIN)
		log_warn("msg=\"mqtt: cannot wake its thread\"");
}

/* Empties the wake pipe (loop thread). */
static void
mqtt_wake_drain(struct mqtt *m)
{
	char buf[256];

	while (read(m->wake[0], buf, sizeof(buf)) > 0)
		;
}

/* A new message for topic {prefix}/devices/{device_id}/{leaf} (hint:
 * counted as a hint, else an ack) with payload[0..len), or NULL. */
static struct mqtt_out *
mqtt_out_new(struct mqtt *m, const char *device_id, const char *leaf, int hint,
    const char *payload, size_t len)
{
	struct mqtt_out *o;

	if ((o = malloc(sizeof(*o) + len)) == NULL)
		return NULL;
	o->next = NULL;
	o->hint = hint;
	o->len = len;
	snprintf(o->topic, sizeof(o->topic), "%s/devices/%s/%s",
	    m->cfg->mqtt_prefix, device_id, leaf);
	memcpy(o->payload, payload, len);
	return o;
}

/*
 * Appends the n messages of list (chained by next, ending at tail) to
 * the out queue and wakes the loop thread once.  Returns 0, or
 * OTA_ETOOBIG when MQTT_OUT_MAX messages wait already: then the list is
 * freed and counted as unsent.  Any thread.
 */
static int
mqtt_out_append(
    struct mqtt *m, struct mqtt_out *list, struct mqtt_out *tail, size_t n)
{
	struct mqtt_out *next;
	int full;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&m->out_mu);
	if ((full = m->out_len + n > MQTT_OUT_MAX) == 0) {
		if (m->out_tail != NULL)
			m->out_tail->next = list;
		else
			m->out_head = list;
		m->out_tail = tail;
		m->out_len += n;
	}
	pthread_mutex_unlock(&m->out_mu);
	if (full) {
		mqtt_count(&m->unsent, n);
		for (; list != NULL; list = next) {
			next = list->next;
			free(list);
		}
		return OTA_ETOOBIG;
	}
	mqtt_wake(m);
	return 0;
}

/* mqtt_out_new and mqtt_out_append of one message: 0, OTA_ENOMEM or
 * OTA_ETOOBIG.  Any thread. */
static int
mqtt_out_push(struct mqtt *m, const char *device_id, const char *leaf, int hint,
    const char *payload, size_t len)
{
	struct mqtt_out *o =
	    mqtt_out_new(m, device_id, leaf, hint, payload, len);

	if (o == NULL)
		return OTA_ENOMEM;
	return mqtt_out_append(m, o, o, 1);
}

/*
 * Queues the acks of items (a JSON array of at most TELEMETRY_BATCH_MAX
 * items, the refused events of one message; stolen) for device_id as one
 * message {"acks": [...]}.  A failure is counted as unsent: the device
 * sends those events again.
 */
static void
mqtt_acks_push(struct mqtt *m, const char *device_id, json_t *items)
{
	json_t *msg = json_pack("{s:O}", "acks", items);
	char *text = NULL;
	int rc = OTA_ENOMEM;

	if (msg != NULL && (text = json_dumps(msg, JSON_COMPACT)) != NULL)
		rc = mqtt_out_push(m, device_id, "acks", 0, text, strlen(text));
	free(text);
	json_decref(msg);
	if (rc != 0) {
		if (rc != OTA_ETOOBIG) /* counted by the queue */
			mqtt_count(&m->unsent, 1);
		log_warn("msg=\"mqtt ack not queued: the device will send "
		         "again\" device=%s events=%zu error=\"%s\"",
		    device_id, json_array_size(items), ota_strerror(rc));
	}
	json_decref(items);
}

/* One event of a transaction, ordered by device, then as written. */
struct mqtt_ack_ref {
	const struct telemetry_event *ev;
	const struct telemetry_result *res;
	size_t seq;
};

static int
mqtt_ack_ref_cmp(const void *pa, const void *pb)
{
	const struct mqtt_ack_ref *a = pa, *b = pb;
	int c = strcmp(a->ev->device_id, b->ev->device_id);

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* A growing text buffer of the ack builder. */
struct mqtt_text {
	char *buf;
	size_t len, cap;
};

/* Appends s[0..n) to t; 0 or OTA_ENOMEM. */
static int
mqtt_text_add(struct mqtt_text *t, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((p = realloc(t->buf, cap)) == NULL)
			return OTA_ENOMEM;
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

/* Appends the ack item of r to t (mqtt_ack_item's JSON, written
 * directly for the common outcomes: ids need no escaping). */
static int
mqtt_text_item(struct mqtt_text *t, const struct mqtt_ack_ref *r)
{
	char item[64 + TELEMETRY_EVENT_ID_MAX];
	json_t *o;
	char *text;
	int n, rc;

	if (r->res->outcome != TELEMETRY_REJECTED) {
		n = snprintf(item, sizeof(item),
		    "{\"event_id\":\"%s\",\"result\":\"%s\"}", r->ev->event_id,
		    r->res->outcome == TELEMETRY_ACCEPTED ? "stored"
		                                          : "duplicate");
		return mqtt_text_add(t, item, (size_t)n);
	}
	if ((o = mqtt_ack_item(r->ev->event_id, r->res)) == NULL ||
	    (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return OTA_ENOMEM;
	}
	rc = mqtt_text_add(t, text, strlen(text));
	free(text);
	json_decref(o);
	return rc;
}

/*
 * The writer's done hook (writer thread): after each transaction, the
 * MQTT events of done[0..n) are no longer uncommitted; when it committed,
 * each device gets one ack message (per TELEMETRY_BATCH_MAX events) with
 * the result of each of its events in this transaction, in the order
 * written.  Nothing is acknowledged for a failed transaction: the writer
 * counted those events as lost, and their devices send them again.  The
 * acks of a transaction join the out queue together, with one wake-up.
 */
static void
mqtt_on_done(void *arg, const struct telemetry_done *done, size_t n, int rc)
{
	struct mqtt *m = arg;
	struct mqtt_ack_ref *refs = NULL;
	struct mqtt_out *head = NULL, *tail = NULL, *o;
	struct mqtt_text t = {NULL, 0, 0};
	size_t events = 0, k = 0, i, j, msgs = 0;
	int err = 0;

	for (size_t b = 0; b < n; b++)
		if (done[b].transport == TELEMETRY_MQTT)
			events += done[b].n;
	if (events == 0)
		return;
	if (rc == 0 && (refs = malloc(events * sizeof(*refs))) == NULL)
		err = OTA_ENOMEM;
	for (size_t b = 0; refs != NULL && b < n; b++) {
		if (done[b].transport != TELEMETRY_MQTT)
			continue;
		for (i = 0; i < done[b].n; i++, k++) {
			refs[k].ev = &done[b].ev[i];
			refs[k].res = &done[b].res[i];
			refs[k].seq = k;
		}
	}
	if (refs != NULL)
		qsort(refs, events, sizeof(*refs), mqtt_ack_ref_cmp);
	/* refs[i..j): one device's acks, at most TELEMETRY_BATCH_MAX. */
	for (i = 0; refs != NULL && err == 0 && i < events; i = j) {
		t.len = 0;
		err = mqtt_text_add(&t, "{\"acks\":[", 9);
		for (j = i;
		     err == 0 && j < events && j - i < TELEMETRY_BATCH_MAX &&
		     strcmp(refs[j].ev->device_id, refs[i].ev->device_id) == 0;
		     j++) {
			if (j > i)
				err = mqtt_text_add(&t, ",", 1);
			if (err == 0)
				err = mqtt_text_item(&t, &refs[j]);
		}
		if (err == 0)
			err = mqtt_text_add(&t, "]}", 2);
		if (err == 0 && (o = mqtt_out_new(m, refs[i].ev->device_id,
		                     "acks", 0, t.buf, t.len)) == NULL)
			err = OTA_ENOMEM;
		if (err != 0)
			break;
		if (tail != NULL)
			tail->next = o;
		else
			head = o;
		tail = o;
		msgs++;
	}
	if (err != 0) {
		/* Their devices send those events again. */
		log_err("msg=\"mqtt acks not sent: out of memory\" events=%zu",
		    events);
		mqtt_count(&m->unsent, 1);
	}
	/* Before the wake-up: the loop thread then reads again. */
	atomic_fetch_sub(&m->uncommitted, (long)events);
	if (mqtt_out_append(m, head, tail, msgs) == OTA_ETOOBIG)
		log_warn("msg=\"mqtt acks not sent: too many waiting; their "
		         "devices send the events again\" messages=%zu",
		    msgs);
	if (msgs == 0)
		mqtt_wake(m);
	free(t.buf);
	free(refs);
}

/* Acknowledges at once, as rejected, the refused events of a message
 * that have an event_id (loop thread): no commit decides them. */
static void
mqtt_ack_refused(struct mqtt *m, const char *device_id,
    const struct mqtt_refusal *r, size_t n)
{
	struct telemetry_result res;
	json_t *items;

	if (n == 0 || (items = json_array()) == NULL)
		return;
	memset(&res, 0, sizeof(res));
	res.outcome = TELEMETRY_REJECTED;
	for (size_t i = 0; i < n; i++) {
		snprintf(res.detail, sizeof(res.detail), "%s", r[i].detail);
		json_array_append_new(
		    items, mqtt_ack_item(r[i].event_id, &res));
		/* REST's name of an event refused by the checks. */
		json_object_set_new(json_array_get(items, i), "reason",
		    json_string("invalid_event"));
	}
	mqtt_acks_push(m, device_id, items);
}

/*
 * Publishes what waits on the out queue (loop thread).  While not
 * connected it is dropped and counted (unsent): acks are sent again by
 * the devices' resends, hints replaced by their polls.
 */
static void
mqtt_out_flush(struct mqtt *m)
{
	struct mqtt_out *o, *next;
	int rc, up = atomic_load(&m->connected);

	pthread_mutex_lock(&m->out_mu);
	if ((o = m->out_head) == NULL) {
		pthread_mutex_unlock(&m->out_mu);
		return;
	}
	m->out_head = m->out_tail = NULL;
	m->out_len = 0;
	pthread_mutex_unlock(&m->out_mu);
	for (; o != NULL; o = next) {
		next = o->next;
		rc = up ? mosquitto_publish(m->mosq, NULL, o->topic,
		              (int)o->len, o->payload, 1, false)
		        : MOSQ_ERR_NO_CONN;
		if (rc == MOSQ_ERR_SUCCESS)
			mqtt_count(o->hint ? &m->hints : &m->acks, 1);
		else
			mqtt_count(&m->unsent, 1);
		free(o);
	}
}

int
mqtt_hint(struct mqtt *m, const char *device_id, int64_t rollout_id,
    const char *version)
{
	char payload[64 + SEMVER_MAX_LEN];
	int len, rc;

	if (m == NULL || !atomic_load(&m->connected))
		return OTA_EIO;
	if (!store_device_id_valid(device_id) ||
	    semver_check(version, strlen(version)) != 0)
		return OTA_EINVAL;
	/* A SemVer string needs no JSON escaping. */
	len = snprintf(payload, sizeof(payload),
	    "{\"rollout\":%lld,\"version\":\"%s\"}", (long long)rollout_id,
	    version);
	if (len < 0 || (size_t)len >= sizeof(payload))
		return OTA_EINVAL;
	rc = mqtt_out_push(m, device_id, "update", 1, payload, (size_t)len);
	if (rc == OTA_ENOMEM) /* OTA_ETOOBIG: counted by the queue */
		mqtt_count(&m->unsent, 1);
	return rc;
}

/*
 * One PUBLISH (loop thread).  libmosquitto has already queued its PUBACK:
 * whatever happens here, the broker will not send it again, so a refused
 * message is logged and counted, never retried; its events with an
 * event_id are acknowledged as rejected.  Once mqtt_max_uncommitted
 * events wait for their commit, errno = EAGAIN ends the
 * mosquitto_loop_read in progress (2.0.11 reads up to the length of its
 * QoS queues per call and stops on EAGAIN), so at most one more message
 * is taken before the pause.
 */
static void
mqtt_on_message(
    struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;
	struct mqtt_payload_report rep;
	char id[STORE_DEVICE_ID_MAX + 1], topic[LOG_VALUE_MAX];
	char err[256];
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	(void)mosq;
	mqtt_count(&m->messages, 1);
	log_value(topic, sizeof(topic), msg->topic);
	if (mqtt_topic_device(
	        m->cfg->mqtt_prefix, msg->topic, id, sizeof(id)) != 0) {
		mqtt_count(&m->malformed, 1);
		log_warn("msg=\"mqtt message refused\" topic=%s "
		         "reason=\"not {prefix}/devices/{device id}/events\"",
		    topic);
		return;
	}
	if (mqtt_payload_parse(msg->payload, len, m->max_bytes, id,
	        timeutil_now_ms(), m->batch, m->refused, &rep, err,
	        sizeof(err)) != 0) {
		mqtt_count(&m->malformed, 1);
		log_warn("msg=\"mqtt message refused\" topic=%s bytes=%zu "
		         "reason=\"%s\"",
		    topic, len, err);
		return;
	}
	if (rep.mismatched + rep.rejected > 0) {
		mqtt_count(&m->mismatched, rep.mismatched);
		mqtt_count(&m->rejected, rep.rejected);
		log_warn("msg=\"mqtt events refused\" topic=%s events=%zu "
		         "refused=%zu mismatched=%zu first_index=%zu "
		         "reason=\"%s\"",
		    topic, rep.items, rep.mismatched + rep.rejected,
		    rep.mismatched, rep.first_bad, rep.reason);
		mqtt_ack_refused(m, id, m->refused, rep.refused_ids);
	}
	if (rep.valid == 0)
		return;
	/* Counted before the writer can answer; blocks while the writer's
	 * queue is full: back-pressure that slows this connection. */
	atomic_fetch_add(&m->uncommitted, (long)rep.valid);
	if (telemetry_enqueue(
	        m->telemetry, m->batch, rep.valid, TELEMETRY_MQTT) != 0) {
		atomic_fetch_sub(&m->uncommitted, (long)rep.valid);
		log_err("msg=\"mqtt events not queued\" topic=%s events=%zu",
		    topic, rep.valid);
		return;
	}
	mqtt_count(&m->events, rep.valid);
	if (atomic_load(&m->uncommitted) >= m->cfg->mqtt_max_uncommitted) {
		m->cut_short = 1;
		errno = EAGAIN;
	}
}

/*
 * A connection attempt failed (loop thread).  The first failure of an
 * outage is a warning; the next ones, until a connection is accepted, go
 * to the debug level only.
 */
static void
mqtt_attempt_failed(struct mqtt *m, const char *why)
{
	const struct ota_config *cfg = m->cfg;

	if (m->outage_logged) {
		log_debug("msg=\"mqtt cannot connect\" host=%s port=%d "
		          "error=\"%s\"",
		    cfg->mqtt_host, cfg->mqtt_port, why);
		return;
	}
	log_warn("msg=\"mqtt cannot connect, retrying with backoff\" "
	         "host=%s port=%d error=\"%s\" max_backoff_sec=%d",
	    cfg->mqtt_host, cfg->mqtt_port, why, cfg->mqtt_reconnect_max_sec);
	m->outage_logged = 1;
}

/* CONNACK (loop thread): subscribe on every connection, since a broker
 * that lost otad's session (or never had one) delivers nothing without. */
static void
mqtt_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags)
{
	struct mqtt *m = obj;
	const struct ota_config *cfg = m->cfg;
	int src;

	if (rc != 0) {
		m->refusal = mosquitto_connack_string(rc);
		return;
	}
	m->session_up = 1;
	if (m->ever_up)
		mqtt_count(&m->reconnects, 1);
	m->ever_up = 1;
	m->outage_logged = 0;
	atomic_store(&m->connected, 1);
	log_info("msg=\"mqtt connected\" host=%s port=%d client_id=%s "
	         "session_present=%d",
	    cfg->mqtt_host, cfg->mqtt_port, cfg->mqtt_client_id, flags & 1);
	src = mosquitto_subscribe(mosq, NULL, m->sub_topic, 1);
	if (src != MOSQ_ERR_SUCCESS)
		log_err("msg=\"mqtt cannot subscribe\" topic=%s error=\"%s\"",
		    m->sub_topic, mosquitto_strerror(src));
}

/* SUBACK (loop thread): a broker's ACL may refuse or downgrade. */
static void
mqtt_on_subscribe(
    struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
	struct mqtt *m = obj;

	(void)mosq;
	(void)mid;
	if (n < 1 || granted[0] < 0 || granted[0] > 2)
		log_err(
		    "msg=\"mqtt subscription refused by the broker (ACL?)\" "
		    "topic=%s",
		    m->sub_topic);
	else if (granted[0] < 1)
		log_warn("msg=\"mqtt subscription granted QoS 0 only: events "
		         "sent while otad is away are lost\" topic=%s",
		    m->sub_topic);
	else
		log_info("msg=\"mqtt subscribed\" topic=%s qos=%d",
		    m->sub_topic, granted[0]);
}

/* The connection ended (loop thread): lost, or closed by the broker. */
static void
mqtt_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	struct mqtt *m = obj;

	(void)mosq;
	if (atomic_exchange(&m->connected, 0))
		log_warn("msg=\"mqtt connection lost\" error=\"%s\"",
		    rc == 0 ? "closed" : mosquitto_strerror(rc));
}

/* libmosquitto's own errors and warnings (TLS failures, mostly). */
static void
mqtt_on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	char text[LOG_VALUE_MAX];

	(void)mosq;
	(void)obj;
	if (level != MOSQ_LOG_ERR && level != MOSQ_LOG_WARNING)
		return;
	log_warn(
	    "msg=\"libmosquitto\" text=%s", log_value(text, sizeof(text), str));
}

/* Waits up to ms for mqtt_stop; returns 1 when stopping. */
static int
mqtt_sleep(struct mqtt *m, int ms)
{
	struct pollfd p = {.fd = m->wake[0], .events = POLLIN};
	int64_t end = timeutil_mono_ms() + ms, left;

	while (!atomic_load(&m->stopping) &&
	       (left = end - timeutil_mono_ms()) > 0) {
		(void)poll(&p, 1, (int)left);
		mqtt_wake_drain(m);
		mqtt_out_flush(m); /* not connected: dropped, counted */
	}
	return atomic_load(&m->stopping);
}

/*
 * When stopping (loop thread, connected): reads nothing more, waits until
 * the events already received are committed and their acks written, at
 * most MQTT_DRAIN_MS, so that a graceful stop leaves devices nothing to
 * send again.
 */
static void
mqtt_drain(struct mqtt *m)
{
	int64_t end = timeutil_mono_ms() + MQTT_DRAIN_MS;
	struct pollfd p[2];
	int fd;

	while (timeutil_mono_ms() < end) {
		mqtt_wake_drain(m);
		mqtt_out_flush(m);
		if ((fd = mosquitto_socket(m->mosq)) < 0)
			return;
		if (atomic_load(&m->uncommitted) <= 0 &&
		    !mosquitto_want_write(m->mosq))
			return;
		p[0].fd = fd;
		p[0].events = mosquitto_want_write(m->mosq) ? POLLOUT : 0;
		p[0].revents = 0;
		p[1].fd = m->wake[0];
		p[1].events = POLLIN;
		p[1].revents = 0;
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			return;
		if ((p[0].revents & POLLOUT) &&
		    mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
			return;
		if (p[0].revents & (POLLERR | POLLHUP))
			return;
	}
	log_warn("msg=\"mqtt stopping before every ack was sent: their "
	         "devices send those events again\" uncommitted=%ld",
	    (long)atomic_load(&m->uncommitted));
}

/* Sends DISCONNECT, when connected, so that the broker keeps the session
 * at once rather than after a keepalive timeout; bounded. */
static void
mqtt_say_goodbye(struct mqtt *m)
{
	int64_t end = timeutil_mono_ms() + MQTT_FLUSH_MS;
	struct pollfd p;

	if (!atomic_load(&m->connected))
		return;
	mqtt_drain(m);
	if (!atomic_exchange(&m->connected, 0))
		return;
	if (mosquitto_disconnect(m->mosq) == MOSQ_ERR_SUCCESS) {
		while (mosquitto_socket(m->mosq) >= 0 &&
		       mosquitto_want_write(m->mosq) &&
		       timeutil_mono_ms() < end) {
			p.fd = mosquitto_socket(m->mosq);
			p.events = POLLOUT;
			p.revents = 0;
			if (poll(&p, 1, 100) > 0 &&
			    mosquitto_loop_write(m->mosq, 1) !=
			        MOSQ_ERR_SUCCESS)
				break;
		}
	}
	log_info("msg=\"mqtt disconnected\"");
}

/* Text for a libmosquitto return code, errno's when it says so. */
static const char *
mqtt_errstr(int rc, char *buf, size_t len)
{
	if (rc == MOSQ_ERR_ERRNO)
		return strerror_r(errno, buf, len);
	return mosquitto_strerror(rc);
}

/*
 * Whether the loop may read from the broker now (loop thread): not while
 * mqtt_max_uncommitted received events wait for their commit, so that a
 * crash drops at most those (the broker keeps what otad has not read, and
 * redelivers it).  Counts each pause.
 */
static int
mqtt_may_read(struct mqtt *m)
{
	int was = m->paused;

	m->paused =
	    atomic_load(&m->uncommitted) >= m->cfg->mqtt_max_uncommitted;
	if (m->paused && !was)
		mqtt_count(&m->pauses, 1);
	return !m->paused;
}

/*
 * Runs one connection until it ends or otad stops.  An attempt that has
 * not got its CONNACK within the keepalive, or whose socket reports an
 * error before, is given up (the next attempt closes the socket).  The
 * socket is read only while mqtt_may_read; the wake pipe says that a
 * commit ended or that acks or hints wait.
 */
static void
mqtt_serve(struct mqtt *m)
{
	int64_t deadline =
	    timeutil_mono_ms() + (int64_t)m->cfg->mqtt_keepalive_sec * 1000;
	struct pollfd p[2];
	char buf[128];
	int rc, fd, reading, woken = 1;

	while (!atomic_load(&m->stopping)) {
		if (woken)
			mqtt_wake_drain(m);
		mqtt_out_flush(m);
		if ((fd = mosquitto_socket(m->mosq)) < 0)
			return;
		reading = mqtt_may_read(m);
		p[0].fd = fd;
		p[0].events = (reading ? POLLIN : 0) |
		              (mosquitto_want_write(m->mosq) ? POLLOUT : 0);
		p[0].revents = 0;
		p[1].fd = m->wake[0];
		p[1].events = POLLIN;
		p[1].revents = 0;
		/* A read cut short may have left messages in libmosquitto's
		 * TLS buffer, which poll does not see: read again at once. */
		if (poll(p, 2, reading && m->cut_short ? 0 : MQTT_POLL_MS) <
		        0 &&
		    errno != EINTR) {
			log_err("msg=\"mqtt poll failed\" error=\"%s\"",
			    strerror_r(errno, buf, sizeof(buf)));
			return;
		}
		woken = p[1].revents != 0;
		rc = MOSQ_ERR_SUCCESS;
		/* Reading also drives a TLS handshake, whichever way the
		 * socket became ready; an error or hang-up is read even
		 * during a pause, to learn of it. */
		if ((reading && (p[0].revents != 0 || m->cut_short)) ||
		    (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
			m->cut_short = 0;
			rc = mosquitto_loop_read(m->mosq, 1);
		}
		if (rc == MOSQ_ERR_SUCCESS && (p[0].revents & POLLOUT) &&
		    mosquitto_socket(m->mosq) >= 0)
			rc = mosquitto_loop_write(m->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) >= 0)
			rc = mosquitto_loop_misc(m->mosq);
		if (rc != MOSQ_ERR_SUCCESS) {
			if (!m->session_up)
				mqtt_attempt_failed(
				    m, m->refusal != NULL
				           ? m->refusal
				           : mqtt_errstr(rc, buf, sizeof(buf)));
			return;
		}
		if (!m->session_up && (p[0].revents & (POLLERR | POLLHUP))) {
			mqtt_attempt_failed(m, "connection refused or reset");
			return;
		}
		if (!m->session_up && timeutil_mono_ms() >= deadline) {
			mqtt_attempt_failed(
			    m, "no CONNACK within the keepalive");
			return;
		}
	}
	mqtt_say_goodbye(m);
}

/*
 * The connection thread: connect, serve, and after a failure wait 1 s,
 * then twice as long after each failed attempt, up to
 * mqtt_reconnect_max_sec; once a connection has been accepted the next
 * wait is 1 s again.  The connect itself blocks (name lookup and TCP, as
 * in libmosquitto's own reconnect); TLS and MQTT run over poll.
 */
static void *
mqtt_thread(void *arg)
{
	struct mqtt *m = arg;
	const struct ota_config *cfg = m->cfg;
	char buf[128];
	int delay = 0, rc;

	while (!atomic_load(&m->stopping)) {
		m->session_up = 0;
		m->refusal = NULL;
		rc = mosquitto_connect(m->mosq, cfg->mqtt_host, cfg->mqtt_port,
		    cfg->mqtt_keepalive_sec);
		if (rc == MOSQ_ERR_SUCCESS)
			mqtt_serve(m);
		else
			mqtt_attempt_failed(
			    m, mqtt_errstr(rc, buf, sizeof(buf)));
		if (m->session_up)
			delay = 1;
		else if (delay == 0)
			delay = 1;
		else if (delay < cfg->mqtt_reconnect_max_sec)
			delay = delay * 2 < cfg->mqtt_reconnect_max_sec
			            ? delay * 2
			            : cfg->mqtt_reconnect_max_sec;
		if (!atomic_load(&m->stopping))
			log_debug("msg=\"mqtt reconnecting\" in_sec=%d", delay);
		mqtt_sleep(m, delay * 1000);
	}
	return NULL;
}

/* OpenSSL asks this for an encrypted key's passphrase: there is none
 * (never prompt on a daemon's terminal). */
static int
mqtt_no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)userdata;
	return 0;
}

/* Credentials and TLS of cfg onto m->mosq.  Returns 0 or OTA_ECONFIG. */
static int
mqtt_configure(struct mqtt *m, const struct ota_config *cfg)
{
	char *pw = NULL;
	int rc;

	if (cfg->mqtt_username[0] != '\0') {
		if (cfg->mqtt_password_file[0] != '\0' &&
		    (pw = crypto_secret_read(cfg->mqtt_password_file,
		         "mqtt_password_file", MQTT_PASSWORD_MAX)) == NULL)
			return OTA_ECONFIG;
		rc = mosquitto_username_pw_set(m->mosq, cfg->mqtt_username, pw);
		sodium_free(pw);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_err("msg=\"mqtt credentials refused\" error=\"%s\"",
			    mosquitto_strerror(rc));
			return OTA_ECONFIG;
		}
	}
	if (cfg->mqtt_tls_ca_file[0] == '\0')
		return 0;
	rc = mosquitto_tls_set(m->mosq, cfg->mqtt_tls_ca_file, NULL,
	    cfg->mqtt_tls_cert_file[0] != '\0' ? cfg->mqtt_tls_cert_file : NULL,
	    cfg->mqtt_tls_key_file[0] != '\0' ? cfg->mqtt_tls_key_file : NULL,
	    mqtt_no_passphrase);
	if (rc == MOSQ_ERR_SUCCESS)
		/* 1 = SSL_VERIFY_PEER; the host name is checked too. */
		rc = mosquitto_tls_opts_set(m->mosq, 1, NULL, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_err("msg=\"mqtt TLS setup failed (unreadable CA, "
		        "certificate or key file?)\" ca=%s error=\"%s\"",
		    cfg->mqtt_tls_ca_file, mosquitto_strerror(rc));
		return OTA_ECONFIG;
	}
	return 0;
}

/* Frees what mqtt_start built; m's thread must not run. */
static void
mqtt_free(struct mqtt *m)
{
	if (m->mosq != NULL)
		mosquitto_destroy(m->mosq);
	mosquitto_lib_cleanup();
	if (m->wake[0] >= 0)
		close(m->wake[0]);
	if (m->wake[1] >= 0)
		close(m->wake[1]);
	for (struct mqtt_out *o = m->out_head, *next; o != NULL; o = next) {
		next = o->next;
		free(o);
	}
	pthread_mutex_destroy(&m->out_mu);
	free(m->batch);
	free(m->refused);
	free(m);
}

struct mqtt *
mqtt_start(const struct ota_config *cfg, struct telemetry *telemetry)
{
	struct mqtt *m;
	int rc;

	if (cfg->mqtt_host[0] == '\0' || telemetry == NULL) {
		log_err(
		    "msg=\"mqtt_start: no mqtt_host or no telemetry writer\"");
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->cfg = cfg;
	m->telemetry = telemetry;
	m->wake[0] = m->wake[1] = -1;
	pthread_mutex_init(&m->out_mu, NULL);
	m->max_bytes = (size_t)cfg->max_json_bytes;
	snprintf(m->sub_topic, sizeof(m->sub_topic), "%s/devices/+/events",
	    cfg->mqtt_prefix);
	mosquitto_lib_init();
	m->batch = calloc(TELEMETRY_BATCH_MAX, sizeof(*m->batch));
	m->refused = calloc(TELEMETRY_BATCH_MAX, sizeof(*m->refused));
	if (m->batch == NULL || m->refused == NULL ||
	    pipe2(m->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_err("msg=\"mqtt_start: out of memory or descriptors\"");
		goto fail;
	}
	/* clean_session=false: the broker keeps the subscription and queues
	 * QoS 1 messages for this client id while otad is away. */
	m->mosq = mosquitto_new(cfg->mqtt_client_id, false, m);
	if (m->mosq == NULL) {
		log_err("msg=\"mqtt: cannot create the client\"");
		goto fail;
	}
	/* Other threads may call into the client; this module's thread runs
	 * its loop. */
	mosquitto_threaded_set(m->mosq, true);
	mosquitto_connect_with_flags_callback_set(m->mosq, mqtt_on_connect);
	mosquitto_disconnect_callback_set(m->mosq, mqtt_on_disconnect);
	mosquitto_subscribe_callback_set(m->mosq, mqtt_on_subscribe);
	mosquitto_message_callback_set(m->mosq, mqtt_on_message);
	mosquitto_log_callback_set(m->mosq, mqtt_on_log);
	if (mqtt_configure(m, cfg) != 0)
		goto fail;
	telemetry_set_done_hook(telemetry, mqtt_on_done, m);
	if ((rc = pthread_create(&m->thread, NULL, mqtt_thread, m)) != 0) {
		telemetry_set_done_hook(telemetry, NULL, NULL);
		log_err("msg=\"mqtt: cannot start its thread\" error=%d", rc);
		goto fail;
	}
	m->have_thread = 1;
	log_info("msg=\"mqtt started\" host=%s port=%d tls=%d client_id=%s "
	         "topic=%s max_uncommitted=%d",
	    cfg->mqtt_host, cfg->mqtt_port, cfg->mqtt_tls_ca_file[0] != '\0',
	    cfg->mqtt_client_id, m->sub_topic, cfg->mqtt_max_uncommitted);
	return m;
fail:
	mqtt_free(m);
	return NULL;
}

void
mqtt_stop(struct mqtt *m)
{
	struct mqtt_stats st;

	if (m == NULL)
		return;
	atomic_store(&m->stopping, 1);
	mqtt_wake(m);
	if (m->have_thread)
		pthread_join(m->thread, NULL);
	/* The writer may still commit events of this client: no ack for
	 * them any more (their devices send them again). */
	telemetry_set_done_hook(m->telemetry, NULL, NULL);
	mqtt_stats_get(m, &st);
	log_info("msg=\"mqtt stopped\" messages=%llu events=%llu "
	         "malformed=%llu mismatched=%llu rejected=%llu "
	         "reconnects=%llu acks=%llu hints=%llu unsent=%llu "
	         "pauses=%llu uncommitted=%llu",
	    (unsigned long long)st.messages, (unsigned long long)st.events,
	    (unsigned long long)st.malformed, (unsigned long long)st.mismatched,
	    (unsigned long long)st.rejected, (unsigned long long)st.reconnects,
	    (unsigned long long)st.acks, (unsigned long long)st.hints,
	    (unsigned long long)st.unsent, (unsigned long long)st.pauses,
	    (unsigned long long)st.uncommitted);
	mqtt_free(m);
}

int
mqtt_connected(const struct mqtt *m)
{
	return m != NULL && atomic_load(&m->connected);
}

void
mqtt_stats_get(const struct mqtt *m, struct mqtt_stats *out)
{
	long n;

	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	out->messages = mqtt_read_count(&m->messages);
	out->events = mqtt_read_count(&m->events);
	out->malformed = mqtt_read_count(&m->malformed);
	out->mismatched = mqtt_read_count(&m->mismatched);
	out->rejected = mqtt_read_count(&m->rejected);
	out->reconnects = mqtt_read_count(&m->reconnects);
	out->acks = mqtt_read_count(&m->acks);
	out->hints = mqtt_read_count(&m->hints);
	out->unsent = mqtt_read_count(&m->unsent);
	out->pauses = mqtt_read_count(&m->pauses);
	n = atomic_load(&m->uncommitted);
	out->uncommitted = n > 0 ? (uint64_t)n : 0;
}
