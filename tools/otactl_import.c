/*
 * otactl_import: `otactl devices import FILE.csv`.  Checks the whole file
 * first (otactl_csv) and sends nothing unless every row is good; then
 * POSTs the devices to /api/v1/devices in batches (at most 5000 devices
 * and 1,000,000 bytes each, under otad's default max_json_bytes), each
 * stored atomically by otad.  The tokens of each stored batch are written
 * (id,token CSV) before the next batch is sent, so a failure mid-way
 * loses none, and the report names exactly which batches were stored.
 * Tokens go only to --out (created 0600, never overwritten) or stdout.
 * A bar counts the devices sent, on a terminal only.
 */
#include "otactl_import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "errors.h"
#include "fsutil.h"
#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_csv.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_http.h"
#include "otactl_progress.h"
#include "otactl_str.h"
#include "otactl_usage.h"

#define IMPORT_FILE_MAX (256u * 1024 * 1024) /* bytes of CSV */
#define BATCH_MAX 5000                       /* devices per request */
#define BATCH_BYTES_MAX 1000000              /* JSON bytes per request */

/* One request's worth of devices: v[first..first+count). */
struct batch {
	size_t first;
	size_t count;
};

struct import {
	const char *path;     /* the CSV, borrowed from argv */
	const char *out_path; /* --out, or NULL for stdout */
	uint64_t batch_size;  /* devices per batch */
	int dry_run;
	struct otactl_csv_devices devs;
	struct batch *batches;
	size_t nbatches;
	int out_fd;         /* --out once created, else -1 */
	int stdout_started; /* the header is on stdout (no --out) */
};

/* The first line of the tokens CSV, written only with tokens after it
 * (on stdout) or into a file removed when none follow (--out). */
static const char out_header[] = "id,token\n";

/* Prints one bad row as "FILE:LINE: reason" (compiler style). */
static void
report_bad(void *arg, size_t line, const char *reason)
{
	const struct import *im = arg;

	if (line == 0)
		fprintf(stderr, "%s: %s\n", im->path, reason);
	else
		fprintf(stderr, "%s:%zu: %s\n", im->path, line, reason);
}

/*
 * Splits the devices into batches of at most im->batch_size devices and
 * BATCH_BYTES_MAX bytes of JSON.  Returns 0 or -1 (printed).
 */
static int
plan_batches(struct import *im)
{
	size_t i, bytes = 2, len;
	struct batch *b;
	char *dump;

	im->batches = calloc(im->devs.n, sizeof(*im->batches));
	if (im->batches == NULL)
		goto oom;
	for (i = 0; i < im->devs.n; i++) {
		if ((dump = json_dumps(im->devs.v[i].obj, JSON_COMPACT)) ==
		    NULL)
			goto oom;
		len = strlen(dump) + 1; /* and a comma */
		free(dump);
		b = im->nbatches > 0 ? &im->batches[im->nbatches - 1] : NULL;
		if (b == NULL || b->count == im->batch_size ||
		    bytes + len > BATCH_BYTES_MAX) {
			b = &im->batches[im->nbatches++];
			b->first = i;
			bytes = 2;
		}
		b->count++;
		bytes += len;
	}
	return 0;
oom:
	otactl_err("out of memory");
	return -1;
}

/* Returns the JSON array text of batch b (free()), or NULL. */
static char *
batch_body(const struct import *im, const struct batch *b)
{
	json_t *arr = json_array();
	char *text = NULL;

	if (arr == NULL)
		return NULL;
	for (size_t i = b->first; i < b->first + b->count; i++)
		if (json_array_append(arr, im->devs.v[i].obj) != 0)
			goto out;
	text = json_dumps(arr, JSON_COMPACT);
out:
	json_decref(arr);
	return text;
}

/*
 * Prints "batches A-B of N (lines X-Y, K devices): <what>" for the batches
 * [from, to); for none, "no batch <what>" when say_none.
 */
