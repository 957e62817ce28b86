/*
 * check_metrics: metrics.c as a specification of the exposition text:
 * names and labels, label escaping, bounded label values, cumulative
 * histogram buckets with _sum and _count, the manifest polls derived
 * from the poll route, scrape-time facts, and counts that stay exact
 * under concurrent requests.  Every rendering is also checked line by
 * line against the text format's grammar.
 */
#include <check.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "testutil.h"

/* A route table as http_api.c has it: GET and POST share a pattern. */
static const char *const patterns[] = {
    "/healthz",
    "/api/v1/images",
    "/api/v1/images",
    "/api/v1/devices/{}/manifest",
    "/api/v1/rollouts/{}",
};
#define NPAT (sizeof(patterns) / sizeof(patterns[0]))
#define POLL "/api/v1/devices/{}/manifest"

static struct metrics *
new_metrics(void)
{
	struct metrics *m = metrics_new(patterns, NPAT, POLL, "1.2.3");

	ck_assert_ptr_nonnull(m);
	return m;
}

/* Renders m (with facts s, may be NULL); the caller frees. */
static char *
render(const struct metrics *m, const struct metrics_scrape *s)
{
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(metrics_render(m, s, &text, &len), 0);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

/*
 * The value of the sample whose name and labels are exactly series (e.g.
 * "x{a=\"b\"}"), or -1 when the text has no such line.
 */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* How many lines of text start with prefix. */
static int
count_lines(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;
	int count = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, n) == 0)
			count++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return count;
}

/*
 * Checks every line against the 0.0.4 grammar: "# HELP name text",
 * "# TYPE name counter|gauge|histogram", or name{label="value",...} value
 * with escaped values; the text ends with a newline; each TYPE comes
 * once, before its samples.
 */
static void
assert_grammar(const char *text)
{
	regex_t sample_re, help_re, type_re;
	char *copy, *line, *save = NULL;

	ck_assert_int_eq(regcomp(&sample_re,
	                     "^[a-zA-Z_:][a-zA-Z0-9_:]*"
	                     "(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|"
	                     "\\\\[\\\\\"n])*\",?)*\\})? "
	                     "(-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|"
	                     "\\+Inf|-Inf|NaN)$",
	                     REG_EXTENDED | REG_NOSUB),
	    0);
	ck_assert_int_eq(
	    regcomp(&help_re, "^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$",
	        REG_EXTENDED | REG_NOSUB),
	    0);
	ck_assert_int_eq(
	    regcomp(&type_re,
	        "^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram)$",
	        REG_EXTENDED | REG_NOSUB),
	    0);
	ck_assert(text[0] != '\0' && text[strlen(text) - 1] == '\n');
	copy = strdup(text);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int ok = line[0] == '#'
		             ? regexec(&help_re, line, 0, NULL, 0) == 0 ||
		                   regexec(&type_re, line, 0, NULL, 0) == 0
		             : regexec(&sample_re, line, 0, NULL, 0) == 0;

		ck_assert_msg(ok, "not in the text format: '%s'", line);
		if (strncmp(line, "# TYPE ", 7) == 0)
			ck_assert_msg(count_lines(text, line) == 1,
			    "TYPE twice: %s", line);
	}
	free(copy);
	regfree(&sample_re);
	regfree(&help_re);
	regfree(&type_re);
}

/* ---- metrics_new ---- */

START_TEST(test_new_refuses)
{
	const char *bad[] = {"/a", NULL};
	const char *many[METRICS_ROUTES_MAX + 1];
	char names[METRICS_ROUTES_MAX + 1][16];

	ck_assert_ptr_null(metrics_new(bad, 2, NULL, "1"));
	for (int i = 0; i <= METRICS_ROUTES_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "/r%d", i);
		many[i] = names[i];
	}
	ck_assert_ptr_null(
	    metrics_new(many, METRICS_ROUTES_MAX + 1, NULL, "1"));
	/* Exactly the limit is fine, and so is a repeated pattern. */
	metrics_free(metrics_new(many, METRICS_ROUTES_MAX, NULL, "1"));
	many[METRICS_ROUTES_MAX] = names[0];
	struct metrics *m =
	    metrics_new(many, METRICS_ROUTES_MAX + 1, NULL, "1");
	ck_assert_ptr_nonnull(m);
	metrics_free(m);
	metrics_free(NULL);
	metrics_request(NULL, 0, "GET", 200, 1, 0.1); /* no-op */
}
END_TEST

