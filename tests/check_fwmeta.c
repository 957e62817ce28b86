/*
 * check_fwmeta: the three embedded formats, built here byte by byte from
 * their published layouts (MCUboot's bootutil/image.h, ESP-IDF's
 * esp_app_format.h and esp_app_desc.h, Blynk's binary info tag), read
 * back; malformed and truncated ones are unknown; and the version rule's
 * edge cases.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fwmeta.h"
#include "testutil.h"

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

/* An MCUboot image of total bytes: a 32-byte header (hdr_size 32), a body
 * of img_size bytes, the rest as if TLVs. */
static void
mk_mcuboot(unsigned char *b, size_t total, uint8_t maj, uint8_t min,
    uint16_t rev, uint32_t build, uint32_t img_size)
{
	memset(b, 0xa5, total);
	put32(b, 0x96f3b83d);
	put32(b + 4, 0x20000000);
	put16(b + 8, 32);
	put16(b + 10, 0);
	put32(b + 12, img_size);
	put32(b + 16, 0);
	b[20] = maj;
	b[21] = min;
	put16(b + 22, rev);
	put32(b + 24, build);
	put32(b + 28, 0);
}

/* An ESP-IDF application image: esp_image_header_t, one segment header,
 * esp_app_desc_t at 32. */
static void
mk_esp(unsigned char *b, size_t total, const char *version, const char *project,
    const char *idf)
{
	unsigned char *d = b + 32;

	memset(b, 0, total);
	b[0] = 0xE9;
	b[1] = 3;
	b[2] = 2;
	put32(b + 4, 0x40080000);
	put16(b + 12, 0x0009); /* ESP32-S3 */
	put32(b + 24, 0x3c000020);
	put32(b + 28, 4096);
	put32(d, 0xABCD5432);
	put32(d + 4, 2);
	strncpy((char *)d + 16, version, 32);
	strncpy((char *)d + 48, project, 32);
	memcpy(d + 80, "12:34:56", 8);
	memcpy(d + 96, "Mar  5 2024", 11);
	strncpy((char *)d + 112, idf, 32);
	for (int i = 0; i < 32; i++)
		d[144 + i] = (unsigned char)i;
}

/* The tag as BLYNK_PARAM_KV writes it; returns its length. */
static size_t
mk_blynk(unsigned char *p, const char *const *kv, size_t pairs)
{
	size_t n = 0;

	memcpy(p, "blnkinf", 8);
	n = 8;
	for (size_t i = 0; i < 2 * pairs; i++) {
		size_t l = strlen(kv[i]) + 1;

		memcpy(p + n, kv[i], l);
		n += l;
	}
	p[n++] = '\0';
	return n;
}

START_TEST(test_mcuboot)
{
	unsigned char b[1024];
	struct fwmeta m;
	char v[FWMETA_VERSION_MAX];

	mk_mcuboot(b, sizeof(b), 1, 2, 3, 4, 900);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	ck_assert(m.has_mcuboot && !m.has_esp && !m.has_blynk);
	ck_assert_int_eq(m.mcuboot.major, 1);
	ck_assert_int_eq(m.mcuboot.minor, 2);
	ck_assert_int_eq(m.mcuboot.revision, 3);
	ck_assert_uint_eq(m.mcuboot.build, 4);
	ck_assert_uint_eq(m.mcuboot.img_size, 900);
	fwmeta_mcuboot_version(&m.mcuboot, v);
	ck_assert_str_eq(v, "1.2.3+4");
	mk_mcuboot(b, sizeof(b), 255, 255, 65535, 0, 900);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	fwmeta_mcuboot_version(&m.mcuboot, v);
	ck_assert_str_eq(v, "255.255.65535");
}
END_TEST

START_TEST(test_mcuboot_malformed)
{
	unsigned char b[1024];
	struct fwmeta m;

	/* Header + body larger than the image. */
	mk_mcuboot(b, sizeof(b), 1, 2, 3, 0, 1024 - 31);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
	ck_assert(!m.has_mcuboot);
	mk_mcuboot(b, sizeof(b), 1, 2, 3, 0, 1024 - 32);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	/* ih_hdr_size below the header's own size. */
	put16(b + 8, 31);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
	/* Truncated: 31 bytes. */
	mk_mcuboot(b, sizeof(b), 1, 2, 3, 0, 10);
	ck_assert_int_eq(fwmeta_read_head(b, 31, 31, &m), 0);
	/* The old magic (v1) is not this format. */
	put32(b, 0x96f3b83c);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
	/* A head longer than the image is cut to it. */
	mk_mcuboot(b, sizeof(b), 1, 2, 3, 0, 10);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), 20, &m), 0);
}
END_TEST

