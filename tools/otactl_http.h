/*
 * otactl_http: the HTTP client of the server-side commands: server URL,
 * API token (never printed), CA bundle, bounded answers, error reports.
 */
#ifndef OTACTL_HTTP_H
#define OTACTL_HTTP_H

#include <curl/curl.h>
#include <jansson.h>

struct otactl;

/*
 * The HTTP client of the server-side commands: one curl handle with the
 * server URL, the API token (in sodium_malloc memory, sent as a bearer
 * token, never printed), the CA bundle, timeouts and a bounded response
 * body.
 */
struct otactl_http {
	CURL *curl;
	char *base;  /* server URL without trailing '/', owned */
	char *token; /* sodium_malloc'd, NUL-terminated */
	char *body;  /* response body, owned, NUL-terminated */
	size_t body_len;
	size_t body_cap;
	int body_overflow;
	char errbuf[CURL_ERROR_SIZE];
	/* When set, the body of a 200 answer goes to sink (a download: it
	 * returns n, or anything else to stop the transfer), not to body;
	 * other answers (errors) are still kept in body. */
	size_t (*sink)(const char *data, size_t n, void *arg);
	void *sink_arg;
};

/* The options every server-side command accepts (ids 100..102). */
#define OTACTL_OPT_SERVER 100
#define OTACTL_OPT_TOKEN_FILE 101
#define OTACTL_OPT_CACERT 102
/* Three table rows: clang-format would take them for a block. */
// clang-format off
#define OTACTL_HTTP_OPTS \
	{"server", 1, OTACTL_OPT_SERVER}, \
	{"token-file", 1, OTACTL_OPT_TOKEN_FILE}, \
	{"cacert", 1, OTACTL_OPT_CACERT}
// clang-format on

/* Stores a server option in ctx; returns 1 when id was one of them. */
int otactl_http_option(struct otactl *ctx, int id, const char *val);

/*
 * Prepares h: resolves the server URL, the token and the CA bundle and
 * sets the common curl options.  Returns 0, or -1 after printing why.
 * otactl_http_close is needed in either case; it wipes the response
 * buffer (answers may carry tokens) before freeing it.
 */
int otactl_http_open(struct otactl *ctx, struct otactl_http *h);
void otactl_http_close(struct otactl_http *h);

/*
 * Performs the request set up on h->curl (URL and method set by the
 * caller), collecting the body.  Returns 0 and the HTTP status in
 * *out_status, or -1 after printing "otactl: <what> failed: <reason>".
 */
int otactl_http_perform(
    struct otactl_http *h, const char *what, long *out_status);

/*
 * Prints "otactl: <what> failed: HTTP <status>: <error>: <detail>" from
 * the JSON error body of the last response (or its text if not JSON).
 */
void otactl_http_report(
    const struct otactl_http *h, const char *what, long status);

/* Parses the last response body as JSON: a new reference, or NULL after
 * printing why. */
json_t *otactl_http_json(const struct otactl_http *h, const char *what);

#endif
