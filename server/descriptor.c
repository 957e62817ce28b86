/*
 * descriptor: parses, validates and builds the signed image descriptor.
 * One validator per field serves both directions, so descriptor_build can
 * never emit bytes that descriptor_parse would refuse.  Input reaches err
 * only through jansson's own message or after a field's charset check, and
 * err is always one line of printable ASCII.  Pure: no I/O, no globals.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "descriptor.h"
#include "errors.h"
#include "semver.h"
#include "names.h"

#define DESC_MAX_DEPTH 4                 /* the top-level object is 1 */
#define DESC_INT_MAX ((uint64_t)1 << 53) /* exact in an IEEE double */
/* Length of a fixed char array field, bounded so a missing NUL shows. */
#define DESC_LEN(field) strnlen((field), sizeof(field))

static void desc_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Writes one line to err (when errlen > 0), replacing anything but
 * printable ASCII so that jansson's quoted input cannot break a log line.
 */
static void
desc_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	ota_verrf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

static int
desc_is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

/* name: 1..DESCRIPTOR_NAME_MAX of [A-Za-z0-9._-], starting alnum. */
static int
desc_check_name(const char *s, size_t len, char *err, size_t errlen)
{
	int ok = len >= 1 && len <= DESCRIPTOR_NAME_MAX &&
	         desc_is_alnum((unsigned char)s[0]);

	for (size_t i = 0; ok && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		ok = desc_is_alnum(c) || c == '.' || c == '_' || c == '-';
	}
	if (!ok) {
		desc_err(err, errlen,
		    "field 'name': must be 1..%d characters of "
		    "[A-Za-z0-9._-] starting with a letter or digit",
		    DESCRIPTOR_NAME_MAX);
		return OTA_EINVAL;
	}
	return 0;
}

/* version and min_version: a SemVer 2.0.0 string semver_check accepts. */
static int
desc_check_semver(
    const char *field, const char *s, size_t len, char *err, size_t errlen)
{
	if (semver_check(s, len) != 0) {
		desc_err(err, errlen,
		    "field '%s': must be a SemVer 2.0.0 version of at most "
		    "%d bytes",
		    field, SEMVER_MAX_LEN);
		return OTA_EINVAL;
	}
	return 0;
}

/* 1 when s[0..len) is 1..DESCRIPTOR_HW_LEN_MAX of [A-Za-z0-9._:-]. */
static int
desc_hw_ok(const char *s, size_t len)
{
	return names_valid_len(s, len, DESCRIPTOR_HW_LEN_MAX, NAMES_ID_PUNCT);
}

int
descriptor_hardware_valid(const char *s)
{
	return desc_hw_ok(s, strnlen(s, DESCRIPTOR_HW_LEN_MAX + 1));
}

/* One hardware entry: 1..DESCRIPTOR_HW_LEN_MAX of [A-Za-z0-9._:-]. */
static int
desc_check_hw_entry(
    size_t idx, const char *s, size_t len, char *err, size_t errlen)
{
	if (!desc_hw_ok(s, len)) {
		desc_err(err, errlen,
		    "field 'hardware': entry %zu must be 1..%d characters of "
		    "[A-Za-z0-9._:-]",
		    idx, DESCRIPTOR_HW_LEN_MAX);
		return OTA_EINVAL;
	}
	return 0;
}

/* The hardware list as a whole: 1..DESCRIPTOR_HW_MAX distinct entries. */
static int
desc_check_hw_list(const char (*hw)[DESCRIPTOR_HW_LEN_MAX + 1], size_t n,
    char *err, size_t errlen)
{
	if (n < 1 || n > DESCRIPTOR_HW_MAX) {
		desc_err(err, errlen,
		    "field 'hardware': must be an array of 1..%d strings",
		    DESCRIPTOR_HW_MAX);
		return OTA_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(hw[i], hw[j]) == 0) {
				/* Safe to quote: the charset was checked. */
				desc_err(err, errlen,
				    "field 'hardware': duplicate entry '%s'",
				    hw[i]);
				return OTA_EINVAL;
			}
		}
	}
	return 0;
}

