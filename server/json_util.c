/*
 * json_util: jansson with otad's limits.  The depth walk is recursive but
 * bounded: jansson itself refuses input nested deeper than 2048 levels.
 */
#include "json_util.h"

#include <stdio.h>

#include "errors.h"

int
json_util_depth(const json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;
	int d, max = 0;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			d = json_util_depth(child);
			if (d > max)
				max = d;
		}
		return 1 + max;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			d = json_util_depth(child);
			if (d > max)
				max = d;
		}
		return 1 + max;
	}
	return 1;
}

int
json_util_load(const char *buf, size_t len, int max_depth, json_t **out,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(
	    buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (v == NULL) {
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return OTA_EINVAL;
	}
	if (json_util_depth(v) > max_depth) {
		snprintf(err, errlen, "JSON nested deeper than %d levels",
		    max_depth);
		json_decref(v);
		return OTA_EINVAL;
	}
	*out = v;
	return 0;
}

const char *
json_util_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}
