/*
 * http_api_ddi: the hawkBit DDI routes.  The poll is a hot path like the
 * REST manifest's: one store connection for the token's scope, the
 * device's facts and its DDI actions, the offer from the in-memory
 * snapshot, the report left in the seen buffer; it writes only to create
 * the offered action or to mark one canceling.  Every refusal of the
 * device API is a 401 (hawkBit's answer: no device enumeration); the
 * feedback and configData answers are 200 with an empty body, the only
 * success SWUpdate accepts without retrying forever.
 */
#include "http_api_ddi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "ddi.h"
#include "errors.h"
#include "http_download.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "offers.h"
#include "rollout.h"
#include "seen.h"
#include "store.h"
#include "store_ddi.h"
#include "store_devices.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "telemetry.h"
#include "timeutil.h"

/* Groups of one device considered for offers (store_device_facts). */
#define DDI_GROUPS_MAX 1024
/* "https://host:port/{tenant}/controller/v1/{controllerId}". */
#define DDI_BASE_MAX                                                           \
	(MANIFEST_BASE_URL_MAX + DDI_TENANT_MAX + STORE_DEVICE_ID_MAX + 32)
/* {base} + "/softwaremodules/{id}/artifacts/" + an encoded file name +
 * ".MD5SUM", or the longest action link. */
#define DDI_HREF_MAX (DDI_BASE_MAX + 64 + 3 * DESCRIPTOR_FILENAME_MAX + 16)
#define DDI_FEEDBACK_TRIES 3 /* reads of an action changed meanwhile */
#define DDI_REPLIED 1        /* ddi_access refused and replied */
#define LIST_DEFAULT_LIMIT 100

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
 * and the caller's right to act for it (401), and builds {base}.  c is
 * read only for a gateway's scope; NULL when the caller has none at hand
 * (http_req_device_access).  Returns 0 and *x, DDI_REPLIED after
 * replying, or an OTA_E* code.
 */
static int
ddi_access(struct http_req *req, struct store_conn *c, struct ddi_ctx *x)
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
	rc = http_req_device_access(req, c, x->id);
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

/* Writes s percent-encoded (all but RFC 3986's unreserved characters)
 * into out; out holds 3 * strlen(s) + 1 bytes. */
static void
pct_encode(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			*out++ = (char)ch;
			continue;
		}
		*out++ = '%';
		*out++ = hex[ch >> 4];
		*out++ = hex[ch & 15];
	}
	*out = '\0';
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

	pct_encode(out->filename, enc);
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

/* *out for an image of the offer snapshot (borrowing from im). */
static void
art_from_offer(
    const struct ddi_ctx *x, const struct offer_image *im, struct ddi_art *out)
{
	snprintf(out->filename, sizeof(out->filename), "%s", im->filename);
	art_fill(x, im->id, im->name, im->version, im->size, im->sha1_hex,
	    im->md5_hex, im->sha256_hex, out);
}

/* The running rollout rollout_id in snapshot s, or NULL. */
static const struct offer_rollout *
snap_rollout(const struct offers_snapshot *s, int64_t rollout_id)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->rollouts[i].id == rollout_id)
			return &s->rollouts[i];
	return NULL;
}

/* What a poll decided, for the answer. */
struct poll_answer {
	enum ddi_poll_kind kind;
	int64_t action_id;
	int64_t rollout_id; /* of a deployment */
	int64_t image_id;   /* of a deployment (its row), 0 unknown */
	int64_t offered_id; /* the offer the device is answered, 0 none */
	int offered_stage;  /* its stage index */
	int attributes_wanted;
	int64_t installed_action_id;
};

/*
 * The poll's reads and writes on c: the device's facts and actions, the
 * offer, the decision, and the one write it may need (creating the
 * offered action, marking one canceling).  Returns 0 and *out (and the
 * stored hw/version for seen), DDI_REPLIED, or an OTA_E* code.  snap is
 * acquired here (*snap, released by the caller even on failure).
 */
