/*
 * http_api_rollouts: REST handlers for rollouts.  Validation here is only
 * of shapes and bounds; the rules (stages, policy, which transitions are
 * allowed) are rollout.c's, and every change is one rollout_service call
 * (which moves the rollouts generation and hints).  Nothing is
 * acknowledged before it commits.
 */
#include "http_api_rollouts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "rollout.h"
#include "rollout_patch.h"
#include "rollout_service.h"
#include "selector.h"
#include "semver_range.h"
#include "timeutil.h"
#include "store.h"
#include "store_rollouts.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000
#define EVENTS_MAX 1000
/* An action's body is at most {"reason": "<256 bytes>"}, escaped. */
#define ACTION_BODY_MAX 4096

/* 1 when s is at most max bytes and has no control characters (it ends up
 * in JSON replies and, for reasons, in the audit trail). */
static int
text_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			return 0;
	}
	return 1;
}

/* rollout_json without its "bundle". */
static json_t *
rollout_json_base(const struct store_rollout *r)
{
	char salt_hex[2 * ROLLOUT_SALT_BYTES + 1];
	json_t *stages, *groups, *image;

	stages = json_array();
	for (int i = 0; i < r->stage_count; i++)
		json_array_append_new(
		    stages, json_util_percent_bp(r->stages_bp[i]));
	groups = json_array();
	for (size_t i = 0; i < r->group_count; i++)
		json_array_append_new(groups, json_string(r->groups[i].name));
	sodium_bin2hex(salt_hex, sizeof(salt_hex), r->salt, sizeof(r->salt));
	image =
	    r->bundle_id > 0
	        ? json_null()
	        : json_pack("{s:o, s:s, s:s}", "id",
	              r->image_id > 0 ? json_integer((json_int_t)r->image_id)
	                              : json_null(),
	              "name", r->image_name, "version", r->image_version);
	/* One key and its value a line: clang-format would pack them. */
	// clang-format off
	return json_pack("{s:I, s:s, s:o, s:s, s:i, s:o, s:o, s:o, s:s, "
	    "s:f, s:I, s:I, s:s, s:f, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, "
	    "s:o, s:s, s:s, s:s, s:s, s:o}",
	    "id", (json_int_t)r->id,
	    "name", r->name,
	    "image", image,
	    "state", rollout_state_name(r->state),
	    "stage_index", r->stage_index,
	    "stages", stages,
	    "stage_percent", json_util_percent_bp(r->stages_bp[r->stage_index]),
	    "groups", groups,
	    "salt", salt_hex,
	    "failure_threshold", r->failure_threshold,
	    "min_reports", (json_int_t)r->min_reports,
	    "advance_after", (json_int_t)r->advance_after_sec,
	    "gate", rollout_gate_name(r->gate),
	    "confidence", r->gate_confidence,
	    "from_version", r->from_version,
	    "selector", r->selector,
	    "start_at", json_util_string_or_null(r->start_at),
	    "reason", r->reason,
	    "created_at", r->created_at,
	    "created_by", r->created_by,
	    "started_at", json_util_string_or_null(r->started_at),
	    "stage_started_at", json_util_string_or_null(r->stage_started_at),
	    "finished_at", json_util_string_or_null(r->finished_at),
	    "updated_at", r->updated_at,
	    "maintenance_windows", r->windows,
	    "outside_window", rollout_outside_name(r->outside_window),
	    "action_type", rollout_action_type_name(r->action_type),
	    "forced_at", json_util_string_or_null(r->forced_at));
	// clang-format on
}

/* The stuck-device policy of r as JSON fields of o. */
static void
stuck_json(json_t *o, const struct rollout_stuck_policy *p)
{
	json_t *abort_on = json_array(), *ignore = json_array();

	for (int i = 0; i < ROLLOUT_OUTCOME_COUNT; i++)
		if (p->abort_on & (1u << i))
			json_array_append_new(abort_on,
			    json_string(
			        rollout_outcome_name((enum rollout_outcome)i)));
	for (int i = 0; i < ROLLOUT_RESULT_CODES; i++)
		if (p->ignore_results & (1u << i))
			json_array_append_new(ignore, json_integer(i));
	json_object_set_new(o, "device_timeout",
	    json_integer((json_int_t)p->device_timeout_sec));
	json_object_set_new(
	    o, "max_retries", json_integer((json_int_t)p->max_retries));
	json_object_set_new(
	    o, "retry_backoff", json_integer((json_int_t)p->retry_backoff_sec));
	json_object_set_new(o, "abort_on", abort_on);
	json_object_set_new(o, "ignore_results", ignore);
	json_object_set_new(o, "breach_action",
	    json_string(rollout_breach_action_name(p->breach_action)));
	json_object_set_new(o, "max_offers_per_minute",
	    json_integer((json_int_t)p->max_offers_per_minute));
	json_object_set_new(
	    o, "rate_ramp_minutes", json_integer((json_int_t)p->rate_ramp_min));
	json_object_set_new(
	    o, "rate_ramp_max", json_integer((json_int_t)p->rate_ramp_max));
	json_object_set_new(
	    o, "require_consent", json_boolean(p->require_consent));
	json_object_set_new(
	    o, "consent_retry", json_integer((json_int_t)p->consent_retry_sec));
}

/* The JSON form of a rollout (the API contract's "rollout"): "image" for
 * an image's rollout, "bundle" ({"id","name","version"}) for a release
 * bundle's, the other null. */
