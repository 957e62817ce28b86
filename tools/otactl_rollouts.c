/*
 * otactl_rollouts: staged rollouts over /api/v1/rollouts: create (a
 * draft), list (every page), show (with its event history), update (the
 * policy of a draft or paused rollout), and the
 * transitions start, pause, resume, advance and abort, each with an
 * optional --reason recorded by otad.  Numbers are checked for shape
 * here; their meaning (stage order, bounds, which transition is allowed)
 * is otad's to judge, and its refusal is printed as is.
 */
#include "otactl_rollouts.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_health.h"
#include "otactl_http.h"
#include "otactl_str.h"
#include "otactl_usage.h"

#define ROLLOUT_COLS 8
#define EVENT_COLS 7
#define STAGES_MAX 16 /* percentages in --stages */

/* The fields `rollouts show` prints, in order. */
static const char *const rollout_keys[] = {"id", "name", "state", "image.id",
    "image.name", "image.version", "bundle.id", "bundle.name", "bundle.version",
    "groups", "stages", "stage_index", "stage_percent", "failure_threshold",
    "min_reports", "advance_after", "gate", "confidence", "from_version",
    "selector", "start_at", "device_timeout", "max_retries", "retry_backoff",
    "abort_on", "ignore_results", "breach_action", "max_offers_per_minute",
    "rate_ramp_minutes", "rate_ramp_max", "require_consent", "consent_retry",
    "reason", "salt", "created_at", "created_by", "started_at",
    "stage_started_at", "finished_at", "updated_at", "maintenance_windows",
    "outside_window", "action_type", "forced_at", NULL};

/*
 * Adds "stage": "<n>/<count> <percent>%" to a rollout object for the
 * tables.  Returns 0 or -1 when out of memory.
 */
static int
add_stage_cell(json_t *r)
{
	json_int_t idx = json_integer_value(json_object_get(r, "stage_index"));
	json_int_t pct =
	    json_integer_value(json_object_get(r, "stage_percent"));
	size_t n = json_array_size(json_object_get(r, "stages"));
	char s[64];

	snprintf(s, sizeof(s),
	    "%" JSON_INTEGER_FORMAT "/%zu %" JSON_INTEGER_FORMAT "%%", idx + 1,
	    n, pct);
	return json_object_set_new(r, "stage", json_string(s));
}

/* Prints the one-line summary of a rollout after a transition. */
static void
print_summary(const json_t *r)
{
	char *state = otactl_api_cell(json_object_get(r, "state"));
	char *reason = otactl_api_cell(json_object_get(r, "reason"));
	json_t *copy = json_copy((json_t *)r);
	char *stage = NULL;

	if (copy != NULL && add_stage_cell(copy) == 0)
		stage = otactl_api_cell(json_object_get(copy, "stage"));
	printf("rollout %" JSON_INTEGER_FORMAT ": %s, stage %s%s%s\n",
	    json_integer_value(json_object_get(r, "id")),
	    state != NULL ? state : "?", stage != NULL ? stage : "?",
	    reason != NULL && strcmp(reason, "-") != 0 ? ", reason: " : "",
	    reason != NULL && strcmp(reason, "-") != 0 ? reason : "");
	free(state);
	free(reason);
	free(stage);
	json_decref(copy);
}

/* Parses "1,5,25,100" into a new JSON array of integers, or NULL. */
static json_t *
parse_stages(const char *s)
{
	json_t *arr = json_array();
	uint64_t v;
	char num[24];
	size_t len;

	while (arr != NULL) {
		len = strcspn(s, ",");
		if (len == 0 || len >= sizeof(num) ||
		    json_array_size(arr) == STAGES_MAX)
			goto bad;
		memcpy(num, s, len);
		num[len] = '\0';
		if (otactl_str_parse_u64(num, &v) != 0 || v > 100 ||
		    json_array_append_new(arr, json_integer((json_int_t)v)) !=
		        0)
			goto bad;
		if (s[len] == '\0')
			return arr;
		s += len + 1;
	}
bad:
	json_decref(arr);
	return NULL;
}

