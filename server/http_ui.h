/*
 * http_ui: the web dashboard.  Serves the assets embedded at build time
 * (tools/embed-ui.sh writes http_ui_assets[] from ui/) at /ui/ and
 * /ui/{asset}, each with its ETag (304 on If-None-Match) and a strict
 * Content-Security-Policy; no asset is ever read from disk or needs a
 * token: the pages ask the API for data with the token the user pasted.
 */
#ifndef OTAD_HTTP_UI_H
#define OTAD_HTTP_UI_H

#include <stddef.h>

struct http_req;

/* One embedded file; the table ends with a NULL name. */
struct http_ui_asset {
	const char *name; /* "app.js": flat, no directory */
	const char *type; /* its Content-Type */
	const char *etag; /* quoted, e.g. "\"0f3a...\"" */
	const unsigned char *data;
	size_t len;
};

/* The dashboard's files, generated into build/<variant>/gen/ui_assets.c. */
extern const struct http_ui_asset http_ui_assets[];

/* GET /ui/: the dashboard's index.html.  Returns as http_reply. */
int http_ui_index(struct http_req *req);

/* GET /ui/{asset}: that file, or 404 JSON when there is none.  Returns as
 * http_reply. */
int http_ui_asset(struct http_req *req);

/* GET / and GET /ui: 302 to /ui/.  Returns as http_reply. */
int http_ui_redirect(struct http_req *req);

#endif
