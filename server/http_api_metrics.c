/*
 * http_api_metrics: the scrape.  The counters of the telemetry writer,
 * the MQTT client and the poll-report buffer, two short reads of the
 * database (rollouts by state, devices whose reported hardware is not
 * theirs), then metrics_render;
 * the request counters are never locked.
 * A database that does not answer leaves the rollout gauges out rather
 * than failing the scrape: the request counters matter most when the
 * database is in trouble.
 */
#include "http_api_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "ddi_service.h"
#include "ddicache.h"
#include "devcache.h"
#include "errors.h"
#include "http_reply.h"
#include "http_req.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "offers.h"
#include "timeutil.h"
#include "rollout_service.h"
#include "offers.h"
#include "seen.h"
#include "sigcache.h"
#include "store.h"
#include "store_devices.h"
#include "store_rollouts.h"
#include "store_telemetry.h"
#include "timeutil.h"
#include "telemetry.h"

/* The telemetry writer's counters, as numbers for metrics_render. */
static void
scrape_telemetry(struct app *app, struct metrics_scrape *s)
{
	struct telemetry_stats ts;

	if (app->telemetry == NULL)
		return;
	telemetry_stats_get(app->telemetry, &ts);
	s->have_telemetry = 1;
	memcpy(s->telemetry.events, ts.events, sizeof(s->telemetry.events));
	s->telemetry.duplicates = ts.duplicates;
	s->telemetry.rejected = ts.rejected;
	s->telemetry.commits = ts.commits;
	memcpy(s->telemetry.rejected_by, ts.rejected_by,
	    sizeof(s->telemetry.rejected_by));
	s->telemetry.write_errors = ts.write_errors;
	s->telemetry.lost = ts.lost;
	s->telemetry.auto_pauses = rollout_service_auto_pauses(app->rollouts);
	s->telemetry.auto_aborts = rollout_service_auto_aborts(app->rollouts);
	s->telemetry.timed_out = rollout_service_timed_out(app->rollouts);
	if (app->seen != NULL) {
		struct seen_stats st;

		seen_get_stats(app->seen, &st);
		s->telemetry.retries = st.retries;
	}
}

/* The MQTT client's link and counters (app->mqtt is NULL without a
 * broker: not connected, no counts). */
static void
scrape_mqtt(struct app *app, struct metrics_scrape *s)
{
	struct mqtt_stats q;

	mqtt_stats_get(app->mqtt, &q);
	s->have_mqtt = 1;
	s->mqtt_connected = mqtt_connected(app->mqtt);
	s->mqtt.messages = q.messages;
	s->mqtt.malformed = q.malformed;
	s->mqtt.mismatched = q.mismatched;
	s->mqtt.rejected = q.rejected;
	s->mqtt.reconnects = q.reconnects;
	s->mqtt.acks = q.acks;
	s->mqtt.hints = q.hints;
	s->mqtt.unsent = q.unsent;
	s->mqtt.pauses = q.pauses;
	s->mqtt.uncommitted = q.uncommitted;
}

/* The poll-report buffer's counters (app->seen is NULL in tests that
 * run without one). */
static void
scrape_seen(struct app *app, struct metrics_scrape *s)
{
	struct seen_stats st;

	if (app->seen == NULL)
		return;
	seen_get_stats(app->seen, &st);
	s->have_poll_reports = 1;
	s->poll_reports.written = st.written;
	s->poll_reports.skipped = st.skipped;
	s->poll_reports.dropped = st.dropped;
	s->poll_reports.pending = st.pending;
	s->poll_reports.flushes = st.flushes;
	s->poll_reports.flush_us = st.flush_us;
	s->poll_reports.flush_us_max = st.flush_us_max;
	s->poll_reports.flush_reports_max = st.flush_reports_max;
	s->poll_reports.bytes = st.bytes;
	s->poll_reports.bytes_peak = st.bytes_peak;
}

/* The manifest signature cache's counters. */
static void
scrape_signatures(struct app *app, struct metrics_scrape *s)
{
	struct sigcache_stats st;

	sigcache_get_stats(app->sigcache, &st);
	s->have_signatures = 1;
	s->signatures.hits = st.hits;
	s->signatures.misses = st.misses;
	s->signatures.entries = st.entries;
	s->signatures.bytes = st.bytes;
}