START_TEST(test_esp)
{
	unsigned char b[1024];
	struct fwmeta m;

	mk_esp(b, sizeof(b), "v1.4.0", "sensor-fw", "v5.1.2");
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	ck_assert(m.has_esp && !m.has_mcuboot);
	ck_assert_str_eq(m.esp.version, "v1.4.0");
	ck_assert_str_eq(m.esp.project_name, "sensor-fw");
	ck_assert_str_eq(m.esp.idf_ver, "v5.1.2");
	ck_assert_str_eq(m.esp.time, "12:34:56");
	ck_assert_str_eq(m.esp.date, "Mar  5 2024");
	ck_assert_uint_eq(m.esp.secure_version, 2);
	ck_assert_uint_eq(m.esp.chip_id, 9);
	ck_assert_str_eq(m.esp.elf_sha256_hex,
	    "000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f");
	/* A 32-byte field without a NUL is read whole, never past it. */
	memset(b + 32 + 16, 'x', 32);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	ck_assert_uint_eq(strlen(m.esp.version), 32);
	ck_assert_str_eq(m.esp.project_name, "sensor-fw");
}
END_TEST

START_TEST(test_esp_malformed)
{
	unsigned char b[1024];
	struct fwmeta m;

	mk_esp(b, sizeof(b), "1.0.0", "p", "v5");
	ck_assert_int_eq(fwmeta_read_head(b, 32 + 255, 4096, &m), 0);
	ck_assert_int_eq(fwmeta_read_head(b, 32 + 256, 4096, &m), 1);
	b[1] = 0;
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
	b[1] = 17;
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
	b[1] = 16;
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	/* A control byte in a string: not this format. */
	b[32 + 48] = '\n';
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
	ck_assert(!m.has_esp);
	mk_esp(b, sizeof(b), "1.0.0", "p", "v5");
	b[32] ^= 1; /* descriptor magic */
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
	mk_esp(b, sizeof(b), "1.0.0", "p", "v5");
	b[0] = 0xE8; /* image magic */
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 0);
}
END_TEST

static const char *const kv3[] = {
    "mcu", "0.5.0", "fw-type", "TMPLabcd1234", "build", "Mar  5 2024 18:29:27"};

START_TEST(test_blynk)
{
	unsigned char b[4096];
	struct fwmeta m;
	size_t n;

	memset(b, 0x11, sizeof(b));
	/* A bare mention of the magic first (code using the tag name). */
	memcpy(b + 100, "blnkinf\0\x01", 9);
	n = mk_blynk(b + 1000, kv3, 3);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 65536, 1, &m), 1);
	ck_assert(m.has_blynk);
	ck_assert_uint_eq(m.blynk.offset, 65536 + 1000);
	ck_assert_uint_eq(m.blynk.count, 3);
	ck_assert_str_eq(fwmeta_blynk_get(&m, "mcu"), "0.5.0");
	ck_assert_str_eq(fwmeta_blynk_get(&m, "fw-type"), "TMPLabcd1234");
	ck_assert_str_eq(fwmeta_blynk_get(&m, "build"), "Mar  5 2024 18:29:27");
	ck_assert_ptr_null(fwmeta_blynk_get(&m, "blynk"));
	/* Cut by the window's end: left for the next window, unless the
	 * window is the image's end. */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(fwmeta_find_blynk(b, 1000 + n - 1, 0, 0, &m), 0);
	ck_assert_int_eq(fwmeta_find_blynk(b, 1000 + n - 1, 0, 1, &m), 0);
	ck_assert_int_eq(fwmeta_find_blynk(b, 1000 + n, 0, 1, &m), 1);
	ck_assert_int_eq(fwmeta_find_blynk(b + 1000, n, 0, 0, &m), 1);
}
END_TEST

