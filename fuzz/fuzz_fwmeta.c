/*
 * fuzz_fwmeta: fwmeta_read_head, fwmeta_find_blynk, fwmeta_read,
 * fwmeta_check_version, fwmeta_suggest and fwmeta_to_json
 * (server/fwmeta.c).  The input is a descriptor version, a '\n', then the
 * image's first bytes; the image is those bytes placed just before the
 * end of fwmeta_read's first 64 KiB window, zeros before them, so a tag
 * in them straddles the window edge.  Invariants: every field read lies
 * within the image and within its bounds; the windowed read finds the
 * same first tag as one scan of the whole image; a refusal names the
 * descriptor's version; a suggested version always agrees with an image
 * that carries one version source; the JSON exists exactly when a format
 * was found, and loads back.
 */
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "fwmeta.h"
#include "semver.h"

#include "fuzz.h"

/* Where the input's image bytes start in the image. */
#define LEAD (64 * 1024 - 300)

struct mem {
	const unsigned char *b;
	size_t len;
};

static int
mem_read(void *arg, uint64_t off, void *buf, size_t len, size_t *out_n)
{
	struct mem *m = arg;

	*out_n = off >= m->len ? 0 : m->len - off < len ? m->len - off : len;
	memcpy(buf, m->b + off, *out_n);
	return 0;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static void
check_meta(const struct fwmeta *m, const unsigned char *img, size_t size)
{
	if (m->has_mcuboot) {
		FUZZ_CHECK(m->mcuboot.hdr_size >= 32);
		FUZZ_CHECK(
		    (uint64_t)m->mcuboot.hdr_size + m->mcuboot.img_size <=
		    size);
		FUZZ_CHECK(!m->has_esp);
	}
	if (m->has_esp) {
		FUZZ_CHECK(
		    strlen(m->esp.version) <= 32 && printable(m->esp.version));
		FUZZ_CHECK(strlen(m->esp.project_name) <= 32 &&
		           printable(m->esp.project_name));
		FUZZ_CHECK(
		    strlen(m->esp.time) <= 16 && strlen(m->esp.date) <= 16);
		FUZZ_CHECK(strlen(m->esp.elf_sha256_hex) == 64);
	}
	if (m->has_blynk) {
		FUZZ_CHECK(m->blynk.count >= 1 &&
		           m->blynk.count <= FWMETA_BLYNK_MAX_PAIRS);
		FUZZ_CHECK(m->blynk.offset + 8 <= size);
		FUZZ_CHECK(memcmp(img + m->blynk.offset, "blnkinf", 8) == 0);
		for (size_t i = 0; i < m->blynk.count; i++) {
			FUZZ_CHECK(m->blynk.key[i][0] != '\0');
			FUZZ_CHECK(strlen(m->blynk.key[i]) <= 32);
			FUZZ_CHECK(strlen(m->blynk.value[i]) <= 64);
			FUZZ_CHECK(printable(m->blynk.key[i]) &&
			           printable(m->blynk.value[i]));
		}
	}
}

static void
check_version_rules(const struct fwmeta *m, const char *v)
{
	char err[400], name[65], version[129];
	json_t *j;
	char *text;
	int rc;

	rc = fwmeta_check_version(m, v, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == OTA_EMISMATCH || rc == OTA_EINVAL);
	FUZZ_CHECK((rc == OTA_EINVAL) == (semver_check(v, strlen(v)) != 0));
	if (rc != 0)
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) &&
		           strstr(err, v) != NULL);
	fwmeta_suggest(m, name, version);
	if (version[0] != '\0') {
		FUZZ_CHECK(semver_check(version, strlen(version)) == 0);
		if (!(m->has_blynk && (m->has_mcuboot || m->has_esp)))
			FUZZ_CHECK(fwmeta_check_version(
			               m, version, err, sizeof(err)) == 0);
	}
	FUZZ_CHECK(strlen(name) <= 64);
	j = fwmeta_to_json(m);
	FUZZ_CHECK(
	    (j != NULL) == (m->has_mcuboot || m->has_esp || m->has_blynk));
	if (j == NULL)
		return;
	text = json_dumps(j, JSON_COMPACT);
	FUZZ_CHECK(text != NULL);
	json_decref(j);
	j = json_loads(text, 0, NULL);
	FUZZ_CHECK(json_is_object(j));
	json_decref(j);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t vlen = nl != NULL ? (size_t)(nl - data) : 0;
	size_t blen = nl != NULL ? size - vlen - 1 : size;
	const uint8_t *bytes = nl != NULL ? nl + 1 : data;
	struct fwmeta head, whole, windowed;
	unsigned char *img = NULL, *own = NULL;
	struct mem mem;
	char v[SEMVER_MAX_LEN + 1];

	if (vlen > SEMVER_MAX_LEN || memchr(data, '\0', vlen) != NULL)
		return 0;
	memcpy(v, data, vlen);
	v[vlen] = '\0';
	/* The bytes alone, in a buffer of their exact size. */
	own = malloc(blen > 0 ? blen : 1);
	img = calloc(1, LEAD + blen);
	if (own == NULL || img == NULL)
		goto out;
	memcpy(own, bytes, blen);
	fwmeta_read_head(own, blen, blen, &head);
	fwmeta_find_blynk(own, blen, 0, 1, &head);
	check_meta(&head, own, blen);
	check_version_rules(&head, v);
	/* The same bytes at LEAD: one scan against the windows. */
	memcpy(img + LEAD, bytes, blen);
	fwmeta_read_head(img, LEAD + blen, LEAD + blen, &whole);
	fwmeta_find_blynk(img, LEAD + blen, 0, 1, &whole);
	mem = (struct mem){img, LEAD + blen};
	FUZZ_CHECK(fwmeta_read(mem_read, &mem, LEAD + blen, &windowed) == 0);
	check_meta(&windowed, img, LEAD + blen);
	FUZZ_CHECK(whole.has_blynk == windowed.has_blynk);
	FUZZ_CHECK(whole.has_blynk == head.has_blynk);
	if (whole.has_blynk) {
		FUZZ_CHECK(whole.blynk.offset == windowed.blynk.offset);
		FUZZ_CHECK(whole.blynk.count == windowed.blynk.count);
		FUZZ_CHECK(head.blynk.count == whole.blynk.count &&
		           head.blynk.offset + LEAD == whole.blynk.offset);
	}
out:
	free(own);
	free(img);
	return 0;
}