static int
poll_decide(struct http_req *req, struct store_conn *c, const struct ddi_ctx *x,
    const struct offers_snapshot **snap, char hw[STORE_HARDWARE_MAX + 1],
    char ver[STORE_VERSION_MAX + 1], struct poll_answer *out)
{
	struct app *app = http_req_app(req);
	static const struct store_ddi_action zero_action;
	int64_t groups[DDI_GROUPS_MAX];
	int64_t except[STORE_DDI_POLL_ACTIONS_MAX];
	struct ddi_active active[STORE_DDI_POLL_ACTIONS_MAX];
	size_t row_of[STORE_DDI_POLL_ACTIONS_MAX];
	const struct offer_rollout *offer = NULL;
	struct store_ddi_action opened = zero_action;
	struct store_ddi_poll poll;
	char reported_hw[STORE_HARDWARE_MAX + 1];
	char now[21];
	size_t ngroups = 0, na = 0, ne = 0, idx = 0;
	int mark = 0, rc;

	memset(out, 0, sizeof(*out));
	/* The device's facts and actions from one snapshot (one read
	 * transaction instead of three), ended before any write. */
	if ((rc = store_begin_read(c)) != 0)
		return rc;
	rc = store_device_poll_facts(
	    c, x->id, hw, reported_hw, ver, groups, DDI_GROUPS_MAX, &ngroups);
	if (rc == 0)
		rc = store_ddi_poll_facts(c, x->id, &poll);
	if (rc == 0)
		rc = store_commit(c);
	else
		store_rollback(c);
	if (rc == OTA_ENOTFOUND) {
		reply_unauthorized(req);
		return DDI_REPLIED;
	}
	if (rc != 0)
		return rc;
	*snap = offers_acquire(app->offers, c);
	out->attributes_wanted = poll.attributes_wanted;
	out->installed_action_id = poll.installed_action_id;
	for (size_t i = 0; i < poll.action_count; i++) {
		const struct store_ddi_action *a = &poll.actions[i];

		/* A final action's rollout is never offered again. */
		if (ddi_status_final(a->status)) {
			except[ne++] = a->rollout_id;
			continue;
		}
		active[na].action_id = a->id;
		active[na].rollout_id = a->rollout_id;
		active[na].status = a->status;
		active[na].rollout_aborted =
		    strcmp(a->rollout_state, "aborted") == 0;
		active[na].targeted = a->targeted;
		row_of[na++] = i;
	}
	/* Without a known version there is no offer (as the REST manifest,
	 * which asks for one): configData brings it.  Nor for a device whose
	 * configData named another hardware than its provisioned one. */
	if (ver[0] != '\0' && !rollout_hardware_mismatch(hw, reported_hw)) {
		rc = offers_pick_except(
		    *snap, x->id, hw, ver, groups, ngroups, except, ne, &offer);
		if (rc == OTA_ENOTFOUND) {
			offer = NULL;
			rc = 0;
		}
		if (rc != 0)
			return rc;
	}
	out->kind = ddi_poll_decide(
	    active, na, offer != NULL ? offer->id : 0, &idx, &mark);
	/* The time is formatted only for a write: most polls make none. */
	switch (out->kind) {
	case DDI_POLL_CANCEL:
		out->action_id = active[idx].action_id;
		if (!mark)
			break;
		store_now_rfc3339(now);
		rc = store_ddi_action_cancel(c, out->action_id, now);
		if (rc == OTA_ECONFLICT || rc == OTA_ENOTFOUND) {
			/* Closed or refused meanwhile: the next poll sees. */
			out->kind = DDI_POLL_NONE;
			out->action_id = 0;
			rc = 0;
		}
		break;
	case DDI_POLL_DEPLOY:
		out->action_id = active[idx].action_id;
		out->rollout_id = active[idx].rollout_id;
		out->image_id = poll.actions[row_of[idx]].image_id;
		break;
	case DDI_POLL_NONE:
		if (offer == NULL)
			break;
		store_now_rfc3339(now);
		rc = store_ddi_action_open(c, offer->id, x->id, now, &opened);
		if (rc == OTA_ENOTFOUND) {
			rc = 0; /* the rollout went meanwhile */
			break;
		}
		if (rc == 0 && (opened.status == DDI_OPEN ||
		                   opened.status == DDI_RUNNING)) {
			out->kind = DDI_POLL_DEPLOY;
			out->action_id = opened.id;
			out->rollout_id = offer->id;
			out->image_id = opened.image_id;
		}
		break;
	}
	if (out->kind == DDI_POLL_DEPLOY && offer != NULL &&
	    out->rollout_id == offer->id) {
		out->offered_id = offer->id;
		out->offered_stage = offer->stage_index;
	}
	return rc;
}

