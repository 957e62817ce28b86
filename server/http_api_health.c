/*
 * http_api_health: a rollout's health, read-only.  The figures and the
 * verdict are rollout_service_health's (recomputed on each request, the
 * same gate the automatic pause uses); this file only shapes them as the
 * API contract's JSON.
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
#include "rollout_service.h"

/*
 * The report counters of one stage or of the total, as a funnel: offered
 * counts every device with a status (offered or anything later), started
 * every one that began installing, in_progress those still installing;
 * completed, failed and reverted are final statuses; canceled ends an
 * unfinished update without a verdict (counted offered only).
 */
static json_t *
counters_json(
    const struct store_update_counts *u, uint64_t targeted, uint64_t in_stage)
{
	uint64_t in_progress = u->started + u->progress;
	uint64_t started = in_progress + u->completed + u->failed + u->reverted;
	uint64_t finished = u->completed + u->failed + u->reverted;
	json_t *by_result = json_object();
	char key[16];

	for (int i = 0; i < STORE_RESULT_CODES; i++) {
		if (u->failed_by_result[i] == 0)
			continue;
		snprintf(key, sizeof(key), "%d", i);
		json_object_set_new(by_result, key,
		    json_integer((json_int_t)u->failed_by_result[i]));
	}
	// clang-format off
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I,"
	    " s:f}",
	    "targeted", (json_int_t)targeted,
	    "in_stage", (json_int_t)in_stage,
	    "offered", (json_int_t)(started + u->offered + u->canceled),
	    "started", (json_int_t)started,
	    "in_progress", (json_int_t)in_progress,
	    "completed", (json_int_t)u->completed,
	    "failed", (json_int_t)u->failed,
	    "failed_by_result", by_result,
	    "reverted", (json_int_t)u->reverted,
	    "canceled", (json_int_t)u->canceled,
	    "failure_rate", finished == 0
	        ? 0.0
	        : (double)(u->failed + u->reverted) / (double)finished);
	// clang-format on
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
		json_object_update_new(st, counters_json(&h->counts.stage[i],
		                               targeted, h->entered[i]));
		json_array_append_new(stages, st);
	}
	/* total.in_stage: the devices inside the current stage now. */
	total = counters_json(t, h->targeted, in_current);
	// clang-format off
	return json_pack("{s:I, s:s, s:s, s:i, s:f, s:I, s:s, s:f, s:o, s:o, "
	    "s:o, s:b, s:b}",
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
	    "failures_by_component", by_component_json(h),
	    /* An error of the gate (never for a stored policy) is a
	     * breach: the safe side. */
	    "breached", h->breached != 0,
	    /* The automatic advance may move it (when due). */
	    "healthy", h->healthy != 0);
	// clang-format on
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
	else if (rc == 0)
		rc = http_reply_json(req, 200, health_json(h));
	free(h);
	return rc;
}
