/*
 * http_api_health: a rollout's health, read-only.  Targeted and in-stage
 * devices are recomputed on each request by streaming the members of the
 * target groups whose hardware the image fits and hashing each into its
 * bucket (rollout_bucket), so they follow membership changes and anyone
 * can check them with the published salt; the reported counts are
 * store_telemetry_counts'; the verdict is rollout_health_breached's, the same
 * gate the automatic pause uses.
 */
#include "http_api_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "http_api_rollouts.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "log.h"
#include "rollout.h"
#include "store.h"
#include "store_rollouts.h"
#include "store_telemetry.h"

/* Everything one health answer is made of (about 8 KiB: not for a pool
 * thread's stack). */
struct health {
	struct store_rollout r;
	struct store_rollout_counts counts;
	char stage_started[ROLLOUT_MAX_STAGES][21];
	uint64_t entered[ROLLOUT_MAX_STAGES]; /* devices whose bucket is in
	                                       * [stage i-1's bp, stage i's) */
	uint64_t targeted;
};

/* store_rollout_members callback: one targeted device into its stage.
 * A member whose hardware the image does not fit is never offered it:
 * not targeted.  One whose fit is unknown (the image of an ended rollout
 * was deleted) still counts, as it did while the rollout ran. */
static int
count_member(void *ctx, const char *device_id, int image_fits)
{
	struct health *h = ctx;
	uint32_t bucket;
	int i = 0;

	if (image_fits == 0)
		return 0;
	bucket = rollout_bucket(h->r.salt, device_id);

	/* The last stage is 100% (10000 bp): every bucket finds a stage. */
	while (i < h->r.stage_count - 1 &&
	       !rollout_bucket_in_stage(bucket, h->r.stages_bp[i]))
		i++;
	h->entered[i]++;
	h->targeted++;
	return 0;
}

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

/* The JSON answer for h. */
static json_t *
health_json(const struct health *h)
{
	const struct store_rollout *r = &h->r;
	const struct store_update_counts *t = &h->counts.total;
	uint64_t targeted = 0, in_current = 0;
	json_t *stages = json_array(), *st, *total;
	int breached;

	for (int i = 0; i < r->stage_count; i++) {
		targeted += h->entered[i];
		if (i <= r->stage_index)
			in_current += h->entered[i];
		/* targeted: every device the stage reaches (cumulative);
		 * in_stage: the ones it adds to the previous stage. */
		st = json_pack("{s:i, s:o, s:o}", "index", i, "percent",
		    http_api_rollouts_percent_json(r->stages_bp[i]),
		    "started_at",
		    h->stage_started[i][0] != '\0'
		        ? json_string(h->stage_started[i])
		        : json_null());
		json_object_update_new(st, counters_json(&h->counts.stage[i],
		                               targeted, h->entered[i]));
		json_array_append_new(stages, st);
	}
	/* total.in_stage: the devices inside the current stage now. */
	total = counters_json(t, h->targeted, in_current);
	breached = rollout_health_breached(t->completed, t->failed, t->reverted,
	    r->failure_threshold, r->min_reports);
	// clang-format off
	return json_pack("{s:I, s:s, s:s, s:i, s:f, s:I, s:o, s:o, s:b}",
	    "rollout", (json_int_t)r->id,
	    "state", rollout_state_name(r->state),
	    "reason", r->reason,
	    "stage_index", r->stage_index,
	    "failure_threshold", r->failure_threshold,
	    "min_reports", (json_int_t)r->min_reports,
	    "stages", stages,
	    "total", total,
	    /* An error of the gate (never for a stored policy) is a
	     * breach: the safe side. */
	    "breached", breached != 0);
	// clang-format on
}

int
http_api_rollouts_health(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct health *h;
	struct store_conn *c;
	int64_t id;
	int rc;

	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, &id) != 0)
		return http_reply_error(
		    req, 404, "not_found", "no such rollout");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return OTA_ENOMEM;
	c = store_acquire(app->store);
	rc = store_rollout_get(c, id, &h->r);
	if (rc == 0)
		rc = store_rollout_stage_starts(c, id, h->stage_started);
	if (rc == 0)
		rc = store_telemetry_counts(c, id, &h->counts);
	if (rc == 0)
		rc = store_rollout_members(c, id, count_member, h);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		rc = http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)id);
	else if (rc == 0)
		rc = http_reply_json(req, 200, health_json(h));
	free(h);
	return rc;
}
