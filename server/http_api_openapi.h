/*
 * http_api_openapi: GET /api/v1/openapi.json, the OpenAPI 3.1 document
 * of every route (docs/openapi.json), embedded at build time by
 * tools/embed-openapi.sh.  Served to anyone, as /api/v1/keys: it holds
 * no secret.
 */
#ifndef OTAD_HTTP_API_OPENAPI_H
#define OTAD_HTTP_API_OPENAPI_H

#include <stddef.h>

#include "http_server.h"

/* docs/openapi.json's bytes as built (generated file; a NUL follows
 * them), and their count without that NUL. */
extern const unsigned char http_api_openapi_json[];
extern const size_t http_api_openapi_json_len;

/* GET /api/v1/openapi.json (no token): 200 with the document as
 * application/json.  Returns as http_reply. */
int http_api_openapi_get(struct http_req *req);

#endif
