/*
 * semver: Semantic Versioning 2.0.0 validation and precedence (spec items
 * 2, 9, 10, 11).  Pure functions: no I/O, no globals, no allocation.
 * Build metadata is validated but ignored for precedence.
 */
#ifndef OTAD_SEMVER_H
#define OTAD_SEMVER_H

#include <stddef.h>

#define SEMVER_MAX_LEN 128 /* longest version string otad accepts */

/*
 * Checks that s[0..len) is a valid SemVer 2.0.0 version (no leading "v",
 * no leading zeros in numeric parts or numeric pre-release identifiers,
 * non-empty identifiers of [0-9A-Za-z-], len <= SEMVER_MAX_LEN, major/
 * minor/patch fit in 64 bits).  Returns 0 or OTA_EINVAL.
 */
int semver_check(const char *s, size_t len);

/*
 * Compares two versions by SemVer precedence.  Returns <0, 0 or >0.
 * 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta <
 * 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0; "1.0.0+a" == "1.0.0+b".
 * Invalid strings sort after all valid ones and among themselves by bytes,
 * so the function is a total order (semver_sort_key gives the same
 * order as bytes).
 */
int semver_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Room semver_sort_key needs for any valid version, NUL included. */
#define SEMVER_KEY_MAX 384

/*
 * Writes into out[outlen] a NUL-terminated printable ASCII key of the
 * valid version v (NUL-terminated) such that comparing two keys by bytes
 * (memcmp, a proper prefix first) orders the versions as semver_cmp
 * does: equal keys exactly when the precedence is equal (build metadata is
 * left out).  For a database column that sorts by bytes in place of a
 * collation.  Returns 0, OTA_EINVAL when v is not a valid version (out is
 * then ""), or OTA_ERANGE when outlen is too small (SEMVER_KEY_MAX always
 * suffices).  Pure and thread-safe.
 */
int semver_sort_key(const char *v, char *out, size_t outlen);

#endif