/* ---- metrics_request and the requests counter ---- */

START_TEST(test_requests_by_route)
{
	struct metrics *m = new_metrics();
	char *t;

	metrics_request(m, 0, "GET", 200, 15, 0.0001);
	metrics_request(m, 0, "GET", 200, 15, 0.0001);
	metrics_request(m, 1, "GET", 200, 100, 0.002);
	metrics_request(m, 2, "POST", 201, 300, 0.5);
	metrics_request(m, 2, "POST", 400, 50, 0.001);
	metrics_request(m, 4, "HEAD", 404, 0, 0.001);
	metrics_request(m, -1, "GET", 404, 60, 0.001);
	metrics_request(m, 99, "BREW", 405, 70, 0.001); /* out of table */
	metrics_request(m, 0, "GET", 418, 0, 0.001);    /* unlisted code */
	metrics_request(m, 0, "GET", 0, 0, 0.001);      /* no reply */
	t = render(m, NULL);
	assert_grammar(t);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route="
	                              "\"/healthz\",method=\"GET\",code="
	                              "\"200\"}"),
	    2);
	/* GET and POST of one pattern: one route label, two methods. */
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route=\"/api/"
	                              "v1/images\",method=\"GET\",code="
	                              "\"200\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route=\"/api/"
	                              "v1/images\",method=\"POST\",code="
	                              "\"201\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route=\"/api/"
	                              "v1/images\",method=\"POST\",code="
	                              "\"400\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route=\"/api/"
	                              "v1/rollouts/{}\",method=\"HEAD\",code="
	                              "\"404\"}"),
	    1);
	/* No route: one bounded label; an unknown method is "other". */
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route="
	                              "\"unmatched\",method=\"GET\",code="
	                              "\"404\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route="
	                              "\"unmatched\",method=\"other\",code="
	                              "\"405\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route="
	                              "\"/healthz\",method=\"GET\",code="
	                              "\"other\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route="
	                              "\"/healthz\",method=\"GET\",code="
	                              "\"0\"}"),
	    1);
	/* Only series seen: nothing for codes never answered. */
	ck_assert_int_eq(count_lines(t, "otad_http_requests_total{"), 9);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route="
	                              "\"/healthz\",method=\"GET\",code="
	                              "\"500\"}"),
	    -1);
	/* Bytes by route, for routes with requests only. */
	ck_assert_double_eq(
	    sample(t, "otad_http_response_bytes_total{route=\"/healthz\"}"),
	    30);
	ck_assert_double_eq(sample(t, "otad_http_response_bytes_total{route="
	                              "\"/api/v1/images\"}"),
	    450);
	ck_assert_double_eq(sample(t, "otad_http_response_bytes_total{route="
	                              "\"unmatched\"}"),
	    130);
	ck_assert_double_eq(sample(t, "otad_http_response_bytes_total{route="
	                              "\"/api/v1/devices/{}/manifest\"}"),
	    -1);
	ck_assert_int_eq(
	    count_lines(t, "# TYPE otad_http_requests_total counter"), 1);
	ck_assert_int_eq(count_lines(t, "# HELP otad_http_requests_total "), 1);
	free(t);
	metrics_free(m);
}
END_TEST

/* ---- the latency histogram ---- */

