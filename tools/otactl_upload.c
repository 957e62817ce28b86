/*
 * otactl_upload: sends a signed image to POST /api/v1/images as
 * multipart/form-data: "descriptor" (the signed bytes), "signatures" (JSON
 * [{"keyid","sig"}], base64) and "image" (streamed from the file, never
 * loaded whole).  Checks locally first what it can without the keyring:
 * the descriptor parses, the image has its size, every signature file is
 * 64 bytes and every key id well formed.
 */
#include "otactl_upload.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "descriptor.h"
#include "errors.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_http.h"
#include "otactl_progress.h"
#include "otactl_keys.h"
#include "otactl_str.h"
#include "otactl_usage.h"

#define UPLOAD_MAX_SIGS 16 /* the server accepts no more */

enum { OPT_DESCRIPTOR = 1, OPT_SIG };

static const struct otactl_opt upload_opts[] = {
    {"descriptor", 1, OPT_DESCRIPTOR},
    {"sig", 1, OPT_SIG},
    OTACTL_HTTP_OPTS,
    {NULL, 0, 0},
};

/* The command line; strings borrowed from argv. */
struct upload_args {
	const char *image;
	const char *descriptor;            /* NULL: IMAGE.json */
	const char *sigs[UPLOAD_MAX_SIGS]; /* "KEYID:SIGFILE" */
	size_t nsigs;
};

/* What is sent, prepared and checked before connecting. */
struct upload_req {
	unsigned char *desc; /* descriptor bytes, owned */
	size_t desc_len;
	char *desc_path; /* owned */
	struct ota_descriptor d;
	char *sigs_json; /* owned */
};

/* 1 when id is 1..CRYPTO_KEYID_MAX of [A-Za-z0-9._-], as in the keyring. */
static int
keyid_valid(const char *id, size_t len)
{
	if (len == 0 || len > CRYPTO_KEYID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-'))
			return 0;
	}
	return 1;
}

