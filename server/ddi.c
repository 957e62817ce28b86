/*
 * ddi: the pure part of the hawkBit DDI API (see ddi.h): JSON shapes,
 * feedback and configData parsing, the action status rules and the poll
 * decision.  No I/O, no globals; every input is bounded by ddi.h's
 * limits before it is copied.
 */
#include "ddi.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "errors.h"

static const char *const ddi_status_names[] = {
    [DDI_OPEN] = "open",
    [DDI_RUNNING] = "running",
    [DDI_CANCELING] = "canceling",
    [DDI_CANCEL_REJECTED] = "cancel_rejected",
    [DDI_CLOSED] = "closed",
    [DDI_CANCELED] = "canceled",
};
static const char *const ddi_execution_names[] = {
    [DDI_EXEC_CLOSED] = "closed",
    [DDI_EXEC_PROCEEDING] = "proceeding",
    [DDI_EXEC_CANCELED] = "canceled",
    [DDI_EXEC_SCHEDULED] = "scheduled",
    [DDI_EXEC_REJECTED] = "rejected",
    [DDI_EXEC_RESUMED] = "resumed",
    [DDI_EXEC_DOWNLOAD] = "download",
    [DDI_EXEC_DOWNLOADED] = "downloaded",
};
static const char *const ddi_finished_names[] = {
    [DDI_FINISHED_NONE] = "none",
    [DDI_FINISHED_SUCCESS] = "success",
    [DDI_FINISHED_FAILURE] = "failure",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* hawkBit's progress counters are Java Integers. */
#define DDI_PROGRESS_MAX INT32_MAX

const char *
ddi_status_name(enum ddi_status s)
{
	if ((size_t)s >= NELEM(ddi_status_names))
		return NULL;
	return ddi_status_names[s];
}

int
ddi_status_parse(const char *name, enum ddi_status *out)
{
	if (name == NULL)
		return OTA_EINVAL;
	for (size_t i = 0; i < NELEM(ddi_status_names); i++) {
		if (strcmp(name, ddi_status_names[i]) == 0) {
			*out = (enum ddi_status)i;
			return 0;
		}
	}
	return OTA_EINVAL;
}

int
ddi_status_final(enum ddi_status s)
{
	return s == DDI_CLOSED || s == DDI_CANCELED;
}

const char *
ddi_execution_name(enum ddi_execution e)
{
	if ((size_t)e >= NELEM(ddi_execution_names))
		return NULL;
	return ddi_execution_names[e];
}

const char *
ddi_finished_name(enum ddi_finished f)
{
	if ((size_t)f >= NELEM(ddi_finished_names))
		return NULL;
	return ddi_finished_names[f];
}

/* Index of name in names[0..n), or -1. */
static int
name_index(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

/* 16 lowercase hex digits of the first 8 bytes of a BLAKE2b digest. */
static void
hash_hex(crypto_generichash_state *st, char out[DDI_HASH_LEN])
{
	unsigned char h[crypto_generichash_BYTES_MIN];

	crypto_generichash_final(st, h, sizeof(h));
	sodium_bin2hex(out, DDI_HASH_LEN, h, (DDI_HASH_LEN - 1) / 2);
}

/* Feeds a string with its length in front, so "ab"+"c" differs from
 * "a"+"bc"; NULL differs from "" (manifest.c's NUL-delimited form is a
 * documented layout and has no NULL). */
static void
hash_str(crypto_generichash_state *st, const char *s)
{
	if (s == NULL) {
		crypto_feed_u64(st, UINT64_MAX);
		return;
	}
	crypto_feed_u64(st, strlen(s));
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s));
}

/* Reads "id" (a string of digits or an integer) when present. */
static int
feedback_id(const json_t *body, int64_t expect_id, char *err, size_t errlen)
{
	json_t *v = json_object_get(body, "id");
	int64_t id = -1;
	const char *s;
	char *end;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		id = json_integer_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		/* A client that does not know the id sends "": as absent. */
		if (s[0] == '\0')
			return 0;
		if (s[0] >= '0' && s[0] <= '9' && strlen(s) <= 18) {
			long long n = strtoll(s, &end, 10);

			if (*end == '\0')
				id = n;
		}
	} else {
		snprintf(err, errlen, "id: must be a string or an integer");
		return OTA_EINVAL;
	}
	if (id < 0) {
		snprintf(err, errlen, "id: must be the action id");
		return OTA_EINVAL;
	}
	if (expect_id > 0 && id != expect_id) {
		snprintf(err, errlen, "id: %" PRId64 " is not action %" PRId64,
		    id, expect_id);
		return OTA_EINVAL;
	}
	return 0;
}

