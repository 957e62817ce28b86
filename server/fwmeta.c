/*
 * fwmeta: readers of three published layouts, all little-endian, read
 * byte by byte (no struct overlays: no alignment or padding assumptions),
 * and the rule that compares the versions they carry with a descriptor's.
 * A field is read only after the bytes it lies in are known to be inside
 * the buffer; strings are kept only when printable ASCII.
 */
#include "fwmeta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "errors.h"
#include "names.h"
#include "semver.h"

/*
 * MCUboot, struct image_header in boot/bootutil/include/bootutil/image.h
 * (mcu-tools/mcuboot), 32 bytes: ih_magic u32 @0, ih_load_addr u32 @4,
 * ih_hdr_size u16 @8, ih_protect_tlv_size u16 @10, ih_img_size u32 @12
 * (header excluded), ih_flags u32 @16, ih_ver @20 = iv_major u8 @20,
 * iv_minor u8 @21, iv_revision u16 @22, iv_build_num u32 @24; _pad u32 @28.
 */
#define MCUBOOT_MAGIC 0x96f3b83dU
#define MCUBOOT_HDR_BYTES 32

/*
 * ESP-IDF, components/bootloader_support/include/esp_app_format.h
 * (espressif/esp-idf): esp_image_header_t, 24 bytes, magic u8 @0 = 0xE9,
 * segment_count u8 @1 (at most ESP_IMAGE_MAX_SEGMENTS 16), chip_id u16
 * @12; then esp_image_segment_header_t (load_addr u32, data_len u32) @24;
 * the first segment's data (DROM) begins with esp_app_desc_t @32
 * (components/esp_app_format/include/esp_app_desc.h), 256 bytes:
 * magic_word u32 @0 = 0xABCD5432, secure_version u32 @4, reserv1[2] @8,
 * version char[32] @16, project_name char[32] @48, time char[16] @80,
 * date char[16] @96, idf_ver char[32] @112, app_elf_sha256 u8[32] @144.
 */
#define ESP_IMAGE_MAGIC 0xE9
#define ESP_MAX_SEGMENTS 16
#define ESP_DESC_AT 32
#define ESP_DESC_MAGIC 0xABCD5432U
#define ESP_DESC_BYTES 256

/*
 * Blynk, "Blynk binary info tag" in Blynk's device documentation (OTA
 * page, blynkkk docs) and blynk-tools lib/firmware.js
 * (vshymanskyy/blynk-tools): "blnkinf\0" then key\0value\0 pairs made by
 * BLYNK_PARAM_KV(k, v) = k "\0" v "\0", ended by one more "\0".
 */
