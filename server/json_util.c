/*
 * json_util: jansson with otad's limits.  The depth walk is recursive but
 * bounded: jansson itself refuses input nested deeper than 2048 levels.
 */
#include "json_util.h"

#include <stdint.h>
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

/* The length of the valid UTF-8 sequence at s[0..avail) (RFC 3629: no
 * overlong forms, no surrogates, at most U+10FFFF), or 0 when there is
 * none.  Reads no further than avail bytes, and stops at the first byte
 * that breaks the sequence (so a NUL-terminated s is safe with
 * avail = SIZE_MAX). */
static size_t
utf8_seq_len(const unsigned char *s, size_t avail)
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
	if (n > avail)
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
		if ((n = utf8_seq_len(r, SIZE_MAX)) == 0) {
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

/* Appends the JSON escape of control byte c (0x01..0x1f) at w; returns
 * the bytes written (2 or 6). */
static size_t
escape_control(unsigned char c, char *w)
{
	static const char hex[] = "0123456789abcdef";
	char short_form = 0;

	switch (c) {
	case '\b':
		short_form = 'b';
		break;
	case '\t':
		short_form = 't';
		break;
	case '\n':
		short_form = 'n';
		break;
	case '\f':
		short_form = 'f';
		break;
	case '\r':
		short_form = 'r';
		break;
	}
	w[0] = '\\';
	if (short_form != 0) {
		w[1] = short_form;
		return 2;
	}
	memcpy(w + 1, "u00", 3);
	w[4] = hex[c >> 4];
	w[5] = hex[c & 0xF];
	return 6;
}

int
json_util_repair_strings(
    const char *buf, size_t len, char **out, size_t *out_len)
{
	static const char fffd[] = "\xEF\xBF\xBD";
	const unsigned char *in = (const unsigned char *)buf;
	enum { OUTSIDE, IN_STRING, ESCAPE } state = OUTSIDE;
	size_t i = 0, n, w = 0;
	char *o, *shrunk;

	*out = NULL;
	*out_len = 0;
	if (len > (SIZE_MAX - 1) / 6)
		return OTA_ENOMEM;
	if ((o = malloc(6 * len + 1)) == NULL)
		return OTA_ENOMEM;
	while (i < len) {
		unsigned char c = in[i];

		if (state == OUTSIDE) {
			if (c == '"')
				state = IN_STRING;
			o[w++] = (char)c;
			i++;
		} else if (state == ESCAPE) {
			/* The escaped byte as it came: jansson judges it. */
			o[w++] = (char)c;
			i++;
			state = IN_STRING;
		} else if (c == '"' || c == '\\') {
			state = c == '"' ? OUTSIDE : ESCAPE;
			o[w++] = (char)c;
			i++;
		} else if (c == 0) {
			/* jansson refuses \u0000 (and C strings end there). */
			memcpy(o + w, fffd, 3);
			w += 3;
			i++;
		} else if (c < 0x20) {
			w += escape_control(c, o + w);
			i++;
		} else if ((n = utf8_seq_len(in + i, len - i)) == 0) {
			memcpy(o + w, fffd, 3);
			w += 3;
			i++;
		} else {
			memcpy(o + w, in + i, n);
			w += n;
			i += n;
		}
	}
	o[w] = '\0';
	/* Give back what the worst case reserved. */
	if ((shrunk = realloc(o, w + 1)) != NULL)
		o = shrunk;
	*out = o;
	*out_len = w;
	return 0;
}

json_t *
json_util_string_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

json_t *
json_util_percent_bp(uint16_t bp)
{
	if (bp % 100 == 0)
		return json_integer(bp / 100);
	return json_real(bp / 100.0);
}
