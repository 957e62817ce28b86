/*
 * http_api: routes.  /healthz answers while the process runs; /readyz
 * only when the database answers and its schema is the one this binary
 * knows, so a load balancer sends no traffic to an otad that cannot serve.
 */
#include "http_api.h"

#include "errors.h"
#include "http_api_ddi.h"
#include "http_api_ddi_admin.h"
#include "http_api_devices.h"
#include "http_api_events.h"
#include "http_api_fleet.h"
#include "http_api_health.h"
#include "http_api_groups.h"
#include "http_api_bundles.h"
#include "http_api_images.h"
#include "http_api_manifest.h"
#include "http_api_metrics.h"
#include "http_api_openapi.h"
#include "http_api_rollouts.h"
#include "http_reply.h"
#include "http_req.h"
#include "http_ui.h"
#include "store.h"

static int
healthz(struct http_req *req)
{
	return http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static int
readyz(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_conn *c;
	int rc;

	c = store_acquire(app->store);
	rc = store_ping(c);
	store_release(app->store, c);
	if (rc != 0)
		return http_reply_error(req, 503, "not_ready",
		    "database unavailable or schema not current");
	return http_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

const struct http_route http_api_routes[] = {
    {"GET", "/healthz", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL, healthz},
    {"GET", "/readyz", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL, readyz},
    /* The web dashboard (http_ui.c, http_api_fleet.c): its files need
     * no token; the data it shows does. */
    {"GET", "/", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL, http_ui_redirect},
    {"GET", "/ui", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL, http_ui_redirect},
    {"GET", "/ui/", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL, http_ui_index},
    {"GET", "/ui/{}", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL, http_ui_asset},
    {"GET", "/api/v1/whoami", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_fleet_whoami},
    {"GET", "/api/v1/fleet/summary", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_fleet_summary},
    {"GET", "/api/v1/images", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_images_list},
    {"POST", "/api/v1/images", AUTH_RELEASE, HTTP_BODY_STREAM,
        http_api_images_upload_start, http_api_images_upload_body,
        http_api_images_upload_finish},
    {"GET", "/api/v1/images/{}", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_images_get},
    {"DELETE", "/api/v1/images/{}", AUTH_ADMIN, HTTP_BODY_NONE, NULL, NULL,
        http_api_images_delete},
    {"GET", "/api/v1/images/{}/blob", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_images_blob},
    /* Release bundles (http_api_bundles.c). */
    {"POST", "/api/v1/bundles", AUTH_RELEASE, HTTP_BODY_JSON, NULL, NULL,
        http_api_bundles_create},
    {"GET", "/api/v1/bundles", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_bundles_list},
    {"GET", "/api/v1/bundles/{}", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_bundles_get},
    {"DELETE", "/api/v1/bundles/{}", AUTH_ADMIN, HTTP_BODY_NONE, NULL, NULL,
        http_api_bundles_delete},
    /* Devices, groups and gateway tokens (http_api_devices.c,
     * http_api_groups.c). */
    {"POST", "/api/v1/devices", AUTH_ADMIN, HTTP_BODY_JSON, NULL, NULL,
        http_api_devices_create},
    {"GET", "/api/v1/devices", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_devices_list},
    {"GET", "/api/v1/devices/{}", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_devices_get},
    {"PATCH", "/api/v1/devices/{}", AUTH_ADMIN, HTTP_BODY_JSON, NULL, NULL,
        http_api_devices_patch},
    {"DELETE", "/api/v1/devices/{}", AUTH_ADMIN, HTTP_BODY_NONE, NULL, NULL,
        http_api_devices_delete},
    {"POST", "/api/v1/devices/{}/token", AUTH_ADMIN, HTTP_BODY_NONE, NULL, NULL,
        http_api_devices_token_rotate},
    {"DELETE", "/api/v1/devices/{}/token", AUTH_ADMIN, HTTP_BODY_NONE, NULL,
        NULL, http_api_devices_token_revoke},
    {"POST", "/api/v1/groups", AUTH_ADMIN, HTTP_BODY_JSON, NULL, NULL,
        http_api_groups_create},
    {"GET", "/api/v1/groups", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_groups_list},
    {"GET", "/api/v1/groups/{}", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_groups_get},
    {"DELETE", "/api/v1/groups/{}", AUTH_ADMIN, HTTP_BODY_NONE, NULL, NULL,
        http_api_groups_delete},
    {"PATCH", "/api/v1/groups/{}", AUTH_ADMIN, HTTP_BODY_JSON, NULL, NULL,
        http_api_groups_patch},
    {"POST", "/api/v1/groups/{}/members", AUTH_ADMIN, HTTP_BODY_JSON, NULL,
        NULL, http_api_groups_members},
    {"POST", "/api/v1/gateways", AUTH_ADMIN, HTTP_BODY_JSON, NULL, NULL,
        http_api_groups_gateway_create},
    {"GET", "/api/v1/gateways", AUTH_ADMIN, HTTP_BODY_NONE, NULL, NULL,
        http_api_groups_gateway_list},
    {"DELETE", "/api/v1/gateways/{}", AUTH_ADMIN, HTTP_BODY_NONE, NULL, NULL,
        http_api_groups_gateway_delete},
    /* rollouts (http_api_rollouts.c) */
    {"POST", "/api/v1/rollouts", AUTH_RELEASE, HTTP_BODY_JSON, NULL, NULL,
        http_api_rollouts_create},
    {"GET", "/api/v1/rollouts", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_rollouts_list},
    {"GET", "/api/v1/rollouts/{}", AUTH_VIEWER, HTTP_BODY_NONE, NULL, NULL,
        http_api_rollouts_get},
    {"PATCH", "/api/v1/rollouts/{}", AUTH_RELEASE, HTTP_BODY_JSON, NULL, NULL,
        http_api_rollouts_patch},
    {"GET", "/api/v1/rollouts/{}/events", AUTH_VIEWER, HTTP_BODY_NONE, NULL,
        NULL, http_api_rollouts_events},
    /* Rollout health and audit (http_api_health.c); audit is the
     * events' answer under the name the issue gives it. */
    {"GET", "/api/v1/rollouts/{}/health", AUTH_VIEWER, HTTP_BODY_NONE, NULL,
        NULL, http_api_health_get},
    {"GET", "/api/v1/rollouts/{}/audit", AUTH_VIEWER, HTTP_BODY_NONE, NULL,
        NULL, http_api_rollouts_events},
    {"GET", "/api/v1/rollouts/{}/series", AUTH_VIEWER, HTTP_BODY_NONE, NULL,
        NULL, http_api_fleet_series},
    {"POST", "/api/v1/rollouts/{}/{}", AUTH_RELEASE, HTTP_BODY_STREAM,
        http_api_rollouts_action_start, http_api_rollouts_action_body,
        http_api_rollouts_action_finish},
    /* Devices and companion apps (http_api_manifest.c). */
    {"GET", "/api/v1/devices/{}/manifest", AUTH_DEVICE, HTTP_BODY_NONE, NULL,
        NULL, http_api_manifest_get},
    {"GET", "/api/v1/devices/{}/download/{}", AUTH_DOWNLOAD, HTTP_BODY_NONE,
        NULL, NULL, http_api_manifest_download},
    {"GET", "/api/v1/keys", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL,
        http_api_manifest_keys},
    /* This API's OpenAPI document (http_api_openapi.c). */
    {"GET", "/api/v1/openapi.json", AUTH_NONE, HTTP_BODY_NONE, NULL, NULL,
        http_api_openapi_get},
    /* Update events (http_api_events.c). */
    {"POST", "/api/v1/devices/{}/events", AUTH_DEVICE, HTTP_BODY_JSON, NULL,
        NULL, http_api_events_post},
    {"GET", "/api/v1/devices/{}/events", AUTH_VIEWER, HTTP_BODY_NONE, NULL,
        NULL, http_api_events_list},
    {"GET", "/api/v1/devices/{}/updates", AUTH_VIEWER, HTTP_BODY_NONE, NULL,
        NULL, http_api_events_updates},
    /* Monitoring: Prometheus scrape (http_api_metrics.c). */
    {"GET", "/metrics", AUTH_METRICS, HTTP_BODY_NONE, NULL, NULL,
        http_api_metrics_get},
    /* hawkBit DDI (http_api_ddi.c): the device API under
     * /{tenant}/controller/v1/{controllerId} (every refusal a 401), and
     * its REST views for operators (http_api_ddi_admin.c). */
    {"GET", "/{}/controller/v1/{}", AUTH_DDI, HTTP_BODY_NONE, NULL, NULL,
        http_api_ddi_poll},
    {"GET", "/{}/controller/v1/{}/deploymentBase/{}", AUTH_DDI, HTTP_BODY_NONE,
        NULL, NULL, http_api_ddi_deployment},
    {"POST", "/{}/controller/v1/{}/deploymentBase/{}/feedback", AUTH_DDI,
        HTTP_BODY_JSON_LAX, NULL, NULL, http_api_ddi_deployment_feedback},
    {"GET", "/{}/controller/v1/{}/confirmationBase", AUTH_DDI, HTTP_BODY_NONE,
        NULL, NULL, http_api_ddi_confirmation_base},
    {"GET", "/{}/controller/v1/{}/confirmationBase/{}", AUTH_DDI,
        HTTP_BODY_NONE, NULL, NULL, http_api_ddi_confirmation},
    {"POST", "/{}/controller/v1/{}/confirmationBase/{}/feedback", AUTH_DDI,
        HTTP_BODY_JSON_LAX, NULL, NULL, http_api_ddi_confirmation_feedback},
    {"POST", "/{}/controller/v1/{}/confirmationBase/{}", AUTH_DDI,
        HTTP_BODY_JSON_LAX, NULL, NULL, http_api_ddi_auto_confirm},
    {"GET", "/{}/controller/v1/{}/cancelAction/{}", AUTH_DDI, HTTP_BODY_NONE,
        NULL, NULL, http_api_ddi_cancel},
    {"POST", "/{}/controller/v1/{}/cancelAction/{}/feedback", AUTH_DDI,
        HTTP_BODY_JSON_LAX, NULL, NULL, http_api_ddi_cancel_feedback},
    {"PUT", "/{}/controller/v1/{}/configData", AUTH_DDI, HTTP_BODY_JSON_LAX,
        NULL, NULL, http_api_ddi_config_data},
    {"GET", "/{}/controller/v1/{}/installedBase/{}", AUTH_DDI, HTTP_BODY_NONE,
        NULL, NULL, http_api_ddi_installed},
    {"GET", "/{}/controller/v1/{}/softwaremodules/{}/artifacts/{}", AUTH_DDI,
        HTTP_BODY_NONE, NULL, NULL, http_api_ddi_artifact},
    {"GET", "/api/v1/devices/{}/actions", AUTH_VIEWER, HTTP_BODY_NONE, NULL,
        NULL, http_api_ddi_admin_actions_list},
    {"GET", "/api/v1/devices/{}/actions/{}/feedback", AUTH_VIEWER,
        HTTP_BODY_NONE, NULL, NULL, http_api_ddi_admin_feedback_list},
    {"POST", "/api/v1/devices/{}/attributes/refresh", AUTH_ADMIN,
        HTTP_BODY_NONE, NULL, NULL, http_api_ddi_admin_attributes_refresh},
    {NULL, NULL, AUTH_NONE, HTTP_BODY_NONE, NULL, NULL, NULL},
};

int
http_api_routes_print(FILE *f)
{
	for (const struct http_route *r = http_api_routes; r->method != NULL;
	     r++)
		fprintf(f, "%s\t%s\t%s\n", r->method, r->pattern,
		    auth_role_name(r->role));
	return fflush(f) == 0 && !ferror(f) ? 0 : OTA_EIO;
}