/* Reads progress.cnt or progress.of (absent: -1). */
static int
progress_member(const json_t *progress, const char *key, int64_t *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(progress, key);

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > DDI_PROGRESS_MAX) {
		snprintf(err, errlen,
		    "status.result.progress.%s: must be an integer"
		    " 0..%d",
		    key, DDI_PROGRESS_MAX);
		return OTA_EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Reads status.result (finished, progress) into fb. */
static int
feedback_result(
    const json_t *status, struct ddi_feedback *fb, char *err, size_t errlen)
{
	json_t *result = json_object_get(status, "result");
	json_t *v;
	int i, rc;

	if (result == NULL || json_is_null(result))
		return 0;
	if (!json_is_object(result)) {
		snprintf(err, errlen, "status.result: must be an object");
		return OTA_EINVAL;
	}
	v = json_object_get(result, "finished");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    (i = name_index(json_string_value(v), ddi_finished_names,
		         NELEM(ddi_finished_names))) < 0) {
			snprintf(err, errlen,
			    "status.result.finished: must be success, failure"
			    " or none");
			return OTA_EINVAL;
		}
		fb->finished = (enum ddi_finished)i;
	}
	v = json_object_get(result, "progress");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		snprintf(
		    err, errlen, "status.result.progress: must be an object");
		return OTA_EINVAL;
	}
	if ((rc = progress_member(v, "cnt", &fb->progress_cnt, err, errlen)) <
	        0 ||
	    (rc = progress_member(v, "of", &fb->progress_of, err, errlen)) < 0)
		return rc;
	return 0;
}

/* Appends s to details (DDI_DETAILS_MAX + 1 bytes) at *len, cut on a
 * UTF-8 character boundary when it does not fit.  Returns 0 once the
 * buffer is full. */
static int
details_append(char *details, size_t *len, const char *s)
{
	size_t room = DDI_DETAILS_MAX - *len, n = strlen(s);
	int more = 1;

	if (n > room) {
		n = room;
		/* s is valid UTF-8 (jansson checked it): back off to the
		 * start of the character that does not fit. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		more = 0;
	}
	memcpy(details + *len, s, n);
	*len += n;
	details[*len] = '\0';
	return more && *len < DDI_DETAILS_MAX;
}

/* Reads the "details" member of obj (where: its name in errors,
 * "status.details") into details, joined by "\n". */
static int
feedback_details(const json_t *obj, const char *where, char *details, char *err,
    size_t errlen)
{
	json_t *lines = json_object_get(obj, "details");
	size_t i, n, len = 0;
	int more = 1;

	if (lines == NULL || json_is_null(lines))
		return 0;
	if (!json_is_array(lines)) {
		snprintf(err, errlen, "%s: must be an array of strings", where);
		return OTA_EINVAL;
	}
	n = json_array_size(lines);
	if (n > DDI_DETAIL_LINES_MAX)
		n = DDI_DETAIL_LINES_MAX;
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(lines, i);

		if (!json_is_string(v)) {
			snprintf(
			    err, errlen, "%s[%zu]: must be a string", where, i);
			return OTA_EINVAL;
		}
		if (!more)
			continue; /* still checked, no longer kept */
		if (i > 0)
			more = details_append(details, &len, "\n");
		if (more)
			more =
			    details_append(details, &len, json_string_value(v));
	}
	return 0;
}

int
ddi_feedback_parse(const json_t *body, int64_t expect_id,
    struct ddi_feedback *out, char *err, size_t errlen)
{
	struct ddi_feedback fb;
	crypto_generichash_state st;
	json_t *status, *v;
	int i, rc;

	memset(&fb, 0, sizeof(fb));
	fb.finished = DDI_FINISHED_NONE;
	fb.progress_cnt = -1;
	fb.progress_of = -1;
	if (!json_is_object(body)) {
		snprintf(err, errlen, "body: must be a JSON object");
		return OTA_EINVAL;
	}
	if ((rc = feedback_id(body, expect_id, err, errlen)) < 0)
		return rc;
	status = json_object_get(body, "status");
	if (!json_is_object(status)) {
		snprintf(err, errlen, "status: required object");
		return OTA_EINVAL;
	}
	v = json_object_get(status, "execution");
	if (!json_is_string(v) ||
	    (i = name_index(json_string_value(v), ddi_execution_names,
	         NELEM(ddi_execution_names))) < 0) {
		snprintf(err, errlen,
		    "status.execution: must be closed, proceeding, canceled,"
		    " scheduled, rejected, resumed, download or downloaded");
		return OTA_EINVAL;
	}
	fb.execution = (enum ddi_execution)i;
	if ((rc = feedback_result(status, &fb, err, errlen)) < 0)
		return rc;
	if (fb.execution == DDI_EXEC_CLOSED &&
	    fb.finished == DDI_FINISHED_NONE) {
		snprintf(err, errlen,
		    "status.result.finished: closed needs success or"
		    " failure");
		return OTA_EINVAL;
	}
	if ((rc = feedback_details(
	         status, "status.details", fb.details, err, errlen)) < 0)
		return rc;

	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MIN);
	crypto_feed_u64(&st, (uint64_t)fb.execution);
	crypto_feed_u64(&st, (uint64_t)fb.finished);
	crypto_feed_u64(&st, (uint64_t)fb.progress_cnt);
	crypto_feed_u64(&st, (uint64_t)fb.progress_of);
	hash_str(&st, fb.details);
	hash_hex(&st, fb.digest);
	*out = fb;
	return 0;
}

