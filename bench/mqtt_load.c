/*
 * mqtt_load: the MQTT load client of bench/events.sh.  Publishes --count
 * update events with QoS 1 to {prefix}/devices/<id>/events over
 * --connections broker connections, at most --window messages awaiting
 * their PUBACK at any time, and waits for every PUBACK.  Without --acks it
 * only measures the publishing side: whether otad stored the events is
 * for the script.  With --acks it behaves as devices should: it also
 * subscribes to {prefix}/devices/+/acks and publishes again every message
 * holding an event that otad has not acknowledged after --resend-ms, until
 * every event is acknowledged.  Standalone (libmosquitto and libc only);
 * never prints a secret.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#define LOAD_CONNECTIONS_MAX 64
#define LOAD_WINDOW_MAX 65535
#define LOAD_PER_MESSAGE_MAX 1000
#define LOAD_ID_MAX 128
#define LOAD_EVENT_MAX 512       /* bytes of one event object, at most */
#define LOAD_TIMEOUT_SEC 30      /* without any PUBACK: give up */
#define LOAD_ACK_TIMEOUT_SEC 120 /* --acks: without a new ack, give up */

static const char usage_text[] =
    "usage: mqtt_load --port P --devices FILE --rollout ID --version V\n"
    "    --count N [--host 127.0.0.1] [--prefix otad] [--per-message K]\n"
    "    [--connections C] [--window W] [--tag TAG]\n"
    "    [--acks 1 [--resend-ms MS]]\n"
    "\n"
    "Publishes N update events (QoS 1) for the devices listed in FILE\n"
    "(first word of each line), round-robin: message m goes to device\n"
    "m mod (number of devices) and holds K consecutive events, as one\n"
    "JSON object when K is 1, else as an array.  event_id is TAG-<event\n"
    "number>; the first event of a device is \"started\", the others\n"
    "\"progress\".  At most W messages await their PUBACK at a time,\n"
    "spread over C connections.  Prints one line:\n"
    "  BENCH events=N messages=M acked=M bytes=B start_ns=T end_ns=T\n"
    "(CLOCK_REALTIME: from the first publish to the last PUBACK).\n"
    "Exit status 0 when every message was acknowledged, 1 otherwise.\n"
    "\n"
    "With --acks 1, an event counts as delivered only once otad's ack\n"
    "for it arrives on {prefix}/devices/<id>/acks; a message with an\n"
    "event unacknowledged MS milliseconds (default 2000) after it was\n"
    "published is published again, until every event is acknowledged\n"
    "(or 120 s pass without a new ack).  The line then ends with\n"
    "  confirmed=N resent=R stored=S duplicate=D rejected=X end_ns=T\n"
    "(each event's first ack; end_ns: the last first ack).\n";

#define LOAD_ALNUM                                                             \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
static const char load_id_chars[] = LOAD_ALNUM "._:-";
static const char load_version_chars[] = LOAD_ALNUM ".+-";

struct load_opts {
	const char *host;
	int port;
	const char *devices_path;
	const char *prefix;
	long long rollout;
	const char *version;
	long count;
	int per_message;
	int connections;
	int window;
	const char *tag;
	int acks;      /* wait for otad's acks, resend what has none */
	int resend_ms; /* after this long without an ack */
};

/* Shared by the publishing thread and libmosquitto's network threads. */
struct load_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long inflight; /* published, PUBACK not yet seen */
	long acked;    /* PUBACKs seen */
	int connected; /* connections whose CONNACK accepted us */
	int failed;    /* a connection was refused or lost */
	char why[160];
	/* --acks: the events' first ack, by event number. */
	const char *tag;
	long count;
	unsigned char *ack; /* 0: none yet, else 1 + result (0..2) */
	long confirmed;     /* events with an ack */
	long acks_seen;     /* acks of our events, first or not */
	long by_result[3];  /* stored, duplicate, rejected */
	int subscribed;     /* the acks subscription was granted */
	int64_t last_ack_ns;
};

