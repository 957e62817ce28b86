/*
 * descriptor: the signed image descriptor, a small JSON object that the
 * release team signs over its exact bytes.  Parsing is pure (no I/O) and
 * strict about the fields otad relies on; unknown fields are allowed and
 * kept (they are part of the signed bytes, which otad stores verbatim).
 *
 *   {"name":"sensor-fw","version":"1.4.0","hardware":["revA","revB"],
 *    "size":123456,"sha256":"<64 lowercase hex>",
 *    "min_version":"1.2.0","security_counter":3,"filename":"fw.bin"}
 */
#ifndef OTAD_DESCRIPTOR_H
#define OTAD_DESCRIPTOR_H

#include <stddef.h>
#include <stdint.h>

#include "semver.h"

#define DESCRIPTOR_MAX_BYTES 1024   /* PKCS#11 EdDSA single-call limit */
#define DESCRIPTOR_NAME_MAX 64      /* [A-Za-z0-9._-], starts alnum */
#define DESCRIPTOR_HW_MAX 16        /* hardware revisions per image */
#define DESCRIPTOR_HW_LEN_MAX 64    /* [A-Za-z0-9._:-] */
#define DESCRIPTOR_FILENAME_MAX 128 /* no '/', no NUL, not "." or ".." */

struct ota_descriptor {
	char name[DESCRIPTOR_NAME_MAX + 1];
	char version[SEMVER_MAX_LEN + 1];
	char hardware[DESCRIPTOR_HW_MAX][DESCRIPTOR_HW_LEN_MAX + 1];
	size_t hardware_count; /* >= 1, no duplicates */
	uint64_t size;         /* image bytes, >= 1 */
	unsigned char sha256[32];
	char sha256_hex[65];                  /* lowercase */
	char min_version[SEMVER_MAX_LEN + 1]; /* "" when absent */
	int has_security_counter;
	uint64_t security_counter;                  /* 0..2^53 when present */
	char filename[DESCRIPTOR_FILENAME_MAX + 1]; /* "" when absent */
};

/* 1 when s is one hardware revision: 1..DESCRIPTOR_HW_LEN_MAX of
 * [A-Za-z0-9._:-] (NUL-terminated), as descriptors, devices and manifest
 * polls all spell it. */
int descriptor_hardware_valid(const char *s);

/*
 * Parses and validates buf[0..len).  len must be 1..DESCRIPTOR_MAX_BYTES,
 * the bytes one JSON object (UTF-8, nesting depth <= 4), with the fields
 * above of the right types and ranges.  On failure writes a one-line reason
 * naming the field to err (always NUL-terminated when errlen > 0) and
 * returns OTA_EINVAL (or OTA_ETOOBIG for len over the limit).
 */
int descriptor_parse(const unsigned char *buf, size_t len,
    struct ota_descriptor *out, char *err, size_t errlen);

/*
 * Serialises d as compact JSON (keys in the order above, optional ones only
 * when set), validates the result with descriptor_parse, and returns it in a
 * new malloc'd buffer (*out_buf, caller frees) of *out_len bytes, without a
 * trailing NUL or newline.  Returns 0, OTA_EINVAL (err says why),
 * OTA_ETOOBIG or OTA_ENOMEM.
 */
int descriptor_build(const struct ota_descriptor *d, unsigned char **out_buf,
    size_t *out_len, char *err, size_t errlen);

#endif
