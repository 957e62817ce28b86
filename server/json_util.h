/*
 * json_util: bounded JSON parsing on top of jansson.  jansson checks
 * syntax and UTF-8; this adds the limits otad puts on untrusted input
 * (nesting depth, duplicate keys) and one error text shape.
 */
#ifndef OTAD_JSON_UTIL_H
#define OTAD_JSON_UTIL_H

#include <stddef.h>
#include <stdint.h>

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

/* A new JSON string of s, or null when s is "" (an optional text column
 * read back as ""). */
json_t *json_util_string_or_null(const char *s);

/* A percentage from basis points (1% = 100 bp), as rollouts and their
 * health show it: an integer when whole (25, not 25.0), else a real.  A
 * new reference. */
json_t *json_util_percent_bp(uint16_t bp);

/* Returns the string member key of obj (borrowed) or NULL when absent or
 * not a string. */
const char *json_util_str(const json_t *obj, const char *key);

/*
 * Checks that every key of object obj is one of allowed (a NULL-ended
 * list).  Returns 0, or OTA_EINVAL with "<where>: unknown field 'k'" in
 * err (where may be "").
 */
int json_util_check_keys(const json_t *obj, const char *const *allowed,
    const char *where, char *err, size_t errlen);

/*
 * Reads arr as an array of at most max strings that each pass valid.
 * Returns 0 and in *out a new array (free() it, NULL when empty) of
 * pointers borrowed from arr, or OTA_EINVAL with "<field>[i]: must be
 * <what>" (or the array-level reason) in err, or OTA_ENOMEM.
 */
int json_util_strings(const json_t *arr, size_t max, int (*valid)(const char *),
    const char *what, const char *field, const char ***out, size_t *out_n,
    char *err, size_t errlen);

/*
 * Removes in place every byte of s that is not part of a valid UTF-8
 * sequence, so that jansson accepts s as a string.  Messages built with
 * "%.64s" or a bounded snprintf can cut a multi-byte character of the
 * client's input in two; without this their JSON reply cannot be built.
 */
void json_util_utf8_scrub(char *s);

/*
 * For clients known to build JSON by hand (SWUpdate's DDI feedback):
 * copies buf[0..len) to a new buffer *out (caller frees; NUL-terminated,
 * *out_len bytes without the NUL) in which every raw control byte
 * (0x01..0x1f) inside a JSON string is written as its escape (\n, \t,
 * \r, \b, \f or \u00XX) and every byte inside a string that is not
 * part of valid UTF-8 (checked byte by byte: one U+FFFD per byte of a
 * broken sequence) becomes U+FFFD, so jansson then parses what the
 * client meant.  A raw NUL inside a string also becomes U+FFFD: jansson
 * refuses "\u0000" unless JSON_ALLOW_NUL.  The byte after a backslash
 * is copied as it is (escapes stay intact; a bad one stays bad).  Bytes
 * outside strings are copied unchanged (jansson still judges them).
 * Never reads past buf[len).  The copy is at most 6 * len + 1 bytes
 * (reserved while working, then shrunk): bounded by the body limit the
 * caller already applied.  Returns 0 or OTA_ENOMEM.
 */
int json_util_repair_strings(
    const char *buf, size_t len, char **out, size_t *out_len);

#endif