int
ddi_confirmation_parse(
    const json_t *body, struct ddi_confirmation *out, char *err, size_t errlen)
{
	struct ddi_confirmation cf;
	crypto_generichash_state st;
	const char *what;
	json_t *v;

	memset(&cf, 0, sizeof(cf));
	cf.code = -1;
	if (!json_is_object(body)) {
		snprintf(err, errlen, "body: must be a JSON object");
		return OTA_EINVAL;
	}
	v = json_object_get(body, "confirmation");
	what = json_string_value(v);
	if (what != NULL && strcmp(what, "confirmed") == 0)
		cf.confirmed = 1;
	else if (what == NULL || strcmp(what, "denied") != 0) {
		snprintf(err, errlen,
		    "confirmation: required, \"confirmed\" or \"denied\"");
		return OTA_EINVAL;
	}
	v = json_object_get(body, "code");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) ||
		    json_integer_value(v) < DDI_CONFIRM_CODE_MIN ||
		    json_integer_value(v) > DDI_CONFIRM_CODE_MAX) {
			snprintf(err, errlen,
			    "code: an integer %d..%d when given",
			    DDI_CONFIRM_CODE_MIN, DDI_CONFIRM_CODE_MAX);
			return OTA_EINVAL;
		}
		cf.code = (int64_t)json_integer_value(v);
	}
	if (feedback_details(body, "details", cf.details, err, errlen) < 0)
		return OTA_EINVAL;
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MIN);
	hash_str(&st, "confirmation");
	crypto_feed_u64(&st, (uint64_t)cf.confirmed);
	crypto_feed_u64(&st, (uint64_t)cf.code);
	hash_str(&st, cf.details);
	hash_hex(&st, cf.digest);
	*out = cf;
	return 0;
}

/* The percentage of a progress report: min(100, cnt * 100 / of); -1
 * when cnt or of is absent, or of is 0: "0 of 0" is what SWUpdate sends
 * with its first log lines, before it knows any size, so it says
 * nothing about progress. */
static int
progress_percent(const struct ddi_feedback *fb)
{
	if (fb->progress_cnt < 0 || fb->progress_of <= 0)
		return -1;
	if (fb->progress_cnt >= fb->progress_of)
		return 100;
	/* Both at most DDI_PROGRESS_MAX: the product fits. */
	return (int)(fb->progress_cnt * 100 / fb->progress_of);
}