static int
desc_check_size(uint64_t size, char *err, size_t errlen)
{
	if (size < 1) {
		desc_err(err, errlen, "field 'size': must be an integer >= 1");
		return OTA_EINVAL;
	}
	if (size > DESC_INT_MAX) {
		desc_err(err, errlen, "field 'size': must be <= %llu",
		    (unsigned long long)DESC_INT_MAX);
		return OTA_EINVAL;
	}
	return 0;
}

static int
desc_bad_security_counter(char *err, size_t errlen)
{
	desc_err(err, errlen,
	    "field 'security_counter': must be an integer from 0 to %llu",
	    (unsigned long long)DESC_INT_MAX);
	return OTA_EINVAL;
}

/* sha256: exactly 64 hex digits of either case, decoded into out. */
static int
desc_decode_sha256(
    const char *s, size_t len, unsigned char out[32], char *err, size_t errlen)
{
	const char *end = NULL;
	size_t n = 0;

	/* No ignored characters: 64 digits and nothing else. */
	if (len == 64 && sodium_hex2bin(out, 32, s, len, NULL, &n, &end) == 0 &&
	    n == 32 && end == s + len)
		return 0;
	desc_err(err, errlen,
	    "field 'sha256': must be exactly 64 hexadecimal characters");
	return OTA_EINVAL;
}

/*
 * Decodes one UTF-8 sequence at s[*pos..len) into *out_cp, refusing
 * overlong forms, surrogates and code points above U+10FFFF.
 */
static int
desc_utf8_next(const char *s, size_t len, size_t *pos, uint32_t *out_cp)
{
	const unsigned char *p = (const unsigned char *)s + *pos;
	size_t avail = len - *pos, n;
	uint32_t cp, min;

	if (p[0] < 0x80) {
		n = 1, cp = p[0], min = 0;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return OTA_EINVAL;
	}
	if (n > avail)
		return OTA_EINVAL;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return OTA_EINVAL;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return OTA_EINVAL;
	*pos += n;
	*out_cp = cp;
	return 0;
}

/*
 * filename: 1..DESCRIPTOR_FILENAME_MAX bytes of UTF-8 without '/', '\\' or
 * C0/C1 control characters (so no NUL), and not "." or "..".  It becomes a
 * Content-Disposition name on devices, so nothing path-like gets through.
 */
static int
desc_check_filename(const char *s, size_t len, char *err, size_t errlen)
{
	size_t pos = 0;
	int ok = len >= 1 && len <= DESCRIPTOR_FILENAME_MAX &&
	         !(len == 1 && s[0] == '.') &&
	         !(len == 2 && s[0] == '.' && s[1] == '.');

	while (ok && pos < len) {
		uint32_t cp;

		if (desc_utf8_next(s, len, &pos, &cp) != 0)
			ok = 0;
		else if (cp == '/' || cp == '\\' || cp < 0x20 ||
		         (cp >= 0x7f && cp <= 0x9f))
			ok = 0;
	}
	if (!ok) {
		desc_err(err, errlen,
		    "field 'filename': must be 1..%d bytes without '/', '\\', "
		    "or control characters, and not '.' or '..'",
		    DESCRIPTOR_FILENAME_MAX);
		return OTA_EINVAL;
	}
	return 0;
}

/* True when no array or object in v lies deeper than DESC_MAX_DEPTH. */
static int
desc_depth_ok(json_t *v, int depth)
{
	void *it;

	if (!json_is_object(v) && !json_is_array(v))
		return 1;
	if (depth > DESC_MAX_DEPTH)
		return 0;
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!desc_depth_ok(json_array_get(v, i), depth + 1))
			return 0;
	for (it = json_object_iter(v); it != NULL;
	     it = json_object_iter_next(v, it))
		if (!desc_depth_ok(json_object_iter_value(it), depth + 1))
			return 0;
	return 1;
}

/*
 * Looks up a string member: *out_s and *out_len borrow the value (NULL when an
 * optional member is absent).  Returns 0 or OTA_EINVAL with err set.
 */