static json_t *
rollout_json(const struct store_rollout *r)
{
	json_t *o = rollout_json_base(r);

	if (o != NULL)
		stuck_json(o, &r->stuck);
	if (o != NULL)
		json_object_set_new(o, "bundle",
		    r->bundle_id > 0
		        ? json_pack("{s:I, s:s, s:s}", "id",
		              (json_int_t)r->bundle_id, "name", r->image_name,
		              "version", r->image_version)
		        : json_null());
	return o;
}

/* Replies 200 (or status) with rollout id as it is now. */
static int
reply_rollout(struct http_req *req, unsigned status, int64_t id)
{
	struct app *app = http_req_app(req);
	struct store_rollout *r;
	struct store_conn *c;
	int rc;

	/* About 6 KiB with its groups: not for a pool thread's stack. */
	if ((r = malloc(sizeof(*r))) == NULL)
		return OTA_ENOMEM;
	c = store_acquire(app->store);
	rc = store_rollout_get(c, id, r);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		rc = http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)id);
	else if (rc == 0)
		rc = http_reply_json(req, status, rollout_json(r));
	free(r);
	return rc;
}

/* What a create request asks for, once its shape is checked. */
struct create_req {
	struct store_rollout_new r;
	const char *groups[STORE_ROLLOUT_GROUPS_MAX];
	uint16_t stages_bp[ROLLOUT_MAX_STAGES];
	char from_version[SEMVER_RANGE_TEXT_MAX]; /* canonical */
	char start_at[TIMEUTIL_RFC3339_LEN];      /* the store's form */
	char selector[SELECTOR_TEXT_MAX];         /* canonical */
	struct rollout_policy when;               /* windows, action type */
	struct rollout_stuck_policy stuck;
};

static const char *const create_fields[] = {"image", "bundle", "groups", "name",
    "stages", "failure_threshold", "min_reports", "advance_after", "gate",
    "confidence", "from_version", "start_at", "selector", "maintenance_windows",
    "outside_window", "action_type", "forced_at", "device_timeout",
    "max_retries", "retry_backoff", "abort_on", "ignore_results",
    "breach_action", "max_offers_per_minute", "rate_ramp_minutes",
    "rate_ramp_max", "require_consent", "consent_retry", NULL};

/* ---- the stuck-device policy's fields (create and PATCH) ---- */

/* The names of the outcomes of an array of strings, joined by commas for
 * rollout_outcomes_parse.  0 or OTA_EINVAL. */
static int
outcomes_value(const json_t *v, unsigned *out, char *err, size_t errlen)
{
	char text[ROLLOUT_OUTCOMES_TEXT_MAX];
	size_t used = 0, i;
	json_t *item;

	if (!json_is_array(v) || json_array_size(v) > ROLLOUT_OUTCOME_COUNT)
		goto bad;
	text[0] = '\0';
	json_array_foreach(v, i, item) {
		const char *name = json_string_value(item);

		if (name == NULL || strchr(name, ',') != NULL ||
		    used + strlen(name) + 2 > sizeof(text))
			goto bad;
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "%s%s", i > 0 ? "," : "", name);
	}
	return rollout_outcomes_parse(text, out, err, errlen);
bad:
	snprintf(err, errlen,
	    "abort_on: must be an array of distinct outcomes among "
	    "\"failed\", \"timed_out\", \"reverted\", \"declined\"");
	return OTA_EINVAL;
}

/* An array of distinct LwM2M result codes 0..11 into a mask. */
static int
results_value(const json_t *v, uint32_t *out, char *err, size_t errlen)
{
	uint32_t mask = 0;
	json_int_t r;
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, item) {
		if (!json_is_integer(item))
			goto bad;
		r = json_integer_value(item);
		if (r < 0 || r >= ROLLOUT_RESULT_CODES ||
		    (mask & (1u << r)) != 0)
			goto bad;
		mask |= 1u << r;
	}
	*out = mask;
	return 0;
bad:
	snprintf(err, errlen,
	    "ignore_results: must be an array of distinct LwM2M result codes "
	    "0..%d",
	    ROLLOUT_RESULT_CODES - 1);
	return OTA_EINVAL;
}

/* An integer field of the stuck policy into *out (bounds: the rules'). */
static int
stuck_int(
    const char *key, const json_t *v, int64_t *out, char *err, size_t errlen)
{
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s: must be an integer", key);
		return OTA_EINVAL;
	}
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* One of the rate fields, an integer (out of range: one the rules
 * refuse). */
static int
rate_field(const char *key, const json_t *v, struct rollout_stuck_policy *p,
    unsigned *fields, char *err, size_t errlen)
{
	int64_t n = 0;
	uint32_t u;
	int rc = stuck_int(key, v, &n, err, errlen);

	u = n < 0 || n > ROLLOUT_RATE_MAX ? UINT32_MAX : (uint32_t)n;
	if (strcmp(key, "max_offers_per_minute") == 0) {
		p->max_offers_per_minute = u;
		*fields |= ROLLOUT_PATCH_MAX_OFFERS;
	} else if (strcmp(key, "rate_ramp_minutes") == 0) {
		p->rate_ramp_min = u;
		*fields |= ROLLOUT_PATCH_RATE_RAMP_MIN;
	} else {
		p->rate_ramp_max = u;
		*fields |= ROLLOUT_PATCH_RATE_RAMP_MAX;
	}
	return rc;
}

/*
 * Reads key = v when key is a field of the stuck-device policy: into p,
 * its bit (enum rollout_patch_field) added to *fields.  Returns 1 when
 * read, 0 when key is not such a field, OTA_EINVAL (err naming it) for a
 * value of the wrong shape.  The rules (rollout_stuck_check) judge the
 * values.
 */
