/*
 * http_server: libmicrohttpd daemons (HTTPS, and plain HTTP when
 * configured), routing, per-request state, authentication before any body
 * is read, body limits, JSON replies and errors, and one log line per
 * request.  It is the only module that knows HTTP status codes; handlers
 * report OTA_E* codes through http_reply_rc.
 */
#ifndef OTAD_HTTP_SERVER_H
#define OTAD_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "app.h"
#include "auth.h"

struct http_server;
struct http_req;

enum http_body {
	HTTP_BODY_NONE,   /* a body is refused (400) */
	HTTP_BODY_JSON,   /* buffered up to max_json_bytes, parsed, bounded */
	HTTP_BODY_STREAM, /* handed to the route's on_body as it arrives */
	/* As HTTP_BODY_JSON (same cap, same bounded parse), for clients
	 * known to put raw control characters in strings (SWUpdate's DDI
	 * feedback): json_util_repair_strings runs before the parse. */
	HTTP_BODY_JSON_LAX,
};

/*
 * A route.  pattern segments "{}" match one non-empty path segment and are
 * captured (http_req_param).  on_start runs once after authentication,
 * before any body (may reply to refuse early); on_body gets each chunk of
 * a streamed body (return 0, or non-zero after replying to stop reading);
 * handle runs once the whole request is in, unless a reply was made.
 * Every callback returns 0 or an OTA_E* code; a code without a reply is
 * answered by http_reply_rc.
 */
struct http_route {
	const char *method;
	const char *pattern;
	enum auth_role role;
	enum http_body body;
	int (*on_start)(struct http_req *req);
	int (*on_body)(struct http_req *req, const char *data, size_t len);
	int (*handle)(struct http_req *req);
};

/*
 * Starts the daemons on cfg's addresses with `routes` (an array ended by
 * an entry whose method is NULL, borrowed for the server's life).  TLS
 * certificate and key PEM are read from cfg's files.  Returns NULL (logged)
 * on failure.
 */
struct http_server *http_server_start(
    struct app *app, const struct http_route *routes);

/*
 * The TCP ports the listeners bound (the OS's choice for a port configured
 * "auto"): *out_http_port is 0 when plain HTTP is off.
 */
void http_server_ports(
    const struct http_server *srv, int *out_https_port, int *out_http_port);

/*
 * Stops accepting connections, waits up to timeout_sec for requests in
 * flight to finish, then stops the daemons and frees the server.
 * NULL-safe.
 */
void http_server_stop(struct http_server *srv, int timeout_sec);

/* Accessors for handlers; all borrowed for the request's life. */
struct app *http_req_app(struct http_req *req);
struct MHD_Connection *http_req_conn(struct http_req *req);
const struct auth_identity *http_req_who(struct http_req *req);
const char *http_req_method(struct http_req *req);
int http_req_is_tls(struct http_req *req);
/* The i-th "{}" segment of the route, or NULL. */
const char *http_req_param(struct http_req *req, int i);
/* A query argument or request header, or NULL. */
const char *http_req_query(struct http_req *req, const char *key);
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

/*
 * Replies.  Each queues a response once; later calls for the same request
 * are ignored (and logged at debug).  body_bytes is what the log reports.
 * http_reply takes ownership of resp.  http_reply_json steals body.
 * Return 0, or OTA_ENOMEM/OTA_EIO when nothing could be queued.
 */
int http_reply(struct http_req *req, unsigned status, struct MHD_Response *resp,
    uint64_t body_bytes);
int http_reply_json(struct http_req *req, unsigned status, json_t *body);
/* A reply without a body (204 No Content, 304 Not Modified). */
int http_reply_empty(struct http_req *req, unsigned status);
int http_reply_error(struct http_req *req, unsigned status, const char *error,
    const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));
/* Error reply for an OTA_E* code: status from the code, error from
 * ota_errname, detail as given (or ota_strerror when NULL). */
int http_reply_rc(struct http_req *req, int rc, const char *detail);
/* 1 once a reply has been queued. */
int http_req_replied(struct http_req *req);

/*
 * Parses s, a path segment or query argument, as a decimal integer in
 * [min, max]: digits only (no sign, no spaces), no overflow.  Returns 0
 * and *out, or OTA_EINVAL (NULL or empty s too; *out untouched).
 */
int http_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * The device id of route parameter i when it is a well-formed one
 * (store_device_id_valid); otherwise replies 404 and returns NULL.
 */
const char *http_req_device(struct http_req *req, int i);

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

/* The HTTP status for an OTA_E* code. */
unsigned http_status_for(int rc);

#endif