/* Parses a decimal fraction 0..1 ("0.05").  0 or -1. */
static int
parse_fraction(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(*out) ||
	    *out < 0 || *out > 1)
		return -1;
	return 0;
}

/* The options of rollouts create. */
enum {
	CREATE_IMAGE = 1,
	CREATE_GROUP,
	CREATE_NAME,
	CREATE_STAGES,
	CREATE_THRESHOLD,
	CREATE_MIN_REPORTS,
	CREATE_ADVANCE_AFTER,
	CREATE_GATE,
	CREATE_CONFIDENCE,
	CREATE_FROM_VERSION,
	CREATE_START_AT,
	CREATE_SELECTOR,
	CREATE_BUNDLE,
	CREATE_JSON,
	CREATE_WINDOWS,
	CREATE_OUTSIDE,
	CREATE_ACTION_TYPE,
	CREATE_FORCED_AT,
	/* the stuck-device policy (stuck_option) */
	CREATE_DEVICE_TIMEOUT,
	CREATE_MAX_RETRIES,
	CREATE_RETRY_BACKOFF,
	CREATE_ABORT_ON,
	CREATE_IGNORE_RESULTS,
	CREATE_BREACH_ACTION,
	CREATE_MAX_OFFERS,
	CREATE_RATE_RAMP_MIN,
	CREATE_RATE_RAMP_MAX,
	CREATE_REQUIRE_CONSENT,
	CREATE_CONSENT_RETRY,
};

/* The options of a rollout's editable policy (PATCH's fields), for
 * create and update alike: one list, so that a new field reaches both. */
#define POLICY_OPTS                                                            \
	{"failure-threshold", 1, CREATE_THRESHOLD},                            \
	    {"min-reports", 1, CREATE_MIN_REPORTS},                            \
	    {"advance-after", 1, CREATE_ADVANCE_AFTER},                        \
	    {"gate", 1, CREATE_GATE}, {"confidence", 1, CREATE_CONFIDENCE},    \
	    {"from-version", 1, CREATE_FROM_VERSION},                          \
	    {"start-at", 1, CREATE_START_AT},                                  \
	    {"selector", 1, CREATE_SELECTOR},                                  \
	    {"maintenance-windows", 1, CREATE_WINDOWS},                        \
	    {"outside-window", 1, CREATE_OUTSIDE},                             \
	    {"action-type", 1, CREATE_ACTION_TYPE},                            \
	    {"forced-at", 1, CREATE_FORCED_AT},                                \
	    {"device-timeout", 1, CREATE_DEVICE_TIMEOUT},                      \
	    {"max-retries", 1, CREATE_MAX_RETRIES},                            \
	    {"retry-backoff", 1, CREATE_RETRY_BACKOFF},                        \
	    {"abort-on", 1, CREATE_ABORT_ON},                                  \
	    {"ignore-results", 1, CREATE_IGNORE_RESULTS},                      \
	    {"breach-action", 1, CREATE_BREACH_ACTION},                        \
	    {"max-offers-per-minute", 1, CREATE_MAX_OFFERS},                   \
	    {"rate-ramp-minutes", 1, CREATE_RATE_RAMP_MIN},                    \
	    {"rate-ramp-max", 1, CREATE_RATE_RAMP_MAX},                        \
	    {"require-consent", 1, CREATE_REQUIRE_CONSENT},                    \
	{                                                                      \
		"consent-retry", 1, CREATE_CONSENT_RETRY                       \
	}

/* "a,b,c" ("" none) into a new JSON array of strings, or of integers when
 * ints; NULL for an empty item or a number that is not one. */