static int
stuck_field(const char *key, const json_t *v, struct rollout_stuck_policy *p,
    unsigned *fields, char *err, size_t errlen)
{
	int64_t n = 0;
	int rc = 0;

	if (strcmp(key, "device_timeout") == 0) {
		if ((rc = stuck_int(key, v, &n, err, errlen)) == 0)
			p->device_timeout_sec = n;
		*fields |= ROLLOUT_PATCH_DEVICE_TIMEOUT;
	} else if (strcmp(key, "max_retries") == 0) {
		if ((rc = stuck_int(key, v, &n, err, errlen)) == 0)
			/* Out of bounds becomes one the rules refuse. */
			p->max_retries = n < 0 || n > ROLLOUT_MAX_RETRIES_MAX
			                     ? ROLLOUT_MAX_RETRIES_MAX + 1
			                     : (uint32_t)n;
		*fields |= ROLLOUT_PATCH_MAX_RETRIES;
	} else if (strcmp(key, "retry_backoff") == 0) {
		if ((rc = stuck_int(key, v, &n, err, errlen)) == 0)
			p->retry_backoff_sec = n;
		*fields |= ROLLOUT_PATCH_RETRY_BACKOFF;
	} else if (strcmp(key, "abort_on") == 0) {
		rc = outcomes_value(v, &p->abort_on, err, errlen);
		*fields |= ROLLOUT_PATCH_ABORT_ON;
	} else if (strcmp(key, "ignore_results") == 0) {
		rc = results_value(v, &p->ignore_results, err, errlen);
		*fields |= ROLLOUT_PATCH_IGNORE_RESULTS;
	} else if (strcmp(key, "max_offers_per_minute") == 0 ||
	           strcmp(key, "rate_ramp_minutes") == 0 ||
	           strcmp(key, "rate_ramp_max") == 0) {
		rc = rate_field(key, v, p, fields, err, errlen);
	} else if (strcmp(key, "require_consent") == 0) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen,
			    "require_consent: must be true or false");
			rc = OTA_EINVAL;
		} else
			p->require_consent = json_is_true(v);
		*fields |= ROLLOUT_PATCH_REQUIRE_CONSENT;
	} else if (strcmp(key, "consent_retry") == 0) {
		if ((rc = stuck_int(key, v, &n, err, errlen)) == 0)
			p->consent_retry_sec = n;
		*fields |= ROLLOUT_PATCH_CONSENT_RETRY;
	} else if (strcmp(key, "breach_action") == 0) {
		if (rollout_breach_action_parse(
		        json_string_value(v), &p->breach_action) != 0) {
			snprintf(err, errlen,
			    "breach_action: must be \"pause\" or \"abort\"");
			rc = OTA_EINVAL;
		}
		*fields |= ROLLOUT_PATCH_BREACH_ACTION;
	} else {
		return 0;
	}
	return rc != 0 ? rc : 1;
}

/* The stuck-device fields of a create body (null: the default) into
 * q->stuck, checked as a whole. */
static int
create_stuck(const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	const char *key;
	unsigned fields = 0;
	json_t *v;
	int rc;

	rollout_stuck_defaults(&q->stuck);
	q->r.stuck = &q->stuck;
	json_object_foreach((json_t *)body, key, v) {
		if (json_is_null(v))
			continue;
		if ((rc = stuck_field(
		         key, v, &q->stuck, &fields, err, errlen)) < 0)
			return rc;
	}
	return rollout_stuck_check(&q->stuck, err, errlen);
}

/* Reads "groups" into q; err names the offending entry. */
static int
create_groups(const json_t *v, struct create_req *q, char *err, size_t errlen)
{
	size_t i, j, n = json_is_array(v) ? json_array_size(v) : 0;
	json_t *item;

	/* None (absent, null or []): the selector must name the devices
	 * (rollout_targets_check, once it is read). */
	if ((v != NULL && !json_is_null(v) && !json_is_array(v)) ||
	    n > STORE_ROLLOUT_GROUPS_MAX) {
		snprintf(err, errlen,
		    "groups: an array of 0 to %d group names (none: the "
		    "selector's devices)",
		    STORE_ROLLOUT_GROUPS_MAX);
		return OTA_EINVAL;
	}
	json_array_foreach(v, i, item) {
		const char *name = json_string_value(item);

		if (name == NULL || !store_group_name_valid(name)) {
			snprintf(err, errlen,
			    "groups[%zu]: must be a group name, 1..%d of "
			    "[A-Za-z0-9._-]",
			    i, STORE_GROUP_NAME_MAX);
			return OTA_EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(q->groups[j], name) == 0) {
				snprintf(err, errlen,
				    "groups[%zu]: '%s' appears twice", i, name);
				return OTA_EINVAL;
			}
		}
		q->groups[i] = name;
	}
	q->r.groups = q->groups;
	q->r.group_count = n;
	return 0;
}

/* Reads "stages" (percentages) into q's basis points. */
static int
create_stages(const json_t *v, struct create_req *q, char *err, size_t errlen)
{
	double pcts[ROLLOUT_MAX_STAGES];
	size_t i, n;
	json_t *item;

	if (!json_is_array(v)) {
		snprintf(err, errlen,
		    "stages: must be an array of percentages, e.g. "
		    "[1, 5, 25, 100]");
		return OTA_EINVAL;
	}
	n = json_array_size(v);
	if (n > ROLLOUT_MAX_STAGES)
		/* Says how many are allowed; reads none of them. */
		return rollout_stages_parse(NULL, n, NULL, err, errlen);
	json_array_foreach(v, i, item) {
		if (!json_is_number(item)) {
			snprintf(
			    err, errlen, "stages[%zu]: must be a number", i);
			return OTA_EINVAL;
		}
		pcts[i] = json_number_value(item);
	}
	if (rollout_stages_parse(pcts, n, q->stages_bp, err, errlen) != 0)
		return OTA_EINVAL;
	q->r.stages_bp = q->stages_bp;
	q->r.stage_count = (int)n;
	return 0;
}

