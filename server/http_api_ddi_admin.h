/*
 * http_api_ddi_admin: the REST views of otad's hawkBit DDI actions for
 * operators (API tokens, docs/ddi.md); the device API itself is
 * http_api_ddi.h's.
 */
#ifndef OTAD_HTTP_API_DDI_ADMIN_H
#define OTAD_HTTP_API_DDI_ADMIN_H

#include "http_server.h"

/*
 * {} 0 is the device id (404 when malformed or unknown).
 * GET /api/v1/devices/{}/actions (viewer): the device's actions, oldest
 * first, paged by ?after= (an action id) and ?limit= (1..1000, default
 * 100): {"actions":[..],"next_after":id|null}.
 */
int http_api_ddi_admin_actions_list(struct http_req *req);

/*
 * GET /api/v1/devices/{}/actions/{}/feedback (viewer): the feedback of
 * one action of the device (404 for another device's), paged as above:
 * {"feedback":[..],"next_after":id|null}.
 */
int http_api_ddi_admin_feedback_list(struct http_req *req);

/*
 * POST /api/v1/devices/{}/attributes/refresh (admin): asks the device
 * for its attributes (configData) at its next poll:
 * {"device":id,"attributes_wanted":true}.
 */
int http_api_ddi_admin_attributes_refresh(struct http_req *req);

#endif
