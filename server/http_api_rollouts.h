/*
 * http_api_rollouts: the /api/v1/rollouts resource: create a draft
 * rollout (validated by the pure rules of rollout.h), list with filters
 * and a cursor, one rollout, its policy edits, its audit events, and the
 * actions start, pause, resume, advance and abort, each a call of the rollout
 * service (rollout_service.h).
 */
#ifndef OTAD_HTTP_API_ROLLOUTS_H
#define OTAD_HTTP_API_ROLLOUTS_H

#include "http_server.h"

/* POST /api/v1/rollouts (HTTP_BODY_JSON). */
int http_api_rollouts_create(struct http_req *req);
/* GET /api/v1/rollouts?state=&image=&limit=&after= */
int http_api_rollouts_list(struct http_req *req);
/* GET /api/v1/rollouts/{id} */
int http_api_rollouts_get(struct http_req *req);
/*
 * PATCH /api/v1/rollouts/{id} (HTTP_BODY_JSON): edits the policy fields
 * (failure_threshold, min_reports, advance_after, gate, confidence,
 * from_version, start_at) of a
 * draft or paused rollout (409 otherwise), audited as an "update" event;
 * replies 200 with the rollout, 400 for a bad field or value.
 */
int http_api_rollouts_patch(struct http_req *req);
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
