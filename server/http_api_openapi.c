/*
 * http_api_openapi: serves the embedded OpenAPI document.  The text is
 * the build's copy of docs/openapi.json, never read from disk at run
 * time, so the contract served is the one this binary was tested with.
 */
#include "http_api_openapi.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "http_reply.h"

int
http_api_openapi_get(struct http_req *req)
{
	char *text;

	/* http_reply_json_text takes (and frees) a malloc'd copy. */
	if ((text = malloc(http_api_openapi_json_len)) == NULL)
		return OTA_ENOMEM;
	memcpy(text, http_api_openapi_json, http_api_openapi_json_len);
	return http_reply_json_text(req, 200, text, http_api_openapi_json_len);
}
