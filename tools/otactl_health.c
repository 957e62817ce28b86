/*
 * otactl_health: rollout health for people.  `rollouts health ID` prints
 * the rollout's state and gate, a table of its stages with a bar each,
 * and its failures by LwM2M result code; `rollouts watch ID` prints the
 * same again every few seconds, in place on a terminal, or one plain line
 * per reading when its output is not a terminal, until the rollout ends.
 * Everything shown comes from GET /api/v1/rollouts/{id}/health
 * (docs/health.md).
 */
#include "otactl_health.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "otactl_api.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_http.h"
#include "otactl_str.h"
#include "otactl_usage.h"
#include "timeutil.h"

#define BAR_WIDTH 24
#define WATCH_INTERVAL_DEFAULT 5
#define WATCH_INTERVAL_MAX 3600

/* The LwM2M Firmware Update object's result codes (docs/telemetry.md). */
static const char *const lwm2m_results[] = {
    [2] = "not enough flash",
    [3] = "out of RAM",
    [4] = "connection lost",
    [5] = "integrity check failure",
    [6] = "unsupported package type",
    [7] = "invalid URI",
    [8] = "firmware update failed",
    [9] = "unsupported protocol",
    [10] = "cancelled",
    [11] = "deferred",
};

/* A counter of a health object; 0 when absent or not a positive integer. */
static uint64_t
count(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/*
 * Writes into out (BAR_WIDTH + 3 bytes) a bar of the stage s: '#' for
 * completed, 'x' for failed or reverted, '~' for installing, '.' for the
 * rest of its devices (in_stage, or offered when more were counted in it).
 */
static void
stage_bar(const json_t *s, char *out)
{
	uint64_t parts[3] = {count(s, "completed"),
	    count(s, "failed") + count(s, "reverted"), count(s, "in_progress")};
	static const char marks[3] = {'#', 'x', '~'};
	uint64_t basis = count(s, "in_stage");
	size_t at = 1;

	if (count(s, "offered") > basis)
		basis = count(s, "offered");
	out[0] = '[';
	for (int k = 0; k < 3 && basis > 0; k++) {
		uint64_t n = parts[k] * BAR_WIDTH / basis;

		for (uint64_t j = 0; j < n && at <= BAR_WIDTH; j++)
			out[at++] = marks[k];
	}
	while (at <= BAR_WIDTH)
		out[at++] = '.';
	out[at++] = ']';
	out[at] = '\0';
}

/* Prints one row of the stage table: label, then the counters of s. */
static void
print_row(const char *label, const char *pct, const json_t *s)
{
	char bar[BAR_WIDTH + 3];

	stage_bar(s, bar);
	printf("%-6s %4s %9" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64
	       " %7" PRIu64 " %8" PRIu64 " %6.1f%%  %s\n",
	    label, pct, count(s, "in_stage"), count(s, "offered"),
	    count(s, "started"), count(s, "completed"), count(s, "failed"),
	    count(s, "reverted"),
	    100.0 * json_number_value(json_object_get(s, "failure_rate")), bar);
}

/* Prints "failures by result: ..." for the total's failed_by_result. */
static void
print_results(const json_t *total)
{
	const json_t *by = json_object_get(total, "failed_by_result");
	const char *code;
	const json_t *n;
	int first = 1;

	if (!json_is_object(by) || json_object_size(by) == 0)
		return;
	printf("failures by result:");
	json_object_foreach((json_t *)by, code, n) {
		long c = strtol(code, NULL, 10);
		const char *what =
		    c > 0 &&
		            c < (long)(sizeof(lwm2m_results) /
		                       sizeof(lwm2m_results[0])) &&
		            lwm2m_results[c] != NULL
		        ? lwm2m_results[c]
		        : "unknown code";

		printf("%s %s (%s) %" JSON_INTEGER_FORMAT, first ? "" : ",",
		    code, what, json_integer_value(n));
		first = 0;
	}
	printf("\n");
}

/* Prints "failures by component: mcu 3 failed 1 reverted, ..." for a
 * bundle rollout's failures_by_component (nothing when there are none). */
static void
print_components(const json_t *h)
{
	const json_t *by = json_object_get(h, "failures_by_component");
	const char *name;
	const json_t *n;
	int first = 1;

	if (!json_is_object(by) || json_object_size(by) == 0)
		return;
	printf("failures by component:");
	json_object_foreach((json_t *)by, name, n) {
		printf("%s %s %" PRIu64 " failed %" PRIu64 " reverted",
		    first ? "" : ",", name, count(n, "failed"),
		    count(n, "reverted"));
		first = 0;
	}
	printf("\n");
}

/*
 * Prints the gate line of h: which gate, the failure rate against the
 * threshold, and its verdict: BREACHED (the pause), healthy (the
 * automatic advance may go), or no verdict yet (the wilson gate is not
 * yet sure either way).
 */
static void
print_gate(const json_t *h, const json_t *total)
{
	const char *gate = json_string_value(json_object_get(h, "gate"));
	const json_t *healthy = json_object_get(h, "healthy");
	uint64_t fin = count(total, "completed") + count(total, "failed") +
	               count(total, "reverted");
	char conf[48] = "";

	if (gate != NULL && strcmp(gate, "simple") != 0)
		snprintf(conf, sizeof(conf), " at %g%% confidence",
		    100.0 *
		        json_number_value(json_object_get(h, "confidence")));
	printf("gate %s%s: %.1f%% failed of %" PRIu64 " finished, threshold "
	       "%.1f%%, min_reports %" JSON_INTEGER_FORMAT ": %s\n",
	    gate != NULL ? gate : "simple", conf,
	    100.0 * json_number_value(json_object_get(total, "failure_rate")),
	    fin,
	    100.0 * json_number_value(json_object_get(h, "failure_threshold")),
	    json_integer_value(json_object_get(h, "min_reports")),
	    json_is_true(json_object_get(h, "breached")) ? "BREACHED"
	    : healthy == NULL || json_is_true(healthy)   ? "healthy"
	                                                 : "no verdict yet");
}

/* Prints the whole health view of h (a health answer). */
static void
print_health(const json_t *h)
{
	const json_t *stages = json_object_get(h, "stages");
	const json_t *total = json_object_get(h, "total");
	const char *reason = json_string_value(json_object_get(h, "reason"));
	json_int_t cur = json_integer_value(json_object_get(h, "stage_index"));
	const json_t *s;
	size_t i;

	printf("rollout %" JSON_INTEGER_FORMAT
	       ": %s, stage %" JSON_INTEGER_FORMAT " of %zu\n",
	    json_integer_value(json_object_get(h, "rollout")),
	    json_string_value(json_object_get(h, "state")), cur + 1,
	    json_array_size(stages));
	print_gate(h, total);
	if (reason != NULL && reason[0] != '\0')
		printf("reason: %s\n", reason);
	printf("%-6s %4s %9s %8s %8s %9s %7s %8s %7s  %s\n", "STAGE", "PCT",
	    "IN_STAGE", "OFFERED", "STARTED", "COMPLETED", "FAILED", "REVERTED",
	    "FAIL%", "PROGRESS");
	json_array_foreach(stages, i, s) {
		char label[24], pct[8];

		snprintf(label, sizeof(label), "%zu%s", i,
		    (json_int_t)i == cur ? "*" : "");
		snprintf(pct, sizeof(pct), "%" JSON_INTEGER_FORMAT "%%",
		    json_integer_value(json_object_get(s, "percent")));
		print_row(label, pct, s);
	}
	print_row("total", "", total);
	print_results(total);
	print_components(h);
	printf("(* current stage; # completed, x failed or reverted, "
	       "~ installing)\n");
}

/* Prints the one line of a reading of h, for output that is no terminal. */
static void
print_line(const json_t *h)
{
	const json_t *t = json_object_get(h, "total");
	char now[TIMEUTIL_RFC3339_LEN];

	timeutil_format_rfc3339(time(NULL), now);
	printf("%s rollout %" JSON_INTEGER_FORMAT
	       " %s stage %" JSON_INTEGER_FORMAT " offered %" PRIu64
	       " started %" PRIu64 " completed %" PRIu64 " failed %" PRIu64
	       " reverted %" PRIu64 " failure_rate %.4f%s\n",
	    now, json_integer_value(json_object_get(h, "rollout")),
	    json_string_value(json_object_get(h, "state")),
	    json_integer_value(json_object_get(h, "stage_index")),
	    count(t, "offered"), count(t, "started"), count(t, "completed"),
	    count(t, "failed"), count(t, "reverted"),
	    json_number_value(json_object_get(t, "failure_rate")),
	    json_is_true(json_object_get(h, "breached")) ? " breached" : "");
}

/* GETs the health of rollout id into *out.  0, or -1 (printed). */
static int
get_health(struct otactl_http *h, const char *id, const char *cmd, json_t **out)
{
	json_t *j = NULL;

	if (otactl_api_request(h, "GET", "/api/v1/rollouts/", id, "/health",
	        NULL, 200, cmd, &j) != 0)
		return -1;
	if (!json_is_object(j) ||
	    !json_is_array(json_object_get(j, "stages")) ||
	    !json_is_object(json_object_get(j, "total")) ||
	    !json_is_string(json_object_get(j, "state"))) {
		otactl_err("%s: unexpected answer from the server", cmd);
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

int
otactl_health_show(struct otactl *ctx, int argc, char **argv)
{
	static const char cmd[] = "rollouts health";
	struct otactl_http h;
	const char *id;
	json_t *j = NULL;
	int json, rc;

	if ((rc = otactl_api_args(ctx, argc, argv, cmd, "ID", &json, &id)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0 || get_health(&h, id, cmd, &j) != 0)
		goto out;
	if (json) {
		if (otactl_api_print_json(j) != 0)
			goto out;
	} else {
		print_health(j);
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}

/* Options of `rollouts watch`: the id in *out_id, the rest in *out_*.
 * Returns -1 to go on, or the exit status. */
static int
watch_args(struct otactl *ctx, int argc, char **argv, const char **out_id,
    uint64_t *out_interval, uint64_t *out_count)
{
	enum { OPT_INTERVAL = 1, OPT_COUNT };
	static const struct otactl_opt opts[] = {{"interval", 1, OPT_INTERVAL},
	    {"count", 1, OPT_COUNT}, OTACTL_HTTP_OPTS, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val;
	int id;

	otactl_args_cmd_init(&a, argc, argv, "rollouts watch", "ID");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_INTERVAL &&
		    (otactl_str_parse_u64(val, out_interval) != 0 ||
		        *out_interval < 1 ||
		        *out_interval > WATCH_INTERVAL_MAX))
			return otactl_usage_err("rollouts watch: --interval is "
			                        "1..%d seconds, not '%s'",
			    WATCH_INTERVAL_MAX, val);
		if (id == OPT_COUNT &&
		    (otactl_str_parse_u64(val, out_count) != 0 ||
		        *out_count < 1))
			return otactl_usage_err(
			    "rollouts watch: --count is at least 1, not '%s'",
			    val);
		if (id != OPT_INTERVAL && id != OPT_COUNT)
			(void)otactl_http_option(ctx, id, val);
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (a.pos == NULL)
		return otactl_usage_err(
		    "rollouts watch: usage: rollouts watch ID "
		    "[--interval SEC] [--count N]");
	*out_id = a.pos;
	return -1;
}

int
otactl_health_watch(struct otactl *ctx, int argc, char **argv)
{
	static const char cmd[] = "rollouts watch";
	uint64_t interval = WATCH_INTERVAL_DEFAULT, limit = 0, n = 0;
	int tty = isatty(STDOUT_FILENO), rc;
	struct otactl_http h;
	const char *id = NULL, *state;
	json_t *j = NULL;

	if ((rc = watch_args(ctx, argc, argv, &id, &interval, &limit)) >= 0)
		return rc;
	rc = OTACTL_EXIT_FAIL;
	if (otactl_http_open(ctx, &h) != 0)
		goto out;
	for (;;) {
		if (get_health(&h, id, cmd, &j) != 0)
			goto out;
		if (tty) {
			/* Home and clear, then the whole view again. */
			printf("\033[H\033[2J");
			printf(
			    "every %" PRIu64 " s (Ctrl-C to stop)\n", interval);
			print_health(j);
		} else {
			print_line(j);
		}
		if (fflush(stdout) != 0)
			goto out;
		state = json_string_value(json_object_get(j, "state"));
		n++;
		if (strcmp(state, "completed") == 0 ||
		    strcmp(state, "aborted") == 0 || (limit > 0 && n >= limit))
			break;
		json_decref(j);
		j = NULL;
		sleep((unsigned)interval);
	}
	rc = OTACTL_EXIT_OK;
out:
	json_decref(j);
	otactl_http_close(&h);
	return rc;
}
