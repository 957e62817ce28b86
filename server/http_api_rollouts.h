/*
 * http_api_rollouts: the /api/v1/rollouts resource: create a draft
 * rollout (validated by the pure rules of rollout.h), list with filters
 * and a cursor, one rollout, its audit events, and the actions start,
 * pause, resume, advance and abort.  Every committed change bumps
 * app->rollouts_gen so the offer cache reloads.
 */
#ifndef OTAD_HTTP_API_ROLLOUTS_H
#define OTAD_HTTP_API_ROLLOUTS_H

#include "http_server.h"

/* A stage's percentage from basis points, as rollouts and their health
 * show it: an integer when whole (25, not 25.0).  A new reference. */
json_t *http_api_rollouts_percent_json(uint16_t bp);

/* POST /api/v1/rollouts (HTTP_BODY_JSON). */
int http_api_rollouts_create(struct http_req *req);
/* GET /api/v1/rollouts?state=&image=&limit=&after= */
int http_api_rollouts_list(struct http_req *req);
/* GET /api/v1/rollouts/{id} */
int http_api_rollouts_get(struct http_req *req);
/* GET /api/v1/rollouts/{id}/events */
int http_api_rollouts_events(struct http_req *req);
/*
 * POST /api/v1/rollouts/{id}/{action} (HTTP_BODY_STREAM: the body is
 * optional, {"reason": "..."}, so it is collected here rather than by the
 * JSON body kind, which requires one).
 */
int http_api_rollouts_action_start(struct http_req *req);
int http_api_rollouts_action_body(
    struct http_req *req, const char *data, size_t len);
int http_api_rollouts_action_finish(struct http_req *req);

#endif