static int
desc_get_string(json_t *root, const char *key, int required, const char **out_s,
    size_t *out_len, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, key);

	*out_s = NULL;
	*out_len = 0;
	if (v == NULL) {
		if (!required)
			return 0;
		desc_err(err, errlen, "field '%s': missing", key);
		return OTA_EINVAL;
	}
	if (!json_is_string(v)) {
		desc_err(err, errlen, "field '%s': must be a string", key);
		return OTA_EINVAL;
	}
	*out_s = json_string_value(v);
	*out_len = json_string_length(v);
	return 0;
}

/* Copies a validated s[0..len) into a field of at least len + 1 bytes. */
static void
desc_copy(char *dst, const char *s, size_t len)
{
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static int
desc_parse_hardware(
    json_t *root, struct ota_descriptor *d, char *err, size_t errlen)
{
	json_t *arr = json_object_get(root, "hardware");
	int rc;

	if (arr == NULL) {
		desc_err(err, errlen, "field 'hardware': missing");
		return OTA_EINVAL;
	}
	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > DESCRIPTOR_HW_MAX) {
		desc_err(err, errlen,
		    "field 'hardware': must be an array of 1..%d strings",
		    DESCRIPTOR_HW_MAX);
		return OTA_EINVAL;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		if (!json_is_string(v)) {
			desc_err(err, errlen,
			    "field 'hardware': entry %zu must be a string", i);
			return OTA_EINVAL;
		}
		rc = desc_check_hw_entry(i, json_string_value(v),
		    json_string_length(v), err, errlen);
		if (rc != 0)
			return rc;
		desc_copy(d->hardware[i], json_string_value(v),
		    json_string_length(v));
	}
	d->hardware_count = json_array_size(arr);
	return desc_check_hw_list(d->hardware, d->hardware_count, err, errlen);
}

/*
 * Reads an integer member into *out_v.  Returns 1 when present and a
 * non-negative JSON integer, 0 when absent, -1 for any other value.
 */