static void
load_die(const char *fmt, ...)
{
	va_list ap;

	fputs("mqtt_load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t
load_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parses a decimal in [min, max] or dies naming the option. */
static long long
load_number(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		load_die(
		    "%s: not an integer in %lld..%lld: '%s'", opt, min, max, s);
	return v;
}

static void
load_parse_args(int argc, char **argv, struct load_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->prefix = "otad";
	o->per_message = 1;
	o->connections = 4;
	o->window = 1000;
	o->tag = "mqtt";
	o->resend_ms = 2000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "mqtt_load: %s needs a value\n%s", a,
			    usage_text);
			exit(2);
		}
		v = argv[++i];
		if (strcmp(a, "--host") == 0)
			o->host = v;
		else if (strcmp(a, "--port") == 0)
			o->port = (int)load_number(a, v, 1, 65535);
		else if (strcmp(a, "--devices") == 0)
			o->devices_path = v;
		else if (strcmp(a, "--prefix") == 0)
			o->prefix = v;
		else if (strcmp(a, "--rollout") == 0)
			o->rollout = load_number(a, v, 1, LLONG_MAX);
		else if (strcmp(a, "--version") == 0)
			o->version = v;
		else if (strcmp(a, "--count") == 0)
			o->count = (long)load_number(a, v, 1, 100000000);
		else if (strcmp(a, "--per-message") == 0)
			o->per_message =
			    (int)load_number(a, v, 1, LOAD_PER_MESSAGE_MAX);
		else if (strcmp(a, "--connections") == 0)
			o->connections =
			    (int)load_number(a, v, 1, LOAD_CONNECTIONS_MAX);
		else if (strcmp(a, "--window") == 0)
			o->window = (int)load_number(a, v, 1, LOAD_WINDOW_MAX);
		else if (strcmp(a, "--tag") == 0)
			o->tag = v;
		else if (strcmp(a, "--acks") == 0)
			o->acks = (int)load_number(a, v, 0, 1);
		else if (strcmp(a, "--resend-ms") == 0)
			o->resend_ms = (int)load_number(a, v, 10, 600000);
		else {
			fprintf(stderr, "mqtt_load: unknown option %s\n%s", a,
			    usage_text);
			exit(2);
		}
	}
	if (o->port == 0 || o->devices_path == NULL || o->rollout == 0 ||
	    o->version == NULL || o->count == 0) {
		fputs(usage_text, stderr);
		exit(2);
	}
	/* Event ids are [A-Za-z0-9._:-], at most 64: keep room for the
	 * number; versions and prefixes go into JSON and topics unescaped. */
	if (strlen(o->tag) == 0 || strlen(o->tag) > 32 ||
	    strspn(o->tag, load_id_chars) != strlen(o->tag))
		load_die("--tag: 1..32 of [A-Za-z0-9._:-]");
	if (strlen(o->version) > 64 ||
	    strspn(o->version, load_version_chars) != strlen(o->version))
		load_die("--version: not a plain SemVer string");
	if (strlen(o->prefix) == 0 || strlen(o->prefix) > 64 ||
	    strpbrk(o->prefix, "+#") != NULL)
		load_die("--prefix: 1..64 characters without + or #");
}

/*
 * Reads the first word of each line of path: the device ids.  Returns a
 * new array of *out_n new strings; the caller frees both.
 */
static char **
load_read_devices(const char *path, size_t *out_n)
{
	FILE *f;
	char line[4096];
	char **ids = NULL;
	size_t n = 0, cap = 0;

	f = fopen(path, "r");
	if (f == NULL)
		load_die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, " \t\r\n");

		if (len == 0)
			continue;
		if (len > LOAD_ID_MAX)
			load_die("%s: a device id longer than %d", path,
			    LOAD_ID_MAX);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = realloc(ids, cap * sizeof(*ids));
			if (ids == NULL)
				load_die("out of memory");
		}
		ids[n] = strndup(line, len);
		if (ids[n] == NULL)
			load_die("out of memory");
		n++;
	}
	if (ferror(f))
		load_die("%s: read error", path);
	fclose(f);
	if (n == 0)
		load_die("%s: no devices", path);
	*out_n = n;
	return ids;
}

