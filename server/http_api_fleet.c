/*
 * http_api_fleet: dashboard figures.  The fleet summary is the fleet
 * service's (fleet.c: ranked, cut, reused while a scan is slow); a
 * rollout's series comes from the store (store_fleet.c) and is shaped
 * here, with the cumulative failure rate.
 */
#include "http_api_fleet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "errors.h"
#include "fleet.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "store.h"
#include "store_fleet.h"
#include "store_rollouts.h"
#include "timeutil.h"

int
http_api_fleet_whoami(struct http_req *req)
{
	const struct auth_identity *who = http_req_who(req);

	return http_reply_json(req, 200,
	    json_pack("{s:s, s:s, s:s}", "kind", "api", "role",
	        auth_role_name(who->role), "name", who->name));
}

int
http_api_fleet_summary(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *q = http_req_query(req, "stale_days");
	int64_t days = 7;
	char *text;
	size_t len;
	int rc;

	if (q != NULL && http_parse_int(q, 1, FLEET_STALE_DAYS_MAX, &days) != 0)
		return http_reply_error(req, 400, "invalid_request",
		    "stale_days must be an integer in 1..%d",
		    FLEET_STALE_DAYS_MAX);
	if ((rc = fleet_summary(app->fleet, (int)days, &text, &len)) != 0)
		return rc;
	return http_reply_json_text(req, 200, text, len);
}

/* One bucket of a series with the cumulative counts up to its end. */
struct bucket {
	int64_t bucket, completed, failed, reverted;
	int64_t done, failed_total; /* cumulative; failed includes reverted */
};

/* The newest HTTP_API_FLEET_BUCKETS buckets walked so far, in a ring
 * (bucket n at ring[n % HTTP_API_FLEET_BUCKETS]); the cumulative counts
 * cover every bucket walked, kept or not. */
struct series {
	struct bucket *ring;
	size_t n;
	int64_t bucket_ms;
	int64_t completed, failed;
};

static int
series_row(int64_t bucket, int64_t completed, int64_t failed, int64_t reverted,
    void *arg)
{
	struct series *s = arg;

	s->completed += completed;
	s->failed += failed + reverted;
	s->ring[s->n++ % HTTP_API_FLEET_BUCKETS] = (struct bucket){bucket,
	    completed, failed, reverted, s->completed + s->failed, s->failed};
	return 0;
}

/* The kept buckets, oldest first, as the answer's array, or NULL. */
static json_t *
series_json(const struct series *s)
{
	size_t from =
	    s->n > HTTP_API_FLEET_BUCKETS ? s->n - HTTP_API_FLEET_BUCKETS : 0;
	json_t *arr = json_array();
	char start[TIMEUTIL_RFC3339_LEN];

	for (size_t i = from; arr != NULL && i < s->n; i++) {
		const struct bucket *b = &s->ring[i % HTTP_API_FLEET_BUCKETS];

		timeutil_format_rfc3339(b->bucket * s->bucket_ms / 1000, start);
		if (json_array_append_new(arr,
		        json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "start",
		            start, "completed", (json_int_t)b->completed,
		            "failed", (json_int_t)b->failed, "reverted",
		            (json_int_t)b->reverted, "finished_total",
		            (json_int_t)b->done, "failure_rate_total",
		            b->done > 0
		                ? (double)b->failed_total / (double)b->done
		                : 0.0)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

int
http_api_fleet_series(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *q = http_req_query(req, "bucket_sec");
	struct series s = {
	    calloc(HTTP_API_FLEET_BUCKETS, sizeof(struct bucket)), 0, 0, 0, 0};
	json_t *buckets = NULL;
	struct store_rollout *r = malloc(sizeof(*r));
	struct store_conn *c;
	int64_t id, sec = 3600;
	int rc;

	if (s.ring == NULL || r == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, &id) != 0) {
		rc = http_reply_error(req, 404, "not_found", "no such rollout");
		goto out;
	}
	if (q != NULL && http_parse_int(q, 60, 604800, &sec) != 0) {
		rc = http_reply_error(req, 400, "invalid_request",
		    "bucket_sec must be an integer in 60..604800");
		goto out;
	}
	s.bucket_ms = sec * 1000;
	c = store_acquire(app->store);
	rc = store_rollout_get(c, id, r);
	if (rc == 0)
		rc = store_fleet_rollout_series(
		    c, id, s.bucket_ms, series_row, &s);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		rc = http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)id);
	else if (rc == 0 && (buckets = series_json(&s)) == NULL)
		rc = OTA_ENOMEM;
	else if (rc == 0)
		rc = http_reply_json(req, 200,
		    json_pack("{s:I, s:I, s:f, s:I, s:O, s:b}", "rollout",
		        (json_int_t)id, "bucket_sec", (json_int_t)sec,
		        "failure_threshold", r->failure_threshold,
		        "min_reports", (json_int_t)r->min_reports, "buckets",
		        buckets, "truncated", s.n > HTTP_API_FLEET_BUCKETS));
out:
	free(r);
	free(s.ring);
	json_decref(buckets);
	return rc;
}
