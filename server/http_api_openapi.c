/*
 * http_api_openapi: serves the embedded OpenAPI document.  The text is
 * the build's copy of docs/openapi.json, never read from disk at run
 * time, so the contract served is the one this binary was tested with.
 */
#include "http_api_openapi.h"

#include <microhttpd.h>

#include "errors.h"
#include "http_reply.h"

/* The document is served from the binary's own bytes (no copy per
 * request), with the headers of every JSON answer of the API. */
int
http_api_openapi_get(struct http_req *req)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(http_api_openapi_json_len,
	    (void *)http_api_openapi_json, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return OTA_ENOMEM;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	return http_reply(req, 200, resp, http_api_openapi_json_len);
}
