/*
 * http_api_images: REST handlers for images.  The upload is
 * multipart/form-data with three parts: "descriptor" (the exact signed
 * bytes, <= 1 KiB), "signatures" (JSON [{"keyid","sig"}], <= 16 KiB) and
 * "image" (the firmware, streamed to a temp file while it is hashed).
 * Nothing is visible to other requests until images_accept says so.
 */
#include "http_api_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blob.h"
#include "http_download.h"
#include "descriptor.h"
#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "images.h"
#include "json_util.h"
#include "log.h"
#include "semver.h"
#include "store.h"
#include "store_images.h"
#include "upload_form.h"

#define MULTIPART_SLACK (64 * 1024) /* part headers, boundaries */
#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000

struct upload {
	struct MHD_PostProcessor *pp;
	struct upload_form *form;
	struct blob_tmp *tmp;
	struct app *app;
};

static void
upload_free(void *p)
{
	struct upload *u = p;

	if (u == NULL)
		return;
	if (u->pp != NULL)
		MHD_destroy_post_processor(u->pp);
	upload_form_free(u->form);
	blob_tmp_discard(u->tmp);
	free(u);
}

/* upload_form's sink: the image part goes to the upload's temporary
 * blob. */
static int
upload_sink(void *cls, const char *data, size_t size)
{
	struct upload *u = cls;
	int rc;

	rc = blob_tmp_write(u->tmp, data, size);
	if (rc != 0)
		log_err("msg=\"cannot write an upload to disk\" err=\"%s\"",
		    ota_strerror(rc));
	return rc;
}

int
http_api_images_upload_start(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *ct = http_req_header(req, "Content-Type");
	int64_t cl = http_req_content_length(req);
	struct upload *u;
	int rc;

	if (cl >= 0 && cl > app->cfg.max_image_bytes + MULTIPART_SLACK)
		return http_reply_error(req, 413, "too_large",
		    "upload of %lld bytes is over the configured "
		    "max_image_bytes (%lld)",
		    (long long)cl, (long long)app->cfg.max_image_bytes);
	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
		return http_reply_error(req, 415, "unsupported_media_type",
		    "upload as multipart/form-data with parts descriptor, "
		    "signatures and image");
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return OTA_ENOMEM;
	u->app = app;
	http_req_set_state(req, u, upload_free);
	u->form =
	    upload_form_new((uint64_t)app->cfg.max_image_bytes, upload_sink, u);
	if (u->form == NULL)
		return OTA_ENOMEM;
	u->pp = MHD_create_post_processor(
	    http_req_conn(req), 64 * 1024, upload_form_iter, u->form);
	if (u->pp == NULL)
		return http_reply_error(req, 400, "invalid_request",
		    "bad multipart/form-data Content-Type (boundary missing?)");
	/* Made here, not on the image's first bytes: an empty image part
	 * never reaches the sink, and finish needs a blob either way. */
	rc = blob_tmp_new(app->blobs, &u->tmp);
	if (rc != 0)
		return http_reply_rc(req, rc, "cannot create a temporary file");
	return 0;
}

/* Replies with the iterator's error, or a generic multipart error. */
static int
upload_error_reply(struct http_req *req, struct upload *u)
{
	const char *msg;
	int rc = upload_form_error(u->form, &msg);

	if (rc != 0)
		return http_reply_rc(req, rc, msg);
	return http_reply_error(
	    req, 400, "invalid_request", "malformed multipart/form-data body");
}

int
http_api_images_upload_body(struct http_req *req, const char *data, size_t len)
{
	struct upload *u = http_req_state(req);

	if (MHD_post_process(u->pp, data, len) != MHD_YES)
		return upload_error_reply(req, u);
	return 0;
}

static json_t *image_json(const struct store_image *img);

