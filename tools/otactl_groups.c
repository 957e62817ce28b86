/*
 * otactl_groups: device groups over /api/v1/groups: create, list, show,
 * delete, and membership changes in bulk.  Members come from the command
 * line or from a file of one id per line (--file); they are checked
 * locally first (nothing is sent if one is malformed) and sent in chunks
 * of at most 5000 ids, each applied atomically by otad; a failure
 * mid-way says how many chunks were applied.
 */
#include "otactl_groups.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_http.h"
#include "otactl_usage.h"
#include "store_devices.h"

#define GROUP_COLS 4
#define MEMBERS_FILE_MAX (64u * 1024 * 1024) /* bytes of --file */
#define CHUNK_MAX 5000                       /* ids per request */

/* The fields `groups show` prints, in order. */
static const char *const group_keys[] = {"name", "description", "devices",
    "created_at", "maintenance_windows", NULL};

/* groups create NAME [--description D] [--json] */
static int
groups_create(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_DESCRIPTION = 1, OPT_JSON };
	static const struct otactl_opt opts[] = {
	    {"description", 1, OPT_DESCRIPTION},
	    {"json", 0, OPT_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	const char *val, *desc = NULL;
	struct otactl_http h;
	struct otactl_args a;
	json_t *body = NULL, *j = NULL;
	int id, json = 0, rc = OTACTL_EXIT_FAIL;

	otactl_args_cmd_init(&a, argc, argv, "groups create", "NAME");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_DESCRIPTION)
			desc = val;
		else if (id == OPT_JSON)
			json = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL)
		return otactl_usage_err("groups create: usage: groups create "
		                        "NAME [--description D]");
	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	body = json_pack("{s:s}", "name", a.pos);
	if (body != NULL && desc != NULL)
		json_object_set_new(body, "description", json_string(desc));
	if (body == NULL) {
		otactl_err("out of memory (or --description not UTF-8)");
		goto out;
	}
	if (otactl_api_request(&h, "POST", "/api/v1/groups", NULL, NULL, body,
	        201, "groups create", &j) != 0)
		goto out;
	if (!json)
		printf("created group %s\n", a.pos);
	else if (otactl_api_print_json(j) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(body);
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* groups update NAME --maintenance-windows W [--json]: the windows every
 * rollout honours for the group's members ("" removes them). */
static int
groups_update(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_WINDOWS = 1, OPT_JSON };
	static const struct otactl_opt opts[] = {
	    {"maintenance-windows", 1, OPT_WINDOWS},
	    {"json", 0, OPT_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	const char *val, *windows = NULL;
	struct otactl_http h;
	struct otactl_args a;
	json_t *body = NULL, *j = NULL;
	int id, json = 0, rc = OTACTL_EXIT_FAIL;

	memset(&h, 0, sizeof(h));
	otactl_args_cmd_init(&a, argc, argv, "groups update", "NAME");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_WINDOWS)
			windows = val;
		else if (id == OPT_JSON)
			json = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL || windows == NULL)
		return otactl_usage_err("groups update: usage: groups update "
		                        "NAME --maintenance-windows W");
	body = json_pack("{s:s}", "maintenance_windows", windows);
	if (body == NULL) {
		otactl_err("out of memory (or --maintenance-windows not "
		           "UTF-8)");
		goto out;
	}
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "PATCH", "/api/v1/groups/", a.pos, NULL,
	        body, 200, "groups update", &j) != 0)
		goto out;
	if ((json ? otactl_api_print_json(j)
	          : otactl_api_record(j, group_keys)) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(body);
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* groups list [--json] */
static int
groups_list(struct otactl *ctx, int argc, char **argv)
{
	static const char *const header[GROUP_COLS] = {
	    "NAME", "DEVICES", "CREATED", "DESCRIPTION"};
	static const char *const keys[GROUP_COLS] = {
	    "name", "devices", "created_at", "description"};

	return otactl_api_list_cmd(ctx, argc, argv, "groups list",
	    "/api/v1/groups", "groups", GROUP_COLS, header, keys);
}

/* groups show NAME [--json] */
static int
groups_show(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_api_item it = {"groups show", "NAME", "GET",
	    "/api/v1/groups/", NULL, 200, group_keys, NULL};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
}

/* groups delete NAME */
static int
groups_delete(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_api_item it = {"groups delete", "NAME",
	    "DELETE", "/api/v1/groups/", NULL, 204, NULL, "deleted group"};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
}

/*
 * Appends the ids of the file at path (one per line; spaces around them,
 * blank lines and lines starting with '#' ignored) to ids.  Every bad
 * line is reported as "FILE:LINE: reason".  Returns 0 or -1 (printed).
 */
static int
read_ids_file(const char *path, json_t *ids)
{
	unsigned char *buf = NULL;
	size_t len = 0, line = 0, bad = 0, b, e;
	char *p, *nl, *s;
	int rc = -1, err;

	err = otactl_file_read(path, MEMBERS_FILE_MAX, &buf, &len);
	if (err == OTA_ETOOBIG)
		otactl_err(
		    "%s: over %u bytes; split it", path, MEMBERS_FILE_MAX);
	if (err != 0)
		return -1;
	for (p = (char *)buf; p < (char *)buf + len; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)((char *)buf + len - p))) ==
		    NULL)
			nl = (char *)buf + len;
		*nl = '\0';
		for (b = 0; p[b] == ' ' || p[b] == '\t'; b++)
			;
		for (e = strlen(p);
		     e > b &&
		     (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r');
		     e--)
			;
		s = p + b;
		s[e - b] = '\0';
		if (s[0] == '\0' || s[0] == '#')
			continue;
		/* strlen: a NUL byte in the line makes it no id. */
		if (strlen(s) != e - b || !store_device_id_valid(s)) {
			fprintf(stderr,
			    "%s:%zu: '%.40s' is not a device id (1..%d of "
			    "[A-Za-z0-9._:-])\n",
			    path, line, s, STORE_DEVICE_ID_MAX);
			bad++;
			continue;
		}
		if (json_array_append_new(ids, json_string(s)) != 0) {
			otactl_err("out of memory");
			goto out;
		}
	}
	if (bad > 0) {
		otactl_err("%s: %zu bad line%s; nothing sent", path, bad,
		    bad == 1 ? "" : "s");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/*
 * Sends the ids in chunks to /api/v1/groups/NAME/members under field
 * ("add" or "remove").  Returns the exit status.
 */
static int
members_send(struct otactl *ctx, const char *cmd, const char *group,
    const char *field, const json_t *ids)
{
	size_t n = json_array_size(ids), i, nchunks, done = 0;
	json_int_t changed = 0;
	struct otactl_http h;
	json_t *body = NULL, *chunk, *j = NULL;
	char *url = NULL;
	int rc = OTACTL_EXIT_FAIL;

	nchunks = (n + CHUNK_MAX - 1) / CHUNK_MAX;
	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	if ((url = otactl_api_url(&h, "/api/v1/groups/", group, "/members")) ==
	    NULL) {
		otactl_err("out of memory");
		goto out;
	}
	for (done = 0; done < nchunks; done++) {
		json_decref(body);
		json_decref(j);
		j = NULL;
		body = json_object();
		chunk = json_array();
		if (body == NULL || chunk == NULL ||
		    json_object_set_new(body, field, chunk) != 0) {
			otactl_err("out of memory");
			goto out;
		}
		for (i = done * CHUNK_MAX; i < n && i < (done + 1) * CHUNK_MAX;
		     i++)
			if (json_array_append(chunk, json_array_get(ids, i)) !=
			    0) {
				otactl_err("out of memory");
				goto fail;
			}
		if (otactl_api_call(&h, "POST", url, body, 200, cmd, &j) != 0)
			goto fail;
		changed += json_integer_value(json_object_get(
		    j, strcmp(field, "add") == 0 ? "added" : "removed"));
	}
	printf("group %s: %s %" JSON_INTEGER_FORMAT " device%s (%zu listed)\n",
	    group, strcmp(field, "add") == 0 ? "added" : "removed", changed,
	    changed == 1 ? "" : "s", n);
	rc = OTACTL_EXIT_OK;
	goto out;
fail:
	if (nchunks > 1)
		otactl_err("%s: chunks of %d ids: %zu of %zu applied (ids "
		           "1-%zu); ids %zu-%zu not applied",
		    cmd, CHUNK_MAX, done, nchunks, done * CHUNK_MAX,
		    done * CHUNK_MAX + 1, n);
out:
	json_decref(body);
	json_decref(j);
	free(url);
	otactl_http_close(&h);
	return rc;
}

/* groups add|remove NAME [ID...] [--file F] */
static int
members(struct otactl *ctx, int argc, char **argv, const char *field)
{
	enum { OPT_FILE = 1 };
	static const struct otactl_opt opts[] = {
	    {"file", 1, OPT_FILE}, OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	const char *cmd =
	    strcmp(field, "add") == 0 ? "groups add" : "groups remove";
	const char *val, *group = NULL, *file = NULL;
	struct otactl_args a;
	json_t *ids;
	int id, rc = OTACTL_EXIT_USAGE;

	if ((ids = json_array()) == NULL) {
		otactl_err("out of memory");
		return OTACTL_EXIT_FAIL;
	}
	otactl_args_init(&a, argc, argv);
	while ((id = otactl_args_next(&a, ctx, opts, &val)) != OTACTL_ARG_END) {
		if (id == OTACTL_ARG_HELP) {
			if (otactl_usage_cmd(stdout, cmd) != 0)
				otactl_usage(stdout);
			rc = OTACTL_EXIT_OK;
			goto out;
		}
		if (id == OTACTL_ARG_BAD)
			goto out;
		if (id == OPT_FILE) {
			file = val;
		} else if (id != OTACTL_ARG_POS) {
			(void)otactl_http_option(ctx, id, val);
		} else if (group == NULL) {
			group = val;
		} else if (!store_device_id_valid(val)) {
			rc = otactl_usage_err("%s: '%s' is not a device id "
			                      "(1..%d of [A-Za-z0-9._:-])",
			    cmd, val, STORE_DEVICE_ID_MAX);
			goto out;
		} else if (json_array_append_new(ids, json_string(val)) != 0) {
			otactl_err("out of memory");
			rc = OTACTL_EXIT_FAIL;
			goto out;
		}
	}
	if (group == NULL || (file == NULL && json_array_size(ids) == 0)) {
		rc = otactl_usage_err(
		    "%s: usage: %s NAME ID... [--file F]", cmd, cmd);
		goto out;
	}
	rc = OTACTL_EXIT_FAIL;
	if (file != NULL && read_ids_file(file, ids) != 0)
		goto out;
	if (json_array_size(ids) == 0) {
		otactl_err("%s: %s lists no device", cmd, file);
		goto out;
	}
	rc = members_send(ctx, cmd, group, field, ids);
out:
	json_decref(ids);
	return rc;
}

static int
groups_add(struct otactl *ctx, int argc, char **argv)
{
	return members(ctx, argc, argv, "add");
}

static int
groups_remove(struct otactl *ctx, int argc, char **argv)
{
	return members(ctx, argc, argv, "remove");
}

int
otactl_groups(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_cmd subs[] = {
	    {"create", groups_create},
	    {"update", groups_update},
	    {"list", groups_list},
	    {"show", groups_show},
	    {"delete", groups_delete},
	    {"add", groups_add},
	    {"remove", groups_remove},
	};

	return otactl_args_subcommand(
	    ctx, argc, argv, "groups", subs, sizeof(subs) / sizeof(subs[0]));
}
