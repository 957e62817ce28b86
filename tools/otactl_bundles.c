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
#include "descriptor.h"
#include "errors.h"
#include "fsutil.h"
#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_describe.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_http.h"
#include "otactl_str.h"
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

/* What `bundles describe` was given; strings borrowed from argv. */
struct describe_args {
	const char *name, *version, *out;
	const char *parts[BUNDLE_PARTS_MAX]; /* COMPONENT=IMAGE[@VIA] */
	size_t nparts;
	const char *hw[BUNDLE_PARTS_MAX]; /* COMPONENT=HARDWARE */
	size_t nhw;
};

/* The hardware --hardware gave component comp (len bytes), or NULL. */
static const char *
part_hardware(const struct describe_args *a, const char *comp, size_t len)
{
	for (size_t i = 0; i < a->nhw; i++)
		if (strncmp(a->hw[i], comp, len) == 0 && a->hw[i][len] == '=')
			return a->hw[i] + len + 1;
	return NULL;
}

/* 0 when every --hardware COMPONENT=HW of a is well formed and names the
 * component of a --part (a misspelt component would leave its part
 * without a hardware constraint, silently); else the usage error's exit
 * status after printing why. */
static int
describe_check_hardware(const struct describe_args *a)
{
	for (size_t i = 0; i < a->nhw; i++) {
		const char *eq = strchr(a->hw[i], '=');
		size_t j, len;

		if (eq == NULL || eq == a->hw[i] || eq[1] == '\0') {
			return otactl_usage_err(
			    "--hardware '%s': want COMPONENT=HARDWARE",
			    a->hw[i]);
		}
		len = (size_t)(eq - a->hw[i]);
		for (j = 0; j < a->nparts; j++)
			if (strncmp(a->parts[j], a->hw[i], len) == 0 &&
			    a->parts[j][len] == '=')
				break;
		if (j == a->nparts)
			return otactl_usage_err("--hardware '%s': no --part "
			                        "names component '%.*s'",
			    a->hw[i], (int)len, a->hw[i]);
	}
	return 0;
}

/* The part object of --part arg at install position order: the image's
 * sha256 computed from its file.  NULL after printing why. */
static json_t *
describe_part(const struct describe_args *a, const char *arg, int order)
{
	const char *eq = strchr(arg, '='), *via, *hw;
	struct ota_descriptor d;
	char *path = NULL;
	json_t *o = NULL;
	size_t clen;

	if (eq == NULL || eq == arg || eq[1] == '\0') {
		otactl_usage_err(
		    "--part '%s': want COMPONENT=IMAGE[@VIA]", arg);
		return NULL;
	}
	clen = (size_t)(eq - arg);
	via = strrchr(eq + 1, '@');
	path = via != NULL ? strndup(eq + 1, (size_t)(via - eq - 1))
	                   : strdup(eq + 1);
	memset(&d, 0, sizeof(d));
	if (path == NULL) {
		otactl_err("out of memory");
		return NULL;
	}
	if (otactl_describe_hash(path, &d) != 0) {
		free(path); /* otactl_describe_hash said why */
		return NULL;
	}
	free(path);
	o = json_pack("{s:s%, s:s, s:i}", "component", arg, clen, "sha256",
	    d.sha256_hex, "order", order);
	hw = part_hardware(a, arg, clen);
	if (o != NULL && ((via != NULL && json_object_set_new(o, "via",
	                                      json_string(via + 1)) != 0) ||
	                     (hw != NULL && json_object_set_new(o, "hardware",
	                                        json_string(hw)) != 0))) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL)
		otactl_err("--part '%s': out of memory (or not UTF-8)", arg);
	return o;
}

/* Builds, checks and writes the descriptor of a.  Exit status. */
static int
describe_write(const struct describe_args *a)
{
	json_t *parts = json_array(), *o = NULL;
	char *text = NULL, *def = NULL, err[256];
	const char *out = a->out;
	int rc = OTACTL_EXIT_FAIL, wrc;

	for (size_t i = 0; i < a->nparts; i++) {
		json_t *p = describe_part(a, a->parts[i], (int)i + 1);

		if (p == NULL || json_array_append_new(parts, p) != 0)
			goto out;
	}
	o = json_pack("{s:s, s:s, s:O}", "name", a->name, "version", a->version,
	    "parts", parts);
	if (o == NULL || (text = json_dumps(
	                      o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		otactl_err("out of memory (or an argument not UTF-8)");
		goto out;
	}
	if (bundle_parse((const unsigned char *)text, strlen(text), NULL, err,
	        sizeof(err)) != 0) {
		otactl_err("bundles describe: %s", err);
		goto out;
	}
	if (out == NULL && (def = otactl_str_cat2(a->name, "-")) != NULL) {
		char *t = otactl_str_cat2(def, a->version);

		free(def);
		def = t != NULL ? otactl_str_cat2(t, ".json") : NULL;
		free(t);
	}
	if ((out = out != NULL ? out : def) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if ((wrc = fsutil_write_replace(out, text, strlen(text), 0644)) != 0) {
		otactl_err("%s: cannot write: %s", out, ota_strerror(wrc));
		goto out;
	}
	printf("wrote %s: %s %s, %zu parts\n", out, a->name, a->version,
	    a->nparts);
	rc = OTACTL_EXIT_OK;
out:
	json_decref(parts);
	json_decref(o);
	free(text);
	free(def);
	return rc;
}

/*
 * bundles describe --name N --version V --part COMPONENT=IMAGE[@VIA]
 * [--part ...] [--hardware COMPONENT=HW ...] [--out FILE]: the parts in
 * install order.
 */
static int
bundles_describe(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_NAME = 1, OPT_VERSION, OPT_PART, OPT_HW, OPT_OUT };
	static const struct otactl_opt opts[] = {
	    {"name", 1, OPT_NAME},
	    {"version", 1, OPT_VERSION},
	    {"part", 1, OPT_PART},
	    {"hardware", 1, OPT_HW},
	    {"out", 1, OPT_OUT},
	    {NULL, 0, 0},
	};
	struct describe_args d;
	struct otactl_args a;
	const char *val;
	int id;

	memset(&d, 0, sizeof(d));
	otactl_args_cmd_init(&a, argc, argv, "bundles describe", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if ((id == OPT_PART && d.nparts == BUNDLE_PARTS_MAX) ||
		    (id == OPT_HW && d.nhw == BUNDLE_PARTS_MAX))
			return otactl_usage_err("bundles describe: at most %d "
			                        "parts",
			    BUNDLE_PARTS_MAX);
		if (id == OPT_NAME)
			d.name = val;
		else if (id == OPT_VERSION)
			d.version = val;
		else if (id == OPT_PART)
			d.parts[d.nparts++] = val;
		else if (id == OPT_HW)
			d.hw[d.nhw++] = val;
		else
			d.out = val;
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (d.name == NULL || d.version == NULL || d.nparts == 0)
		return otactl_usage_err(
		    "bundles describe: usage: bundles describe --name N "
		    "--version V --part COMPONENT=IMAGE[@VIA] [--part ...] "
		    "[--hardware COMPONENT=HW] [--out FILE]");
	if ((id = describe_check_hardware(&d)) != 0)
		return id;
	return describe_write(&d);
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
	    {"describe", bundles_describe},
	    {"upload", bundles_upload},
	    {"list", bundles_list},
	    {"show", bundles_show},
	    {"delete", bundles_delete},
	};

	return otactl_args_subcommand(
	    ctx, argc, argv, "bundles", subs, sizeof(subs) / sizeof(subs[0]));
}
