/*
 * http_api_devices: REST handlers for devices.  Provisioning validates
 * every entry before touching the store, then makes each device's token
 * and stores the whole batch in one transaction: either all devices
 * exist afterwards, with their tokens in the 201 reply (the only time a
 * token is ever shown), or none does.  Tokens are never logged.
 */
#include "http_api_devices.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components.h"
#include "crypto.h"
#include "descriptor.h"
#include "device_service.h"
#include "errors.h"
#include "http_reply.h"
#include "http_req.h"
#include "json_util.h"
#include "log.h"
#include "semver.h"
#include "rollout.h"
#include "store.h"
#include "store_devices.h"
#include "store_groups.h"
#include "timeutil.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000
#define DEVICE_GROUPS_MAX 64 /* groups named by one provisioned device */
#define LABELS_MAX 64        /* keys of a labels object */
#define LABEL_KEY_MAX 64     /* characters */
#define LABEL_VALUE_MAX 256  /* characters */
#define FIELD_MAX 64         /* "devices[9999].hardware" and the like */

static const char *const device_fields[] = {
    "id", "hardware", "version", "labels", "groups", "components", NULL};
static const char *const patch_fields[] = {
    "labels", "hardware", "components", NULL};

static const char group_what[] = "a group name (1..64 of [A-Za-z0-9._-])";

/* A device being provisioned: what the store row borrows. */
struct provision_entry {
	char *labels;                 /* compact JSON text, or NULL for {} */
	const char **groups;          /* borrowed from the request body */
	struct component *components; /* NULL when none declared */
};

struct provision {
	size_t n;
	struct store_device_new *v;
	struct provision_entry *e;
	char (*tokens)[CRYPTO_TOKEN_LEN]; /* n secrets, sodium_malloc'd */
	char (*ids)[CRYPTO_TOKEN_ID_LEN]; /* n token ids */
	unsigned char (*hashes)[CRYPTO_HASH_LEN];
};

static void
provision_free(struct provision *p)
{
	if (p->e != NULL)
		for (size_t i = 0; i < p->n; i++) {
			free(p->e[i].labels);
			free(p->e[i].groups);
			free(p->e[i].components);
		}
	free(p->e);
	free(p->v);
	free(p->ids);
	free(p->hashes);
	sodium_free(p->tokens); /* wipes */
	memset(p, 0, sizeof(*p));
}

/* Characters (code points) of a valid UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* "devices[3].id" or "id": field name under prefix where ("" or
 * "devices[3]"). */
static void
field_name(char out[FIELD_MAX], const char *where, const char *field)
{
	snprintf(out, FIELD_MAX, "%s%s%s", where, where[0] ? "." : "", field);
}

/* Writes "<field name>: <fmt ...>" into err (the field named as
 * field_name does) and returns OTA_EINVAL.  Provisioning names a field
 * only on an error or to pass it on: a name formatted for each field of
 * 10,000 valid entries was a twentieth of a POST's time. */
