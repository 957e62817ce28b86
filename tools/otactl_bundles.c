/*
 * otactl_bundles: `otactl bundles upload|list|show|delete`.  upload sends
 * the descriptor file's exact bytes as the JSON string otad takes
 * ({"descriptor", "signatures"}); a file that is not UTF-8 text cannot be
 * sent that way and is refused here.  The rest are the generic list and
 * item commands of otactl_api.
 */
#include "otactl_bundles.h"

#include <stdlib.h>
#include <string.h>

#include "bundles.h"
#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_http.h"
#include "otactl_upload.h"
#include "otactl_usage.h"

#define BUNDLE_COLS 5
#define SIGS_MAX 16

/* The fields `bundles show` prints, in order. */
static const char *const bundle_keys[] = {
    "id", "name", "version", "created_at", "created_by", NULL};

/* The request body of desc[0..len) and the --sig arguments sigs[0..n):
 * a new reference, or NULL (printed). */
static json_t *
upload_body(const char *path, const unsigned char *desc, size_t len,
    const char *const *sigs, size_t n)
{
	json_t *arr = json_array(), *d, *body = NULL;

	d = json_stringn((const char *)desc, len);
	if (d == NULL) {
		otactl_err("bundles upload: %s is not UTF-8 text", path);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (otactl_upload_add_sig(arr, sigs[i]) != 0)
			goto out;
	body = json_pack("{s:O, s:O}", "descriptor", d, "signatures", arr);
	if (body == NULL)
		otactl_err("out of memory");
out:
	json_decref(d);
	json_decref(arr);
	return body;
}

/* Prints a stored bundle's parts, one line each, in install order. */
static void
print_parts(const json_t *b)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(b, "parts"), i, p) {
		const char *via = json_string_value(json_object_get(p, "via"));

		printf("  %lld. %s: image %lld%s%s\n",
		    (long long)json_integer_value(json_object_get(p, "order")),
		    json_string_value(json_object_get(p, "component")),
		    (long long)json_integer_value(
		        json_object_get(p, "image_id")),
		    via != NULL ? " via " : "", via != NULL ? via : "");
	}
}

/* Sends the upload; prints the stored bundle.  Returns the exit status. */
static int
upload_send(struct otactl *ctx, const json_t *body, int json)
{
	struct otactl_http h;
	json_t *j = NULL;
	char *url = NULL, *text = json_dumps(body, JSON_COMPACT);
	long status = 0;
	int rc = OTACTL_EXIT_FAIL;

	if (text == NULL || otactl_http_open(ctx, &h) != 0)
		goto out;
	if ((url = otactl_api_url(&h, "/api/v1/bundles", NULL, NULL)) == NULL ||
	    otactl_api_send(&h, "POST", url, text, "bundles upload", &status) !=
	        0)
		goto close;
	if (status != 200 && status != 201) {
		otactl_http_report(&h, "bundles upload", status);
		goto close;
	}
	if ((j = otactl_http_json(&h, "bundles upload")) == NULL)
		goto close;
	if (json) {
		if (otactl_api_print_json(j) != 0)
			goto close;
	} else {
		printf("%s bundle %lld: %s %s\n",
		    status == 201 ? "stored" : "already stored",
		    (long long)json_integer_value(json_object_get(j, "id")),
		    json_string_value(json_object_get(j, "name")),
		    json_string_value(json_object_get(j, "version")));
		print_parts(j);
	}
	rc = OTACTL_EXIT_OK;
close:
	otactl_http_close(&h);
out:
	json_decref(j);
	free(url);
	free(text);
	return rc;
}

/* bundles upload DESCRIPTOR --sig KEYID:SIGFILE [--sig ...] [--json] */
static int
bundles_upload(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_SIG = 1, OPT_JSON };
	static const struct otactl_opt opts[] = {
	    {"sig", 1, OPT_SIG},
	    {"json", 0, OPT_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	const char *val, *sigs[SIGS_MAX];
	struct otactl_args a;
	char err[256];
	unsigned char *desc = NULL;
	size_t n = 0, len = 0;
	json_t *body = NULL;
	int id, json = 0, rc = OTACTL_EXIT_FAIL;

	otactl_args_cmd_init(&a, argc, argv, "bundles upload", "DESCRIPTOR");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_SIG && n == SIGS_MAX)
			return otactl_usage_err(
			    "bundles upload: more than %d --sig", SIGS_MAX);
		if (id == OPT_SIG)
			sigs[n++] = val;
		else if (id == OPT_JSON)
			json = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL || n == 0)
		return otactl_usage_err("bundles upload: usage: bundles upload "
		                        "DESCRIPTOR --sig KEYID:SIGFILE "
		                        "[--sig ...]");
	if (otactl_file_read(a.pos, BUNDLE_MAX_BYTES, &desc, &len) != 0) {
		otactl_err("bundles upload: cannot read %s (at most %d bytes)",
		    a.pos, BUNDLE_MAX_BYTES);
		goto out;
	}
	/* otad would refuse it with the same words: say so before sending. */
	if (bundle_parse(desc, len, NULL, err, sizeof(err)) != 0) {
		otactl_err("bundles upload: %s: %s", a.pos, err);
		goto out;
	}
	if ((body = upload_body(a.pos, desc, len, sigs, n)) != NULL)
		rc = upload_send(ctx, body, json);
out:
	json_decref(body);
	free(desc);
	return rc;
}

/* bundles list [--json] */
static int
bundles_list(struct otactl *ctx, int argc, char **argv)
{
	static const char *const header[BUNDLE_COLS] = {
	    "ID", "NAME", "VERSION", "CREATED", "BY"};
	static const char *const keys[BUNDLE_COLS] = {
	    "id", "name", "version", "created_at", "created_by"};

	return otactl_api_list_cmd(ctx, argc, argv, "bundles list",
	    "/api/v1/bundles", "bundles", BUNDLE_COLS, header, keys);
}

/* bundles show ID [--json] */
static int
bundles_show(struct otactl *ctx, int argc, char **argv)
{
	static const char cmd[] = "bundles show";
	struct otactl_http h;
	json_t *j = NULL;
	const char *bid;
	int json, rc;

	if ((rc = otactl_api_args(ctx, argc, argv, cmd, "ID", &json, &bid)) >=
	    0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0)
		return rc;
	if (otactl_api_request(&h, "GET", "/api/v1/bundles/", bid, NULL, NULL,
	        200, cmd, &j) != 0)
		goto out;
	if (json ? otactl_api_print_json(j) != 0
	         : otactl_api_record(j, bundle_keys) != 0)
		goto out;
	if (!json) {
		printf("parts:\n");
		print_parts(j);
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* bundles delete ID */
static int
bundles_delete(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_api_item it = {"bundles delete", "ID",
	    "DELETE", "/api/v1/bundles/", NULL, 200, NULL, "deleted bundle"};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
}

int
otactl_bundles(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_cmd subs[] = {
	    {"upload", bundles_upload},
	    {"list", bundles_list},
	    {"show", bundles_show},
	    {"delete", bundles_delete},
	};

	return otactl_args_subcommand(
	    ctx, argc, argv, "bundles", subs, sizeof(subs) / sizeof(subs[0]));
}
