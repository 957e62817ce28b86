/*
 * http_api_groups: the /api/v1/groups resource (create, list, one group,
 * delete, bulk membership changes) and /api/v1/gateways, the group-scoped
 * tokens of companion apps (create, list, revoke).  A gateway's token is
 * shown once, in the 201 reply.
 */
#ifndef OTAD_HTTP_API_GROUPS_H
#define OTAD_HTTP_API_GROUPS_H

#include "http_server.h"

int http_api_groups_create(struct http_req *req);
int http_api_groups_list(struct http_req *req);
int http_api_groups_get(struct http_req *req);
int http_api_groups_patch(struct http_req *req);
int http_api_groups_delete(struct http_req *req);
int http_api_groups_members(struct http_req *req);
int http_api_groups_gateway_create(struct http_req *req);
int http_api_groups_gateway_list(struct http_req *req);
int http_api_groups_gateway_delete(struct http_req *req);

#endif