int
http_api_images_upload_finish(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct upload *u = http_req_state(req);
	struct store_image *img = NULL;
	struct store_conn *c;
	struct blob_tmp *tmp;
	const unsigned char *desc;
	const char *sigs;
	size_t desc_len, sigs_len;
	char err[300];
	int64_t id = 0;
	int existed = 0, rc;

	rc = MHD_destroy_post_processor(u->pp);
	u->pp = NULL;
	if (rc != MHD_YES || upload_form_error(u->form, NULL) != 0)
		return upload_error_reply(req, u);
	if (upload_form_check_complete(u->form, err, sizeof(err)) != 0)
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	tmp = u->tmp;
	u->tmp = NULL;
	desc = upload_form_descriptor(u->form, &desc_len);
	sigs = upload_form_signatures(u->form, &sigs_len);
	err[0] = '\0';
	rc = images_accept(app->images, desc, desc_len, sigs, sigs_len, tmp,
	    http_req_who(req)->name, &id, &existed, err, sizeof(err));
	if (rc != 0) {
		char vby[LOG_VALUE_MAX], vwhy[LOG_VALUE_MAX];

		/* The reason may quote the client's descriptor. */
		log_info("msg=\"upload refused\" by=%s reason=%s",
		    log_value(vby, sizeof(vby), http_req_who(req)->name),
		    log_value(vwhy, sizeof(vwhy), err));
		return http_reply_rc(req, rc, err);
	}
	c = store_acquire(app->store);
	rc = store_image_get(c, id, &img);
	store_release(app->store, c);
	if (rc != 0)
		return rc;
	rc = http_reply_json(req, existed ? 200 : 201, image_json(img));
	store_image_free(img);
	return rc;
}

/* The JSON form of an image: metadata (with the SHA-1 and MD5 DDI clients
 * check, null for an old image whose blob the start-up backfill could not
 * read), then the exact descriptor bytes (base64) and the release
 * signatures, as a device will verify them; "embedded" is what the
 * image's own bytes say about it (docs/images.md), null for an image of
 * no recognized format. */
static json_t *
image_json(const struct store_image *img)
{
	const struct ota_descriptor *d = &img->desc;
	json_t *o, *hw, *sigs, *emb = NULL;
	char *b64;
	size_t b64len;
	char url[64];

	hw = json_array();
	for (size_t i = 0; i < d->hardware_count; i++)
		json_array_append_new(hw, json_string(d->hardware[i]));
	sigs = json_loads(img->signatures, 0, NULL);
	if (img->embedded != NULL)
		emb = json_loads(img->embedded, 0, NULL);
	b64len = sodium_base64_encoded_len(
	    img->descriptor_len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64len);
	if (b64 != NULL)
		sodium_bin2base64(b64, b64len, img->descriptor,
		    img->descriptor_len, sodium_base64_VARIANT_ORIGINAL);
	snprintf(
	    url, sizeof(url), "/api/v1/images/%lld/blob", (long long)img->id);
	/* One key and its value a line: clang-format would pack them. */
	// clang-format off
	o = json_pack("{s:I, s:s, s:s, s:o, s:I, s:s, s:o, s:o, s:o, s:o, "
	    "s:o, s:s, s:s, s:s, s:s?, s:o, s:o}",
	    "id", (json_int_t)img->id,
	    "name", d->name,
	    "version", d->version,
	    "hardware", hw,
	    "size", (json_int_t)d->size,
	    "sha256", d->sha256_hex,
	    "sha1", json_util_string_or_null(img->sha1_hex),
	    "md5", json_util_string_or_null(img->md5_hex),
	    "min_version", d->min_version[0] ?
	        json_string(d->min_version) : json_null(),
	    "security_counter", d->has_security_counter ?
	        json_integer((json_int_t)d->security_counter) : json_null(),
	    "filename", json_util_string_or_null(d->filename),
	    "created_at", img->created_at,
	    "created_by", img->created_by,
	    "blob_url", url,
	    "descriptor", b64,
	    "signatures", sigs != NULL ? sigs : json_array(),
	    "embedded", emb != NULL ? emb : json_null());
	// clang-format on
	free(b64);
	return o;
}

