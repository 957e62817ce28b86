/*
 * http_api_ddi: otad's hawkBit Direct Device Integration (DDI) API
 * (docs/ddi.md), under /{tenant}/controller/v1/{controllerId}, for device
 * agents that speak hawkBit (SWUpdate's suricatta, Zephyr, rauc-hawkbit-
 * updater), and the REST views of DDI actions for operators.  The rules
 * are ddi.c's (pure) and the rows store_ddi.c's; the offer is the REST
 * manifest's (offers.c), so both APIs decide alike.
 */
#ifndef OTAD_HTTP_API_DDI_H
#define OTAD_HTTP_API_DDI_H

#include "http_server.h"

/*
 * The device routes (role AUTH_DDI: every refusal a 401, as hawkBit;
 * another tenant a 404).  {} 0 is the tenant, {} 1 the controllerId (the
 * device id), {} 2 an action or image id, {} 3 an artifact's file name.
 */
/* GET {base}: the poll; writes only to create or cancel an action. */
int http_api_ddi_poll(struct http_req *req);
/* GET {base}/deploymentBase/{action} (any ?c=). */
int http_api_ddi_deployment(struct http_req *req);
/* POST {base}/deploymentBase/{action}/feedback (lax JSON). */
int http_api_ddi_deployment_feedback(struct http_req *req);
/* GET {base}/cancelAction/{action}. */
int http_api_ddi_cancel(struct http_req *req);
/* POST {base}/cancelAction/{action}/feedback (lax JSON). */
int http_api_ddi_cancel_feedback(struct http_req *req);
/* PUT {base}/configData (lax JSON). */
int http_api_ddi_config_data(struct http_req *req);
/* GET {base}/installedBase/{action}. */
int http_api_ddi_installed(struct http_req *req);
/* GET|HEAD {base}/softwaremodules/{image}/artifacts/{filename}, and
 * {filename}.MD5SUM. */
int http_api_ddi_artifact(struct http_req *req);

/*
 * Management (REST, API tokens), {} 0 the device id:
 * GET /api/v1/devices/{}/actions (viewer), GET /api/v1/devices/{}/
 * actions/{}/feedback (viewer), POST /api/v1/devices/{}/attributes/
 * refresh (admin).
 */
int http_api_ddi_actions_list(struct http_req *req);
int http_api_ddi_feedback_list(struct http_req *req);
int http_api_ddi_attributes_refresh(struct http_req *req);

/*
 * The attributes device_id sent as configData, for the device's REST
 * JSON: a new reference to an object, or to JSON null when none were
 * received; NULL on a database error (logged).  c is borrowed.
 */
struct store_conn;
json_t *http_api_ddi_attributes_json(
    struct store_conn *c, const char *device_id);

#endif