/* Deployment feedback on a status that is not final. */
static void
apply_deployment(
    enum ddi_status cur, const struct ddi_feedback *fb, struct ddi_effect *out)
{
	switch (fb->execution) {
	case DDI_EXEC_PROCEEDING:
	case DDI_EXEC_SCHEDULED:
	case DDI_EXEC_RESUMED:
	case DDI_EXEC_DOWNLOAD:
	case DDI_EXEC_DOWNLOADED:
		/* A pending cancel (or a refused one) keeps its status: the
		 * poll decision depends on it. */
		if (cur == DDI_OPEN || cur == DDI_RUNNING)
			out->status = DDI_RUNNING;
		out->telemetry = 1;
		out->progress = progress_percent(fb);
		if (cur == DDI_OPEN || out->progress < 0)
			out->state = UPDATE_STARTED;
		else
			out->state = UPDATE_PROGRESS;
		break;
	case DDI_EXEC_CLOSED:
		out->status = DDI_CLOSED;
		out->telemetry = 1;
		if (fb->finished == DDI_FINISHED_SUCCESS) {
			out->state = UPDATE_COMPLETED;
			out->sets_version = 1;
		} else {
			out->state = UPDATE_FAILED;
			out->result = DDI_FAILURE_RESULT;
		}
		break;
	case DDI_EXEC_CANCELED:
		out->status = DDI_CANCELED;
		break;
	case DDI_EXEC_REJECTED:
		break;
	}
}

/* Cancel feedback on any status. */
static void
apply_cancel(
    enum ddi_status cur, const struct ddi_feedback *fb, struct ddi_effect *out)
{
	int done = fb->execution == DDI_EXEC_CANCELED ||
	           (fb->execution == DDI_EXEC_CLOSED &&
	               fb->finished == DDI_FINISHED_SUCCESS);
	int refused = fb->execution == DDI_EXEC_REJECTED ||
	              (fb->execution == DDI_EXEC_CLOSED &&
	                  fb->finished == DDI_FINISHED_FAILURE);

	if (ddi_status_final(cur))
		return;
	if (done)
		out->status = DDI_CANCELED;
	else if (refused && cur == DDI_CANCELING)
		out->status = DDI_CANCEL_REJECTED;
}

int
ddi_feedback_apply(enum ddi_status cur, int is_cancel,
    const struct ddi_feedback *fb, struct ddi_effect *out)
{
	out->status = cur;
	out->telemetry = 0;
	out->state = UPDATE_NONE;
	out->progress = -1;
	out->result = -1;
	out->sets_version = 0;
	out->cancels_update = 0;
	if (ddi_status_name(cur) == NULL ||
	    ddi_execution_name(fb->execution) == NULL ||
	    ddi_finished_name(fb->finished) == NULL ||
	    (fb->execution == DDI_EXEC_CLOSED &&
	        fb->finished == DDI_FINISHED_NONE))
		return OTA_EINVAL;
	if (is_cancel)
		apply_cancel(cur, fb, out);
	else if (!ddi_status_final(cur))
		apply_deployment(cur, fb, out);
	out->cancels_update =
	    !ddi_status_final(cur) && out->status == DDI_CANCELED;
	return 0;
}

/* Checks one data member: key 1..DDI_ATTR_KEY_MAX bytes, value a string
 * of at most DDI_ATTR_VALUE_MAX bytes without NUL. */
static int
config_member(const char *key, const json_t *v, char *err, size_t errlen)
{
	size_t klen = strlen(key);

	if (klen == 0 || klen > DDI_ATTR_KEY_MAX) {
		snprintf(err, errlen, "data: keys must be 1..%d bytes",
		    DDI_ATTR_KEY_MAX);
		return OTA_EINVAL;
	}
	if (!json_is_string(v) ||
	    json_string_length(v) != strlen(json_string_value(v)) ||
	    json_string_length(v) > DDI_ATTR_VALUE_MAX) {
		snprintf(err, errlen,
		    "data.%.*s: must be a string of at most %d bytes",
		    DDI_ATTR_KEY_MAX, key, DDI_ATTR_VALUE_MAX);
		return OTA_EINVAL;
	}
	return 0;
}

int
ddi_view_shows(enum ddi_view view, enum ddi_status status, const char *result)
{
	switch (view) {
	case DDI_VIEW_DEPLOYMENT:
		return !ddi_status_final(status) && status != DDI_CANCELING;
	case DDI_VIEW_INSTALLED:
		return status == DDI_CLOSED && result != NULL &&
		       strcmp(result, "success") == 0;
	case DDI_VIEW_CANCEL:
		return status == DDI_CANCELING;
	}
	return 0;
}