int
http_api_ddi_poll(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const struct offers_snapshot *snap = NULL;
	const struct offer_rollout *r;
	struct store_image *img = NULL;
	struct ddi_poll_links links;
	struct poll_answer ans;
	struct ddi_art art;
	struct ddi_ctx x;
	struct store_conn *c;
	char hw[STORE_HARDWARE_MAX + 1] = "", ver[STORE_VERSION_MAX + 1] = "";
	char hash[DDI_HASH_LEN];
	char deploy[DDI_HREF_MAX], cancel[DDI_HREF_MAX];
	char config[DDI_HREF_MAX], installed[DDI_HREF_MAX];
	int64_t now = (int64_t)time(NULL), sleep_sec;
	int rc;

	memset(&links, 0, sizeof(links));
	c = store_acquire(app->store);
	rc = ddi_access(req, c, &x);
	if (rc == 0)
		rc = poll_decide(req, c, &x, &snap, hw, ver, &ans);
	/* A deployment shows its image: from the snapshot while the rollout
	 * runs, else (paused, completed) from its row. */
	if (rc == 0 && ans.kind == DDI_POLL_DEPLOY) {
		r = snap_rollout(snap, ans.rollout_id);
		if (r != NULL) {
			art_from_offer(&x, &r->image, &art);
		} else if (ans.image_id > 0 &&
		           (rc = store_image_get(c, ans.image_id, &img)) == 0) {
			art_from_image(&x, img, &art);
		} else {
			/* The image is gone: nothing to deploy. */
			ans.kind = DDI_POLL_NONE;
			if (rc == OTA_ENOTFOUND)
				rc = 0;
		}
	}
	store_release(app->store, c);
	if (rc != 0)
		goto out;

	seen_note_offer(app->seen, x.id, NULL, NULL, hw, ver, ans.offered_id,
	    ans.offered_id > 0 ? ans.offered_stage : -1, now);
	metrics_ddi_poll(app->metrics, ans.kind);
	if (ans.kind == DDI_POLL_DEPLOY) {
		ddi_action_hash(ans.action_id, &art.a, hash);
		snprintf(deploy, sizeof(deploy), "%s/deploymentBase/%lld?c=%s",
		    x.base, (long long)ans.action_id, hash);
		links.deployment_base = deploy;
	} else if (ans.kind == DDI_POLL_CANCEL) {
		snprintf(cancel, sizeof(cancel), "%s/cancelAction/%lld", x.base,
		    (long long)ans.action_id);
		links.cancel_action = cancel;
	}
	if (ans.attributes_wanted) {
		snprintf(config, sizeof(config), "%s/configData", x.base);
		links.config_data = config;
	}
	if (ans.installed_action_id > 0) {
		snprintf(installed, sizeof(installed), "%s/installedBase/%lld",
		    x.base, (long long)ans.installed_action_id);
		links.installed_base = installed;
	}
	sleep_sec = ans.kind != DDI_POLL_NONE ? app->cfg.ddi_action_sleep_sec
	                                      : app->cfg.ddi_sleep_sec;
	rc = http_reply_json(req, 200, ddi_poll_json(sleep_sec, &links));
out:
	store_image_free(img);
	if (snap != NULL)
		offers_release(app->offers, snap);
	return rc == DDI_REPLIED ? 0 : rc;
}

