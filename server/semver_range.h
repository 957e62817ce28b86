/*
 * semver_range: a range of SemVer versions as a rollout targets the
 * installed version ("from-version"): up to SEMVER_RANGE_MAX comparators
 * separated by spaces, all of which must hold (">=1.2.0 <1.4.0").  The
 * comparison is semver_cmp's precedence.  Pure: no I/O, no globals, no
 * allocation.
 */
#ifndef OTAD_SEMVER_RANGE_H
#define OTAD_SEMVER_RANGE_H

#include <stddef.h>

#include "semver.h"

#define SEMVER_RANGE_MAX 4
/* The longest canonical text (semver_range_format), NUL included. */
#define SEMVER_RANGE_TEXT_MAX (SEMVER_RANGE_MAX * (2 + SEMVER_MAX_LEN + 1))

enum semver_range_op {
	SEMVER_RANGE_GE, /* ">=" */
	SEMVER_RANGE_GT, /* ">" */
	SEMVER_RANGE_LE, /* "<=" */
	SEMVER_RANGE_LT, /* "<" */
	SEMVER_RANGE_EQ, /* "=" or a bare version */
};

struct semver_range_cmp {
	enum semver_range_op op;
	char version[SEMVER_MAX_LEN + 1];
};

/* n == 0: no range, every version matches. */
struct semver_range {
	size_t n;
	struct semver_range_cmp c[SEMVER_RANGE_MAX];
};

/*
 * Parses s (NUL-terminated, untrusted) into *out: 0 to SEMVER_RANGE_MAX
 * comparators separated by one or more spaces (leading and trailing
 * spaces allowed; "" or only spaces is the empty range), each an operator
 * (>=, >, <=, <, = or none, meaning =) directly followed by a valid SemVer
 * version.  A range that no version can match because of two of its
 * comparators (">=2.0.0 <1.0.0", ">1.0.0 <=1.0.0") is refused.  Returns 0,
 * or OTA_EINVAL with a one-line reason starting "from_version: " in err
 * (ota_errf; err may be NULL when errlen is 0); *out is written only on
 * success.
 */
int semver_range_parse(
    const char *s, struct semver_range *out, char *err, size_t errlen);

/*
 * 1 when version (NUL-terminated) is a valid SemVer version that
 * satisfies every comparator of r, or when r is empty (r NULL counts as
 * empty); else 0 (an invalid version never matches a non-empty range).
 */
int semver_range_match(const struct semver_range *r, const char *version);

/*
 * Writes r's canonical text into out[outlen] (outlen >= 1): each
 * comparator as operator and version ("=" written out), one space
 * between, "" for the empty range.  Parsing it gives r again.  Truncated
 * when outlen < SEMVER_RANGE_TEXT_MAX would be needed.
 */
void semver_range_format(
    const struct semver_range *r, char *out, size_t outlen);

#endif
