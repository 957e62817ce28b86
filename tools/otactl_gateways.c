/*
 * otactl_gateways: gateway tokens over /api/v1/gateways, the credentials
 * of companion apps acting for the devices of some groups: create (the
 * token printed once on stdout, wiped from memory after), list, revoke.
 */
#include "otactl_gateways.h"

#include <stdlib.h>
#include <string.h>

#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_usage.h"
#include "store_groups.h"

#define GATEWAY_COLS 6

/*
 * Appends the names of a "--group a,b" value to groups.  Returns 0 or -1
 * when out of memory.
 */
static int
add_names(json_t *groups, const char *val)
{
	const char *p = val, *comma;
	size_t len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len > 0 &&
		    json_array_append_new(groups, json_stringn(p, len)) != 0)
			return -1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* gateways create NAME --group G [--group G2 ...] [--json] */
static int
gateways_create(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_GROUP = 1, OPT_JSON };
	static const struct otactl_opt opts[] = {
	    {"group", 1, OPT_GROUP},
	    {"json", 0, OPT_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	struct otactl_http h;
	struct otactl_args a;
	json_t *groups, *body = NULL, *j = NULL;
	const char *val, *token;
	int id, json = 0, rc = OTACTL_EXIT_FAIL, err = 0;

	memset(&h, 0, sizeof(h));
	if ((groups = json_array()) == NULL) {
		otactl_err("out of memory");
		return OTACTL_EXIT_FAIL;
	}
	otactl_args_cmd_init(&a, argc, argv, "gateways create", "NAME");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_GROUP)
			err |= add_names(groups, val);
		else if (id == OPT_JSON)
			json = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT) {
		rc = a.status;
		goto out;
	}
	if (a.pos == NULL || json_array_size(groups) == 0) {
		rc = otactl_usage_err("gateways create: usage: gateways create "
		                      "NAME --group G [--group G2 ...]");
		goto out;
	}
	if (json_array_size(groups) > STORE_GATEWAY_GROUPS_MAX) {
		rc = otactl_usage_err("gateways create: at most %d groups",
		    STORE_GATEWAY_GROUPS_MAX);
		goto out;
	}
	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	body = json_pack("{s:s, s:O}", "name", a.pos, "groups", groups);
	if (err != 0 || body == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (otactl_api_request(&h, "POST", "/api/v1/gateways", NULL, NULL, body,
	        201, "gateways create", &j) != 0)
		goto out;
	token = json_string_value(json_object_get(j, "token"));
	if (json) {
		if (otactl_api_print_json(j) != 0)
			goto out;
	} else if (token == NULL) {
		otactl_err(
		    "gateways create: unexpected answer from the server");
		goto out;
	} else {
		printf("%s\n", token);
		fflush(stdout);
		fprintf(stderr,
		    "note: gateway token '%s' (id %s) created; it is shown "
		    "only this once, store it now\n",
		    a.pos,
		    json_string_value(json_object_get(j, "id")) != NULL
		        ? json_string_value(json_object_get(j, "id"))
		        : "?");
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(groups);
	json_decref(body);
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* gateways list [--json] */
static int
gateways_list(struct otactl *ctx, int argc, char **argv)
{
	static const char *const header[GATEWAY_COLS] = {
	    "NAME", "ID", "GROUPS", "CREATED", "LAST_USED", "REVOKED"};
	static const char *const keys[GATEWAY_COLS] = {
	    "name", "id", "groups", "created_at", "last_used_at", "revoked_at"};

	return otactl_api_list_cmd(ctx, argc, argv, "gateways list",
	    "/api/v1/gateways", "gateways", GATEWAY_COLS, header, keys);
}

/* gateways revoke NAME|ID */
static int
gateways_revoke(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_api_item it = {"gateways revoke", "NAME|ID",
	    "DELETE", "/api/v1/gateways/", NULL, 204, NULL,
	    "revoked gateway token"};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
}

int
otactl_gateways(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_cmd subs[] = {
	    {"create", gateways_create},
	    {"list", gateways_list},
	    {"revoke", gateways_revoke},
	};

	return otactl_args_subcommand(
	    ctx, argc, argv, "gateways", subs, sizeof(subs) / sizeof(subs[0]));
}
