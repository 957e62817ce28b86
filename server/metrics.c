/*
 * metrics: fixed arrays of relaxed atomic counters, one block per
 * distinct route pattern (plus one for requests no route matched), and
 * the text rendering of a scrape.  metrics_request runs on every request
 * (the hot path): a table lookup and four atomic adds.  Nothing here
 * reads the database or another module's state; scrape-time facts come
 * in struct metrics_scrape.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "update_state.h"

/* Methods of the "method" label; anything else is "other". */
static const char *const method_names[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
#define NMETHODS (sizeof(method_names) / sizeof(method_names[0]))

/* Codes of the "code" label: what otad answers.  0 is a request that
 * ended (client gone, shutdown) before any reply; anything not listed is
 * "other", so a peculiar status cannot grow the series. */
static const unsigned codes[] = {0, 200, 201, 204, 206, 301, 302, 304, 400, 401,
    403, 404, 405, 409, 411, 413, 414, 415, 416, 422, 429, 431, 500, 501, 502,
    503, 504, 505};
#define NCODES (sizeof(codes) / sizeof(codes[0]) + 1) /* + "other" */

/* Upper bounds of the latency buckets, in ns and as their le labels. */
static const uint64_t bucket_ns[] = {500000, 1000000, 2500000, 5000000,
    10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
    2500000000, 5000000000, 10000000000};
static const char *const bucket_le[] = {"0.0005", "0.001", "0.0025", "0.005",
    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
    "+Inf"};
#define NBOUNDS (sizeof(bucket_ns) / sizeof(bucket_ns[0]))
#define NBUCKETS (NBOUNDS + 1) /* + Inf */

#define UNMATCHED_LABEL "unmatched"

/* The counters of one route pattern. */
struct metrics_slot {
	_Atomic uint64_t requests[NMETHODS][NCODES];
	_Atomic uint64_t bytes;
	_Atomic uint64_t buckets[NBUCKETS]; /* not cumulative */
	_Atomic uint64_t sum_ns;
};

struct metrics {
	size_t nroutes;
	int *route_slot; /* route index -> slot */
	size_t nslots;   /* patterns + the unmatched slot (the last) */
	const char *slot_pattern[METRICS_ROUTES_MAX + 1];
	int poll_slot; /* -1: none */
	/* DDI polls by enum ddi_poll_kind answered. */
	_Atomic uint64_t ddi_polls[DDI_POLL_CONFIRM + 1];
	char version[64];
	int64_t start_time_sec;
	struct metrics_slot *slots;
};

struct metrics *
metrics_new(const char *const *patterns, size_t n, const char *poll_pattern,
    const char *version)
{
	struct metrics *m;
	size_t i, j;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->route_slot = calloc(n + 1, sizeof(*m->route_slot))) == NULL)
		goto nomem;
	m->nroutes = n;
	m->poll_slot = -1;
	for (i = 0; i < n; i++) {
		if (patterns[i] == NULL) {
			log_err("module=metrics err=\"route %zu has no "
			        "pattern\"",
			    i);
			goto fail;
		}
		for (j = 0; j < m->nslots; j++)
			if (strcmp(m->slot_pattern[j], patterns[i]) == 0)
				break;
		if (j == m->nslots) {
			if (m->nslots == METRICS_ROUTES_MAX) {
				log_err("module=metrics err=\"more than %d "
				        "route patterns\"",
				    METRICS_ROUTES_MAX);
				goto fail;
			}
			m->slot_pattern[m->nslots++] = patterns[i];
		}
		m->route_slot[i] = (int)j;
		if (poll_pattern != NULL &&
		    strcmp(patterns[i], poll_pattern) == 0)
			m->poll_slot = (int)j;
	}
	m->slot_pattern[m->nslots++] = UNMATCHED_LABEL;
	if ((m->slots = calloc(m->nslots, sizeof(*m->slots))) == NULL)
		goto nomem;
	snprintf(m->version, sizeof(m->version), "%s",
	    version != NULL ? version : "");
	m->start_time_sec = (int64_t)time(NULL);
	return m;
nomem:
	log_err("module=metrics err=\"out of memory\"");
fail:
	metrics_free(m);
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m->route_slot);
	free(m);
}

/* The index of a method in method_names. */
static size_t
method_index(const char *method)
{
	for (size_t i = 0; i + 1 < NMETHODS; i++)
		if (strcmp(method, method_names[i]) == 0)
			return i;
	return NMETHODS - 1;
}