static json_t *
parse_list(const char *s, int ints)
{
	json_t *arr = json_array();
	uint64_t v;
	char item[64];
	size_t len;

	while (arr != NULL && s[0] != '\0') {
		len = strcspn(s, ",");
		if (len == 0 || len >= sizeof(item))
			goto bad;
		memcpy(item, s, len);
		item[len] = '\0';
		if (ints && (otactl_str_parse_u64(item, &v) != 0 || v > 1000))
			goto bad;
		if (json_array_append_new(arr, ints
		                                   ? json_integer((json_int_t)v)
		                                   : json_string(item)) != 0)
			goto bad;
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	return arr;
bad:
	json_decref(arr);
	return NULL;
}

/* create_option for the stuck-device policy's options (otad judges the
 * values). */
static const char *
stuck_option(
    json_t *body, int id, const char *val, const char **out_want, int *err)
{
	static const char *const keys[] = {"device_timeout", "max_retries",
	    "retry_backoff", "max_offers_per_minute", "rate_ramp_minutes",
	    "rate_ramp_max"};
	static const char *const flags[] = {"--device-timeout", "--max-retries",
	    "--retry-backoff", "--max-offers-per-minute", "--rate-ramp-minutes",
	    "--rate-ramp-max"};
	int k = id >= CREATE_MAX_OFFERS ? 3 + id - CREATE_MAX_OFFERS
	                                : id - CREATE_DEVICE_TIMEOUT;
	uint64_t n;
	json_t *v;

	switch (id) {
	case CREATE_DEVICE_TIMEOUT:
	case CREATE_MAX_RETRIES:
	case CREATE_RETRY_BACKOFF:
	case CREATE_MAX_OFFERS:
	case CREATE_RATE_RAMP_MIN:
	case CREATE_RATE_RAMP_MAX:
		if (otactl_str_parse_u64(val, &n) != 0 || n > INT64_MAX) {
			*out_want = "a whole number";
			return flags[k];
		}
		*err |= json_object_set_new(
		    body, keys[k], json_integer((json_int_t)n));
		break;
	case CREATE_ABORT_ON:
	case CREATE_IGNORE_RESULTS:
		if ((v = parse_list(val, id == CREATE_IGNORE_RESULTS)) ==
		    NULL) {
			*out_want = id == CREATE_ABORT_ON
			                ? "outcomes separated by commas, e.g. "
			                  "failed,timed_out (\"\" none)"
			                : "result codes separated by commas, "
			                  "e.g. 4,9 (\"\" none)";
			return id == CREATE_ABORT_ON ? "--abort-on"
			                             : "--ignore-results";
		}
		*err |= json_object_set_new(body,
		    id == CREATE_ABORT_ON ? "abort_on" : "ignore_results", v);
		break;
	case CREATE_CONSENT_RETRY:
		if (otactl_str_parse_u64(val, &n) != 0 || n > INT64_MAX) {
			*out_want = "a whole number of seconds";
			return "--consent-retry";
		}
		*err |= json_object_set_new(
		    body, "consent_retry", json_integer((json_int_t)n));
		break;
	case CREATE_REQUIRE_CONSENT:
		if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0) {
			*out_want = "true or false";
			return "--require-consent";
		}
		*err |= json_object_set_new(body, "require_consent",
		    json_boolean(strcmp(val, "true") == 0));
		break;
	case CREATE_BREACH_ACTION: /* otad names the actions it knows */
		*err |= json_object_set_new(
		    body, "breach_action", json_string(val));
		break;
	}
	return NULL;
}

/*
 * The JSON field of an option whose value goes as a string, otad parsing
 * and judging it ("" clears a selector, range, time or windows), or NULL.
 */
static const char *
string_field(int id)
{
	switch (id) {
	case CREATE_NAME:
		return "name";
	case CREATE_GATE:
		return "gate";
	case CREATE_FROM_VERSION:
		return "from_version";
	case CREATE_SELECTOR:
		return "selector";
	case CREATE_START_AT:
		return "start_at";
	case CREATE_WINDOWS:
		return "maintenance_windows";
	case CREATE_OUTSIDE:
		return "outside_window";
	case CREATE_ACTION_TYPE:
		return "action_type";
	case CREATE_FORCED_AT:
		return "forced_at";
	}
	return NULL;
}

/*
 * Adds the value of rollouts create option id to body, or groups for
 * --group.  Returns NULL, or the option ("--stages") when val is not what
 * it takes (what it wants in *out_want).  A value jansson refuses (out of
 * memory, not UTF-8) sets *err.
 */