START_TEST(test_histogram)
{
	struct metrics *m = new_metrics();
	static const double d[] = {0.0001, 0.0005, 0.0006, 0.003, 0.003, 0.2,
	    1.0, 7.5, 11.0, 600.0, -1.0};
	static const char *const le[] = {"0.0005", "0.001", "0.0025", "0.005",
	    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
	    "10", "+Inf"};
	/* Cumulative counts of d[] per bound (le is inclusive; a negative
	 * duration counts as 0). */
	static const double want[] = {
	    3, 4, 4, 6, 6, 6, 6, 6, 7, 7, 8, 8, 8, 9, 11};
	char series[256], *t;
	double prev = 0;

	for (size_t i = 0; i < sizeof(d) / sizeof(*d); i++)
		metrics_request(m, 4, "GET", 200, 10, d[i]);
	t = render(m, NULL);
	assert_grammar(t);
	for (size_t i = 0; i < sizeof(le) / sizeof(*le); i++) {
		double v;

		snprintf(series, sizeof(series),
		    "otad_http_request_duration_seconds_bucket{route=\"/api/v1/"
		    "rollouts/{}\",le=\"%s\"}",
		    le[i]);
		v = sample(t, series);
		ck_assert_msg(
		    v == want[i], "le=%s: %g, want %g", le[i], v, want[i]);
		ck_assert(v >= prev); /* cumulative */
		prev = v;
	}
	ck_assert_double_eq(sample(t, "otad_http_request_duration_seconds_count"
	                              "{route=\"/api/v1/rollouts/{}\"}"),
	    11);
	/* The sum in seconds, to the nanosecond. */
	ck_assert_double_eq_tol(sample(t, "otad_http_request_duration_seconds_"
	                                  "sum{route=\"/api/v1/rollouts/{}\"}"),
	    0.0001 + 0.0005 + 0.0006 + 0.006 + 0.2 + 1.0 + 7.5 + 11.0 + 600.0,
	    1e-6);
	ck_assert(
	    strstr(t, "otad_http_request_duration_seconds_sum{route=\"/api/v1/"
	              "rollouts/{}\"} 619.707200000\n") != NULL);
	/* A route without requests has no histogram. */
	ck_assert_int_eq(count_lines(t, "otad_http_request_duration_seconds_"
	                                "bucket{route=\"/healthz\""),
	    0);
	ck_assert_int_eq(count_lines(t, "otad_http_request_duration_seconds_"
	                                "bucket{"),
	    15);
	ck_assert_int_eq(count_lines(t, "# TYPE otad_http_request_duration_"
	                                "seconds histogram"),
	    1);
	free(t);
	metrics_free(m);
}
END_TEST

/* ---- label escaping ---- */