int
ddi_config_parse(
    const json_t *body, struct ddi_config *out, char *err, size_t errlen)
{
	enum ddi_config_mode mode = DDI_CONFIG_MERGE;
	json_t *data, *v;
	const char *key, *m;
	int rc;

	if (!json_is_object(body)) {
		snprintf(err, errlen, "body: must be a JSON object");
		return OTA_EINVAL;
	}
	v = json_object_get(body, "mode");
	if (v != NULL && !json_is_null(v)) {
		m = json_is_string(v) ? json_string_value(v) : "";
		if (strcmp(m, "merge") == 0)
			mode = DDI_CONFIG_MERGE;
		else if (strcmp(m, "replace") == 0)
			mode = DDI_CONFIG_REPLACE;
		else if (strcmp(m, "remove") == 0)
			mode = DDI_CONFIG_REMOVE;
		else {
			snprintf(err, errlen,
			    "mode: must be merge, replace or remove");
			return OTA_EINVAL;
		}
	}
	data = json_object_get(body, "data");
	if (!json_is_object(data)) {
		snprintf(err, errlen, "data: required object of strings");
		return OTA_EINVAL;
	}
	if (json_object_size(data) > DDI_ATTR_MAX) {
		snprintf(
		    err, errlen, "data: at most %d attributes", DDI_ATTR_MAX);
		return OTA_EINVAL;
	}
	json_object_foreach(data, key, v) {
		if ((rc = config_member(key, v, err, errlen)) < 0)
			return rc;
	}
	out->mode = mode;
	out->data = data;
	return 0;
}

int
ddi_config_merge(const struct ddi_config *cfg, const json_t *cur,
    json_t **out_attrs, char *err, size_t errlen)
{
	json_t *v, *attrs;
	const char *key;

	*out_attrs = NULL;
	if (cfg->mode != DDI_CONFIG_REPLACE && json_is_object(cur))
		attrs = json_deep_copy(cur);
	else
		attrs = json_object();
	if (attrs == NULL)
		return OTA_ENOMEM;
	json_object_foreach(cfg->data, key, v) {
		if (cfg->mode == DDI_CONFIG_REMOVE)
			json_object_del(attrs, key);
		else if (json_object_set(attrs, key, v) < 0) {
			json_decref(attrs);
			return OTA_ENOMEM;
		}
	}
	if (json_object_size(attrs) > DDI_ATTR_MAX) {
		snprintf(err, errlen,
		    "data: at most %d attributes in all (%zu with the"
		    " stored ones)",
		    DDI_ATTR_MAX, json_object_size(attrs));
		json_decref(attrs);
		return OTA_EINVAL;
	}
	*out_attrs = attrs;
	return 0;
}

int
ddi_config_apply(const json_t *body, const json_t *cur, json_t **out_attrs,
    char *err, size_t errlen)
{
	struct ddi_config cfg;
	int rc;

	*out_attrs = NULL;
	if ((rc = ddi_config_parse(body, &cfg, err, errlen)) != 0)
		return rc;
	return ddi_config_merge(&cfg, cur, out_attrs, err, errlen);
}

json_t *
ddi_attributes_json(const char *text)
{
	json_t *v;

	if (text == NULL)
		return json_null();
	v = json_loads(text, 0, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		return json_null();
	}
	return v;
}

int
ddi_attrs_device_facts(const json_t *attrs, const char *hw_key,
    const char *version_key, char out_hw[DESCRIPTOR_HW_LEN_MAX + 1],
    char out_version[SEMVER_MAX_LEN + 1], char *err, size_t errlen)
{
	json_t *v;
	const char *s;

	out_hw[0] = '\0';
	out_version[0] = '\0';
	v = hw_key != NULL && hw_key[0] != '\0' ? json_object_get(attrs, hw_key)
	                                        : NULL;
	if (v != NULL) {
		s = json_is_string(v) ? json_string_value(v) : NULL;
		if (s == NULL || !descriptor_hardware_valid(s)) {
			snprintf(err, errlen,
			    "data.%.*s: must be a hardware revision (1..%d of"
			    " [A-Za-z0-9._:-])",
			    DDI_ATTR_KEY_MAX, hw_key, DESCRIPTOR_HW_LEN_MAX);
			return OTA_EINVAL;
		}
		snprintf(out_hw, DESCRIPTOR_HW_LEN_MAX + 1, "%s", s);
	}
	v = version_key != NULL && version_key[0] != '\0'
	        ? json_object_get(attrs, version_key)
	        : NULL;
	if (v != NULL) {
		s = json_is_string(v) ? json_string_value(v) : NULL;
		if (s == NULL || semver_check(s, strlen(s)) != 0) {
			out_hw[0] = '\0';
			snprintf(err, errlen,
			    "data.%.*s: must be a SemVer 2.0.0 version",
			    DDI_ATTR_KEY_MAX, version_key);
			return OTA_EINVAL;
		}
		snprintf(out_version, SEMVER_MAX_LEN + 1, "%s", s);
	}
	return 0;
}