static const char *
create_option(json_t *body, json_t *groups, int id, const char *val,
    const char **out_want, int *err)
{
	const char *field = string_field(id);
	uint64_t n;
	double f;
	json_t *v;

	if (field != NULL) {
		*err |= json_object_set_new(body, field, json_string(val));
		return NULL;
	}
	switch (id) {
	case CREATE_IMAGE:
	case CREATE_BUNDLE:
	case CREATE_MIN_REPORTS:
	case CREATE_ADVANCE_AFTER:
		if (otactl_str_parse_u64(val, &n) != 0 || n > INT64_MAX) {
			*out_want = "a whole number";
			return id == CREATE_IMAGE         ? "--image"
			       : id == CREATE_BUNDLE      ? "--bundle"
			       : id == CREATE_MIN_REPORTS ? "--min-reports"
			                                  : "--advance-after";
		}
		*err |= json_object_set_new(body,
		    id == CREATE_IMAGE         ? "image"
		    : id == CREATE_BUNDLE      ? "bundle"
		    : id == CREATE_MIN_REPORTS ? "min_reports"
		                               : "advance_after",
		    json_integer((json_int_t)n));
		break;
	case CREATE_GROUP:
		*err |= json_array_append_new(groups, json_string(val));
		break;
	case CREATE_STAGES:
		if ((v = parse_stages(val)) == NULL) {
			*out_want = "percentages 0..100 separated by commas, "
			            "e.g. 1,5,25,100";
			return "--stages";
		}
		*err |= json_object_set_new(body, "stages", v);
		break;
	case CREATE_THRESHOLD:
		if (parse_fraction(val, &f) != 0) {
			*out_want = "a fraction 0..1, e.g. 0.05";
			return "--failure-threshold";
		}
		*err |= json_object_set_new(
		    body, "failure_threshold", json_real(f));
		break;
	case CREATE_CONFIDENCE:
		if (parse_fraction(val, &f) != 0) {
			*out_want = "a fraction 0..1, e.g. 0.95";
			return "--confidence";
		}
		*err |= json_object_set_new(body, "confidence", json_real(f));
		break;
	default:
		return stuck_option(body, id, val, out_want, err);
	}
	return NULL;
}

/* What rollouts create takes. */
static const struct otactl_opt create_opts[] = {
    {"image", 1, CREATE_IMAGE},
    {"bundle", 1, CREATE_BUNDLE},
    {"group", 1, CREATE_GROUP},
    {"name", 1, CREATE_NAME},
    {"stages", 1, CREATE_STAGES},
    POLICY_OPTS,
    {"json", 0, CREATE_JSON},
    OTACTL_HTTP_OPTS,
    {NULL, 0, 0},
};

/*
 * rollouts create --image ID|--bundle ID --group G [--group G2 ...] [--name N]
 * [--stages 1,5,25,100] [--failure-threshold F] [--min-reports N]
 * [--advance-after SEC] [--gate simple|wilson] [--confidence C]
 * [--from-version RANGE] [--start-at TIME] [--selector SEL]
 * [--maintenance-windows W] [--outside-window notify|silent]
 * [--action-type T] [--forced-at TIME]
 * [--device-timeout SEC] [--max-retries N] [--retry-backoff SEC]
 * [--abort-on LIST] [--ignore-results LIST] [--breach-action pause|abort]
 * [--max-offers-per-minute N] [--rate-ramp-minutes K] [--rate-ramp-max M]
 * [--require-consent true|false] [--consent-retry SEC] [--json]
 */
