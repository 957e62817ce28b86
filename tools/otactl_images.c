/*
 * otactl_images: lists images through GET /api/v1/images, following the
 * server's cursor ({"images": [...], "next_after": <id or null>}) until it
 * ends or --limit images were collected.  The cursor must advance, so a
 * misbehaving server cannot make it loop.  Prints a table or, with --json,
 * the collected array.  `images download` is otactl_download's.
 */
#include "otactl_images.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_download.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_str.h"
#include "otactl_table.h"
#include "otactl_usage.h"

#define PAGE_MAX 100 /* images asked for per request when limited */
#define IMAGES_COLS 6

enum {
	OPT_NAME = 1,
	OPT_HARDWARE,
	OPT_MIN_VERSION,
	OPT_MAX_VERSION,
	OPT_LIMIT,
	OPT_JSON,
};

static const struct otactl_opt images_opts[] = {
    {"name", 1, OPT_NAME},
    {"hardware", 1, OPT_HARDWARE},
    {"min-version", 1, OPT_MIN_VERSION},
    {"max-version", 1, OPT_MAX_VERSION},
    {"limit", 1, OPT_LIMIT},
    {"json", 0, OPT_JSON},
    OTACTL_HTTP_OPTS,
    {NULL, 0, 0},
};

/* The command line; strings borrowed from argv. */
struct images_args {
	const char *name, *hardware, *min_version, *max_version;
	uint64_t limit; /* 0: all */
	int json;
};

/*
 * Appends "&key=<escaped val>" (or "?..." for the first) to *url, which is
 * reallocated.  Returns 0 or -1 when out of memory.
 */
static int
url_add(CURL *curl, char **url, const char *key, const char *val)
{
	char *esc, *p;
	size_t len;

	esc = curl_easy_escape(curl, val, 0);
	if (esc == NULL)
		return -1;
	len = strlen(*url) + strlen(key) + strlen(esc) + 3;
	p = realloc(*url, len);
	if (p != NULL) {
		snprintf(p + strlen(p), len - strlen(p), "%c%s=%s",
		    strchr(p, '?') != NULL ? '&' : '?', key, esc);
		*url = p;
	}
	curl_free(esc);
	return p != NULL ? 0 : -1;
}

/*
 * Builds the URL of one page: the filters, the page size when limited and
 * the cursor.  Returns a new string or NULL when out of memory.
 */
static char *
page_url(CURL *curl, const char *base, const struct images_args *args,
    uint64_t page, int64_t after)
{
	char num[24], *url = otactl_str_cat2(base, "/api/v1/images");
	int rc = 0;

	if (url == NULL)
		return NULL;
	if (args->name != NULL)
		rc |= url_add(curl, &url, "name", args->name);
	if (args->hardware != NULL)
		rc |= url_add(curl, &url, "hardware", args->hardware);
	if (args->min_version != NULL)
		rc |= url_add(curl, &url, "min_version", args->min_version);
	if (args->max_version != NULL)
		rc |= url_add(curl, &url, "max_version", args->max_version);
	if (page > 0) {
		snprintf(num, sizeof(num), "%" PRIu64, page);
		rc |= url_add(curl, &url, "limit", num);
	}
	if (after > 0) {
		snprintf(num, sizeof(num), "%" PRId64, after);
		rc |= url_add(curl, &url, "after", num);
	}
	if (rc != 0) {
		free(url);
		url = NULL;
	}
	return url;
}

/*
 * Takes one page's answer: appends its images to all (up to the limit)
 * and sets *after to the next cursor, or 0 when done.  Returns 0 or -1
 * (printed).
 */
