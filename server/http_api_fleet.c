/*
 * http_api_fleet: dashboard figures.  The store groups (store_fleet.c);
 * this file ranks, cuts and shapes the answer.  Versions and hardware are
 * client-reported strings: a fleet may hold many, so every list is cut to
 * HTTP_API_FLEET_TOP entries and the rest summed, never sent whole.
 */
#include "http_api_fleet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "errors.h"
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

/* One list of the summary being built: counts keyed by name (the key ""
 * stands for "none reported", since no stored version is empty). */
struct tally {
	json_t *map; /* name -> [devices, stale] */
};

static int
tally_add(struct tally *t, const char *key, int64_t n, int64_t stale)
{
	json_t *e = json_object_get(t->map, key);

	if (e == NULL)
		return json_object_set_new(t->map, key,
		           json_pack(
		               "[I, I]", (json_int_t)n, (json_int_t)stale)) == 0
		           ? 0
		           : OTA_ENOMEM;
	json_array_set_new(
	    e, 0, json_integer(json_integer_value(json_array_get(e, 0)) + n));
	json_array_set_new(e, 1,
	    json_integer(json_integer_value(json_array_get(e, 1)) + stale));
	return 0;
}

struct summary {
	struct tally version, hardware;
	int64_t devices, stale;
};

static int
summary_row(const char *version, const char *hardware, int64_t n, int64_t stale,
    void *arg)
{
	struct summary *s = arg;
	int rc;

	s->devices += n;
	s->stale += stale;
	if ((rc = tally_add(
	         &s->version, version != NULL ? version : "", n, stale)) != 0)
		return rc;
	return tally_add(
	    &s->hardware, hardware != NULL ? hardware : "", n, stale);
}

struct ranked {
	const char *key;
	json_int_t n, stale;
};

static int
ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Sets field (an array, largest first, cut) and field_other in out from
 * t; name is each entry's key field.  0 or OTA_ENOMEM. */
static int
tally_json(json_t *out, const char *field, const char *name, struct tally *t)
{
	size_t n = json_object_size(t->map), i = 0;
	struct ranked *r = calloc(n > 0 ? n : 1, sizeof(*r));
	json_int_t other_n = 0, other_stale = 0;
	json_t *arr = json_array(), *v;
	const char *k;
	char other[64];

	if (r == NULL || arr == NULL) {
		free(r);
		json_decref(arr);
		return OTA_ENOMEM;
	}
	json_object_foreach(t->map, k, v) {
		r[i].key = k;
		r[i].n = json_integer_value(json_array_get(v, 0));
		r[i++].stale = json_integer_value(json_array_get(v, 1));
	}
	qsort(r, n, sizeof(*r), ranked_cmp);
	for (i = 0; i < n; i++) {
		if (i >= HTTP_API_FLEET_TOP) {
			other_n += r[i].n;
			other_stale += r[i].stale;
			continue;
		}
		json_array_append_new(
		    arr, json_pack("{s:o, s:I, s:I}", name,
		             r[i].key[0] != '\0' ? json_string(r[i].key)
		                                 : json_null(),
		             "devices", r[i].n, "stale", r[i].stale));
	}
	free(r);
	snprintf(other, sizeof(other), "%s_other", field);
	json_object_set_new(out, field, arr);
	json_object_set_new(out, other,
	    json_pack("{s:I, s:I, s:I}", "entries",
	        (json_int_t)(n > HTTP_API_FLEET_TOP ? n - HTTP_API_FLEET_TOP
	                                            : 0),
	        "devices", other_n, "stale", other_stale));
	return 0;
}

int
http_api_fleet_summary(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *q = http_req_query(req, "stale_days");
	struct summary s = {{json_object()}, {json_object()}, 0, 0};
	char before[TIMEUTIL_RFC3339_LEN];
	struct store_conn *c;
	json_t *out = NULL;
	int64_t days = 7;
	int rc;

	if (q != NULL && http_parse_int(q, 1, 3650, &days) != 0) {
		rc = http_reply_error(req, 400, "invalid_request",
		    "stale_days must be an integer in 1..3650");
		goto out;
	}
	timeutil_format_rfc3339(
	    timeutil_now_ms() / 1000 - days * 86400, before);
	c = store_acquire(app->store);
	rc = s.version.map == NULL || s.hardware.map == NULL
	         ? OTA_ENOMEM
	         : store_fleet_versions(c, before, summary_row, &s);
	store_release(app->store, c);
	if (rc != 0)
		goto out;
	out = json_pack("{s:I, s:I, s:I, s:s}", "devices",
	    (json_int_t)s.devices, "stale_days", (json_int_t)days, "stale",
	    (json_int_t)s.stale, "seen_before", before);
	if (out == NULL ||
	    (rc = tally_json(out, "by_version", "version", &s.version)) != 0 ||
	    (rc = tally_json(out, "by_hardware", "hardware", &s.hardware)) != 0)
		goto out;
	rc = http_reply_json(req, 200, out);
	out = NULL;
out:
	json_decref(out);
	json_decref(s.version.map);
	json_decref(s.hardware.map);
	return rc;
}

struct series {
	json_t *buckets;
	int64_t bucket_ms;
	int64_t completed, failed; /* cumulative; failed includes reverted */
};

static int
series_row(int64_t bucket, int64_t completed, int64_t failed, int64_t reverted,
    void *arg)
{
	struct series *s = arg;
	char start[TIMEUTIL_RFC3339_LEN];
	int64_t done;

	s->completed += completed;
	s->failed += failed + reverted;
	done = s->completed + s->failed;
	timeutil_format_rfc3339(bucket * s->bucket_ms / 1000, start);
	return json_array_append_new(s->buckets,
	           json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "start", start,
	               "completed", (json_int_t)completed, "failed",
	               (json_int_t)failed, "reverted", (json_int_t)reverted,
	               "finished_total", (json_int_t)done, "failure_rate_total",
	               done > 0 ? (double)s->failed / (double)done : 0.0)) == 0
	           ? 0
	           : OTA_ENOMEM;
}

int
http_api_fleet_series(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *q = http_req_query(req, "bucket_sec");
	struct series s = {json_array(), 0, 0, 0};
	struct store_rollout *r = malloc(sizeof(*r));
	struct store_conn *c;
	int64_t id, sec = 3600;
	int rc;

	if (s.buckets == NULL || r == NULL) {
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
		    c, id, s.bucket_ms, HTTP_API_FLEET_BUCKETS, series_row, &s);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		rc = http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)id);
	else if (rc == 0) {
		rc = http_reply_json(req, 200,
		    json_pack("{s:I, s:I, s:f, s:I, s:O}", "rollout",
		        (json_int_t)id, "bucket_sec", (json_int_t)sec,
		        "failure_threshold", r->failure_threshold,
		        "min_reports", (json_int_t)r->min_reports, "buckets",
		        s.buckets));
	}
out:
	free(r);
	json_decref(s.buckets);
	return rc;
}
