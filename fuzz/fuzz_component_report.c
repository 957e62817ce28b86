/*
 * fuzz_component_report: components_report_parse and
 * components_report_apply (server/components.c), the component=NAME:VERSION
 * values a polling device sends.  The input is split at '\n' into up to
 * COMPONENTS_REPORT_MAX reports, each copied into a heap string of its
 * exact length plus the NUL.  Invariants: an accepted report has a valid
 * name and a valid SemVer version and prints back ("NAME:VERSION") to
 * the input; a refusal says why, starting "component"; applying the
 * accepted reports to a device's components changes only versions of
 * components they name, to the version the last report of that name
 * gives, and applying them again changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components.h"
#include "fuzz.h"

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

/* Checks one report s: returns 1 and *out when accepted. */
static int
one_report(const char *s, struct component *out)
{
	char err[160] = "", back[COMPONENT_NAME_MAX + SEMVER_MAX_LEN + 4];

	if (components_report_parse(s, out, err, sizeof(err)) != 0) {
		FUZZ_CHECK(strncmp(err, "component", 9) == 0);
		return 0;
	}
	FUZZ_CHECK(components_name_valid(out->name));
	FUZZ_CHECK(semver_check(out->version, strlen(out->version)) == 0);
	FUZZ_CHECK(out->hardware[0] == '\0');
	snprintf(back, sizeof(back), "%s:%s", out->name, out->version);
	FUZZ_CHECK(strcmp(back, s) == 0);
	return 1;
}

/* Applies rep[0..n) to a device of three components and checks it. */
static void
check_apply(const struct component *rep, size_t n)
{
	static const char *const names[] = {"mcu", "ncp", "hub"};
	struct component dev[3], before[3];

	memset(dev, 0, sizeof(dev));
	for (size_t i = 0; i < 3; i++) {
		strcpy(dev[i].name, names[i]);
		strcpy(dev[i].hardware, "hw");
		strcpy(dev[i].version, "1.0.0");
	}
	memcpy(before, dev, sizeof(dev));
	components_report_apply(dev, 3, rep, n);
	for (size_t i = 0; i < 3; i++) {
		const char *want = before[i].version;

		for (size_t k = 0; k < n; k++)
			if (strcmp(rep[k].name, dev[i].name) == 0)
				want = rep[k].version;
		FUZZ_CHECK(strcmp(dev[i].version, want) == 0);
		FUZZ_CHECK(strcmp(dev[i].name, before[i].name) == 0);
		FUZZ_CHECK(strcmp(dev[i].hardware, before[i].hardware) == 0);
	}
	FUZZ_CHECK(components_report_apply(dev, 3, rep, n) == 0 ||
	           n > 1); /* a name twice with two versions flips back */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct component rep[COMPONENTS_REPORT_MAX];
	size_t n = 0, at = 0;

	while (at <= size && n < COMPONENTS_REPORT_MAX) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len =
		    nl != NULL ? (size_t)(nl - (data + at)) : size - at;
		char *s = str_copy(data + at, len);

		if (s == NULL)
			return 0;
		n += (size_t)one_report(s, &rep[n]);
		free(s);
		at += len + 1;
	}
	check_apply(rep, n);
	return 0;
}