static int field_error(char *err, size_t errlen, const char *where,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
field_error(char *err, size_t errlen, const char *where, const char *field,
    const char *fmt, ...)
{
	char f[FIELD_MAX];
	va_list ap;
	int k;

	field_name(f, where, field);
	k = snprintf(err, errlen, "%s: ", f);
	if (k >= 0 && (size_t)k < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return OTA_EINVAL;
}

/*
 * Checks a labels value: an object of at most LABELS_MAX string values,
 * keys 1..LABEL_KEY_MAX characters, values at most LABEL_VALUE_MAX, JSON
 * text at most STORE_LABELS_MAX bytes.  Returns 0 and a new compact JSON
 * text (keys sorted) in *out_text, or OTA_EINVAL with the reason in err,
 * or OTA_ENOMEM.
 */
static int
labels_check(const json_t *labels, const char *field, char **out_text,
    char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	char *text;
	size_t klen;

	*out_text = NULL;
	if (!json_is_object(labels)) {
		snprintf(
		    err, errlen, "%s: must be an object of strings", field);
		return OTA_EINVAL;
	}
	if (json_object_size(labels) > LABELS_MAX) {
		snprintf(
		    err, errlen, "%s: at most %d labels", field, LABELS_MAX);
		return OTA_EINVAL;
	}
	json_object_foreach((json_t *)labels, key, v) {
		klen = utf8_chars(key);
		if (klen < 1 || klen > LABEL_KEY_MAX) {
			snprintf(err, errlen,
			    "%s: key '%.64s' must be 1..%d characters", field,
			    key, LABEL_KEY_MAX);
			return OTA_EINVAL;
		}
		if (!json_is_string(v)) {
			snprintf(
			    err, errlen, "%s.%s: must be a string", field, key);
			return OTA_EINVAL;
		}
		if (utf8_chars(json_string_value(v)) > LABEL_VALUE_MAX) {
			snprintf(err, errlen, "%s.%s: at most %d characters",
			    field, key, LABEL_VALUE_MAX);
			return OTA_EINVAL;
		}
	}
	text = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		return OTA_ENOMEM;
	if (strlen(text) > STORE_LABELS_MAX) {
		free(text);
		snprintf(err, errlen, "%s: over %d bytes of JSON", field,
		    STORE_LABELS_MAX);
		return OTA_EINVAL;
	}
	*out_text = text;
	return 0;
}

/* Reads the components v of an entry (field names it) into e and d. */
static int
provision_components(const json_t *v, const char *field,
    struct store_device_new *d, struct provision_entry *e, char *err,
    size_t errlen)
{
	struct component tmp[COMPONENTS_MAX];
	size_t n = 0;
	int rc;

	if ((rc = components_from_json(v, field, tmp, &n, err, errlen)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if ((e->components = malloc(n * sizeof(*tmp))) == NULL)
		return OTA_ENOMEM;
	memcpy(e->components, tmp, n * sizeof(*tmp));
	d->components = e->components;
	d->component_count = n;
	return 0;
}

/* The optional labels, groups and components of entry o (as
 * provision_parse_one). */
static int
provision_parse_more(const json_t *o, const char *where,
    struct store_device_new *d, struct provision_entry *e, char *err,
    size_t errlen)
{
	char f[FIELD_MAX];
	json_t *v;
	int rc;

	v = json_object_get(o, "labels");
	if (v != NULL && !json_is_null(v)) {
		field_name(f, where, "labels");
		if ((rc = labels_check(v, f, &e->labels, err, errlen)) != 0)
			return rc;
		d->labels_json = e->labels;
	}

	v = json_object_get(o, "groups");
	if (v != NULL && !json_is_null(v)) {
		field_name(f, where, "groups");
		if ((rc = json_util_strings(v, DEVICE_GROUPS_MAX,
		         store_group_name_valid, group_what, f, &e->groups,
		         &d->group_count, err, errlen)) != 0)
			return rc;
		d->groups = e->groups;
	}
	v = json_object_get(o, "components");
	if (v == NULL || json_is_null(v))
		return 0;
	field_name(f, where, "components");
	return provision_components(v, f, d, e, err, errlen);
}

/*
 * Validates one entry o of a provisioning body and fills d and e from it
 * (pointers borrowed from o).  where names the entry in errors ("" or
 * "devices[3]").  Returns 0, OTA_EINVAL (reason in err) or OTA_ENOMEM.
 */
static int
provision_parse_one(const json_t *o, const char *where,
    struct store_device_new *d, struct provision_entry *e, char *err,
    size_t errlen)
{
	json_t *v;
	int rc;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s: must be an object", where);
		return OTA_EINVAL;
	}
	if ((rc = json_util_check_keys(o, device_fields, where, err, errlen)) !=
	    0)
		return rc;

	v = json_object_get(o, "id");
	if (v == NULL)
		return field_error(err, errlen, where, "id", "required");
	if (!json_is_string(v) || !store_device_id_valid(json_string_value(v)))
		return field_error(err, errlen, where, "id",
		    "must be 1..%d characters of [A-Za-z0-9._:-]",
		    STORE_DEVICE_ID_MAX);
	d->id = json_string_value(v);

	v = json_object_get(o, "hardware");
	if (v == NULL)
		return field_error(err, errlen, where, "hardware", "required");
	if (!json_is_string(v) ||
	    !descriptor_hardware_valid(json_string_value(v)))
		return field_error(err, errlen, where, "hardware",
		    "must be 1..%d characters of [A-Za-z0-9._:-]",
		    STORE_HARDWARE_MAX);
	d->hardware = json_string_value(v);

	v = json_object_get(o, "version");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || semver_check(json_string_value(v),
		                              json_string_length(v)) != 0)
			return field_error(err, errlen, where, "version",
			    "must be a SemVer 2.0 version");
		d->version = json_string_value(v);
	}

	return provision_parse_more(o, where, d, e, err, errlen);
}

/* The entry of body (object or array) at i, and its name for errors. */
static const json_t *
provision_entry_at(const json_t *body, size_t i, char where[FIELD_MAX])
{
	if (json_is_object(body)) {
		where[0] = '\0';
		return body;
	}
	snprintf(where, FIELD_MAX, "devices[%zu]", i);
	return json_array_get(body, i);
}

/* Replies 409 for the id the store refused: already stored, or repeated
 * within the request (named by both positions). */
static int
provision_conflict(struct http_req *req, const struct provision *p,
    const json_t *body, const char *id)
{
	char where[FIELD_MAX], f[FIELD_MAX];
	size_t first = p->n, second = p->n;

	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].id, id) != 0)
			continue;
		if (first == p->n) {
			first = i;
		} else {
			second = i;
			break;
		}
	}
	if (first == p->n)
		first = 0;
	(void)provision_entry_at(body, first, where);
	field_name(f, where, "id");
	if (second < p->n)
		return http_reply_error(req, 409, "conflict",
		    "devices[%zu].id: '%s' repeats devices[%zu].id", second, id,
		    first);
	return http_reply_error(
	    req, 409, "conflict", "%s: device '%s' already exists", f, id);
}