static const char blynk_magic[] = "blnkinf"; /* and its NUL: 8 bytes */
#define BLYNK_MAGIC_BYTES 8

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* 1 when p[0..len) is printable ASCII (space to '~'). */
static int
printable(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * Copies the C string in the fixed field p[0..cap) into out (cap + 1
 * bytes): up to its first NUL, or all cap bytes.  Returns 0, or -1 when
 * the text is not printable ASCII.
 */
static int
fixed_str(const unsigned char *p, size_t cap, char *out)
{
	const unsigned char *nul = memchr(p, '\0', cap);
	size_t len = nul != NULL ? (size_t)(nul - p) : cap;

	if (!printable(p, len))
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int
read_mcuboot(const unsigned char *b, size_t len, uint64_t image_size,
    struct fwmeta_mcuboot *h)
{
	if (len < MCUBOOT_HDR_BYTES || le32(b) != MCUBOOT_MAGIC)
		return 0;
	h->load_addr = le32(b + 4);
	h->hdr_size = le16(b + 8);
	h->protect_tlv_size = le16(b + 10);
	h->img_size = le32(b + 12);
	h->flags = le32(b + 16);
	h->major = b[20];
	h->minor = b[21];
	h->revision = le16(b + 22);
	h->build = le32(b + 24);
	/* The body follows the header and both lie inside the image. */
	if (h->hdr_size < MCUBOOT_HDR_BYTES ||
	    (uint64_t)h->hdr_size + h->img_size > image_size)
		return 0;
	return 1;
}

static int
read_esp(const unsigned char *b, size_t len, struct fwmeta_esp *e)
{
	const unsigned char *d = b + ESP_DESC_AT;

	if (len < ESP_DESC_AT + ESP_DESC_BYTES || b[0] != ESP_IMAGE_MAGIC ||
	    b[1] < 1 || b[1] > ESP_MAX_SEGMENTS || le32(d) != ESP_DESC_MAGIC)
		return 0;
	e->chip_id = le16(b + 12);
	e->secure_version = le32(d + 4);
	if (fixed_str(d + 16, 32, e->version) != 0 ||
	    fixed_str(d + 48, 32, e->project_name) != 0 ||
	    fixed_str(d + 80, 16, e->time) != 0 ||
	    fixed_str(d + 96, 16, e->date) != 0 ||
	    fixed_str(d + 112, 32, e->idf_ver) != 0)
		return 0;
	for (size_t i = 0; i < 32; i++)
		snprintf(e->elf_sha256_hex + 2 * i, 3, "%02x", d[144 + i]);
	return 1;
}

int
fwmeta_read_head(
    const unsigned char *buf, size_t len, uint64_t image_size, struct fwmeta *m)
{
	memset(m, 0, sizeof(*m));
	if (len > image_size)
		len = (size_t)image_size;
	m->has_mcuboot = read_mcuboot(buf, len, image_size, &m->mcuboot);
	if (!m->has_mcuboot)
		m->has_esp = read_esp(buf, len, &m->esp);
	if (!m->has_esp)
		memset(&m->esp, 0, sizeof(m->esp));
	if (!m->has_mcuboot)
		memset(&m->mcuboot, 0, sizeof(m->mcuboot));
	return m->has_mcuboot || m->has_esp;
}

/*
 * Reads one NUL-terminated string of 0..max printable bytes at p[0..end).
 * Returns its length, -1 when it is not one, -2 when end cuts it.
 */
static long
tag_str(const unsigned char *p, size_t end, size_t max)
{
	const unsigned char *nul =
	    memchr(p, '\0', end < max + 1 ? end : max + 1);

	if (nul == NULL)
		return end < max + 1 ? -2 : -1;
	if (!printable(p, (size_t)(nul - p)))
		return -1;
	return (long)(nul - p);
}

/*
 * Parses the tag whose magic is at p, with avail bytes from p on (at most
 * FWMETA_BLYNK_MAX_BYTES looked at) into t.  Returns 1, 0 when it is not a
 * tag, -2 when avail ends before it does.
 */
static int
parse_tag(const unsigned char *p, size_t avail, struct fwmeta_blynk *t)
{
	size_t at = BLYNK_MAGIC_BYTES, end;
	long kl, vl;
	int cut = avail < FWMETA_BLYNK_MAX_BYTES;

	end = cut ? avail : FWMETA_BLYNK_MAX_BYTES;
	t->count = 0;
	for (;;) {
		if (at >= end)
			return cut ? -2 : 0;
		kl = tag_str(p + at, end - at, FWMETA_BLYNK_KEY_MAX);
		if (kl < 0)
			return kl == -2 && cut ? -2 : 0;
		at += (size_t)kl + 1;
		if (kl == 0)
			return t->count > 0;
		if (t->count == FWMETA_BLYNK_MAX_PAIRS || at >= end)
			return at >= end && cut ? -2 : 0;
		vl = tag_str(p + at, end - at, FWMETA_BLYNK_VALUE_MAX);
		if (vl < 0)
			return vl == -2 && cut ? -2 : 0;
		memcpy(t->key[t->count], p + at - kl - 1, (size_t)kl + 1);
		memcpy(t->value[t->count], p + at, (size_t)vl + 1);
		t->count++;
		at += (size_t)vl + 1;
	}
}

int
fwmeta_find_blynk(const unsigned char *buf, size_t len, uint64_t base,
    int at_end, struct fwmeta *m)
{
	struct fwmeta_blynk t;
	const unsigned char *p = buf, *hit;
	size_t left = len;
	int r;

	while (left >= BLYNK_MAGIC_BYTES && (hit = memmem(p, left, blynk_magic,
	                                         BLYNK_MAGIC_BYTES)) != NULL) {
		r = parse_tag(hit, len - (size_t)(hit - buf), &t);
		if (r == -2 && !at_end)
			return 0; /* the next window holds it whole */
		if (r == 1) {
			t.offset = base + (uint64_t)(hit - buf);
			m->blynk = t;
			m->has_blynk = 1;
			return 1;
		}
		left = len - (size_t)(hit - buf) - 1;
		p = hit + 1;
	}
	return 0;
}

int
fwmeta_read(fwmeta_read_fn read, void *arg, uint64_t size, struct fwmeta *m)
{
	const size_t win = 64 * 1024;
	uint64_t off = 0, end = size;
	unsigned char *buf;
	size_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	if (end > FWMETA_SCAN_BYTES)
		end = FWMETA_SCAN_BYTES;
	if ((buf = malloc(win)) == NULL)
		return OTA_ENOMEM;
	if ((rc = read(arg, 0, buf, FWMETA_HEAD_BYTES, &n)) != 0)
		goto out;
	fwmeta_read_head(buf, n, size, m);
	/* Each window but the last moves on by win less the overlap. */
	while (off < end) {
		n = end - off < win ? (size_t)(end - off) : win;
		if ((rc = read(arg, off, buf, n, &n)) != 0)
			goto out;
		if (n == 0 ||
		    fwmeta_find_blynk(buf, n, off, off + n >= end, m) ||
		    off + n >= end)
			break;
		off += win - FWMETA_BLYNK_MAX_BYTES;
	}
out:
	free(buf);
	return rc;
}

const char *
fwmeta_blynk_get(const struct fwmeta *m, const char *key)
{
	if (!m->has_blynk)
		return NULL;
	for (size_t i = 0; i < m->blynk.count; i++)
		if (strcmp(m->blynk.key[i], key) == 0)
			return m->blynk.value[i];
	return NULL;
}

void
fwmeta_mcuboot_version(const struct fwmeta_mcuboot *h, char *out)
{
	if (h->build == 0)
		snprintf(out, FWMETA_VERSION_MAX, "%u.%u.%u", h->major,
		    h->minor, h->revision);
	else
		snprintf(out, FWMETA_VERSION_MAX, "%u.%u.%u+%lu", h->major,
		    h->minor, h->revision, (unsigned long)h->build);
}

/* The parts of a valid SemVer version v that the MCUboot rule needs. */
struct vparts {
	unsigned long long major, minor, patch;
	int has_pre;
	const char *build; /* after '+', or NULL */
};

static void
vparts_of(const char *v, struct vparts *p)
{
	char *end;

	p->major = strtoull(v, &end, 10);
	p->minor = strtoull(end + 1, &end, 10);
	p->patch = strtoull(end + 1, &end, 10);
	p->has_pre = *end == '-';
	p->build = strchr(end, '+');
	if (p->build != NULL)
		p->build++;
}

/* 1 when s is 1.. decimal digits. */
static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
check_mcuboot(
    const struct fwmeta_mcuboot *h, const char *v, char *err, size_t errlen)
{
	char hv[FWMETA_VERSION_MAX];
	struct vparts p;
	int ok;

	vparts_of(v, &p);
	ok = p.major == h->major && p.minor == h->minor &&
	     p.patch == h->revision && !p.has_pre;
	if (ok && p.build != NULL && all_digits(p.build))
		ok = strlen(p.build) <= 10 &&
		     strtoull(p.build, NULL, 10) == h->build;
	else if (ok)
		ok = h->build == 0;
	if (ok)
		return 0;
	fwmeta_mcuboot_version(h, hv);
	snprintf(err, errlen,
	    "the image's MCUboot header says version %s; the descriptor "
	    "says %s",
	    hv, v);
	return OTA_EMISMATCH;
}

/*
 * When s ends in -<n>-g<hex> (git describe of a commit past a tag; hex 4
 * to 40 lowercase digits), copies "g<hex>" to out (42 bytes) and returns
 * 1, else 0.
 */
static int
git_commit(const char *s, char *out)
{
	const char *g = strrchr(s, '-'), *n;
	size_t hex;

	if (g == NULL || g[1] != 'g')
		return 0;
	hex = strlen(g + 2);
	if (hex < 4 || hex > 40 || strspn(g + 2, "0123456789abcdef") != hex)
		return 0;
	for (n = g - 1; n > s && *n >= '0' && *n <= '9'; n--)
		;
	if (n == g - 1 || n == s || *n != '-')
		return 0;
	memcpy(out, g + 1, hex + 2);
	return 1;
}

/* 1 when the build metadata of the valid version v has identifier id. */
static int
build_has(const char *v, const char *id)
{
	const char *b = strchr(v, '+'), *dot;
	size_t idlen = strlen(id), len;

	while (b != NULL) {
		b++;
		dot = strchr(b, '.');
		len = dot != NULL ? (size_t)(dot - b) : strlen(b);
		if (len == idlen && memcmp(b, id, len) == 0)
			return 1;
		b = dot;
	}
	return 0;
}

/* The rule for a free-form version string (ESP-IDF, Blynk "mcu"). */
static int
check_string(
    const char *what, const char *emb, const char *v, char *err, size_t errlen)
{
	const char *e = emb[0] == 'v' ? emb + 1 : emb;
	char commit[42];

	if (emb[0] == '\0' || strcmp(e, v) == 0)
		return 0;
	if (git_commit(e, commit) && build_has(v, commit))
		return 0;
	if (semver_check(e, strlen(e)) == 0 &&
	    semver_cmp(e, strlen(e), v, strlen(v)) == 0)
		return 0;
	snprintf(err, errlen,
	    "the image's %s says version %s; the descriptor "
	    "says %s",
	    what, emb, v);
	return OTA_EMISMATCH;
}

int
fwmeta_check_version(
    const struct fwmeta *m, const char *v, char *err, size_t errlen)
{
	const char *mcu;
	int rc;

	if (semver_check(v, strlen(v)) != 0) {
		snprintf(err, errlen,
		    "descriptor version '%.128s' is not SemVer", v);
		return OTA_EINVAL;
	}
	if (m->has_mcuboot &&
	    (rc = check_mcuboot(&m->mcuboot, v, err, errlen)) != 0)
		return rc;
	if (m->has_esp && (rc = check_string("ESP-IDF app descriptor",
	                       m->esp.version, v, err, errlen)) != 0)
		return rc;
	mcu = fwmeta_blynk_get(m, "mcu");
	if (mcu != NULL &&
	    (rc = check_string("Blynk tag (mcu)", mcu, v, err, errlen)) != 0)
		return rc;
	return 0;
}

static void
suggest_name(const char *s, char *name)
{
	if (name[0] == '\0' && s != NULL && *s != '\0' &&
	    ((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
	        (*s >= 'a' && *s <= 'z')) &&
	    names_valid(s, DESCRIPTOR_NAME_MAX, "._-"))
		snprintf(name, DESCRIPTOR_NAME_MAX + 1, "%s", s);
}

static void
suggest_version(const char *s, char *version)
{
	if (s == NULL || version[0] != '\0')
		return;
	if (s[0] == 'v')
		s++;
	if (semver_check(s, strlen(s)) == 0)
		snprintf(version, SEMVER_MAX_LEN + 1, "%s", s);
}

void
fwmeta_suggest(const struct fwmeta *m, char *name, char *version)
{
	char hv[FWMETA_VERSION_MAX];

	name[0] = version[0] = '\0';
	if (m->has_esp)
		suggest_name(m->esp.project_name, name);
	suggest_name(fwmeta_blynk_get(m, "fw-type"), name);
	if (m->has_mcuboot) {
		fwmeta_mcuboot_version(&m->mcuboot, hv);
		suggest_version(hv, version);
	}
	if (m->has_esp)
		suggest_version(m->esp.version, version);
	suggest_version(fwmeta_blynk_get(m, "mcu"), version);
}

static json_t *
mcuboot_json(const struct fwmeta_mcuboot *h)
{
	char hv[FWMETA_VERSION_MAX];

	fwmeta_mcuboot_version(h, hv);
	return json_pack("{s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "version", hv, "major", h->major, "minor", h->minor, "revision",
	    h->revision, "build", (json_int_t)h->build, "header_size",
	    (json_int_t)h->hdr_size, "protected_tlv_size",
	    (json_int_t)h->protect_tlv_size, "image_size",
	    (json_int_t)h->img_size, "flags", (json_int_t)h->flags, "load_addr",
	    (json_int_t)h->load_addr);
}

static json_t *
esp_json(const struct fwmeta_esp *e)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "version",
	    e->version, "project_name", e->project_name, "idf_version",
	    e->idf_ver, "build_date", e->date, "build_time", e->time,
	    "secure_version", (json_int_t)e->secure_version, "chip_id",
	    (json_int_t)e->chip_id, "elf_sha256", e->elf_sha256_hex);
}

static json_t *
blynk_json(const struct fwmeta_blynk *t)
{
	json_t *tags = json_object();

	for (size_t i = 0; tags != NULL && i < t->count; i++)
		/* A key named twice: the first value stands. */
		if (json_object_get(tags, t->key[i]) == NULL)
			json_object_set_new(
			    tags, t->key[i], json_string(t->value[i]));
	return json_pack(
	    "{s:I, s:o}", "offset", (json_int_t)t->offset, "tags", tags);
}

json_t *
fwmeta_to_json(const struct fwmeta *m)
{
	json_t *o;

	if (!m->has_mcuboot && !m->has_esp && !m->has_blynk)
		return NULL;
	if ((o = json_object()) == NULL)
		return NULL;
	if (m->has_mcuboot)
		json_object_set_new(o, "mcuboot", mcuboot_json(&m->mcuboot));
	if (m->has_esp)
		json_object_set_new(o, "esp_app", esp_json(&m->esp));
	if (m->has_blynk)
		json_object_set_new(o, "blynk", blynk_json(&m->blynk));
	return o;
}
