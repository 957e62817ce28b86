/*
 * fuzz_semver_range: semver_range_parse, semver_range_match and
 * semver_range_format (server/semver_range.c), the from-version range a
 * rollout's creator sends.  The input is a range, '\n', then a version,
 * each copied into a heap string of its exact length plus the NUL.
 * Invariants: a refusal says why, starting "from_version: "; an accepted
 * range has 0..SEMVER_RANGE_MAX comparators of valid versions, its
 * canonical text fits and parses back to the same text and the same
 * answers; a non-empty range never matches what is not a version, and a
 * match satisfies every comparator (checked against semver_cmp).
 */
#include <string.h>

#include "fuzz.h"
#include "semver_range.h"

/* A heap copy of s[0..len) with a NUL after it. */
static char *
str_copy(const uint8_t *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* 1 when version v (valid) satisfies comparator c, by semver_cmp. */
static int
holds(const struct semver_range_cmp *c, const char *v)
{
	int k = semver_cmp(v, strlen(v), c->version, strlen(c->version));

	switch (c->op) {
	case SEMVER_RANGE_GE:
		return k >= 0;
	case SEMVER_RANGE_GT:
		return k > 0;
	case SEMVER_RANGE_LE:
		return k <= 0;
	case SEMVER_RANGE_LT:
		return k < 0;
	default:
		return k == 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t rlen = nl != NULL ? (size_t)(nl - data) : size;
	char *range = str_copy(data, rlen), *ver = NULL;
	char err[256], text[SEMVER_RANGE_TEXT_MAX],
	    again_text[SEMVER_RANGE_TEXT_MAX];
	struct semver_range r, again;
	int valid_ver, m;

	if (range == NULL)
		return 0;
	ver =
	    nl != NULL ? str_copy(nl + 1, size - rlen - 1) : str_copy(data, 0);
	if (ver == NULL)
		goto out;
	if (semver_range_parse(range, &r, err, sizeof(err)) != 0) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		FUZZ_CHECK(strncmp(err, "from_version: ", 14) == 0);
		goto out;
	}
	FUZZ_CHECK(r.n <= SEMVER_RANGE_MAX);
	for (size_t i = 0; i < r.n; i++)
		FUZZ_CHECK(
		    semver_check(r.c[i].version, strlen(r.c[i].version)) == 0);
	semver_range_format(&r, text, sizeof(text));
	FUZZ_CHECK(strlen(text) < sizeof(text) - 1 || r.n == SEMVER_RANGE_MAX);
	FUZZ_CHECK(semver_range_parse(text, &again, NULL, 0) == 0);
	semver_range_format(&again, again_text, sizeof(again_text));
	FUZZ_CHECK(strcmp(text, again_text) == 0);
	FUZZ_CHECK(again.n == r.n);
	valid_ver = semver_check(ver, strlen(ver)) == 0;
	m = semver_range_match(&r, ver);
	FUZZ_CHECK(m == semver_range_match(&again, ver));
	if (r.n == 0)
		FUZZ_CHECK(m == 1);
	else if (!valid_ver)
		FUZZ_CHECK(m == 0);
	else {
		int all = 1;

		for (size_t i = 0; i < r.n; i++)
			all &= holds(&r.c[i], ver);
		FUZZ_CHECK(m == all);
	}
out:
	free(range);
	free(ver);
	return 0;
}
