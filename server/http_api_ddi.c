/*
 * http_api_ddi: the hawkBit DDI device routes: parse, authorize, call the
 * DDI service (ddi_service.c: the poll, feedback and configData rules and
 * transactions), reply.  Every refusal of the device API is a 401
 * (hawkBit's answer: no device enumeration); the feedback and configData
 * answers are 200 with an empty body, the only success SWUpdate accepts
 * without retrying forever.
 */
#include "http_api_ddi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ddi.h"
#include "ddi_service.h"
#include "errors.h"
#include "http_download.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "store_devices.h"
#include "store_images.h"
#include "timeutil.h"

/* "https://host:port/{tenant}/controller/v1/{controllerId}". */
#define DDI_BASE_MAX                                                           \
	(MANIFEST_BASE_URL_MAX + DDI_TENANT_MAX + STORE_DEVICE_ID_MAX + 32)
/* {base} + "/softwaremodules/{id}/artifacts/" + an encoded file name +
 * ".MD5SUM", or the longest action link. */
#define DDI_HREF_MAX (DDI_BASE_MAX + 64 + 3 * DESCRIPTOR_FILENAME_MAX + 16)
#define DDI_REPLIED 1 /* ddi_access refused and replied */

/* What every device route knows once the caller is let in. */
struct ddi_ctx {
	const char *id;          /* controllerId: the device (borrowed) */
	char base[DDI_BASE_MAX]; /* absolute {base}, for hrefs */
};

/* An image as a deployment shows it; a points into the buffers. */
struct ddi_art {
	struct ddi_artifact a;
	char filename[DESCRIPTOR_FILENAME_MAX + 1];
	char download[DDI_HREF_MAX];
	char md5sum[DDI_HREF_MAX + 8]; /* download + ".MD5SUM" */
};

/* The one refusal of the device API. */
static int
reply_unauthorized(struct http_req *req)
{
	return http_reply_error(req, 401, "unauthorized",
	    "this token may not act for this controller");
}

/*
 * Checks a device route: the tenant (404 for another), the controllerId
 * and the caller's right to act for it (401), and builds {base}.
 * Returns 0 and *x, DDI_REPLIED after replying, or an OTA_E* code.
 */
static int
ddi_access(struct http_req *req, struct ddi_ctx *x)
{
	struct app *app = http_req_app(req);
	const char *tenant = http_req_param(req, 0);
	char host[MANIFEST_BASE_URL_MAX];
	int rc;

	x->id = http_req_param(req, 1);
	if (tenant == NULL || strcasecmp(tenant, app->cfg.ddi_tenant) != 0) {
		http_reply_error(req, 404, "not_found", "no tenant '%.64s'",
		    tenant != NULL ? tenant : "");
		return DDI_REPLIED;
	}
	if (x->id == NULL || !store_device_id_valid(x->id)) {
		reply_unauthorized(req);
		return DDI_REPLIED;
	}
	rc = http_req_device_access(req, NULL, x->id);
	if (rc == OTA_EFORBID)
		return DDI_REPLIED;
	if (rc != 0)
		return rc;
	if (manifest_base_url(app->cfg.public_url, http_req_is_tls(req),
	        http_req_header(req, "Host"), host) != 0) {
		http_reply_error(req, 400, "invalid_request",
		    "Host: missing or not host[:port] (or set public_url)");
		return DDI_REPLIED;
	}
	snprintf(x->base, sizeof(x->base), "%s/%s/controller/v1/%s", host,
	    app->cfg.ddi_tenant, x->id);
	return 0;
}

/* The action id of {} 2, or 0 after replying 404. */
static int64_t
route_action_id(struct http_req *req, const struct ddi_ctx *x)
{
	int64_t id;

	if (http_parse_int(http_req_param(req, 2), 1, INT64_MAX, &id) == 0)
		return id;
	http_reply_error(
	    req, 404, "not_found", "no such action for '%s'", x->id);
	return 0;
}

/* RFC 3986 unreserved: the bytes a path segment keeps as is. */
static int
url_unreserved(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || (ch != '\0' && strchr("-._~", ch));
}

/*
 * Fills *out for image image_id whose DDI file name is out->filename
 * (set by the caller) and whose other facts are given: the hrefs are
 * made from x's base.  The strings are borrowed by out->a.
 */