/* Replies 404 for the group the store did not find, naming where it was
 * first asked for. */
static int
provision_missing_group(struct http_req *req, const struct provision *p,
    const json_t *body, const char *group)
{
	char where[FIELD_MAX], f[FIELD_MAX];

	for (size_t i = 0; i < p->n; i++) {
		for (size_t k = 0; k < p->v[i].group_count; k++) {
			if (strcmp(p->v[i].groups[k], group) != 0)
				continue;
			(void)provision_entry_at(body, i, where);
			field_name(f, where, "groups");
			return http_reply_error(req, 404, "not_found",
			    "%s[%zu]: no group named '%s'", f, k, group);
		}
	}
	return http_reply_error(
	    req, 404, "not_found", "no group named '%s'", group);
}

/*
 * Fills p with the n entries of body (checked) and a new token for each.
 * Returns 0, OTA_EINVAL with the reason in err, or OTA_ENOMEM / a crypto
 * error.  p is freed by the caller (provision_free) either way.
 */
static int
provision_build(
    const json_t *body, size_t n, struct provision *p, char *err, size_t errlen)
{
	char where[FIELD_MAX];
	int rc;

	p->v = calloc(n, sizeof(*p->v));
	p->e = calloc(n, sizeof(*p->e));
	p->tokens = sodium_malloc(n * sizeof(*p->tokens));
	p->ids = calloc(n, sizeof(*p->ids));
	p->hashes = calloc(n, sizeof(*p->hashes));
	if (p->v == NULL || p->e == NULL || p->tokens == NULL ||
	    p->ids == NULL || p->hashes == NULL)
		return OTA_ENOMEM;
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = provision_entry_at(body, i, where);

		rc = provision_parse_one(
		    o, where, &p->v[i], &p->e[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	/* One bucket for the whole request: its tokens go into one narrow
	 * key range of device_tokens, not one random page each. */
	rc = crypto_tokens_new_in(
	    (uint8_t)randombytes_uniform(256), n, p->tokens, p->ids, p->hashes);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		p->v[i].token_id = p->ids[i];
		p->v[i].token_hash = p->hashes[i];
	}
	return rc;
}

/* Copies the n bytes of s to text + at; returns at + n. */
static size_t
put(char *text, size_t at, const char *s, size_t n)
{
	memcpy(text + at, s, n);
	return at + n;
}

/*
 * Replies 201 with the provisioned devices and their tokens, written
 * directly (what json_pack and json_dumps would write, at a tenth of
 * the cost for 10,000 devices; copied, not formatted, as snprintf took
 * a twentieth of a POST): an id is of [A-Za-z0-9._:-] (at most
 * STORE_DEVICE_ID_MAX, checked) and a token of [A-Za-z0-9_-], neither
 * needs escaping.
 */
static int
provision_reply(struct http_req *req, const struct provision *p)
{
	static const char head[] = "{\"devices\":[", tail[] = "]}",
	                  id[] = "{\"id\":\"", token[] = "\",\"token\":\"",
	                  end[] = "\"}";
	/* {"id":"","token":""}, and a comma */
	size_t per = 21 + STORE_DEVICE_ID_MAX + CRYPTO_TOKEN_LEN;
	size_t cap = sizeof(head) + sizeof(tail) + p->n * per, len;
	char *text = malloc(cap);

	if (text == NULL)
		return OTA_ENOMEM;
	len = put(text, 0, head, sizeof(head) - 1);
	for (size_t i = 0; i < p->n; i++) {
		if (i > 0)
			text[len++] = ',';
		len = put(text, len, id, sizeof(id) - 1);
		len = put(text, len, p->v[i].id, strlen(p->v[i].id));
		len = put(text, len, token, sizeof(token) - 1);
		len = put(text, len, p->tokens[i], strlen(p->tokens[i]));
		len = put(text, len, end, sizeof(end) - 1);
	}
	len = put(text, len, tail, sizeof(tail));
	return http_reply_json_text(req, 201, text, len - 1);
}

int
http_api_devices_create(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = http_req_json(req);
	struct provision p;
	struct store_conn *c;
	char err[320];
	char conflict[STORE_DEVICE_ID_MAX + 1];
	size_t n;
	int rc;

	memset(&p, 0, sizeof(p));
	if (json_is_object(body))
		n = 1;
	else if (json_is_array(body))
		n = json_array_size(body);
	else
		return http_reply_error(req, 400, "invalid_request",
		    "body must be a device object or an array of them");
	if (n < 1 || n > STORE_DEVICE_BATCH_MAX)
		return http_reply_error(req, 400, "invalid_request",
		    "devices: 1..%d per request, got %zu",
		    STORE_DEVICE_BATCH_MAX, n);
	rc = provision_build(body, n, &p, err, sizeof(err));
	if (rc == OTA_EINVAL) {
		rc = http_reply_error(req, 400, "invalid_request", "%s", err);
		goto out;
	}
	if (rc != 0)
		goto out;
	c = store_acquire(app->store);
	rc = store_device_insert_batch(c, p.v, n, conflict);
	store_release(app->store, c);
	if (rc == OTA_ECONFLICT)
		rc = provision_conflict(req, &p, body, conflict);
	else if (rc == OTA_ENOTFOUND)
		rc = provision_missing_group(req, &p, body, conflict);
	else if (rc == 0) {
		log_info("msg=\"devices provisioned\" count=%zu first=%s by=%s",
		    n, p.v[0].id, http_req_who(req)->name);
		rc = provision_reply(req, &p);
	}
out:
	provision_free(&p);
	return rc;
}

/* The JSON form of a device. */
static json_t *
device_json(const struct store_device *d)
{
	json_t *groups, *labels;

	groups = json_array();
	for (size_t i = 0; i < d->group_count; i++)
		json_array_append_new(groups, json_string(d->groups[i]));
	labels = json_loads(d->labels, 0, NULL);
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	// clang-format off
	return json_pack("{s:s, s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:s, s:o}",
	    "id", d->id,
	    "hardware", d->hardware,
	    "reported_hardware", json_util_string_or_null(d->reported_hardware),
	    "hardware_mismatch",
	        rollout_hardware_mismatch(d->hardware, d->reported_hardware),
	    "version", json_util_string_or_null(d->version),
	    "labels", labels,
	    "groups", groups,
	    "components", components_to_json(d->components,
	        d->component_count),
	    "created_at", d->created_at,
	    "last_seen_at", d->last_seen_at[0] ?
	        json_string(d->last_seen_at) : json_null());
	// clang-format on
}

int
http_api_devices_list(struct http_req *req)
{
	struct app *app = http_req_app(req);
	struct store_device_filter f;
	struct store_device *v = NULL;
	struct store_conn *c;
	const char *mismatch;
	size_t n = 0;
	json_t *arr;
	int rc;

	memset(&f, 0, sizeof(f));
	f.group = http_req_query(req, "group");
	f.hardware = http_req_query(req, "hardware");
	f.version = http_req_query(req, "version");
	f.seen_after = http_req_query(req, "seen_after");
	f.seen_before = http_req_query(req, "seen_before");
	f.after_id = http_req_query(req, "after");
	mismatch = http_req_query(req, "hardware_mismatch");
	if (mismatch != NULL && strcmp(mismatch, "true") == 0)
		f.hardware_mismatch = 1;
	else if (mismatch != NULL && strcmp(mismatch, "false") == 0)
		f.hardware_mismatch = -1;
	else if (mismatch != NULL)
		return http_reply_error(req, 400, "invalid_request",
		    "hardware_mismatch: must be true or false");
	if (f.group != NULL && !store_group_name_valid(f.group))
		return http_reply_error(req, 400, "invalid_request",
		    "group: must be %s", group_what);
	if (f.hardware != NULL && !descriptor_hardware_valid(f.hardware))
		return http_reply_error(req, 400, "invalid_request",
		    "hardware: must be 1..%d characters of [A-Za-z0-9._:-]",
		    STORE_HARDWARE_MAX);
	if (f.version != NULL &&
	    semver_check(f.version, strlen(f.version)) != 0)
		return http_reply_error(req, 400, "invalid_request",
		    "version: must be a SemVer 2.0 version");
	if (f.seen_after != NULL && !timeutil_is_canonical(f.seen_after))
		return http_reply_error(req, 400, "invalid_request",
		    "seen_after: must be a UTC time like 2026-01-31T12:00:00Z");
	if (f.seen_before != NULL && !timeutil_is_canonical(f.seen_before))
		return http_reply_error(req, 400, "invalid_request",
		    "seen_before: must be a UTC time like "
		    "2026-01-31T12:00:00Z");
	if (f.after_id != NULL && !store_device_id_valid(f.after_id))
		return http_reply_error(req, 400, "invalid_request",
		    "after: must be a device id (the previous page's "
		    "next_after)");
	if ((rc = http_req_limit(
	         req, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, &f.limit)) != 0)
		return rc;
	c = store_acquire(app->store);
	rc = store_device_list(c, &f, &v, &n);
	store_release(app->store, c);
	if (rc == OTA_ENOTFOUND)
		return http_reply_error(
		    req, 404, "not_found", "no group named '%s'", f.group);
	if (rc != 0)
		return rc;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, device_json(&v[i]));
	rc = http_reply_json(req, 200,
	    json_pack("{s:o, s:o}", "devices", arr, "next_after",
	        n == (size_t)f.limit ? json_string(v[n - 1].id) : json_null()));
	store_device_list_free(v, n);
	return rc;
}