static int
take_page(const struct otactl_http *h, const struct images_args *args,
    json_t *all, int64_t *after)
{
	json_t *j, *imgs, *next;
	size_t i;
	int rc = -1;

	if ((j = otactl_http_json(h, "images")) == NULL)
		return -1;
	imgs = json_object_get(j, "images");
	next = json_object_get(j, "next_after");
	if (!json_is_array(imgs) ||
	    (next != NULL && !json_is_null(next) && !json_is_integer(next))) {
		otactl_err("images: unexpected answer from the server");
		goto out;
	}
	for (i = 0; i < json_array_size(imgs); i++) {
		if (args->limit > 0 && json_array_size(all) >= args->limit)
			break;
		json_array_append(all, json_array_get(imgs, i));
	}
	if (!json_is_integer(next) ||
	    (args->limit > 0 && json_array_size(all) >= args->limit)) {
		*after = 0;
	} else if (json_integer_value(next) <= *after) {
		otactl_err("images: the server's cursor did not advance");
		goto out;
	} else {
		*after = json_integer_value(next);
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/*
 * Fetches every page into all.  Returns 0 or -1 (printed).
 */
static int
fetch_all(struct otactl *ctx, const struct images_args *args, json_t *all)
{
	struct otactl_http h;
	uint64_t page = 0;
	int64_t after = 0;
	char *url = NULL;
	long status;
	int rc = -1;

	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	curl_easy_setopt(h.curl, CURLOPT_HTTPGET, 1L);
	do {
		if (args->limit > 0) {
			page = args->limit - json_array_size(all);
			page = page > PAGE_MAX ? PAGE_MAX : page;
		}
		free(url);
		url = page_url(h.curl, h.base, args, page, after);
		if (url == NULL) {
			otactl_err("out of memory");
			goto out;
		}
		curl_easy_setopt(h.curl, CURLOPT_URL, url);
		if (otactl_http_perform(&h, "images", &status) != 0)
			goto out;
		if (status != 200) {
			otactl_http_report(&h, "images", status);
			goto out;
		}
		if (take_page(&h, args, all, &after) != 0)
			goto out;
	} while (after > 0);
	rc = 0;
out:
	free(url);
	otactl_http_close(&h);
	return rc;
}

/* Returns a new string for a JSON scalar (or "-"), NULL if out of memory. */
static char *
cell(const json_t *v)
{
	char num[24];

	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return strdup(num);
	}
	return strdup("-");
}

/* Returns the i-th string of arr, or "" when it is not a string. */
static const char *
str_at(const json_t *arr, size_t i)
{
	const char *s = json_string_value(json_array_get(arr, i));

	return s != NULL ? s : "";
}

/* Returns the hardware array joined with commas, as a new string. */
static char *
hardware_cell(const json_t *hw)
{
	size_t i, n = json_array_size(hw), len = 2;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(str_at(hw, i)) + 1;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, str_at(hw, i));
	}
	if (n == 0)
		strcpy(s, "-");
	return s;
}

/*
 * Prints the images as a table.  Returns 0 or -1 when out of memory.
 */
static int
print_table(const json_t *all)
{
	static const char *const header[IMAGES_COLS] = {
	    "ID", "NAME", "VERSION", "SIZE", "HARDWARE", "CREATED"};
	size_t n = json_array_size(all), i, k;
	const json_t *img, *created;
	char **cells;
	int rc = 0;

	cells = calloc(n * IMAGES_COLS + 1, sizeof(*cells));
	if (cells == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		img = json_array_get(all, i);
		created = json_object_get(img, "created_at");
		k = i * IMAGES_COLS;
		cells[k] = cell(json_object_get(img, "id"));
		cells[k + 1] = cell(json_object_get(img, "name"));
		cells[k + 2] = cell(json_object_get(img, "version"));
		cells[k + 3] = cell(json_object_get(img, "size"));
		cells[k + 4] = hardware_cell(json_object_get(img, "hardware"));
		cells[k + 5] = cell(created);
		for (size_t c = k; c < k + IMAGES_COLS; c++)
			rc |= cells[c] == NULL ? -1 : 0;
	}
	if (rc == 0)
		otactl_table_print(stdout, IMAGES_COLS, header, cells, n);
	for (i = 0; i < n * IMAGES_COLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/*
 * Parses the command line into args.  Returns -1 to go on, or the exit
 * status to return.
 */
static int
parse_args(struct otactl *ctx, int argc, char **argv, struct images_args *args)
{
	struct otactl_args a;
	const char *val;
	int id;

	otactl_args_cmd_init(&a, argc, argv, "images", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, images_opts, &val)) > 0) {
		if (id == OPT_NAME)
			args->name = val;
		else if (id == OPT_HARDWARE)
			args->hardware = val;
		else if (id == OPT_MIN_VERSION)
			args->min_version = val;
		else if (id == OPT_MAX_VERSION)
			args->max_version = val;
		else if (id == OPT_JSON)
			args->json = 1;
		else if (id == OPT_LIMIT &&
		         (otactl_str_parse_u64(val, &args->limit) != 0 ||
		             args->limit == 0 || args->limit > INT32_MAX))
			return otactl_usage_err("--limit '%s': not a number "
			                        "1..%d",
			    val, INT32_MAX);
		else
			(void)otactl_http_option(ctx, id, val);
	}
	return id == OTACTL_ARG_EXIT ? a.status : -1;
}

int
otactl_images(struct otactl *ctx, int argc, char **argv)
{
	struct images_args args;
	json_t *all = NULL;
	int rc;

	/* images download ID: a subcommand of its own. */
	if (argc > 0 && strcmp(argv[0], "download") == 0)
		return otactl_download(ctx, argc - 1, argv + 1);
	memset(&args, 0, sizeof(args));
	if ((rc = parse_args(ctx, argc, argv, &args)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if ((all = json_array()) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (fetch_all(ctx, &args, all) != 0)
		goto out;
	if (args.json) {
		if (json_dumpf(
		        all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
			goto out;
		putchar('\n');
	} else if (print_table(all) != 0) {
		otactl_err("out of memory");
		goto out;
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(all);
	return rc;
}
