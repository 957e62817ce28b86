/*
 * http_reply: answering a request, once.  A reply made while the body is
 * still arriving is kept in req->pending when libmicrohttpd will not take
 * it yet (http_server queues it once the request is complete).  Every
 * error body has one shape, {"error", "detail"}, and every OTA_E* code one
 * status (http_reply_status_for).
 */
#include "http_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "json_util.h"
#include "log.h"

unsigned
http_reply_status_for(int rc)
{
	switch (rc) {
	case OTA_OK:
		return 200;
	case OTA_EINVAL:
		return 400;
	case OTA_EUNAUTH:
		return 401;
	case OTA_EFORBID:
		return 403;
	case OTA_ENOTFOUND:
		return 404;
	case OTA_ECONFLICT:
		return 409;
	case OTA_ETOOBIG:
		return 413;
	case OTA_ERANGE:
		return 416;
	case OTA_ESIG:
	case OTA_EMISMATCH:
		return 422;
	case OTA_ESCHEMA:
	case OTA_ENOMEM:
		return 503;
	default:
		return 500;
	}
}

int
http_reply(struct http_req *req, unsigned status, struct MHD_Response *resp,
    uint64_t body_bytes)
{
	if (resp == NULL)
		return OTA_ENOMEM;
	if (req->replied) {
		char vp[LOG_VALUE_MAX];

		log_debug("msg=\"second reply ignored\" path=%s",
		    log_value(vp, sizeof(vp), req->path));
		MHD_destroy_response(resp);
		return 0;
	}
	req->replied = 1;
	req->status = status;
	req->bytes_out = body_bytes;
	if (!req->complete) {
		/* MHD may refuse a reply while it is still reading the body;
		 * keep it and queue it once the request is complete. */
		if (MHD_queue_response(req->conn, status, resp) == MHD_YES) {
			MHD_destroy_response(resp);
			return 0;
		}
		req->pending = resp;
		return 0;
	}
	if (MHD_queue_response(req->conn, status, resp) != MHD_YES) {
		MHD_destroy_response(resp);
		return OTA_EIO;
	}
	MHD_destroy_response(resp);
	return 0;
}

int
http_reply_json(struct http_req *req, unsigned status, json_t *body)
{
	char *text;

	if (body == NULL)
		return OTA_ENOMEM;
	/* 15 digits: a threshold of 0.05 reads 0.05, not
	 * 0.050000000000000003. */
	text = json_dumps(
	    body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	json_decref(body);
	if (text == NULL)
		return OTA_ENOMEM;
	return http_reply_json_text(req, status, text, strlen(text));
}

int
http_reply_json_text(
    struct http_req *req, unsigned status, char *text, size_t len)
{
	struct MHD_Response *resp;

	resp =
	    MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return OTA_ENOMEM;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* The challenge names the schemes the route takes: hawkBit clients
	 * send TargetToken (or GatewayToken), never Bearer. */
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate",
		    req->ddi ? "TargetToken realm=\"otad\", "
		               "GatewayToken realm=\"otad\""
		             : "Bearer realm=\"otad\"");
	return http_reply(req, status, resp, len);
}

int
http_reply_empty(struct http_req *req, unsigned status)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return OTA_ENOMEM;
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return http_reply(req, status, resp, 0);
}

int
http_reply_error(struct http_req *req, unsigned status, const char *error,
    const char *detail_fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, detail_fmt);
	vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	va_end(ap);
	/* A detail quoting the client's input, cut to length, may end in
	 * half a character: jansson would refuse it and the 4xx become a
	 * 500. */
	json_util_utf8_scrub(detail);
	return http_reply_json(req, status,
	    json_pack("{s:s, s:s}", "error", error, "detail", detail));
}

int
http_reply_rc(struct http_req *req, int rc, const char *detail)
{
	return http_reply_error(req, http_reply_status_for(rc), ota_errname(rc),
	    "%s", detail != NULL ? detail : ota_strerror(rc));
}
