/*
 * http_server: libmicrohttpd daemons (HTTPS, and plain HTTP when
 * configured), TLS, connection limits, routing, authentication before any
 * body is read, body limits, and one log line per request.  Handlers read
 * their request through http_req.h and answer through http_reply.h (the
 * only place that maps OTA_E* codes to HTTP statuses).
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
 * flight to finish and, past it, for every parked (suspended) request to
 * be resumed, then stops the daemons and frees the server.  NULL-safe.
 */
void http_server_stop(struct http_server *srv, int timeout_sec);

#endif