static void
art_fill(const struct ddi_ctx *x, int64_t image_id, const char *name,
    const char *version, uint64_t size, const char *sha1_hex,
    const char *md5_hex, const char *sha256_hex, struct ddi_art *out)
{
	char enc[3 * DESCRIPTOR_FILENAME_MAX + 1];

	/* Fits: enc holds three bytes for each of the name's. */
	(void)http_parse_pct_encode(
	    out->filename, url_unreserved, enc, sizeof(enc));
	snprintf(out->download, sizeof(out->download),
	    "%s/softwaremodules/%lld/artifacts/%s", x->base,
	    (long long)image_id, enc);
	snprintf(out->md5sum, sizeof(out->md5sum), "%s.MD5SUM", out->download);
	out->a.image_id = image_id;
	out->a.name = name;
	out->a.version = version;
	out->a.filename = out->filename;
	out->a.size = size;
	out->a.sha1_hex = sha1_hex;
	out->a.md5_hex = md5_hex;
	out->a.sha256_hex = sha256_hex;
	out->a.download_href = out->download;
	out->a.md5sum_href = out->md5sum;
}

/* *out for a stored image (borrowing from img). */
static void
art_from_image(
    const struct ddi_ctx *x, const struct store_image *img, struct ddi_art *out)
{
	ddi_artifact_filename(&img->desc, out->filename);
	art_fill(x, img->id, img->desc.name, img->desc.version, img->desc.size,
	    img->sha1_hex, img->md5_hex, img->desc.sha256_hex, out);
}

/* *out for the image of a poll's deployment (borrowing from im). */
static void
art_from_poll(const struct ddi_ctx *x, const struct ddi_service_image *im,
    struct ddi_art *out)
{
	snprintf(out->filename, sizeof(out->filename), "%s", im->filename);
	art_fill(x, im->id, im->name, im->version, im->size, im->sha1_hex,
	    im->md5_hex, im->sha256_hex, out);
	if (im->component[0] != '\0')
		out->a.part = im->component;
}

/* The hash of a poll's deployment p: its image, or a bundle's parts
 * (arts: room for BUNDLE_PARTS_MAX, filled). */
static void
poll_hash(const struct ddi_ctx *x, const struct ddi_service_poll *p,
    struct ddi_art *arts, char hash[DDI_HASH_LEN])
{
	struct ddi_artifact a[BUNDLE_PARTS_MAX];
	size_t n = p->part_count;

	if (n == 0) {
		art_from_poll(x, &p->image, &arts[0]);
		ddi_action_hash(p->action_id, &arts[0].a, &p->modes, hash);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		art_from_poll(x, &p->parts[i], &arts[i]);
		a[i] = arts[i].a;
	}
	ddi_action_hash_chunks(p->action_id, a, n, &p->modes, hash);
}

/* Replies 200 with the poll answer p: its links and polling sleep. */
static int
reply_poll(struct http_req *req, const struct ddi_ctx *x,
    const struct ddi_service_poll *p)
{
	struct app *app = http_req_app(req);
	struct ddi_poll_links links;
	struct ddi_art *arts;
	char hash[DDI_HASH_LEN];
	char deploy[DDI_HREF_MAX], cancel[DDI_HREF_MAX];
	char config[DDI_HREF_MAX], installed[DDI_HREF_MAX];
	int64_t sleep_sec;

	memset(&links, 0, sizeof(links));
	if (p->kind == DDI_POLL_DEPLOY) {
		/* About 4 KiB each: off a pool thread's stack. */
		if ((arts = calloc(BUNDLE_PARTS_MAX, sizeof(*arts))) == NULL)
			return OTA_ENOMEM;
		poll_hash(x, p, arts, hash);
		free(arts);
		snprintf(deploy, sizeof(deploy), "%s/deploymentBase/%lld?c=%s",
		    x->base, (long long)p->action_id, hash);
		links.deployment_base = deploy;
	} else if (p->kind == DDI_POLL_CONFIRM) {
		snprintf(deploy, sizeof(deploy), "%s/confirmationBase/%lld",
		    x->base, (long long)p->action_id);
		links.confirmation_base = deploy;
	} else if (p->kind == DDI_POLL_CANCEL) {
		snprintf(cancel, sizeof(cancel), "%s/cancelAction/%lld",
		    x->base, (long long)p->action_id);
		links.cancel_action = cancel;
	}
	if (p->attributes_wanted) {
		snprintf(config, sizeof(config), "%s/configData", x->base);
		links.config_data = config;
	}
	if (p->installed_action_id > 0) {
		snprintf(installed, sizeof(installed), "%s/installedBase/%lld",
		    x->base, (long long)p->installed_action_id);
		links.installed_base = installed;
	}
	sleep_sec = p->kind != DDI_POLL_NONE ? app->cfg.ddi_action_sleep_sec
	                                     : app->cfg.ddi_sleep_sec;
	return http_reply_json(req, 200, ddi_poll_json(sleep_sec, &links));
}

