/*
 * http_api_manifest: the device-facing handlers.  The manifest poll is the
 * hot path of otad: after the token check, one read of the device's facts,
 * the offer decided from the in-memory snapshot, the report left in the
 * seen buffer, and a 204 or 304 answered without building JSON or signing
 * anything.  Only a 200 builds a body, signed once per distinct body
 * (sigcache).
 */
#include "http_api_manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "compcache.h"
#include "crypto.h"
#include "descriptor.h"
#include "devcache.h"
#include "errors.h"
#include "http_download.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "log.h"
#include "manifest.h"
#include "offers.h"
#include "rollout.h"
#include "seen.h"
#include "semver.h"
#include "sigcache.h"
#include "store.h"
#include "store_components.h"
#include "store_devices.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "store_telemetry.h"
#include "rollout_service.h"
#include "timeutil.h"

/* Groups of one device considered for offers (store_device_facts). */
#define DEVICE_GROUPS_MAX 1024
/* Bundle rollouts weighed for one device, newest first. */
#define BUNDLE_CANDIDATES_MAX 8

/* An empty response with the headers every manifest answer carries. */
static struct MHD_Response *
empty_response(void)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (resp != NULL)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	return resp;
}

/* Replies 200 with body[0..len) (taken: freed here), signed; issued is
 * the start of its manifest window (sigcache_sign's since). */
static int
reply_body(struct http_req *req, char *body, size_t len, const char *etag,
    int64_t issued)
{
	struct app *app = http_req_app(req);
	struct MHD_Response *resp;
	char sig[MANIFEST_SIG_B64_LEN];

	sigcache_sign(app->sigcache, body, len, issued, sig, NULL);
	resp =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return OTA_ENOMEM;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "X-Otad-Signature", sig);
	MHD_add_response_header(resp, "X-Otad-Key-Id", app->server_key_id);
	return http_reply(req, 200, resp, len);
}

/* Replies 200 with the signed manifest f, rendered from r's fixed text
 * when its snapshot has one. */
static int
reply_manifest(struct http_req *req, const struct offer_rollout *r,
    const struct manifest_facts *f, const char *etag)
{
	struct app *app = http_req_app(req);
	char *body = NULL;
	size_t len = 0;
	int rc;

	rc = r->text != NULL
	         ? manifest_render(r->text, f, app->url_key, &body, &len)
	         : manifest_build(f, app->url_key, &body, &len);
	if (rc != 0)
		return rc;
	return reply_body(req, body, len, etag, f->times.issued);
}

/*
 * Answers an offer: 304 when If-None-Match names the manifest's ETag
 * (nothing built, nothing signed), else the signed manifest.
 */
static int
reply_offer(struct http_req *req, const char *device_id,
    const struct offer_rollout *r, const struct manifest_install *install,
    int64_t now)
{
	struct app *app = http_req_app(req);
	const struct offer_image *im = &r->image;
	char base[MANIFEST_BASE_URL_MAX], etag[MANIFEST_ETAG_LEN];
	struct manifest_facts f;
	struct MHD_Response *resp;

	if (manifest_base_url(app->cfg.public_url, http_req_is_tls(req),
	        http_req_header(req, "Host"), base) != 0)
		return http_reply_error(req, 400, "invalid_request",
		    "Host: missing or not host[:port] (or set public_url)");
	f.device_id = device_id;
	f.rollout_id = r->id;
	f.image_id = im->id;
	f.image_name = im->name;
	f.image_version = im->version;
	f.descriptor_b64 = im->descriptor_b64;
	f.signatures = im->signatures;
	f.size = im->size;
	f.sha256_hex = im->sha256_hex;
	f.image_digest = im->digest;
	f.base_url = base;
	f.poll_interval_sec = app->cfg.poll_interval_sec;
	manifest_times_at(now, app->cfg.manifest_ttl_sec,
	    app->cfg.download_url_ttl_sec, &f.times);
	f.key_id = app->server_key_id;
	f.install = *install;
	manifest_etag(&f, etag);
	if (manifest_etag_match(http_req_header(req, "If-None-Match"), etag)) {
		if ((resp = empty_response()) == NULL)
			return OTA_ENOMEM;
		MHD_add_response_header(resp, "ETag", etag);
		return http_reply(req, 304, resp, 0);
	}
	return reply_manifest(req, r, &f, etag);
}

/*
 * The component versions a poll reports (component=NAME:VERSION,
 * repeated, at most COMPONENTS_REPORT_MAX) into rep and *out_n.  Replies
 * 400 itself on a bad one.  Returns 0 or OTA_EINVAL.
 */