/* Reads the optional health policy (failure_threshold, min_reports,
 * advance_after) into q, defaults for the absent ones. */
static int
create_policy(
    const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	json_t *v;

	q->r.failure_threshold = 0.05;
	v = json_object_get(body, "failure_threshold");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_number(v)) {
			snprintf(
			    err, errlen, "failure_threshold: must be a number");
			return OTA_EINVAL;
		}
		q->r.failure_threshold = json_number_value(v);
	}
	q->r.min_reports = 10;
	v = json_object_get(body, "min_reports");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v)) {
			snprintf(
			    err, errlen, "min_reports: must be an integer");
			return OTA_EINVAL;
		}
		/* A negative count becomes 0, which the policy refuses. */
		q->r.min_reports = json_integer_value(v) < 0
		                       ? 0
		                       : (uint64_t)json_integer_value(v);
	}
	q->r.advance_after_sec = 0;
	v = json_object_get(body, "advance_after");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v)) {
			snprintf(err, errlen,
			    "advance_after: must be an integer (seconds)");
			return OTA_EINVAL;
		}
		q->r.advance_after_sec = (int64_t)json_integer_value(v);
	}
	return 0;
}

/* Reads the optional gate settings (gate, confidence) into q, defaults
 * for the absent ones; rollout_gate_check judges their values. */
static int
create_gate(const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	json_t *v;

	q->r.gate = ROLLOUT_GATE_DEFAULT;
	v = json_object_get(body, "gate");
	if (v != NULL && !json_is_null(v) &&
	    rollout_gate_parse(json_string_value(v), &q->r.gate) != 0) {
		snprintf(err, errlen, "gate: must be \"simple\" or \"wilson\"");
		return OTA_EINVAL;
	}
	q->r.gate_confidence = ROLLOUT_CONFIDENCE_DEFAULT;
	v = json_object_get(body, "confidence");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_number(v)) {
			snprintf(err, errlen,
			    "confidence: must be a number, e.g. 0.95");
			return OTA_EINVAL;
		}
		q->r.gate_confidence = json_number_value(v);
	}
	return 0;
}

/*
 * Reads a start_at value into out in the store's form: any RFC 3339 time
 * (an offset is converted to UTC, a fraction dropped), or "" for null or
 * "" (no scheduled start).  0, or OTA_EINVAL with err.
 */
static int
start_at_value(
    const json_t *v, char out[TIMEUTIL_RFC3339_LEN], char *err, size_t errlen)
{
	int64_t ms;

	out[0] = '\0';
	if (json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0))
		return 0;
	if (!json_is_string(v) ||
	    timeutil_parse_rfc3339(json_string_value(v), &ms) != 0) {
		snprintf(err, errlen,
		    "start_at: must be an RFC 3339 time such as "
		    "\"2026-12-24T02:00:00Z\", or null for none");
		return OTA_EINVAL;
	}
	timeutil_format_rfc3339(ms / 1000, out);
	return 0;
}

/* Reads the optional from_version range into q in its canonical text
 * ("" when absent or null: every installed version) and the optional
 * start_at (start_at_value). */
static int
create_from_version(
    const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	struct semver_range range;
	json_t *v = json_object_get(body, "from_version");

	q->r.from_version = q->from_version;
	q->r.start_at = q->start_at;
	if (json_object_get(body, "start_at") != NULL &&
	    start_at_value(json_object_get(body, "start_at"), q->start_at, err,
	        errlen) != 0)
		return OTA_EINVAL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    json_string_length(v) >= sizeof(q->from_version)) {
		snprintf(err, errlen,
		    "from_version: must be a string such as \">=1.2.0 "
		    "<1.4.0\"");
		return OTA_EINVAL;
	}
	if (semver_range_parse(json_string_value(v), &range, err, errlen) != 0)
		return OTA_EINVAL;
	semver_range_format(&range, q->from_version, sizeof(q->from_version));
	return 0;
}

/* Reads the optional selector into q in its canonical text ("" when
 * absent or null: every device of the groups). */
static int
create_selector(
    const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	struct selector *sel;
	json_t *v = json_object_get(body, "selector");

	q->r.selector = q->selector;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= SELECTOR_TEXT_MAX) {
		snprintf(err, errlen,
		    "selector: must be a string such as \"region=eu,model in "
		    "(a,b),!beta\"");
		return OTA_EINVAL;
	}
	if ((sel = malloc(sizeof(*sel))) == NULL) {
		snprintf(err, errlen, "selector: out of memory");
		return OTA_ENOMEM;
	}
	if (selector_parse(json_string_value(v), sel, err, errlen) != 0) {
		free(sel);
		return OTA_EINVAL;
	}
	memcpy(q->selector, sel->text, sizeof(q->selector));
	free(sel);
	return 0;
}

static int when_field(const char *key, const json_t *v, struct rollout_patch *p,
    char *err, size_t errlen);

/*
 * Reads the optional when-and-how-hard fields into q: merged into the
 * defaults (no windows, notify, forced) by the patch rules, which check
 * them and keep the windows canonical.
 */
