/*
 * fuzz_descriptor: descriptor_parse (server/descriptor.c), the signed
 * image descriptor an uploader sends.  Invariants of an accepted one:
 * every field within its documented bounds; descriptor_build prints it
 * and the print parses back to the same descriptor, and printing that
 * again gives the same bytes (one canonical form).  A refused one leaves
 * a NUL-terminated reason.
 */
#include <ctype.h>
#include <string.h>

#include "descriptor.h"
#include "errors.h"
#include "fuzz.h"
#include "semver.h"

/* The documented bounds of an accepted descriptor. */
static void
check_bounds(const struct ota_descriptor *d)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strnlen(d->name, sizeof(d->name));

	FUZZ_CHECK(n >= 1 && n <= DESCRIPTOR_NAME_MAX);
	FUZZ_CHECK(isalnum((unsigned char)d->name[0]));
	n = strnlen(d->version, sizeof(d->version));
	FUZZ_CHECK(n < sizeof(d->version) && semver_check(d->version, n) == 0);
	n = strnlen(d->min_version, sizeof(d->min_version));
	FUZZ_CHECK(n < sizeof(d->min_version));
	FUZZ_CHECK(n == 0 || semver_check(d->min_version, n) == 0);
	FUZZ_CHECK(
	    d->hardware_count >= 1 && d->hardware_count <= DESCRIPTOR_HW_MAX);
	for (size_t i = 0; i < d->hardware_count; i++) {
		FUZZ_CHECK(strnlen(d->hardware[i], sizeof(d->hardware[i])) <
		           sizeof(d->hardware[i]));
		FUZZ_CHECK(descriptor_hardware_valid(d->hardware[i]));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(d->hardware[i], d->hardware[j]) != 0);
	}
	FUZZ_CHECK(d->size >= 1);
	FUZZ_CHECK(strnlen(d->sha256_hex, sizeof(d->sha256_hex)) == 64);
	for (size_t i = 0; i < 32; i++) {
		FUZZ_CHECK(d->sha256_hex[2 * i] == hex[d->sha256[i] >> 4]);
		FUZZ_CHECK(d->sha256_hex[2 * i + 1] == hex[d->sha256[i] & 15]);
	}
	FUZZ_CHECK(!d->has_security_counter ||
	           d->security_counter <= ((uint64_t)1 << 53));
	n = strnlen(d->filename, sizeof(d->filename));
	FUZZ_CHECK(n <= DESCRIPTOR_FILENAME_MAX);
	FUZZ_CHECK(memchr(d->filename, '/', n) == NULL);
	FUZZ_CHECK(memchr(d->filename, '\\', n) == NULL);
	FUZZ_CHECK(strcmp(d->filename, ".") != 0);
	FUZZ_CHECK(strcmp(d->filename, "..") != 0);
}

/* Field by field: the struct may have padding. */
static int
same_descriptor(const struct ota_descriptor *a, const struct ota_descriptor *b)
{
	if (strcmp(a->name, b->name) != 0 ||
	    strcmp(a->version, b->version) != 0 ||
	    a->hardware_count != b->hardware_count || a->size != b->size ||
	    memcmp(a->sha256, b->sha256, 32) != 0 ||
	    strcmp(a->sha256_hex, b->sha256_hex) != 0 ||
	    strcmp(a->min_version, b->min_version) != 0 ||
	    a->has_security_counter != b->has_security_counter ||
	    (a->has_security_counter &&
	        a->security_counter != b->security_counter) ||
	    strcmp(a->filename, b->filename) != 0)
		return 0;
	for (size_t i = 0; i < a->hardware_count; i++)
		if (strcmp(a->hardware[i], b->hardware[i]) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_descriptor d, d2;
	unsigned char *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	char err[160];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = descriptor_parse(data, size, &d, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc == OTA_EINVAL || rc == OTA_ETOOBIG);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		FUZZ_CHECK(rc != OTA_ETOOBIG || size > DESCRIPTOR_MAX_BYTES);
		return 0;
	}
	FUZZ_CHECK(size >= 1 && size <= DESCRIPTOR_MAX_BYTES);
	check_bounds(&d);
	rc = descriptor_build(&d, &buf, &len, err, sizeof(err));
	/* An accepted descriptor with many unknown fields may be near the
	 * limit; its canonical print has none of them and no white space. */
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(len >= 1 && len <= DESCRIPTOR_MAX_BYTES);
	FUZZ_CHECK(descriptor_parse(buf, len, &d2, err, sizeof(err)) == 0);
	FUZZ_CHECK(same_descriptor(&d, &d2));
	FUZZ_CHECK(descriptor_build(&d2, &buf2, &len2, err, sizeof(err)) == 0);
	FUZZ_CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
	free(buf);
	free(buf2);
	return 0;
}
