/*
 * fuzz_selector: selector_parse and selector_match (server/selector.c),
 * the label selector a rollout's creator sends.  The input is a selector,
 * then lines "key=value" of labels (at most 8), each copied into a heap
 * string.  Invariants: a refusal says why, starts "selector: " and is
 * printable ASCII (it goes into a JSON reply); an accepted selector has
 * at most SELECTOR_TERMS_MAX terms whose keys and values lie inside its
 * canonical text, which parses back to the same text and the same answer
 * on the labels; the answer agrees with a reference evaluation of each
 * term.
 */
#include <string.h>

#include "fuzz.h"
#include "selector.h"

#define LABELS 8

/* The labels' value of key k[0..klen) (the first given), or NULL. */
static const char *
lookup(
    const char *k, size_t klen, char *const *keys, char *const *vals, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(keys[i]) == klen && memcmp(keys[i], k, klen) == 0)
			return vals[i];
	return NULL;
}

/* The reference answer of term t on the labels. */
static int
reference(const struct selector *s, const struct selector_term *t,
    char *const *keys, char *const *vals, size_t n)
{
	const char *v = lookup(s->text + t->key, t->key_len, keys, vals, n);
	int in = 0;

	for (size_t i = 0; v != NULL && i < t->nvals; i++)
		in |= strlen(v) == t->val_len[i] &&
		      memcmp(s->text + t->val[i], v, t->val_len[i]) == 0;
	switch (t->op) {
	case SELECTOR_EQ:
	case SELECTOR_IN:
		return v != NULL && in;
	case SELECTOR_NE:
	case SELECTOR_NOTIN:
		return v == NULL || !in;
	case SELECTOR_EXISTS:
		return v != NULL;
	default:
		return v == NULL;
	}
}

/* Checks sel's terms lie inside its text and it answers as reference. */
static void
check_accepted(
    const struct selector *sel, char *const *keys, char *const *vals, size_t n)
{
	size_t tlen = strlen(sel->text);
	struct selector again;
	int all = 1, m;

	FUZZ_CHECK(sel->n <= SELECTOR_TERMS_MAX);
	for (size_t i = 0; i < sel->n; i++) {
		const struct selector_term *t = &sel->t[i];

		FUZZ_CHECK(t->key_len >= 1 && t->key + t->key_len <= tlen);
		FUZZ_CHECK(t->nvals <= SELECTOR_VALUES_MAX);
		for (size_t j = 0; j < t->nvals; j++)
			FUZZ_CHECK(t->val_len[j] >= 1 &&
			           t->val[j] + t->val_len[j] <= tlen);
		all &= reference(sel, t, keys, vals, n);
	}
	m = selector_match(
	    sel, (const char *const *)keys, (const char *const *)vals, n);
	FUZZ_CHECK(m == all);
	FUZZ_CHECK(selector_parse(sel->text, &again, NULL, 0) == 0);
	FUZZ_CHECK(strcmp(again.text, sel->text) == 0 && again.n == sel->n);
	FUZZ_CHECK(selector_match(&again, (const char *const *)keys,
	               (const char *const *)vals, n) == m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *lines[1 + LABELS], *keys[LABELS], *vals[LABELS], err[256];
	size_t nl = 0, start = 0, n = 0;
	struct selector *sel = malloc(sizeof(*sel));

	for (size_t i = 0; i <= size && nl < 1 + LABELS; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if ((lines[nl] = malloc(i - start + 1)) == NULL)
			goto out;
		memcpy(lines[nl], data + start, i - start);
		lines[nl++][i - start] = '\0';
		start = i + 1;
	}
	if (sel == NULL || nl == 0)
		goto out;
	for (size_t i = 1; i < nl; i++) {
		char *eq = strchr(lines[i], '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		keys[n] = lines[i];
		vals[n++] = eq + 1;
	}
	if (selector_parse(lines[0], sel, err, sizeof(err)) != 0) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		FUZZ_CHECK(strncmp(err, "selector: ", 10) == 0);
		for (const char *p = err; *p != '\0'; p++)
			FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
		goto out;
	}
	check_accepted(sel, keys, vals, n);
out:
	for (size_t i = 0; i < nl; i++)
		free(lines[i]);
	free(sel);
	return 0;
}
