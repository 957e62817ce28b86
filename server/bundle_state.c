/*
 * bundle_state: the fold of a bundle's part statuses (bundle_state.h).
 * A rank decides: reverted over failed over the rest; completion needs
 * every part.  Versions are compared by SemVer precedence.
 */
#include "bundle_state.h"

#include <string.h>

#include "semver.h"

/* semver_cmp of a and b, or 2 when either is missing or invalid. */
static int
cmp_versions(const char *a, const char *b)
{
	size_t alen, blen;

	if (a == NULL || b == NULL)
		return 2;
	alen = strlen(a);
	blen = strlen(b);
	if (alen == 0 || semver_check(a, alen) != 0 ||
	    semver_check(b, blen) != 0)
		return 2;
	return semver_cmp(a, alen, b, blen);
}

int
bundle_state_part_current(const char *installed, const char *version)
{
	return cmp_versions(installed, version) == 0;
}

int
bundle_state_rolled_back(
    int part_completed, const char *installed, const char *version)
{
	return part_completed && cmp_versions(installed, version) < 0;
}

/* The first part of p[0..n) in status s, or -1. */
static int
first_in(const struct bundle_state_part *p, size_t n, enum update_state s)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].status == s)
			return (int)i;
	return -1;
}

void
bundle_state_fold(
    const struct bundle_state_part *p, size_t n, struct bundle_state *out)
{
	size_t done = 0, moving = 0, progressing = 0;
	int i;

	out->status = UPDATE_NONE;
	out->part = -1;
	out->result = -1;
	out->progress = -1;
	if ((i = first_in(p, n, UPDATE_REVERTED)) >= 0) {
		out->status = UPDATE_REVERTED;
		out->part = i;
		return;
	}
	if ((i = first_in(p, n, UPDATE_FAILED)) >= 0) {
		out->status = UPDATE_FAILED;
		out->part = i;
		out->result = p[i].result;
		return;
	}
	for (size_t k = 0; k < n; k++) {
		if (p[k].status == UPDATE_COMPLETED ||
		    bundle_state_part_current(p[k].installed, p[k].version))
			done++;
		if (p[k].status == UPDATE_STARTED ||
		    p[k].status == UPDATE_PROGRESS ||
		    p[k].status == UPDATE_COMPLETED)
			moving++;
		if (p[k].status == UPDATE_PROGRESS ||
		    p[k].status == UPDATE_COMPLETED)
			progressing++;
	}
	if (n > 0 && done == n) {
		out->status = UPDATE_COMPLETED;
		return;
	}
	if (moving == 0) {
		/* The device, or its user, postponed the bundle. */
		if (first_in(p, n, UPDATE_DEFERRED) >= 0)
			out->status = UPDATE_DEFERRED;
		return;
	}
	out->status = progressing > 0 ? UPDATE_PROGRESS : UPDATE_STARTED;
	out->progress = (int)(done * 100 / n);
}