START_TEST(test_blynk_malformed)
{
	unsigned char b[2048];
	const char *kv[2 * (FWMETA_BLYNK_MAX_PAIRS + 1)];
	char keys[FWMETA_BLYNK_MAX_PAIRS + 1][16];
	char big[FWMETA_BLYNK_VALUE_MAX + 2];
	struct fwmeta m;
	size_t n;

	memset(&m, 0, sizeof(m));
	/* No pairs at all. */
	memset(b, 0, sizeof(b));
	memcpy(b, "blnkinf", 8);
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, &m), 0);
	/* A value of 65 bytes; then one of 64 is fine. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	kv[0] = "mcu";
	kv[1] = big;
	memset(b, 0, sizeof(b));
	mk_blynk(b, kv, 1);
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, &m), 0);
	big[FWMETA_BLYNK_VALUE_MAX] = '\0';
	mk_blynk(b, kv, 1);
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, &m), 1);
	ck_assert_uint_eq(strlen(fwmeta_blynk_get(&m, "mcu")), 64);
	/* A control byte in a value. */
	memset(&m, 0, sizeof(m));
	kv[1] = "1.0\t";
	mk_blynk(b, kv, 1);
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, &m), 0);
	/* 17 pairs: too many; 16 fit. */
	for (int i = 0; i <= FWMETA_BLYNK_MAX_PAIRS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		kv[2 * i] = keys[i];
		kv[2 * i + 1] = "v";
	}
	memset(b, 0, sizeof(b));
	mk_blynk(b, kv, FWMETA_BLYNK_MAX_PAIRS + 1);
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, &m), 0);
	memset(b, 0, sizeof(b));
	n = mk_blynk(b, kv, FWMETA_BLYNK_MAX_PAIRS);
	ck_assert_int_eq(fwmeta_find_blynk(b, n, 0, 1, &m), 1);
	/* Unterminated at the image's end. */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(fwmeta_find_blynk(b, n - 1, 0, 1, &m), 0);
	ck_assert(!m.has_blynk);
}
END_TEST

/* Image bytes of each format carrying version emb. */
static void
meta_with(struct fwmeta *m, int fmt, const char *emb)
{
	unsigned char b[1024];
	const char *kv[2] = {"mcu", emb};

	if (fmt == 0) {
		mk_esp(b, sizeof(b), emb, "p", "v5.1");
		ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), 1024, m), 1);
	} else {
		memset(b, 0, sizeof(b));
		memset(m, 0, sizeof(*m));
		mk_blynk(b + 10, kv, 1);
		ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, m), 1);
	}
}

/* The free-form rule, for ESP-IDF (0) and Blynk (1) alike. */
static const struct {
	const char *emb, *desc;
	int agrees;
} string_cases[] = {
    {"1.2.3", "1.2.3", 1},
    {"v1.2.3", "1.2.3", 1},
    {"v1.2.3", "1.2.3+build.7", 1}, /* build metadata: no precedence */
    {"1.2.3+a", "1.2.3+b", 1},
    {"vv1.2.3", "1.2.3", 0},
    {"V1.2.3", "1.2.3", 0},
    {"v1.2.3", "1.2.4", 0},
    {"1.2.3-rc.1", "1.2.3", 0},
    {"1.2.3", "1.2.3-rc.1", 0},
    {"1.2", "1.2.0", 0},
    {"1", "1.0.0", 0},
    {"", "9.9.9", 1}, /* no version embedded: nothing to check */
    /* git describe: the commit must be the descriptor's. */
    {"v1.2.3-4-gabcdef1", "1.2.4-dev.4+gabcdef1", 1},
    {"v1.2.3-4-gabcdef1", "1.2.4-dev.4+ci.gabcdef1.x", 1},
    {"v1.2.3-4-gabcdef1", "1.2.3-4-gabcdef1", 1},
    {"v1.2.3-4-gabcdef1", "1.2.3", 0},
    {"v1.2.3-4-gabcdef1", "1.2.4+gabcdef2", 0},
    {"v1.2.3-4-gabcdef1", "1.2.4+xgabcdef1", 0},
    {"v1.2.3-4-gabcdef1-dirty", "1.2.4+gabcdef1", 0},
    {"v1.2.3-4-gabcdef1-dirty", "1.2.3-4-gabcdef1-dirty", 1},
};

START_TEST(test_version_strings)
{
	struct fwmeta m;
	char err[300];
	int rc;

	for (int fmt = 0; fmt < 2; fmt++) {
		meta_with(&m, fmt, string_cases[_i].emb);
		err[0] = '\0';
		rc = fwmeta_check_version(
		    &m, string_cases[_i].desc, err, sizeof(err));
		ck_assert_msg(
		    rc == (string_cases[_i].agrees ? 0 : OTA_EMISMATCH),
		    "fmt %d: '%s' vs '%s': %d", fmt, string_cases[_i].emb,
		    string_cases[_i].desc, rc);
		if (rc != 0) {
			/* Both values named. */
			ck_assert_ptr_nonnull(
			    strstr(err, string_cases[_i].emb));
			ck_assert_ptr_nonnull(
			    strstr(err, string_cases[_i].desc));
		}
	}
}
END_TEST

