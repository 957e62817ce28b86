/*
 * http_api_ddi: otad's hawkBit Direct Device Integration (DDI) API
 * (docs/ddi.md), under /{tenant}/controller/v1/{controllerId}, for device
 * agents that speak hawkBit (SWUpdate's suricatta, Zephyr, rauc-hawkbit-
 * updater).  The rules are ddi.c's (pure) and ddi_service.c's, the rows
 * store_ddi.c's; the offer is the REST manifest's (offers.c), so both
 * APIs decide alike.  The operators' views are http_api_ddi_admin.h's.
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
/* GET /{tenant}/controller/v1/{controllerId}/confirmationBase[/{id}],
 * POST .../confirmationBase/{id}/feedback and .../confirmationBase/
 * {activate,deactivate}AutoConfirm: the consent flow (docs/ddi.md). */
int http_api_ddi_confirmation_base(struct http_req *req);
int http_api_ddi_confirmation(struct http_req *req);
int http_api_ddi_confirmation_feedback(struct http_req *req);
int http_api_ddi_auto_confirm(struct http_req *req);
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

#endif
