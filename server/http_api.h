/*
 * http_api: the route table of otad (every endpoint, its role and body
 * kind) and the health endpoints.  Reading it lists the whole HTTP API.
 */
#ifndef OTAD_HTTP_API_H
#define OTAD_HTTP_API_H

#include <stdio.h>

#include "http_server.h"

/* Ended by an entry whose method is NULL. */
extern const struct http_route http_api_routes[];

/*
 * Writes the route table to f, one route a line: method, pattern and the
 * credential class it needs (auth_role_name), tab-separated (otad
 * --routes; tests/integration/test_authz.sh checks every line against its
 * authorization matrix).  Returns 0, or OTA_EIO when f failed.
 */
int http_api_routes_print(FILE *f);

#endif
