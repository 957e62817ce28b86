/*
 * check_descriptor: the descriptor contract as tests.  Each field's type
 * and range rules are checked against the exact error text, since that
 * text reaches release engineers through otactl; then the limits (size,
 * depth, duplicates) and the build/parse round trip.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "errors.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SHA_LO                                                                 \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_UP                                                                 \
	"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define SHA_MIX                                                                \
	"0123456789aBcDeF0123456789abcdef0123456789ABCDEF0123456789abcdef"

/* Required fields of a valid descriptor, in header order. */
static const char *const base_keys[] = {
    "name", "version", "hardware", "size", "sha256"};
static const char *const base_vals[] = {"\"sensor-fw\"", "\"1.4.0\"",
    "[\"revA\",\"revB\"]", "123456", "\"" SHA_LO "\""};

static const char full_json[] =
    "{\"name\":\"sensor-fw\",\"version\":\"1.4.0\","
    "\"hardware\":[\"revA\",\"revB\"],\"size\":123456,"
    "\"sha256\":\"" SHA_LO "\",\"min_version\":\"1.2.0\","
    "\"security_counter\":3,\"filename\":\"fw.bin\"}";

/*
 * Writes the valid base descriptor to buf with key's raw JSON value
 * replaced by val (key removed when val is NULL, appended when key is not a
 * required field).  Returns the length.
 */
static size_t
make_json(char *buf, size_t cap, const char *key, const char *val)
{
	size_t n = 0;
	int found = 0;

	n += (size_t)snprintf(buf + n, cap - n, "{");
	for (size_t i = 0; i < NELEM(base_keys); i++) {
		const char *v = base_vals[i];

		if (key != NULL && strcmp(key, base_keys[i]) == 0) {
			found = 1;
			if ((v = val) == NULL)
				continue;
		}
		n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\":%s",
		    n > 1 ? "," : "", base_keys[i], v);
	}
	if (key != NULL && !found)
		n += (size_t)snprintf(buf + n, cap - n, ",\"%s\":%s", key, val);
	n += (size_t)snprintf(buf + n, cap - n, "}");
	ck_assert_uint_lt(n, cap);
	return n;
}

static int
parse_str(const char *s, struct ota_descriptor *d, char *err, size_t errlen)
{
	return descriptor_parse(
	    (const unsigned char *)s, strlen(s), d, err, errlen);
}

/* Parses buf[0..n); err must have room for 256 bytes. */
static int
parse_n(const char *buf, size_t n, struct ota_descriptor *d, char *err)
{
	return descriptor_parse((const unsigned char *)buf, n, d, err, 256);
}

/* Parses base-with-override, expecting success; fills *d. */
static void
parse_ok(const char *key, const char *val, struct ota_descriptor *d)
{
	char buf[4096], err[256];
	size_t n = make_json(buf, sizeof(buf), key, val);
	int rc = parse_n(buf, n, d, err);

	ck_assert_msg(rc == 0, "%s: rc %d: %s", buf, rc, err);
	ck_assert_str_eq(err, "");
}

START_TEST(test_parse_minimal)
{
	struct ota_descriptor d;

	parse_ok(NULL, NULL, &d);
	ck_assert_str_eq(d.name, "sensor-fw");
	ck_assert_str_eq(d.version, "1.4.0");
	ck_assert_uint_eq(d.hardware_count, 2);
	ck_assert_str_eq(d.hardware[0], "revA");
	ck_assert_str_eq(d.hardware[1], "revB");
	ck_assert_uint_eq(d.size, 123456);
	ck_assert_str_eq(d.sha256_hex, SHA_LO);
	ck_assert_uint_eq(d.sha256[0], 0x01);
	ck_assert_uint_eq(d.sha256[7], 0xef);
	ck_assert_uint_eq(d.sha256[31], 0xef);
	ck_assert_str_eq(d.min_version, "");
	ck_assert_int_eq(d.has_security_counter, 0);
	ck_assert_uint_eq(d.security_counter, 0);
	ck_assert_str_eq(d.filename, "");
}
END_TEST