static int
create_when(const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	static const char *const keys[] = {"maintenance_windows",
	    "outside_window", "action_type", "forced_at"};
	struct rollout_patch p;
	struct rollout_policy def;
	char changes[8];
	int rc;

	memset(&p, 0, sizeof(p));
	/* Valid for the rules the patch applies too; only the when fields
	 * are kept. */
	memset(&def, 0, sizeof(def));
	def.failure_threshold = 0.05;
	def.min_reports = 10;
	def.gate_confidence = ROLLOUT_CONFIDENCE_DEFAULT;
	memset(&q->when, 0, sizeof(q->when));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(body, keys[i]);

		if (v != NULL &&
		    (rc = when_field(keys[i], v, &p, err, errlen)) != 0)
			return rc;
	}
	if (p.fields != 0 && rollout_patch_apply(&def, &p, &q->when, changes,
	                         sizeof(changes), err, errlen) != 0)
		return OTA_EINVAL;
	q->r.windows = q->when.windows;
	q->r.outside_window = q->when.outside_window;
	q->r.action_type = q->when.action_type;
	q->r.forced_at = q->when.forced_at;
	return 0;
}

/* OTA_EINVAL with err naming the first key of body that is not a create
 * field; 0 when there is none. */
static int
create_keys(const json_t *body, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v) {
		size_t i;

		for (i = 0; create_fields[i] != NULL; i++)
			if (strcmp(key, create_fields[i]) == 0)
				break;
		if (create_fields[i] == NULL) {
			snprintf(err, errlen,
			    "unknown field '%.64s'; expected image or bundle, "
			    "groups, "
			    "name, stages, failure_threshold, min_reports, "
			    "advance_after, gate, confidence, from_version, "
			    "start_at, selector, maintenance_windows, "
			    "outside_window, action_type, forced_at, "
			    "device_timeout, max_retries, retry_backoff, "
			    "abort_on, ignore_results, breach_action, "
			    "max_offers_per_minute, rate_ramp_minutes, "
			    "rate_ramp_max, require_consent, consent_retry",
			    key);
			return OTA_EINVAL;
		}
	}
	return 0;
}

/* What a rollout ships: "image" (an image id) or "bundle" (a release
 * bundle's id, docs/bundles.md), exactly one of them. */
static int
create_release(
    const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	const json_t *img = json_object_get(body, "image");
	const json_t *bun = json_object_get(body, "bundle");

	/* Neither: the image's own message below. */
	if (img != NULL && bun != NULL) {
		snprintf(err, errlen,
		    "image or bundle: exactly one is required, the id of an "
		    "image or of a bundle");
		return OTA_EINVAL;
	}
	if (bun != NULL) {
		if (!json_is_integer(bun) || json_integer_value(bun) < 1) {
			snprintf(err, errlen, "bundle: the id of a bundle");
			return OTA_EINVAL;
		}
		q->r.bundle_id = (int64_t)json_integer_value(bun);
		return 0;
	}
	if (!json_is_integer(img) || json_integer_value(img) < 1) {
		snprintf(err, errlen, "image: required, the id of an image");
		return OTA_EINVAL;
	}
	q->r.image_id = (int64_t)json_integer_value(img);
	return 0;
}

/*
 * Checks the shape of a create body and fills q with it and the defaults.
 * Returns 0, or OTA_EINVAL with err naming the field.
 */
static int
create_parse(const json_t *body, struct create_req *q, char *err, size_t errlen)
{
	json_t *v;
	int rc;

	if (!json_is_object(body)) {
		snprintf(err, errlen, "body must be a JSON object");
		return OTA_EINVAL;
	}
	if ((rc = create_keys(body, err, errlen)) != 0)
		return rc;
	if ((rc = create_release(body, q, err, errlen)) != 0)
		return rc;
	if ((rc = create_groups(
	         json_object_get(body, "groups"), q, err, errlen)) != 0)
		return rc;
	q->r.name = "";
	v = json_object_get(body, "name");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    !text_ok(json_string_value(v), STORE_ROLLOUT_NAME_MAX)) {
			snprintf(err, errlen,
			    "name: a string of at most %d bytes without "
			    "control characters",
			    STORE_ROLLOUT_NAME_MAX);
			return OTA_EINVAL;
		}
		q->r.name = json_string_value(v);
	}
	q->r.stages_bp = rollout_default_stages_bp;
	q->r.stage_count = ROLLOUT_DEFAULT_STAGE_COUNT;
	v = json_object_get(body, "stages");
	if (v != NULL && !json_is_null(v) &&
	    (rc = create_stages(v, q, err, errlen)) != 0)
		return rc;
	if ((rc = create_policy(body, q, err, errlen)) != 0 ||
	    (rc = create_gate(body, q, err, errlen)) != 0 ||
	    (rc = create_from_version(body, q, err, errlen)) != 0 ||
	    (rc = create_selector(body, q, err, errlen)) != 0 ||
	    (rc = create_when(body, q, err, errlen)) != 0 ||
	    (rc = create_stuck(body, q, err, errlen)) != 0 ||
	    (rc = rollout_targets_check(
	         q->r.group_count, q->r.selector, err, errlen)) != 0)
		return rc;
	if ((rc = rollout_policy_check(q->r.failure_threshold, q->r.min_reports,
	         q->r.advance_after_sec, err, errlen)) != 0)
		return rc;
	return rollout_gate_check(q->r.gate, q->r.failure_threshold,
	    q->r.gate_confidence, err, errlen);
}

int
http_api_rollouts_create(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct create_req q;
	char err[512], missing[STORE_GROUP_NAME_MAX + 1];
	int64_t id = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	if (create_parse(http_req_json(req), &q, err, sizeof(err)) != 0)
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	q.r.created_by = http_req_who(req)->name;
	rc = rollout_service_create(app->rollouts, &q.r, &id, missing);
	if (rc == OTA_ENOTFOUND && missing[0] == '\0' && q.r.bundle_id > 0)
		return http_reply_error(req, 404, "not_found",
		    "bundle: no bundle with id %lld", (long long)q.r.bundle_id);
	if (rc == OTA_ENOTFOUND && missing[0] == '\0')
		return http_reply_error(req, 404, "not_found",
		    "image: no image with id %lld", (long long)q.r.image_id);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(req, 404, "not_found",
		    "groups: no group named '%s'", missing);
	if (rc != 0)
		return rc;
	return reply_rollout(req, 201, id);
}

