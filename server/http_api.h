/*
 * http_api: the route table of otad (every endpoint, its role and body
 * kind) and the health endpoints.  Reading it lists the whole HTTP API.
 */
#ifndef OTAD_HTTP_API_H
#define OTAD_HTTP_API_H

#include "http_server.h"

/* Ended by an entry whose method is NULL. */
extern const struct http_route http_api_routes[];

#endif
