/*
 * json_util: jansson with otad's limits.  The depth walk is recursive but
 * bounded: jansson itself refuses input nested deeper than 2048 levels.
 */
#include "json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
json_util_check_keys(const json_t *obj, const char *const *allowed,
    const char *where, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(err, errlen, "%s%sunknown field '%.64s'",
			    where, where[0] ? ": " : "", key);
			return OTA_EINVAL;
		}
	}
	return 0;
}

int
json_util_strings(const json_t *arr, size_t max, int (*valid)(const char *),
    const char *what, const char *field, const char ***out, size_t *out_n,
    char *err, size_t errlen)
{
	const char **v = NULL;
	size_t n, i;
	json_t *item;

	*out = NULL;
	*out_n = 0;
	if (!json_is_array(arr)) {
		snprintf(
		    err, errlen, "%s: must be an array of %s", field, what);
		return OTA_EINVAL;
	}
	n = json_array_size(arr);
	if (n > max) {
		snprintf(err, errlen, "%s: at most %zu entries", field, max);
		return OTA_EINVAL;
	}
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		return OTA_ENOMEM;
	json_array_foreach(arr, i, item) {
		if (!json_is_string(item) || !valid(json_string_value(item))) {
			snprintf(
			    err, errlen, "%s[%zu]: must be %s", field, i, what);
			free(v);
			return OTA_EINVAL;
		}
		v[i] = json_string_value(item);
	}
	*out = v;
	*out_n = n;
	return 0;
}

/* The length of the valid UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0 when there is none. */
static size_t
utf8_seq_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

void
json_util_utf8_scrub(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = r;
	size_t n;

	while (*r != '\0') {
		if ((n = utf8_seq_len(r)) == 0) {
			r++;
			continue;
		}
		if (w != r)
			memmove(w, r, n);
		w += n;
		r += n;
	}
	*w = '\0';
}