int
http_api_rollouts_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_rollout_filter f = {-1, 0, 0, LIST_DEFAULT_LIMIT};
	struct store_rollout *v = NULL;
	struct store_conn *c;
	enum rollout_state state;
	const char *s;
	size_t n = 0;
	json_t *arr;
	int rc;

	if ((s = http_req_query(req, "state")) != NULL) {
		if (rollout_state_parse(s, &state) != 0)
			return http_reply_error(req, 400, "invalid_request",
			    "state must be one of draft, running, paused, "
			    "completed, aborted");
		f.state = (int)state;
	}
	if ((s = http_req_query(req, "image")) != NULL &&
	    http_parse_int(s, 1, INT64_MAX, &f.image_id) != 0)
		return http_reply_error(
		    req, 400, "invalid_request", "image must be an image id");
	if ((rc = http_req_limit(
	         req, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, &f.limit)) != 0)
		return rc;
	if ((s = http_req_query(req, "after")) != NULL &&
	    http_parse_int(s, 0, INT64_MAX, &f.after_id) != 0)
		return http_reply_error(req, 400, "invalid_request",
		    "after must be a rollout id (the previous page's "
		    "next_after)");
	c = store_acquire(app->store);
	rc = store_rollout_list(c, &f, &v, &n);
	store_release(app->store, c);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, rollout_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "rollouts", arr, "next_after",
	        n == (size_t)f.limit ? json_integer((json_int_t)v[n - 1].id)
	                             : json_null()));
	free(v);
	return rc;
}

int
http_api_rollouts_get(struct http_req *req)
{
	int64_t id;

	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, &id) != 0)
		return http_reply_error(
		    req, 404, "not_found", "no such rollout");
	return reply_rollout(req, 200, id);
}

/*
 * Reads one of the when-and-how-hard fields (maintenance_windows,
 * outside_window, action_type, forced_at) key = v into p.  Returns 1 when
 * key is none of them, 0 when read, OTA_EINVAL with err naming the field.
 */
static int
when_field(const char *key, const json_t *v, struct rollout_patch *p, char *err,
    size_t errlen)
{
	int64_t ms;

	if (strcmp(key, "maintenance_windows") == 0) {
		if (!json_is_string(v) ||
		    json_string_length(v) >= sizeof(p->v.windows)) {
			snprintf(err, errlen,
			    "maintenance_windows: must be a string such as "
			    "\"mon-fri 22:00 4h Europe/Berlin\", or \"\" for "
			    "none");
			return OTA_EINVAL;
		}
		memcpy(p->v.windows, json_string_value(v),
		    json_string_length(v) + 1);
		p->fields |= ROLLOUT_PATCH_WINDOWS;
	} else if (strcmp(key, "outside_window") == 0) {
		if (rollout_outside_parse(
		        json_string_value(v), &p->v.outside_window) != 0) {
			snprintf(err, errlen,
			    "outside_window: must be \"notify\" or "
			    "\"silent\"");
			return OTA_EINVAL;
		}
		p->fields |= ROLLOUT_PATCH_OUTSIDE;
	} else if (strcmp(key, "action_type") == 0) {
		if (rollout_action_type_parse(
		        json_string_value(v), &p->v.action_type) != 0) {
			snprintf(err, errlen,
			    "action_type: must be \"forced\", \"soft\", "
			    "\"time-forced\" or \"download-only\"");
			return OTA_EINVAL;
		}
		p->fields |= ROLLOUT_PATCH_ACTION_TYPE;
	} else if (strcmp(key, "forced_at") == 0) {
		p->v.forced_at[0] = '\0';
		if (!json_is_null(v) &&
		    !(json_is_string(v) && json_string_length(v) == 0)) {
			if (!json_is_string(v) ||
			    timeutil_parse_rfc3339(json_string_value(v), &ms) !=
			        0) {
				snprintf(err, errlen,
				    "forced_at: must be an RFC 3339 time such "
				    "as \"2026-12-24T02:00:00Z\", or null");
				return OTA_EINVAL;
			}
			timeutil_format_rfc3339(ms / 1000, p->v.forced_at);
		}
		p->fields |= ROLLOUT_PATCH_FORCED_AT;
	} else {
		return 1;
	}
	return 0;
}

