/*
 * http_api_events: the REST face of telemetry.c.  Each item of a batch is
 * validated on its own (an invalid one is reported by index, the valid
 * ones still go in); the valid ones are handed to telemetry_submit in
 * one call, which returns only after their transaction committed.  A
 * failed write answers 503 and acknowledges nothing, so the client's
 * retry (same event ids) can never count twice.
 */
#include "http_api_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "store.h"
#include "store_devices.h"
#include "store_telemetry.h"
#include "telemetry.h"
#include "timeutil.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000

/* What became of one item of the request. */
struct item {
	const char *event_id; /* borrowed from the body, or NULL */
	int valid;            /* parsed: ev[k] holds it, k = its index */
	size_t k;
	char err[200]; /* the parse error of an invalid item */
};

/* The event_id of item obj to echo back: a string of sane length. */
static const char *
echo_event_id(const json_t *obj)
{
	json_t *v = json_object_get(obj, "event_id");

	if (!json_is_string(v) ||
	    json_string_length(v) > TELEMETRY_EVENT_ID_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* The reply of a batch: counts and one result per item. */
static json_t *
batch_json(
    const struct item *items, size_t n, const struct telemetry_result *res)
{
	json_t *results = json_array();
	size_t accepted = 0, duplicates = 0, rejected = 0;

	for (size_t i = 0; i < n; i++) {
		const struct item *it = &items[i];
		const struct telemetry_result *r =
		    it->valid ? &res[it->k] : NULL;
		json_t *o;

		o = json_pack("{s:I, s:o}", "index", (json_int_t)i, "event_id",
		    it->event_id != NULL ? json_string(it->event_id)
		                         : json_null());
		if (r == NULL) {
			rejected++;
			json_object_set_new(
			    o, "status", json_string("rejected"));
			json_object_set_new(
			    o, "error", json_string("invalid_event"));
			json_object_set_new(o, "detail", json_string(it->err));
		} else if (r->outcome == TELEMETRY_REJECTED) {
			const char *name =
			    telemetry_parse_reject_name(r->reject);

			rejected++;
			json_object_set_new(
			    o, "status", json_string("rejected"));
			json_object_set_new(o, "error",
			    json_string(name != NULL ? name : "rejected"));
			json_object_set_new(
			    o, "detail", json_string(r->detail));
		} else if (r->outcome == TELEMETRY_DUPLICATE) {
			duplicates++;
			json_object_set_new(
			    o, "status", json_string("duplicate"));
		} else {
			accepted++;
			json_object_set_new(
			    o, "status", json_string("accepted"));
		}
		json_array_append_new(results, o);
	}
	return json_pack("{s:I, s:I, s:I, s:o}", "accepted",
	    (json_int_t)accepted, "duplicates", (json_int_t)duplicates,
	    "rejected", (json_int_t)rejected, "results", results);
}

/*
 * Parses each item of the request (body itself when single, else its
 * n elements) for device id at now: a valid one into ev[k] (k = its rank
 * among the valid), each one's fate into items[].  Returns how many are
 * valid.
 */
static size_t
parse_items(const json_t *body, int single, size_t n, const char *id,
    int64_t now, struct telemetry_event *ev, struct item *items)
{
	size_t nvalid = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *obj = single ? body : json_array_get(body, i);

		items[i].event_id =
		    json_is_object(obj) ? echo_event_id(obj) : NULL;
		if (telemetry_parse_event(obj, id, now, &ev[nvalid],
		        items[i].err, sizeof(items[i].err)) == 0) {
			items[i].valid = 1;
			items[i].k = nvalid++;
		} else {
			/* It may quote a key cut in mid-character. */
			json_util_utf8_scrub(items[i].err);
		}
	}
	return nvalid;
}

/* The answer to a single event refused by the verdict: 404 for an
 * unknown device, 422 with the reason's name otherwise. */
static int
reply_rejected(struct http_req *req, const struct telemetry_result *r)
{
	if (r->reject == TELEMETRY_REJECT_UNKNOWN_DEVICE)
		return http_reply_error(req, 404, "not_found", "%s", r->detail);
	return http_reply_error(
	    req, 422, telemetry_parse_reject_name(r->reject), "%s", r->detail);
}

int
http_api_events_post(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = http_req_json(req);
	struct telemetry_event *ev = NULL;
	struct telemetry_result *res = NULL;
	struct item *items = NULL;
	const char *id;
	size_t n, nvalid;
	int single, rc;

	/* No pooled connection for a device token: the telemetry writer
	 * needs one for the events themselves. */
	if ((id = http_req_device(req, 0)) == NULL)
		return 0;
	if ((rc = http_req_device_access(req, NULL, id)) != 0)
		return rc;
	single = json_is_object(body);
	if (!single && !json_is_array(body))
		return http_reply_error(req, 400, "invalid_request",
		    "body: one event object, or an array of 1..%d events",
		    TELEMETRY_BATCH_MAX);
	n = single ? 1 : json_array_size(body);
	if (n < 1 || n > TELEMETRY_BATCH_MAX)
		return http_reply_error(req, 400, "invalid_request",
		    "body: an array of 1..%d events (got %zu)",
		    TELEMETRY_BATCH_MAX, n);
	ev = calloc(n, sizeof(*ev));
	res = calloc(n, sizeof(*res));
	items = calloc(n, sizeof(*items));
	if (ev == NULL || res == NULL || items == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	nvalid = parse_items(body, single, n, id, timeutil_now_ms(), ev, items);
	if (single && nvalid == 0) {
		rc = http_reply_error(
		    req, 400, "invalid_request", "%s", items[0].err);
		goto out;
	}
	if (nvalid > 0 && (rc = telemetry_submit(app->telemetry, ev, nvalid,
	                       TELEMETRY_REST, res)) != 0) {
		log_warn("msg=\"events not stored\" device=%s count=%zu "
		         "error=%s",
		    id, nvalid, ota_errname(rc));
		rc = http_reply_error(req, 503, "unavailable",
		    "the events could not be stored; none was acknowledged: "
		    "retry with the same event ids");
		goto out;
	}
	if (single && res[0].outcome == TELEMETRY_REJECTED)
		rc = reply_rejected(req, &res[0]);
	else
		rc = http_reply_json(req, 200, batch_json(items, n, res));
out:
	free(ev);
	free(res);
	free(items);
	return rc;
}

/* The JSON form of one stored event. */
static json_t *
event_json(const struct store_event_row *e)
{
	json_t *o;

	// clang-format off
	o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)e->id,
	    "event_id", e->event_id,
	    "device", e->device_id,
	    "rollout", (json_int_t)e->rollout_id,
	    "version", e->version,
	    "state", e->state,
	    "ts", e->device_ts,
	    "received_at", e->received_at,
	    "transport", e->transport);
	// clang-format on
	if (o == NULL)
		return NULL;
	if (e->progress >= 0)
		json_object_set_new(o, "progress", json_integer(e->progress));
	if (e->result >= 0)
		json_object_set_new(o, "result", json_integer(e->result));
	if (e->detail[0] != '\0')
		json_object_set_new(o, "detail", json_string(e->detail));
	if (e->component[0] != '\0')
		json_object_set_new(o, "component", json_string(e->component));
	return o;
}

