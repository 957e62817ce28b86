/*
 * http_req: a request as handlers see it.  Accessors for what http_server
 * parsed (route parameters, caller, query, headers, JSON body), per-request
 * handler state, and the checks a handler makes on its arguments before
 * acting; a check that fails answers the client itself.  Everything
 * returned is borrowed for the request's life.
 */
#ifndef OTAD_HTTP_REQ_H
#define OTAD_HTTP_REQ_H

#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

struct app;
struct auth_identity;
struct http_req;
struct store_conn;

/* Accessors; all run on the request's libmicrohttpd thread and return
 * values borrowed for the request's life. */
struct app *http_req_app(struct http_req *req);
struct MHD_Connection *http_req_conn(struct http_req *req);
const struct auth_identity *http_req_who(struct http_req *req);
const char *http_req_method(struct http_req *req);
int http_req_is_tls(struct http_req *req);
/* The i-th "{}" segment of the route, or NULL. */
const char *http_req_param(struct http_req *req, int i);
/* A query argument or request header, or NULL. */
const char *http_req_query(struct http_req *req, const char *key);

/*
 * Every value of a repeated query argument key, in request order: writes
 * at most max (borrowed for the request) to out and returns how many the
 * request has (possibly more than max).
 */
size_t http_req_query_all(
    struct http_req *req, const char *key, const char **out, size_t max);
const char *http_req_header(struct http_req *req, const char *name);
/* The parsed body of a HTTP_BODY_JSON(_LAX) route (borrowed), or NULL when the
 * request had no body (absent or 0 bytes): handlers that need one refuse
 * it themselves. */
json_t *http_req_json(struct http_req *req);
/* Length of the request body so far, and the announced Content-Length
 * (-1 when absent, e.g. chunked). */
uint64_t http_req_body_bytes(struct http_req *req);
int64_t http_req_content_length(struct http_req *req);

/* Handler state, freed with free_fn when the request ends. */
void http_req_set_state(
    struct http_req *req, void *state, void (*free_fn)(void *));
void *http_req_state(struct http_req *req);

/* 1 once a reply has been queued. */
int http_req_replied(struct http_req *req);

/*
 * Parks the request instead of replying: its handler, once the whole
 * request is in, calls this and returns 0 without replying, and hands
 * req to another thread, which calls http_req_resume exactly once when
 * the answer is ready (at any time after this call, even before the
 * handler returns).  The libmicrohttpd thread is free meanwhile; once
 * resumed, on_resume(req) runs on it and replies as a handler does
 * (returning an OTA_E* code lets http_server answer).  The request and
 * its state stay alive until then.  Whoever holds suspended requests
 * must resume them all before the server stops.
 */
void http_req_suspend(
    struct http_req *req, int (*on_resume)(struct http_req *));

/* Resumes a request parked by http_req_suspend.  Any thread. */
void http_req_resume(struct http_req *req);

/*
 * The device id of route parameter i when it is a well-formed one
 * (store_device_id_valid); otherwise replies 404 and returns NULL.
 */
const char *http_req_device(struct http_req *req, int i);

/*
 * A handler's answer to a failed store call (rc != 0) on device id: for
 * OTA_ENOTFOUND, replies 404 "no device 'id'" and returns that reply's
 * result; any other code is returned as is, for http_server to answer.
 */
int http_req_device_failed(struct http_req *req, const char *id, int rc);

/*
 * Whether the caller may act for device_id (auth_device_access).  The
 * store is read only for a gateway token's scope: through c, or, when c
 * is NULL, a pooled connection of its own (a device token, the common
 * case, never waits for a connection it does not use).  Returns 0;
 * OTA_EFORBID after replying 403 (401 on an AUTH_DDI route: hawkBit's
 * answer to every refusal); or OTA_EDB, not replied.
 */
int http_req_device_access(
    struct http_req *req, struct store_conn *c, const char *device_id);

/*
 * The page size of a list request: ?limit= in [1, max], or def when
 * absent.  Returns 0 and *out_limit, or OTA_EINVAL after replying 400.
 */
int http_req_limit(struct http_req *req, int def, int max, int *out_limit);

#endif