static void
say_range(const struct import *im, size_t from, size_t to, const char *what,
    int say_none)
{
	const struct batch *a, *z;
	size_t n;

	if (from >= to) {
		if (say_none)
			otactl_err("devices import: no batch %s", what);
		return;
	}
	a = &im->batches[from];
	z = &im->batches[to - 1];
	n = z->first + z->count - a->first;
	if (to - from == 1)
		fprintf(stderr, "otactl: devices import: batch %zu", from + 1);
	else
		fprintf(stderr, "otactl: devices import: batches %zu-%zu",
		    from + 1, to);
	fprintf(stderr, " of %zu (", im->nbatches);
	if (n == 1)
		fprintf(stderr, "line %zu", im->devs.v[a->first].line);
	else
		fprintf(stderr, "lines %zu-%zu", im->devs.v[a->first].line,
		    im->devs.v[z->first + z->count - 1].line);
	fprintf(stderr, ", %zu device%s): %s\n", n, n == 1 ? "" : "s", what);
}

/*
 * After otad refused batch b: names the file line of the device its
 * error detail points at ("devices[3].id: ..." or an id in quotes), so
 * the row can be fixed.
 */
static void
report_server_line(
    const struct import *im, const struct batch *b, const struct otactl_http *h)
{
	const char *detail, *p;
	size_t i, k = SIZE_MAX;
	char quoted[160];
	json_t *j, *d;
	char *shown;

	j = json_loadb(h->body != NULL ? h->body : "", h->body_len, 0, NULL);
	d = json_object_get(j, "detail");
	detail = json_string_value(d);
	if (detail == NULL)
		goto out;
	if ((p = strstr(detail, "devices[")) != NULL) {
		k = strtoul(p + 8, NULL, 10);
	} else {
		for (i = 0; i < b->count && k == SIZE_MAX; i++) {
			snprintf(quoted, sizeof(quoted), "'%s'",
			    im->devs.v[b->first + i].id);
			if (strstr(detail, quoted) != NULL)
				k = i;
		}
	}
	if (k < b->count && (shown = otactl_api_cell(d)) != NULL) {
		fprintf(stderr, "%s:%zu: %s\n", im->path,
		    im->devs.v[b->first + k].line, shown);
		free(shown);
	}
out:
	json_decref(j);
}

/*
 * Creates --out (0600, refusing an existing file) and writes the header;
 * without --out, nothing: stdout gets the header with the first stored
 * batch (out_write), so a run that stores nothing prints nothing there.
 * Returns 0 or -1 (printed).
 */