int
ddi_attrs_components(const json_t *attrs, struct component *out, size_t max,
    size_t *out_n, char *err, size_t errlen)
{
	static const char suffix[] = ".version";
	const size_t sl = sizeof(suffix) - 1;
	const char *key, *s;
	json_t *v;

	*out_n = 0;
	if (!json_is_object(attrs))
		return 0;
	json_object_foreach((json_t *)attrs, key, v) {
		size_t kl = strlen(key);
		struct component *c;

		if (kl <= sl || kl - sl > COMPONENT_NAME_MAX ||
		    strcmp(key + kl - sl, suffix) != 0)
			continue;
		if (*out_n == max)
			break;
		c = &out[*out_n];
		memset(c, 0, sizeof(*c));
		memcpy(c->name, key, kl - sl);
		if (!components_name_valid(c->name))
			continue;
		s = json_is_string(v) ? json_string_value(v) : NULL;
		if (s == NULL || semver_check(s, strlen(s)) != 0) {
			snprintf(err, errlen,
			    "data.%.*s: must be a SemVer 2.0.0 version (the "
			    "version component '%s' runs)",
			    DDI_ATTR_KEY_MAX, key, c->name);
			*out_n = 0;
			return OTA_EINVAL;
		}
		snprintf(c->version, sizeof(c->version), "%s", s);
		(*out_n)++;
	}
	return 0;
}

void
ddi_artifact_filename(
    const struct ota_descriptor *d, char out[DESCRIPTOR_FILENAME_MAX + 1])
{
	if (d->filename[0] != '\0') {
		snprintf(out, DESCRIPTOR_FILENAME_MAX + 1, "%s", d->filename);
		return;
	}
	/* name and version are [A-Za-z0-9._+-]: a safe file name, cut to
	 * the limit when a long version makes it longer. */
	snprintf(out, DESCRIPTOR_FILENAME_MAX + 1, "%.*s-%.*s.bin",
	    DESCRIPTOR_NAME_MAX, d->name,
	    DESCRIPTOR_FILENAME_MAX - 4 - DESCRIPTOR_NAME_MAX - 1, d->version);
}

void
ddi_sleep_format(int64_t sec, char out[DDI_SLEEP_LEN])
{
	if (sec < 0)
		sec = 0;
	if (sec > 359999)
		sec = 359999;
	snprintf(out, DDI_SLEEP_LEN, "%02d:%02d:%02d", (int)(sec / 3600),
	    (int)(sec / 60 % 60), (int)(sec % 60));
}

/* Feeds one artifact (and its part, when named) into st. */
static void
hash_artifact(crypto_generichash_state *st, const struct ddi_artifact *a)
{
	/* An image's chunk ("os", part NULL) hashes as it always did. */
	if (a->part != NULL)
		hash_str(st, a->part);
	crypto_feed_u64(st, (uint64_t)a->image_id);
	hash_str(st, a->name);
	hash_str(st, a->version);
	hash_str(st, a->filename);
	crypto_feed_u64(st, a->size);
	hash_str(st, a->sha1_hex);
	hash_str(st, a->md5_hex);
	hash_str(st, a->sha256_hex);
	hash_str(st, a->download_href);
	hash_str(st, a->md5sum_href);
}

void
ddi_action_hash(int64_t action_id, const struct ddi_artifact *a,
    const struct ddi_modes *modes, char out[DDI_HASH_LEN])
{
	ddi_action_hash_chunks(action_id, a, 1, modes, out);
}

