/*
 * http_reply: the request record and how it is answered.  A request is
 * answered once: later replies are dropped (logged at debug), and a reply
 * made while the body still arrives is held until libmicrohttpd takes it.
 * The JSON error shape ({"error", "detail"}) and the one mapping from
 * OTA_E* codes to HTTP statuses live here and nowhere else.
 */
#ifndef OTAD_HTTP_REPLY_H
#define OTAD_HTTP_REPLY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "auth.h"

/* "{}" segments a route may capture. */
#define HTTP_REQ_MAX_PARAMS 4
/* Bytes of one "{}" path segment: a DDI artifact's file name (at most
 * DESCRIPTOR_FILENAME_MAX, 128) followed by ".MD5SUM" must fit. */
#define HTTP_REQ_PARAM_MAX 160
/* Bytes of the path kept for the log. */
#define HTTP_REQ_PATH_MAX 200

struct app;
struct http_server;
struct http_route;

/*
 * One request in flight.  http_server creates it on the request's first
 * callback, fills it (route, parameters, caller, body) and frees it when
 * the request ends; it is answered through the functions below.  Handlers
 * never touch the fields: they use the http_req_* accessors (http_req.h).
 */
struct http_req {
	struct http_server *srv;
	struct app *app;
	struct MHD_Connection *conn;
	const struct http_route *route;
	/* 1 when the route is for DDI clients (AUTH_DDI): they get 401
	 * for every refusal, with hawkBit's challenge. */
	int ddi;
	const char *method;
	char path[HTTP_REQ_PATH_MAX + 1];
	const char *params[HTTP_REQ_MAX_PARAMS];
	char param_buf[HTTP_REQ_MAX_PARAMS][HTTP_REQ_PARAM_MAX + 1];
	struct auth_identity who;
	int tls;
	struct timespec t0;
	unsigned status;
	uint64_t bytes_out;
	int replied;
	int complete; /* the whole request has been received */
	struct MHD_Response *pending;
	char *body;
	size_t body_len;
	size_t body_cap;
	uint64_t body_bytes;
	int64_t content_length;
	json_t *json;
	void *state;
	void (*state_free)(void *);
	/* Set by http_req_suspend: the connection waits for
	 * http_req_resume, then on_resume answers on its thread. */
	int suspended;
	/* The server's count of parked requests, which its stop waits for
	 * (libmicrohttpd must not stop with one still suspended). */
	atomic_int *parked;
	int (*on_resume)(struct http_req *req);
};

/*
 * Queues resp (taking ownership) with status; body_bytes is what the
 * request log reports.  A second reply for the same request is destroyed
 * and ignored.  Before the request is complete, a response libmicrohttpd
 * refuses is kept in req->pending for http_server to queue later.
 * Returns 0, or OTA_ENOMEM (resp NULL) / OTA_EIO (not queued).  Runs on
 * the request's libmicrohttpd thread, as do all functions here.
 */
int http_reply(struct http_req *req, unsigned status, struct MHD_Response *resp,
    uint64_t body_bytes);

/*
 * Replies body (stolen, NULL gives OTA_ENOMEM) as compact JSON, not
 * cached; a 401 carries the WWW-Authenticate challenge of the route's
 * schemes.  Returns as http_reply.
 */
int http_reply_json(struct http_req *req, unsigned status, json_t *body);

/*
 * http_reply_json of JSON already written: text[0..len) (malloc'd,
 * stolen, freed on failure too) must be compact JSON.  For large bodies
 * whose shape is fixed.  Returns as http_reply.
 */
int http_reply_json_text(
    struct http_req *req, unsigned status, char *text, size_t len);

/* A reply without a body (204 No Content, 304 Not Modified).  Returns as
 * http_reply. */
int http_reply_empty(struct http_req *req, unsigned status);

/*
 * Replies {"error": error, "detail": printf(detail_fmt, ...)}; the detail
 * is cut to 511 bytes and scrubbed to valid UTF-8.  Returns as http_reply.
 */
int http_reply_error(struct http_req *req, unsigned status, const char *error,
    const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Error reply for an OTA_E* code: status from http_reply_status_for,
 * error from ota_errname, detail as given (or ota_strerror when NULL).
 * Returns as http_reply.
 */
int http_reply_rc(struct http_req *req, int rc, const char *detail);

/* The HTTP status for an OTA_E* code (200 for 0, 500 for an unknown
 * code).  Pure. */
unsigned http_reply_status_for(int rc);

#endif