/* Replies 200 with the device id, or 404. */
static int
reply_device(struct http_req *req, const char *id)
{
	struct app *app = http_req_app(req);
	struct store_device d;
	json_t *attrs = NULL, *j;
	int rc;

	/* With the configData a DDI device sent, or null. */
	rc = device_service_get(app->store, id, &d, &attrs);
	if (rc != 0)
		return http_req_device_failed(req, id, rc);
	j = device_json(&d);
	if (j != NULL)
		json_object_set(j, "attributes", attrs);
	json_decref(attrs);
	rc = http_reply_json(req, 200, j);
	store_device_clear(&d);
	return rc;
}

int
http_api_devices_get(struct http_req *req)
{
	const char *id = http_req_device(req, 0);

	return id == NULL ? 0 : reply_device(req, id);
}

/*
 * Reads the fields of a PATCH body into ch (labels into *labels, a new
 * text; components into comps).  Returns 0, or OTA_EINVAL with the
 * reason in err, or OTA_ENOMEM.
 */
static int
patch_parse(const json_t *body, struct device_service_change *ch, char **labels,
    struct component comps[COMPONENTS_MAX], char *err, size_t errlen)
{
	const json_t *hw_v, *labels_v, *comp_v;
	int rc;

	if (json_util_check_keys(body, patch_fields, "", err, errlen) != 0)
		return OTA_EINVAL;
	labels_v = json_object_get(body, "labels");
	hw_v = json_object_get(body, "hardware");
	comp_v = json_object_get(body, "components");
	if (labels_v == NULL && hw_v == NULL && comp_v == NULL) {
		snprintf(err, errlen,
		    "labels, hardware or components: at "
		    "least one is required");
		return OTA_EINVAL;
	}
	if (hw_v != NULL) {
		ch->hardware =
		    json_is_string(hw_v) ? json_string_value(hw_v) : NULL;
		if (ch->hardware == NULL ||
		    !descriptor_hardware_valid(ch->hardware)) {
			snprintf(err, errlen,
			    "hardware: must be 1..%d characters of "
			    "[A-Za-z0-9._:-]",
			    STORE_HARDWARE_MAX);
			return OTA_EINVAL;
		}
	}
	if (comp_v != NULL) {
		/* [] (or null): the device has no components any more. */
		if (!json_is_null(comp_v) &&
		    (rc = components_from_json(comp_v, "components", comps,
		         &ch->component_count, err, errlen)) != 0)
			return rc;
		ch->components = comps;
	}
	if (labels_v != NULL) {
		if ((rc = labels_check(
		         labels_v, "labels", labels, err, errlen)) != 0)
			return rc;
		ch->labels_json = *labels;
	}
	return 0;
}

