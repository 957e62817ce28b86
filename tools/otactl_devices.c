/*
 * otactl_devices: the device registry over /api/v1/devices: list (every
 * page), show, delete, and the device token (rotate: a new one printed
 * once on stdout, the old ones revoked; revoke: all of them).  `devices
 * import` lives in otactl_import.c.  A device token is printed only by
 * rotate-token and is wiped from the response buffer after.
 */
#include "otactl_devices.h"

#include <stdlib.h>
#include <string.h>

#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_import.h"

#define DEVICE_COLS 6

/* The fields `devices show` prints, in order. */
static const char *const device_keys[] = {"id", "hardware", "reported_hardware",
    "hardware_mismatch", "version", "groups", "labels", "created_at",
    "last_seen_at", NULL};

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

/* devices show ID [--json] */
static int
devices_show(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_api_item it = {"devices show", "ID", "GET",
	    "/api/v1/devices/", NULL, 200, device_keys, NULL};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
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
	    {"delete", devices_delete},
	    {"rotate-token", devices_rotate},
	    {"revoke-token", devices_revoke},
	};

	return otactl_args_subcommand(
	    ctx, argc, argv, "devices", subs, sizeof(subs) / sizeof(subs[0]));
}
