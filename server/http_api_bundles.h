/*
 * http_api_bundles: the /api/v1/bundles resource: upload of a signed
 * release bundle (a JSON body with the descriptor's exact text and its
 * signatures), list with a name filter and pagination, one bundle, and
 * delete.
 */
#ifndef OTAD_HTTP_API_BUNDLES_H
#define OTAD_HTTP_API_BUNDLES_H

#include "http_server.h"

/* Each replies and returns 0, or returns an OTA_E* code for the server's
 * generic reply; called on an HTTP thread. */
int http_api_bundles_create(struct http_req *req);
int http_api_bundles_list(struct http_req *req);
int http_api_bundles_get(struct http_req *req);
int http_api_bundles_delete(struct http_req *req);

#endif
