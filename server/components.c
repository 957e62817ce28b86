/*
 * components: the rules of a device's components (components.h).  Both
 * written forms end in one check (component_set), so the REST API and the
 * CSV import refuse the same things with the same words.
 */
#include "components.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "json_util.h"

static const char *const component_keys[] = {
    "name", "hardware", "version", NULL};

int
components_name_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char ch = s[n];

		if (n >= COMPONENT_NAME_MAX)
			return 0;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		        ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return n > 0;
}

const struct component *
components_find(const struct component *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/*
 * Checks name, hardware and version (NULL: not known) of entry i of field
 * and appends it to out[*n].  Returns 0 or OTA_EINVAL (reason in err).
 */
static int
component_set(const char *field, size_t i, const char *name,
    const char *hardware, const char *version, struct component *out, size_t *n,
    char *err, size_t errlen)
{
	if (*n >= COMPONENTS_MAX) {
		snprintf(err, errlen, "%s: at most %d components", field,
		    COMPONENTS_MAX);
		return OTA_EINVAL;
	}
	if (!components_name_valid(name)) {
		snprintf(err, errlen,
		    "%s[%zu].name: must be 1..%d characters of [a-z0-9._-]",
		    field, i, COMPONENT_NAME_MAX);
		return OTA_EINVAL;
	}
	if (components_find(out, *n, name) != NULL) {
		snprintf(err, errlen, "%s[%zu].name: '%s' named twice", field,
		    i, name);
		return OTA_EINVAL;
	}
	if (hardware == NULL || !descriptor_hardware_valid(hardware)) {
		snprintf(err, errlen,
		    "%s[%zu].hardware: must be 1..%d characters of "
		    "[A-Za-z0-9._:-]",
		    field, i, DESCRIPTOR_HW_LEN_MAX);
		return OTA_EINVAL;
	}
	if (version != NULL && semver_check(version, strlen(version)) != 0) {
		snprintf(err, errlen,
		    "%s[%zu].version: must be a SemVer 2.0 version", field, i);
		return OTA_EINVAL;
	}
	memset(&out[*n], 0, sizeof(out[*n]));
	snprintf(out[*n].name, sizeof(out[*n].name), "%s", name);
	snprintf(out[*n].hardware, sizeof(out[*n].hardware), "%s", hardware);
	if (version != NULL)
		snprintf(
		    out[*n].version, sizeof(out[*n].version), "%s", version);
	(*n)++;
	return 0;
}

/* The string value of key in o, NULL when absent or null; *bad is set
 * when present and not a string. */
static const char *
member_string(const json_t *o, const char *key, int *bad)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

int
components_from_json(const json_t *arr, const char *field,
    struct component out[COMPONENTS_MAX], size_t *out_n, char *err,
    size_t errlen)
{
	char where[96];
	size_t i;
	json_t *o;
	int rc;

	*out_n = 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen,
		    "%s: must be an array of {\"name\", \"hardware\", "
		    "\"version\"}",
		    field);
		return OTA_EINVAL;
	}
	json_array_foreach(arr, i, o) {
		const char *name, *hw, *ver;
		int bad = 0;

		snprintf(where, sizeof(where), "%s[%zu]", field, i);
		if (!json_is_object(o)) {
			snprintf(err, errlen, "%s: must be an object", where);
			return OTA_EINVAL;
		}
		if ((rc = json_util_check_keys(
		         o, component_keys, where, err, errlen)) != 0)
			return rc;
		name = member_string(o, "name", &bad);
		hw = member_string(o, "hardware", &bad);
		ver = member_string(o, "version", &bad);
		if (bad) {
			snprintf(err, errlen,
			    "%s: name, hardware and version "
			    "must be strings",
			    where);
			return OTA_EINVAL;
		}
		if ((rc = component_set(field, i, name, hw, ver, out, out_n,
		         err, errlen)) != 0)
			return rc;
	}
	return 0;
}

json_t *
components_to_json(const struct component *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:o}", "name", v[i].name,
		    "hardware", v[i].hardware, "version",
		    json_util_string_or_null(v[i].version));

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Copies s[0..len) trimmed of spaces and tabs into dst[dstsize]; 0, or -1
 * when it does not fit. */
static int
copy_trimmed(char *dst, size_t dstsize, const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= dstsize || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* One entry "name=hardware[@version]" (trimmed, non-empty) as entry i. */
static int
text_entry(char *e, size_t i, struct component *out, size_t *n, char *err,
    size_t errlen)
{
	char *eq = strchr(e, '='), *at;

	if (eq == NULL) {
		snprintf(err, errlen,
		    "components[%zu]: '%.64s' is not name=hardware[@version]",
		    i, e);
		return OTA_EINVAL;
	}
	*eq = '\0';
	at = strchr(eq + 1, '@');
	if (at != NULL)
		*at = '\0';
	return component_set("components", i, e, eq + 1,
	    at != NULL ? at + 1 : NULL, out, n, err, errlen);
}

int
components_from_text(const char *s, size_t len,
    struct component out[COMPONENTS_MAX], size_t *out_n, char *err,
    size_t errlen)
{
	/* name=hardware@version: the longest entry that can be valid */
	char e[COMPONENT_NAME_MAX + DESCRIPTOR_HW_LEN_MAX + SEMVER_MAX_LEN + 3];
	size_t b = 0, i = 0;
	int rc;

	*out_n = 0;
	while (b <= len) {
		const char *semi = memchr(s + b, ';', len - b);
		size_t end = semi != NULL ? (size_t)(semi - s) : len;

		if (copy_trimmed(e, sizeof(e), s + b, end - b) != 0) {
			snprintf(err, errlen, "components[%zu]: too long", i);
			return OTA_EINVAL;
		}
		if (e[0] != '\0') {
			if ((rc = text_entry(e, i, out, out_n, err, errlen)) !=
			    0)
				return rc;
			i++;
		}
		b = end + 1;
	}
	return 0;
}
