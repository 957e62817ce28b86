/*
 * selector: a hand-written scanner over the selector text that writes the
 * canonical text as it goes, so a term's key and values are offsets into
 * one buffer and the compiled selector needs no allocation.
 */
#include "selector.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

/* The parser's state: the input position, the selector being built. */
struct scan {
	const char *p;
	struct selector *sel;
	size_t used; /* bytes of sel->text in use, NUL excluded */
	char *err;
	size_t errlen;
};

static int
is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
	       c == '-';
}

static int
is_value_char(char c)
{
	return is_key_char(c) || c == ':' || c == '@';
}

static void
skip_spaces(struct scan *sc)
{
	while (*sc->p == ' ')
		sc->p++;
}

/* Appends s[0..len) to the canonical text; *out_off gets its offset. */
static int
emit(struct scan *sc, const char *s, size_t len, uint16_t *out_off)
{
	if (sc->used + len >= SELECTOR_TEXT_MAX) {
		ota_errf(sc->err, sc->errlen,
		    "selector: too long (at most %d bytes as written "
		    "without spaces)",
		    SELECTOR_TEXT_MAX - 1);
		return OTA_EINVAL;
	}
	if (out_off != NULL)
		*out_off = (uint16_t)sc->used;
	memcpy(sc->sel->text + sc->used, s, len);
	sc->used += len;
	sc->sel->text[sc->used] = '\0';
	return 0;
}

/* Reads a token of is_ok characters, 1..max bytes, into the text. */
static int
token(struct scan *sc, int (*is_ok)(char), size_t max, uint16_t *off,
    uint16_t *len, const char *what)
{
	size_t n = 0;

	skip_spaces(sc);
	while (is_ok(sc->p[n]))
		n++;
	if (n == 0 || n > max) {
		ota_errf(sc->err, sc->errlen,
		    "selector: term %zu: want a %s of 1..%zu characters of "
		    "%s",
		    sc->sel->n + 1, what, max,
		    is_ok == is_key_char ? "[A-Za-z0-9._/-]"
		                         : "[A-Za-z0-9._/:@-]");
		return OTA_EINVAL;
	}
	*len = (uint16_t)n;
	if (emit(sc, sc->p, n, off) != 0)
		return OTA_EINVAL;
	sc->p += n;
	return 0;
}

/* 1 when the input is at word w followed by a space or '('. */
static int
at_word(const struct scan *sc, const char *w)
{
	size_t n = strlen(w);

	return strncmp(sc->p, w, n) == 0 &&
	       (sc->p[n] == ' ' || sc->p[n] == '(');
}

/* Reads "(v1, v2, ...)" into term t. */
static int
value_list(struct scan *sc, struct selector_term *t)
{
	skip_spaces(sc);
	if (*sc->p != '(')
		goto bad;
	sc->p++;
	if (emit(sc, "(", 1, NULL) != 0)
		return OTA_EINVAL;
	for (;;) {
		if (t->nvals == SELECTOR_VALUES_MAX) {
			ota_errf(sc->err, sc->errlen,
			    "selector: term %zu: at most %d values",
			    sc->sel->n + 1, SELECTOR_VALUES_MAX);
			return OTA_EINVAL;
		}
		if (token(sc, is_value_char, SELECTOR_VALUE_MAX,
		        &t->val[t->nvals], &t->val_len[t->nvals], "value") != 0)
			return OTA_EINVAL;
		t->nvals++;
		skip_spaces(sc);
		if (*sc->p == ')')
			break;
		if (*sc->p != ',')
			goto bad;
		sc->p++;
		if (emit(sc, ",", 1, NULL) != 0)
			return OTA_EINVAL;
	}
	sc->p++;
	return emit(sc, ")", 1, NULL);
bad:
	ota_errf(sc->err, sc->errlen,
	    "selector: term %zu: want a list of values, e.g. (a,b)",
	    sc->sel->n + 1);
	return OTA_EINVAL;
}

/* Reads what follows a term's key: its operator and values. */
static int
term_rest(struct scan *sc, struct selector_term *t)
{
	skip_spaces(sc);
	if (sc->p[0] == '!' && sc->p[1] == '=') {
		t->op = SELECTOR_NE;
		sc->p += 2;
	} else if (sc->p[0] == '=') {
		t->op = SELECTOR_EQ;
		sc->p += sc->p[1] == '=' ? 2 : 1;
	} else if (at_word(sc, "in") || at_word(sc, "notin")) {
		t->op = sc->p[0] == 'i' ? SELECTOR_IN : SELECTOR_NOTIN;
		sc->p += t->op == SELECTOR_IN ? 2 : 5;
		if (emit(sc, t->op == SELECTOR_IN ? " in " : " notin ",
		        t->op == SELECTOR_IN ? 4 : 7, NULL) != 0)
			return OTA_EINVAL;
		return value_list(sc, t);
	} else {
		t->op = SELECTOR_EXISTS;
		return 0;
	}
	if (emit(sc, t->op == SELECTOR_NE ? "!=" : "=",
	        t->op == SELECTOR_NE ? 2 : 1, NULL) != 0)
		return OTA_EINVAL;
	t->nvals = 1;
	return token(sc, is_value_char, SELECTOR_VALUE_MAX, &t->val[0],
	    &t->val_len[0], "value");
}