START_TEST(test_parse_full)
{
	struct ota_descriptor d;
	char err[256];

	ck_assert_int_eq(parse_str(full_json, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.min_version, "1.2.0");
	ck_assert_int_eq(d.has_security_counter, 1);
	ck_assert_uint_eq(d.security_counter, 3);
	ck_assert_str_eq(d.filename, "fw.bin");
}
END_TEST

/* Accepted edge values: key, raw JSON value. */
static const struct {
	const char *key, *val;
} accept[] = {
    {"name", "\"a\""},
    {"name", "\"0-._x\""},
    {"name",
        "\"a123456789012345678901234567890123456789012345678901234567890123"
        "\""},
    {"version", "\"1.0.0-rc.1+build.5\""},
    {"hardware", "[\"a:b.c_d-e\"]"},
    {"hardware",
        "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
        "\"11\",\"12\",\"13\",\"14\",\"15\",\"16\"]"},
    {"hardware", "[\"revA\",\"reva\"]"},
    {"size", "1"},
    {"size", "9007199254740992"},
    {"min_version", "\"1.4.0\""},
    {"min_version", "\"1.4.0+other.build\""},
    {"min_version", "\"1.4.0-rc.1\""},
    {"min_version", "\"0.0.0\""},
    {"security_counter", "0"},
    {"security_counter", "9007199254740992"},
    {"filename", "\"f\""},
    {"filename", "\"...\""},
    {"filename", "\"..bin\""},
    {"filename", "\"firmware v2 (final).bin\""},
    {"filename", "\"\\u00fcber.bin\""},
    {"filename", "\"\303\274ber.bin\""},
    {"extra", "{\"nested\":{\"deep\":[1,2,3]}}"},
    {"extra", "null"},
};

START_TEST(test_parse_accept)
{
	struct ota_descriptor d;

	parse_ok(accept[_i].key, accept[_i].val, &d);
}
END_TEST

/* Expected messages, exactly as descriptor.c words them. */
#define NAME_ERR                                                               \
	"field 'name': must be 1..64 characters of [A-Za-z0-9._-] starting "   \
	"with a letter or digit"
#define VERSION_ERR                                                            \
	"field 'version': must be a SemVer 2.0.0 version of at most 128 bytes"
#define HW_ERR "field 'hardware': must be an array of 1..16 strings"
#define HW_ENTRY_ERR(i)                                                        \
	"field 'hardware': entry " #i " must be 1..64 characters of "          \
	"[A-Za-z0-9._:-]"
#define SIZE_ERR "field 'size': must be an integer >= 1"
#define SHA_ERR "field 'sha256': must be exactly 64 hexadecimal characters"
#define SC_ERR                                                                 \
	"field 'security_counter': must be an integer from 0 to "              \
	"9007199254740992"
#define FN_ERR                                                                 \
	"field 'filename': must be 1..128 bytes without '/', '\\', or "        \
	"control characters, and not '.' or '..'"

/* Rejected values: key, raw JSON value (NULL: key removed), exact error. */
static const struct {
	const char *key, *val, *err;
} reject[] = {
    {"name", NULL, "field 'name': missing"},
    {"name", "5", "field 'name': must be a string"},
    {"name", "null", "field 'name': must be a string"},
    {"name", "[\"a\"]", "field 'name': must be a string"},
    {"name", "\"\"", NAME_ERR},
    {"name", "\"-fw\"", NAME_ERR},
    {"name", "\".fw\"", NAME_ERR},
    {"name", "\"_fw\"", NAME_ERR},
    {"name", "\"a/b\"", NAME_ERR},
    {"name", "\"a b\"", NAME_ERR},
    {"name", "\"a:b\"", NAME_ERR},
    {"name", "\"\\u00e9\"", NAME_ERR},
    {"name",
        "\"a1234567890123456789012345678901234567890123456789012345678901234"
        "\"",
        NAME_ERR},
    {"version", NULL, "field 'version': missing"},
    {"version", "1", "field 'version': must be a string"},
    {"version", "1.0", "field 'version': must be a string"},
    {"version", "\"1.0\"", VERSION_ERR},
    {"version", "\"v1.0.0\"", VERSION_ERR},
    {"version", "\"01.0.0\"", VERSION_ERR},
    {"version", "\"\"", VERSION_ERR},
    {"version", "\"18446744073709551616.0.0\"", VERSION_ERR},
    {"hardware", NULL, "field 'hardware': missing"},
    {"hardware", "\"revA\"", HW_ERR},
    {"hardware", "{}", HW_ERR},
    {"hardware", "[]", HW_ERR},
    {"hardware",
        "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
        "\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]",
        HW_ERR},
    {"hardware", "[1]", "field 'hardware': entry 0 must be a string"},
    {"hardware", "[\"a\",null]", "field 'hardware': entry 1 must be a string"},
    {"hardware", "[\"a\",[\"b\"]]",
        "field 'hardware': entry 1 must be a string"},
    {"hardware", "[\"\"]", HW_ENTRY_ERR(0)},
    {"hardware", "[\"ok\",\"rev A\"]", HW_ENTRY_ERR(1)},
    {"hardware", "[\"rev/A\"]", HW_ENTRY_ERR(0)},
    {"hardware",
        "[\"a123456789012345678901234567890123456789012345678901234567890123"
        "4\"]",
        HW_ENTRY_ERR(0)},
    {"hardware", "[\"revA\",\"revB\",\"revA\"]",
        "field 'hardware': duplicate entry 'revA'"},
    {"size", NULL, "field 'size': missing"},
    {"size", "\"1\"", SIZE_ERR},
    {"size", "0", SIZE_ERR},
    {"size", "-1", SIZE_ERR},
    {"size", "-0", SIZE_ERR},
    {"size", "1.0", SIZE_ERR},
    {"size", "1.5", SIZE_ERR},
    {"size", "1e3", SIZE_ERR},
    {"size", "true", SIZE_ERR},
    {"size", "null", SIZE_ERR},
    {"size", "[1]", SIZE_ERR},
    {"size", "9007199254740993", "field 'size': must be <= 9007199254740992"},
    {"size", "9223372036854775807",
        "field 'size': must be <= 9007199254740992"},
    {"sha256", NULL, "field 'sha256': missing"},
    {"sha256", "5", "field 'sha256': must be a string"},
    {"sha256", "\"\"", SHA_ERR},
    {"sha256", "\"" SHA_LO "0\"", SHA_ERR},
    {"sha256",
        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\"",
        SHA_ERR},
    {"sha256",
        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\"",
        SHA_ERR},
    {"sha256",
        "\" 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
        SHA_ERR},
    {"min_version", "1", "field 'min_version': must be a string"},
    {"min_version", "null", "field 'min_version': must be a string"},
    {"min_version", "\"1.2\"",
        "field 'min_version': must be a SemVer 2.0.0 version of at most 128 "
        "bytes"},
    {"min_version", "\"1.4.1\"",
        "field 'min_version': min_version above version"},
    {"min_version", "\"2.0.0-alpha\"",
        "field 'min_version': min_version above version"},
    {"security_counter", "-1", SC_ERR},
    {"security_counter", "\"3\"", SC_ERR},
    {"security_counter", "3.0", SC_ERR},
    {"security_counter", "null", SC_ERR},
    {"security_counter", "false", SC_ERR},
    {"security_counter", "9007199254740993", SC_ERR},
    {"filename", "7", "field 'filename': must be a string"},
    {"filename", "\"\"", FN_ERR},
    {"filename", "\".\"", FN_ERR},
    {"filename", "\"..\"", FN_ERR},
    {"filename", "\"a/b\"", FN_ERR},
    {"filename", "\"/fw.bin\"", FN_ERR},
    {"filename", "\"..\\\\fw.bin\"", FN_ERR},
    {"filename", "\"fw\\n.bin\"", FN_ERR},
    {"filename", "\"fw\\u0001.bin\"", FN_ERR},
    {"filename", "\"fw\\u007f.bin\"", FN_ERR},
    {"filename", "\"fw\\u0085.bin\"", FN_ERR},
    {"filename",
        "\"a123456789012345678901234567890123456789012345678901234567890123"
        "456789012345678901234567890123456789012345678901234567890123456789"
        "\"",
        FN_ERR},
};

START_TEST(test_parse_reject)
{
	struct ota_descriptor d;
	char buf[4096], err[256];
	size_t n = make_json(buf, sizeof(buf), reject[_i].key, reject[_i].val);
	int rc;

	memset(&d, 0x5a, sizeof(d));
	rc = parse_n(buf, n, &d, err);
	ck_assert_msg(rc == OTA_EINVAL, "%s: rc %d", buf, rc);
	ck_assert_str_eq(err, reject[_i].err);
	/* *out is left alone on failure. */
	ck_assert_uint_eq(((unsigned char *)&d)[0], 0x5a);
}
END_TEST

/* Names and versions at their exact length limits. */
START_TEST(test_parse_lengths)
{
	char val[256], buf[4096], err[256];
	struct ota_descriptor d;
	size_t n;

	/* filename: 128 bytes accepted, multibyte counted in bytes. */
	memset(val, 0, sizeof(val));
	val[0] = '"';
	memset(val + 1, 'f', DESCRIPTOR_FILENAME_MAX);
	val[1 + DESCRIPTOR_FILENAME_MAX] = '"';
	parse_ok("filename", val, &d);
	ck_assert_uint_eq(strlen(d.filename), DESCRIPTOR_FILENAME_MAX);
	memcpy(val + 1, "\xc3\xbc", 2); /* 129 bytes, 128 characters */
	memset(val + 3, 'f', DESCRIPTOR_FILENAME_MAX - 1);
	val[2 + DESCRIPTOR_FILENAME_MAX] = '"';
	n = make_json(buf, sizeof(buf), "filename", val);
	ck_assert_int_eq(parse_n(buf, n, &d, err), OTA_EINVAL);

	/* version: SEMVER_MAX_LEN bytes accepted, one more refused. */
	memset(val, 0, sizeof(val));
	memcpy(val, "\"1.0.0-", 7);
	memset(val + 7, 'a', SEMVER_MAX_LEN - 6);
	val[1 + SEMVER_MAX_LEN] = '"';
	parse_ok("version", val, &d);
	ck_assert_uint_eq(strlen(d.version), SEMVER_MAX_LEN);
	memset(val + 7, 'a', SEMVER_MAX_LEN - 5);
	val[2 + SEMVER_MAX_LEN] = '"';
	n = make_json(buf, sizeof(buf), "version", val);
	ck_assert_int_eq(parse_n(buf, n, &d, err), OTA_EINVAL);
}
END_TEST

START_TEST(test_parse_hex_case)
{
	struct ota_descriptor lo, up, mix;

	parse_ok(NULL, NULL, &lo);
	parse_ok("sha256", "\"" SHA_UP "\"", &up);
	parse_ok("sha256", "\"" SHA_MIX "\"", &mix);
	ck_assert_str_eq(up.sha256_hex, SHA_LO);
	ck_assert_str_eq(mix.sha256_hex, SHA_LO);
	ck_assert_mem_eq(up.sha256, lo.sha256, 32);
	ck_assert_mem_eq(mix.sha256, lo.sha256, 32);
}
END_TEST

START_TEST(test_parse_duplicate_keys)
{
	char buf[4096], err[256];
	size_t n;

	n = make_json(buf, sizeof(buf), "name", "\"a\",\"name\":\"b\"");
	ck_assert_int_eq(parse_n(buf, n, NULL, err), OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
	/* Duplicates are refused at any depth, in unknown fields too. */
	n = make_json(buf, sizeof(buf), "extra", "{\"k\":1,\"k\":2}");
	ck_assert_int_eq(parse_n(buf, n, NULL, err), OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
}
END_TEST

START_TEST(test_parse_depth)
{
	char buf[4096], err[256];
	size_t n;

	/* The descriptor is level 1; containers down to level 4 pass. */
	n = make_json(buf, sizeof(buf), "x", "{\"y\":{\"z\":[1]}}");
	ck_assert_int_eq(parse_n(buf, n, NULL, err), 0);
	n = make_json(buf, sizeof(buf), "x", "[[[{}]]]");
	ck_assert_int_eq(parse_n(buf, n, NULL, err), OTA_EINVAL);
	ck_assert_str_eq(err, "descriptor nests deeper than 4 levels");
	n = make_json(buf, sizeof(buf), "x", "{\"y\":{\"z\":[[]]}}");
	ck_assert_int_eq(parse_n(buf, n, NULL, err), OTA_EINVAL);
	ck_assert_str_eq(err, "descriptor nests deeper than 4 levels");
	/* Far deeper than any limit: still one clean refusal. */
	memset(buf, 0, sizeof(buf));
	memset(buf, '[', 500);
	memset(buf + 500, ']', 500);
	ck_assert_int_eq(parse_str(buf, NULL, err, sizeof(err)), OTA_EINVAL);
}
END_TEST

START_TEST(test_parse_sizes)
{
	char buf[DESCRIPTOR_MAX_BYTES + 2], pad[DESCRIPTOR_MAX_BYTES], err[256];
	struct ota_descriptor d;
	size_t n, base;

	ck_assert_int_eq(descriptor_parse((const unsigned char *)"{}", 0, &d,
	                     err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "descriptor is empty");
	ck_assert_int_eq(
	    descriptor_parse(NULL, 0, &d, err, sizeof(err)), OTA_EINVAL);

	/* Pad an unknown string field to hit exactly the limit. */
	base = make_json(buf, sizeof(buf), "pad", "\"\"");
	memset(pad, 0, sizeof(pad));
	pad[0] = '"';
	memset(pad + 1, 'x', DESCRIPTOR_MAX_BYTES - base);
	pad[1 + DESCRIPTOR_MAX_BYTES - base] = '"';
	n = make_json(buf, sizeof(buf), "pad", pad);
	ck_assert_uint_eq(n, DESCRIPTOR_MAX_BYTES);
	ck_assert_int_eq(parse_n(buf, n, &d, err), 0);

	pad[1 + DESCRIPTOR_MAX_BYTES - base] = 'x';
	pad[2 + DESCRIPTOR_MAX_BYTES - base] = '"';
	n = make_json(buf, sizeof(buf), "pad", pad);
	ck_assert_uint_eq(n, DESCRIPTOR_MAX_BYTES + 1);
	ck_assert_int_eq(parse_n(buf, n, &d, err), OTA_ETOOBIG);
	ck_assert_str_eq(err, "descriptor is 1025 bytes, over the 1024-byte "
	                      "limit");
}
END_TEST

/* Not one JSON object: each refused with EINVAL and a message. */
static const char *const not_object[] = {
    "[]",
    "\"x\"",
    "1",
    "null",
    "true",
};

START_TEST(test_parse_not_object)
{
	char err[256];

	ck_assert_int_eq(
	    parse_str(not_object[_i], NULL, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "descriptor must be a JSON object");
}
END_TEST

START_TEST(test_parse_bad_json)
{
	char buf[4096], err[256];
	struct ota_descriptor d;
	size_t n;

	ck_assert_int_eq(parse_str("{", &d, err, sizeof(err)), OTA_EINVAL);
	ck_assert_int_eq(strncmp(err, "invalid JSON at line 1", 22), 0);
	/* Trailing bytes after the object. */
	n = make_json(buf, sizeof(buf), NULL, NULL);
	memcpy(buf + n, " {}", 4);
	ck_assert_int_eq(parse_str(buf, &d, err, sizeof(err)), OTA_EINVAL);
	/* Invalid UTF-8 inside a string, and an escaped NUL. */
	n = make_json(buf, sizeof(buf), "filename", "\"fw\xff.bin\"");
	ck_assert_int_eq(parse_n(buf, n, &d, err), OTA_EINVAL);
	ck_assert_int_eq(strncmp(err, "invalid JSON", 12), 0);
	n = make_json(buf, sizeof(buf), "filename", "\"fw\\u0000.bin\"");
	ck_assert_int_eq(parse_n(buf, n, &d, err), OTA_EINVAL);
	/* A raw NUL byte inside the counted length. */
	n = make_json(buf, sizeof(buf), NULL, NULL);
	buf[n - 1] = '\0';
	ck_assert_int_eq(parse_n(buf, n, &d, err), OTA_EINVAL);
	/* A too-big integer is jansson's refusal, not a wraparound. */
	n = make_json(buf, sizeof(buf), "size", "18446744073709551617");
	ck_assert_int_eq(parse_n(buf, n, &d, err), OTA_EINVAL);
}
END_TEST

START_TEST(test_parse_err_buffer)
{
	char err[8];

	/* err is optional, truncated to errlen, always one printable line. */
	ck_assert_int_eq(parse_str("[]", NULL, NULL, 0), OTA_EINVAL);
	ck_assert_int_eq(parse_str("[]", NULL, err, 0), OTA_EINVAL);
	ck_assert_int_eq(parse_str("[]", NULL, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "descrip");
}
END_TEST

START_TEST(test_parse_err_printable)
{
	char err[256];

	ck_assert_int_eq(
	    parse_str("{\"a\":\n\x01\xff}", NULL, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_uint_gt(strlen(err), 0);
	for (const char *p = err; *p != '\0'; p++)
		ck_assert_msg(*p >= 0x20 && *p <= 0x7e, "byte %#x in err '%s'",
		    (unsigned char)*p, err);
}
END_TEST

/* A fully populated descriptor, filled the way otactl would. */
static void
fill_full(struct ota_descriptor *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->name, "sensor-fw");
	strcpy(d->version, "1.4.0");
	strcpy(d->hardware[0], "revA");
	strcpy(d->hardware[1], "revB");
	d->hardware_count = 2;
	d->size = 123456;
	for (size_t i = 0; i < 32; i++)
		d->sha256[i] = (unsigned char)(i * 7 + 0x0f);
	strcpy(d->min_version, "1.2.0");
	d->has_security_counter = 1;
	d->security_counter = 3;
	strcpy(d->filename, "fw.bin");
}

static void
assert_same(const struct ota_descriptor *a, const struct ota_descriptor *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_str_eq(a->version, b->version);
	ck_assert_uint_eq(a->hardware_count, b->hardware_count);
	for (size_t i = 0; i < a->hardware_count; i++)
		ck_assert_str_eq(a->hardware[i], b->hardware[i]);
	ck_assert_uint_eq(a->size, b->size);
	ck_assert_mem_eq(a->sha256, b->sha256, 32);
	ck_assert_str_eq(a->min_version, b->min_version);
	ck_assert_int_eq(a->has_security_counter, b->has_security_counter);
	if (a->has_security_counter)
		ck_assert_uint_eq(a->security_counter, b->security_counter);
	ck_assert_str_eq(a->filename, b->filename);
}

START_TEST(test_build_exact_bytes)
{
	struct ota_descriptor d;
	unsigned char *out = NULL;
	size_t len = 0;
	char err[256];

	ck_assert_int_eq(parse_str(full_json, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(descriptor_build(&d, &out, &len, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(len, strlen(full_json));
	ck_assert_mem_eq(out, full_json, len);
	free(out);
}
END_TEST

START_TEST(test_build_minimal)
{
	static const char want[] =
	    "{\"name\":\"fw\",\"version\":\"0.1.0\",\"hardware\":[\"x\"],"
	    "\"size\":1,\"sha256\":\"" SHA_LO "\",\"security_counter\":0}";
	struct ota_descriptor d, back;
	unsigned char *out = NULL;
	size_t len = 0;
	char err[256];

	memset(&d, 0, sizeof(d));
	strcpy(d.name, "fw");
	strcpy(d.version, "0.1.0");
	strcpy(d.hardware[0], "x");
	d.hardware_count = 1;
	d.size = 1;
	ck_assert_int_eq(parse_str(full_json, &back, err, sizeof(err)), 0);
	memcpy(d.sha256, back.sha256, 32); /* sha256_hex left "" */
	d.has_security_counter = 1;        /* present although 0 */
	ck_assert_int_eq(descriptor_build(&d, &out, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(out, want, len);
	ck_assert_int_eq(
	    descriptor_parse(out, len, &back, err, sizeof(err)), 0);
	assert_same(&d, &back);
	free(out);
}
END_TEST

START_TEST(test_build_round_trip)
{
	struct ota_descriptor d, back;
	unsigned char *out = NULL;
	size_t len = 0;
	char err[256];

	fill_full(&d);
	ck_assert_int_eq(descriptor_build(&d, &out, &len, err, sizeof(err)), 0);
	ck_assert_uint_ne(out[len - 1], '\n');
	ck_assert_int_eq(
	    descriptor_parse(out, len, &back, err, sizeof(err)), 0);
	assert_same(&d, &back);
	ck_assert_uint_eq(strlen(back.sha256_hex), 64);
	free(out);

	/* A non-ASCII filename survives as UTF-8. */
	strcpy(d.filename, "\303\274ber.bin");
	ck_assert_int_eq(descriptor_build(&d, &out, &len, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    descriptor_parse(out, len, &back, err, sizeof(err)), 0);
	assert_same(&d, &back);
	free(out);
}
END_TEST

START_TEST(test_build_sha256_hex)
{
	struct ota_descriptor d, back;
	unsigned char *out = NULL;
	size_t len = 0;
	char err[256];

	/* A set hex form must match the bytes, in either case. */
	ck_assert_int_eq(parse_str(full_json, &d, err, sizeof(err)), 0);
	strcpy(d.sha256_hex, SHA_UP);
	ck_assert_int_eq(descriptor_build(&d, &out, &len, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    descriptor_parse(out, len, &back, err, sizeof(err)), 0);
	ck_assert_str_eq(back.sha256_hex, SHA_LO);
	free(out);

	d.sha256[0] ^= 1;
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "field 'sha256': sha256 and sha256_hex differ");
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(len, 0);
	strcpy(d.sha256_hex, "abc");
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, SHA_ERR);
}
END_TEST

START_TEST(test_build_invalid)
{
	struct ota_descriptor d;
	unsigned char *out = NULL;
	size_t len = 0;
	char err[256];

	fill_full(&d);
	d.hardware_count = 0;
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, HW_ERR);
	d.hardware_count = DESCRIPTOR_HW_MAX + 1;
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, HW_ERR);

	fill_full(&d);
	strcpy(d.hardware[1], "revA");
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "field 'hardware': duplicate entry 'revA'");

	fill_full(&d);
	d.hardware[1][0] = '\0';
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, HW_ENTRY_ERR(1));

	fill_full(&d);
	d.size = 0;
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, SIZE_ERR);
	d.size = UINT64_MAX;
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "field 'size': must be <= 9007199254740992");

	fill_full(&d);
	d.security_counter = ((uint64_t)1 << 53) + 1;
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, SC_ERR);
	d.has_security_counter = 0; /* ignored when absent */
	ck_assert_int_eq(descriptor_build(&d, &out, &len, err, sizeof(err)), 0);
	free(out);
	out = NULL;

	fill_full(&d);
	strcpy(d.min_version, "1.4.1");
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "field 'min_version': min_version above version");

	fill_full(&d);
	strcpy(d.version, "1.4");
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, VERSION_ERR);

	fill_full(&d);
	strcpy(d.name, "");
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, NAME_ERR);

	/* Unterminated arrays are refused, never read past. */
	fill_full(&d);
	memset(d.name, 'a', sizeof(d.name));
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, NAME_ERR);

	fill_full(&d);
	strcpy(d.filename, "../fw.bin");
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, FN_ERR);
	strcpy(d.filename, "fw\xff.bin");
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, FN_ERR);
	strcpy(d.filename, "fw\xc2\x9f.bin"); /* U+009F, a C1 control */
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, FN_ERR);
	strcpy(d.filename, "fw\xc0\xae.bin"); /* overlong '.' */
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	strcpy(d.filename, "fw\xed\xa0\x80.bin"); /* surrogate */
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_build_too_big)
{
	struct ota_descriptor d;
	unsigned char *out = NULL;
	size_t len = 1;
	char err[256];

	/* Every field valid, but 16 entries of 64 bytes exceed 1024. */
	fill_full(&d);
	for (size_t i = 0; i < DESCRIPTOR_HW_MAX; i++) {
		memset(d.hardware[i], 'a', DESCRIPTOR_HW_LEN_MAX);
		snprintf(d.hardware[i], 4, "%02zu", i);
		d.hardware[i][2] = 'a';
	}
	d.hardware_count = DESCRIPTOR_HW_MAX;
	ck_assert_int_eq(
	    descriptor_build(&d, &out, &len, err, sizeof(err)), OTA_ETOOBIG);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(strncmp(err, "descriptor is ", 14), 0);
}
END_TEST

