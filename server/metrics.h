/*
 * metrics: the counters behind GET /metrics and their rendering in the
 * Prometheus text format 0.0.4.  The request path only adds to fixed
 * arrays of relaxed atomics, indexed by route: no lock, no allocation.
 * Labels are bounded by construction: a route is its pattern from the
 * route table (never the raw path), a method one of eight, a code one of
 * a fixed list.  Facts read at scrape time (rollouts by state, telemetry
 * counters, the MQTT link) are brought by the caller as plain numbers:
 * metrics knows no module above it.
 */
#ifndef OTAD_METRICS_H
#define OTAD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ddi.h"
#include "rollout.h"
#include "telemetry_parse.h"
#include "update_state.h"

#define METRICS_ROUTES_MAX 128 /* distinct route patterns */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics;

/*
 * Creates the counters for a route table of n entries whose pattern of
 * entry i is patterns[i] (borrowed for the life of the metrics: the route
 * table's static strings).  Entries sharing a pattern (GET and POST of one
 * path) share its series.  poll_pattern (may be NULL) names the route
 * whose GET answers are manifest polls.  version goes into
 * otad_build_info (copied).  The process start time is taken now.
 * Returns NULL (logged) for more than METRICS_ROUTES_MAX distinct
 * patterns, a NULL pattern or no memory.
 */
struct metrics *metrics_new(const char *const *patterns, size_t n,
    const char *poll_pattern, const char *version);

/* Frees m.  NULL-safe. */
void metrics_free(struct metrics *m);

/*
 * Counts one finished request: route is the index in the route table
 * given to metrics_new, or -1 when no route matched (404, 405, 431...);
 * method the request's method (unknown ones count as "other"); status
 * the HTTP status sent (0 when none was); bytes the body bytes sent;
 * duration_sec the time from the request's first byte to its end.
 * Lock-free and allocation-free; thread-safe.  NULL-safe (no-op).
 */
void metrics_request(struct metrics *m, int route, const char *method,
    unsigned status, uint64_t bytes, double duration_sec);

/*
 * Counts one hawkBit DDI poll by what it answered (a deploymentBase, a
 * cancelAction or no action link): otad_ddi_polls_total{result}.
 * Lock-free; thread-safe.  NULL-safe (no-op).
 */
void metrics_ddi_poll(struct metrics *m, enum ddi_poll_kind kind);

/* The counters of the telemetry writer and its health gate, monotonic
 * since start (the caller copies them from the writer's statistics). */
struct metrics_telemetry {
	/* accepted, by [transport][state] */
	uint64_t events[TELEMETRY_TRANSPORT_COUNT][UPDATE_STATE_COUNT];
	uint64_t duplicates, rejected, commits;
	/* rejected, by [transport][enum telemetry_reject] */
	uint64_t rejected_by[TELEMETRY_TRANSPORT_COUNT][TELEMETRY_REJECT_COUNT];
	uint64_t write_errors; /* transactions that failed */
	uint64_t lost;         /* acknowledged over MQTT, never stored */
	uint64_t auto_pauses;  /* rollouts paused by their health gate */
	uint64_t auto_aborts;  /* rollouts aborted by it (breach_action) */
	uint64_t timed_out;    /* updates the rollout timer marked timed_out */
	uint64_t retries;      /* polls answered with a retry (max_retries) */
};

/* The MQTT client's counters (the caller copies them; zeros without a
 * broker). */
struct metrics_mqtt {
	uint64_t messages;    /* PUBLISH messages received */
	uint64_t malformed;   /* messages refused whole */
	uint64_t mismatched;  /* events naming another device than the topic */
	uint64_t rejected;    /* other invalid events */
	uint64_t reconnects;  /* connections accepted after the first */
	uint64_t acks;        /* ack messages published */
	uint64_t hints;       /* update hints published */
	uint64_t unsent;      /* acks and hints dropped */
	uint64_t pauses;      /* times reading stopped for the commit */
	uint64_t uncommitted; /* gauge: events waiting for their commit */
};