/* The index of a status in codes, or NCODES - 1 ("other"). */
static size_t
code_index(unsigned status)
{
	size_t lo = 0, hi = NCODES - 1;

	/* codes[] is sorted: a binary search, at most 5 steps. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (codes[mid] < status)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < NCODES - 1 && codes[lo] == status ? lo : NCODES - 1;
}

void
metrics_request(struct metrics *m, int route, const char *method,
    unsigned status, uint64_t bytes, double duration_sec)
{
	struct metrics_slot *s;
	uint64_t ns;
	size_t b;

	if (m == NULL)
		return;
	s = &m->slots[route >= 0 && (size_t)route < m->nroutes
	                  ? (size_t)m->route_slot[route]
	                  : m->nslots - 1];
	/* Rounded to the nanosecond; NaN and negatives count as 0, and
	 * anything over 10^9 s as 2^62 ns (the sum stays far from wrap). */
	if (duration_sec > 0 && duration_sec < 1e9)
		ns = (uint64_t)(duration_sec * 1e9 + 0.5);
	else
		ns = duration_sec >= 1e9 ? UINT64_C(1) << 62 : 0;
	for (b = 0; b < NBOUNDS && ns > bucket_ns[b]; b++)
		;
	atomic_fetch_add_explicit(
	    &s->requests[method_index(method != NULL ? method : "")]
	                [code_index(status)],
	    1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns, ns, memory_order_relaxed);
}

int
metrics_label_escape(const char *v, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen == 0)
		return -1;
	for (; *v != '\0'; v++) {
		const char *rep = NULL;
		size_t k;

		if (*v == '\\')
			rep = "\\\\";
		else if (*v == '"')
			rep = "\\\"";
		else if (*v == '\n')
			rep = "\\n";
		k = rep != NULL ? 2 : 1;
		if (n + k >= outlen) {
			out[0] = '\0';
			return -1;
		}
		if (rep != NULL)
			memcpy(out + n, rep, 2);
		else
			out[n] = *v;
		n += k;
	}
	out[n] = '\0';
	return (int)n;
}