static void
load_fail(struct load_state *st, const char *why)
{
	pthread_mutex_lock(&st->lock);
	if (!st->failed)
		snprintf(st->why, sizeof(st->why), "%s", why);
	st->failed = 1;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* libmosquitto callbacks: on each connection's network thread. */
static void
load_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct load_state *st = obj;
	char why[160];

	(void)mosq;
	if (rc != 0) {
		snprintf(why, sizeof(why), "connection refused: %s",
		    mosquitto_connack_string(rc));
		load_fail(st, why);
		return;
	}
	pthread_mutex_lock(&st->lock);
	st->connected++;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void
load_on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	char why[160];

	(void)mosq;
	/* rc 0 is our own mosquitto_disconnect at the end. */
	if (rc != 0) {
		snprintf(why, sizeof(why), "connection lost: %s",
		    mosquitto_strerror(rc));
		load_fail(obj, why);
	}
}

static void
load_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct load_state *st = obj;

	(void)mosq;
	(void)mid;
	pthread_mutex_lock(&st->lock);
	st->inflight--;
	st->acked++;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/*
 * --acks: one message of otad's on {prefix}/devices/<id>/acks,
 * {"acks":[{"event_id":"TAG-k","result":"stored"|"duplicate"|"rejected",
 * ...}, ...]}.  Records each event's first ack; the event ids are
 * [A-Za-z0-9._:-], so a scan for the two keys is enough here.
 */
static void
load_on_ack(
    struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	static const char *const results[] = {
	    "stored", "duplicate", "rejected"};
	struct load_state *st = obj;
	size_t taglen = strlen(st->tag);
	const char *p, *end, *r;
	char *text, *num_end;
	long k;
	int i;

	(void)mosq;
	if (msg->payloadlen <= 0 ||
	    (text = strndup(msg->payload, (size_t)msg->payloadlen)) == NULL)
		return;
	pthread_mutex_lock(&st->lock);
	for (p = text; (p = strstr(p, "\"event_id\":\"")) != NULL;) {
		p += strlen("\"event_id\":\"");
		if ((end = strchr(p, '"')) == NULL)
			break;
		r = strstr(end, "\"result\":\"");
		if (r == NULL)
			break;
		r += strlen("\"result\":\"");
		if ((size_t)(end - p) <= taglen + 1 ||
		    strncmp(p, st->tag, taglen) != 0 || p[taglen] != '-')
			continue;
		errno = 0;
		k = strtol(p + taglen + 1, &num_end, 10);
		if (errno != 0 || num_end != end || k < 0 || k >= st->count)
			continue;
		st->acks_seen++;
		if (st->ack[k] != 0)
			continue;
		for (i = 0; i < 3; i++)
			if (strncmp(r, results[i], strlen(results[i])) == 0 &&
			    r[strlen(results[i])] == '"')
				break;
		if (i == 3)
			continue;
		st->ack[k] = (unsigned char)(1 + i);
		st->by_result[i]++;
		st->confirmed++;
		st->last_ack_ns = load_now_ns(CLOCK_REALTIME);
	}
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	free(text);
}