int
http_api_devices_patch(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const json_t *body = http_req_json(req);
	const char *id = http_req_device(req, 0);
	struct device_service_change ch;
	struct component comps[COMPONENTS_MAX];
	char err[320], now[21], *labels = NULL;
	size_t nu = 0, na = 0;
	int rc;

	if (id == NULL)
		return 0;
	if (!json_is_object(body))
		return http_reply_error(req, 400, "invalid_request",
		    "body must be an object: {\"labels\": {...}, "
		    "\"hardware\": \"...\", \"components\": [...]}");
	memset(&ch, 0, sizeof(ch));
	rc = patch_parse(body, &ch, &labels, comps, err, sizeof(err));
	if (rc == OTA_EINVAL) {
		rc = http_reply_error(req, 400, "invalid_request", "%s", err);
		goto out;
	}
	if (rc != 0)
		goto out;
	store_now_rfc3339(now);
	rc = device_service_change(app->store, id, &ch, now, &nu, &na);
	if (rc != 0) {
		rc = http_req_device_failed(req, id, rc);
		goto out;
	}
	if (ch.hardware != NULL)
		log_info("msg=\"device hardware set\" device=%s hardware=%s "
		         "updates_canceled=%zu actions_canceling=%zu by=%s",
		    id, ch.hardware, nu, na, http_req_who(req)->name);
	if (ch.components != NULL)
		log_info("msg=\"device components set\" device=%s count=%zu "
		         "by=%s",
		    id, ch.component_count, http_req_who(req)->name);
	rc = reply_device(req, id);
out:
	free(labels);
	return rc;
}

