/*
 * http_req: what handlers read of a request (filled by http_server), and
 * the argument checks they share: a device id in the path, the caller's
 * right to act for that device, a page size.  A check that fails replies
 * itself (through http_reply) and tells the handler to stop.
 */
#include "http_req.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "store.h"
#include "store_devices.h"

struct app *
http_req_app(struct http_req *req)
{
	return req->app;
}

struct MHD_Connection *
http_req_conn(struct http_req *req)
{
	return req->conn;
}

const struct auth_identity *
http_req_who(struct http_req *req)
{
	return &req->who;
}

const char *
http_req_method(struct http_req *req)
{
	return req->method;
}

int
http_req_is_tls(struct http_req *req)
{
	return req->tls;
}

const char *
http_req_param(struct http_req *req, int i)
{
	if (i < 0 || i >= HTTP_REQ_MAX_PARAMS)
		return NULL;
	return req->params[i];
}

const char *
http_req_query(struct http_req *req, const char *key)
{
	return MHD_lookup_connection_value(
	    req->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct query_all {
	const char *key;
	const char **out;
	size_t max, n;
};

static enum MHD_Result
query_all_one(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_all *q = cls;

	(void)kind;
	if (key == NULL || strcmp(key, q->key) != 0)
		return MHD_YES;
	if (q->n < q->max)
		q->out[q->n] = value != NULL ? value : "";
	q->n++;
	return MHD_YES;
}

size_t
http_req_query_all(
    struct http_req *req, const char *key, const char **out, size_t max)
{
	struct query_all q = {key, out, max, 0};

	MHD_get_connection_values(
	    req->conn, MHD_GET_ARGUMENT_KIND, query_all_one, &q);
	return q.n;
}

const char *
http_req_header(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

json_t *
http_req_json(struct http_req *req)
{
	return req->json;
}

uint64_t
http_req_body_bytes(struct http_req *req)
{
	return req->body_bytes;
}

int64_t
http_req_content_length(struct http_req *req)
{
	return req->content_length;
}

void
http_req_set_state(struct http_req *req, void *state, void (*free_fn)(void *))
{
	req->state = state;
	req->state_free = free_fn;
}

void *
http_req_state(struct http_req *req)
{
	return req->state;
}

int
http_req_replied(struct http_req *req)
{
	return req->replied;
}

void
http_req_suspend(struct http_req *req, int (*on_resume)(struct http_req *))
{
	req->on_resume = on_resume;
	req->suspended = 1;
	atomic_fetch_add(req->parked, 1);
	MHD_suspend_connection(req->conn);
}

void
http_req_resume(struct http_req *req)
{
	atomic_int *parked = req->parked;

	/* After the resume req may be gone: the counter was read before. */
	MHD_resume_connection(req->conn);
	atomic_fetch_sub(parked, 1);
}

const char *
http_req_device(struct http_req *req, int i)
{
	const char *id = http_req_param(req, i);

	if (id == NULL || !store_device_id_valid(id)) {
		http_reply_error(req, 404, "not_found",
		    "no such device (ids are 1..%d of [A-Za-z0-9._:-])",
		    STORE_DEVICE_ID_MAX);
		return NULL;
	}
	return id;
}

int
http_req_device_failed(struct http_req *req, const char *id, int rc)
{
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no device '%s'", id);
	return rc;
}

int
http_req_device_access(
    struct http_req *req, struct store_conn *c, const char *device_id)
{
	struct app *app = req->app;
	int rc;

	if (c != NULL || req->who.kind != AUTH_KIND_GATEWAY) {
		rc = auth_device_access(c, &req->who, device_id);
	} else {
		c = store_acquire(app->store);
		rc = auth_device_access(c, &req->who, device_id);
		store_release(app->store, c);
	}
	if (rc != OTA_EFORBID)
		return rc;
	if (req->ddi)
		http_reply_error(req, 401, "unauthorized",
		    "this token may not act for controller '%s'", device_id);
	else
		http_reply_error(req, 403, "forbidden",
		    "this token may not act for device '%s'", device_id);
	return rc;
}

int
http_req_limit(struct http_req *req, int def, int max, int *out_limit)
{
	const char *s = http_req_query(req, "limit");
	int64_t v = def;

	if (s != NULL && http_parse_int(s, 1, max, &v) != 0) {
		http_reply_error(req, 400, "invalid_request",
		    "limit: must be an integer 1..%d", max);
		return OTA_EINVAL;
	}
	*out_limit = (int)v;
	return 0;
}