void
ddi_action_hash_chunks(int64_t action_id, const struct ddi_artifact *a,
    size_t n, const struct ddi_modes *modes, char out[DDI_HASH_LEN])
{
	static const struct ddi_modes dflt = {"forced", "forced", "available"};
	crypto_generichash_state st;

	if (modes == NULL)
		modes = &dflt;
	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MIN);
	crypto_feed_u64(&st, (uint64_t)action_id);
	for (size_t i = 0; i < n; i++)
		hash_artifact(&st, &a[i]);
	/* A deployment that changes from "skip" to "forced" (the window
	 * opened) is a new link, so clients fetch it again. */
	hash_str(&st, modes->download);
	hash_str(&st, modes->update);
	hash_str(&st, modes->window);
	hash_hex(&st, out);
}

void
ddi_modes_of(
    enum rollout_action_type action, int window_open, struct ddi_modes *out)
{
	switch (action) {
	case ROLLOUT_ACTION_SOFT:
		out->download = "attempt";
		out->update = "attempt";
		break;
	case ROLLOUT_ACTION_DOWNLOAD_ONLY:
		out->download = "forced";
		out->update = "skip";
		break;
	case ROLLOUT_ACTION_FORCED:
	case ROLLOUT_ACTION_TIME_FORCED: /* resolved by the caller */
	default:
		out->download = "forced";
		out->update = "forced";
		break;
	}
	out->window = window_open ? "available" : "unavailable";
	if (!window_open)
		out->update = "skip";
}

/* Sets obj[key] = {"href": href} unless href is NULL.  Returns 0 or -1. */
static int
set_link(json_t *obj, const char *key, const char *href)
{
	if (href == NULL)
		return 0;
	return json_object_set_new(obj, key, json_pack("{s:s}", "href", href));
}

json_t *
ddi_poll_json(int64_t sleep_sec, const struct ddi_poll_links *links)
{
	char sleep[DDI_SLEEP_LEN];
	json_t *root, *l;

	ddi_sleep_format(sleep_sec, sleep);
	root = json_pack("{s:{s:{s:s}}}", "config", "polling", "sleep", sleep);
	if (root == NULL || links == NULL)
		return root;
	if ((l = json_object()) == NULL)
		goto fail;
	if (set_link(l, "deploymentBase", links->deployment_base) < 0 ||
	    set_link(l, "confirmationBase", links->confirmation_base) < 0 ||
	    set_link(l, "cancelAction", links->cancel_action) < 0 ||
	    set_link(l, "configData", links->config_data) < 0 ||
	    set_link(l, "installedBase", links->installed_base) < 0) {
		json_decref(l);
		goto fail;
	}
	if (json_object_size(l) == 0) {
		json_decref(l);
		return root;
	}
	if (json_object_set_new(root, "_links", l) < 0)
		goto fail;
	return root;
fail:
	json_decref(root);
	return NULL;
}

/* Sets obj[key] = s unless s is NULL or "" (a digest not computed yet).
 * Returns 0 or -1. */
static int
set_opt_str(json_t *obj, const char *key, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	return json_object_set_new(obj, key, json_string(s));
}

/* The "artifacts" entry of a; NULL on failure. */
static json_t *
artifact_json(const struct ddi_artifact *a)
{
	json_t *art = NULL, *hashes = NULL, *links = NULL;

	if (a->filename == NULL || a->size > (uint64_t)INT64_MAX)
		return NULL;
	if ((art = json_pack("{s:s,s:I}", "filename", a->filename, "size",
	         (json_int_t)a->size)) == NULL ||
	    (hashes = json_object()) == NULL || (links = json_object()) == NULL)
		goto fail;
	if (set_opt_str(hashes, "sha1", a->sha1_hex) < 0 ||
	    set_opt_str(hashes, "md5", a->md5_hex) < 0 ||
	    set_opt_str(hashes, "sha256", a->sha256_hex) < 0)
		goto fail;
	if (set_link(links, "download", a->download_href) < 0 ||
	    set_link(links, "download-http", a->download_href) < 0 ||
	    set_link(links, "md5sum", a->md5sum_href) < 0 ||
	    set_link(links, "md5sum-http", a->md5sum_href) < 0)
		goto fail;
	if (json_object_set_new(art, "hashes", hashes) < 0) {
		hashes = NULL;
		goto fail;
	}
	hashes = NULL;
	if (json_object_set_new(art, "_links", links) < 0) {
		links = NULL;
		goto fail;
	}
	return art;
fail:
	json_decref(hashes);
	json_decref(links);
	json_decref(art);
	return NULL;
}