static int
out_open(struct import *im)
{
	if (im->out_path == NULL)
		return 0;
	im->out_fd = open(im->out_path,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (im->out_fd < 0) {
		otactl_err("%s: %s", im->out_path,
		    errno == EEXIST ? "exists; refusing to overwrite"
		                    : strerror(errno));
		return -1;
	}
	/* Exactly 0600, whatever the umask. */
	if (fchmod(im->out_fd, 0600) != 0 ||
	    fsutil_write_full(im->out_fd, out_header, strlen(out_header)) !=
	        0) {
		otactl_err("%s: %s", im->out_path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Writes the tokens of stored batch b from otad's answer ans as "id,token"
 * lines, durably (fsync) for --out.  The answer must list the batch's ids
 * in order.  Returns 0 or -1 (printed).
 */
static int
out_write(struct import *im, const struct batch *b, const json_t *ans)
{
	const json_t *arr = json_object_get(ans, "devices");
	const char *id, *tok;
	size_t cap = 0, len = 0, i, n;
	char *buf = NULL;
	int rc = -1;

	if (json_array_size(arr) != b->count)
		goto bad;
	for (i = 0; i < b->count; i++) {
		tok = json_string_value(
		    json_object_get(json_array_get(arr, i), "token"));
		if (tok == NULL)
			goto bad;
		cap += strlen(im->devs.v[b->first + i].id) + strlen(tok) + 2;
	}
	/* The tokens are secrets: build the lines in guarded memory. */
	if ((buf = sodium_malloc(cap + 1)) == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	for (i = 0; i < b->count; i++) {
		const json_t *o = json_array_get(arr, i);
		id = json_string_value(json_object_get(o, "id"));
		tok = json_string_value(json_object_get(o, "token"));
		if (id == NULL || strcmp(id, im->devs.v[b->first + i].id) != 0)
			goto bad;
		n = strlen(id) + strlen(tok) + 2;
		if (n > cap + 1 - len)
			goto bad;
		snprintf(buf + len, cap + 1 - len, "%s,%s\n", id, tok);
		len += n;
	}
	if (im->out_path == NULL) {
		if ((!im->stdout_started && fputs(out_header, stdout) == EOF) ||
		    fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
			otactl_err(
			    "writing standard output: %s", strerror(errno));
			goto out;
		}
		im->stdout_started = 1;
	} else if (fsutil_write_full(im->out_fd, buf, len) != 0 ||
	           fsync(im->out_fd) != 0) {
		otactl_err("%s: %s", im->out_path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
bad:
	otactl_err("devices import: batch stored, but the server's answer "
	           "does not list its devices in order");
out:
	if (buf != NULL)
		sodium_free(buf);
	return rc;
}

/* What became of one batch. */
enum outcome { STORED, REFUSED, UNKNOWN, LOST_TOKENS };

/* Sends batch b.  Returns what became of it (printed unless STORED). */
static enum outcome
send_batch(struct import *im, struct otactl_http *h, const char *url,
    const struct batch *b)
{
	enum outcome res = REFUSED;
	char *body = NULL;
	json_t *ans = NULL;
	long status;

	if ((body = batch_body(im, b)) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (otactl_api_send(h, "POST", url, body, "devices import", &status) !=
	    0) {
		res = UNKNOWN;
		goto out;
	}
	if (status != 201) {
		otactl_http_report(h, "devices import", status);
		report_server_line(im, b, h);
		goto out;
	}
	res = LOST_TOKENS;
	if ((ans = otactl_http_json(h, "devices import")) == NULL ||
	    out_write(im, b, ans) != 0)
		goto out;
	res = STORED;
out:
	/* The answer held the tokens. */
	if (h->body != NULL)
		sodium_memzero(h->body, h->body_cap);
	json_decref(ans);
	free(body);
	return res;
}

/* Sends every batch in order, stopping at the first that is not
 * stored, and reports.  Returns the exit status. */
static int
send_all(struct otactl *ctx, struct import *im)
{
	struct otactl_progress prog;
	struct otactl_http h;
	enum outcome res = REFUSED;
	char *url = NULL;
	size_t k = 0;
	int rc = OTACTL_EXIT_FAIL;

	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	if ((url = otactl_api_url(&h, "/api/v1/devices", NULL, NULL)) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (out_open(im) != 0)
		goto out;
	otactl_progress_init(&prog, "import", "devices");
	/* Tokens printed on a terminal would share lines with the bar. */
	if (im->out_path == NULL && isatty(STDOUT_FILENO))
		prog.on = 0;
	for (k = 0; k < im->nbatches; k++) {
		otactl_progress_update(
		    &prog, (int64_t)im->batches[k].first, (int64_t)im->devs.n);
		if ((res = send_batch(im, &h, url, &im->batches[k])) != STORED)
			break;
	}
	if (k == im->nbatches)
		otactl_progress_update(
		    &prog, (int64_t)im->devs.n, (int64_t)im->devs.n);
	otactl_progress_end(&prog);
	if (k == im->nbatches) {
		fprintf(stderr,
		    "imported %zu device%s in %zu batch%s; tokens %s%s\n",
		    im->devs.n, im->devs.n == 1 ? "" : "s", im->nbatches,
		    im->nbatches == 1 ? "" : "es",
		    im->out_path ? "in " : "on standard output",
		    im->out_path ? im->out_path : "");
		rc = OTACTL_EXIT_OK;
		goto out;
	}
	if (res == REFUSED) {
		say_range(im, k, k + 1, "refused, nothing of it stored", 0);
		say_range(im, 0, k, "stored", 1);
		say_range(im, k + 1, im->nbatches, "not sent", 0);
	} else if (res == UNKNOWN) {
		say_range(
		    im, k, k + 1, "no answer: may or may not be stored", 0);
		otactl_err("devices import: check with: otactl devices show "
		           "%s",
		    im->devs.v[im->batches[k].first].id);
		say_range(im, 0, k, "stored", 1);
		say_range(im, k + 1, im->nbatches, "not sent", 0);
	} else {
		say_range(im, k, k + 1,
		    "stored, but its tokens are lost: rotate them", 0);
		say_range(im, 0, k, "stored with their tokens", 0);
		say_range(im, k + 1, im->nbatches, "not sent", 0);
	}
	if (im->out_fd >= 0 && (k > 0 || res == LOST_TOKENS))
		otactl_err("devices import: tokens of the stored batches: %s",
		    im->out_path);
out:
	if (im->out_fd >= 0) {
		close(im->out_fd);
		/* No token in it: a rerun should not meet the file. */
		if (k == 0 && res != LOST_TOKENS)
			unlink(im->out_path);
	}
	free(url);
	otactl_http_close(&h);
	return rc;
}

/*
 * Parses the command line into im.  Returns -1 to go on, or the exit
 * status to return.
 */
static int
parse_args(struct otactl *ctx, int argc, char **argv, struct import *im)
{
	enum { OPT_OUT = 1, OPT_BATCH_SIZE, OPT_DRY_RUN };
	static const struct otactl_opt opts[] = {
	    {"out", 1, OPT_OUT},
	    {"batch-size", 1, OPT_BATCH_SIZE},
	    {"dry-run", 0, OPT_DRY_RUN},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	struct otactl_args a;
	const char *val;
	int id;

	otactl_args_cmd_init(&a, argc, argv, "devices import", "FILE.csv");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_OUT)
			im->out_path = val;
		else if (id == OPT_DRY_RUN)
			im->dry_run = 1;
		else if (id == OPT_BATCH_SIZE &&
		         (otactl_str_parse_u64(val, &im->batch_size) != 0 ||
		             im->batch_size == 0 || im->batch_size > BATCH_MAX))
			return otactl_usage_err(
			    "--batch-size '%s': want 1..%d", val, BATCH_MAX);
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL)
		return otactl_usage_err("devices import: usage: devices import "
		                        "FILE.csv [--out TOKENS.csv] "
		                        "[--batch-size N] [--dry-run]");
	if (im->out_path != NULL && im->out_path[0] == '\0')
		return otactl_usage_err("--out: empty path");
	im->path = a.pos;
	return -1;
}

int
otactl_import(struct otactl *ctx, int argc, char **argv)
{
	struct import im;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc, err;

	memset(&im, 0, sizeof(im));
	im.out_fd = -1;
	im.batch_size = BATCH_MAX;
	if ((rc = parse_args(ctx, argc, argv, &im)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	/* Refuse before any work: the tokens must have somewhere to go. */
	if (im.out_path != NULL && otactl_file_exists(im.out_path)) {
		otactl_err("%s exists; refusing to overwrite", im.out_path);
		goto out;
	}
	err = otactl_file_read(im.path, IMPORT_FILE_MAX, &buf, &len);
	if (err == OTA_ETOOBIG)
		otactl_err(
		    "%s: over %u bytes; split it", im.path, IMPORT_FILE_MAX);
	if (err != 0)
		goto out;
	err = otactl_csv_devices_parse(
	    (const char *)buf, len, report_bad, &im, &im.devs);
	if (err == OTA_EINVAL) {
		otactl_err("%s: %zu bad row%s; nothing sent", im.path,
		    im.devs.nbad, im.devs.nbad == 1 ? "" : "s");
		goto out;
	}
	if (err != 0 || plan_batches(&im) != 0) {
		if (err != 0)
			otactl_err("out of memory");
		goto out;
	}
	if (im.dry_run) {
		fprintf(stderr, "%s: %zu device%s, all good (%zu batch%s)\n",
		    im.path, im.devs.n, im.devs.n == 1 ? "" : "s", im.nbatches,
		    im.nbatches == 1 ? "" : "es");
		rc = OTACTL_EXIT_OK;
		goto out;
	}
	rc = send_all(ctx, &im);
out:
	otactl_csv_devices_free(&im.devs);
	free(im.batches);
	free(buf);
	return rc;
}
