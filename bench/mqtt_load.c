/*
 * mqtt_load: the MQTT load client of bench/events.sh.  Publishes --count
 * update events with QoS 1 to {prefix}/devices/<id>/events over
 * --connections broker connections, at most --window messages awaiting
 * their PUBACK at any time, and waits for every PUBACK.  It only measures
 * the publishing side: whether otad stored the events is for the script.
 * Standalone (libmosquitto and libc only); never prints a secret.
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
#define LOAD_EVENT_MAX 512  /* bytes of one event object, at most */
#define LOAD_TIMEOUT_SEC 30 /* without any PUBACK: give up */

static const char usage_text[] =
    "usage: mqtt_load --port P --devices FILE --rollout ID --version V\n"
    "    --count N [--host 127.0.0.1] [--prefix otad] [--per-message K]\n"
    "    [--connections C] [--window W] [--tag TAG]\n"
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
    "Exit status 0 when every message was acknowledged, 1 otherwise.\n";

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

int
main(int argc, char **argv)
{
	struct load_opts o;
	struct load_state st;
	struct mosquitto *conns[LOAD_CONNECTIONS_MAX] = {NULL};
	char **devices;
	size_t ndev, cap;
	char *payload = NULL;
	char topic[256 + LOAD_ID_MAX];
	char ts[32];
	time_t now;
	struct tm tm;
	long messages, m, k = 0;
	uint64_t bytes = 0;
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
	mosquitto_lib_init();
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
	for (m = 0; m < messages; m++) {
		const char *dev = devices[(size_t)m % ndev];
		/* The device's j-th message so far holds its events j*K.. */
		long j = (long)((size_t)m / ndev) * o.per_message;
		size_t len = 0;
		int e, mid;

		if (o.per_message > 1)
			payload[len++] = '[';
		for (e = 0; e < o.per_message && k < o.count; e++, k++) {
			if (e > 0)
				payload[len++] = ',';
			rc = load_format_event(
			    payload + len, cap - len, &o, dev, k, j + e, ts);
			if (rc < 0 || rc > LOAD_EVENT_MAX)
				load_die("an event is too long");
			len += (size_t)rc;
		}
		if (o.per_message > 1)
			payload[len++] = ']';
		snprintf(topic, sizeof(topic), "%s/devices/%s/events", o.prefix,
		    dev);

		pthread_mutex_lock(&st.lock);
		rc = load_wait(&st, load_window_open, o.window);
		if (rc == 0)
			st.inflight++;
		pthread_mutex_unlock(&st.lock);
		if (rc != 0)
			goto out;
		rc = mosquitto_publish(conns[m % o.connections], &mid, topic,
		    (int)len, payload, 1, false);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mqtt_load: publish: %s\n",
			    mosquitto_strerror(rc));
			goto out;
		}
		bytes += len;
	}
	pthread_mutex_lock(&st.lock);
	rc = load_wait(&st, load_all_acked, messages);
	pthread_mutex_unlock(&st.lock);
	end_ns = load_now_ns(CLOCK_REALTIME);
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
	mosquitto_lib_cleanup();
	printf("BENCH events=%ld messages=%ld acked=%ld bytes=%" PRIu64
	       " start_ns=%" PRId64 " end_ns=%" PRId64 "\n",
	    k, messages, st.acked, bytes, start_ns, end_ns);
	for (size_t d = 0; d < ndev; d++)
		free(devices[d]);
	free(devices);
	free(payload);
	pthread_cond_destroy(&st.cond);
	pthread_mutex_destroy(&st.lock);
	return status;
}
