/*
 * bundles: the bundle descriptor (bundles.h).  Every check names the part
 * by its index in the signed bytes, before the parts are put in install
 * order.
 */
#include "bundles.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"

static const char *const part_keys[] = {
    "component", "sha256", "order", "via", "hardware", NULL};

static void bundle_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bundle_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* 1 when s is an image-style name: 1..64 of [A-Za-z0-9._-], alnum first. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > DESCRIPTOR_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* 1 when s is 64 lowercase hex digits. */
static int
sha256_hex_ok(const char *s)
{
	size_t n = strlen(s);

	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The string of key in o, or NULL when absent; *bad when not a string. */
static const char *
get_string(const json_t *o, const char *key, int *bad)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL)
		return NULL;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* Fills p from part object o (index i): the fields one part alone can
 * be wrong in. */
static int
part_fields(
    const json_t *o, size_t i, struct bundle_part *p, char *err, size_t errlen)
{
	const char *key, *comp, *sha, *via, *hw;
	const json_t *v, *ord;
	int bad = 0;

	if (!json_is_object(o)) {
		bundle_err(err, errlen, "parts[%zu]: must be an object", i);
		return OTA_EINVAL;
	}
	json_object_foreach((json_t *)o, key, v) {
		size_t k = 0;

		while (part_keys[k] != NULL && strcmp(part_keys[k], key) != 0)
			k++;
		if (part_keys[k] == NULL) {
			bundle_err(err, errlen,
			    "parts[%zu]: unknown field '%.32s'", i, key);
			return OTA_EINVAL;
		}
	}
	comp = get_string(o, "component", &bad);
	if (bad || comp == NULL || !components_name_valid(comp)) {
		bundle_err(err, errlen,
		    "parts[%zu].component: must be 1..%d characters of "
		    "[a-z0-9._-]",
		    i, COMPONENT_NAME_MAX);
		return OTA_EINVAL;
	}
	sha = get_string(o, "sha256", &bad);
	if (bad || sha == NULL || !sha256_hex_ok(sha)) {
		bundle_err(err, errlen,
		    "parts[%zu].sha256: must be 64 lowercase hex digits", i);
		return OTA_EINVAL;
	}
	ord = json_object_get(o, "order");
	if (!json_is_integer(ord) || json_integer_value(ord) < 1 ||
	    json_integer_value(ord) > BUNDLE_ORDER_MAX) {
		bundle_err(err, errlen,
		    "parts[%zu].order: must be an integer 1..%d", i,
		    BUNDLE_ORDER_MAX);
		return OTA_EINVAL;
	}
	via = get_string(o, "via", &bad);
	if (bad || (via != NULL && !components_name_valid(via))) {
		bundle_err(err, errlen,
		    "parts[%zu].via: must be a component "
		    "name",
		    i);
		return OTA_EINVAL;
	}
	hw = get_string(o, "hardware", &bad);
	if (bad || (hw != NULL && !descriptor_hardware_valid(hw))) {
		bundle_err(err, errlen,
		    "parts[%zu].hardware: must be 1..%d characters of "
		    "[A-Za-z0-9._:-]",
		    i, DESCRIPTOR_HW_LEN_MAX);
		return OTA_EINVAL;
	}
	snprintf(p->component, sizeof(p->component), "%s", comp);
	snprintf(p->sha256_hex, sizeof(p->sha256_hex), "%s", sha);
	p->order = (int)json_integer_value(ord);
	snprintf(p->via, sizeof(p->via), "%s", via != NULL ? via : "");
	snprintf(p->hardware, sizeof(p->hardware), "%s", hw != NULL ? hw : "");
	return 0;
}

/* The index of component name among parts v[0..n), or -1. */
static int
part_index(const struct bundle_part *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].component, name) == 0)
			return (int)i;
	return -1;
}

/* Every via of v[0..n) names a part: following the relays from any part
 * must end within n hops, or they form a cycle. */
static int
parts_acyclic(const struct bundle_part *v, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		size_t hops = 0, k = i;

		while (v[k].via[0] != '\0' && hops <= n) {
			k = (size_t)part_index(v, n, v[k].via);
			hops++;
		}
		if (hops > n) {
			bundle_err(err, errlen,
			    "parts[%zu].via: '%s' relays back to '%s' (a "
			    "cycle)",
			    i, v[i].via, v[i].component);
			return OTA_EINVAL;
		}
	}
	return 0;
}

/* The rules between parts: unique components and orders, vias that name
 * another part and never come back round. */
static int
parts_relations(const struct bundle_part *v, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int j = part_index(v, i, v[i].component);

		if (j >= 0) {
			bundle_err(err, errlen,
			    "parts[%zu].component: '%s' named twice "
			    "(parts[%d])",
			    i, v[i].component, j);
			return OTA_EINVAL;
		}
		for (size_t m = 0; m < i; m++)
			if (v[m].order == v[i].order) {
				bundle_err(err, errlen,
				    "parts[%zu].order: %d repeats "
				    "parts[%zu].order",
				    i, v[i].order, m);
				return OTA_EINVAL;
			}
		if (v[i].via[0] == '\0')
			continue;
		if (part_index(v, n, v[i].via) < 0) {
			bundle_err(err, errlen,
			    "parts[%zu].via: no part for component '%s'", i,
			    v[i].via);
			return OTA_EINVAL;
		}
	}
	return parts_acyclic(v, n, err, errlen);
}

static int
part_cmp(const void *a, const void *b)
{
	const struct bundle_part *x = a, *y = b;

	return (x->order > y->order) - (x->order < y->order);
}

