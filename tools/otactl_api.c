/*
 * otactl_api: what the fleet commands (devices, groups, gateways,
 * rollouts) share on top of otactl_http: JSON requests with an expected
 * status, URLs with escaped path segments and query values, listings that
 * follow otad's next_after cursor, and the human output (tables, "key:
 * value" records, cells from JSON values).  Never prints a token: callers
 * print secrets themselves, once.
 */
#include "otactl_api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_table.h"
#include "otactl_usage.h"

#define LIST_PAGE 1000        /* items asked for per page: otad's maximum */
#define LIST_PAGES_MAX 100000 /* a bound on any listing loop */

char *
otactl_api_url(
    struct otactl_http *h, const char *path, const char *seg, const char *tail)
{
	char *esc = NULL, *url;
	size_t len;

	if (seg != NULL && (esc = curl_easy_escape(h->curl, seg, 0)) == NULL)
		return NULL;
	len = strlen(h->base) + strlen(path) + (esc ? strlen(esc) : 0) +
	      (tail ? strlen(tail) : 0) + 1;
	if ((url = malloc(len)) != NULL)
		snprintf(url, len, "%s%s%s%s", h->base, path, esc ? esc : "",
		    tail ? tail : "");
	curl_free(esc);
	return url;
}

int
otactl_api_query(
    struct otactl_http *h, char **url, const char *key, const char *val)
{
	char *esc, *p;
	size_t len;

	if (val == NULL)
		return 0;
	if ((esc = curl_easy_escape(h->curl, val, 0)) == NULL)
		return -1;
	len = strlen(*url) + strlen(key) + strlen(esc) + 3;
	if ((p = realloc(*url, len)) != NULL) {
		snprintf(p + strlen(p), len - strlen(p), "%c%s=%s",
		    strchr(p, '?') != NULL ? '&' : '?', key, esc);
		*url = p;
	}
	curl_free(esc);
	return p != NULL ? 0 : -1;
}

