/*
 * fuzz_descriptor: descriptor_parse (server/descriptor.c), the signed
 * image descriptor an uploader sends.  Invariants of an accepted one:
 * every field within its documented bounds; descriptor_build prints it
 * and the print parses back to the same descriptor, and printing that
 * again gives the same bytes (one canonical form).  A refused one leaves
 * a NUL-terminated reason.  Its file name (and the first bytes of any
 * input, as a name) gives a Content-Disposition (server/http_download.c)
 * that fits HTTP_DOWNLOAD_CD_MAX, is printable ASCII, has no quote,
 * backslash or ';' inside its quoted name, and whose filename* decodes
 * to exactly the name (or, without one, whose quoted name is the name).
 */
#include <ctype.h>
#include <string.h>

#include "descriptor.h"
#include "errors.h"
#include "fuzz.h"
#include "http_download.h"
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

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
check_disposition(const char *name)
{
	static const char head[] = "attachment; filename=\"";
	static const char star[] = "; filename*=UTF-8''";
	char cd[HTTP_DOWNLOAD_CD_MAX], out[DESCRIPTOR_FILENAME_MAX + 1];
	const char *q, *p;
	size_t n = 0, len = strlen(name);

	FUZZ_CHECK(len <= DESCRIPTOR_FILENAME_MAX);
	FUZZ_CHECK(
	    http_download_content_disposition(name, cd, sizeof(cd)) == 0);
	for (p = cd; *p != '\0'; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	FUZZ_CHECK(strncmp(cd, head, sizeof(head) - 1) == 0);
	p = cd + sizeof(head) - 1;
	q = strchr(p, '"');
	FUZZ_CHECK(q != NULL && (size_t)(q - p) == len);
	FUZZ_CHECK(memchr(p, '\\', len) == NULL && memchr(p, ';', len) == NULL);
	if (q[1] == '\0') {
		FUZZ_CHECK(memcmp(p, name, len) == 0);
		return;
	}
	FUZZ_CHECK(strncmp(q + 1, star, sizeof(star) - 1) == 0);
	for (p = q + sizeof(star); *p != '\0'; p++) {
		int c = (unsigned char)*p;

		FUZZ_CHECK(strchr("\"\\;, ", c) == NULL);
		if (c == '%') {
			int hi = unhex(p[1]), lo = hi < 0 ? -1 : unhex(p[2]);

			FUZZ_CHECK(hi >= 0 && lo >= 0);
			c = hi * 16 + lo;
			p += 2;
		}
		FUZZ_CHECK(n < len);
		out[n++] = (char)c;
	}
	FUZZ_CHECK(n == len && memcmp(out, name, len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_descriptor d, d2;
	unsigned char *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	char err[160];
	int rc;

	{
		char name[DESCRIPTOR_FILENAME_MAX + 1];
		size_t n = size < DESCRIPTOR_FILENAME_MAX
		               ? size
		               : DESCRIPTOR_FILENAME_MAX;

		memcpy(name, data, n);
		name[n] = '\0';
		check_disposition(name);
	}
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
	if (d.filename[0] != '\0')
		check_disposition(d.filename);
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