static int
rollouts_create(struct otactl *ctx, int argc, char **argv)
{
	struct otactl_http h;
	struct otactl_args a;
	json_t *body, *groups, *j = NULL;
	const char *val, *bad = NULL, *want = "a whole number";
	int id, json = 0, rc = OTACTL_EXIT_FAIL, err = 0;

	memset(&h, 0, sizeof(h));
	body = json_object();
	groups = json_array();
	if (body == NULL || groups == NULL ||
	    json_object_set_new(body, "groups", groups) != 0) {
		otactl_err("out of memory");
		goto out;
	}
	otactl_args_cmd_init(&a, argc, argv, "rollouts create", NULL);
	while (bad == NULL &&
	       (id = otactl_args_cmd_next(&a, ctx, create_opts, &val)) > 0) {
		if (id == CREATE_JSON)
			json = 1;
		else if (!otactl_http_option(ctx, id, val))
			bad = create_option(body, groups, id, val, &want, &err);
	}
	if (bad != NULL) {
		rc = otactl_usage_err("%s '%s': want %s", bad, val, want);
		goto out;
	}
	if (id == OTACTL_ARG_EXIT) {
		rc = a.status;
		goto out;
	}
	if ((json_object_get(body, "image") == NULL) ==
	        (json_object_get(body, "bundle") == NULL) ||
	    (json_array_size(groups) == 0 &&
	        json_object_get(body, "selector") == NULL)) {
		rc =
		    otactl_usage_err("rollouts create: usage: rollouts "
		                     "create --image ID|--bundle ID --group G "
		                     "[--group G2 ...] (or --selector SEL) "
		                     "[options] (otactl help rollouts create)");
		goto out;
	}
	if (err != 0) {
		otactl_err("out of memory (or an argument not UTF-8)");
		goto out;
	}
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "POST", "/api/v1/rollouts", NULL, NULL, body,
	        201, "rollouts create", &j) != 0)
		goto out;
	if ((json ? otactl_api_print_json(j)
	          : otactl_api_record(j, rollout_keys)) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(body);
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/*
 * rollouts update ID [--failure-threshold F] [--min-reports N]
 * [--advance-after SEC] [--gate simple|wilson] [--confidence C]
 * [--from-version RANGE] [--start-at TIME] [--selector SEL]
 * [--maintenance-windows W] [--outside-window notify|silent]
 * [--action-type T] [--forced-at TIME] [--device-timeout SEC]
 * [--max-retries N] [--retry-backoff SEC] [--abort-on LIST]
 * [--ignore-results LIST] [--breach-action pause|abort]
 * [--max-offers-per-minute N] [--rate-ramp-minutes K] [--rate-ramp-max M]
 * [--require-consent true|false] [--consent-retry SEC] [--json]: PATCHes the
 * policy of a draft or paused rollout (otad refuses others).
 */
static int
rollouts_update(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_opt opts[] = {
	    POLICY_OPTS,
	    {"json", 0, CREATE_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	struct otactl_http h;
	struct otactl_args a;
	json_t *body, *j = NULL;
	const char *val, *bad = NULL, *want = "a whole number";
	int id, json = 0, rc = OTACTL_EXIT_FAIL, err = 0;

	memset(&h, 0, sizeof(h));
	if ((body = json_object()) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	otactl_args_cmd_init(&a, argc, argv, "rollouts update", "ID");
	while (bad == NULL &&
	       (id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == CREATE_JSON)
			json = 1;
		else if (!otactl_http_option(ctx, id, val))
			bad = create_option(body, NULL, id, val, &want, &err);
	}
	if (bad != NULL) {
		rc = otactl_usage_err("%s '%s': want %s", bad, val, want);
		goto out;
	}
	if (id == OTACTL_ARG_EXIT) {
		rc = a.status;
		goto out;
	}
	if (a.pos == NULL || json_object_size(body) == 0) {
		rc = otactl_usage_err(
		    "rollouts update: usage: rollouts update ID "
		    "[--failure-threshold F] [--min-reports N] "
		    "[--advance-after SEC] [--gate simple|wilson] "
		    "[--confidence C] [--from-version RANGE] [--start-at TIME] "
		    "[--selector SEL] [--maintenance-windows W] "
		    "[--outside-window notify|silent] [--action-type T] "
		    "[--forced-at TIME] [--device-timeout SEC] "
		    "[--max-retries N] [--retry-backoff SEC] [--abort-on LIST] "
		    "[--ignore-results LIST] [--breach-action pause|abort] "
		    "[--max-offers-per-minute N] [--rate-ramp-minutes K] "
		    "[--rate-ramp-max M] [--require-consent true|false] "
		    "[--consent-retry SEC] (at least one)");
		goto out;
	}
	if (err != 0) {
		otactl_err("out of memory (or an argument not UTF-8)");
		goto out;
	}
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "PATCH", "/api/v1/rollouts/", a.pos, NULL,
	        body, 200, "rollouts update", &j) != 0)
		goto out;
	if ((json ? otactl_api_print_json(j)
	          : otactl_api_record(j, rollout_keys)) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(body);
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* rollouts list [--state S] [--image ID] [--json] */
static int
rollouts_list(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_STATE = 1, OPT_IMAGE, OPT_JSON };
	static const struct otactl_opt opts[] = {
	    {"state", 1, OPT_STATE},
	    {"image", 1, OPT_IMAGE},
	    {"json", 0, OPT_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	static const char *const header[ROLLOUT_COLS] = {"ID", "NAME", "IMAGE",
	    "VERSION", "STATE", "STAGE", "GROUPS", "UPDATED"};
	static const char *const keys[ROLLOUT_COLS] = {"id", "name",
	    "image.name", "image.version", "state", "stage", "groups",
	    "updated_at"};
	const char *val, *state = NULL, *image = NULL;
	struct otactl_http h;
	struct otactl_args a;
	json_t *all = NULL, *r;
	char *url = NULL;
	size_t i;
	int id, json = 0, rc = OTACTL_EXIT_FAIL, err = 0;

	otactl_args_cmd_init(&a, argc, argv, "rollouts list", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_STATE)
			state = val;
		else if (id == OPT_IMAGE)
			image = val;
		else if (id == OPT_JSON)
			json = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	url = otactl_api_url(&h, "/api/v1/rollouts", NULL, NULL);
	if (url != NULL) {
		err |= otactl_api_query(&h, &url, "state", state);
		err |= otactl_api_query(&h, &url, "image", image);
	}
	if (url == NULL || err != 0 || (all = json_array()) == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if (otactl_api_list(&h, url, "rollouts", "rollouts list", all) != 0)
		goto out;
	if (json) {
		rc = otactl_api_print_json(all) == 0 ? OTACTL_EXIT_OK
		                                     : OTACTL_EXIT_FAIL;
		goto out;
	}
	json_array_foreach(all, i, r)
		err |= add_stage_cell(r);
	if (err != 0) {
		otactl_err("out of memory");
		goto out;
	}
	if (otactl_api_table(all, ROLLOUT_COLS, header, keys) != 0)
		goto out;
	rc = OTACTL_EXIT_OK;
out:
	json_decref(all);
	free(url);
	otactl_http_close(&h);
	return rc;
}

/* rollouts show ID [--json]: the rollout and its events. */
static int
rollouts_show(struct otactl *ctx, int argc, char **argv)
{
	static const char *const header[EVENT_COLS] = {
	    "AT", "ACTION", "ACTOR", "FROM", "TO", "STAGE", "REASON"};
	static const char *const keys[EVENT_COLS] = {"at", "action", "actor",
	    "from_state", "to_state", "stage_index", "reason"};
	struct otactl_http h;
	json_t *r = NULL, *ev = NULL, *events;
	const char *rid;
	int json, rc;

	if ((rc = otactl_api_args(
	         ctx, argc, argv, "rollouts show", "ID", &json, &rid)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "GET", "/api/v1/rollouts/", rid, NULL, NULL,
	        200, "rollouts show", &r) != 0 ||
	    otactl_api_request(&h, "GET", "/api/v1/rollouts/", rid, "/events",
	        NULL, 200, "rollouts show", &ev) != 0)
		goto out;
	events = json_object_get(ev, "events");
	if (!json_is_array(events)) {
		otactl_err("rollouts show: unexpected answer from the server");
		goto out;
	}
	if (json) {
		if (json_object_set(r, "events", events) != 0) {
			otactl_err("out of memory");
			goto out;
		}
		if (otactl_api_print_json(r) != 0)
			goto out;
	} else {
		if (otactl_api_record(r, rollout_keys) != 0)
			goto out;
		printf("\nevents:\n");
		if (otactl_api_table(events, EVENT_COLS, header, keys) != 0)
			goto out;
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(r);
	json_decref(ev);
	otactl_http_close(&h);
	return rc;
}

/*
 * rollouts ACTION ID [--reason R] [--stage-index N] [--json], ACTION one
 * of start, pause, resume, advance, abort.  --stage-index makes otad act
 * only while the rollout is still at that stage (else 409).
 */
static int
rollouts_action(struct otactl *ctx, int argc, char **argv, const char *action)
{
	enum { OPT_REASON = 1, OPT_STAGE_INDEX, OPT_JSON };
	static const struct otactl_opt opts[] = {
	    {"reason", 1, OPT_REASON},
	    {"stage-index", 1, OPT_STAGE_INDEX},
	    {"json", 0, OPT_JSON},
	    OTACTL_HTTP_OPTS,
	    {NULL, 0, 0},
	};
	const char *val, *reason = NULL;
	struct otactl_http h;
	struct otactl_args a;
	json_t *body = NULL, *j = NULL;
	char cmd[32], tail[32];
	uint64_t stage = 0;
	int id, json = 0, rc = OTACTL_EXIT_FAIL, guard = 0;

	snprintf(cmd, sizeof(cmd), "rollouts %s", action);
	snprintf(tail, sizeof(tail), "/%s", action);
	otactl_args_cmd_init(&a, argc, argv, cmd, "ID");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_REASON)
			reason = val;
		else if (id == OPT_JSON)
			json = 1;
		else if (id == OPT_STAGE_INDEX &&
		         (otactl_str_parse_u64(val, &stage) != 0 ||
		             stage >= STAGES_MAX))
			return otactl_usage_err(
			    "--stage-index '%s': want 0..%d", val,
			    STAGES_MAX - 1);
		else if (id == OPT_STAGE_INDEX)
			guard = 1;
		else
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL)
		return otactl_usage_err(
		    "%s: usage: %s ID [--reason R] [--stage-index N]", cmd,
		    cmd);
	memset(&h, 0, sizeof(h));
	/* Always a JSON object, maybe empty: its fields are optional. */
	body = json_object();
	if (body != NULL && reason != NULL &&
	    json_object_set_new(body, "reason", json_string(reason)) != 0) {
		json_decref(body);
		body = NULL;
	}
	if (body != NULL && guard &&
	    json_object_set_new(
	        body, "stage_index", json_integer((json_int_t)stage)) != 0) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL) {
		otactl_err("out of memory (or --reason not UTF-8)");
		goto out;
	}
	if (otactl_http_open(ctx, &h) != 0 ||
	    otactl_api_request(&h, "POST", "/api/v1/rollouts/", a.pos, tail,
	        body, 200, cmd, &j) != 0)
		goto out;
	if (json) {
		if (otactl_api_print_json(j) != 0)
			goto out;
	} else {
		print_summary(j);
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(body);
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

static int
rollouts_start(struct otactl *ctx, int argc, char **argv)
{
	return rollouts_action(ctx, argc, argv, "start");
}

static int
rollouts_pause(struct otactl *ctx, int argc, char **argv)
{
	return rollouts_action(ctx, argc, argv, "pause");
}

static int
rollouts_resume(struct otactl *ctx, int argc, char **argv)
{
	return rollouts_action(ctx, argc, argv, "resume");
}

static int
rollouts_advance(struct otactl *ctx, int argc, char **argv)
{
	return rollouts_action(ctx, argc, argv, "advance");
}

static int
rollouts_abort(struct otactl *ctx, int argc, char **argv)
{
	return rollouts_action(ctx, argc, argv, "abort");
}

int
otactl_rollouts(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_cmd subs[] = {
	    {"create", rollouts_create},
	    {"list", rollouts_list},
	    {"show", rollouts_show},
	    {"update", rollouts_update},
	    {"start", rollouts_start},
	    {"pause", rollouts_pause},
	    {"resume", rollouts_resume},
	    {"advance", rollouts_advance},
	    {"abort", rollouts_abort},
	    {"health", otactl_health_show},
	    {"watch", otactl_health_watch},
	};

	return otactl_args_subcommand(
	    ctx, argc, argv, "rollouts", subs, sizeof(subs) / sizeof(subs[0]));
}
