/*
 * fuzz_bundle: bundle_parse (server/bundles.c), the signed bundle
 * descriptor an uploader sends.  Invariants of an accepted one: name,
 * version and every part within their bounds; components distinct,
 * orders distinct and ascending (install order); every via names another
 * part and following the relays from any part ends.  A refused one leaves
 * a NUL-terminated reason, OTA_ETOOBIG only past the byte limit.
 */
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
	return 0;
}