int
otactl_api_send(struct otactl_http *h, const char *method, const char *url,
    const char *body, const char *what, long *out_status)
{
	struct curl_slist *hdrs = NULL, *t;
	CURL *c = h->curl;
	int rc = -1;

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (body != NULL) {
		t = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = t != NULL ? curl_slist_append(t, "Expect:") : NULL;
		if (hdrs == NULL) {
			curl_slist_free_all(t);
			otactl_err("out of memory");
			return -1;
		}
		curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
	    strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ? NULL
	                                                              : method);
	rc = otactl_http_perform(h, what, out_status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	return rc;
}

int
otactl_api_call(struct otactl_http *h, const char *method, const char *url,
    const json_t *body, long want, const char *what, json_t **out)
{
	char *text = NULL;
	long status;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	if (otactl_api_send(h, method, url, text, what, &status) != 0)
		goto out;
	if (status != want) {
		otactl_http_report(h, what, status);
		goto out;
	}
	if (out != NULL && status != 204 &&
	    (*out = otactl_http_json(h, what)) == NULL)
		goto out;
	rc = 0;
out:
	free(text);
	return rc;
}

int
otactl_api_request(struct otactl_http *h, const char *method, const char *path,
    const char *seg, const char *tail, const json_t *body, long want,
    const char *what, json_t **out)
{
	char *url;
	int rc;

	if (out != NULL)
		*out = NULL;
	if ((url = otactl_api_url(h, path, seg, tail)) == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	rc = otactl_api_call(h, method, url, body, want, what, out);
	free(url);
	return rc;
}

/*
 * Returns 1 when cursor next moves past prev (strings: greater bytewise,
 * integers: greater), 0 otherwise.  prev NULL: the first page.
 */
static int
cursor_advances(const json_t *prev, const json_t *next)
{
	if (json_is_string(next))
		return prev == NULL || strcmp(json_string_value(next),
		                           json_string_value(prev)) > 0;
	if (json_is_integer(next))
		return prev == NULL ||
		       json_integer_value(next) > json_integer_value(prev);
	return 0;
}

int
otactl_api_list(struct otactl_http *h, const char *url, const char *key,
    const char *what, json_t *all)
{
	json_t *j = NULL, *items, *next, *prev = NULL;
	char *page = NULL, num[24], lim[24];
	long pages = 0;
	int rc = -1, more = 1;

	snprintf(lim, sizeof(lim), "%d", LIST_PAGE);
	while (more && pages++ < LIST_PAGES_MAX) {
		free(page);
		if ((page = strdup(url)) == NULL ||
		    otactl_api_query(h, &page, "limit", lim) != 0)
			goto oom;
		if (json_is_string(prev) && otactl_api_query(h, &page, "after",
		                                json_string_value(prev)))
			goto oom;
		if (json_is_integer(prev)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(prev));
			if (otactl_api_query(h, &page, "after", num) != 0)
				goto oom;
		}
		json_decref(j);
		if (otactl_api_call(h, "GET", page, NULL, 200, what, &j) != 0)
			goto out;
		items = json_object_get(j, key);
		next = json_object_get(j, "next_after");
		if (!json_is_array(items)) {
			otactl_err(
			    "%s: unexpected answer from the server", what);
			goto out;
		}
		if (json_array_extend(all, items) != 0)
			goto oom;
		more = json_array_size(items) > 0 && next != NULL &&
		       !json_is_null(next);
		if (more && !cursor_advances(prev, next)) {
			otactl_err(
			    "%s: the server's cursor did not advance", what);
			goto out;
		}
		json_decref(prev);
		prev = json_incref(next);
	}
	rc = 0;
	goto out;
oom:
	otactl_err("out of memory");
out:
	json_decref(prev);
	json_decref(j);
	free(page);
	return rc;
}

const json_t *
otactl_api_get(const json_t *obj, const char *path)
{
	const char *dot;
	char key[64];
	size_t len;

	while ((dot = strchr(path, '.')) != NULL) {
		len = (size_t)(dot - path);
		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return json_object_get(obj, path);
}

/*
 * Appends s to the growing string *buf (of *len bytes); on allocation
 * failure *buf becomes NULL.
 */
static void
append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *p;

	if (*buf == NULL)
		return;
	if ((p = realloc(*buf, *len + n + 1)) == NULL) {
		free(*buf);
		*buf = NULL;
		return;
	}
	memcpy(p + *len, s, n + 1);
	*buf = p;
	*len += n;
}

/* Sets out[24] to the text of a JSON scalar, or NULL for other values. */
static const char *
scalar(const json_t *v, char out[32])
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(
		    out, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return out;
	}
	if (json_is_real(v)) {
		snprintf(out, 32, "%g", json_real_value(v));
		return out;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL;
}

/*
 * Sanitises a cell in place: server text goes to a terminal, so control
 * characters become '?'.
 */
static char *
clean(char *s)
{
	if (s != NULL)
		for (char *p = s; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return s;
}

char *
otactl_api_cell(const json_t *v)
{
	const char *key, *s;
	char num[32], *buf;
	size_t len = 0, i;
	json_t *e;

	if ((s = scalar(v, num)) != NULL)
		return clean(strdup(s[0] != '\0' ? s : "-"));
	if ((json_is_array(v) && json_array_size(v) == 0) ||
	    (json_is_object(v) && json_object_size(v) == 0) || v == NULL ||
	    json_is_null(v))
		return strdup("-");
	buf = strdup("");
	/* Arrays "a,b"; objects (labels) "k=v,k2=v2". */
	json_array_foreach(v, i, e) {
		if (i > 0)
			append(&buf, &len, ",");
		s = scalar(e, num);
		append(&buf, &len, s != NULL ? s : "?");
	}
	json_object_foreach((json_t *)v, key, e) {
		if (len > 0)
			append(&buf, &len, ",");
		append(&buf, &len, key);
		append(&buf, &len, "=");
		s = scalar(e, num);
		append(&buf, &len, s != NULL ? s : "?");
	}
	return clean(buf);
}

int
otactl_api_table(const json_t *arr, size_t ncols, const char *const *header,
    const char *const *keys)
{
	size_t n = json_array_size(arr), i, c;
	char **cells;
	int rc = 0;

	cells = calloc(n * ncols + 1, sizeof(*cells));
	if (cells == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		for (c = 0; c < ncols; c++) {
			cells[i * ncols + c] = otactl_api_cell(
			    otactl_api_get(json_array_get(arr, i), keys[c]));
			if (cells[i * ncols + c] == NULL)
				rc = -1;
		}
	}
	if (rc == 0)
		otactl_table_print(stdout, ncols, header, cells, n);
	else
		otactl_err("out of memory");
	for (i = 0; i < n * ncols; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

int
otactl_api_record(const json_t *obj, const char *const *keys)
{
	size_t width = 0, i;
	char *s;

	for (i = 0; keys[i] != NULL; i++)
		if (strlen(keys[i]) > width)
			width = strlen(keys[i]);
	for (i = 0; keys[i] != NULL; i++) {
		if ((s = otactl_api_cell(otactl_api_get(obj, keys[i]))) ==
		    NULL) {
			otactl_err("out of memory");
			return -1;
		}
		printf("%s:%*s %s\n", keys[i], (int)(width - strlen(keys[i])),
		    "", s);
		free(s);
	}
	return 0;
}

int
otactl_api_print_json(const json_t *j)
{
	/* 15 digits, as otad prints reals: 0.1, not 0.10000000000000001.
	 * jansson fails for want of memory or a failed write: errno says. */
	if (json_dumpf(j, stdout,
	        JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	            JSON_REAL_PRECISION(15)) != 0) {
		otactl_err("writing the answer: %s", strerror(errno));
		return -1;
	}
	putchar('\n');
	return 0;
}

int
otactl_api_list_cmd(struct otactl *ctx, int argc, char **argv, const char *cmd,
    const char *path, const char *key, size_t ncols, const char *const *header,
    const char *const *keys)
{
	struct otactl_http h;
	const char *none;
	json_t *j = NULL, *arr;
	int json, rc;

	if ((rc = otactl_api_args(ctx, argc, argv, cmd, NULL, &json, &none)) >=
	    0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(
	        &h, "GET", path, NULL, NULL, NULL, 200, cmd, &j) != 0)
		goto out;
	arr = json_object_get(j, key);
	if (!json_is_array(arr)) {
		otactl_err("%s: unexpected answer from the server", cmd);
		goto out;
	}
	if ((json ? otactl_api_print_json(arr)
	          : otactl_api_table(arr, ncols, header, keys)) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

int
otactl_api_item_cmd(
    struct otactl *ctx, int argc, char **argv, const struct otactl_api_item *it)
{
	struct otactl_http h;
	const char *arg;
	json_t *j = NULL;
	int json, rc;

	if ((rc = otactl_api_args(
	         ctx, argc, argv, it->cmd, it->pos_name, &json, &arg)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, it->method, it->path, arg, it->tail, NULL,
	        it->want, it->cmd, &j) != 0)
		goto out;
	if (j != NULL && json) {
		if (otactl_api_print_json(j) != 0)
			goto out;
	} else if (j != NULL && it->keys != NULL) {
		if (otactl_api_record(j, it->keys) != 0)
			goto out;
	} else if (it->done != NULL) {
		printf("%s %s\n", it->done, arg);
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

int
otactl_api_args(struct otactl *ctx, int argc, char **argv, const char *cmd,
    const char *pos_name, int *out_json, const char **out_pos)
{
	enum { OPT_JSON = 1 };
	static const struct otactl_opt opts[] = {
	    {"json", 0, OPT_JSON}, OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val;
	int id;

	*out_json = 0;
	otactl_args_cmd_init(&a, argc, argv, cmd, pos_name);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_JSON)
			*out_json = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (pos_name != NULL && a.pos == NULL)
		return otactl_usage_err(
		    "%s: usage: %s %s [--json]", cmd, cmd, pos_name);
	*out_pos = a.pos;
	return -1;
}