static int
desc_get_uint(json_t *root, const char *key, uint64_t *out_v)
{
	json_t *v = json_object_get(root, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out_v = (uint64_t)json_integer_value(v);
	return 1;
}

/* Fills d from the validated object root, checking field by field. */
static int
desc_parse_fields(
    json_t *root, struct ota_descriptor *d, char *err, size_t errlen)
{
	const char *s;
	size_t len;
	int rc, got;

	rc = desc_get_string(root, "name", 1, &s, &len, err, errlen);
	if (rc == 0)
		rc = desc_check_name(s, len, err, errlen);
	if (rc != 0)
		return rc;
	desc_copy(d->name, s, len);

	rc = desc_get_string(root, "version", 1, &s, &len, err, errlen);
	if (rc == 0)
		rc = desc_check_semver("version", s, len, err, errlen);
	if (rc != 0)
		return rc;
	desc_copy(d->version, s, len);

	if ((rc = desc_parse_hardware(root, d, err, errlen)) != 0)
		return rc;

	got = desc_get_uint(root, "size", &d->size);
	if (got == 0) {
		desc_err(err, errlen, "field 'size': missing");
		return OTA_EINVAL;
	}
	if (got < 0) {
		desc_err(err, errlen, "field 'size': must be an integer >= 1");
		return OTA_EINVAL;
	}
	if ((rc = desc_check_size(d->size, err, errlen)) != 0)
		return rc;

	rc = desc_get_string(root, "sha256", 1, &s, &len, err, errlen);
	if (rc == 0)
		rc = desc_decode_sha256(s, len, d->sha256, err, errlen);
	if (rc != 0)
		return rc;
	sodium_bin2hex(d->sha256_hex, sizeof(d->sha256_hex), d->sha256, 32);

	rc = desc_get_string(root, "min_version", 0, &s, &len, err, errlen);
	if (rc == 0 && s != NULL)
		rc = desc_check_semver("min_version", s, len, err, errlen);
	if (rc != 0)
		return rc;
	if (s != NULL) {
		if (semver_cmp(s, len, d->version, strlen(d->version)) > 0) {
			desc_err(err, errlen,
			    "field 'min_version': min_version above version");
			return OTA_EINVAL;
		}
		desc_copy(d->min_version, s, len);
	}

	got = desc_get_uint(root, "security_counter", &d->security_counter);
	if (got < 0 || (got > 0 && d->security_counter > DESC_INT_MAX))
		return desc_bad_security_counter(err, errlen);
	d->has_security_counter = got > 0;

	rc = desc_get_string(root, "filename", 0, &s, &len, err, errlen);
	if (rc == 0 && s != NULL)
		rc = desc_check_filename(s, len, err, errlen);
	if (rc != 0)
		return rc;
	if (s != NULL)
		desc_copy(d->filename, s, len);
	return 0;
}

/*
 * Parses and validates the descriptor buf[0..len) (see descriptor.h).  On
 * success fills *out when out is not NULL (pass NULL to only validate) and
 * sets err to "".  Returns 0, OTA_EINVAL or OTA_ETOOBIG; *out is untouched
 * on failure.  Borrows buf; allocates nothing that outlives the call.
 * Thread-safe.
 */
int
descriptor_parse(const unsigned char *buf, size_t len,
    struct ota_descriptor *out, char *err, size_t errlen)
{
	struct ota_descriptor d;
	json_error_t jerr;
	json_t *root = NULL;
	int rc = OTA_EINVAL;

	memset(&d, 0, sizeof(d));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (buf == NULL || len == 0) {
		desc_err(err, errlen, "descriptor is empty");
		goto out;
	}
	if (len > DESCRIPTOR_MAX_BYTES) {
		desc_err(err, errlen,
		    "descriptor is %zu bytes, over the %d-byte limit", len,
		    DESCRIPTOR_MAX_BYTES);
		rc = OTA_ETOOBIG;
		goto out;
	}
	/* DECODE_ANY so that a bare scalar gets the message below. */
	root = json_loadb((const char *)buf, len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		desc_err(err, errlen, "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		desc_err(err, errlen, "descriptor must be a JSON object");
		goto out;
	}
	if (!desc_depth_ok(root, 1)) {
		desc_err(err, errlen, "descriptor nests deeper than %d levels",
		    DESC_MAX_DEPTH);
		goto out;
	}
	if ((rc = desc_parse_fields(root, &d, err, errlen)) != 0)
		goto out;
	if (out != NULL)
		*out = d;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/*
 * Validates every field of d with descriptor_parse's rules and messages
 * before any JSON is built: jansson must never see an unterminated array or
 * invalid UTF-8, and the caller gets an error naming the field.
 */
static int
desc_check_struct(const struct ota_descriptor *d, char *err, size_t errlen)
{
	unsigned char bin[32];
	int rc;

	rc = desc_check_name(d->name, DESC_LEN(d->name), err, errlen);
	if (rc == 0)
		rc = desc_check_semver(
		    "version", d->version, DESC_LEN(d->version), err, errlen);
	if (rc != 0)
		return rc;
	if (d->hardware_count < 1 || d->hardware_count > DESCRIPTOR_HW_MAX)
		return desc_check_hw_list(
		    d->hardware, d->hardware_count, err, errlen);
	for (size_t i = 0; i < d->hardware_count && rc == 0; i++)
		rc = desc_check_hw_entry(
		    i, d->hardware[i], DESC_LEN(d->hardware[i]), err, errlen);
	if (rc == 0)
		rc = desc_check_hw_list(
		    d->hardware, d->hardware_count, err, errlen);
	if (rc == 0)
		rc = desc_check_size(d->size, err, errlen);
	if (rc != 0)
		return rc;
	/* The bytes are authoritative; a set hex form must agree with them. */
	if (d->sha256_hex[0] != '\0') {
		rc = desc_decode_sha256(
		    d->sha256_hex, DESC_LEN(d->sha256_hex), bin, err, errlen);
		if (rc != 0)
			return rc;
		if (memcmp(bin, d->sha256, sizeof(bin)) != 0) {
			desc_err(err, errlen,
			    "field 'sha256': sha256 and sha256_hex differ");
			return OTA_EINVAL;
		}
	}
	if (d->min_version[0] != '\0') {
		size_t len = DESC_LEN(d->min_version);

		rc = desc_check_semver(
		    "min_version", d->min_version, len, err, errlen);
		if (rc != 0)
			return rc;
		if (semver_cmp(d->min_version, len, d->version,
		        strlen(d->version)) > 0) {
			desc_err(err, errlen,
			    "field 'min_version': min_version above version");
			return OTA_EINVAL;
		}
	}
	if (d->has_security_counter && d->security_counter > DESC_INT_MAX)
		return desc_bad_security_counter(err, errlen);
	if (d->filename[0] != '\0')
		return desc_check_filename(
		    d->filename, DESC_LEN(d->filename), err, errlen);
	return 0;
}

/* Adds key: s to obj.  Returns 0 or OTA_ENOMEM. */
static int
desc_add_string(json_t *obj, const char *key, const char *s)
{
	json_t *v = json_string(s);

	return json_object_set_new(obj, key, v) == 0 ? 0 : OTA_ENOMEM;
}

/* Adds key: v (at most DESC_INT_MAX) to obj.  Returns 0 or OTA_ENOMEM. */
static int
desc_add_int(json_t *obj, const char *key, uint64_t v)
{
	json_t *n = json_integer((json_int_t)v);

	return json_object_set_new(obj, key, n) == 0 ? 0 : OTA_ENOMEM;
}

/*
 * Serialises d as compact JSON in the documented key order (see
 * descriptor.h), then re-parses the bytes as a final check.  On success
 * *out_buf is a new malloc'd buffer the caller frees and *out_len its
 * length (no NUL or newline counted).  Returns 0, OTA_EINVAL (err names the
 * field), OTA_ETOOBIG (over DESCRIPTOR_MAX_BYTES) or OTA_ENOMEM.  Borrows d.
 * Thread-safe.
 */
int
descriptor_build(const struct ota_descriptor *d, unsigned char **out_buf,
    size_t *out_len, char *err, size_t errlen)
{
	char hex[65];
	json_t *root = NULL, *hw; /* hw is borrowed from root */
	char *text = NULL;
	size_t len;
	int rc;

	*out_buf = NULL;
	*out_len = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rc = desc_check_struct(d, err, errlen);
	if (rc != 0)
		goto out;

	rc = OTA_ENOMEM;
	sodium_bin2hex(hex, sizeof(hex), d->sha256, 32);
	if ((root = json_object()) == NULL)
		goto out;
	/* json_object_set_new steals the value, also on failure. */
	if (desc_add_string(root, "name", d->name) != 0 ||
	    desc_add_string(root, "version", d->version) != 0 ||
	    json_object_set_new(root, "hardware", json_array()) != 0)
		goto out;
	hw = json_object_get(root, "hardware");
	for (size_t i = 0; i < d->hardware_count; i++)
		if (json_array_append_new(hw, json_string(d->hardware[i])) != 0)
			goto out;
	if (desc_add_int(root, "size", d->size) != 0 ||
	    desc_add_string(root, "sha256", hex) != 0)
		goto out;
	if (d->min_version[0] != '\0' &&
	    desc_add_string(root, "min_version", d->min_version) != 0)
		goto out;
	if (d->has_security_counter &&
	    desc_add_int(root, "security_counter", d->security_counter) != 0)
		goto out;
	if (d->filename[0] != '\0' &&
	    desc_add_string(root, "filename", d->filename) != 0)
		goto out;
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto out;
	len = strlen(text);

	rc = descriptor_parse(
	    (const unsigned char *)text, len, NULL, err, errlen);
	if (rc != 0)
		goto out;
	*out_buf = (unsigned char *)text;
	*out_len = len;
	text = NULL;
	rc = 0;
out:
	free(text);
	json_decref(root);
	return rc;
}
