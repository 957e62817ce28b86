/*
 * http_api_manifest: what devices and companion apps call: the signed
 * manifest (GET /api/v1/devices/{id}/manifest), the image download with a
 * device/gateway token or a signed URL token (GET|HEAD
 * /api/v1/devices/{id}/download/{image id}), and the public keys a device
 * verifies with (GET /api/v1/keys).  docs/manifests.md is the contract.
 */
#ifndef OTAD_HTTP_API_MANIFEST_H
#define OTAD_HTTP_API_MANIFEST_H

#include "http_server.h"

/* Route handlers (see http_api.c); each replies and returns 0 or an
 * OTA_E* code.  Run on libmicrohttpd's worker threads. */
int http_api_manifest_get(struct http_req *req);
int http_api_manifest_download(struct http_req *req);
int http_api_manifest_keys(struct http_req *req);

#endif