int
http_api_devices_delete(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	struct store_conn *c;
	int rc;

	if (id == NULL)
		return 0;
	c = store_acquire(app->store);
	rc = store_device_delete(c, id);
	store_release(app->store, c);
	if (rc != 0)
		return http_req_device_failed(req, id, rc);
	log_info("msg=\"device deleted\" device=%s by=%s", id,
	    http_req_who(req)->name);
	return http_reply_empty(req, 204);
}

int
http_api_devices_token_rotate(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	char token[CRYPTO_TOKEN_LEN], token_id[CRYPTO_TOKEN_ID_LEN];
	unsigned char hash[CRYPTO_HASH_LEN];
	struct store_conn *c;
	int rc;

	if (id == NULL)
		return 0;
	if ((rc = crypto_token_new(token, token_id, hash)) != 0)
		goto out;
	c = store_acquire(app->store);
	rc = store_device_token_rotate(c, id, token_id, hash);
	store_release(app->store, c);
	if (rc != 0) {
		rc = http_req_device_failed(req, id, rc);
		goto out;
	}
	log_info("msg=\"device token rotated\" device=%s token_id=%s by=%s", id,
	    token_id, http_req_who(req)->name);
	rc = http_reply_json(
	    req, 201, json_pack("{s:s, s:s}", "id", id, "token", token));
out:
	sodium_memzero(token, sizeof(token));
	return rc;
}

int
http_api_devices_token_revoke(struct http_req *req)
{
	struct app *app = http_req_app(req);
	const char *id = http_req_device(req, 0);
	struct store_conn *c;
	int rc;

	if (id == NULL)
		return 0;
	c = store_acquire(app->store);
	rc = store_device_token_rotate(c, id, NULL, NULL);
	store_release(app->store, c);
	if (rc != 0)
		return http_req_device_failed(req, id, rc);
	log_info("msg=\"device tokens revoked\" device=%s by=%s", id,
	    http_req_who(req)->name);
	return http_reply_empty(req, 204);
}