/* Which answer an action route gives. */
enum action_view {
	VIEW_DEPLOYMENT, /* deploymentBase: open, running, cancel_rejected */
	VIEW_INSTALLED,  /* installedBase: closed with success */
	VIEW_CANCEL,     /* cancelAction: canceling */
};

/* 1 when action a is shown by view. */
static int
view_shows(enum action_view view, const struct store_ddi_action *a)
{
	switch (view) {
	case VIEW_DEPLOYMENT:
		return !ddi_status_final(a->status) &&
		       a->status != DDI_CANCELING;
	case VIEW_INSTALLED:
		return a->status == DDI_CLOSED &&
		       strcmp(a->result, "success") == 0;
	case VIEW_CANCEL:
		return a->status == DDI_CANCELING;
	}
	return 0;
}

/* Answers GET of one of the device's actions as view. */
static int
reply_action(struct http_req *req, enum action_view view)
{
	struct app *app = http_req_app(req);
	struct store_ddi_action act;
	struct store_image *img = NULL;
	struct store_conn *c;
	struct ddi_art art;
	struct ddi_ctx x;
	int64_t aid = 0;
	int rc;

	c = store_acquire(app->store);
	rc = ddi_access(req, c, &x);
	if (rc == 0 && (aid = route_action_id(req, &x)) == 0)
		rc = DDI_REPLIED;
	if (rc == 0)
		rc = store_ddi_action_get(c, x.id, aid, &act);
	/* hawkBit answers 404 for an action no longer in this state. */
	if (rc == 0 && !view_shows(view, &act))
		rc = OTA_ENOTFOUND;
	if (rc == 0 && view != VIEW_CANCEL)
		rc = act.image_id > 0 ? store_image_get(c, act.image_id, &img)
		                      : OTA_ENOTFOUND;
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such action for '%s'", x.id);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if (view == VIEW_CANCEL)
		return http_reply_json(req, 200, ddi_cancel_json(aid));
	art_from_image(&x, img, &art);
	rc = http_reply_json(req, 200, ddi_deployment_json(aid, &art.a));
	store_image_free(img);
	return rc;
}

int
http_api_ddi_deployment(struct http_req *req)
{
	return reply_action(req, VIEW_DEPLOYMENT);
}

int
http_api_ddi_installed(struct http_req *req)
{
	return reply_action(req, VIEW_INSTALLED);
}

int
http_api_ddi_cancel(struct http_req *req)
{
	return reply_action(req, VIEW_CANCEL);
}

/* Copies at most max bytes of src into dst (max + 1 bytes), cut on a
 * UTF-8 character boundary. */
