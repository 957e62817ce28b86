/*
 * http_api_groups: REST handlers for groups and gateway tokens.  Every
 * write is one store transaction: a membership change naming an unknown
 * device, or a gateway naming an unknown group, changes nothing.  Gateway
 * tokens are never logged; their ids are.
 */
#include "http_api_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "errors.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "mwindow.h"
#include "rollout_service.h"
#include "log.h"
#include "store.h"
#include "store_devices.h"
#include "store_groups.h"

static const char *const group_fields[] = {"name", "description", NULL};
static const char *const members_fields[] = {"add", "remove", NULL};
static const char *const gateway_fields[] = {"name", "groups", NULL};

static const char group_what[] = "a group name (1..64 of [A-Za-z0-9._-])";
static const char device_what[] = "a device id (1..128 of [A-Za-z0-9._:-])";

/* The JSON form of a group. */
static json_t *
group_json(const struct store_group *g)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", g->name,
	    "description", g->description, "created_at", g->created_at,
	    "devices", (json_int_t)g->member_count, "maintenance_windows",
	    g->windows);
}

/* The body of a JSON route as an object with only the allowed fields, or
 * NULL after replying 400. */
static const json_t *
body_object(struct http_req *req, const char *const *allowed)
{
	const json_t *body = http_req_json(req);
	char err[160];

	if (!json_is_object(body)) {
		http_reply_error(
		    req, 400, "invalid_request", "body must be a JSON object");
		return NULL;
	}
	if (json_util_check_keys(body, allowed, "", err, sizeof(err)) != 0) {
		http_reply_error(req, 400, "invalid_request", "%s", err);
		return NULL;
	}
	return body;
}

/* The group name of the route ({} 0), or NULL after replying 404. */
static const char *
route_group(struct http_req *req)
{
	const char *name = http_req_param(req, 0);

	if (name == NULL || !store_group_name_valid(name)) {
		http_reply_error(req, 404, "not_found", "no such group");
		return NULL;
	}
	return name;
}

/* Replies with group name (status), or 404. */
static int
reply_group(struct http_req *req, unsigned status, const char *name)
{
	struct app *app = http_req_app(req);
	struct store_group g;
	struct store_conn *c;
	int rc;

	c = store_acquire(app->store);
	rc = store_group_get(c, name, &g);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no group named '%s'", name);
	if (rc != 0)
		return rc;
	return http_reply_json(req, status, group_json(&g));
}

int
http_api_groups_create(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = body_object(req, group_fields);
	const char *name, *desc = NULL;
	struct store_conn *c;
	json_t *v;
	int rc;

	if (body == NULL)
		return 0;
	v = json_object_get(body, "name");
	if (v == NULL)
		return http_reply_error(
		    req, 400, "invalid_request", "name: required");
	name = json_string_value(v);
	if (name == NULL || !store_group_name_valid(name))
		return http_reply_error(req, 400, "invalid_request",
		    "name: must be %s", group_what);
	v = json_object_get(body, "description");
	if (v != NULL && !json_is_null(v)) {
		desc = json_string_value(v);
		if (desc == NULL || strlen(desc) > STORE_GROUP_DESC_MAX)
			return http_reply_error(req, 400, "invalid_request",
			    "description: must be a string of at most %d "
			    "bytes",
			    STORE_GROUP_DESC_MAX);
	}
	c = store_acquire(app->store);
	rc = store_group_create(c, name, desc, NULL);
	store_release(app->store, c);
	if (rc == OTA_ECONFLICT)
		return http_reply_error(req, 409, "conflict",
		    "name: group '%s' already exists", name);
	if (rc != 0)
		return rc;
	log_info("msg=\"group created\" group=%s by=%s", name,
	    http_req_who(req)->name);
	return reply_group(req, 201, name);
}

static const char *const group_patch_fields[] = {"maintenance_windows", NULL};

/*
 * PATCH /api/v1/groups/{name} {"maintenance_windows": "..."}: the windows
 * every rollout honours for the group's members (docs/rollouts.md), ""
 * to remove them.  Answers the group.
 */
int
http_api_groups_patch(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *name = route_group(req);
	const json_t *body, *v;
	char err[256], text[MWINDOW_TEXT_MAX];
	int rc;

	if (name == NULL ||
	    (body = body_object(req, group_patch_fields)) == NULL)
		return 0;
	v = json_object_get(body, "maintenance_windows");
	if (v == NULL)
		return http_reply_error(req, 400, "invalid_request",
		    "maintenance_windows: required (\"\" removes them)");
	if (!json_is_string(v) || json_string_length(v) >= MWINDOW_TEXT_MAX)
		return http_reply_error(req, 400, "invalid_request",
		    "maintenance_windows: must be a string such as \"mon-fri "
		    "22:00 4h Europe/Berlin\", or \"\" for none");
	rc = rollout_service_group_windows(app->rollouts, name,
	    json_string_value(v), http_req_who(req)->name, text, err,
	    sizeof(err));
	if (rc == OTA_EINVAL)
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no group named '%s'", name);
	if (rc != 0)
		return rc;
	return reply_group(req, 200, name);
}