static int
poll_components(struct http_req *req, struct component *rep, size_t *out_n)
{
	const char *vals[COMPONENTS_REPORT_MAX];
	size_t n =
	    http_req_query_all(req, "component", vals, COMPONENTS_REPORT_MAX);
	char err[160];

	if (n > COMPONENTS_REPORT_MAX) {
		http_reply_error(req, 400, "invalid_request",
		    "component: at most %d per poll", COMPONENTS_REPORT_MAX);
		return OTA_EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (components_report_parse(
		        vals[i], &rep[i], err, sizeof(err)) != 0) {
			http_reply_error(
			    req, 400, "invalid_request", "%s", err);
			return OTA_EINVAL;
		}
	*out_n = n;
	return 0;
}

/* A poll's retries: the device's update marks and the rollouts they keep
 * from it this poll (offers_retry_except). */
struct poll_retries {
	struct devcache_marks marks;
	int64_t except[STORE_UPDATE_MARKS_MAX];
	size_t ne;
};

/*
 * Records the component versions a poll reported, rep[0..nrep), and in
 * the same transaction the coordinated rollbacks they show
 * (store_telemetry_bundle_reverts); the rollouts that moved go to the
 * automatic pause once committed.  Returns 0 or an OTA_E* code.
 */
static int
components_record(struct app *app, struct store_conn *c, const char *id,
    const struct component *rep, size_t nrep)
{
	int64_t touched[8];
	size_t ntouched = 0;
	char now[21];
	int rc;

	store_now_rfc3339(now);
	if ((rc = store_begin(c)) != 0)
		return rc;
	rc = store_components_set_versions(c, id, rep, nrep);
	if (rc == 0)
		rc = store_telemetry_bundle_reverts(
		    c, id, now, touched, 8, &ntouched);
	if (rc == 0)
		rc = store_commit(c);
	else
		store_rollback(c);
	if (rc == 0 && ntouched > 0)
		rollout_service_touched(
		    app->rollouts, ntouched == 8 ? NULL : touched, ntouched);
	return rc;
}

/*
 * The bundle offer for a device no image rollout serves: among the
 * running bundle rollouts that target it (offers_bundles), the newest
 * whose plan installs a part.  Only then are the device's components read
 * (and the versions this poll reports, rep[0..nrep), recorded), so polls
 * of devices no bundle targets cost nothing more.  Returns 0 with *out
 * and *plan, OTA_ENOTFOUND, or an OTA_E* code.
 */
static int
bundle_offer(struct app *app, const char *id, const char *ver,
    const int64_t *groups, size_t ngroups, uint32_t label_bits,
    const struct offers_snapshot *snap, const struct poll_retries *rt,
    const struct component *rep, size_t nrep, const struct offer_rollout **out,
    struct bundle_plan *plan)
{
	const struct offer_rollout *cand[BUNDLE_CANDIDATES_MAX];
	struct component *comps = NULL;
	struct store_conn *c;
	size_t n = 0, k;
	int rc;

	k = offers_bundles(snap, id, ver, groups, ngroups, label_bits, cand,
	    BUNDLE_CANDIDATES_MAX);
	k = offers_except_bundles(cand, k, rt->except, rt->ne);
	if (k == 0)
		return OTA_ENOTFOUND;
	c = store_acquire(app->store);
	rc = compcache_read(app->components, c, id, &comps, &n);
	if (rc == 0 && components_report_apply(comps, n, rep, nrep) > 0)
		rc = components_record(app, c, id, rep, nrep);
	store_release(app->store, c);
	if (rc != 0)
		goto out;
	rc = OTA_ENOTFOUND;
	for (size_t i = 0; i < k && rc == OTA_ENOTFOUND; i++) {
		offers_bundle_plan(cand[i], comps, n, plan);
		if (plan->verdict == BUNDLE_OFFER) {
			*out = cand[i];
			rc = 0;
		}
	}
out:
	free(comps);
	return rc;
}

/* Fills part i of a bundle manifest from rollout r's bundle and plan. */
static void
bundle_part_facts(const struct offer_rollout *r, const struct bundle_plan *plan,
    size_t i, struct manifest_part *p)
{
	const struct bundle_part *bp = &r->bundle->desc.parts[i];
	const struct offer_image *im = &r->bundle->parts[i];

	p->component = bp->component;
	p->order = bp->order;
	p->via = bp->via;
	p->skip = !plan->install[i];
	p->image_id = im->id;
	p->image_name = im->name;
	p->image_version = im->version;
	p->descriptor_b64 = im->descriptor_b64;
	p->signatures = im->signatures;
	p->size = im->size;
	p->sha256_hex = im->sha256_hex;
}

/*
 * Answers a bundle offer: the signed manifest of every part in install
 * order, or 304 when If-None-Match names the ETag of that body.
 */
static int
reply_bundle_offer(struct http_req *req, const char *device_id,
    const struct offer_rollout *r, const struct bundle_plan *plan,
    const struct manifest_install *install, int64_t now)
{
	struct app *app = http_req_app(req);
	const struct offer_bundle *b = r->bundle;
	struct manifest_part parts[BUNDLE_PARTS_MAX];
	char base[MANIFEST_BASE_URL_MAX], etag[MANIFEST_ETAG_LEN];
	struct manifest_bundle_facts f;
	struct MHD_Response *resp;
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (manifest_base_url(app->cfg.public_url, http_req_is_tls(req),
	        http_req_header(req, "Host"), base) != 0)
		return http_reply_error(req, 400, "invalid_request",
		    "Host: missing or not host[:port] (or set public_url)");
	for (size_t i = 0; i < b->desc.part_count; i++)
		bundle_part_facts(r, plan, i, &parts[i]);
	f = (struct manifest_bundle_facts){device_id, r->id, b->id,
	    b->desc.name, b->desc.version, b->descriptor_b64, b->signatures,
	    parts, b->desc.part_count, base, app->cfg.poll_interval_sec, {0},
	    *install};
	manifest_times_at(now, app->cfg.manifest_ttl_sec,
	    app->cfg.download_url_ttl_sec, &f.times);
	rc =
	    b->text != NULL
	        ? manifest_bundle_render(b->text, &f, app->url_key, &body, &len)
	        : manifest_bundle_build(&f, app->url_key, &body, &len);
	if (rc != 0)
		return rc;
	manifest_etag_body(body, len, app->server_key_id, etag);
	if (manifest_etag_match(http_req_header(req, "If-None-Match"), etag)) {
		free(body);
		if ((resp = empty_response()) == NULL)
			return OTA_ENOMEM;
		MHD_add_response_header(resp, "ETag", etag);
		return http_reply(req, 304, resp, 0);
	}
	return reply_body(req, body, len, etag, f.times.issued);
}

/*
 * The offer of one poll: an image rollout's by offers_pick, else a
 * bundle's (bundle_offer), none when the device reports hardware other
 * than its provisioned hw; rollouts whose retry is not due excepted
 * (rt->except set from rt->marks), and a new offer only when its
 * rollout's rate has room.  Returns 0 with *out (and *plan for a bundle),
 * OTA_ENOTFOUND, or an OTA_E* code.
 */
static int
decide_offer(struct app *app, const char *id, const char *hw,
    const char *reported_hw, const char *ver, const int64_t *groups,
    size_t ngroups, uint32_t label_bits, const struct offers_snapshot *snap,
    struct poll_retries *rt, const struct component *rep, size_t nrep,
    const struct offer_rollout **out, struct bundle_plan *plan)
{
	int rc;

	/* Offers follow the provisioned hardware only; a device that
	 * reports another (now, or last time) is offered nothing. */
	if (rollout_hardware_mismatch(hw, reported_hw))
		return OTA_ENOTFOUND;
	/* A rollout whose retry is not due (or that has none left) is, for
	 * this device, as if it were not running. */
	rt->ne = offers_retry_except(snap, rt->marks.m, rt->marks.n,
	    timeutil_now_sec(), rt->except, STORE_UPDATE_MARKS_MAX);
	rc = offers_pick_labels(snap, id, hw, ver, groups, ngroups, label_bits,
	    rt->except, rt->ne, out);
	if (rc == OTA_ENOTFOUND && snap->bundle_count > 0)
		rc = bundle_offer(app, id, ver, groups, ngroups, label_bits,
		    snap, rt, rep, nrep, out, plan);
	/* A new offer (not one the device is already on) takes its place
	 * in the rollout's rate; without one it is told nothing now and
	 * offered at a later poll. */
	if (rc == 0 &&
	    !offers_in_flight(rt->marks.m, rt->marks.n, (*out)->id) &&
	    !offers_rate_take(*out, timeutil_now_ms() * 1000))
		rc = OTA_ENOTFOUND;
	return rc;
}

/*
 * How offer r installs for a device in groups[0..ngroups) of update marks
 * *marks at now (offers_when, offers_consent) into *out.  OTA_ENOTFOUND when
 * the device is outside the maintenance windows that apply and the rollout says
 * nothing then (outside_window silent).
 */
static int
offer_install(const struct offers_snapshot *snap, const struct offer_rollout *r,
    const int64_t *groups, size_t ngroups, const struct devcache_marks *marks,
    int64_t now, struct manifest_install *out)
{
	struct offers_when w;

	/* A declined device waiting to be asked again was excepted from
	 * the offers (offers_retry_except): never WAIT here. */
	out->consent =
	    rollout_consent_name(offers_consent(r, marks->m, marks->n, now));

	/* A failure answers "open": logged by offers_when. */
	(void)offers_when(snap, r, groups, ngroups, now, &w);
	if (!w.window_open && r->outside == ROLLOUT_OUTSIDE_SILENT)
		return OTA_ENOTFOUND;
	out->action = rollout_action_type_name(w.action);
	out->forced_at = w.forced_at;
	out->window_closed = !w.window_open;
	out->window_next = w.window_next;
	return 0;
}

/* Checks the poll's query (hardware, version, component reports into
 * rep[0..*nrep)).  Returns 0, or -1 once it answered 400 (or failed). */
static int
poll_query(struct http_req *req, const char *q_hw, const char *q_ver,
    struct component *rep, size_t *nrep)
{
	if (q_hw != NULL && !descriptor_hardware_valid(q_hw)) {
		http_reply_error(req, 400, "invalid_request",
		    "hardware: must be 1..%d characters of [A-Za-z0-9._:-]",
		    STORE_HARDWARE_MAX);
		return -1;
	}
	if (q_ver != NULL && semver_check(q_ver, strlen(q_ver)) != 0) {
		http_reply_error(req, 400, "invalid_request",
		    "version: not a SemVer 2.0.0 version (e.g. 1.4.2)");
		return -1;
	}
	return poll_components(req, rep, nrep) != 0 ? -1 : 0;
}

int
http_api_manifest_get(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	const char *q_hw = http_req_query(req, "hardware");
	const char *q_ver = http_req_query(req, "version");
	char hw[STORE_HARDWARE_MAX + 1], ver[STORE_VERSION_MAX + 1];
	char reported_hw[STORE_HARDWARE_MAX + 1];
	int64_t groups[DEVICE_GROUPS_MAX];
	const struct offers_snapshot *snap = NULL;
	const struct offer_rollout *offer = NULL;
	struct component rep[COMPONENTS_REPORT_MAX];
	struct bundle_plan plan;
	struct manifest_install install;
	const char *use_ver;
	struct MHD_Response *resp;
	struct store_conn *c;
	size_t ngroups = 0, nrep = 0;
	struct devcache_match m = {0, offers_label_bits_cb, NULL};
	struct poll_retries rt;
	uint32_t label_bits = 0;
	struct offers_note note;
	int64_t now = timeutil_now_sec();
	int rc;

	if (id == NULL || poll_query(req, q_hw, q_ver, rep, &nrep) != 0)
		return 0;

	c = store_acquire(app->store);
	rc = http_req_device_access(req, c, id);
	if (rc == 0) {
		snap = offers_acquire(app->offers, c);
		m.stamp = snap->sel_stamp;
		m.arg = snap;
		rc = devcache_poll_facts_match(app->devices, c, id, hw,
		    reported_hw, ver, groups, DEVICE_GROUPS_MAX, &ngroups, &m,
		    &label_bits, &rt.marks);
	}
	store_release(app->store, c);
	if (rc != 0) {
		offers_release(app->offers, snap);
		return http_req_device_failed(req, id, rc);
	}

	use_ver = q_ver != NULL ? q_ver : ver;
	if (use_ver[0] == '\0') {
		seen_note(app->seen, id, q_hw, q_ver, reported_hw, ver, now);
		rc = http_reply_error(req, 400, "invalid_request",
		    "version: not given and never reported (add "
		    "?version=<installed version>)");
		goto out;
	}
	rc = decide_offer(app, id, hw, q_hw != NULL ? q_hw : reported_hw,
	    use_ver, groups, ngroups, label_bits, snap, &rt, rep, nrep, &offer,
	    &plan);
	if (rc == 0)
		rc = offer_install(
		    snap, offer, groups, ngroups, &rt.marks, now, &install);
	/* The report, with the offer it is answered (200 or 304): the
	 * flush records it as the device's "offered" update (a retry: its
	 * new attempt). */
	offers_note_of(rc == 0 ? offer : NULL, rt.marks.m, rt.marks.n, &note);
	seen_note_retry(app->seen, id, q_hw, q_ver, reported_hw, ver,
	    note.rollout_id, note.stage_index, note.retry, now);
	if (rc == OTA_ENOTFOUND) {
		if ((resp = empty_response()) == NULL)
			rc = OTA_ENOMEM;
		else
			rc = http_reply(req, 204, resp, 0);
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = offer->bundle != NULL
	         ? reply_bundle_offer(req, id, offer, &plan, &install, now)
	         : reply_offer(req, id, offer, &install, now);
out:
	offers_release(app->offers, snap);
	return rc;
}

/*
 * Checks a download's credentials and loads its image: a device or
 * gateway token acting for the device in a rollout of the image, or
 * (without an Authorization header) a genuine unexpired URL token.
 * Replies itself on refusal.  Returns 0 and *out, or an OTA_E* code.
 */
static int
download_authorize(struct http_req *req, const char *id, int64_t image_id,
    struct store_image **out)
{
	struct app *app = http_req_app(req);
	const struct auth_identity *who = http_req_who(req);
	const char *expires = http_req_query(req, "expires");
	const char *token = http_req_query(req, "token");
	const char *why = NULL;
	struct store_conn *c;
	int rc;

	if (who->kind == AUTH_KIND_NONE && expires == NULL && token == NULL) {
		http_reply_error(req, 401, "unauthorized",
		    "needs 'Authorization: Bearer <device or gateway token>' "
		    "or the signed URL of a manifest");
		return OTA_EUNAUTH;
	}
	*out = NULL;
	c = store_acquire(app->store);
	if (who->kind != AUTH_KIND_NONE) {
		int may = 0;

		rc = http_req_device_access(req, c, id);
		if (rc == 0 &&
		    (may = store_rollout_device_may_fetch(c, image_id, id)) < 0)
			rc = may;
		if (rc == 0 && may == 1)
			rc = store_image_get(c, image_id, out);
		store_release(app->store, c);
		if (rc == 0 && may == 0) {
			http_reply_error(req, 403, "forbidden",
			    "image %lld is not in a rollout that targets "
			    "device '%s'",
			    (long long)image_id, id);
			rc = OTA_EFORBID;
		} else if (rc == OTA_ENOTFOUND)
			http_reply_error(req, 404, "not_found", "no image %lld",
			    (long long)image_id);
		return rc;
	}
	rc = store_image_get(c, image_id, out);
	store_release(app->store, c);
	if (rc != 0 && rc != OTA_ENOTFOUND)
		return rc;
	rc = manifest_url_token_check(app->url_key, id, image_id,
	    *out != NULL ? (*out)->desc.sha256_hex : "", expires, token,
	    timeutil_now_sec(), &why);
	if (rc == 0)
		return 0;
	store_image_free(*out);
	*out = NULL;
	if (strcmp(why, "expired") == 0)
		http_reply_error(req, 403, "forbidden",
		    "URL token expired at %s (unix time); poll the manifest "
		    "for a fresh download URL",
		    expires);
	else
		http_reply_error(req, 403, "forbidden",
		    "URL token invalid: not issued by this server for this "
		    "device, image and expiry");
	return OTA_EFORBID;
}

int
http_api_manifest_download(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_param(req, 0);
	struct store_image *img = NULL;
	int64_t image_id;
	int rc;

	if (!store_device_id_valid(id) || http_parse_int(http_req_param(req, 1),
	                                      1, INT64_MAX, &image_id) != 0)
		return http_reply_error(
		    req, 404, "not_found", "no such device or image");
	rc = download_authorize(req, id, image_id, &img);
	if (rc != 0)
		return rc;
	rc = http_download_blob(req, app->images, img,
	    img->desc.filename[0] ? img->desc.filename : NULL);
	store_image_free(img);
	return rc;
}

/* {"keyid","algorithm","public_key","pem"} of one Ed25519 key. */
static json_t *
key_json(const char *keyid, const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	char b64[sodium_base64_ENCODED_LEN(
	    crypto_sign_PUBLICKEYBYTES, sodium_base64_VARIANT_ORIGINAL)];
	char pem[256];

	sodium_bin2base64(b64, sizeof(b64), pk, crypto_sign_PUBLICKEYBYTES,
	    sodium_base64_VARIANT_ORIGINAL);
	if (crypto_pubkey_pem(pk, pem, sizeof(pem)) != 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s}", "keyid", keyid, "algorithm",
	    "ed25519", "public_key", b64, "pem", pem);
}

int
http_api_manifest_keys(struct http_req *req)
{
	struct app *app = http_req_app(req);
	json_t *release = json_array();

	for (size_t i = 0; i < app->keyring->count; i++)
		json_array_append_new(
		    release, key_json(app->keyring->keys[i].id,
		                 app->keyring->keys[i].pk));
	return http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "server",
	        key_json(app->server_key_id, app->server_pk), "release",
	        release));
}
