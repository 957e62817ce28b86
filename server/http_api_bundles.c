/*
 * http_api_bundles: REST handlers of release bundles.  The upload body is
 * {"descriptor": "<the signed bytes, as a JSON string>", "signatures":
 * [{"keyid","sig"}]}; the rules are bundle_service's, the rows
 * store_bundles'.  A bundle shows its descriptor base64-encoded, as an
 * image does, so a client verifies exactly the signed bytes.
 */
#include "http_api_bundles.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "bundle_service.h"
#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "store.h"
#include "store_bundles.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000

static const char *const create_fields[] = {"descriptor", "signatures", NULL};

/* The JSON form of part i of b. */
static json_t *
part_json(const struct store_bundle *b, size_t i)
{
	const struct bundle_part *p = &b->desc.parts[i];

	return json_pack("{s:s, s:i, s:o, s:o, s:s, s:I}", "component",
	    p->component, "order", p->order, "via",
	    json_util_string_or_null(p->via), "hardware",
	    json_util_string_or_null(p->hardware), "sha256", p->sha256_hex,
	    "image_id", (json_int_t)b->image_ids[i]);
}

/* The JSON form of a bundle: its parts in install order, then the exact
 * descriptor bytes (base64) and the release signatures. */
static json_t *
bundle_json(const struct store_bundle *b)
{
	json_t *parts = json_array(), *sigs, *o;
	size_t b64len;
	char *b64;

	for (size_t i = 0; i < b->desc.part_count; i++)
		json_array_append_new(parts, part_json(b, i));
	sigs = json_loads(b->signatures, 0, NULL);
	b64len = sodium_base64_encoded_len(
	    b->descriptor_len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64len)) != NULL)
		sodium_bin2base64(b64, b64len, b->descriptor, b->descriptor_len,
		    sodium_base64_VARIANT_ORIGINAL);
	// clang-format off
	o = json_pack("{s:I, s:s, s:s, s:o, s:s, s:s, s:s?, s:o}",
	    "id", (json_int_t)b->id,
	    "name", b->desc.name,
	    "version", b->desc.version,
	    "parts", parts,
	    "created_at", b->created_at,
	    "created_by", b->created_by,
	    "descriptor", b64,
	    "signatures", sigs != NULL ? sigs : json_array());
	// clang-format on
	free(b64);
	return o;
}

/* Replies with bundle id (status), or returns the store's error. */
static int
reply_bundle(struct http_req *req, int64_t id, unsigned status)
{
	struct app *app = http_req_app(req);
	struct store_bundle *b = NULL;
	struct store_conn *c;
	int rc;

	c = store_acquire(app->store);
	rc = store_bundle_get(c, id, &b);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(req, 404, "not_found",
		    "no bundle with id %lld", (long long)id);
	if (rc != 0)
		return rc;
	rc = http_reply_json(req, status, bundle_json(b));
	store_bundle_free(b);
	return rc;
}

int
http_api_bundles_create(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = http_req_json(req), *desc, *sigs;
	char err[320];
	int64_t id;
	int rc, existed;

	if (!json_is_object(body))
		return http_reply_error(req, 400, "invalid_request",
		    "body must be an object: {\"descriptor\": \"...\", "
		    "\"signatures\": [...]}");
	if (json_util_check_keys(body, create_fields, "", err, sizeof(err)) !=
	    0)
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	desc = json_object_get(body, "descriptor");
	sigs = json_object_get(body, "signatures");
	if (!json_is_string(desc))
		return http_reply_error(req, 400, "invalid_request",
		    "descriptor: required, the bundle descriptor's exact "
		    "text as a string");
	if (!json_is_array(sigs))
		return http_reply_error(req, 400, "invalid_request",
		    "signatures: required, an array of {\"keyid\", \"sig\"}");
	err[0] = '\0';
	rc = bundle_service_accept(app->store, app->keyring,
	    app->cfg.release_signatures_required,
	    (const unsigned char *)json_string_value(desc),
	    json_string_length(desc), sigs, http_req_who(req)->name, &id,
	    &existed, err, sizeof(err));
	if (rc != 0) {
		char vby[LOG_VALUE_MAX], vwhy[LOG_VALUE_MAX];

		log_info("msg=\"bundle refused\" by=%s reason=%s",
		    log_value(vby, sizeof(vby), http_req_who(req)->name),
		    log_value(vwhy, sizeof(vwhy), err));
		return http_reply_rc(req, rc, err);
	}
	return reply_bundle(req, id, existed ? 200 : 201);
}

int
http_api_bundles_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_bundle **v = NULL;
	const char *name = http_req_query(req, "name"), *s;
	struct store_conn *c;
	int64_t after = 0;
	size_t n = 0;
	json_t *arr;
	int rc, limit;

	if ((rc = http_req_limit(
	         req, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, &limit)) != 0)
		return rc;
	if ((s = http_req_query(req, "after")) != NULL &&
	    http_parse_int(s, 0, INT64_MAX, &after) != 0)
		return http_reply_error(
		    req, 400, "invalid_request", "after must be a bundle id");
	c = store_acquire(app->store);
	rc = store_bundle_list(c, name, after, limit, &v, &n);
	store_release(app->store, c);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, bundle_json(v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "bundles", arr, "next_after",
	        n == (size_t)limit ? json_integer((json_int_t)v[n - 1]->id)
	                           : json_null()));
	store_bundle_list_free(v, n);
	return rc;
}

/* The bundle id of the route's first parameter: 0, or replied 404. */
static int
bundle_id(struct http_req *req, int64_t *out)
{
	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, out) != 0) {
		http_reply_error(req, 404, "not_found", "no such bundle");
		return OTA_ENOTFOUND;
	}
	return 0;
}

int
http_api_bundles_get(struct http_req *req)
{
	int64_t id;

	if (bundle_id(req, &id) != 0)
		return 0;
	return reply_bundle(req, id, 200);
}

int
http_api_bundles_delete(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_conn *c;
	int64_t id;
	int rc;

	if (bundle_id(req, &id) != 0)
		return 0;
	c = store_acquire(app->store);
	rc = store_bundle_delete(c, id);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(req, 404, "not_found",
		    "no bundle with id %lld", (long long)id);
	if (rc == OTA_ECONFLICT)
		return http_reply_error(req, 409, "conflict",
		    "bundle %lld is shipped by a draft, running or paused "
		    "rollout; abort or complete it first",
		    (long long)id);
	if (rc != 0)
		return rc;
	log_info("msg=\"bundle deleted\" id=%lld by=%s", (long long)id,
	    http_req_who(req)->name);
	return http_reply_json(req, 200,
	    json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}
