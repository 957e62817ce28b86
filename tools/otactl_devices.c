/*
 * otactl_devices: the device registry over /api/v1/devices: list (every
 * page), show, delete, and the device token (rotate: a new one printed
 * once on stdout, the old ones revoked; revoke: all of them).  `devices
 * import` lives in otactl_import.c.  A device token is printed only by
 * rotate-token and is wiped from the response buffer after.
 */
#include "otactl_devices.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_import.h"
#include "otactl_str.h"
#include "otactl_usage.h"

#define DEVICE_COLS 6
#define UPDATE_COLS 8
#define EVENT_COLS 9

/* The fields `devices show` prints, in order. */
static const char *const device_keys[] = {"id", "hardware", "reported_hardware",
    "hardware_mismatch", "version", "groups", "labels", "created_at",
    "last_seen_at", NULL};

/* Prints a device's components after its record, in the text form of
 * the CSV column ("ncp=esp32c6@1.2.0,mcu=nrf52840"); nothing when it
 * has none.  0, or -1 (printed) when out of memory. */
static int
print_components(const json_t *arr)
{
	const char *key = "components";
	size_t width = strlen("hardware_mismatch"), i, len = 0;
	size_t cap = json_array_size(arr) * 256 + 1;
	char *buf;
	json_t *c;

	if (json_array_size(arr) == 0)
		return 0;
	if ((buf = calloc(cap, 1)) == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	json_array_foreach(arr, i, c) {
		const char *v =
		    json_string_value(json_object_get(c, "version"));

		const char *n = json_string_value(json_object_get(c, "name"));
		const char *h =
		    json_string_value(json_object_get(c, "hardware"));
		int w = snprintf(buf + len, cap - len, "%s%s=%s%s%s",
		    i > 0 ? "," : "", n != NULL ? n : "?", h != NULL ? h : "?",
		    v != NULL ? "@" : "", v != NULL ? v : "");

		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
	printf("%s:%*s %s\n", key, (int)(width - strlen(key)), "", buf);
	free(buf);
	return 0;
}

/* devices list [--group G] [--hardware H] [--version V] [--seen-after T]
 * [--seen-before T] [--hardware-mismatch true|false] [--json] */
static int
devices_list(struct otactl *ctx, int argc, char **argv)
{
	enum {
		OPT_GROUP = 1,
		OPT_HARDWARE,
		OPT_VERSION,
		OPT_SEEN_AFTER,
		OPT_SEEN_BEFORE,
		OPT_MISMATCH,
		OPT_JSON,
		NOPTS
	};
	static const struct otactl_opt opts[] = {
	    {"group", 1, OPT_GROUP},
	    {"hardware", 1, OPT_HARDWARE},
	    {"version", 1, OPT_VERSION},
	    {"seen-after", 1, OPT_SEEN_AFTER},
	    {"seen-before", 1, OPT_SEEN_BEFORE},
	    {"hardware-mismatch", 1, OPT_MISMATCH},
	    {"json", 0, OPT_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	static const char *const query[NOPTS] = {NULL, "group", "hardware",
	    "version", "seen_after", "seen_before", "hardware_mismatch", NULL};
	static const char *const header[DEVICE_COLS] = {
	    "ID", "HARDWARE", "VERSION", "GROUPS", "LABELS", "LAST_SEEN"};
	static const char *const keys[DEVICE_COLS] = {
	    "id", "hardware", "version", "groups", "labels", "last_seen_at"};
	const char *val, *filter[NOPTS] = {NULL};
	struct otactl_http h;
	struct otactl_args a;
	json_t *all = NULL;
	char *url = NULL;
	int id, json = 0, rc = OTACTL_EXIT_FAIL, err = 0;

	otactl_args_cmd_init(&a, argc, argv, "devices list", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_JSON)
			json = 1;
		else if (id < NOPTS)
			filter[id] = val;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	url = otactl_api_url(&h, "/api/v1/devices", NULL, NULL);
	for (id = 1; url != NULL && id < NOPTS; id++)
		if (query[id] != NULL)
			err |=
			    otactl_api_query(&h, &url, query[id], filter[id]);
	if (url == NULL || err != 0 || (all = json_array()) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (otactl_api_list(&h, url, "devices", "devices list", all) != 0)
		goto out;
	if ((json ? otactl_api_print_json(all)
	          : otactl_api_table(all, DEVICE_COLS, header, keys)) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(all);
	free(url);
	otactl_http_close(&h);
	return rc;
}

/*
 * devices show ID [--json]: the device as a record, then its status in
 * each rollout (newest first, up to 100) as a table; --json prints the
 * device's JSON with those statuses added as "updates".
 */
static int
devices_show(struct otactl *ctx, int argc, char **argv)
{
	static const char cmd[] = "devices show";
	static const char *const header[UPDATE_COLS] = {"ROLLOUT", "NAME",
	    "STATE", "IMAGE", "STATUS", "STAGE", "RESULT", "UPDATED"};
	static const char *const keys[UPDATE_COLS] = {"rollout", "rollout_name",
	    "rollout_state", "image.version", "status", "stage_index", "result",
	    "updated_at"};
	const char *dev;
	struct otactl_http h;
	json_t *d = NULL, *u = NULL, *updates;
	int json, rc;

	if ((rc = otactl_api_args(ctx, argc, argv, cmd, "ID", &json, &dev)) >=
	    0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "GET", "/api/v1/devices/", dev, NULL, NULL,
	        200, cmd, &d) != 0 ||
	    otactl_api_request(&h, "GET", "/api/v1/devices/", dev,
	        "/updates?limit=100", NULL, 200, cmd, &u) != 0)
		goto out;
	updates = json_object_get(u, "updates");
	if (!json_is_object(d) || !json_is_array(updates)) {
		otactl_err("%s: unexpected answer from the server", cmd);
		goto out;
	}
	if (json) {
		if (json_object_set(d, "updates", updates) != 0 ||
		    otactl_api_print_json(d) != 0)
			goto out;
	} else if (otactl_api_record(d, device_keys) != 0 ||
	           print_components(json_object_get(d, "components")) != 0) {
		goto out;
	} else if (json_array_size(updates) == 0) {
		printf("rollouts: none has offered it anything\n");
	} else {
		printf("\n");
		if (otactl_api_table(updates, UPDATE_COLS, header, keys) != 0)
			goto out;
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(d);
	json_decref(u);
	otactl_http_close(&h);
	return rc;
}

/* devices events ID [--limit N] [--json]: the device's latest events
 * (default 20, at most 1000), newest first. */
static int
devices_events(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_LIMIT = 1, OPT_JSON };
	static const struct otactl_opt opts[] = {{"limit", 1, OPT_LIMIT},
	    {"json", 0, OPT_JSON}, OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	static const char *const header[EVENT_COLS] = {"RECEIVED", "ROLLOUT",
	    "VERSION", "STATE", "PROGRESS", "RESULT", "TRANSPORT", "COMPONENT",
	    "DETAIL"};
	static const char *const keys[EVENT_COLS] = {"received_at", "rollout",
	    "version", "state", "progress", "result", "transport", "component",
	    "detail"};
	const char *val, *limit = "20";
	struct otactl_http h;
	struct otactl_args a;
	json_t *j = NULL, *events;
	char tail[48];
	uint64_t n;
	int id, json = 0, rc = OTACTL_EXIT_FAIL;

	otactl_args_cmd_init(&a, argc, argv, "devices events", "ID");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_LIMIT)
			limit = val;
		else if (id == OPT_JSON)
			json = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL)
		return otactl_usage_err("devices events: usage: devices events "
		                        "ID [--limit N] [--json]");
	if (otactl_str_parse_u64(limit, &n) != 0 || n < 1 || n > 1000)
		return otactl_usage_err(
		    "devices events: --limit is 1..1000, not '%s'", limit);
	snprintf(tail, sizeof(tail), "/events?limit=%u", (unsigned)n);
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "GET", "/api/v1/devices/", a.pos, tail, NULL,
	        200, "devices events", &j) != 0)
		goto out;
	events = json_object_get(j, "events");
	if (!json_is_array(events)) {
		otactl_err("devices events: unexpected answer from the server");
		goto out;
	}
	if ((json ? otactl_api_print_json(events)
	          : otactl_api_table(events, EVENT_COLS, header, keys)) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* devices delete ID */
static int
devices_delete(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_api_item it = {"devices delete", "ID",
	    "DELETE", "/api/v1/devices/", NULL, 204, NULL, "deleted device"};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
}

/* devices rotate-token ID [--json]: the new token alone on stdout. */
static int
devices_rotate(struct otactl *ctx, int argc, char **argv)
{
	static const char cmd[] = "devices rotate-token";
	const char *dev, *token;
	struct otactl_http h;
	json_t *j = NULL;
	int json, rc;

	if ((rc = otactl_api_args(ctx, argc, argv, cmd, "ID", &json, &dev)) >=
	    0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "POST", "/api/v1/devices/", dev, "/token",
	        NULL, 201, cmd, &j) != 0)
		goto out;
	token = json_string_value(json_object_get(j, "token"));
	if (json) {
		if (otactl_api_print_json(j) != 0)
			goto out;
	} else if (token == NULL) {
		otactl_err("%s: unexpected answer from the server", cmd);
		goto out;
	} else {
		printf("%s\n", token);
		fflush(stdout);
		fprintf(stderr,
		    "note: new token for device '%s'; its old tokens are "
		    "revoked; it is shown only this once, store it now\n",
		    dev);
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* devices revoke-token ID */
static int
devices_revoke(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_api_item it = {"devices revoke-token", "ID",
	    "DELETE", "/api/v1/devices/", "/token", 204, NULL,
	    "revoked every token of device"};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
}

int
otactl_devices(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_cmd subs[] = {
	    {"import", otactl_import},
	    {"list", devices_list},
	    {"show", devices_show},
	    {"events", devices_events},
	    {"delete", devices_delete},
	    {"rotate-token", devices_rotate},
	    {"revoke-token", devices_revoke},
	};

	return otactl_args_subcommand(
	    ctx, argc, argv, "devices", subs, sizeof(subs) / sizeof(subs[0]));
}
