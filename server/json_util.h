/*
 * json_util: bounded JSON parsing on top of jansson.  jansson checks
 * syntax and UTF-8; this adds the limits otad puts on untrusted input
 * (nesting depth, duplicate keys) and one error text shape.
 */
#ifndef OTAD_JSON_UTIL_H
#define OTAD_JSON_UTIL_H

#include <stddef.h>

#include <jansson.h>

#define JSON_UTIL_MAX_DEPTH 16

/*
 * Parses buf[0..len) as one JSON value, rejecting duplicate object keys
 * and nesting deeper than max_depth.  Returns 0 and a new reference in
 * *out (caller json_decref's), or OTA_EINVAL with a one-line reason (with
 * jansson's own text and position) in err.
 */
int json_util_load(const char *buf, size_t len, int max_depth, json_t **out,
    char *err, size_t errlen);

/* Depth of a value: 1 for scalars, 1 + deepest child for containers. */
int json_util_depth(const json_t *v);

/* Returns the string member key of obj (borrowed) or NULL when absent or
 * not a string. */
const char *json_util_str(const json_t *obj, const char *key);

#endif
