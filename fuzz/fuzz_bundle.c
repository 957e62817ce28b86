/*
 * fuzz_bundle: bundle_parse (server/bundles.c), the signed bundle
 * descriptor an uploader sends.  Invariants of an accepted one: name,
 * version and every part within their bounds; components distinct,
 * orders distinct and ascending (install order); every via names another
 * part and following the relays from any part ends.  A refused one leaves
 * a NUL-terminated reason, OTA_ETOOBIG only past the byte limit.  The
 * per-part decision on an accepted one (components and versions drawn
 * from the input's bytes): an offer installs some part, a current device
 * none, and an unfit one names its part with a reason.
 */
#include <stdio.h>
#include <string.h>

#include "bundles.h"
#include "errors.h"
#include "fuzz.h"
#include "semver.h"

static void
check_part(const struct bundle_descriptor *b, size_t i)
{
	const struct bundle_part *p = &b->parts[i];
	size_t n, hops = 0;
	const struct bundle_part *k = p;

	FUZZ_CHECK(components_name_valid(p->component));
	FUZZ_CHECK(strnlen(p->sha256_hex, sizeof(p->sha256_hex)) == 64);
	for (n = 0; n < 64; n++)
		FUZZ_CHECK(
		    strchr("0123456789abcdef", p->sha256_hex[n]) != NULL);
	FUZZ_CHECK(p->order >= 1 && p->order <= BUNDLE_ORDER_MAX);
	FUZZ_CHECK(i == 0 || b->parts[i - 1].order < p->order);
	FUZZ_CHECK(
	    p->hardware[0] == '\0' || descriptor_hardware_valid(p->hardware));
	for (n = 0; n < i; n++)
		FUZZ_CHECK(strcmp(b->parts[n].component, p->component) != 0);
	while (k->via[0] != '\0') {
		FUZZ_CHECK(strcmp(k->via, k->component) != 0);
		k = bundle_part_find(b, k->via);
		FUZZ_CHECK(k != NULL);
		FUZZ_CHECK(++hops <= b->part_count);
	}
}

/* bundle_plan on b, for a device whose components and versions the
 * input's bytes choose. */
static void
check_plan(const struct bundle_descriptor *b, const uint8_t *data, size_t size)
{
	static const char *const ver[4] = {"", "1.0.0", "2.0.0", "3.0.0-rc.1"};
	static const char hw[1][DESCRIPTOR_HW_LEN_MAX + 1] = {"revA"};
	struct bundle_image_facts img[BUNDLE_PARTS_MAX];
	struct component comps[BUNDLE_PARTS_MAX];
	struct bundle_plan p;
	size_t n = 0;
	int any = 0;

	memset(comps, 0, sizeof(comps));
	for (size_t i = 0; i < b->part_count; i++) {
		uint8_t x = data[i % size];

		img[i] = (struct bundle_image_facts){
		    ver[1 + (x & 1)], (x & 2) ? "1.0.0" : "", hw, 1};
		if (x & 4) /* the device lacks this component */
			continue;
		snprintf(comps[n].name, sizeof(comps[n].name), "%s",
		    b->parts[i].component);
		snprintf(comps[n].hardware, sizeof(comps[n].hardware), "%s",
		    (x & 8) ? "revB" : "revA");
		snprintf(comps[n].version, sizeof(comps[n].version), "%s",
		    ver[(x >> 4) & 3]);
		n++;
	}
	bundle_plan(b, img, comps, n, &p);
	for (size_t i = 0; i < b->part_count; i++)
		any |= p.install[i];
	if (p.verdict == BUNDLE_OFFER)
		FUZZ_CHECK(any && p.part == -1);
	else if (p.verdict == BUNDLE_CURRENT)
		FUZZ_CHECK(!any && p.part == -1);
	else
		FUZZ_CHECK(p.part >= 0 && (size_t)p.part < b->part_count &&
		           p.reason[0] != '\0' &&
		           fuzz_terminated(p.reason, sizeof(p.reason)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_descriptor b;
	char err[160];
	size_t n;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = bundle_parse(data, size, &b, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc == OTA_EINVAL || rc == OTA_ETOOBIG);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		FUZZ_CHECK(rc != OTA_ETOOBIG || size > BUNDLE_MAX_BYTES);
		return 0;
	}
	FUZZ_CHECK(size >= 1 && size <= BUNDLE_MAX_BYTES);
	n = strnlen(b.name, sizeof(b.name));
	FUZZ_CHECK(n >= 1 && n <= DESCRIPTOR_NAME_MAX);
	n = strnlen(b.version, sizeof(b.version));
	FUZZ_CHECK(n < sizeof(b.version) && semver_check(b.version, n) == 0);
	FUZZ_CHECK(b.part_count >= 1 && b.part_count <= BUNDLE_PARTS_MAX);
	for (size_t i = 0; i < b.part_count; i++)
		check_part(&b, i);
	check_plan(&b, data, size);
	return 0;
}