int
http_api_ddi_poll(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct ddi_service_poll poll;
	struct ddi_ctx x;
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	rc = ddi_service_poll(app->ddi, x.id, timeutil_now_sec(), &poll);
	if (rc == OTA_ENOTFOUND)
		return reply_unauthorized(req);
	if (rc != 0)
		return rc;
	metrics_ddi_poll(app->metrics, poll.kind);
	return reply_poll(req, &x, &poll);
}

/* The deploymentBase answer of action aid showing d: one chunk per
 * image (arts: room for BUNDLE_PARTS_MAX). */
static json_t *
deployment_json(const struct ddi_ctx *x, int64_t aid,
    const struct ddi_service_deployment *d, struct ddi_art *arts)
{
	struct ddi_artifact a[BUNDLE_PARTS_MAX];

	for (size_t i = 0; i < d->n; i++) {
		art_from_image(x, d->img[i], &arts[i]);
		if (d->part[i][0] != '\0')
			arts[i].a.part = d->part[i];
		a[i] = arts[i].a;
	}
	return ddi_deployment_json_chunks(aid, a, d->n, &d->modes);
}

/* The deploymentBase answer with its "deployment" named key instead
 * (j's reference taken; NULL on failure). */
static json_t *
rename_deployment(json_t *j, const char *key)
{
	json_t *dep;

	if (j == NULL || strcmp(key, "deployment") == 0)
		return j;
	if ((dep = json_object_get(j, "deployment")) == NULL ||
	    json_object_set(j, key, dep) != 0 ||
	    json_object_del(j, "deployment") != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Answers GET of one of the device's actions as view, the deployment
 * object named key ("deployment"; "confirmation" for confirmationBase). */
static int
reply_action(struct http_req *req, enum ddi_view view, const char *key)
{
	struct app *app = http_req_app(req);
	struct ddi_service_deployment d;
	struct store_image *img = NULL;
	struct ddi_modes modes;
	struct ddi_art *arts;
	struct ddi_ctx x;
	int64_t aid;
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if ((aid = route_action_id(req, &x)) == 0)
		return 0;
	if (view == DDI_VIEW_CANCEL) {
		rc = ddi_service_action(app->ddi, x.id, aid, view,
		    timeutil_now_sec(), &img, &modes);
		store_image_free(img);
	} else {
		rc = ddi_service_deployment(
		    app->ddi, x.id, aid, view, timeutil_now_sec(), &d);
	}
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such action for '%s'", x.id);
	if (rc != 0)
		return rc;
	if (view == DDI_VIEW_CANCEL)
		return http_reply_json(req, 200, ddi_cancel_json(aid));
	if ((arts = calloc(BUNDLE_PARTS_MAX, sizeof(*arts))) == NULL) {
		ddi_service_deployment_clear(&d);
		return OTA_ENOMEM;
	}
	rc = http_reply_json(req, 200,
	    rename_deployment(deployment_json(&x, aid, &d, arts), key));
	free(arts);
	ddi_service_deployment_clear(&d);
	return rc;
}

int
http_api_ddi_deployment(struct http_req *req)
{
	return reply_action(req, DDI_VIEW_DEPLOYMENT, "deployment");
}

/*
 * GET confirmationBase/{actionId}: the action to confirm, as hawkBit's
 * DdiConfirmationBaseAction {"id","confirmation":{...deployment...}}:
 * the deploymentBase answer with its "deployment" named "confirmation".
 */
int
http_api_ddi_confirmation(struct http_req *req)
{
	return reply_action(req, DDI_VIEW_DEPLOYMENT, "confirmation");
}

/*
 * The answer to a device's feedback or confirmation (what) on action aid
 * that the service returned rc for: 200 stored, 404 no such action, 503
 * to send again (the reply says only "again"; the log keeps why).
 */
static int
reply_stored(struct http_req *req, const struct ddi_ctx *x, int64_t aid, int rc,
    const char *what)
{
	if (rc == 0)
		return http_reply_empty(req, 200);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such action for '%s'", x->id);
	log_warn("msg=\"DDI %s not stored\" device=%s action=%lld error=%s",
	    what, x->id, (long long)aid, ota_errname(rc));
	return http_reply_error(req, 503, "unavailable",
	    "the %s could not be stored (%s): send it again", what,
	    ota_errname(rc));
}

/*
 * POST confirmationBase/{actionId}/feedback: the device's (or its
 * user's) answer, {"confirmation":"confirmed"|"denied","code":N,
 * "details":[..]} (ddi_confirmation_parse), recorded as the telemetry
 * event accepted or declined (ddi_service_confirm).
 */
int
http_api_ddi_confirmation_feedback(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct ddi_confirmation cf;
	struct ddi_ctx x;
	char err[256];
	int64_t aid;
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if ((aid = route_action_id(req, &x)) == 0)
		return 0;
	if (ddi_confirmation_parse(http_req_json(req), &cf, err, sizeof(err)) !=
	    0) {
		json_util_utf8_scrub(err);
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	}
	rc = ddi_service_confirm(app->ddi, x.id, aid, &cf);
	if (rc == OTA_ECONFLICT)
		return http_reply_error(req, 409, "conflict",
		    "action %lld is finished: nothing to confirm",
		    (long long)aid);
	return reply_stored(req, &x, aid, rc, "confirmation");
}

/*
 * GET confirmationBase: hawkBit's DdiConfirmationBase, {"autoConfirm":
 * {"active":false},"_links":{"activateAutoConfirm", "confirmationBase"
 * (the action awaiting the device's consent, when one does)}}.  otad
 * never auto-confirms: "active" is always false.  It is the poll's
 * decision (the same reads, the offer noted as a poll's).
 */
int
http_api_ddi_confirmation_base(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct ddi_service_poll poll;
	char href[DDI_HREF_MAX], act[DDI_HREF_MAX];
	struct ddi_ctx x;
	json_t *links;
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	rc = ddi_service_poll(app->ddi, x.id, timeutil_now_sec(), &poll);
	if (rc == OTA_ENOTFOUND)
		return reply_unauthorized(req);
	if (rc != 0)
		return rc;
	snprintf(act, sizeof(act), "%s/confirmationBase/activateAutoConfirm",
	    x.base);
	links = json_pack("{s:{s:s}}", "activateAutoConfirm", "href", act);
	if (links != NULL && poll.kind == DDI_POLL_CONFIRM) {
		snprintf(href, sizeof(href), "%s/confirmationBase/%lld", x.base,
		    (long long)poll.action_id);
		json_object_set_new(links, "confirmationBase",
		    json_pack("{s:s}", "href", href));
	}
	return http_reply_json(req, 200,
	    json_pack("{s:{s:b}, s:o*}", "autoConfirm", "active", 0, "_links",
	        links));
}

/*
 * POST confirmationBase/activateAutoConfirm | deactivateAutoConfirm:
 * otad asks for consent on each action of a require_consent rollout and
 * keeps no standing consent of a device: activating is refused (409,
 * saying so), deactivating is what already holds (200).
 */
int
http_api_ddi_auto_confirm(struct http_req *req)
{
	const char *what = http_req_param(req, 2);
	struct ddi_ctx x;
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if (what != NULL && strcmp(what, "deactivateAutoConfirm") == 0)
		return http_reply_empty(req, 200);
	if (what == NULL || strcmp(what, "activateAutoConfirm") != 0)
		return http_reply_error(req, 404, "not_found",
		    "no such confirmationBase resource for '%s'", x.id);
	return http_reply_error(req, 409, "conflict",
	    "auto-confirmation is not supported: otad asks for consent on "
	    "each action of a rollout that requires it (answer "
	    "confirmationBase/{actionId}/feedback)");
}

int
http_api_ddi_installed(struct http_req *req)
{
	return reply_action(req, DDI_VIEW_INSTALLED, "deployment");
}

int
http_api_ddi_cancel(struct http_req *req)
{
	return reply_action(req, DDI_VIEW_CANCEL, "deployment");
}

/* POST of a feedback to deploymentBase or cancelAction (is_cancel). */
static int
post_feedback(struct http_req *req, int is_cancel)
{
	struct app *app = http_req_app(req);
	const json_t *body = http_req_json(req);
	struct ddi_feedback fb;
	struct ddi_ctx x;
	char err[256];
	int64_t aid;
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if ((aid = route_action_id(req, &x)) == 0)
		return 0;
	if (!json_is_object(body))
		return http_reply_error(req, 400, "invalid_request",
		    "body: a feedback object {\"status\":{\"execution\":..}} "
		    "is required");
	if (ddi_feedback_parse(body, aid, &fb, err, sizeof(err)) != 0) {
		json_util_utf8_scrub(err);
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	}
	rc = ddi_service_feedback(app->ddi, x.id, aid, is_cancel, &fb);
	if (rc == OTA_EINVAL)
		return http_reply_error(req, 400, "invalid_request",
		    "status: not a feedback otad knows");
	return reply_stored(req, &x, aid, rc, "feedback");
}

int
http_api_ddi_deployment_feedback(struct http_req *req)
{
	return post_feedback(req, 0);
}

int
http_api_ddi_cancel_feedback(struct http_req *req)
{
	return post_feedback(req, 1);
}

/* A configData parked until its group commit (http_req_suspend). */
struct config_put {
	struct ddi_service_config_job job;
	struct ddi_config cfg;
	struct http_req *req;
	char err[320];
};

/* The answer of a configData: 200 empty once committed; a refusal of
 * the merge or the facts 400 with its reason; an unknown device 401. */
static int
reply_config(struct http_req *req, int rc, char *err)
{
	if (rc == OTA_EINVAL) {
		json_util_utf8_scrub(err);
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	}
	if (rc == OTA_ENOTFOUND)
		return reply_unauthorized(req);
	if (rc != 0)
		return rc;
	return http_reply_empty(req, 200);
}

/* The writer committed (or failed) the job: wake its connection. */
static void
config_done(struct ddi_service_config_job *j)
{
	http_req_resume(((struct config_put *)j->arg)->req);
}

static int
config_resumed(struct http_req *req)
{
	struct config_put *cp = http_req_state(req);

	return reply_config(req, cp->job.rc, cp->err);
}

/*
 * The configData is parsed here, then the connection is parked while the
 * group commit writes it (a worker thread waits for no fsync) and
 * answered once committed (config_resumed).
 */
int
http_api_ddi_config_data(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = http_req_json(req);
	struct config_put *cp;
	struct ddi_ctx x;
	char err[320] = "";
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if (!json_is_object(body))
		return http_reply_error(req, 400, "invalid_request",
		    "body: a configData object {\"data\":{..}} is required");
	if ((cp = calloc(1, sizeof(*cp))) == NULL)
		return OTA_ENOMEM;
	http_req_set_state(req, cp, free);
	rc = ddi_config_parse(body, &cp->cfg, err, sizeof(err));
	if (rc != 0)
		return reply_config(req, rc, err);
	/* The device id is a route parameter: alive while parked. */
	cp->req = req;
	cp->job.device_id = x.id;
	cp->job.cfg = &cp->cfg;
	cp->job.err = cp->err;
	cp->job.errlen = sizeof(cp->err);
	cp->job.done = config_done;
	cp->job.arg = cp;
	/* Parked before it is queued: the writer may resume it at once. */
	http_req_suspend(req, config_resumed);
	if ((rc = ddi_service_config_submit(app->ddi, &cp->job)) != 0) {
		cp->job.rc = rc;
		http_req_resume(req);
	}
	return 0;
}

/* Replies 200 with md5sum's line "<md5>  <filename>\n" (md5sum -c). */
static int
reply_md5sum(
    struct http_req *req, const struct store_image *img, const char *filename)
{
	struct MHD_Response *resp;
	char line[33 + 2 + DESCRIPTOR_FILENAME_MAX + 2];
	int n;

	if (img->md5_hex[0] == '\0')
		return http_reply_error(req, 503, "unavailable",
		    "the image's MD5 is not computed yet");
	n = snprintf(line, sizeof(line), "%s  %s\n", img->md5_hex, filename);
	resp = MHD_create_response_from_buffer(
	    (size_t)n, line, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return OTA_ENOMEM;
	MHD_add_response_header(resp, "Content-Type", "text/plain");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return http_reply(req, 200, resp, (uint64_t)n);
}

int
http_api_ddi_artifact(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *want = http_req_param(req, 3);
	char filename[DESCRIPTOR_FILENAME_MAX + 1];
	struct store_image *img = NULL;
	struct ddi_ctx x;
	int64_t image_id = 0;
	size_t n;
	int rc;

	rc = ddi_access(req, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if (http_parse_int(http_req_param(req, 2), 1, INT64_MAX, &image_id))
		rc = OTA_ENOTFOUND;
	else
		rc = ddi_service_artifact(app->ddi, x.id, image_id, &img);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such artifact for '%s'", x.id);
	if (rc != 0)
		return rc;
	ddi_artifact_filename(&img->desc, filename);
	n = strlen(filename);
	if (want != NULL && strcmp(want, filename) == 0)
		rc = http_download_blob(req, app->images, img, filename);
	else if (want != NULL && strncmp(want, filename, n) == 0 &&
	         strcmp(want + n, ".MD5SUM") == 0)
		rc = reply_md5sum(req, img, filename);
	else
		rc = http_reply_error(
		    req, 404, "not_found", "no such artifact for '%s'", x.id);
	store_image_free(img);
	return rc;
}