/* The fields of root into d (parts in install order). */
static int
bundle_fields(
    const json_t *root, struct bundle_descriptor *d, char *err, size_t errlen)
{
	const char *name, *ver;
	const json_t *parts;
	int bad = 0, rc;
	size_t i;

	name = get_string(root, "name", &bad);
	if (bad || name == NULL || !name_ok(name)) {
		bundle_err(err, errlen,
		    "field 'name': must be 1..%d characters of [A-Za-z0-9._-] "
		    "starting with a letter or digit",
		    DESCRIPTOR_NAME_MAX);
		return OTA_EINVAL;
	}
	ver = get_string(root, "version", &bad);
	if (bad || ver == NULL || semver_check(ver, strlen(ver)) != 0) {
		bundle_err(err, errlen,
		    "field 'version': must be a SemVer 2.0 version");
		return OTA_EINVAL;
	}
	parts = json_object_get(root, "parts");
	if (!json_is_array(parts) || json_array_size(parts) < 1 ||
	    json_array_size(parts) > BUNDLE_PARTS_MAX) {
		bundle_err(err, errlen,
		    "field 'parts': must be an array of 1..%d parts",
		    BUNDLE_PARTS_MAX);
		return OTA_EINVAL;
	}
	for (i = 0; i < json_array_size(parts); i++)
		if ((rc = part_fields(json_array_get(parts, i), i, &d->parts[i],
		         err, errlen)) != 0)
			return rc;
	d->part_count = i;
	if ((rc = parts_relations(d->parts, i, err, errlen)) != 0)
		return rc;
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->version, sizeof(d->version), "%s", ver);
	qsort(d->parts, d->part_count, sizeof(d->parts[0]), part_cmp);
	return 0;
}

int
bundle_parse(const unsigned char *buf, size_t len,
    struct bundle_descriptor *out, char *err, size_t errlen)
{
	struct bundle_descriptor d;
	json_error_t jerr;
	json_t *root = NULL;
	int rc = OTA_EINVAL;

	memset(&d, 0, sizeof(d));
	bundle_err(err, errlen, "%s", "");
	if (buf == NULL || len == 0) {
		bundle_err(err, errlen, "bundle descriptor is empty");
		goto out;
	}
	if (len > BUNDLE_MAX_BYTES) {
		bundle_err(err, errlen,
		    "bundle descriptor is %zu bytes, over the %d-byte limit",
		    len, BUNDLE_MAX_BYTES);
		rc = OTA_ETOOBIG;
		goto out;
	}
	root = json_loadb((const char *)buf, len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		bundle_err(err, errlen, "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		bundle_err(err, errlen,
		    "bundle descriptor must be a JSON "
		    "object");
		goto out;
	}
	if ((rc = bundle_fields(root, &d, err, errlen)) != 0)
		goto out;
	if (out != NULL)
		*out = d;
out:
	json_decref(root);
	return rc;
}

int
bundle_part_fits(const struct bundle_part *p,
    const char (*image_hw)[DESCRIPTOR_HW_LEN_MAX + 1], size_t n, const char *hw)
{
	if (p->hardware[0] != '\0' && strcmp(p->hardware, hw) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(image_hw[i], hw) == 0)
			return 1;
	return 0;
}

const struct bundle_part *
bundle_part_find(const struct bundle_descriptor *b, const char *component)
{
	int i = part_index(b->parts, b->part_count, component);

	return i < 0 ? NULL : &b->parts[i];
}

/* Marks out unfit because of part i, with the reason. */
static void plan_unfit(struct bundle_plan *out, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
plan_unfit(struct bundle_plan *out, size_t i, const char *fmt, ...)
{
	va_list ap;

	out->verdict = BUNDLE_UNFIT;
	out->part = (int)i;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* The decision for part i against component c: 0 (out->install[i] set)
 * or -1 (out marked unfit). */
static int
plan_part(const struct bundle_part *p, const struct bundle_image_facts *f,
    const struct component *c, size_t i, struct bundle_plan *out)
{
	size_t vlen = strlen(c->version), ilen = strlen(f->version);
	int cmp;

	if (!bundle_part_fits(p, f->hardware, f->hardware_count, c->hardware)) {
		plan_unfit(out, i, "part '%s' is not for hardware '%s'",
		    p->component, c->hardware);
		return -1;
	}
	if (vlen == 0) {
		out->install[i] = 1;
		return 0;
	}
	cmp = semver_cmp(c->version, vlen, f->version, ilen);
	if (cmp > 0) {
		plan_unfit(out, i, "component '%s' runs %s, newer than %s",
		    p->component, c->version, f->version);
		return -1;
	}
	if (cmp < 0 && f->min_version != NULL && f->min_version[0] != '\0' &&
	    semver_cmp(
	        c->version, vlen, f->min_version, strlen(f->min_version)) < 0) {
		plan_unfit(out, i, "component '%s' runs %s, below %s",
		    p->component, c->version, f->min_version);
		return -1;
	}
	out->install[i] = cmp < 0;
	return 0;
}

void
bundle_plan(const struct bundle_descriptor *b,
    const struct bundle_image_facts *img, const struct component *comps,
    size_t n, struct bundle_plan *out)
{
	int any = 0;

	memset(out, 0, sizeof(*out));
	out->part = -1;
	for (size_t i = 0; i < b->part_count; i++) {
		const struct component *c =
		    components_find(comps, n, b->parts[i].component);

		if (c == NULL) {
			plan_unfit(out, i, "the device has no component '%s'",
			    b->parts[i].component);
			return;
		}
		if (plan_part(&b->parts[i], &img[i], c, i, out) != 0)
			return;
		any |= out->install[i];
	}
	out->verdict = any ? BUNDLE_OFFER : BUNDLE_CURRENT;
}