/* Reads one PATCH field key = v into p; err names it when refused. */
static int
patch_field(const char *key, const json_t *v, struct rollout_patch *p,
    char *err, size_t errlen)
{
	int rc = when_field(key, v, p, err, errlen);

	if (rc <= 0)
		return rc;
	if (strcmp(key, "failure_threshold") == 0 && json_is_number(v)) {
		p->fields |= ROLLOUT_PATCH_THRESHOLD;
		p->v.failure_threshold = json_number_value(v);
	} else if (strcmp(key, "min_reports") == 0 && json_is_integer(v)) {
		p->fields |= ROLLOUT_PATCH_MIN_REPORTS;
		/* A negative count becomes 0, which the policy refuses. */
		p->v.min_reports = json_integer_value(v) < 0
		                       ? 0
		                       : (uint64_t)json_integer_value(v);
	} else if (strcmp(key, "advance_after") == 0 && json_is_integer(v)) {
		p->fields |= ROLLOUT_PATCH_ADVANCE_AFTER;
		p->v.advance_after_sec = (int64_t)json_integer_value(v);
	} else if (strcmp(key, "gate") == 0 &&
	           rollout_gate_parse(json_string_value(v), &p->v.gate) == 0) {
		p->fields |= ROLLOUT_PATCH_GATE;
	} else if (strcmp(key, "confidence") == 0 && json_is_number(v)) {
		p->fields |= ROLLOUT_PATCH_CONFIDENCE;
		p->v.gate_confidence = json_number_value(v);
	} else if (strcmp(key, "from_version") == 0 && json_is_string(v) &&
	           json_string_length(v) < sizeof(p->v.from_version)) {
		p->fields |= ROLLOUT_PATCH_FROM_VERSION;
		memcpy(p->v.from_version, json_string_value(v),
		    json_string_length(v) + 1);
	} else if (strcmp(key, "from_version") == 0) {
		snprintf(err, errlen,
		    "from_version: must be a string such as \">=1.2.0 "
		    "<1.4.0\", or \"\" for every version");
		return OTA_EINVAL;
	} else if (strcmp(key, "selector") == 0 && json_is_string(v) &&
	           json_string_length(v) < sizeof(p->v.selector)) {
		p->fields |= ROLLOUT_PATCH_SELECTOR;
		memcpy(p->v.selector, json_string_value(v),
		    json_string_length(v) + 1);
	} else if (strcmp(key, "selector") == 0) {
		snprintf(err, errlen,
		    "selector: must be a string such as \"region=eu,!beta\", "
		    "or \"\" for every device of the groups");
		return OTA_EINVAL;
	} else if (strcmp(key, "gate") == 0) {
		snprintf(err, errlen, "gate: must be \"simple\" or \"wilson\"");
		return OTA_EINVAL;
	} else if (strcmp(key, "failure_threshold") == 0 ||
	           strcmp(key, "confidence") == 0) {
		snprintf(err, errlen, "%s: must be a number", key);
		return OTA_EINVAL;
	} else if (strcmp(key, "min_reports") == 0 ||
	           strcmp(key, "advance_after") == 0) {
		snprintf(err, errlen, "%s: must be an integer", key);
		return OTA_EINVAL;
	} else if ((rc = stuck_field(
	                key, v, &p->v.stuck, &p->fields, err, errlen)) != 1) {
		if (rc == 0)
			snprintf(err, errlen,
			    "unknown field '%.64s'; a rollout's editable "
			    "fields are failure_threshold, min_reports, "
			    "advance_after, gate, confidence, from_version, "
			    "start_at, selector, maintenance_windows, "
			    "outside_window, action_type, forced_at, "
			    "device_timeout, max_retries, retry_backoff, "
			    "abort_on, ignore_results, breach_action, "
			    "max_offers_per_minute, rate_ramp_minutes, "
			    "rate_ramp_max, require_consent, consent_retry",
			    key);
		return OTA_EINVAL;
	}
	return 0;
}

/* Checks the shape of a PATCH body into *p (the rules judge the values). */
static int
patch_parse(
    const json_t *body, struct rollout_patch *p, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(body)) {
		snprintf(err, errlen, "body must be a JSON object");
		return OTA_EINVAL;
	}
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "start_at") == 0) {
			if (start_at_value(v, p->v.start_at, err, errlen) != 0)
				return OTA_EINVAL;
			p->fields |= ROLLOUT_PATCH_START_AT;
		} else if (patch_field(key, v, p, err, errlen) != 0) {
			return OTA_EINVAL;
		}
	}
	return 0;
}

int
http_api_rollouts_patch(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_rollout *r = NULL;
	struct rollout_patch p;
	char err[512];
	int64_t id;
	int rc;

	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, &id) != 0)
		return http_reply_error(
		    req, 404, "not_found", "no such rollout");
	if (patch_parse(http_req_json(req), &p, err, sizeof(err)) != 0)
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	/* About 6 KiB with its groups: not for a pool thread's stack. */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return OTA_ENOMEM;
	rc = rollout_service_patch(app->rollouts, id, &p,
	    http_req_who(req)->name, r, err, sizeof(err));
	if (rc == OTA_ENOTFOUND)
		rc = http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)id);
	else if (rc == OTA_ECONFLICT)
		rc = http_reply_error(req, 409, "conflict",
		    "cannot update a%s %s rollout: its policy is edited "
		    "while draft or paused",
		    r->state == ROLLOUT_ABORTED ? "n" : "",
		    rollout_state_name(r->state));
	else if (rc == OTA_EINVAL)
		rc = http_reply_error(req, 400, "invalid_request", "%s", err);
	else if (rc == 0)
		rc = http_reply_json(req, 200, rollout_json(r));
	free(r);
	return rc;
}

int
http_api_rollouts_events(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_rollout_event *ev = NULL;
	struct store_rollout *r = NULL;
	struct store_conn *c;
	size_t n = 0;
	int64_t id;
	json_t *arr;
	int rc;

	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, &id) != 0)
		return http_reply_error(
		    req, 404, "not_found", "no such rollout");
	if ((r = malloc(sizeof(*r))) == NULL)
		return OTA_ENOMEM;
	c = store_acquire(app->store);
	rc = store_rollout_get(c, id, r);
	if (rc == 0)
		rc = store_rollout_events(c, id, EVENTS_MAX, &ev, &n);
	store_release(app->store, c);
	free(r);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)id);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct store_rollout_event *e = &ev[i];

		// clang-format off
		json_array_append_new(arr, json_pack(
		    "{s:s, s:s, s:s, s:o, s:s, s:i, s:s}",
		    "at", e->at,
		    "action", e->action,
		    "actor", e->actor,
		    "from_state", json_util_string_or_null(e->from_state),
		    "to_state", e->to_state,
		    "stage_index", e->stage_index,
		    "reason", e->reason));
		// clang-format on
	}
	free(ev);
	return http_reply_json(req, 200, json_pack("{s:o}", "events", arr));
}