/* Reads one term into sel->t[sel->n]. */
static int
term(struct scan *sc)
{
	struct selector_term *t = &sc->sel->t[sc->sel->n];

	memset(t, 0, sizeof(*t));
	skip_spaces(sc);
	if (*sc->p == '!') {
		sc->p++;
		if (emit(sc, "!", 1, NULL) != 0)
			return OTA_EINVAL;
		t->op = SELECTOR_NOT_EXISTS;
		return token(sc, is_key_char, SELECTOR_KEY_MAX, &t->key,
		    &t->key_len, "label key");
	}
	if (token(sc, is_key_char, SELECTOR_KEY_MAX, &t->key, &t->key_len,
	        "label key") != 0)
		return OTA_EINVAL;
	return term_rest(sc, t);
}

/* Says which character ended the terms early: printable ASCII as
 * itself, any other byte in hex (the reason goes into JSON replies). */
static void
unexpected(const struct scan *sc)
{
	unsigned char c = (unsigned char)*sc->p;
	char what[8];

	if (c > 0x20 && c < 0x7f)
		snprintf(what, sizeof(what), "'%c'", c);
	else
		snprintf(what, sizeof(what), "0x%02x", c);
	ota_errf(sc->err, sc->errlen,
	    "selector: term %zu: unexpected %s; terms are key=v, key!=v, "
	    "key in (a,b), key notin (a,b), key or !key, joined by ','",
	    sc->sel->n + (c == ',' ? 1 : 0), what);
}

int
selector_parse(const char *s, struct selector *out, char *err, size_t errlen)
{
	struct selector sel;
	struct scan sc = {s, &sel, 0, err, errlen};

	memset(&sel, 0, sizeof(sel));
	if (s == NULL || out == NULL) {
		ota_errf(err, errlen, "selector: missing");
		return OTA_EINVAL;
	}
	skip_spaces(&sc);
	while (*sc.p != '\0') {
		if (sel.n == SELECTOR_TERMS_MAX) {
			ota_errf(err, errlen, "selector: at most %d terms",
			    SELECTOR_TERMS_MAX);
			return OTA_EINVAL;
		}
		if (sel.n > 0 && emit(&sc, ",", 1, NULL) != 0)
			return OTA_EINVAL;
		if (term(&sc) != 0)
			return OTA_EINVAL;
		sel.n++;
		skip_spaces(&sc);
		if (*sc.p == ',' && sc.p[1 + strspn(sc.p + 1, " ")] != '\0') {
			sc.p++;
			continue;
		}
		if (*sc.p != '\0') {
			unexpected(&sc);
			return OTA_EINVAL;
		}
	}
	*out = sel;
	return 0;
}

/* The value of key k[0..klen) among the labels, or NULL. */
static const char *
label(const char *k, size_t klen, const char *const *keys,
    const char *const *vals, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(keys[i]) == klen && memcmp(keys[i], k, klen) == 0)
			return vals[i];
	return NULL;
}

/* 1 when v is one of t's values. */
static int
among(const struct selector *sel, const struct selector_term *t, const char *v)
{
	size_t vlen = strlen(v);

	for (size_t i = 0; i < t->nvals && i < SELECTOR_VALUES_MAX; i++)
		if (t->val_len[i] == vlen &&
		    memcmp(sel->text + t->val[i], v, vlen) == 0)
			return 1;
	return 0;
}

int
selector_match(const struct selector *sel, const char *const *keys,
    const char *const *vals, size_t n)
{
	for (size_t i = 0; sel != NULL && i < sel->n && i < SELECTOR_TERMS_MAX;
	     i++) {
		const struct selector_term *t = &sel->t[i];
		const char *v =
		    label(sel->text + t->key, t->key_len, keys, vals, n);
		int ok;

		switch (t->op) {
		case SELECTOR_EQ:
		case SELECTOR_IN:
			ok = v != NULL && among(sel, t, v);
			break;
		case SELECTOR_NE:
		case SELECTOR_NOTIN:
			ok = v == NULL || !among(sel, t, v);
			break;
		case SELECTOR_EXISTS:
			ok = v != NULL;
			break;
		default:
			ok = v == NULL;
			break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

size_t
selector_labels_split(const char *flat, size_t len, const char **keys,
    const char **vals, size_t max)
{
	size_t n = 0, i = 0;

	while (n < max && i < len) {
		const char *k = flat + i, *v;
		const char *ke = memchr(k, '\0', len - i), *ve;

		if (ke == NULL || (size_t)(ke - flat) + 1 >= len)
			break;
		v = ke + 1;
		if ((ve = memchr(v, '\0', len - (size_t)(v - flat))) == NULL)
			break;
		keys[n] = k;
		vals[n++] = v;
		i = (size_t)(ve - flat) + 1;
	}
	return n;
}

int
selector_match_flat(const struct selector *sel, const char *flat, size_t len)
{
	const char *keys[SELECTOR_LABELS_MAX], *vals[SELECTOR_LABELS_MAX];
	size_t n;

	if (sel == NULL || sel->n == 0)
		return 1;
	n = selector_labels_split(flat, len, keys, vals, SELECTOR_LABELS_MAX);
	return selector_match(sel, keys, vals, n);
}