/* The poll-report buffer's counters (seen.h; the caller copies them). */
struct metrics_poll_reports {
	uint64_t written; /* rows committed */
	uint64_t skipped; /* unchanged and recorded recently: nothing to do */
	uint64_t dropped; /* lost to a full buffer (the writer was behind) */
	uint64_t pending; /* gauge: in the buffer now */
	uint64_t flushes, flush_us; /* batches written, time spent on them */
	uint64_t flush_us_max, flush_reports_max; /* gauges: the largest */
	uint64_t bytes, bytes_peak; /* gauges: the buffer's memory */
};

/* The device cache's counters (devcache.h; the caller copies them). */
struct metrics_device_cache {
	uint64_t hits, misses, evictions; /* lookups of either kind */
	uint64_t credentials, devices;    /* gauges: entries now */
	uint64_t bytes;                   /* gauge: allocated */
	/* The DDI poll's cache beside it (ddicache.h). */
	uint64_t ddi_hits, ddi_misses;
	uint64_t ddi_devices; /* gauge: entries now */
};

/* The manifest signatures kept (sigcache.h). */
struct metrics_signatures {
	uint64_t hits, misses;
	uint64_t entries, bytes; /* gauges */
};

/* Running rollouts with maintenance windows a scrape shows. */
#define METRICS_WINDOWS_MAX 64

/* A running rollout's own maintenance windows at the scrape. */
struct metrics_window {
	int64_t rollout_id;
	int open;            /* 0 or 1 */
	int64_t next_change; /* unix seconds, 0: none within two weeks */
};

/* One running rollout's rate limit on this node (offers.h), for those
 * with one. */
#define METRICS_RATES_MAX 64
struct metrics_rate {
	int64_t rollout;
	uint64_t per_minute; /* gauge: the rate now (ramped) */
	uint64_t admitted;   /* new offers let through */
	uint64_t limited;    /* polls told nothing for it */
};

/* The consent answers of a running rollout that requires consent. */
#define METRICS_CONSENT_MAX 64
struct metrics_consent {
	int64_t rollout;
	uint64_t awaiting; /* offered, no answer yet */
	uint64_t declined;
};

/*
 * What a scrape reads outside these counters.  Each part is rendered
 * only when its have_ flag is set.
 */
struct metrics_scrape {
	int have_telemetry;
	struct metrics_telemetry telemetry;
	int have_rollouts;
	uint64_t rollouts[ROLLOUT_ABORTED + 1]; /* by enum rollout_state */
	int have_devices;
	uint64_t devices_hardware_mismatch; /* reported != provisioned */
	int have_mqtt;
	int mqtt_connected; /* 0 or 1 */
	struct metrics_mqtt mqtt;
	int have_poll_reports;
	struct metrics_poll_reports poll_reports;
	int have_device_cache;
	int have_signatures;
	struct metrics_device_cache device_cache;
	struct metrics_signatures signatures;
	/* window_count of them (at most METRICS_WINDOWS_MAX, by id). */
	struct metrics_window windows[METRICS_WINDOWS_MAX];
	size_t window_count;
	/* the first METRICS_RATES_MAX running rollouts with a rate limit */
	struct metrics_rate rates[METRICS_RATES_MAX];
	size_t nrates;
	/* the first METRICS_CONSENT_MAX running rollouts asking consent */
	struct metrics_consent consents[METRICS_CONSENT_MAX];
	size_t nconsents;
};

/*
 * Renders every metric in the Prometheus text format 0.0.4 into a new
 * NUL-terminated buffer *out (free()), its length in *out_len: HELP and
 * TYPE lines, then samples; counters of requests only for the (route,
 * method, code) seen so far, histograms only for routes with requests.
 * Returns 0 or OTA_ENOMEM.  Thread-safe (a scrape is not a consistent
 * snapshot across series, but each histogram's buckets, _count and the
 * +Inf bucket agree).
 */
int metrics_render(const struct metrics *m, const struct metrics_scrape *s,
    char **out, size_t *out_len);

/*
 * Writes v as a Prometheus label value into out[outlen]: backslash,
 * double quote and line feed escaped as \\, \" and \n.  Returns the
 * length written, or -1 when it does not fit (out is then "").
 */
int metrics_label_escape(const char *v, char *out, size_t outlen);

#endif