/* An action request: its target, then its optional body as it arrives. */
struct action_req {
	int64_t id;
	enum rollout_action action;
	char body[ACTION_BODY_MAX];
	size_t len;
};

int
http_api_rollouts_action_start(struct http_req *req)
{
	struct action_req *a;
	int64_t id;
	enum rollout_action action;

	if (http_parse_int(http_req_param(req, 0), 1, INT64_MAX, &id) != 0)
		return http_reply_error(
		    req, 404, "not_found", "no such rollout");
	if (rollout_action_parse(http_req_param(req, 1), &action) != 0)
		return http_reply_error(req, 404, "not_found",
		    "no rollout action '%s'; use start, pause, resume, "
		    "advance or abort",
		    http_req_param(req, 1));
	if (http_req_content_length(req) > ACTION_BODY_MAX)
		return http_reply_error(req, 413, "too_large",
		    "an action's body is at most %d bytes", ACTION_BODY_MAX);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return OTA_ENOMEM;
	a->id = id;
	a->action = action;
	http_req_set_state(req, a, free);
	return 0;
}

int
http_api_rollouts_action_body(
    struct http_req *req, const char *data, size_t len)
{
	struct action_req *a = http_req_state(req);

	if (len > sizeof(a->body) - a->len)
		return http_reply_error(req, 413, "too_large",
		    "an action's body is at most %d bytes", ACTION_BODY_MAX);
	memcpy(a->body + a->len, data, len);
	a->len += len;
	return 0;
}

/*
 * Reads the optional {"reason": "...", "stage_index": n} into reason[] and
 * *expect_stage (-1 when absent: the action applies at any stage; set, it
 * applies only while the rollout is still at that stage, so two people
 * clicking "advance" at once move it one stage).  err says why not.
 */
static int
action_body(const struct action_req *a,
    char reason[STORE_ROLLOUT_REASON_MAX + 1], int *expect_stage, char *err,
    size_t errlen)
{
	const char *key, *s;
	json_t *body = NULL, *v;
	int rc = OTA_EINVAL;

	reason[0] = '\0';
	*expect_stage = -1;
	if (a->len == 0)
		return 0;
	if (json_util_load(a->body, a->len, 2, &body, err, errlen) != 0)
		goto out;
	if (!json_is_object(body)) {
		snprintf(err, errlen,
		    "body must be a JSON object: {\"reason\": \"...\"}");
		goto out;
	}
	json_object_foreach(body, key, v) {
		if (strcmp(key, "stage_index") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) >= ROLLOUT_MAX_STAGES) {
				snprintf(err, errlen,
				    "stage_index: an integer 0..%d",
				    ROLLOUT_MAX_STAGES - 1);
				goto out;
			}
			*expect_stage = (int)json_integer_value(v);
			continue;
		}
		if (strcmp(key, "reason") != 0) {
			snprintf(err, errlen,
			    "unknown field '%.64s'; expected reason or "
			    "stage_index",
			    key);
			goto out;
		}
		s = json_string_value(v);
		if (s == NULL || !text_ok(s, STORE_ROLLOUT_REASON_MAX)) {
			snprintf(err, errlen,
			    "reason: a string of at most %d bytes without "
			    "control characters",
			    STORE_ROLLOUT_REASON_MAX);
			goto out;
		}
		snprintf(reason, STORE_ROLLOUT_REASON_MAX + 1, "%s", s);
	}
	rc = 0;
out:
	json_decref(body);
	return rc;
}

/* The reply to a refused action: the state (or stage) that refused it,
 * as the service read it (r->id 0: unknown). */
static int
reply_refused(struct http_req *req, const struct action_req *a,
    int expect_stage, const struct store_rollout *r)
{
	const char *verb = rollout_action_name(a->action);

	if (r->id != 0 && expect_stage >= 0 && r->stage_index != expect_stage)
		return http_reply_error(req, 409, "conflict",
		    "rollout %lld is at stage_index %d, not %d: it moved since "
		    "you looked",
		    (long long)a->id, r->stage_index, expect_stage);
	if (r->id != 0)
		return http_reply_error(req, 409, "conflict",
		    "cannot %s a%s %s rollout", verb,
		    r->state == ROLLOUT_ABORTED ? "n" : "",
		    rollout_state_name(r->state));
	return http_reply_error(
	    req, 409, "conflict", "cannot %s this rollout now", verb);
}

int
http_api_rollouts_action_finish(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct action_req *a = http_req_state(req);
	struct store_rollout *r = NULL;
	char reason[STORE_ROLLOUT_REASON_MAX + 1], err[256];
	int rc, expect_stage;

	if (action_body(a, reason, &expect_stage, err, sizeof(err)) != 0)
		return http_reply_error(req, 400, "invalid_request", "%s", err);
	/* About 6 KiB with its groups: not for a pool thread's stack. */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return OTA_ENOMEM;
	rc = rollout_service_act(app->rollouts, a->id, a->action, expect_stage,
	    http_req_who(req)->name, reason, r);
	if (rc == OTA_ENOTFOUND)
		rc = http_reply_error(req, 404, "not_found",
		    "no rollout with id %lld", (long long)a->id);
	else if (rc == OTA_ECONFLICT)
		rc = reply_refused(req, a, expect_stage, r);
	else if (rc == 0)
		rc = http_reply_json(req, 200, rollout_json(r));
	free(r);
	return rc;
}
