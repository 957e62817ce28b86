/*
 * http_api_events: update events over REST.  Devices and companion apps
 * post one event or a batch (a phone uploading what it queued offline);
 * the reply comes only once the writer's transaction holding them is
 * durable.  Operators read a device's events back, newest first.
 */
#ifndef OTAD_HTTP_API_EVENTS_H
#define OTAD_HTTP_API_EVENTS_H

#include "http_server.h"

/* POST /api/v1/devices/{id}/events (AUTH_DEVICE, HTTP_BODY_JSON): one
 * event object, or an array of 1..TELEMETRY_BATCH_MAX. */
int http_api_events_post(struct http_req *req);

/* GET /api/v1/devices/{id}/events?before=&limit= (viewer). */
int http_api_events_list(struct http_req *req);

/* GET /api/v1/devices/{id}/updates?before=&limit= (viewer): the device's
 * status in each rollout, newest rollout first, paged by rollout id. */
int http_api_events_updates(struct http_req *req);

#endif