/* A growing text buffer; err sticks once an allocation failed. */
struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->err = 1;
			return;
		}
		if ((size_t)w < b->cap - b->len) {
			b->len += (size_t)w;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)w;
		char *np = realloc(b->p, cap);

		if (np == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* HELP and TYPE lines of a metric. */
static void
buf_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t
load(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* The escaped route label of slot i into out (a pattern is short: one
 * that does not fit is cut, still a valid label). */
static void
slot_label(const struct metrics *m, size_t i, char *out, size_t outlen)
{
	if (metrics_label_escape(m->slot_pattern[i], out, outlen) < 0)
		snprintf(out, outlen, "invalid");
}

static void
render_requests(const struct metrics *m, struct buf *b)
{
	char route[512];

	buf_head(b, "otad_http_requests_total", "counter",
	    "HTTP requests finished, by route pattern, method and status.");
	for (size_t i = 0; i < m->nslots; i++) {
		slot_label(m, i, route, sizeof(route));
		for (size_t j = 0; j < NMETHODS; j++) {
			for (size_t k = 0; k < NCODES; k++) {
				uint64_t v = load(&m->slots[i].requests[j][k]);
				char code[16];

				if (v == 0)
					continue;
				if (k == NCODES - 1)
					snprintf(code, sizeof(code), "other");
				else
					snprintf(
					    code, sizeof(code), "%u", codes[k]);
				buf_printf(b,
				    "otad_http_requests_total{route=\"%s\","
				    "method=\"%s\",code=\"%s\"} %" PRIu64 "\n",
				    route, method_names[j], code, v);
			}
		}
	}
}

static void
render_latency(const struct metrics *m, struct buf *b)
{
	char route[512];

	buf_head(b, "otad_http_request_duration_seconds", "histogram",
	    "Time from a request's first byte to its end, by route pattern.");
	for (size_t i = 0; i < m->nslots; i++) {
		const struct metrics_slot *s = &m->slots[i];
		uint64_t cum = 0, sum_ns;

		for (size_t k = 0; k < NBUCKETS; k++)
			cum += load(&s->buckets[k]);
		if (cum == 0)
			continue;
		slot_label(m, i, route, sizeof(route));
		cum = 0;
		for (size_t k = 0; k < NBUCKETS; k++) {
			cum += load(&s->buckets[k]);
			buf_printf(b,
			    "otad_http_request_duration_seconds_bucket{route="
			    "\"%s\",le=\"%s\"} %" PRIu64 "\n",
			    route, bucket_le[k], cum);
		}
		sum_ns = load(&s->sum_ns);
		buf_printf(b,
		    "otad_http_request_duration_seconds_sum{route=\"%s\"} "
		    "%" PRIu64 ".%09" PRIu64 "\n",
		    route, sum_ns / 1000000000, sum_ns % 1000000000);
		/* From the same bucket reads: _count equals +Inf. */
		buf_printf(b,
		    "otad_http_request_duration_seconds_count{route=\"%s\"} "
		    "%" PRIu64 "\n",
		    route, cum);
	}
}

static void
render_bytes(const struct metrics *m, struct buf *b)
{
	char route[512];

	buf_head(b, "otad_http_response_bytes_total", "counter",
	    "Response body bytes sent, by route pattern.");
	for (size_t i = 0; i < m->nslots; i++) {
		uint64_t v = load(&m->slots[i].bytes), n = 0;

		for (size_t k = 0; k < NBUCKETS; k++)
			n += load(&m->slots[i].buckets[k]);
		if (n == 0)
			continue;
		slot_label(m, i, route, sizeof(route));
		buf_printf(b,
		    "otad_http_response_bytes_total{route=\"%s\"} %" PRIu64
		    "\n",
		    route, v);
	}
}

static void
render_polls(const struct metrics *m, struct buf *b)
{
	static const unsigned results[] = {200, 204, 304};
	const struct metrics_slot *ps;
	size_t get = method_index("GET");

	if (m->poll_slot < 0)
		return;
	ps = &m->slots[m->poll_slot];
	buf_head(b, "otad_manifest_polls_total", "counter",
	    "Manifest polls answered: 200 an offer, 204 nothing, 304 the "
	    "offer the device has.");
	for (size_t i = 0; i < sizeof(results) / sizeof(*results); i++)
		buf_printf(b,
		    "otad_manifest_polls_total{result=\"%u\"} %" PRIu64 "\n",
		    results[i],
		    load(&ps->requests[get][code_index(results[i])]));
}

void
metrics_ddi_poll(struct metrics *m, enum ddi_poll_kind kind)
{
	if (m == NULL || (int)kind < 0 || kind > DDI_POLL_CONFIRM)
		return;
	atomic_fetch_add_explicit(&m->ddi_polls[kind], 1, memory_order_relaxed);
}

static void
render_ddi_polls(const struct metrics *m, struct buf *b)
{
	static const char *const names[] = {
	    "none", "cancel", "deploy", "confirm"};

	buf_head(b, "otad_ddi_polls_total", "counter",
	    "hawkBit DDI polls answered: deploy a deploymentBase link, "
	    "confirm a confirmationBase link (consent asked), cancel a "
	    "cancelAction link, none neither.");
	for (int k = DDI_POLL_NONE; k <= DDI_POLL_CONFIRM; k++)
		buf_printf(b,
		    "otad_ddi_polls_total{result=\"%s\"} %" PRIu64 "\n",
		    names[k], load(&m->ddi_polls[k]));
}

/* The telemetry writer's counters. */
static void
render_telemetry(const struct metrics_telemetry *t, struct buf *b)
{
	static const enum telemetry_transport transports[] = {
	    TELEMETRY_REST, TELEMETRY_MQTT, TELEMETRY_DDI};

	buf_head(b, "otad_events_total", "counter",
	    "Update events accepted, by transport and state.");
	for (size_t i = 0; i < sizeof(transports) / sizeof(*transports); i++)
		for (int st = UPDATE_STARTED; st < UPDATE_STATE_COUNT; st++) {
			/* canceled and timed_out are otad's, never a
			 * device's event */
			if (st == UPDATE_CANCELED || st == UPDATE_TIMED_OUT)
				continue;
			buf_printf(b,
			    "otad_events_total{transport=\"%s\",state=\"%s\"} "
			    "%" PRIu64 "\n",
			    telemetry_parse_transport_name(transports[i]),
			    update_state_name((enum update_state)st),
			    t->events[transports[i]][st]);
		}
	buf_head(b, "otad_events_duplicates_total", "counter",
	    "Update events already stored (retries): not counted again.");
	buf_printf(
	    b, "otad_events_duplicates_total %" PRIu64 "\n", t->duplicates);
	buf_head(b, "otad_events_rejected_total", "counter",
	    "Update events refused, by transport and reason: unknown device "
	    "or rollout, a version that is not the rollout's, a device the "
	    "rollout does not target.");
	for (size_t i = 0; i < sizeof(transports) / sizeof(*transports); i++)
		for (int r = TELEMETRY_REJECT_NONE + 1;
		     r < TELEMETRY_REJECT_COUNT; r++)
			buf_printf(b,
			    "otad_events_rejected_total{transport=\"%s\","
			    "reason=\"%s\"} %" PRIu64 "\n",
			    telemetry_parse_transport_name(transports[i]),
			    telemetry_parse_reject_name(
			        (enum telemetry_reject)r),
			    t->rejected_by[transports[i]][r]);
	buf_head(b, "otad_events_commits_total", "counter",
	    "Transactions of the telemetry writer (each groups many "
	    "batches).");
	buf_printf(b, "otad_events_commits_total %" PRIu64 "\n", t->commits);
	buf_head(b, "otad_events_write_errors_total", "counter",
	    "Transactions of the telemetry writer that failed (nothing in "
	    "them was acknowledged).");
	buf_printf(
	    b, "otad_events_write_errors_total %" PRIu64 "\n", t->write_errors);
	buf_head(b, "otad_events_lost_total", "counter",
	    "Update events received over MQTT and acknowledged, then lost "
	    "(a failed transaction, a stop, memory): never stored.");
	buf_printf(b, "otad_events_lost_total %" PRIu64 "\n", t->lost);
	buf_head(b, "otad_rollout_auto_pauses_total", "counter",
	    "Rollouts paused by their health gate.");
	buf_printf(
	    b, "otad_rollout_auto_pauses_total %" PRIu64 "\n", t->auto_pauses);
	buf_head(b, "otad_rollout_auto_aborts_total", "counter",
	    "Rollouts aborted by their health gate (breach_action abort).");
	buf_printf(
	    b, "otad_rollout_auto_aborts_total %" PRIu64 "\n", t->auto_aborts);
	buf_head(b, "otad_updates_timed_out_total", "counter",
	    "Updates marked timed_out by the rollout timer (device_timeout).");
	buf_printf(
	    b, "otad_updates_timed_out_total %" PRIu64 "\n", t->timed_out);
	buf_head(b, "otad_update_retries_total", "counter",
	    "Polls answered with a retry of a failed or timed-out update "
	    "(max_retries).");
	buf_printf(b, "otad_update_retries_total %" PRIu64 "\n", t->retries);
}

/* The MQTT client's link and counters. */
static void
render_mqtt(const struct metrics_scrape *s, struct buf *b)
{
	const struct metrics_mqtt *q = &s->mqtt;

	buf_head(b, "otad_mqtt_connected", "gauge",
	    "1 while otad is connected to its MQTT broker (0 without one).");
	buf_printf(b, "otad_mqtt_connected %d\n", s->mqtt_connected ? 1 : 0);
	buf_head(b, "otad_mqtt_messages_total", "counter",
	    "MQTT messages received on the events topics.");
	buf_printf(b, "otad_mqtt_messages_total %" PRIu64 "\n", q->messages);
	buf_head(b, "otad_mqtt_refused_total", "counter",
	    "MQTT refusals: whole messages malformed (topic, size, JSON), "
	    "events naming another device than their topic, other invalid "
	    "events.");
	buf_printf(b,
	    "otad_mqtt_refused_total{reason=\"malformed\"} %" PRIu64 "\n"
	    "otad_mqtt_refused_total{reason=\"mismatched\"} %" PRIu64 "\n"
	    "otad_mqtt_refused_total{reason=\"invalid\"} %" PRIu64 "\n",
	    q->malformed, q->mismatched, q->rejected);
	buf_head(b, "otad_mqtt_reconnects_total", "counter",
	    "Connections to the broker accepted after the first.");
	buf_printf(
	    b, "otad_mqtt_reconnects_total %" PRIu64 "\n", q->reconnects);
	buf_head(b, "otad_mqtt_published_total", "counter",
	    "Messages otad published: acks (one per device and commit) and "
	    "update hints.");
	buf_printf(b,
	    "otad_mqtt_published_total{kind=\"ack\"} %" PRIu64 "\n"
	    "otad_mqtt_published_total{kind=\"hint\"} %" PRIu64 "\n",
	    q->acks, q->hints);
	buf_head(b, "otad_mqtt_unsent_total", "counter",
	    "Acks and hints dropped unsent (not connected, or too many "
	    "waiting): devices resend the events, or poll.");
	buf_printf(b, "otad_mqtt_unsent_total %" PRIu64 "\n", q->unsent);
	buf_head(b, "otad_mqtt_read_pauses_total", "counter",
	    "Times otad stopped reading from the broker while "
	    "mqtt_max_uncommitted events waited for their commit.");
	buf_printf(b, "otad_mqtt_read_pauses_total %" PRIu64 "\n", q->pauses);
	buf_head(b, "otad_mqtt_uncommitted", "gauge",
	    "Events received over MQTT waiting for their commit (what a "
	    "crash would drop, unacknowledged).");
	buf_printf(b, "otad_mqtt_uncommitted %" PRIu64 "\n", q->uncommitted);
}

/* The writer of poll reports: its batches and the buffer's memory. */
static void
render_poll_report_writer(const struct metrics_poll_reports *r, struct buf *b)
{
	buf_head(b, "otad_poll_report_flushes_total", "counter",
	    "Batches of poll reports written.");
	buf_printf(
	    b, "otad_poll_report_flushes_total %" PRIu64 "\n", r->flushes);
	buf_head(b, "otad_poll_report_flush_seconds_total", "counter",
	    "Time spent writing batches of poll reports.");
	buf_printf(b, "otad_poll_report_flush_seconds_total %.6f\n",
	    (double)r->flush_us / 1e6);
	buf_head(b, "otad_poll_report_flush_seconds_max", "gauge",
	    "The longest batch of poll reports written so far.");
	buf_printf(b, "otad_poll_report_flush_seconds_max %.6f\n",
	    (double)r->flush_us_max / 1e6);
	buf_head(b, "otad_poll_report_flush_reports_max", "gauge",
	    "The most poll reports written in one batch so far.");
	buf_printf(b, "otad_poll_report_flush_reports_max %" PRIu64 "\n",
	    r->flush_reports_max);
	buf_head(b, "otad_poll_reports_buffer_bytes", "gauge",
	    "Memory the poll-report buffer holds (poll_report_buffer_bytes "
	    "at most).");
	buf_printf(b, "otad_poll_reports_buffer_bytes %" PRIu64 "\n", r->bytes);
	buf_head(b, "otad_poll_reports_buffer_peak_bytes", "gauge",
	    "The most memory the poll-report buffer ever held.");
	buf_printf(b, "otad_poll_reports_buffer_peak_bytes %" PRIu64 "\n",
	    r->bytes_peak);
}

static void
render_poll_reports(const struct metrics_poll_reports *r, struct buf *b)
{
	buf_head(b, "otad_poll_reports_total", "counter",
	    "Poll reports (last seen, installed version, offer): written, "
	    "skipped as unchanged and recently recorded, or dropped because "
	    "the buffer was full while the writer was behind.");
	buf_printf(b,
	    "otad_poll_reports_total{outcome=\"written\"} %" PRIu64 "\n"
	    "otad_poll_reports_total{outcome=\"skipped\"} %" PRIu64 "\n"
	    "otad_poll_reports_total{outcome=\"dropped\"} %" PRIu64 "\n",
	    r->written, r->skipped, r->dropped);
	buf_head(b, "otad_poll_reports_pending", "gauge",
	    "Poll reports buffered, waiting for the writer.");
	buf_printf(b, "otad_poll_reports_pending %" PRIu64 "\n", r->pending);
	render_poll_report_writer(r, b);
}

static void
render_device_cache(const struct metrics_device_cache *d, struct buf *b)
{
	buf_head(b, "otad_device_cache_lookups_total", "counter",
	    "Lookups of a device's token or poll facts in the device cache: "
	    "hit (no database read) or miss (read, then remembered).");
	buf_printf(b,
	    "otad_device_cache_lookups_total{result=\"hit\"} %" PRIu64 "\n"
	    "otad_device_cache_lookups_total{result=\"miss\"} %" PRIu64 "\n",
	    d->hits, d->misses);
	buf_head(b, "otad_device_cache_evictions_total", "counter",
	    "Entries dropped from the full device cache (least recently "
	    "used first): raise device_cache if this grows steadily.");
	buf_printf(
	    b, "otad_device_cache_evictions_total %" PRIu64 "\n", d->evictions);
	buf_head(b, "otad_device_cache_entries", "gauge",
	    "Entries in the device cache, by kind.");
	buf_printf(b,
	    "otad_device_cache_entries{kind=\"credentials\"} %" PRIu64 "\n"
	    "otad_device_cache_entries{kind=\"devices\"} %" PRIu64 "\n",
	    d->credentials, d->devices);
	buf_head(b, "otad_device_cache_bytes", "gauge",
	    "Memory the device cache allocated (tables and entries).");
	buf_printf(b, "otad_device_cache_bytes %" PRIu64 "\n", d->bytes);
	buf_head(b, "otad_ddi_cache_lookups_total", "counter",
	    "Lookups of a device's DDI poll facts (actions, configData "
	    "wanted) in memory: hit (no database read) or miss.");
	buf_printf(b,
	    "otad_ddi_cache_lookups_total{result=\"hit\"} %" PRIu64 "\n"
	    "otad_ddi_cache_lookups_total{result=\"miss\"} %" PRIu64 "\n",
	    d->ddi_hits, d->ddi_misses);
	buf_head(b, "otad_ddi_cache_entries", "gauge",
	    "Devices whose DDI poll facts are in memory.");
	buf_printf(b, "otad_ddi_cache_entries %" PRIu64 "\n", d->ddi_devices);
}

static void
render_signatures(const struct metrics_signatures *g, struct buf *b)
{
	buf_head(b, "otad_signature_cache_lookups_total", "counter",
	    "Manifest signatures found in memory (hit) or made (miss, about "
	    "25 us of CPU each).");
	buf_printf(b,
	    "otad_signature_cache_lookups_total{result=\"hit\"} %" PRIu64 "\n"
	    "otad_signature_cache_lookups_total{result=\"miss\"} %" PRIu64 "\n",
	    g->hits, g->misses);
	buf_head(b, "otad_signature_cache_entries", "gauge",
	    "Places for manifest signatures (it grows while it thrashes, up "
	    "to signature_cache).");
	buf_printf(b, "otad_signature_cache_entries %" PRIu64 "\n", g->entries);
	buf_head(b, "otad_signature_cache_bytes", "gauge",
	    "Memory those places take.");
	buf_printf(b, "otad_signature_cache_bytes %" PRIu64 "\n", g->bytes);
}

/* The state of each running rollout's own maintenance windows. */
static void
render_windows(const struct metrics_scrape *s, struct buf *b)
{
	if (s->window_count == 0)
		return;
	buf_head(b, "otad_rollout_window_open", "gauge",
	    "1 while a running rollout's own maintenance windows are open, "
	    "else 0 (group windows apply per device).");
	for (size_t i = 0; i < s->window_count; i++)
		buf_printf(b,
		    "otad_rollout_window_open{rollout=\"%" PRId64 "\"} %d\n",
		    s->windows[i].rollout_id, s->windows[i].open);
	buf_head(b, "otad_rollout_window_next_change_seconds", "gauge",
	    "When a running rollout's own maintenance windows next open or "
	    "close, since the Unix epoch; 0: not within two weeks.");
	for (size_t i = 0; i < s->window_count; i++)
		buf_printf(b,
		    "otad_rollout_window_next_change_seconds{rollout=\"%" PRId64
		    "\"} %" PRId64 "\n",
		    s->windows[i].rollout_id, s->windows[i].next_change);
}

/* One series of the rate limits, per rollout: field 0 the rate now
 * (a gauge), 1 admitted, 2 limited (counters). */
static void
render_rate_series(const struct metrics_scrape *s, struct buf *b,
    const char *name, int field, const char *help)
{
	buf_head(b, name, field == 0 ? "gauge" : "counter", help);
	for (size_t i = 0; i < s->nrates; i++) {
		const struct metrics_rate *r = &s->rates[i];

		buf_printf(b, "%s{rollout=\"%lld\"} %" PRIu64 "\n", name,
		    (long long)r->rollout,
		    field == 0   ? r->per_minute
		    : field == 1 ? r->admitted
		                 : r->limited);
	}
}

/* The rate limits of the running rollouts that have one. */
static void
render_rates(const struct metrics_scrape *s, struct buf *b)
{
	render_rate_series(s, b, "otad_rollout_offer_rate", 0,
	    "A running rollout's limit of new offers per minute now (its "
	    "max_offers_per_minute, ramped), on this node.");
	render_rate_series(s, b, "otad_rollout_offers_admitted_total", 1,
	    "New offers a rollout's rate limit let through on this node.");
	render_rate_series(s, b, "otad_rollout_offers_limited_total", 2,
	    "Polls told nothing because of a rollout's rate limit, on this "
	    "node.");
}

/* The consent answers of the running rollouts that ask for consent. */
static void
render_consents(const struct metrics_scrape *s, struct buf *b)
{
	buf_head(b, "otad_rollout_awaiting_consent", "gauge",
	    "Devices a running rollout that requires consent offered its "
	    "update and that have not answered yet.");
	for (size_t i = 0; i < s->nconsents; i++)
		buf_printf(b,
		    "otad_rollout_awaiting_consent{rollout=\"%lld\"} %" PRIu64
		    "\n",
		    (long long)s->consents[i].rollout, s->consents[i].awaiting);
	buf_head(b, "otad_rollout_declined", "gauge",
	    "Devices that declined a running rollout's update (consent).");
	for (size_t i = 0; i < s->nconsents; i++)
		buf_printf(b,
		    "otad_rollout_declined{rollout=\"%lld\"} %" PRIu64 "\n",
		    (long long)s->consents[i].rollout, s->consents[i].declined);
}

static void
render_scrape(
    const struct metrics *m, const struct metrics_scrape *s, struct buf *b)
{
	char version[160];

	if (s != NULL && s->have_telemetry)
		render_telemetry(&s->telemetry, b);
	if (s != NULL && s->have_rollouts) {
		buf_head(b, "otad_rollouts", "gauge", "Rollouts by state.");
		for (int i = 0; i <= (int)ROLLOUT_ABORTED; i++)
			buf_printf(b,
			    "otad_rollouts{state=\"%s\"} %" PRIu64 "\n",
			    rollout_state_name((enum rollout_state)i),
			    s->rollouts[i]);
	}
	if (s != NULL && s->have_devices) {
		buf_head(b, "otad_devices_hardware_mismatch", "gauge",
		    "Devices whose last reported hardware differs from their "
		    "provisioned hardware: offered nothing.");
		buf_printf(b, "otad_devices_hardware_mismatch %" PRIu64 "\n",
		    s->devices_hardware_mismatch);
	}
	if (s != NULL && s->have_mqtt)
		render_mqtt(s, b);
	if (s != NULL && s->have_poll_reports)
		render_poll_reports(&s->poll_reports, b);
	if (s != NULL && s->have_device_cache)
		render_device_cache(&s->device_cache, b);
	if (s != NULL && s->have_signatures)
		render_signatures(&s->signatures, b);
	if (s != NULL)
		render_windows(s, b);
	if (s != NULL && s->nrates > 0)
		render_rates(s, b);
	if (s != NULL && s->nconsents > 0)
		render_consents(s, b);
	if (metrics_label_escape(m->version, version, sizeof(version)) < 0)
		snprintf(version, sizeof(version), "invalid");
	buf_head(b, "otad_build_info", "gauge", "otad's version; always 1.");
	buf_printf(b, "otad_build_info{version=\"%s\"} 1\n", version);
	buf_head(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch in seconds.");
	buf_printf(
	    b, "process_start_time_seconds %" PRId64 "\n", m->start_time_sec);
}

int
metrics_render(const struct metrics *m, const struct metrics_scrape *s,
    char **out, size_t *out_len)
{
	struct buf b = {NULL, 0, 16384, 0};

	*out = NULL;
	*out_len = 0;
	if ((b.p = malloc(b.cap)) == NULL)
		return OTA_ENOMEM;
	b.p[0] = '\0';
	render_requests(m, &b);
	render_latency(m, &b);
	render_bytes(m, &b);
	render_polls(m, &b);
	render_ddi_polls(m, &b);
	render_scrape(m, s, &b);
	if (b.err) {
		free(b.p);
		return OTA_ENOMEM;
	}
	*out = b.p;
	*out_len = b.len;
	return 0;
}
