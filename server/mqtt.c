/*
 * mqtt: the broker connection and the events it brings.  One thread runs
 * the connection with libmosquitto's non-threaded calls (loop_read, _write,
 * _misc) over poll(2) rather than mosquitto_loop_start: libmosquitto
 * 2.0.11's own thread ends for good on a TLS close or protocol error and
 * cannot watch a socket numbered above FD_SETSIZE, and otad must never
 * stop listening.  Callbacks run on that thread, parse, and hand events to
 * telemetry_enqueue; counters are atomics read by /metrics.  Nothing here
 * logs a password or a payload.
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

#include "app.h"
#include "errors.h"
#include "fsutil.h"
#include "json_util.h"
#include "log.h"
#include "store_devices.h"
#include "timeutil.h"

#define MQTT_PASSWORD_MAX 1024 /* bytes of the password file */
#define MQTT_TOPIC_MAX 256     /* prefix (64) + id (128) + the rest */
#define MQTT_LOG_TEXT_MAX 200  /* of a topic or library text in a log line */
#define MQTT_POLL_MS 1000      /* keepalive and stop checks */
#define MQTT_FLUSH_MS 1000     /* to send DISCONNECT when stopping */

struct mqtt {
	struct app *app; /* borrowed: cfg, telemetry */
	struct mosquitto *mosq;
	char sub_topic[MQTT_TOPIC_MAX]; /* {prefix}/devices/+/events */
	size_t max_bytes;               /* of a payload: max_json_bytes */
	struct telemetry_event *batch;  /* TELEMETRY_BATCH_MAX, loop thread */
	int wake[2];                    /* pipe: mqtt_stop wakes the thread */
	pthread_t thread;
	int have_thread;
	atomic_int stopping;
	atomic_int connected;
	/* Loop thread only. */
	int session_up;      /* this connection got its CONNACK */
	int ever_up;         /* some connection did */
	int outage_logged;   /* the failures since the last CONNACK were */
	const char *refusal; /* the broker's CONNACK refusal, static text */
	atomic_uint_fast64_t messages, events, malformed, mismatched, rejected,
	    reconnects;
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

/* Records why event i was refused, when it is the first one. */
static void
mqtt_report_bad(struct mqtt_payload_report *rep, size_t i, const char *why)
{
	if (rep->reason[0] != '\0')
		return;
	rep->first_bad = i;
	mqtt_log_safe(why, rep->reason, sizeof(rep->reason));
}

/* Checks one event of the message; a valid one is appended to out. */
static void
mqtt_payload_item(const json_t *item, size_t i, const char *device_id,
    int64_t now_ms, struct telemetry_event *out,
    struct mqtt_payload_report *rep)
{
	const char *dev = json_util_str(item, "device");
	char why[192];

	if (dev != NULL && strcmp(dev, device_id) != 0) {
		rep->mismatched++;
		mqtt_report_bad(
		    rep, i, "device: differs from the topic's device");
		return;
	}
	if (telemetry_event_parse(item, device_id, now_ms, &out[rep->valid],
	        why, sizeof(why)) != 0) {
		rep->rejected++;
		mqtt_report_bad(rep, i, why);
		return;
	}
	rep->valid++;
}

int
mqtt_payload_parse(const void *payload, size_t len, size_t max_bytes,
    const char *device_id, int64_t now_ms, struct telemetry_event *out,
    struct mqtt_payload_report *rep, char *err, size_t errlen)
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
		mqtt_payload_item(root, 0, device_id, now_ms, out, rep);
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
				mqtt_report_bad(rep, i, "not a JSON object");
				continue;
			}
			mqtt_payload_item(item, i, device_id, now_ms, out, rep);
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

/*
 * One PUBLISH (loop thread).  libmosquitto has already queued its PUBACK:
 * whatever happens here, the broker will not send it again, so a refused
 * message is logged and counted, never retried.
 */
