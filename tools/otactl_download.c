/*
 * otactl_download: `otactl images download ID [--out FILE]`.  Reads the
 * image's descriptor (GET /api/v1/images/{id}: the exact signed bytes),
 * then streams its bytes (GET /api/v1/images/{id}/blob) to FILE.part,
 * hashing them as they arrive, and renames that to FILE only when their
 * size and sha256 are the descriptor's: a FILE this command wrote is the
 * image the release team described, never a truncated or altered one.
 * A progress bar on a terminal.
 */
#include "otactl_download.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "descriptor.h"
#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_progress.h"
#include "otactl_str.h"
#include "otactl_usage.h"

static const char cmd[] = "images download";

/* The download in progress: the file, its hash and its length. */
struct download {
	FILE *f;
	crypto_hash_sha256_state sha;
	uint64_t len;
	int write_failed;
};

/* otactl_http's sink: appends to the file and the hash. */
static size_t
download_sink(const char *data, size_t n, void *arg)
{
	struct download *dl = arg;

	if (fwrite(data, 1, n, dl->f) != n) {
		dl->write_failed = 1;
		return 0;
	}
	crypto_hash_sha256_update(&dl->sha, (const unsigned char *)data, n);
	dl->len += n;
	return n;
}

/*
 * Reads image id's descriptor into d from the server's answer.  Returns
 * 0, or -1 after printing why.
 */
static int
read_descriptor(struct otactl_http *h, const char *id, struct ota_descriptor *d)
{
	unsigned char raw[DESCRIPTOR_MAX_BYTES];
	const char *b64;
	char err[256];
	json_t *j = NULL;
	size_t len;
	int rc = -1;

	if (otactl_api_request(
	        h, "GET", "/api/v1/images/", id, NULL, NULL, 200, cmd, &j) != 0)
		return -1;
	b64 = json_string_value(json_object_get(j, "descriptor"));
	if (b64 == NULL ||
	    sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &len,
	        NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		otactl_err("%s: the server's answer has no descriptor", cmd);
		goto out;
	}
	if (descriptor_parse(raw, len, d, err, sizeof(err)) != 0) {
		otactl_err("%s: image %s's descriptor: %s", cmd, id, err);
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/*
 * GETs the blob of image id into path.part and checks it against d.
 * Returns 0 with the file renamed to path, or -1 after printing why (the
 * part file removed).
 */
static int
fetch_blob(struct otactl_http *h, const char *id,
    const struct ota_descriptor *d, const char *path, const char *part)
{
	struct otactl_progress prog;
	unsigned char sum[crypto_hash_sha256_BYTES];
	struct download dl = {0};
	char *url = NULL;
	long status = 0;
	int rc = -1, perf;

	if ((url = otactl_api_url(h, "/api/v1/images/", id, "/blob")) == NULL ||
	    (dl.f = fopen(part, "wb")) == NULL) {
		otactl_err("%s: %s: %s", cmd, url ? part : "out of memory",
		    strerror(errno));
		goto out;
	}
	crypto_hash_sha256_init(&dl.sha);
	h->sink = download_sink;
	h->sink_arg = &dl;
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	otactl_progress_init(&prog, "download", NULL);
	otactl_progress_curl(&prog, h->curl, 0);
	perf = otactl_http_perform(h, "download", &status);
	otactl_progress_end(&prog);
	h->sink = NULL;
	if (fclose(dl.f) != 0)
		dl.write_failed = 1;
	dl.f = NULL;
	if (dl.write_failed) {
		otactl_err("%s: cannot write %s", cmd, part);
		goto out;
	}
	if (perf != 0)
		goto out;
	if (status != 200) {
		otactl_http_report(h, "download", status);
		goto out;
	}
	crypto_hash_sha256_final(&dl.sha, sum);
	if (dl.len != d->size || sodium_memcmp(sum, d->sha256, sizeof(sum))) {
		otactl_err("%s: image %s: got %llu bytes not matching the "
		           "descriptor's size %llu and sha256 %s: not kept",
		    cmd, id, (unsigned long long)dl.len,
		    (unsigned long long)d->size, d->sha256_hex);
		goto out;
	}
	if (rename(part, path) != 0) {
		otactl_err("%s: %s: %s", cmd, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (dl.f != NULL)
		fclose(dl.f);
	if (rc != 0)
		remove(part);
	free(url);
	return rc;
}

/*
 * Parses the command line: the image id (digits) in *out_id, --out in
 * *out_path (NULL: not given).  Returns -1 to go on, or the exit status.
 */
static int
parse_args(struct otactl *ctx, int argc, char **argv, const char **out_id,
    const char **out_path)
{
	enum { OPT_OUT = 1 };
	static const struct otactl_opt opts[] = {
	    {"out", 1, OPT_OUT}, OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val;
	uint64_t n;
	int id;

	otactl_args_cmd_init(&a, argc, argv, cmd, "ID");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_OUT)
			*out_path = val;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL || otactl_str_parse_u64(a.pos, &n) != 0)
		return otactl_usage_err("%s: usage: images download ID "
		                        "[--out FILE] (ID: the image's number)",
		    cmd);
	*out_id = a.pos;
	return -1;
}

int
otactl_download(struct otactl *ctx, int argc, char **argv)
{
	struct ota_descriptor d;
	struct otactl_http h;
	const char *id = NULL, *path = NULL;
	char *dflt = NULL, *part = NULL;
	int rc;

	if ((rc = parse_args(ctx, argc, argv, &id, &path)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0 || read_descriptor(&h, id, &d) != 0)
		goto out;
	if (path == NULL && d.filename[0] != '\0')
		path = d.filename;
	if (path == NULL &&
	    (dflt = malloc(strlen(d.name) + strlen(d.version) + 6)) != NULL) {
		sprintf(dflt, "%s-%s.bin", d.name, d.version);
		path = dflt;
	}
	if (path == NULL || (part = otactl_str_cat2(path, ".part")) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (fetch_blob(&h, id, &d, path, part) != 0)
		goto out;
	printf("downloaded image %s %s %s: %s, %llu bytes, sha256 %s\n", id,
	    d.name, d.version, path, (unsigned long long)d.size, d.sha256_hex);
	rc = fflush(stdout) == 0 ? OTACTL_EXIT_OK : OTACTL_EXIT_FAIL;
out:
	otactl_http_close(&h);
	free(dflt);
	free(part);
	return rc;
}