/*
 * The paging query of a device's list (?before=&limit=): *out_before, a
 * positive id of what is listed (what, for the message; 0 when absent),
 * and *out_limit.  Returns 0, or OTA_EINVAL after answering 400.
 */
static int
page_query(
    struct http_req *req, const char *what, int64_t *out_before, int *out_limit)
{
	const char *q = http_req_query(req, "before");

	*out_before = 0;
	if (q != NULL && http_parse_int(q, 1, INT64_MAX, out_before) != 0) {
		http_reply_error(req, 400, "invalid_request",
		    "before: a positive %s (the previous page's next_before)",
		    what);
		return OTA_EINVAL;
	}
	return http_req_limit(
	    req, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, out_limit);
}

/*
 * After a page of device id's list came back empty: 0 when the device
 * exists (its list is empty), else store_device_get's error (a 404 for
 * an unknown device).  Only an empty page pays for this read.
 */
static int
empty_page_device(struct store_conn *c, const char *id)
{
	struct store_device d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = store_device_get(c, id, &d);
	store_device_clear(&d);
	return rc;
}

int
http_api_events_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	struct store_event_row *v = NULL;
	struct store_conn *c;
	int64_t before;
	size_t n = 0;
	json_t *arr;
	int limit, rc;

	if (id == NULL)
		return 0;
	if ((rc = page_query(req, "event id", &before, &limit)) != 0)
		return rc;
	c = store_acquire(app->store);
	rc = store_telemetry_device_events(c, id, before, limit, &v, &n);
	if (rc == 0 && n == 0)
		rc = empty_page_device(c, id);
	store_release(app->store, c);
	if (rc != 0) {
		free(v);
		return http_req_device_failed(req, id, rc);
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, event_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "events", arr, "next_before",
	        n == (size_t)limit ? json_integer((json_int_t)v[n - 1].id)
	                           : json_null()));
	free(v);
	return rc;
}

/* The JSON form of a device's status in one rollout. */
static json_t *
update_json(const struct store_device_update_row *u)
{
	json_t *o;

	// clang-format off
	o = json_pack("{s:I, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:I, s:o, s:s}",
	    "rollout", (json_int_t)u->rollout_id,
	    "rollout_name", u->rollout_name,
	    "rollout_state", u->rollout_state,
	    "image", "name", u->image_name, "version", u->image_version,
	    "version", u->version,
	    "status", u->status,
	    "stage_index", (json_int_t)u->stage_index,
	    "offered_at", json_util_string_or_null(u->offered_at),
	    "updated_at", u->updated_at);
	// clang-format on
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "started_at",
	    u->started_at[0] ? json_string(u->started_at) : json_null());
	json_object_set_new(o, "finished_at",
	    u->finished_at[0] ? json_string(u->finished_at) : json_null());
	if (u->progress >= 0)
		json_object_set_new(o, "progress", json_integer(u->progress));
	if (u->result >= 0)
		json_object_set_new(o, "result", json_integer(u->result));
	return o;
}

int
http_api_events_updates(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	struct store_device_update_row *v = NULL;
	struct store_conn *c;
	int64_t before;
	size_t n = 0;
	json_t *arr;
	int limit, rc;

	if (id == NULL)
		return 0;
	if ((rc = page_query(req, "rollout id", &before, &limit)) != 0)
		return rc;
	c = store_acquire(app->store);
	rc = store_telemetry_device_updates(c, id, before, limit, &v, &n);
	if (rc == 0 && n == 0)
		rc = empty_page_device(c, id);
	store_release(app->store, c);
	if (rc != 0) {
		free(v);
		return http_req_device_failed(req, id, rc);
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, update_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "updates", arr, "next_before",
	        n == (size_t)limit
	            ? json_integer((json_int_t)v[n - 1].rollout_id)
	            : json_null()));
	free(v);
	return rc;
}