static void
mqtt_on_message(
    struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;
	struct mqtt_payload_report rep;
	char id[STORE_DEVICE_ID_MAX + 1], topic[MQTT_LOG_TEXT_MAX + 1];
	char err[256];
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	(void)mosq;
	mqtt_count(&m->messages, 1);
	mqtt_log_safe(msg->topic, topic, sizeof(topic));
	if (mqtt_topic_device(
	        m->app->cfg.mqtt_prefix, msg->topic, id, sizeof(id)) != 0) {
		mqtt_count(&m->malformed, 1);
		log_warn("msg=\"mqtt message refused\" topic=\"%s\" "
		         "reason=\"not {prefix}/devices/{device id}/events\"",
		    topic);
		return;
	}
	if (mqtt_payload_parse(msg->payload, len, m->max_bytes, id,
	        timeutil_now_ms(), m->batch, &rep, err, sizeof(err)) != 0) {
		mqtt_count(&m->malformed, 1);
		log_warn("msg=\"mqtt message refused\" topic=\"%s\" bytes=%zu "
		         "reason=\"%s\"",
		    topic, len, err);
		return;
	}
	if (rep.mismatched + rep.rejected > 0) {
		mqtt_count(&m->mismatched, rep.mismatched);
		mqtt_count(&m->rejected, rep.rejected);
		log_warn("msg=\"mqtt events refused\" topic=\"%s\" events=%zu "
		         "refused=%zu mismatched=%zu first_index=%zu "
		         "reason=\"%s\"",
		    topic, rep.items, rep.mismatched + rep.rejected,
		    rep.mismatched, rep.first_bad, rep.reason);
	}
	if (rep.valid == 0)
		return;
	/* Blocks while the writer's queue is full: back-pressure that
	 * slows this connection, never a loss. */
	if (telemetry_enqueue(
	        m->app->telemetry, m->batch, rep.valid, TELEMETRY_MQTT) != 0) {
		log_err(
		    "msg=\"mqtt events not queued\" topic=\"%s\" events=%zu",
		    topic, rep.valid);
		return;
	}
	mqtt_count(&m->events, rep.valid);
}

/*
 * A connection attempt failed (loop thread).  The first failure of an
 * outage is a warning; the next ones, until a connection is accepted, go
 * to the debug level only.
 */
static void
mqtt_attempt_failed(struct mqtt *m, const char *why)
{
	const struct ota_config *cfg = &m->app->cfg;

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
	const struct ota_config *cfg = &m->app->cfg;
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
	char text[MQTT_LOG_TEXT_MAX + 1];

	(void)mosq;
	(void)obj;
	if (level != MOSQ_LOG_ERR && level != MOSQ_LOG_WARNING)
		return;
	mqtt_log_safe(str, text, sizeof(text));
	log_warn("msg=\"libmosquitto\" text=\"%s\"", text);
}

/* Waits up to ms for mqtt_stop; returns 1 when stopping. */
static int
mqtt_sleep(struct mqtt *m, int ms)
{
	struct pollfd p = {.fd = m->wake[0], .events = POLLIN};
	int64_t end = timeutil_mono_ms() + ms, left;

	while (
	    !atomic_load(&m->stopping) && (left = end - timeutil_mono_ms()) > 0)
		(void)poll(&p, 1, (int)left);
	return atomic_load(&m->stopping);
}

/* Sends DISCONNECT, when connected, so that the broker keeps the session
 * at once rather than after a keepalive timeout; bounded. */
