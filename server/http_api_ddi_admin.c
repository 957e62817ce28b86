/*
 * http_api_ddi_admin: the REST views of hawkBit DDI for operators (API
 * tokens): a device's actions, an action's feedback, and asking a device
 * for its attributes again.  The device routes are http_api_ddi.c's; the
 * rows store_ddi.c's.
 */
#include "http_api_ddi_admin.h"

#include <stdlib.h>
#include <string.h>

#include "ddi.h"
#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "store.h"
#include "store_ddi.h"
#include "store_devices.h"

#define LIST_DEFAULT_LIMIT 100

/* The device id of {} 0 when the device exists; replies 404 (and
 * returns NULL) otherwise. */
static const char *
mgmt_device(struct http_req *req, struct store_conn *c)
{
	const char *id = http_req_device(req, 0);
	char hw[STORE_HARDWARE_MAX + 1], ver[STORE_VERSION_MAX + 1];
	int64_t g[1];
	size_t ng = 0;
	int rc;

	if (id == NULL)
		return NULL;
	rc = store_device_facts(c, id, hw, ver, g, 1, &ng);
	if (rc == OTA_ENOTFOUND)
		http_reply_error(req, 404, "not_found", "no device '%s'", id);
	else if (rc != 0)
		http_reply_rc(req, rc, NULL);
	return rc == 0 ? id : NULL;
}

/* Reads ?after= and ?limit= (1..STORE_DDI_LIST_MAX); replies 400 and
 * returns OTA_EINVAL when either is malformed. */
static int
mgmt_page(struct http_req *req, int64_t *out_after, int *out_limit)
{
	const char *after = http_req_query(req, "after");

	*out_after = 0;
	if (after != NULL &&
	    http_parse_int(after, 0, INT64_MAX, out_after) != 0) {
		http_reply_error(req, 400, "invalid_request",
		    "after: not a non-negative integer");
		return OTA_EINVAL;
	}
	return http_req_limit(
	    req, LIST_DEFAULT_LIMIT, STORE_DDI_LIST_MAX, out_limit);
}

/* The parts a bundle action deploys, ["ncp","mcu"], or null (an image
 * rollout's action).  A new reference, or NULL. */
static json_t *
parts_json(const char *parts)
{
	json_t *arr;
	const char *p = parts, *end;

	if (parts[0] == '\0')
		return json_null();
	if ((arr = json_array()) == NULL)
		return NULL;
	for (; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		json_array_append_new(arr, json_stringn(p, (size_t)(end - p)));
	}
	return arr;
}

static json_t *
action_json(const struct store_ddi_action *a)
{
	const char *status = ddi_status_name(a->status);

	// clang-format off
	return json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:o, s:o}",
	    "id", (json_int_t)a->id,
	    "rollout", (json_int_t)a->rollout_id,
	    "status", status != NULL ? status : "",
	    "result", json_util_string_or_null(a->result),
	    "created_at", a->created_at,
	    "updated_at", a->updated_at,
	    "closed_at", json_util_string_or_null(a->closed_at),
	    "parts", parts_json(a->parts));
	// clang-format on
}

int
http_api_ddi_admin_actions_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_ddi_action *v = NULL;
	struct store_conn *c;
	const char *id;
	int64_t after;
	size_t n = 0;
	json_t *arr;
	int limit, rc = 0;

	if (mgmt_page(req, &after, &limit) != 0)
		return 0;
	c = store_acquire(app->store);
	id = mgmt_device(req, c);
	if (id != NULL)
		rc = store_ddi_actions_list(c, id, after, limit, &v, &n);
	store_release(app->store, c);
	if (id == NULL || rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, action_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "actions", arr, "next_after",
	        n == (size_t)limit ? json_integer(v[n - 1].id) : json_null()));
	free(v);
	return rc;
}

static json_t *
feedback_json(const struct store_ddi_feedback_row *f)
{
	json_t *progress = json_null();

	if (f->progress_cnt >= 0 || f->progress_of >= 0)
		progress =
		    json_pack("{s:I, s:I}", "cnt", (json_int_t)f->progress_cnt,
		        "of", (json_int_t)f->progress_of);
	// clang-format off
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:s}",
	    "id", (json_int_t)f->id,
	    "kind", f->is_cancel ? "cancel" : "deployment",
	    "execution", f->execution,
	    "finished", f->finished,
	    "progress", progress,
	    "details", f->details,
	    "status_after", f->status_after,
	    "received_at", f->received_at);
	// clang-format on
}

int
http_api_ddi_admin_feedback_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_ddi_feedback_row *v = NULL;
	struct store_ddi_action act;
	struct store_conn *c;
	const char *id;
	int64_t after, aid = 0;
	size_t n = 0;
	json_t *arr;
	int limit, rc = 0;

	if (mgmt_page(req, &after, &limit) != 0)
		return 0;
	c = store_acquire(app->store);
	id = mgmt_device(req, c);
	if (id != NULL &&
	    http_parse_int(http_req_param(req, 1), 1, INT64_MAX, &aid) != 0)
		rc = OTA_ENOTFOUND;
	if (id != NULL && rc == 0)
		rc = store_ddi_action_get(c, id, aid, &act);
	if (id != NULL && rc == 0)
		rc = store_ddi_feedback_list(c, aid, after, limit, &v, &n);
	store_release(app->store, c);
	if (id == NULL)
		return 0;
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such action of device '%s'", id);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, feedback_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "feedback", arr, "next_after",
	        n == (size_t)limit ? json_integer(v[n - 1].id) : json_null()));
	free(v);
	return rc;
}

int
http_api_ddi_admin_attributes_refresh(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	struct store_conn *c;
	int rc;

	if (id == NULL)
		return 0;
	c = store_acquire(app->store);
	rc = store_ddi_attributes_refresh(c, id);
	store_release(app->store, c);
	if (rc != 0)
		return http_req_device_failed(req, id, rc);
	return http_reply_json(req, 200,
	    json_pack("{s:s, s:b}", "device", id, "attributes_wanted", 1));
}