static void
load_on_subscribe(
    struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
	struct load_state *st = obj;

	(void)mosq;
	(void)mid;
	pthread_mutex_lock(&st->lock);
	if (n >= 1 && granted[0] >= 1 && granted[0] <= 2)
		st->subscribed = 1;
	else if (!st->failed) {
		snprintf(st->why, sizeof(st->why),
		    "the acks subscription was refused");
		st->failed = 1;
	}
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/*
 * Waits (st->lock held) until pred holds, a connection failed, or
 * LOAD_TIMEOUT_SEC pass without a change of st->acked.  Returns 0 when
 * pred holds.
 */
static int
load_wait(struct load_state *st, int (*pred)(const struct load_state *, long),
    long arg)
{
	long last = st->acked;
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += LOAD_TIMEOUT_SEC;
	while (!pred(st, arg) && !st->failed) {
		if (pthread_cond_timedwait(&st->cond, &st->lock, &dl) ==
		    ETIMEDOUT) {
			if (st->acked == last) {
				snprintf(st->why, sizeof(st->why),
				    "no PUBACK for %d s (%ld of the messages "
				    "acknowledged)",
				    LOAD_TIMEOUT_SEC, st->acked);
				st->failed = 1;
				break;
			}
			last = st->acked;
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec += LOAD_TIMEOUT_SEC;
		}
	}
	return st->failed ? -1 : 0;
}

static int
load_all_connected(const struct load_state *st, long n)
{
	return st->connected >= n;
}

static int
load_window_open(const struct load_state *st, long window)
{
	return st->inflight < window;
}

static int
load_all_acked(const struct load_state *st, long n)
{
	return st->acked >= n;
}

static int
load_is_subscribed(const struct load_state *st, long n)
{
	(void)n;
	return st->subscribed;
}

/*
 * Writes event number k (device's j-th event) into buf; returns its
 * length.
 */
static int
load_format_event(char *buf, size_t len, const struct load_opts *o,
    const char *device, long k, long j, const char *ts)
{
	if (j == 0)
		return snprintf(buf, len,
		    "{\"event_id\":\"%s-%ld\",\"device\":\"%s\","
		    "\"rollout\":%lld,\"version\":\"%s\",\"state\":\"started\","
		    "\"ts\":\"%s\"}",
		    o->tag, k, device, o->rollout, o->version, ts);
	return snprintf(buf, len,
	    "{\"event_id\":\"%s-%ld\",\"device\":\"%s\",\"rollout\":%lld,"
	    "\"version\":\"%s\",\"state\":\"progress\",\"progress\":%ld,"
	    "\"ts\":\"%s\"}",
	    o->tag, k, device, o->rollout, o->version, j % 101, ts);
}

/* What the publishing loop needs, once set up. */
struct load_run {
	const struct load_opts *o;
	struct load_state *st;
	struct mosquitto **conns;
	char **devices;
	size_t ndev;
	char *payload;
	size_t cap;
	const char *ts;
	long messages;
	int64_t *sent_ns; /* --acks: when each message was last published */
	uint64_t bytes;
	long published;
};

/*
 * Publishes message m (events m*K .. m*K+K-1 of device m mod ndev) once
 * the window has room.  Returns 0, or -1 (reason in st->why or printed).
 */
static int
load_publish(struct load_run *run, long m)
{
	const struct load_opts *o = run->o;
	const char *dev = run->devices[(size_t)m % run->ndev];
	/* The device's j-th message so far holds its events j*K.. */
	long j = (long)((size_t)m / run->ndev) * o->per_message;
	long k = m * o->per_message;
	char topic[256 + LOAD_ID_MAX];
	size_t len = 0;
	int e, mid, rc;

	if (o->per_message > 1)
		run->payload[len++] = '[';
	for (e = 0; e < o->per_message && k < o->count; e++, k++) {
		if (e > 0)
			run->payload[len++] = ',';
		rc = load_format_event(run->payload + len, run->cap - len, o,
		    dev, k, j + e, run->ts);
		if (rc < 0 || rc > LOAD_EVENT_MAX)
			load_die("an event is too long");
		len += (size_t)rc;
	}
	if (o->per_message > 1)
		run->payload[len++] = ']';
	snprintf(topic, sizeof(topic), "%s/devices/%s/events", o->prefix, dev);

	pthread_mutex_lock(&run->st->lock);
	rc = load_wait(run->st, load_window_open, o->window);
	if (rc == 0)
		run->st->inflight++;
	pthread_mutex_unlock(&run->st->lock);
	if (rc != 0)
		return -1;
	rc = mosquitto_publish(run->conns[run->published % o->connections],
	    &mid, topic, (int)len, run->payload, 1, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(
		    stderr, "mqtt_load: publish: %s\n", mosquitto_strerror(rc));
		return -1;
	}
	if (run->sent_ns != NULL)
		run->sent_ns[m] = load_now_ns(CLOCK_MONOTONIC);
	run->bytes += len;
	run->published++;
	return 0;
}

/* 1 when an event of message m has no ack yet (st->lock held). */
static int
load_message_open(const struct load_run *run, long m)
{
	long k = m * run->o->per_message;

	for (int e = 0; e < run->o->per_message && k < run->o->count; e++, k++)
		if (run->st->ack[k] == 0)
			return 1;
	return 0;
}

/*
 * --acks: once no ack at all has come for resend_ms (otad down, or done
 * with what it had), publishes again each message with an event that has
 * no ack and was last published resend_ms ago or more, until every event
 * has one, as a device does that hears nothing back: resending whatever
 * waits as soon as anything is late would flood a broker that is only
 * slow.  Returns 0, or -1 after LOAD_ACK_TIMEOUT_SEC without a new ack.
 */
static int
load_resend(struct load_run *run, long *out_resent)
{
	struct load_state *st = run->st;
	int64_t wait_ns = (int64_t)run->o->resend_ms * 1000000;
	int64_t idle_since = load_now_ns(CLOCK_MONOTONIC), now;
	int64_t quiet_since = idle_since;
	long last = -1, last_seen = -1;
	struct timespec dl;

	pthread_mutex_lock(&st->lock);
	while (st->confirmed < run->o->count && !st->failed) {
		if (st->confirmed != last) {
			last = st->confirmed;
			idle_since = load_now_ns(CLOCK_MONOTONIC);
		}
		if (st->acks_seen != last_seen) {
			last_seen = st->acks_seen;
			quiet_since = load_now_ns(CLOCK_MONOTONIC);
		}
		now = load_now_ns(CLOCK_MONOTONIC);
		if (now - idle_since >
		    (int64_t)LOAD_ACK_TIMEOUT_SEC * 1000000000) {
			snprintf(st->why, sizeof(st->why),
			    "no new ack for %d s (%ld of %ld events "
			    "acknowledged)",
			    LOAD_ACK_TIMEOUT_SEC, st->confirmed, run->o->count);
			st->failed = 1;
			break;
		}
		for (long m = 0;
		     now - quiet_since >= wait_ns && m < run->messages; m++) {
			if (run->sent_ns[m] + wait_ns > now ||
			    !load_message_open(run, m))
				continue;
			pthread_mutex_unlock(&st->lock);
			if (load_publish(run, m) != 0)
				return -1;
			(*out_resent)++;
			pthread_mutex_lock(&st->lock);
		}
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 100000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		(void)pthread_cond_timedwait(&st->cond, &st->lock, &dl);
	}
	pthread_mutex_unlock(&st->lock);
	return st->failed ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct load_opts o;
	struct load_state st;
	struct load_run run;
	struct mosquitto *conns[LOAD_CONNECTIONS_MAX] = {NULL};
	struct mosquitto *sub = NULL;
	char **devices;
	size_t ndev, cap;
	char *payload = NULL;
	char ts[32], filter[256];
	time_t now;
	struct tm tm;
	long messages, m, resent = 0;
	int64_t start_ns = 0, end_ns = 0;
	int i, rc, status = 1;

	load_parse_args(argc, argv, &o);
	devices = load_read_devices(o.devices_path, &ndev);
	messages = (o.count + o.per_message - 1) / o.per_message;
	cap = (size_t)o.per_message * (LOAD_EVENT_MAX + 1) + 2;
	payload = malloc(cap);
	if (payload == NULL)
		load_die("out of memory");
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.lock, NULL);
	pthread_cond_init(&st.cond, NULL);
	st.tag = o.tag;
	st.count = o.count;
	memset(&run, 0, sizeof(run));
	run.o = &o;
	run.st = &st;
	run.conns = conns;
	run.devices = devices;
	run.ndev = ndev;
	run.payload = payload;
	run.cap = cap;
	run.ts = ts;
	run.messages = messages;
	if (o.acks && ((st.ack = calloc((size_t)o.count, 1)) == NULL ||
	                  (run.sent_ns = calloc((size_t)messages,
	                       sizeof(*run.sent_ns))) == NULL))
		load_die("out of memory");
	mosquitto_lib_init();
	if (o.acks) {
		/* The acks subscriber, before the first publish. */
		char id[64];

		snprintf(id, sizeof(id), "otad-bench-%ld-acks", (long)getpid());
		if ((sub = mosquitto_new(id, true, &st)) == NULL)
			load_die("mosquitto_new: %s", strerror(errno));
		mosquitto_connect_callback_set(sub, load_on_connect);
		mosquitto_disconnect_callback_set(sub, load_on_disconnect);
		mosquitto_subscribe_callback_set(sub, load_on_subscribe);
		mosquitto_message_callback_set(sub, load_on_ack);
		rc = mosquitto_connect(sub, o.host, o.port, 60);
		if (rc != MOSQ_ERR_SUCCESS)
			load_die("connect to %s:%d: %s", o.host, o.port,
			    rc == MOSQ_ERR_ERRNO ? strerror(errno)
			                         : mosquitto_strerror(rc));
		snprintf(filter, sizeof(filter), "%s/devices/+/acks", o.prefix);
		if (mosquitto_subscribe(sub, NULL, filter, 1) !=
		        MOSQ_ERR_SUCCESS ||
		    mosquitto_loop_start(sub) != MOSQ_ERR_SUCCESS)
			load_die("cannot subscribe to %s", filter);
		pthread_mutex_lock(&st.lock);
		rc = load_wait(&st, load_is_subscribed, 0);
		st.connected = 0;
		pthread_mutex_unlock(&st.lock);
		if (rc != 0)
			goto out;
	}
	for (i = 0; i < o.connections; i++) {
		char id[64];

		snprintf(
		    id, sizeof(id), "otad-bench-%ld-%d", (long)getpid(), i);
		conns[i] = mosquitto_new(id, true, &st);
		if (conns[i] == NULL)
			load_die("mosquitto_new: %s", strerror(errno));
		/* Our own window bounds what is in flight, not the
		 * library's default of 20 per connection. */
		mosquitto_int_option(conns[i], MOSQ_OPT_SEND_MAXIMUM, o.window);
		mosquitto_connect_callback_set(conns[i], load_on_connect);
		mosquitto_disconnect_callback_set(conns[i], load_on_disconnect);
		mosquitto_publish_callback_set(conns[i], load_on_publish);
		rc = mosquitto_connect(conns[i], o.host, o.port, 60);
		if (rc != MOSQ_ERR_SUCCESS)
			load_die("connect to %s:%d: %s", o.host, o.port,
			    rc == MOSQ_ERR_ERRNO ? strerror(errno)
			                         : mosquitto_strerror(rc));
		rc = mosquitto_loop_start(conns[i]);
		if (rc != MOSQ_ERR_SUCCESS)
			load_die(
			    "mosquitto_loop_start: %s", mosquitto_strerror(rc));
	}
	pthread_mutex_lock(&st.lock);
	rc = load_wait(&st, load_all_connected, o.connections);
	pthread_mutex_unlock(&st.lock);
	if (rc != 0)
		goto out;

	start_ns = load_now_ns(CLOCK_REALTIME);
	for (m = 0; m < messages; m++)
		if (load_publish(&run, m) != 0)
			goto out;
	if (o.acks && load_resend(&run, &resent) != 0)
		goto out;
	pthread_mutex_lock(&st.lock);
	rc = load_wait(&st, load_all_acked, run.published);
	pthread_mutex_unlock(&st.lock);
	end_ns = o.acks ? st.last_ack_ns : load_now_ns(CLOCK_REALTIME);
	if (rc == 0)
		status = 0;
out:
	if (st.failed)
		fprintf(stderr, "mqtt_load: %s\n", st.why);
	for (i = 0; i < o.connections; i++) {
		if (conns[i] == NULL)
			continue;
		mosquitto_disconnect(conns[i]);
		mosquitto_loop_stop(conns[i], false);
		mosquitto_destroy(conns[i]);
	}
	if (sub != NULL) {
		mosquitto_disconnect(sub);
		mosquitto_loop_stop(sub, false);
		mosquitto_destroy(sub);
	}
	mosquitto_lib_cleanup();
	printf("BENCH events=%ld messages=%ld acked=%ld bytes=%" PRIu64
	       " start_ns=%" PRId64 " end_ns=%" PRId64,
	    o.count, run.published, st.acked, run.bytes, start_ns, end_ns);
	if (o.acks)
		printf(" confirmed=%ld resent=%ld stored=%ld duplicate=%ld "
		       "rejected=%ld",
		    st.confirmed, resent, st.by_result[0], st.by_result[1],
		    st.by_result[2]);
	printf("\n");
	for (size_t d = 0; d < ndev; d++)
		free(devices[d]);
	free(devices);
	free(payload);
	free(st.ack);
	free(run.sent_ns);
	pthread_cond_destroy(&st.cond);
	pthread_mutex_destroy(&st.lock);
	return status;
}
