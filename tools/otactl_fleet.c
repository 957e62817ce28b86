/*
 * otactl_fleet: GET /api/v1/whoami and GET /api/v1/fleet/summary, as a
 * record and two tables (or otad's JSON with --json).
 */
#include "otactl_fleet.h"

#include <stdio.h>
#include <stdlib.h>

#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_str.h"
#include "otactl_usage.h"

#define STALE_DAYS_MAX 3650

int
otactl_fleet_whoami(struct otactl *ctx, int argc, char **argv)
{
	static const char *const keys[] = {"kind", "role", "name", NULL};
	static const struct otactl_api_item it = {
	    "whoami", NULL, "GET", "/api/v1/whoami", NULL, 200, keys, NULL};

	return otactl_api_item_cmd(ctx, argc, argv, &it);
}

/* The options of `fleet`: 0 to go on, or the exit status to return. */
static int
fleet_args(struct otactl *ctx, int argc, char **argv, const char **out_days,
    int *out_json)
{
	enum { OPT_STALE = 1, OPT_JSON };
	static const struct otactl_opt opts[] = {{"stale-days", 1, OPT_STALE},
	    {"json", 0, OPT_JSON}, OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val;
	uint64_t days;
	int id;

	otactl_args_cmd_init(&a, argc, argv, "fleet", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_STALE) {
			if (otactl_str_parse_u64(val, &days) != 0 || days < 1 ||
			    days > STALE_DAYS_MAX)
				return otactl_usage_err(
				    "fleet: --stale-days is "
				    "1..%d, not '%s'",
				    STALE_DAYS_MAX, val);
			*out_days = val;
		} else if (id == OPT_JSON) {
			*out_json = 1;
		} else {
			(void)otactl_http_option(ctx, id, val);
		}
	}
	return id == OTACTL_ARG_EXIT ? a.status : -1;
}

/* Prints the summary j as a record and two tables.  0 or -1 (printed). */
static int
fleet_print(const json_t *j)
{
	static const char *const rec[] = {"devices", "stale", "stale_days",
	    "seen_before", "computed_at", NULL};
	static const char *const vh[] = {"VERSION", "DEVICES", "STALE"};
	static const char *const vk[] = {"version", "devices", "stale"};
	static const char *const hh[] = {"HARDWARE", "DEVICES", "STALE"};
	static const char *const hk[] = {"hardware", "devices", "stale"};

	if (otactl_api_record(j, rec) != 0)
		return -1;
	printf("\n");
	if (otactl_api_table(json_object_get(j, "by_version"), 3, vh, vk) != 0)
		return -1;
	printf("\n");
	return otactl_api_table(json_object_get(j, "by_hardware"), 3, hh, hk);
}

int
otactl_fleet(struct otactl *ctx, int argc, char **argv)
{
	const char *days = NULL;
	struct otactl_http h;
	char *url = NULL;
	json_t *j = NULL;
	int json = 0, rc;

	if ((rc = fleet_args(ctx, argc, argv, &days, &json)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	if ((url = otactl_api_url(&h, "/api/v1/fleet/summary", NULL, NULL)) ==
	        NULL ||
	    otactl_api_query(&h, &url, "stale_days", days) != 0) {
		otactl_err("fleet: out of memory");
		goto out;
	}
	if (otactl_api_call(&h, "GET", url, NULL, 200, "fleet", &j) != 0)
		goto out;
	if ((json ? otactl_api_print_json(j) : fleet_print(j)) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	free(url);
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}