int
http_api_groups_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_group *v = NULL;
	struct store_conn *c;
	size_t n = 0;
	json_t *arr;
	int rc;

	c = store_acquire(app->store);
	rc = store_group_list(c, &v, &n);
	store_release(app->store, c);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, group_json(&v[i]));
	free(v);
	return http_reply_json(req, 200, json_pack("{s:o}", "groups", arr));
}

int
http_api_groups_get(struct http_req *req)
{
	const char *name = route_group(req);

	return name == NULL ? 0 : reply_group(req, 200, name);
}

int
http_api_groups_delete(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *name = route_group(req);
	struct store_conn *c;
	int rc;

	if (name == NULL)
		return 0;
	c = store_acquire(app->store);
	rc = store_group_delete(c, name);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no group named '%s'", name);
	if (rc == OTA_ECONFLICT)
		return http_reply_error(req, 409, "conflict",
		    "group '%s' is targeted by a draft, running or paused "
		    "rollout",
		    name);
	if (rc != 0)
		return rc;
	log_info("msg=\"group deleted\" group=%s by=%s", name,
	    http_req_who(req)->name);
	return http_reply_empty(req, 204);
}

/* Reads the optional id list field of body (at most the batch size). */
static int
members_list(struct http_req *req, const json_t *body, const char *field,
    const char ***out, size_t *out_n)
{
	char err[200];
	json_t *v = json_object_get(body, field);
	int rc;

	*out = NULL;
	*out_n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	rc = json_util_strings(v, STORE_DEVICE_BATCH_MAX, store_device_id_valid,
	    device_what, field, out, out_n, err, sizeof(err));
	if (rc == OTA_EINVAL)
		http_reply_error(req, 400, "invalid_request", "%s", err);
	return rc;
}

int
http_api_groups_members(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body;
	const char *name;
	const char **add = NULL, **remove = NULL;
	char missing[STORE_DEVICE_ID_MAX + 1];
	size_t nadd = 0, nremove = 0, i;
	int64_t added = 0, removed = 0;
	struct store_conn *c;
	int rc;

	if ((name = route_group(req)) == NULL ||
	    (body = body_object(req, members_fields)) == NULL)
		return 0;
	if ((rc = members_list(req, body, "add", &add, &nadd)) != 0 ||
	    (rc = members_list(req, body, "remove", &remove, &nremove)) != 0)
		goto out;
	c = store_acquire(app->store);
	rc = store_group_members_change(
	    c, name, add, nadd, remove, nremove, missing, &added, &removed);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND) {
		for (i = 0; i < nadd; i++)
			if (strcmp(add[i], missing) == 0)
				break;
		if (i < nadd)
			rc = http_reply_error(req, 404, "not_found",
			    "add[%zu]: no device '%s'", i, missing);
		else
			rc = http_reply_error(
			    req, 404, "not_found", "no group named '%s'", name);
		goto out;
	}
	if (rc != 0)
		goto out;
	log_info("msg=\"group members changed\" group=%s added=%lld "
	         "removed=%lld by=%s",
	    name, (long long)added, (long long)removed,
	    http_req_who(req)->name);
	rc = http_reply_json(req, 200,
	    json_pack("{s:I, s:I}", "added", (json_int_t)added, "removed",
	        (json_int_t)removed));
out:
	free(add);
	free(remove);
	return rc;
}

/* The JSON form of a gateway token as listed (never its secret). */
static json_t *
gateway_json(const struct store_gateway *g)
{
	json_t *groups = json_array();

	for (size_t i = 0; i < g->group_count; i++)
		json_array_append_new(groups, json_string(g->groups[i]));
	// clang-format off
	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o}",
	    "name", g->name,
	    "id", g->id,
	    "groups", groups,
	    "created_at", g->created_at,
	    "last_used_at", g->last_used_at[0] ?
	        json_string(g->last_used_at) : json_null(),
	    "revoked_at", g->revoked_at[0] ?
	        json_string(g->revoked_at) : json_null());
	// clang-format on
}

/* Finds the stored gateway token with id token_id and replies 201 with
 * it and the token, shown this once. */
static int
reply_gateway_created(
    struct http_req *req, const char *token_id, const char *token)
{
	struct app *app = http_req_app(req);
	struct store_gateway *v = NULL;
	struct store_conn *c;
	json_t *o = NULL;
	size_t n = 0;
	int rc;

	c = store_acquire(app->store);
	rc = store_gateway_list(c, &v, &n);
	store_release(app->store, c);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].id, token_id) != 0)
			continue;
		o = gateway_json(&v[i]);
		json_object_del(o, "last_used_at");
		json_object_del(o, "revoked_at");
		json_object_set_new(o, "token", json_string(token));
		break;
	}
	store_gateway_list_free(v, n);
	if (o == NULL) {
		log_err("msg=\"gateway token missing after create\" id=%s",
		    token_id);
		return OTA_EDB;
	}
	return http_reply_json(req, 201, o);
}