static void
utf8_cut(char *dst, size_t max, const char *src)
{
	size_t n = strlen(src);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The telemetry event of a feedback whose effect is eff on action a. */
static void
feedback_event(const char *device_id, const struct store_ddi_action *a,
    const struct ddi_feedback *fb, const struct ddi_effect *eff,
    struct telemetry_event *ev)
{
	int64_t now_sec = timeutil_now_ms() / 1000;

	memset(ev, 0, sizeof(*ev));
	/* The same report sent again has the same id: stored once. */
	snprintf(ev->event_id, sizeof(ev->event_id), "ddi-%lld-%s",
	    (long long)a->id, fb->digest);
	snprintf(ev->device_id, sizeof(ev->device_id), "%s", device_id);
	ev->rollout_id = a->rollout_id;
	snprintf(ev->version, sizeof(ev->version), "%s", a->image_version);
	ev->state = eff->state;
	ev->progress = eff->progress;
	ev->result = eff->result;
	utf8_cut(ev->detail, TELEMETRY_DETAIL_MAX, fb->details);
	timeutil_format_rfc3339(now_sec, ev->ts);
	ev->ts_ms = now_sec * 1000;
}

/*
 * Records a parsed feedback on action aid of device x->id: telemetry
 * first (waiting for its commit), then the action's row, read again when
 * it changed meanwhile.  A crash in between is repaired by the client's
 * retry: the event dedupes by id.  Returns 0, OTA_ENOTFOUND or an error.
 */
static int
feedback_record(struct app *app, const struct ddi_ctx *x, int64_t aid,
    int is_cancel, const struct ddi_feedback *fb)
{
	struct store_ddi_action act;
	struct telemetry_event ev;
	struct telemetry_result res;
	struct ddi_effect eff;
	struct store_conn *c;
	char now[21];
	int rc = OTA_ECONFLICT;

	for (int tries = 0; tries < DDI_FEEDBACK_TRIES && rc == OTA_ECONFLICT;
	     tries++) {
		c = store_acquire(app->store);
		rc = store_ddi_action_get(c, x->id, aid, &act);
		store_release(app->store, c);
		if (rc != 0)
			return rc;
		rc = ddi_feedback_apply(act.status, is_cancel, fb, &eff);
		if (rc != 0)
			return rc;
		if (eff.telemetry) {
			feedback_event(x->id, &act, fb, &eff, &ev);
			rc = telemetry_submit(
			    app->telemetry, &ev, 1, TELEMETRY_DDI, &res);
			if (rc != 0)
				return rc;
			if (res.outcome == TELEMETRY_REJECTED)
				log_warn("msg=\"DDI feedback event rejected\" "
				         "device=%s action=%lld reason=%s",
				    x->id, (long long)aid,
				    telemetry_reject_name(res.reject));
		}
		store_now_rfc3339(now);
		c = store_acquire(app->store);
		rc = store_ddi_feedback(
		    c, aid, is_cancel, fb, act.status, &eff, now);
		store_release(app->store, c);
	}
	return rc;
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

	rc = ddi_access(req, NULL, &x);
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
	rc = feedback_record(app, &x, aid, is_cancel, &fb);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such action for '%s'", x.id);
	if (rc == OTA_EINVAL)
		return http_reply_error(req, 400, "invalid_request",
		    "status: not a feedback otad knows");
	if (rc != 0) {
		/* The reply says only "again"; the log keeps why. */
		log_warn(
		    "msg=\"DDI feedback not stored\" device=%s action=%lld "
		    "error=%s",
		    x.id, (long long)aid, ota_errname(rc));
		return http_reply_error(req, 503, "unavailable",
		    "the feedback could not be stored (%s): send it again",
		    ota_errname(rc));
	}
	return http_reply_empty(req, 200);
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

int
http_api_ddi_config_data(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = http_req_json(req);
	char hw[DESCRIPTOR_HW_LEN_MAX + 1], ver[SEMVER_MAX_LEN + 1];
	char err[320], now[21], *cur_text = NULL, *text = NULL;
	json_t *cur = NULL, *attrs = NULL;
	struct store_conn *c = NULL;
	struct ddi_ctx x;
	int rc, in_tx = 0;

	rc = ddi_access(req, NULL, &x);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	if (!json_is_object(body))
		return http_reply_error(req, 400, "invalid_request",
		    "body: a configData object {\"data\":{..}} is required");
	/* Read, merge and write in one transaction: two configData of one
	 * device at once cannot lose either's attributes. */
	c = store_acquire(app->store);
	if ((rc = store_begin(c)) != 0)
		goto out;
	in_tx = 1;
	rc = store_ddi_attributes_get(c, x.id, &cur_text, NULL);
	if (rc != 0)
		goto out;
	if (cur_text != NULL &&
	    json_util_load(cur_text, strlen(cur_text), JSON_UTIL_MAX_DEPTH,
	        &cur, err, sizeof(err)) != 0) {
		log_warn("msg=\"stored DDI attributes unreadable: replaced\" "
		         "device=%s",
		    x.id);
		cur = NULL;
	}
	rc = ddi_config_apply(body, cur, &attrs, err, sizeof(err));
	if (rc == 0)
		rc = ddi_attrs_device_facts(attrs, app->cfg.ddi_attr_hardware,
		    app->cfg.ddi_attr_version, hw, ver, err, sizeof(err));
	if (rc == OTA_EINVAL) {
		json_util_utf8_scrub(err);
		rc = http_reply_error(req, 400, "invalid_request", "%s", err);
		goto out;
	}
	if (rc != 0)
		goto out;
	text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	store_now_rfc3339(now);
	rc = store_ddi_attributes_put(c, x.id, text, hw, ver, now);
	if (rc == 0) {
		in_tx = 0;
		rc = store_commit(c);
	}
	if (rc == OTA_ENOTFOUND) {
		rc = reply_unauthorized(req);
		goto out;
	}
	if (rc != 0)
		goto out;
	/* A version reported here is a poll report too: seen's flush judges
	 * it against completed updates, so a device that boots its old
	 * firmware again (and says so at its agent's start) is counted
	 * reverted, as a REST poll would be. */
	if (ver[0] != '\0')
		seen_note(app->seen, x.id, hw[0] != '\0' ? hw : NULL, ver, "",
		    "", (int64_t)time(NULL));
	rc = http_reply_empty(req, 200);
out:
	if (in_tx)
		store_rollback(c);
	if (c != NULL)
		store_release(app->store, c);
	free(text);
	free(cur_text);
	json_decref(cur);
	json_decref(attrs);
	return rc;
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
	struct store_conn *c;
	struct ddi_ctx x;
	int64_t image_id = 0;
	size_t n;
	int may = 0, rc;

	c = store_acquire(app->store);
	rc = ddi_access(req, c, &x);
	if (rc == 0 &&
	    http_parse_int(http_req_param(req, 2), 1, INT64_MAX, &image_id))
		rc = OTA_ENOTFOUND;
	if (rc == 0 &&
	    (may = store_rollout_device_may_fetch(c, image_id, x.id)) < 0)
		rc = may;
	if (rc == 0 && may == 0)
		rc = OTA_ENOTFOUND;
	if (rc == 0)
		rc = store_image_get(c, image_id, &img);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such artifact for '%s'", x.id);
	if (rc != 0)
		return rc == DDI_REPLIED ? 0 : rc;
	ddi_artifact_filename(&img->desc, filename);
	n = strlen(filename);
	if (want != NULL && strcmp(want, filename) == 0)
		rc = http_download_blob(req, app->blobs, img->desc.sha256_hex,
		    img->desc.size, filename);
	else if (want != NULL && strncmp(want, filename, n) == 0 &&
	         strcmp(want + n, ".MD5SUM") == 0)
		rc = reply_md5sum(req, img, filename);
	else
		rc = http_reply_error(
		    req, 404, "not_found", "no such artifact for '%s'", x.id);
	store_image_free(img);
	return rc;
}

/* ---- Management (REST) ---- */

/* The device id of {} 0 when the device exists; replies 404 (and
 * returns NULL) otherwise. */
static const char *
mgmt_device(struct http_req *req, struct store_conn *c)
{
	const char *id = http_req_device(req, 0);
	char hw[STORE_HARDWARE_MAX + 1], ver[STORE_VERSION_MAX + 1];
	int64_t g[1];
	size_t ng = 0;
	int rc;

	if (id == NULL)
		return NULL;
	rc = store_device_facts(c, id, hw, ver, g, 1, &ng);
	if (rc == OTA_ENOTFOUND)
		http_reply_error(req, 404, "not_found", "no device '%s'", id);
	else if (rc != 0)
		http_reply_rc(req, rc, NULL);
	return rc == 0 ? id : NULL;
}

/* Reads ?after= and ?limit= (1..STORE_DDI_LIST_MAX); replies 400 and
 * returns OTA_EINVAL when either is malformed. */
static int
mgmt_page(struct http_req *req, int64_t *out_after, int *out_limit)
{
	const char *after = http_req_query(req, "after");

	*out_after = 0;
	if (after != NULL &&
	    http_parse_int(after, 0, INT64_MAX, out_after) != 0) {
		http_reply_error(req, 400, "invalid_request",
		    "after: not a non-negative integer");
		return OTA_EINVAL;
	}
	return http_req_limit(
	    req, LIST_DEFAULT_LIMIT, STORE_DDI_LIST_MAX, out_limit);
}

static json_t *
action_json(const struct store_ddi_action *a)
{
	const char *status = ddi_status_name(a->status);

	// clang-format off
	return json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:o}",
	    "id", (json_int_t)a->id,
	    "rollout", (json_int_t)a->rollout_id,
	    "status", status != NULL ? status : "",
	    "result", json_util_string_or_null(a->result),
	    "created_at", a->created_at,
	    "updated_at", a->updated_at,
	    "closed_at", json_util_string_or_null(a->closed_at));
	// clang-format on
}