START_TEST(test_label_escape)
{
	char out[32];

	ck_assert_int_eq(metrics_label_escape("plain/{}", out, sizeof(out)), 8);
	ck_assert_str_eq(out, "plain/{}");
	ck_assert_int_eq(
	    metrics_label_escape("a\"b\\c\nd", out, sizeof(out)), 10);
	ck_assert_str_eq(out, "a\\\"b\\\\c\\nd");
	ck_assert_int_eq(metrics_label_escape("", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	/* Too small: refused whole, never cut inside an escape. */
	ck_assert_int_eq(metrics_label_escape("abc\"", out, 5), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(metrics_label_escape("abc\"", out, 6), 5);
	ck_assert_int_eq(metrics_label_escape("x", out, 0), -1);
}
END_TEST

START_TEST(test_escaped_in_output)
{
	const char *odd[] = {"/q\"uote", "/back\\slash", "/new\nline"};
	struct metrics *m = metrics_new(odd, 3, NULL, "1.0.0-\"rc\"");
	char *t;

	ck_assert_ptr_nonnull(m);
	metrics_request(m, 0, "GET", 200, 1, 0.001);
	metrics_request(m, 1, "GET", 200, 1, 0.001);
	metrics_request(m, 2, "GET", 200, 1, 0.001);
	t = render(m, NULL);
	assert_grammar(t);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route=\"/q\\"
	                              "\"uote\",method=\"GET\",code=\"200\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route=\"/back"
	                              "\\\\slash\",method=\"GET\",code="
	                              "\"200\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_http_requests_total{route=\"/new"
	                              "\\nline\",method=\"GET\",code="
	                              "\"200\"}"),
	    1);
	ck_assert_double_eq(
	    sample(t, "otad_build_info{version=\"1.0.0-\\\"rc\\\"\"}"), 1);
	free(t);
	metrics_free(m);
}
END_TEST

/* ---- manifest polls ---- */

START_TEST(test_polls)
{
	struct metrics *m = new_metrics();
	struct metrics *none = metrics_new(patterns, NPAT, NULL, "1");
	char *t;

	for (int i = 0; i < 3; i++)
		metrics_request(m, 3, "GET", 204, 0, 0.0002);
	metrics_request(m, 3, "GET", 200, 900, 0.0002);
	metrics_request(m, 3, "GET", 304, 0, 0.0002);
	metrics_request(m, 3, "GET", 403, 50, 0.0002); /* not a poll */
	metrics_request(m, 0, "GET", 200, 15, 0.0002); /* another route */
	t = render(m, NULL);
	assert_grammar(t);
	ck_assert_double_eq(
	    sample(t, "otad_manifest_polls_total{result=\"200\"}"), 1);
	ck_assert_double_eq(
	    sample(t, "otad_manifest_polls_total{result=\"204\"}"), 3);
	ck_assert_double_eq(
	    sample(t, "otad_manifest_polls_total{result=\"304\"}"), 1);
	ck_assert_int_eq(count_lines(t, "otad_manifest_polls_total{"), 3);
	ck_assert_double_eq(
	    sample(t, "otad_ddi_polls_total{result=\"deploy\"}"), 0);
	free(t);
	/* DDI polls by what they answered. */
	metrics_ddi_poll(m, DDI_POLL_DEPLOY);
	metrics_ddi_poll(m, DDI_POLL_NONE);
	metrics_ddi_poll(m, DDI_POLL_NONE);
	metrics_ddi_poll(m, DDI_POLL_CONFIRM);
	metrics_ddi_poll(m, (enum ddi_poll_kind)7); /* ignored */
	metrics_ddi_poll(NULL, DDI_POLL_NONE);
	t = render(m, NULL);
	assert_grammar(t);
	ck_assert_double_eq(
	    sample(t, "otad_ddi_polls_total{result=\"none\"}"), 2);
	ck_assert_double_eq(
	    sample(t, "otad_ddi_polls_total{result=\"cancel\"}"), 0);
	ck_assert_double_eq(
	    sample(t, "otad_ddi_polls_total{result=\"deploy\"}"), 1);
	ck_assert_double_eq(
	    sample(t, "otad_ddi_polls_total{result=\"confirm\"}"), 1);
	ck_assert_int_eq(count_lines(t, "otad_ddi_polls_total{"), 4);
	free(t);
	/* Without a poll route there is no such metric. */
	ck_assert_ptr_nonnull(none);
	t = render(none, NULL);
	ck_assert_ptr_null(strstr(t, "otad_manifest_polls_total"));
	free(t);
	metrics_free(none);
	metrics_free(m);
}
END_TEST

/* ---- scrape-time facts ---- */

START_TEST(test_scrape_facts)
{
	struct metrics *m = new_metrics();
	struct metrics_scrape s;
	time_t before = time(NULL);
	char *t;

	memset(&s, 0, sizeof(s));
	t = render(m, &s);
	assert_grammar(t);
	/* Facts not brought are not invented. */
	ck_assert_ptr_null(strstr(t, "otad_rollouts"));
	ck_assert_ptr_null(strstr(t, "otad_mqtt_connected"));
	ck_assert_double_eq(sample(t, "otad_build_info{version=\"1.2.3\"}"), 1);
	ck_assert(sample(t, "process_start_time_seconds") >= before - 5 &&
	          sample(t, "process_start_time_seconds") <= before + 5);
	free(t);
	s.have_rollouts = 1;
	s.rollouts[ROLLOUT_DRAFT] = 2;
	s.rollouts[ROLLOUT_RUNNING] = 3;
	s.rollouts[ROLLOUT_ABORTED] = 7;
	s.have_mqtt = 1;
	s.mqtt_connected = 1;
	s.mqtt.messages = 40;
	s.mqtt.malformed = 3;
	s.mqtt.mismatched = 2;
	s.mqtt.rejected = 1;
	s.mqtt.reconnects = 4;
	t = render(m, &s);
	assert_grammar(t);
	ck_assert_double_eq(sample(t, "otad_rollouts{state=\"draft\"}"), 2);
	ck_assert_double_eq(sample(t, "otad_rollouts{state=\"running\"}"), 3);
	ck_assert_double_eq(sample(t, "otad_rollouts{state=\"paused\"}"), 0);
	ck_assert_double_eq(sample(t, "otad_rollouts{state=\"completed\"}"), 0);
	ck_assert_double_eq(sample(t, "otad_rollouts{state=\"aborted\"}"), 7);
	ck_assert_int_eq(count_lines(t, "# TYPE otad_rollouts gauge"), 1);
	ck_assert_double_eq(sample(t, "otad_mqtt_connected"), 1);
	ck_assert_double_eq(sample(t, "otad_mqtt_messages_total"), 40);
	ck_assert_double_eq(
	    sample(t, "otad_mqtt_refused_total{reason=\"malformed\"}"), 3);
	ck_assert_double_eq(
	    sample(t, "otad_mqtt_refused_total{reason=\"mismatched\"}"), 2);
	ck_assert_double_eq(
	    sample(t, "otad_mqtt_refused_total{reason=\"invalid\"}"), 1);
	ck_assert_double_eq(sample(t, "otad_mqtt_reconnects_total"), 4);
	ck_assert_ptr_null(strstr(t, "otad_poll_reports"));
	free(t);
	s.mqtt_connected = 0;
	s.have_poll_reports = 1;
	s.poll_reports.written = 11;
	s.poll_reports.skipped = 22;
	s.poll_reports.dropped = 33;
	s.poll_reports.pending = 5;
	s.poll_reports.flushes = 7;
	s.poll_reports.flush_us = 2500000;
	s.poll_reports.flush_us_max = 125000;
	s.poll_reports.flush_reports_max = 4096;
	s.poll_reports.bytes = 1 << 20;
	s.poll_reports.bytes_peak = 3 << 20;
	t = render(m, &s);
	assert_grammar(t);
	ck_assert_double_eq(sample(t, "otad_mqtt_connected"), 0);
	ck_assert_double_eq(
	    sample(t, "otad_poll_reports_total{outcome=\"written\"}"), 11);
	ck_assert_double_eq(
	    sample(t, "otad_poll_reports_total{outcome=\"skipped\"}"), 22);
	ck_assert_double_eq(
	    sample(t, "otad_poll_reports_total{outcome=\"dropped\"}"), 33);
	ck_assert_double_eq(sample(t, "otad_poll_reports_pending"), 5);
	ck_assert_double_eq(sample(t, "otad_poll_report_flushes_total"), 7);
	ck_assert_double_eq(
	    sample(t, "otad_poll_report_flush_seconds_total"), 2.5);
	ck_assert_double_eq(
	    sample(t, "otad_poll_report_flush_seconds_max"), 0.125);
	ck_assert_double_eq(
	    sample(t, "otad_poll_report_flush_reports_max"), 4096);
	ck_assert_double_eq(
	    sample(t, "otad_poll_reports_buffer_bytes"), 1 << 20);
	ck_assert_double_eq(
	    sample(t, "otad_poll_reports_buffer_peak_bytes"), 3 << 20);
	ck_assert_int_eq(
	    count_lines(t, "# TYPE otad_poll_reports_total counter"), 1);
	ck_assert_ptr_null(strstr(t, "otad_device_cache"));
	free(t);
	s.have_device_cache = 1;
	s.device_cache.hits = 90;
	s.device_cache.ddi_hits = 40;
	s.device_cache.ddi_misses = 2;
	s.device_cache.ddi_devices = 5;
	s.device_cache.misses = 10;
	s.device_cache.evictions = 3;
	s.device_cache.credentials = 7;
	s.device_cache.devices = 6;
	s.device_cache.bytes = 4096;
	t = render(m, &s);
	assert_grammar(t);
	ck_assert_double_eq(
	    sample(t, "otad_device_cache_lookups_total{result=\"hit\"}"), 90);
	ck_assert_double_eq(
	    sample(t, "otad_device_cache_lookups_total{result=\"miss\"}"), 10);
	ck_assert_double_eq(sample(t, "otad_device_cache_evictions_total"), 3);
	ck_assert_double_eq(
	    sample(t, "otad_device_cache_entries{kind=\"credentials\"}"), 7);
	ck_assert_double_eq(
	    sample(t, "otad_device_cache_entries{kind=\"devices\"}"), 6);
	ck_assert_double_eq(sample(t, "otad_device_cache_bytes"), 4096);
	ck_assert_double_eq(
	    sample(t, "otad_ddi_cache_lookups_total{result=\"hit\"}"), 40);
	ck_assert_double_eq(
	    sample(t, "otad_ddi_cache_lookups_total{result=\"miss\"}"), 2);
	ck_assert_double_eq(sample(t, "otad_ddi_cache_entries"), 5);
	free(t);
	metrics_free(m);
}
END_TEST

START_TEST(test_scrape_telemetry)
{
	struct metrics *m = new_metrics();
	struct metrics_scrape s;
	char *t;

	memset(&s, 0, sizeof(s));
	t = render(m, &s);
	ck_assert_ptr_null(strstr(t, "otad_events"));
	ck_assert_ptr_null(strstr(t, "otad_rollout_declined"));
	free(t);
	/* The consent answers of the running rollouts asking for it. */
	s.nconsents = 2;
	s.consents[0] = (struct metrics_consent){3, 5, 2};
	s.consents[1] = (struct metrics_consent){8, 0, 1};
	t = render(m, &s);
	assert_grammar(t);
	ck_assert_double_eq(
	    sample(t, "otad_rollout_awaiting_consent{rollout=\"3\"}"), 5);
	ck_assert_double_eq(
	    sample(t, "otad_rollout_declined{rollout=\"3\"}"), 2);
	ck_assert_double_eq(
	    sample(t, "otad_rollout_declined{rollout=\"8\"}"), 1);
	ck_assert_int_eq(count_lines(t, "otad_rollout_awaiting_consent{"), 2);
	free(t);
	s.nconsents = 0;
	s.have_telemetry = 1;
	s.telemetry.events[TELEMETRY_REST][UPDATE_STARTED] = 12;
	s.telemetry.events[TELEMETRY_REST][UPDATE_COMPLETED] = 9;
	s.telemetry.events[TELEMETRY_MQTT][UPDATE_FAILED] = 4;
	s.telemetry.events[TELEMETRY_DDI][UPDATE_REVERTED] = 1;
	s.telemetry.events[TELEMETRY_REST][UPDATE_OFFERED] = 99; /* not an
	                                                          * event */
	s.telemetry.duplicates = 3;
	s.telemetry.rejected = 3;
	s.telemetry.rejected_by[TELEMETRY_MQTT][TELEMETRY_REJECT_NOT_TARGETED] =
	    2;
	s.telemetry
	    .rejected_by[TELEMETRY_REST][TELEMETRY_REJECT_VERSION_MISMATCH] = 1;
	s.telemetry.commits = 17;
	s.telemetry.write_errors = 1;
	s.telemetry.lost = 4;
	s.telemetry.auto_pauses = 5;
	t = render(m, &s);
	assert_grammar(t);
	ck_assert_double_eq(sample(t, "otad_events_total{transport=\"rest\","
	                              "state=\"started\"}"),
	    12);
	ck_assert_double_eq(sample(t, "otad_events_total{transport=\"rest\","
	                              "state=\"completed\"}"),
	    9);
	ck_assert_double_eq(sample(t, "otad_events_total{transport=\"mqtt\","
	                              "state=\"failed\"}"),
	    4);
	ck_assert_double_eq(sample(t, "otad_events_total{transport=\"ddi\","
	                              "state=\"reverted\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_events_total{transport=\"mqtt\","
	                              "state=\"progress\"}"),
	    0);
	/* 3 transports x 8 event states (deferred, accepted and declined
	 * too), every one present; never offered, canceled nor timed_out,
	 * otad's statuses. */
	ck_assert_int_eq(count_lines(t, "otad_events_total{"), 24);
	ck_assert_double_eq(sample(t, "otad_events_total{transport=\"ddi\","
	                              "state=\"declined\"}"),
	    0);
	ck_assert_ptr_null(strstr(t, "state=\"offered\""));
	ck_assert_ptr_null(strstr(t, "state=\"canceled\""));
	ck_assert_ptr_null(strstr(t, ",state=\"timed_out\"}"));
	ck_assert_double_eq(sample(t, "otad_events_duplicates_total"), 3);
	ck_assert_double_eq(sample(t, "otad_events_rejected_total{"
	                              "transport=\"mqtt\","
	                              "reason=\"not_targeted\"}"),
	    2);
	ck_assert_double_eq(sample(t, "otad_events_rejected_total{"
	                              "transport=\"rest\","
	                              "reason=\"version_mismatch\"}"),
	    1);
	ck_assert_double_eq(sample(t, "otad_events_rejected_total{"
	                              "transport=\"ddi\","
	                              "reason=\"unknown_device\"}"),
	    0);
	/* 3 transports x 5 reasons, every one present. */
	ck_assert_int_eq(count_lines(t, "otad_events_rejected_total{"), 15);
	ck_assert_double_eq(sample(t, "otad_events_rejected_total{"
	                              "transport=\"mqtt\","
	                              "reason=\"component_mismatch\"}"),
	    0);
	ck_assert_double_eq(sample(t, "otad_events_commits_total"), 17);
	ck_assert_double_eq(sample(t, "otad_events_write_errors_total"), 1);
	ck_assert_double_eq(sample(t, "otad_events_lost_total"), 4);
	ck_assert_double_eq(sample(t, "otad_rollout_auto_pauses_total"), 5);
	free(t);
	metrics_free(m);
}
END_TEST

/* ---- lock-free counting under concurrency ---- */

#define THREADS 4
#define PER_THREAD 50000

static void *
hammer(void *arg)
{
	struct metrics *m = arg;

	for (int i = 0; i < PER_THREAD; i++)
		metrics_request(m, i % 2 ? 1 : 2, i % 2 ? "GET" : "POST",
		    i % 3 ? 200 : 201, 3, 0.002);
	return NULL;
}

START_TEST(test_concurrent)
{
	struct metrics *m = new_metrics();
	pthread_t th[THREADS];
	double get200, get201, post200, post201, total;
	char *t;

	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, m), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	t = render(m, NULL);
	assert_grammar(t);
	get200 = sample(t, "otad_http_requests_total{route=\"/api/v1/images\","
	                   "method=\"GET\",code=\"200\"}");
	get201 = sample(t, "otad_http_requests_total{route=\"/api/v1/images\","
	                   "method=\"GET\",code=\"201\"}");
	post200 = sample(t, "otad_http_requests_total{route=\"/api/v1/"
	                    "images\",method=\"POST\",code=\"200\"}");
	post201 = sample(t, "otad_http_requests_total{route=\"/api/v1/"
	                    "images\",method=\"POST\",code=\"201\"}");
	total = get200 + get201 + post200 + post201;
	ck_assert_double_eq(total, THREADS * PER_THREAD);
	ck_assert_double_eq(sample(t, "otad_http_request_duration_seconds_"
	                              "count{route=\"/api/v1/images\"}"),
	    THREADS * PER_THREAD);
	ck_assert_double_eq(sample(t, "otad_http_response_bytes_total{route="
	                              "\"/api/v1/images\"}"),
	    3.0 * THREADS * PER_THREAD);
	ck_assert_double_eq(sample(t, "otad_http_request_duration_seconds_"
	                              "bucket{route=\"/api/v1/images\",le="
	                              "\"0.001\"}"),
	    0);
	ck_assert_double_eq(sample(t, "otad_http_request_duration_seconds_"
	                              "bucket{route=\"/api/v1/images\",le="
	                              "\"0.0025\"}"),
	    THREADS * PER_THREAD);
	free(t);
	metrics_free(m);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	struct {
		const char *name;
		const TTest *tests[3];
	} cases[] = {
	    {"metrics_new", {test_new_refuses}},
	    {"metrics_request", {test_requests_by_route, test_concurrent}},
	    {"histogram", {test_histogram}},
	    {"metrics_label_escape",
	        {test_label_escape, test_escaped_in_output}},
	    {"polls", {test_polls}},
	    {"scrape", {test_scrape_facts, test_scrape_telemetry}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_set_timeout(tc, 60);
		for (size_t j = 0; j < 3 && cases[i].tests[j] != NULL; j++)
			tcase_add_test(tc, cases[i].tests[j]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(metrics_suite());
}
