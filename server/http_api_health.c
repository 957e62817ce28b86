/*
 * http_api_health: a rollout's health, read-only.  The figures and the
 * verdict are rollout_service_health's (recomputed on each request, but
 * for a slow walk over the members, walkcache.h; the same gate the
 * automatic pause uses); this file only shapes them as the API
 * contract's JSON.
 */
#include "http_api_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "rollout.h"
#include "offers.h"
#include "rollout_service.h"
#include "store.h"
#include "timeutil.h"

/*
 * The report counters of one stage or of the total, as a funnel: offered
 * counts every device with a status (offered or anything later), started
 * every one that began installing, in_progress those still installing;
 * completed, failed and reverted are final statuses; canceled ends an
 * unfinished update without a verdict (counted offered only); deferred
 * counts the devices whose last word is "not now" (offered, not started);
 * timed_out ends one that outlived the rollout's device_timeout (counted
 * offered only, and against the gate when abort_on names it); retries counts
 * the retries offered to these devices (max_retries).  Under consent
 * (consent 1: the rollout's require_consent), accepted and declined count
 * the answers of devices that have not started (both also counted
 * offered), awaiting_consent the devices offered and silent so far.
 */
static json_t *
counters_json(const struct store_update_counts *u, uint64_t targeted,
    uint64_t in_stage, int consent)
{
	uint64_t in_progress = u->started + u->progress;
	uint64_t started = in_progress + u->completed + u->failed + u->reverted;
	uint64_t finished = u->completed + u->failed + u->reverted;
	json_t *by_result = json_object(), *o;
	char key[16];

	for (int i = 0; i < STORE_RESULT_CODES; i++) {
		if (u->failed_by_result[i] == 0)
			continue;
		snprintf(key, sizeof(key), "%d", i);
		json_object_set_new(by_result, key,
		    json_integer((json_int_t)u->failed_by_result[i]));
	}
	// clang-format off
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I,"
	    " s:f, s:I}",
	    "targeted", (json_int_t)targeted,
	    "in_stage", (json_int_t)in_stage,
	    "offered", (json_int_t)(started + u->offered + u->canceled +
	        u->deferred + u->timed_out + u->accepted + u->declined),
	    "started", (json_int_t)started,
	    "in_progress", (json_int_t)in_progress,
	    "completed", (json_int_t)u->completed,
	    "failed", (json_int_t)u->failed,
	    "failed_by_result", by_result,
	    "reverted", (json_int_t)u->reverted,
	    "canceled", (json_int_t)u->canceled,
	    "failure_rate", finished == 0
	        ? 0.0
	        : (double)(u->failed + u->reverted) / (double)finished,
	    "deferred", (json_int_t)u->deferred);
	// clang-format on
	if (o != NULL) {
		json_object_set_new(
		    o, "timed_out", json_integer((json_int_t)u->timed_out));
		json_object_set_new(
		    o, "retries", json_integer((json_int_t)u->retries));
		json_object_set_new(
		    o, "accepted", json_integer((json_int_t)u->accepted));
		json_object_set_new(
		    o, "declined", json_integer((json_int_t)u->declined));
		json_object_set_new(o, "awaiting_consent",
		    json_integer((json_int_t)(consent ? u->offered : 0)));
	}
	return o;
}

/* "window": the rollout's own maintenance windows now, null without. */
static json_t *
window_json(const struct rollout_service_health *h)
{
	char next[TIMEUTIL_RFC3339_LEN];

	if (h->r.windows[0] == '\0')
		return json_null();
	if (h->window_next != 0)
		timeutil_format_rfc3339(h->window_next, next);
	return json_pack("{s:s, s:b, s:o}", "maintenance_windows", h->r.windows,
	    "open", h->window_open != 0, "next_change",
	    h->window_next != 0 ? json_string(next) : json_null());
}

/* {"<component>": {"failed": n, "reverted": n}, ...}: a bundle
 * rollout's failures by the part that made them ({} for an image's). */
static json_t *
by_component_json(const struct rollout_service_health *h)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < h->by_component_n; i++)
		json_object_set_new(o, h->by_component[i].component,
		    json_pack("{s:I, s:I}", "failed",
		        (json_int_t)h->by_component[i].failed, "reverted",
		        (json_int_t)h->by_component[i].reverted));
	return o;
}

