/*
 * http_api_images: the /api/v1/images resource: multipart upload of a
 * signed image (streamed to disk), list with filters and pagination, one
 * image's metadata, its blob, and delete.
 */
#ifndef OTAD_HTTP_API_IMAGES_H
#define OTAD_HTTP_API_IMAGES_H

#include "http_server.h"

int http_api_images_upload_start(struct http_req *req);
int http_api_images_upload_body(
    struct http_req *req, const char *data, size_t len);
int http_api_images_upload_finish(struct http_req *req);
int http_api_images_list(struct http_req *req);
int http_api_images_get(struct http_req *req);
int http_api_images_blob(struct http_req *req);
int http_api_images_delete(struct http_req *req);

#endif