int
otactl_upload_add_sig(json_t *arr, const char *arg)
{
	char b64[sodium_base64_ENCODED_LEN(
	    crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char keyid[CRYPTO_KEYID_MAX + 1];
	unsigned char sig[crypto_sign_BYTES];
	const char *colon = strchr(arg, ':');
	size_t i, len = colon != NULL ? (size_t)(colon - arg) : 0;
	json_t *o;

	if (colon == NULL || colon[1] == '\0' || !keyid_valid(arg, len)) {
		otactl_err("--sig '%s': want KEYID:SIGFILE, KEYID 1..%d of "
		           "[A-Za-z0-9._-]",
		    arg, CRYPTO_KEYID_MAX);
		return -1;
	}
	memcpy(keyid, arg, len);
	keyid[len] = '\0';
	for (i = 0; i < json_array_size(arr); i++) {
		o = json_array_get(arr, i);
		if (strcmp(json_string_value(json_object_get(o, "keyid")),
		        keyid) == 0) {
			otactl_err("--sig: key id '%s' given twice", keyid);
			return -1;
		}
	}
	if (otactl_keys_read_sig(colon + 1, sig) != 0)
		return -1;
	sodium_bin2base64(
	    b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	o = json_pack("{s:s, s:s}", "keyid", keyid, "sig", b64);
	if (o == NULL || json_array_append_new(arr, o) != 0) {
		otactl_err("out of memory");
		return -1;
	}
	return 0;
}

/* Builds req->sigs_json from the --sig arguments.  0 or -1 (printed). */
static int
build_sigs(const struct upload_args *args, struct upload_req *req)
{
	json_t *arr = json_array();
	int rc = -1;

	if (arr == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < args->nsigs; i++) {
		if (otactl_upload_add_sig(arr, args->sigs[i]) != 0)
			goto out;
	}
	req->sigs_json = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (req->sigs_json == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(arr);
	return rc;
}

/*
 * Reads and parses the descriptor and checks the image file against its
 * size.  Returns 0 or -1 (printed).
 */
static int
check_descriptor(const struct upload_args *args, struct upload_req *req)
{
	struct stat st;
	char err[256];
	int rc;

	req->desc_path = args->descriptor != NULL
	                     ? strdup(args->descriptor)
	                     : otactl_str_cat2(args->image, ".json");
	if (req->desc_path == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	rc = otactl_file_read(
	    req->desc_path, DESCRIPTOR_MAX_BYTES, &req->desc, &req->desc_len);
	if (rc == OTA_ETOOBIG)
		otactl_err("%s: over %d bytes; not a descriptor",
		    req->desc_path, DESCRIPTOR_MAX_BYTES);
	if (rc != 0)
		return -1;
	err[0] = '\0';
	if (descriptor_parse(
	        req->desc, req->desc_len, &req->d, err, sizeof(err)) != 0) {
		otactl_err("%s: %s", req->desc_path, err);
		return -1;
	}
	if (stat(args->image, &st) != 0) {
		otactl_err("%s: %s", args->image, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != req->d.size) {
		otactl_err("%s: %s, but %s says %" PRIu64 " bytes", args->image,
		    S_ISREG(st.st_mode) ? "size differs" : "not a file",
		    req->desc_path, req->d.size);
		return -1;
	}
	return 0;
}

/*
 * Adds one part to mime.  data: bytes (len, or CURL_ZERO_TERMINATED);
 * file: a path streamed by libcurl.  Returns 0 or -1.
 */
static int
add_part(curl_mime *mime, const char *name, const void *data, size_t len,
    const char *file, const char *type, const char *filename)
{
	curl_mimepart *part = curl_mime_addpart(mime);

	if (part == NULL || curl_mime_name(part, name) != CURLE_OK)
		return -1;
	if (file != NULL && curl_mime_filedata(part, file) != CURLE_OK)
		return -1;
	if (file == NULL && curl_mime_data(part, data, len) != CURLE_OK)
		return -1;
	if (type != NULL && curl_mime_type(part, type) != CURLE_OK)
		return -1;
	if (filename != NULL && curl_mime_filename(part, filename) != CURLE_OK)
		return -1;
	return 0;
}

/*
 * Builds the multipart body in the server's order: descriptor,
 * signatures, image.  Returns the new mime (curl_mime_free) or NULL.
 */
static curl_mime *
build_mime(
    CURL *curl, const struct upload_args *args, const struct upload_req *req)
{
	curl_mime *mime = curl_mime_init(curl);
	char *copy = strdup(req->desc_path);
	int rc = -1;

	if (mime == NULL || copy == NULL)
		goto out;
	if (add_part(mime, "descriptor", req->desc, req->desc_len, NULL,
	        "application/json", basename(copy)) != 0 ||
	    add_part(mime, "signatures", req->sigs_json, CURL_ZERO_TERMINATED,
	        NULL, NULL, NULL) != 0 ||
	    add_part(mime, "image", NULL, 0, args->image,
	        "application/octet-stream", NULL) != 0)
		goto out;
	rc = 0;
out:
	free(copy);
	if (rc != 0) {
		curl_mime_free(mime);
		mime = NULL;
	}
	return mime;
}

/*
 * Prints the outcome of a 200/201 answer.  Returns the exit status.
 */
static int
report_stored(
    const struct otactl_http *h, long status, const struct ota_descriptor *d)
{
	const char *name, *version, *sha;
	json_t *j, *img, *id;
	int rc = OTACTL_EXIT_FAIL;

	if ((j = otactl_http_json(h, "upload")) == NULL)
		return rc;
	/* Accept the image at the top level or under "image". */
	img = json_object_get(j, "image");
	if (!json_is_object(img))
		img = j;
	id = json_object_get(img, "id");
	name = json_string_value(json_object_get(img, "name"));
	version = json_string_value(json_object_get(img, "version"));
	sha = json_string_value(json_object_get(img, "sha256"));
	if (!json_is_integer(id)) {
		otactl_err("upload: HTTP %ld without an image id", status);
		goto out;
	}
	printf("%simage %" JSON_INTEGER_FORMAT " %s %s sha256 %s\n",
	    status == 201 ? "stored " : "already stored: ",
	    json_integer_value(id), name != NULL ? name : d->name,
	    version != NULL ? version : d->version,
	    sha != NULL ? sha : d->sha256_hex);
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	return rc;
}

/*
 * Sends the prepared request.  Returns the exit status.
 */
static int
upload_send(struct otactl *ctx, const struct upload_args *args,
    const struct upload_req *req)
{
	struct otactl_http h;
	struct otactl_progress prog;
	curl_mime *mime = NULL;
	char *url = NULL;
	long status = 0;
	int rc = OTACTL_EXIT_FAIL, perf;

	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	url = otactl_str_cat2(h.base, "/api/v1/images");
	mime = build_mime(h.curl, args, req);
	if (url == NULL || mime == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	curl_easy_setopt(h.curl, CURLOPT_URL, url);
	curl_easy_setopt(h.curl, CURLOPT_MIMEPOST, mime);
	otactl_progress_init(&prog, "upload", NULL);
	otactl_progress_curl(&prog, h.curl, 1);
	perf = otactl_http_perform(&h, "upload", &status);
	otactl_progress_end(&prog);
	if (perf != 0)
		goto out;
	if (status == 200 || status == 201)
		rc = report_stored(&h, status, &req->d);
	else
		otactl_http_report(&h, "upload", status);
out:
	otactl_http_close(&h);
	curl_mime_free(mime);
	free(url);
	return rc;
}

/*
 * Parses the command line into args.  Returns -1 to go on, or the exit
 * status to return.
 */
static int
parse_args(struct otactl *ctx, int argc, char **argv, struct upload_args *args)
{
	struct otactl_args a;
	const char *val;
	int id;

	otactl_args_cmd_init(&a, argc, argv, "upload", "IMAGE");
	while ((id = otactl_args_cmd_next(&a, ctx, upload_opts, &val)) > 0) {
		if (id == OPT_DESCRIPTOR)
			args->descriptor = val;
		else if (id == OPT_SIG && args->nsigs == UPLOAD_MAX_SIGS)
			return otactl_usage_err(
			    "upload: more than %d --sig", UPLOAD_MAX_SIGS);
		else if (id == OPT_SIG)
			args->sigs[args->nsigs++] = val;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	args->image = a.pos;
	if (args->image == NULL)
		return otactl_usage_err("upload: usage: upload IMAGE "
		                        "[--descriptor FILE] --sig "
		                        "KEYID:SIGFILE [--sig ...]");
	if (args->nsigs == 0)
		return otactl_usage_err("upload: at least one --sig "
		                        "KEYID:SIGFILE is required");
	return -1;
}

int
otactl_upload(struct otactl *ctx, int argc, char **argv)
{
	struct upload_args args;
	struct upload_req req;
	int rc;

	memset(&args, 0, sizeof(args));
	memset(&req, 0, sizeof(req));
	if ((rc = parse_args(ctx, argc, argv, &args)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (check_descriptor(&args, &req) != 0 || build_sigs(&args, &req) != 0)
		goto out;
	rc = upload_send(ctx, &args, &req);
out:
	free(req.desc);
	free(req.desc_path);
	free(req.sigs_json);
	return rc;
}
