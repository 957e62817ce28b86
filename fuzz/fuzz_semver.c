/*
 * fuzz_semver: semver_check and semver_cmp (server/semver.c).  The input
 * is up to three versions separated by '\n', each handed over in a heap
 * buffer of its exact length (no NUL after it).  Invariants: a valid
 * version is at most SEMVER_MAX_LEN bytes; semver_cmp is a total order
 * (reflexive, antisymmetric, transitive on the triple, equality
 * consistent); valid versions sort before invalid ones; build metadata
 * does not change precedence; semver_sort_key's keys of valid versions
 * are printable and order by bytes as semver_cmp orders the versions.
 */
#include <string.h>

#include "fuzz.h"
#include "semver.h"

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

/* A heap copy of s[0..len) with nothing after it. */
static char *
exact_copy(const uint8_t *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	if (p != NULL && len > 0)
		memcpy(p, s, len);
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0}, n = 0, start = 0;
	char key[3][SEMVER_KEY_MAX];
	int valid[3], c[3][3];

	for (size_t i = 0; i <= size && n < 3; i++) {
		if (i == size || data[i] == '\n') {
			len[n] = i - start;
			v[n] = exact_copy(data + start, len[n]);
			if (v[n] == NULL)
				goto out;
			n++;
			start = i + 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		valid[i] = semver_check(v[i], len[i]) == 0;
		if (valid[i])
			FUZZ_CHECK(len[i] >= 5 && len[i] <= SEMVER_MAX_LEN);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			c[i][j] = sign(semver_cmp(v[i], len[i], v[j], len[j]));
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(c[i][i] == 0);
		for (size_t j = 0; j < n; j++) {
			FUZZ_CHECK(c[i][j] == -c[j][i]);
			if (valid[i] && !valid[j])
				FUZZ_CHECK(c[i][j] < 0);
			for (size_t k = 0; k < n; k++) {
				if (c[i][j] <= 0 && c[j][k] <= 0)
					FUZZ_CHECK(c[i][k] <= 0);
				if (c[i][j] == 0)
					FUZZ_CHECK(c[i][k] == c[j][k]);
			}
		}
	}
	/* A valid version has no NUL: its key is of a C string copy. */
	for (size_t i = 0; i < n; i++) {
		char s[SEMVER_MAX_LEN + 1];

		key[i][0] = '\0';
		if (!valid[i])
			continue;
		memcpy(s, v[i], len[i]);
		s[len[i]] = '\0';
		FUZZ_CHECK(semver_sort_key(s, key[i], sizeof(key[i])) == 0);
		for (const char *p = key[i]; *p != '\0'; p++)
			FUZZ_CHECK(*p > ' ' && *p < 0x7f);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (valid[i] && valid[j])
				FUZZ_CHECK(
				    sign(strcmp(key[i], key[j])) == c[i][j]);
	/* Without its build metadata a valid version keeps its precedence. */
	for (size_t i = 0; i < n; i++) {
		const char *plus = memchr(v[i], '+', len[i]);
		size_t core;

		if (!valid[i] || plus == NULL)
			continue;
		core = (size_t)(plus - v[i]);
		FUZZ_CHECK(semver_check(v[i], core) == 0);
		FUZZ_CHECK(semver_cmp(v[i], core, v[i], len[i]) == 0);
	}
out:
	for (size_t i = 0; i < 3; i++)
		free(v[i]);
	return 0;
}