int
http_api_ddi_actions_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_ddi_action *v = NULL;
	struct store_conn *c;
	const char *id;
	int64_t after;
	size_t n = 0;
	json_t *arr;
	int limit, rc = 0;

	if (mgmt_page(req, &after, &limit) != 0)
		return 0;
	c = store_acquire(app->store);
	id = mgmt_device(req, c);
	if (id != NULL)
		rc = store_ddi_actions_list(c, id, after, limit, &v, &n);
	store_release(app->store, c);
	if (id == NULL || rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, action_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "actions", arr, "next_after",
	        n == (size_t)limit ? json_integer(v[n - 1].id) : json_null()));
	free(v);
	return rc;
}

static json_t *
feedback_json(const struct store_ddi_feedback_row *f)
{
	json_t *progress = json_null();

	if (f->progress_cnt >= 0 || f->progress_of >= 0)
		progress =
		    json_pack("{s:I, s:I}", "cnt", (json_int_t)f->progress_cnt,
		        "of", (json_int_t)f->progress_of);
	// clang-format off
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:s}",
	    "id", (json_int_t)f->id,
	    "kind", f->is_cancel ? "cancel" : "deployment",
	    "execution", f->execution,
	    "finished", f->finished,
	    "progress", progress,
	    "details", f->details,
	    "status_after", f->status_after,
	    "received_at", f->received_at);
	// clang-format on
}