/*
 * Reads a gateway create body: *out_name (borrowed from body) and
 * *out_groups (an array of borrowed names, freed by the caller, also on
 * failure).  A refused field is answered 400: the return is then the
 * reply's code, with http_req_replied set.  Otherwise returns 0 or an
 * OTA_E* code, not replied.
 */
static int
gateway_body_parse(struct http_req *req, const json_t *body,
    const char **out_name, const char ***out_groups, size_t *out_ngroups)
{
	char err[200];
	const char *name;
	json_t *v;
	int rc;

	v = json_object_get(body, "name");
	name = json_string_value(v);
	if (v == NULL)
		return http_reply_error(
		    req, 400, "invalid_request", "name: required");
	if (name == NULL || !store_group_name_valid(name))
		return http_reply_error(req, 400, "invalid_request",
		    "name: must be 1..%d characters of [A-Za-z0-9._-]",
		    STORE_GROUP_NAME_MAX);
	/* DELETE /api/v1/gateways/{key} reads such a key as an id. */
	if (crypto_token_id_shaped(name))
		return http_reply_error(req, 400, "invalid_request",
		    "name: 16 lowercase hex digits is the form of a token "
		    "id; choose a name that cannot be mistaken for one");
	*out_name = name;
	v = json_object_get(body, "groups");
	if (v == NULL)
		return http_reply_error(
		    req, 400, "invalid_request", "groups: required");
	rc = json_util_strings(v, STORE_GATEWAY_GROUPS_MAX,
	    store_group_name_valid, group_what, "groups", out_groups,
	    out_ngroups, err, sizeof(err));
	if (rc == 0 && *out_ngroups == 0) {
		snprintf(err, sizeof(err), "groups: at least one group");
		rc = OTA_EINVAL;
	}
	if (rc == OTA_EINVAL)
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	return rc;
}

int
http_api_groups_gateway_create(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = body_object(req, gateway_fields);
	char token[CRYPTO_TOKEN_LEN], token_id[CRYPTO_TOKEN_ID_LEN];
	char missing[STORE_GROUP_NAME_MAX + 1];
	unsigned char hash[CRYPTO_HASH_LEN];
	const char **groups = NULL, *name = NULL;
	struct store_conn *c;
	size_t ngroups = 0, i;
	int rc;

	memset(token, 0, sizeof(token));
	if (body == NULL)
		return 0;
	rc = gateway_body_parse(req, body, &name, &groups, &ngroups);
	if (rc != 0 || http_req_replied(req))
		goto out;
	if ((rc = crypto_token_new(token, token_id, hash)) != 0)
		goto out;
	c = store_acquire(app->store);
	rc = store_gateway_create(
	    c, token_id, hash, name, groups, ngroups, missing);
	store_release(app->store, c);
	if (rc == OTA_ECONFLICT) {
		rc = http_reply_error(req, 409, "conflict",
		    "name: an active gateway token is named '%s'", name);
		goto out;
	}
	if (rc == OTA_ENOTFOUND) {
		for (i = 0; i < ngroups; i++)
			if (strcmp(groups[i], missing) == 0)
				break;
		rc = http_reply_error(req, 404, "not_found",
		    "groups[%zu]: no group named '%s'", i, missing);
		goto out;
	}
	if (rc != 0)
		goto out;
	log_info("msg=\"gateway token created\" gateway=%s token_id=%s "
	         "groups=%zu by=%s",
	    name, token_id, ngroups, http_req_who(req)->name);
	rc = reply_gateway_created(req, token_id, token);
out:
	sodium_memzero(token, sizeof(token));
	free(groups);
	return rc;
}

int
http_api_groups_gateway_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_gateway *v = NULL;
	struct store_conn *c;
	size_t n = 0;
	json_t *arr;
	int rc;

	c = store_acquire(app->store);
	rc = store_gateway_list(c, &v, &n);
	store_release(app->store, c);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, gateway_json(&v[i]));
	store_gateway_list_free(v, n);
	return http_reply_json(req, 200, json_pack("{s:o}", "gateways", arr));
}

int
http_api_groups_gateway_delete(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *key = http_req_param(req, 0);
	enum store_gateway_key by;
	struct store_conn *c;
	int rc;

	/* Token ids (hex) and names share the group-name alphabet.  A key
	 * shaped like a token id is only ever an id: no gateway may be
	 * named so, so the key names one token, never another's. */
	if (key == NULL || !store_group_name_valid(key))
		return http_reply_error(
		    req, 404, "not_found", "no such gateway token");
	by = crypto_token_id_shaped(key) ? STORE_GATEWAY_BY_ID
	                                 : STORE_GATEWAY_BY_NAME;
	c = store_acquire(app->store);
	rc = store_gateway_revoke(c, by, key);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(req, 404, "not_found",
		    "no active gateway token %s '%s'",
		    by == STORE_GATEWAY_BY_ID ? "with id" : "named", key);
	if (rc != 0)
		return rc;
	log_info("msg=\"gateway token revoked\" %s=%s by=%s",
	    by == STORE_GATEWAY_BY_ID ? "id" : "name", key,
	    http_req_who(req)->name);
	return http_reply_empty(req, 204);
}
