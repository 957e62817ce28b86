/*
 * http_api_metrics: GET /metrics, the Prometheus scrape.  The request
 * counters live in metrics.c; this handler reads the facts that are
 * counted at scrape time (telemetry, rollouts by state) and renders it.
 */
#ifndef OTAD_HTTP_API_METRICS_H
#define OTAD_HTTP_API_METRICS_H

#include "http_server.h"

/* GET /metrics (AUTH_METRICS: a viewer token, or none by config). */
int http_api_metrics_get(struct http_req *req);

#endif
