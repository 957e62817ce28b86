/*
 * fwmeta: the identity a firmware binary carries in its own bytes, read
 * from the image itself: an MCUboot image header, an ESP-IDF application
 * descriptor (esp_app_desc_t), a Blynk firmware tag.  Pure: no I/O, no
 * globals; every offset and length in the bytes is untrusted and checked
 * against the buffer it came with.  Bytes that do not look exactly like a
 * known format are an unknown format (nothing read), never an error.
 */
#ifndef OTAD_FWMETA_H
#define OTAD_FWMETA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The first bytes of an image that fwmeta_read_head looks at: enough for
 * the MCUboot header (32 bytes) and for the ESP-IDF image header, first
 * segment header and esp_app_desc_t (24 + 8 + 256). */
#define FWMETA_HEAD_BYTES 512

/* The longest Blynk tag read, "blnkinf\0" and terminator included; a
 * window scan overlapping by this many bytes finds every tag. */
#define FWMETA_BLYNK_MAX_BYTES 512
#define FWMETA_BLYNK_MAX_PAIRS 16
#define FWMETA_BLYNK_KEY_MAX 32
#define FWMETA_BLYNK_VALUE_MAX 64

/* An ESP-IDF string field: char[32] (time, date: char[16]), printable. */
#define FWMETA_ESP_STR_MAX 32

struct fwmeta_mcuboot {
	uint32_t load_addr;
	uint16_t hdr_size;
	uint16_t protect_tlv_size;
	uint32_t img_size;
	uint32_t flags;
	uint8_t major, minor;
	uint16_t revision;
	uint32_t build;
};

struct fwmeta_esp {
	uint16_t chip_id;
	uint32_t secure_version;
	char version[FWMETA_ESP_STR_MAX + 1];
	char project_name[FWMETA_ESP_STR_MAX + 1];
	char time[16 + 1];
	char date[16 + 1];
	char idf_ver[FWMETA_ESP_STR_MAX + 1];
	char elf_sha256_hex[65];
};

struct fwmeta_blynk {
	uint64_t offset; /* of "blnkinf" in the image */
	size_t count;    /* pairs, 1..FWMETA_BLYNK_MAX_PAIRS */
	char key[FWMETA_BLYNK_MAX_PAIRS][FWMETA_BLYNK_KEY_MAX + 1];
	char value[FWMETA_BLYNK_MAX_PAIRS][FWMETA_BLYNK_VALUE_MAX + 1];
};

/* What an image says about itself; a has_* flag per format found. */
struct fwmeta {
	int has_mcuboot, has_esp, has_blynk;
	struct fwmeta_mcuboot mcuboot;
	struct fwmeta_esp esp;
	struct fwmeta_blynk blynk;
};

/*
 * Reads the formats that start an image from buf[0..len), the first len
 * bytes of an image of image_size bytes (len <= image_size), into m: the
 * MCUboot header (magic 0x96f3b83d at 0, header size 32..image_size, and
 * header + body within image_size) or the ESP-IDF descriptor (image magic
 * 0xE9, 1..16 segments, descriptor magic 0xABCD5432 at 32, its strings
 * NUL-terminated printable ASCII).  Clears m first (has_blynk included).
 * Returns 1 when a format was found, else 0.
 */
int fwmeta_read_head(const unsigned char *buf, size_t len, uint64_t image_size,
    struct fwmeta *m);

/*
 * Looks in buf[0..len), the bytes at offset base of an image, for the
 * first Blynk tag: "blnkinf\0", then 1..FWMETA_BLYNK_MAX_PAIRS pairs
 * key\0value\0 (key 1..32, value 0..64 printable ASCII bytes), then an
 * empty key (\0), all within FWMETA_BLYNK_MAX_BYTES.  An occurrence that
 * is not such a tag is skipped; one cut by the end of buf (at_end 0) is
 * left for the next window, which must start at most
 * FWMETA_BLYNK_MAX_BYTES before this one's end.  Returns 1 and fills
 * m->blynk (has_blynk set) when found, else 0 (m unchanged).
 */
int fwmeta_find_blynk(const unsigned char *buf, size_t len, uint64_t base,
    int at_end, struct fwmeta *m);

/* How far into an image fwmeta_read looks for a Blynk tag (the MCUboot
 * and ESP-IDF headers are at its start). */
#define FWMETA_SCAN_BYTES (32 * 1024 * 1024)

/*
 * Where fwmeta_read gets an image's bytes: len of them at off into buf,
 * their count in *out_n (fewer only at the image's end).  Returns 0 or an
 * OTA_E* code, which stops the read.
 */
typedef int (*fwmeta_read_fn)(
    void *arg, uint64_t off, void *buf, size_t len, size_t *out_n);

/*
 * Reads what an image of size bytes, read through read(arg, ...), says
 * about itself into m: fwmeta_read_head on its first FWMETA_HEAD_BYTES,
 * then fwmeta_find_blynk over its first FWMETA_SCAN_BYTES in 64 KiB
 * windows overlapping by FWMETA_BLYNK_MAX_BYTES.  Memory: one window.
 * Returns 0 (m says what was found, maybe nothing), OTA_ENOMEM or read's
 * code.
 */
int fwmeta_read(
    fwmeta_read_fn read, void *arg, uint64_t size, struct fwmeta *m);

/* The value of key in m's Blynk tag, or NULL (also without a tag). */
const char *fwmeta_blynk_get(const struct fwmeta *m, const char *key);

/* Room for a version fwmeta_mcuboot_version writes. */
#define FWMETA_VERSION_MAX 48

/* Writes the MCUboot version as SemVer: "1.2.3" for build 0, else
 * "1.2.3+4".  out needs FWMETA_VERSION_MAX bytes. */
void fwmeta_mcuboot_version(const struct fwmeta_mcuboot *h, char *out);

/*
 * Checks every version m carries against the descriptor's SemVer version
 * v (the rules are docs/images.md's "Embedded metadata"):
 *  - MCUboot: major.minor.revision equal v's major.minor.patch; v has no
 *    pre-release (the header cannot say one); v's build metadata, when it
 *    is a decimal number, equals the build number, and otherwise the build
 *    number is 0.
 *  - ESP-IDF version and Blynk "mcu": one leading "v" dropped; "" says
 *    nothing (not checked); a git describe <tag>-<n>-g<hex> agrees with v
 *    when v's build metadata has the identifier g<hex>, or v is the whole
 *    string; any other SemVer agrees when its precedence equals v's; any
 *    other string disagrees.
 * Returns 0, or OTA_EMISMATCH with err naming the format and both values.
 */
int fwmeta_check_version(
    const struct fwmeta *m, const char *v, char *err, size_t errlen);

/*
 * Suggests a descriptor name and version from m, for a user who gave
 * none: the name is the ESP-IDF project name, else the Blynk "fw-type",
 * when it is a valid descriptor name; the version the MCUboot version,
 * else the ESP-IDF version, else the Blynk "mcu" (a leading "v" dropped),
 * when it is valid SemVer.  Writes "" when there is none.  name needs 65
 * bytes, version 129.
 */
void fwmeta_suggest(const struct fwmeta *m, char *name, char *version);

/* The JSON form of m: {"mcuboot":{..}, "esp_app":{..}, "blynk":{..}}
 * with the formats found; a new reference, or NULL when m has none (or
 * out of memory). */
json_t *fwmeta_to_json(const struct fwmeta *m);

#endif
