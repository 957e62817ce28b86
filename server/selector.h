/*
 * selector: a label selector, the labels a rollout's devices must carry:
 * terms joined by commas, all of which must hold ("region=eu, model in
 * (a,b), !beta").  A compiled selector is one fixed-size value holding its
 * canonical text and the terms as offsets into it.  Pure: no I/O, no
 * globals, no allocation.
 */
#ifndef OTAD_SELECTOR_H
#define OTAD_SELECTOR_H

#include <stddef.h>
#include <stdint.h>

#define SELECTOR_TERMS_MAX 16
#define SELECTOR_VALUES_MAX 16 /* values of one "in"/"notin" list */
#define SELECTOR_KEY_MAX 64
#define SELECTOR_VALUE_MAX 256
#define SELECTOR_TEXT_MAX 1024 /* the canonical text, NUL included */

enum selector_op {
	SELECTOR_EQ,         /* key=value (also key==value) */
	SELECTOR_NE,         /* key!=value: absent or another value */
	SELECTOR_IN,         /* key in (v1,v2) */
	SELECTOR_NOTIN,      /* key notin (v1,v2): absent or none of them */
	SELECTOR_EXISTS,     /* key */
	SELECTOR_NOT_EXISTS, /* !key */
};

/* One term: its key and values as offsets and lengths into text. */
struct selector_term {
	enum selector_op op;
	uint16_t key, key_len;
	uint16_t nvals;
	uint16_t val[SELECTOR_VALUES_MAX], val_len[SELECTOR_VALUES_MAX];
};

/* n == 0: no selector, every device matches. */
struct selector {
	char text[SELECTOR_TEXT_MAX]; /* canonical, NUL-terminated */
	size_t n;
	struct selector_term t[SELECTOR_TERMS_MAX];
};

/*
 * Parses s (NUL-terminated, untrusted) into *out.  Grammar: terms
 * separated by ',', spaces allowed around every token; a term is
 * `key=value`, `key==value`, `key!=value`, `key in (v, ...)`, `key notin
 * (v, ...)`, `key` (the label exists) or `!key` (it does not).  Keys are
 * 1..SELECTOR_KEY_MAX of [A-Za-z0-9._/-], values 1..SELECTOR_VALUE_MAX of
 * [A-Za-z0-9._/:@-]; at most SELECTOR_TERMS_MAX terms and
 * SELECTOR_VALUES_MAX values a list.  "" (or only spaces) is the empty
 * selector.  The canonical text (out->text) has no spaces but the one
 * around "in"/"notin" ("region=eu,model in (a,b),!beta") and parses back
 * to the same selector.  Returns 0, or OTA_EINVAL with a one-line reason
 * starting "selector: " in err (ota_errf; err may be NULL when errlen is
 * 0); *out is written only on success.
 */
int selector_parse(
    const char *s, struct selector *out, char *err, size_t errlen);

/*
 * 1 when the labels keys[i] = vals[i] (i < n; NUL-terminated; a key given
 * twice: its first value counts) satisfy every term of sel, or sel is
 * empty or NULL; else 0.  keys and vals may be NULL when n is 0.
 */
int selector_match(const struct selector *sel, const char *const *keys,
    const char *const *vals, size_t n);

/* Labels of one device a match considers (the API's bound on a device). */
#define SELECTOR_LABELS_MAX 64

/*
 * Splits flat labels (len bytes of "key\0value\0" pairs, as
 * store_labels_flatten writes them) into keys[i], vals[i] pointing into
 * flat, for selector_match.  Returns how many pairs (at most max; a pair
 * past max, or a trailing key without its value, is not counted).
 */
size_t selector_labels_split(const char *flat, size_t len, const char **keys,
    const char **vals, size_t max);

/* selector_match of flat labels (selector_labels_split's input). */
int selector_match_flat(
    const struct selector *sel, const char *flat, size_t len);

#endif