json_t *
ddi_deployment_json(int64_t action_id, const struct ddi_artifact *a,
    const struct ddi_modes *modes)
{
	return ddi_deployment_json_chunks(action_id, a, 1, modes);
}

/* One chunk of a deployment: {"part","version","name","artifacts":[..]};
 * NULL on failure. */
static json_t *
chunk_json(const struct ddi_artifact *a)
{
	json_t *art;

	if (a->name == NULL || a->version == NULL)
		return NULL;
	if ((art = artifact_json(a)) == NULL)
		return NULL;
	/* "o" steals art, also when json_pack fails. */
	return json_pack("{s:s,s:s,s:s,s:[o]}", "part",
	    a->part != NULL ? a->part : "os", "version", a->version, "name",
	    a->name, "artifacts", art);
}

json_t *
ddi_deployment_json_chunks(int64_t action_id, const struct ddi_artifact *a,
    size_t n, const struct ddi_modes *modes)
{
	static const struct ddi_modes dflt = {"forced", "forced", "available"};
	json_t *chunks = json_array(), *c;
	char id[24];

	if (modes == NULL)
		modes = &dflt;
	if (chunks == NULL || n == 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((c = chunk_json(&a[i])) == NULL ||
		    json_array_append_new(chunks, c) != 0)
			goto fail;
	snprintf(id, sizeof(id), "%" PRId64, action_id);
	/* "o" steals chunks, also when json_pack fails. */
	return json_pack("{s:s,s:{s:s,s:s,s:s,s:o}}", "id", id, "deployment",
	    "download", modes->download, "update", modes->update,
	    "maintenanceWindow", modes->window, "chunks", chunks);
fail:
	json_decref(chunks);
	return NULL;
}

json_t *
ddi_cancel_json(int64_t action_id)
{
	char id[24];

	snprintf(id, sizeof(id), "%" PRId64, action_id);
	return json_pack(
	    "{s:s,s:{s:s}}", "id", id, "cancelAction", "stopId", id);
}

/* Keeps the lowest action id among the candidates seen so far. */
static void
pick_lowest(const struct ddi_active *a, size_t i, size_t *best)
{
	if (*best == SIZE_MAX || a[i].action_id < a[*best].action_id)
		*best = i;
}

enum ddi_poll_kind
ddi_poll_decide(const struct ddi_active *a, size_t n, int64_t offer_rollout_id,
    size_t *out_index, int *out_mark_cancel)
{
	size_t cancel = SIZE_MAX, carry = SIZE_MAX, offered = SIZE_MAX;

	*out_index = 0;
	*out_mark_cancel = 0;
	for (size_t i = 0; i < n; i++) {
		int gone = a[i].rollout_aborted || !a[i].targeted;

		switch (a[i].status) {
		case DDI_CANCELING:
			pick_lowest(a, i, &cancel);
			break;
		case DDI_OPEN:
		case DDI_RUNNING:
			if (gone)
				pick_lowest(a, i, &cancel);
			else if (a[i].status == DDI_RUNNING)
				pick_lowest(a, i, &carry);
			else if (offer_rollout_id > 0 &&
			         a[i].rollout_id == offer_rollout_id)
				pick_lowest(a, i, &offered);
			break;
		case DDI_CANCEL_REJECTED:
			pick_lowest(a, i, &carry);
			break;
		case DDI_CLOSED:
		case DDI_CANCELED:
			break; /* final: never answered again */
		}
	}
	if (cancel != SIZE_MAX) {
		*out_index = cancel;
		*out_mark_cancel = a[cancel].status != DDI_CANCELING;
		return DDI_POLL_CANCEL;
	}
	if (carry != SIZE_MAX) {
		*out_index = carry;
		return DDI_POLL_DEPLOY;
	}
	if (offered != SIZE_MAX) {
		*out_index = offered;
		return DDI_POLL_DEPLOY;
	}
	return DDI_POLL_NONE;
}