int
http_api_images_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_image_filter f = {0};
	struct store_image **imgs = NULL;
	struct store_conn *c;
	const char *s;
	size_t n = 0;
	json_t *arr, *o;
	int rc;

	f.name = http_req_query(req, "name");
	f.hardware = http_req_query(req, "hardware");
	f.min_version = http_req_query(req, "min_version");
	f.max_version = http_req_query(req, "max_version");
	if (f.min_version != NULL &&
	    semver_check(f.min_version, strlen(f.min_version)) != 0)
		return http_reply_error(req, 400, "invalid_request",
		    "min_version is not a SemVer 2.0 version");
	if (f.max_version != NULL &&
	    semver_check(f.max_version, strlen(f.max_version)) != 0)
		return http_reply_error(req, 400, "invalid_request",
		    "max_version is not a SemVer 2.0 version");
	if ((rc = http_req_limit(
	         req, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, &f.limit)) != 0)
		return rc;
	if ((s = http_req_query(req, "after")) != NULL &&
	    http_parse_int(s, 0, INT64_MAX, &f.after_id) != 0)
		return http_reply_error(
		    req, 400, "invalid_request", "after must be an image id");
	c = store_acquire(app->store);
	rc = store_image_list(c, &f, &imgs, &n);
	store_release(app->store, c);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, image_json(imgs[i]));
	o = json_pack("{s:o, s:o}", "images", arr, "next_after",
	    n == (size_t)f.limit ? json_integer((json_int_t)imgs[n - 1]->id)
	                         : json_null());
	store_image_list_free(imgs, n);
	return http_reply_json(req, 200, o);
}

/* Loads the image named by the route's first parameter. */
static int
load_image(struct http_req *req, struct store_image **out)
{
	struct app *app = http_req_app(req);
	struct store_conn *c;
	int64_t id;
	int rc;

	if (http_parse_int(http_req_param(req, 0), 0, INT64_MAX, &id) != 0) {
		http_reply_error(req, 404, "not_found", "no such image");
		return OTA_ENOTFOUND;
	}
	c = store_acquire(app->store);
	rc = store_image_get(c, id, out);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		http_reply_error(req, 404, "not_found", "no image with id %lld",
		    (long long)id);
	return rc;
}

int
http_api_images_get(struct http_req *req)
{
	struct store_image *img = NULL;
	int rc;

	rc = load_image(req, &img);
	if (rc != 0)
		return rc;
	rc = http_reply_json(req, 200, image_json(img));
	store_image_free(img);
	return rc;
}

int
http_api_images_blob(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_image *img = NULL;
	int rc;

	rc = load_image(req, &img);
	if (rc != 0)
		return rc;
	rc = http_download_blob(req, app->images, img,
	    img->desc.filename[0] ? img->desc.filename : NULL);
	store_image_free(img);
	return rc;
}

int
http_api_images_delete(struct http_req *req)
{
	struct store_image_user user;
	int64_t id;
	int rc;

	if (http_parse_int(http_req_param(req, 0), 0, INT64_MAX, &id) != 0)
		return http_reply_error(req, 404, "not_found", "no such image");
	rc = images_delete(http_req_app(req)->images, id, &user);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(req, 404, "not_found",
		    "no image with id %lld", (long long)id);
	if (rc == OTA_ECONFLICT && user.rollout_id > 0)
		return http_reply_error(req, 409, "conflict",
		    "image %lld is used by rollout %lld (%s); abort or "
		    "complete it first",
		    (long long)id, (long long)user.rollout_id, user.state);
	if (rc == OTA_ECONFLICT)
		return http_reply_error(req, 409, "conflict",
		    "image %lld is still referenced", (long long)id);
	if (rc != 0)
		return rc;
	return http_reply_json(req, 200,
	    json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}