static const struct {
	uint8_t maj, min;
	uint16_t rev;
	uint32_t build;
	const char *desc;
	int agrees;
} mcuboot_cases[] = {
    {1, 2, 3, 0, "1.2.3", 1},
    {1, 2, 3, 0, "1.2.3+0", 1},
    {1, 2, 3, 0, "1.2.3+git.abc", 1}, /* not a number: build 0 */
    {1, 2, 3, 4, "1.2.3+4", 1},
    {1, 2, 3, 4, "1.2.3+0004", 1},
    {1, 2, 3, 4, "1.2.3", 0},
    {1, 2, 3, 4, "1.2.3+5", 0},
    {1, 2, 3, 4, "1.2.3+git.4", 0},
    {1, 2, 3, 0, "1.2.3+4", 0},
    {1, 2, 3, 0, "1.2.3-rc.1", 0}, /* the header has no pre-release */
    {1, 2, 3, 0, "1.2.4", 0},
    {1, 2, 3, 0, "1.3.3", 0},
    {1, 2, 3, 0, "2.2.3", 0},
    {1, 2, 3, 0, "257.2.3", 0}, /* never truncated to 8 bits */
    {1, 2, 3, 0, "1.2.65539", 0},
    {0, 0, 0, 4294967295U, "0.0.0+4294967295", 1},
    {0, 0, 0, 4294967295U, "0.0.0+4294967296", 0},
    {0, 0, 0, 0, "0.0.0+18446744073709551616", 0},
};

START_TEST(test_version_mcuboot)
{
	unsigned char b[256];
	struct fwmeta m;
	char err[300];
	int rc;

	mk_mcuboot(b, sizeof(b), mcuboot_cases[_i].maj, mcuboot_cases[_i].min,
	    mcuboot_cases[_i].rev, mcuboot_cases[_i].build, 100);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	err[0] = '\0';
	rc = fwmeta_check_version(&m, mcuboot_cases[_i].desc, err, sizeof(err));
	ck_assert_msg(rc == (mcuboot_cases[_i].agrees ? 0 : OTA_EMISMATCH),
	    "%s: %d %s", mcuboot_cases[_i].desc, rc, err);
	if (rc != 0)
		ck_assert_ptr_nonnull(strstr(err, mcuboot_cases[_i].desc));
}
END_TEST

START_TEST(test_version_all_formats)
{
	unsigned char b[2048];
	const char *kv[2] = {"mcu", "1.2.4"};
	struct fwmeta m;
	char err[300];

	/* MCUboot agrees, the Blynk tag inside does not: refused. */
	mk_mcuboot(b, sizeof(b), 1, 2, 3, 0, 1000);
	mk_blynk(b + 600, kv, 1);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, &m), 1);
	ck_assert_int_eq(
	    fwmeta_check_version(&m, "1.2.3", err, sizeof(err)), OTA_EMISMATCH);
	ck_assert_ptr_nonnull(strstr(err, "Blynk"));
	ck_assert_int_eq(
	    fwmeta_check_version(&m, "1.2.4", err, sizeof(err)), OTA_EMISMATCH);
	ck_assert_ptr_nonnull(strstr(err, "MCUboot"));
	/* Nothing recognized: nothing to disagree with. */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(
	    fwmeta_check_version(&m, "1.0.0", err, sizeof(err)), 0);
	ck_assert_int_eq(
	    fwmeta_check_version(&m, "1.0", err, sizeof(err)), OTA_EINVAL);
}
END_TEST