/* The device cache's counters (app->devices is NULL when it is off). */
static void
scrape_devices(struct app *app, struct metrics_scrape *s)
{
	struct devcache_stats st;
	struct ddicache_stats ds;

	if (app->devices == NULL)
		return;
	devcache_get_stats(app->devices, &st);
	s->have_device_cache = 1;
	s->device_cache.hits = st.hits;
	s->device_cache.misses = st.misses;
	s->device_cache.evictions = st.evictions;
	s->device_cache.credentials = st.credentials;
	s->device_cache.devices = st.devices;
	s->device_cache.bytes = st.bytes;
	ddi_service_cache_stats(app->ddi, &ds);
	s->device_cache.ddi_hits = ds.hits;
	s->device_cache.ddi_misses = ds.misses;
	s->device_cache.ddi_devices = ds.devices;
}

/* A running rollout's own windows now into the scrape (when it has
 * some and there is room). */
static void
scrape_window(const struct offers_snapshot *snap, const struct offer_rollout *r,
    int64_t now, struct metrics_scrape *s)
{
	struct offers_when w;

	if (r->windows == NULL || s->window_count == METRICS_WINDOWS_MAX)
		return;
	/* No group: the rollout's own windows. */
	(void)offers_when(snap, r, NULL, 0, now, &w);
	s->windows[s->window_count].rollout_id = r->id;
	s->windows[s->window_count].open = w.window_open;
	s->windows[s->window_count++].next_change = w.window_next;
}

/* A running rollout's rate limit into the scrape (when it has one and
 * there is room). */
static void
scrape_rate(
    const struct offer_rollout *r, int64_t now, struct metrics_scrape *s)
{
	struct metrics_rate *m = &s->rates[s->nrates];

	if (r->stuck.max_offers_per_minute == 0 ||
	    s->nrates == METRICS_RATES_MAX)
		return;
	m->rollout = r->id;
	m->per_minute = offers_rate_now(r, now);
	m->admitted = atomic_load(&r->rate->admitted);
	m->limited = atomic_load(&r->rate->limited);
	s->nrates++;
}

/* The running rollouts' own windows and rate limits, from one hold of the
 * offer snapshot (read through c only when it reloads), then the consent
 * answers of those that ask for consent (a statement each, after). */
static void
scrape_rollouts(struct app *app, struct store_conn *c, struct metrics_scrape *s)
{
	const struct offers_snapshot *snap = offers_acquire(app->offers, c);
	int64_t now = timeutil_now_sec();
	size_t n = 0;

	for (size_t i = 0; i < snap->count; i++) {
		scrape_window(snap, &snap->rollouts[i], now, s);
		scrape_rate(&snap->rollouts[i], now, s);
		if (snap->rollouts[i].stuck.require_consent &&
		    s->nconsents < METRICS_CONSENT_MAX)
			s->consents[s->nconsents++].rollout =
			    snap->rollouts[i].id;
	}
	offers_release(app->offers, snap);
	/* A rollout whose counts cannot be read (logged by the store) has
	 * no series this scrape rather than a false 0. */
	for (size_t i = 0; i < s->nconsents; i++)
		if (store_telemetry_consent_counts(c, s->consents[i].rollout,
		        &s->consents[i].awaiting,
		        &s->consents[i].declined) == 0)
			s->consents[n++] = s->consents[i];
	s->nconsents = n;
}

int
http_api_metrics_get(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct MHD_Response *resp;
	struct metrics_scrape s = {0};
	struct store_conn *c;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (app->metrics == NULL)
		return http_reply_error(req, 503, "unavailable",
		    "metrics are not collected by this process");
	scrape_telemetry(app, &s);
	scrape_mqtt(app, &s);
	scrape_seen(app, &s);
	scrape_devices(app, &s);
	scrape_signatures(app, &s);
	c = store_acquire(app->store);
	s.have_rollouts = store_rollout_count_by_state(c, s.rollouts) == 0;
	s.have_devices = store_device_count_hardware_mismatch(
	                     c, &s.devices_hardware_mismatch) == 0;
	scrape_rollouts(app, c, &s);
	store_release(app->store, c);
	if ((rc = metrics_render(app->metrics, &s, &text, &len)) != 0)
		return rc;
	resp =
	    MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return OTA_ENOMEM;
	}
	MHD_add_response_header(resp, "Content-Type", METRICS_CONTENT_TYPE);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return http_reply(req, 200, resp, len);
}
