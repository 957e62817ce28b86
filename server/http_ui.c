/*
 * http_ui: the dashboard's static files, embedded in the binary.  Every
 * answer here, 404 and 304 included, carries the same security headers:
 * the page may run only its own script and style, talk only to this
 * origin, and never be framed; its token lives in the browser's
 * sessionStorage and is sent by the page's script, never in a URL.
 */
#include "http_ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "errors.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"

#define HTTP_UI_CSP                                                            \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; "          \
	"form-action 'none'; frame-ancestors 'none'"

/* Adds the headers every dashboard answer carries. */
static void
ui_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", HTTP_UI_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

/* The asset called name, or NULL. */
static const struct http_ui_asset *
ui_find(const char *name)
{
	for (const struct http_ui_asset *a = http_ui_assets; a->name != NULL;
	     a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* 1 when the If-None-Match header names etag (or is "*"). */
static int
ui_not_modified(struct http_req *req, const char *etag)
{
	const char *inm = http_req_header(req, "If-None-Match");

	if (inm == NULL)
		return 0;
	return strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL;
}

/* The 404 of the dashboard: the API's error shape, with its headers.
 * The name is the client's (any bytes, any length): its first bytes are
 * shown, scrubbed to valid UTF-8 so that the body can be built. */
static int
ui_not_found(struct http_req *req, const char *name)
{
	struct MHD_Response *resp;
	char shown[128];
	json_t *body;
	char *text;
	size_t len;

	snprintf(shown, sizeof(shown), "%s", name);
	json_util_utf8_scrub(shown);
	body = json_pack("{s:s, s:s+}", "error", "not_found", "detail",
	    "no such dashboard file: ", shown);
	text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		return OTA_ENOMEM;
	len = strlen(text);
	resp =
	    MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return OTA_ENOMEM;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ui_headers(resp);
	return http_reply(req, 404, resp, len);
}

/* Answers asset a: 304 when the client holds it, else its bytes.  The
 * client revalidates every time (no-cache): a new build changes the ETag,
 * and a page never mixes files of two builds for long. */
static int
ui_send(struct http_req *req, const struct http_ui_asset *a)
{
	struct MHD_Response *resp;
	int nm = ui_not_modified(req, a->etag);

	resp = MHD_create_response_from_buffer(nm ? 0 : a->len,
	    nm ? NULL : (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return OTA_ENOMEM;
	if (!nm)
		MHD_add_response_header(resp, "Content-Type", a->type);
	MHD_add_response_header(resp, "ETag", a->etag);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	ui_headers(resp);
	return http_reply(req, nm ? 304 : 200, resp, nm ? 0 : a->len);
}

int
http_ui_index(struct http_req *req)
{
	const struct http_ui_asset *a = ui_find("index.html");

	return a != NULL ? ui_send(req, a) : ui_not_found(req, "index.html");
}

int
http_ui_asset(struct http_req *req)
{
	const char *name = http_req_param(req, 0);
	const struct http_ui_asset *a = ui_find(name);

	return a != NULL ? ui_send(req, a) : ui_not_found(req, name);
}

int
http_ui_redirect(struct http_req *req)
{
	static const char body[] = "see /ui/\n";
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(
	    sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return OTA_ENOMEM;
	MHD_add_response_header(resp, "Location", "/ui/");
	MHD_add_response_header(resp, "Content-Type", "text/plain");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ui_headers(resp);
	return http_reply(req, 302, resp, sizeof(body) - 1);
}
