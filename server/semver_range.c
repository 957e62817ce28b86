/*
 * semver_range: parsing, matching and printing of version ranges.  The
 * one rule beyond the grammar is that two comparators may not exclude
 * each other (a lower bound above an upper bound): such a range would
 * silently target nobody.
 */
#include "semver_range.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"

static const char *const op_text[] = {">=", ">", "<=", "<", "="};

/* Reads the operator at *p, advancing past it. */
static enum semver_range_op
op_read(const char **p)
{
	const char *s = *p;

	if (s[0] == '>' && s[1] == '=') {
		*p += 2;
		return SEMVER_RANGE_GE;
	}
	if (s[0] == '<' && s[1] == '=') {
		*p += 2;
		return SEMVER_RANGE_LE;
	}
	if (s[0] == '>' || s[0] == '<' || s[0] == '=')
		(*p)++;
	return s[0] == '>'   ? SEMVER_RANGE_GT
	       : s[0] == '<' ? SEMVER_RANGE_LT
	                     : SEMVER_RANGE_EQ;
}

/* 1 when c bounds from below (>=, >, =), 0 otherwise. */
static int
is_lower(enum semver_range_op op)
{
	return op == SEMVER_RANGE_GE || op == SEMVER_RANGE_GT ||
	       op == SEMVER_RANGE_EQ;
}

static int
is_upper(enum semver_range_op op)
{
	return op == SEMVER_RANGE_LE || op == SEMVER_RANGE_LT ||
	       op == SEMVER_RANGE_EQ;
}

static int
is_strict(enum semver_range_op op)
{
	return op == SEMVER_RANGE_GT || op == SEMVER_RANGE_LT;
}

/* 1 when lower bound lo and upper bound hi leave no version between. */
static int
excludes(const struct semver_range_cmp *lo, const struct semver_range_cmp *hi)
{
	int c = semver_cmp(
	    lo->version, strlen(lo->version), hi->version, strlen(hi->version));

	return c > 0 || (c == 0 && (is_strict(lo->op) || is_strict(hi->op)));
}

/* Refuses a range two of whose comparators exclude each other. */
static int
range_satisfiable(const struct semver_range *r, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->n; i++)
		for (size_t j = 0; j < r->n; j++)
			if (i != j && is_lower(r->c[i].op) &&
			    is_upper(r->c[j].op) &&
			    excludes(&r->c[i], &r->c[j])) {
				ota_errf(err, errlen,
				    "from_version: '%s%s' and '%s%s' exclude "
				    "each other: no version matches",
				    op_text[r->c[i].op], r->c[i].version,
				    op_text[r->c[j].op], r->c[j].version);
				return OTA_EINVAL;
			}
	return 0;
}

int
semver_range_parse(
    const char *s, struct semver_range *out, char *err, size_t errlen)
{
	struct semver_range r;
	const char *p = s;

	memset(&r, 0, sizeof(r));
	if (s == NULL || out == NULL) {
		ota_errf(err, errlen, "from_version: missing");
		return OTA_EINVAL;
	}
	for (;;) {
		size_t len;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (r.n == SEMVER_RANGE_MAX) {
			ota_errf(err, errlen,
			    "from_version: at most %d comparators",
			    SEMVER_RANGE_MAX);
			return OTA_EINVAL;
		}
		r.c[r.n].op = op_read(&p);
		len = strcspn(p, " ");
		if (len == 0 || len > SEMVER_MAX_LEN ||
		    semver_check(p, len) != 0) {
			ota_errf(err, errlen,
			    "from_version: comparator %zu: want an operator "
			    "(>=, >, <=, <, =) and a SemVer version, e.g. "
			    "\">=1.2.0 <1.4.0\"",
			    r.n + 1);
			return OTA_EINVAL;
		}
		memcpy(r.c[r.n].version, p, len);
		r.c[r.n].version[len] = '\0';
		r.n++;
		p += len;
	}
	if (range_satisfiable(&r, err, errlen) != 0)
		return OTA_EINVAL;
	*out = r;
	return 0;
}

int
semver_range_match(const struct semver_range *r, const char *version)
{
	size_t vlen;

	if (r == NULL || r->n == 0)
		return 1;
	if (version == NULL)
		return 0;
	vlen = strlen(version);
	if (semver_check(version, vlen) != 0)
		return 0;
	for (size_t i = 0; i < r->n && i < SEMVER_RANGE_MAX; i++) {
		const char *b = r->c[i].version;
		int c = semver_cmp(version, vlen, b, strlen(b));
		int ok;

		switch (r->c[i].op) {
		case SEMVER_RANGE_GE:
			ok = c >= 0;
			break;
		case SEMVER_RANGE_GT:
			ok = c > 0;
			break;
		case SEMVER_RANGE_LE:
			ok = c <= 0;
			break;
		case SEMVER_RANGE_LT:
			ok = c < 0;
			break;
		default:
			ok = c == 0;
			break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

void
semver_range_format(const struct semver_range *r, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; r != NULL && i < r->n && i < SEMVER_RANGE_MAX; i++) {
		int w = snprintf(out + used, outlen - used, "%s%s%s",
		    i > 0 ? " " : "", op_text[r->c[i].op], r->c[i].version);

		if (w < 0 || (size_t)w >= outlen - used)
			return;
		used += (size_t)w;
	}
}