int
http_api_ddi_feedback_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_ddi_feedback_row *v = NULL;
	struct store_ddi_action act;
	struct store_conn *c;
	const char *id;
	int64_t after, aid = 0;
	size_t n = 0;
	json_t *arr;
	int limit, rc = 0;

	if (mgmt_page(req, &after, &limit) != 0)
		return 0;
	c = store_acquire(app->store);
	id = mgmt_device(req, c);
	if (id != NULL &&
	    http_parse_int(http_req_param(req, 1), 1, INT64_MAX, &aid) != 0)
		rc = OTA_ENOTFOUND;
	if (id != NULL && rc == 0)
		rc = store_ddi_action_get(c, id, aid, &act);
	if (id != NULL && rc == 0)
		rc = store_ddi_feedback_list(c, aid, after, limit, &v, &n);
	store_release(app->store, c);
	if (id == NULL)
		return 0;
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no such action of device '%s'", id);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, feedback_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "feedback", arr, "next_after",
	        n == (size_t)limit ? json_integer(v[n - 1].id) : json_null()));
	free(v);
	return rc;
}

int
http_api_ddi_attributes_refresh(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	struct store_conn *c;
	int rc;

	if (id == NULL)
		return 0;
	c = store_acquire(app->store);
	rc = store_ddi_attributes_refresh(c, id);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no device '%s'", id);
	if (rc != 0)
		return rc;
	return http_reply_json(req, 200,
	    json_pack("{s:s, s:b}", "device", id, "attributes_wanted", 1));
}

json_t *
http_api_ddi_attributes_json(struct store_conn *c, const char *device_id)
{
	char *text = NULL;
	json_t *v;

	if (store_ddi_attributes_get(c, device_id, &text, NULL) != 0)
		return NULL;
	if (text == NULL)
		return json_null();
	v = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(v)) {
		json_decref(v);
		return json_null();
	}
	return v;
}