static Suite *
descriptor_suite(void)
{
	Suite *s = suite_create("descriptor");
	TCase *tc;

	tc = tcase_create("descriptor_parse");
	tcase_add_test(tc, test_parse_minimal);
	tcase_add_test(tc, test_parse_full);
	tcase_add_loop_test(tc, test_parse_accept, 0, NELEM(accept));
	tcase_add_loop_test(tc, test_parse_reject, 0, NELEM(reject));
	tcase_add_test(tc, test_parse_lengths);
	tcase_add_test(tc, test_parse_hex_case);
	tcase_add_test(tc, test_parse_duplicate_keys);
	tcase_add_test(tc, test_parse_depth);
	tcase_add_test(tc, test_parse_sizes);
	tcase_add_loop_test(tc, test_parse_not_object, 0, NELEM(not_object));
	tcase_add_test(tc, test_parse_bad_json);
	tcase_add_test(tc, test_parse_err_buffer);
	tcase_add_test(tc, test_parse_err_printable);
	suite_add_tcase(s, tc);

	tc = tcase_create("descriptor_build");
	tcase_add_test(tc, test_build_exact_bytes);
	tcase_add_test(tc, test_build_minimal);
	tcase_add_test(tc, test_build_round_trip);
	tcase_add_test(tc, test_build_sha256_hex);
	tcase_add_test(tc, test_build_invalid);
	tcase_add_test(tc, test_build_too_big);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(descriptor_suite());
}
