/*
 * http_api_devices: the /api/v1/devices resource for operators:
 * provisioning (one device or up to 10,000 in one atomic call, each token
 * shown once), list with filters and pagination, one device, its labels,
 * delete, and token rotation and revocation.  The device-facing routes
 * (manifest, download) live in http_api_manifest.
 */
#ifndef OTAD_HTTP_API_DEVICES_H
#define OTAD_HTTP_API_DEVICES_H

#include "http_server.h"

int http_api_devices_create(struct http_req *req);
int http_api_devices_list(struct http_req *req);
int http_api_devices_get(struct http_req *req);
int http_api_devices_patch(struct http_req *req);
int http_api_devices_delete(struct http_req *req);
int http_api_devices_token_rotate(struct http_req *req);
int http_api_devices_token_revoke(struct http_req *req);

#endif