static void
mqtt_say_goodbye(struct mqtt *m)
{
	int64_t end = timeutil_mono_ms() + MQTT_FLUSH_MS;
	struct pollfd p;

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
 * Runs one connection until it ends or otad stops.  An attempt that has
 * not got its CONNACK within the keepalive, or whose socket reports an
 * error before, is given up (the next attempt closes the socket).
 */
static void
mqtt_serve(struct mqtt *m)
{
	int64_t deadline =
	    timeutil_mono_ms() + (int64_t)m->app->cfg.mqtt_keepalive_sec * 1000;
	struct pollfd p[2];
	char buf[128];
	int rc, fd;

	while (!atomic_load(&m->stopping)) {
		if ((fd = mosquitto_socket(m->mosq)) < 0)
			return;
		p[0].fd = fd;
		p[0].events =
		    POLLIN | (mosquitto_want_write(m->mosq) ? POLLOUT : 0);
		p[0].revents = 0;
		p[1].fd = m->wake[0];
		p[1].events = POLLIN;
		p[1].revents = 0;
		if (poll(p, 2, MQTT_POLL_MS) < 0 && errno != EINTR) {
			log_err("msg=\"mqtt poll failed\" error=\"%s\"",
			    strerror_r(errno, buf, sizeof(buf)));
			return;
		}
		rc = MOSQ_ERR_SUCCESS;
		/* Reading also drives a TLS handshake, whichever way the
		 * socket became ready. */
		if (p[0].revents != 0)
			rc = mosquitto_loop_read(m->mosq, 1);
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
	const struct ota_config *cfg = &m->app->cfg;
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

/*
 * Reads the password file into a new sodium_malloc'd string (the caller
 * sodium_free's it): one line, its newline dropped, 1..MQTT_PASSWORD_MAX
 * bytes without NUL.  Returns NULL (logged, never the content).
 */
static char *
mqtt_password_read(const char *path)
{
	char *pw = NULL;
	char buf[128];
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_err("msg=\"cannot open mqtt_password_file\" path=%s "
		        "error=\"%s\"",
		    path, strerror_r(errno, buf, sizeof(buf)));
		return NULL;
	}
	if ((pw = sodium_malloc(MQTT_PASSWORD_MAX + 2)) == NULL)
		goto fail;
	if (fsutil_read_full(fd, pw, MQTT_PASSWORD_MAX + 1, &n) != 0) {
		log_err("msg=\"cannot read mqtt_password_file\" path=%s "
		        "error=\"%s\"",
		    path, strerror_r(errno, buf, sizeof(buf)));
		goto fail;
	}
	if (n > 0 && pw[n - 1] == '\n')
		n--;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	if (n == 0 || n > MQTT_PASSWORD_MAX || memchr(pw, '\0', n) != NULL ||
	    memchr(pw, '\n', n) != NULL) {
		log_err("msg=\"mqtt_password_file must hold one line of 1..%d "
		        "bytes\" path=%s",
		    MQTT_PASSWORD_MAX, path);
		goto fail;
	}
	pw[n] = '\0';
	close(fd);
	return pw;
fail:
	sodium_free(pw); /* wipes it */
	close(fd);
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
		    (pw = mqtt_password_read(cfg->mqtt_password_file)) == NULL)
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
	free(m->batch);
	free(m);
}

struct mqtt *
mqtt_start(struct app *app)
{
	const struct ota_config *cfg = &app->cfg;
	struct mqtt *m;
	int rc;

	if (cfg->mqtt_host[0] == '\0' || app->telemetry == NULL) {
		log_err(
		    "msg=\"mqtt_start: no mqtt_host or no telemetry writer\"");
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->app = app;
	m->wake[0] = m->wake[1] = -1;
	m->max_bytes = (size_t)cfg->max_json_bytes;
	snprintf(m->sub_topic, sizeof(m->sub_topic), "%s/devices/+/events",
	    cfg->mqtt_prefix);
	mosquitto_lib_init();
	m->batch = calloc(TELEMETRY_BATCH_MAX, sizeof(*m->batch));
	if (m->batch == NULL || pipe2(m->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
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
	if ((rc = pthread_create(&m->thread, NULL, mqtt_thread, m)) != 0) {
		log_err("msg=\"mqtt: cannot start its thread\" error=%d", rc);
		goto fail;
	}
	m->have_thread = 1;
	log_info("msg=\"mqtt started\" host=%s port=%d tls=%d client_id=%s "
	         "topic=%s",
	    cfg->mqtt_host, cfg->mqtt_port, cfg->mqtt_tls_ca_file[0] != '\0',
	    cfg->mqtt_client_id, m->sub_topic);
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
	if (write(m->wake[1], "x", 1) < 0 && errno != EAGAIN)
		log_warn("msg=\"mqtt: cannot wake its thread\"");
	if (m->have_thread)
		pthread_join(m->thread, NULL);
	mqtt_stats_get(m, &st);
	log_info("msg=\"mqtt stopped\" messages=%llu events=%llu "
	         "malformed=%llu mismatched=%llu rejected=%llu "
	         "reconnects=%llu",
	    (unsigned long long)st.messages, (unsigned long long)st.events,
	    (unsigned long long)st.malformed, (unsigned long long)st.mismatched,
	    (unsigned long long)st.rejected, (unsigned long long)st.reconnects);
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
	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	out->messages = mqtt_read_count(&m->messages);
	out->events = mqtt_read_count(&m->events);
	out->malformed = mqtt_read_count(&m->malformed);
	out->mismatched = mqtt_read_count(&m->mismatched);
	out->rejected = mqtt_read_count(&m->rejected);
	out->reconnects = mqtt_read_count(&m->reconnects);
}