START_TEST(test_suggest_and_json)
{
	unsigned char b[2048];
	const char *kv[4] = {"mcu", "v2.0.0", "fw-type", "TMPL1"};
	char name[65], version[129];
	struct fwmeta m;
	json_t *j;

	mk_esp(b, sizeof(b), "v1.4.0", "sensor-fw", "v5.1.2");
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	fwmeta_suggest(&m, name, version);
	ck_assert_str_eq(name, "sensor-fw");
	ck_assert_str_eq(version, "1.4.0");
	j = fwmeta_to_json(&m);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(j, "esp_app"), "project_name")),
	    "sensor-fw");
	ck_assert_ptr_null(json_object_get(j, "mcuboot"));
	json_decref(j);
	/* A project name that is no descriptor name; a version "1". */
	mk_esp(b, sizeof(b), "1", "my app", "v5");
	mk_blynk(b + 700, kv, 2);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	ck_assert_int_eq(fwmeta_find_blynk(b, sizeof(b), 0, 1, &m), 1);
	fwmeta_suggest(&m, name, version);
	ck_assert_str_eq(name, "TMPL1");
	ck_assert_str_eq(version, "2.0.0");
	/* MCUboot's version first. */
	mk_mcuboot(b, sizeof(b), 3, 0, 1, 7, 100);
	ck_assert_int_eq(fwmeta_read_head(b, sizeof(b), sizeof(b), &m), 1);
	fwmeta_suggest(&m, name, version);
	ck_assert_str_eq(name, "");
	ck_assert_str_eq(version, "3.0.1+7");
	j = fwmeta_to_json(&m);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(j, "mcuboot"), "version")),
	    "3.0.1+7");
	json_decref(j);
	memset(&m, 0, sizeof(m));
	ck_assert_ptr_null(fwmeta_to_json(&m));
}
END_TEST

/* A fwmeta_read_fn over memory, counting its reads. */
struct mem {
	const unsigned char *b;
	size_t len;
	int reads;
};

static int
mem_read(void *arg, uint64_t off, void *buf, size_t len, size_t *out_n)
{
	struct mem *m = arg;

	m->reads++;
	*out_n = off >= m->len ? 0 : m->len - off < len ? m->len - off : len;
	memcpy(buf, m->b + off, *out_n);
	return 0;
}

/* A tag anywhere is found whole, across window edges; none past
 * FWMETA_SCAN_BYTES is looked for. */
START_TEST(test_read_windows)
{
	const size_t size = FWMETA_SCAN_BYTES + 4096;
	const uint64_t at[] = {0, 65536 - 100, 65536 - 511, 65536 - 512,
	    2 * (65536 - 512) - 7, 300000, FWMETA_SCAN_BYTES - 140,
	    FWMETA_SCAN_BYTES - 40};
	unsigned char *b = calloc(1, size);
	struct mem mem = {b, size, 0};
	struct fwmeta m;
	size_t n;

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		memset(b, 0, size);
		mk_mcuboot(b, 64, 1, 0, 0, 0, 16);
		n = mk_blynk(b + at[i] + (at[i] == 0 ? 64 : 0), kv3, 3);
		ck_assert_uint_lt(n, 140);
		ck_assert_int_eq(fwmeta_read(mem_read, &mem, size, &m), 0);
		ck_assert_int_eq(m.has_mcuboot, 1);
		ck_assert_msg(m.has_blynk == (at[i] != FWMETA_SCAN_BYTES - 40),
		    "tag at %llu", (unsigned long long)at[i]);
		if (m.has_blynk)
			ck_assert_uint_eq(
			    m.blynk.offset, at[i] + (at[i] == 0 ? 64 : 0));
	}
	/* A small image: one read for the head, one window. */
	mem = (struct mem){b, 1000, 0};
	ck_assert_int_eq(fwmeta_read(mem_read, &mem, 1000, &m), 0);
	ck_assert_int_eq(mem.reads, 2);
	free(b);
}
END_TEST

static Suite *
fwmeta_suite(void)
{
	Suite *s = suite_create("fwmeta");
	TCase *tc;

	tc = tcase_create("formats");
	tcase_add_test(tc, test_mcuboot);
	tcase_add_test(tc, test_mcuboot_malformed);
	tcase_add_test(tc, test_esp);
	tcase_add_test(tc, test_esp_malformed);
	tcase_add_test(tc, test_blynk);
	tcase_add_test(tc, test_blynk_malformed);
	tcase_add_test(tc, test_read_windows);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("versions");
	tcase_add_loop_test(tc, test_version_strings, 0,
	    sizeof(string_cases) / sizeof(string_cases[0]));
	tcase_add_loop_test(tc, test_version_mcuboot, 0,
	    sizeof(mcuboot_cases) / sizeof(mcuboot_cases[0]));
	tcase_add_test(tc, test_version_all_formats);
	tcase_add_test(tc, test_suggest_and_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(fwmeta_suite());
}
