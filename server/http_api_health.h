/*
 * http_api_health: GET /api/v1/rollouts/{id}/health, a rollout's health
 * per stage and in total: devices targeted and in each stage (recomputed
 * from the target groups and the bucket hash), what the devices reported
 * (store_telemetry_counts), the failure rate, when each stage started,
 * and whether the health gate is breached.
 */
#ifndef OTAD_HTTP_API_HEALTH_H
#define OTAD_HTTP_API_HEALTH_H

#include "http_server.h"

/* GET /api/v1/rollouts/{id}/health (viewer). */
int http_api_health_get(struct http_req *req);

#endif