/* The JSON answer for h. */
static json_t *
health_json(const struct rollout_service_health *h)
{
	const struct store_rollout *r = &h->r;
	const struct store_update_counts *t = &h->counts.total;
	uint64_t targeted = 0, in_current = 0;
	json_t *stages = json_array(), *st, *total;

	for (int i = 0; i < r->stage_count; i++) {
		targeted += h->entered[i];
		if (i <= r->stage_index)
			in_current += h->entered[i];
		/* targeted: every device the stage reaches (cumulative);
		 * in_stage: the ones it adds to the previous stage. */
		st = json_pack("{s:i, s:o, s:o}", "index", i, "percent",
		    json_util_percent_bp(r->stages_bp[i]), "started_at",
		    h->stage_started[i][0] != '\0'
		        ? json_string(h->stage_started[i])
		        : json_null());
		json_object_update_new(
		    st, counters_json(&h->counts.stage[i], targeted,
		            h->entered[i], r->stuck.require_consent));
		json_array_append_new(stages, st);
	}
	/* total.in_stage: the devices inside the current stage now. */
	total =
	    counters_json(t, h->targeted, in_current, r->stuck.require_consent);
	// clang-format off
	return json_pack("{s:I, s:s, s:s, s:i, s:f, s:I, s:s, s:f, s:o, s:o, "
	    "s:s, s:o, s:b, s:b, s:s, s:o}",
	    "rollout", (json_int_t)r->id,
	    "state", rollout_state_name(r->state),
	    "reason", r->reason,
	    "stage_index", r->stage_index,
	    "failure_threshold", r->failure_threshold,
	    "min_reports", (json_int_t)r->min_reports,
	    "gate", rollout_gate_name(r->gate),
	    "confidence", r->gate_confidence,
	    "stages", stages,
	    "total", total,
	    /* When targeted and in_stage were counted (walkcache.h). */
	    "targeted_at", h->targeted_at,
	    "failures_by_component", by_component_json(h),
	    /* An error of the gate (never for a stored policy) is a
	     * breach: the safe side. */
	    "breached", h->breached != 0,
	    /* The automatic advance may move it (when due). */
	    "healthy", h->healthy != 0,
	    "action_type", rollout_action_type_name(r->action_type),
	    "window", window_json(h));
	// clang-format on
}

/* The gate's tally under the rollout's abort criteria (abort_on,
 * ignore_results): what it judged, added to the answer o. */
static void
health_gate_json(json_t *o, const struct rollout_service_health *h)
{
	if (o != NULL)
		json_object_set_new(o, "gate_counts",
		    json_pack("{s:I, s:I}", "good", (json_int_t)h->good, "bad",
		        (json_int_t)h->bad));
}

/*
 * The rollout's rate limit as this node applies it (offers.h: its running
 * rollouts only, from memory): {"max_offers_per_minute", "per_minute"
 * (the ramped rate now; null when the rollout is not running here),
 * "admitted", "limited"}, added to o.
 */
static void
health_rate_json(struct app *app, json_t *o, const struct store_rollout *r)
{
	const struct offers_snapshot *snap;
	const struct offer_rollout *e;
	struct store_conn *c;
	json_t *rate;

	if (o == NULL)
		return;
	c = store_acquire(app->store);
	snap = offers_acquire(app->offers, c);
	store_release(app->store, c);
	e = offers_rollout(snap, r->id);
	rate = json_pack("{s:I, s:o, s:I, s:I}", "max_offers_per_minute",
	    (json_int_t)r->stuck.max_offers_per_minute, "per_minute",
	    e != NULL ? json_integer(
	                    (json_int_t)offers_rate_now(e, timeutil_now_sec()))
	              : json_null(),
	    "admitted",
	    e != NULL ? (json_int_t)atomic_load(&e->rate->admitted) : 0,
	    "limited",
	    e != NULL ? (json_int_t)atomic_load(&e->rate->limited) : 0);
	offers_release(app->offers, snap);
	json_object_set_new(o, "rate", rate);
}

int
http_api_health_get(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct rollout_service_health *h;
	int64_t id;
	int rc;

	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, &id) != 0)
		return http_reply_error(
		    req, 404, "not_found", "no such rollout");
	/* About 8 KiB: not for a pool thread's stack. */
	if ((h = malloc(sizeof(*h))) == NULL)
		return OTA_ENOMEM;
	rc = rollout_service_health(app->rollouts, id, h);
	if (rc == OTA_ENOTFOUND)
		rc = http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)id);
	else if (rc == 0) {
		json_t *o = health_json(h);

		health_gate_json(o, h);
		health_rate_json(app, o, &h->r);
		rc = http_reply_json(req, 200, o);
	}
	free(h);
	return rc;
}
