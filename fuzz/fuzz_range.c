/*
 * fuzz_range: the Range, If-Range and If-None-Match handling of downloads
 * (server/http_download.c: http_download_range_parse, http_download_plan).
 * The input is the file size (8 bytes, little-endian; fewer bytes: a
 * 1000-byte file) and then the header values Range, If-Range and
 * If-None-Match separated by '\n' (a missing one is absent).  Invariants:
 * a 206 range lies inside the file and is not empty; 416 only for a
 * "bytes=" range; an If-Range other than the ETag or an absent Range
 * always gives the whole file; 304 only with an If-None-Match; the plan
 * agrees with the range parser.
 */
#include <string.h>

#include "errors.h"
#include "fuzz.h"
#include "http_download.h"

#define ETAG                                                                   \
	"\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""

static void
check_range(const char *v, uint64_t size)
{
	uint64_t start = 7, len = 7;
	int r = http_download_range_parse(v, size, &start, &len);

	FUZZ_CHECK(r == 0 || r == 1 || r == OTA_ERANGE);
	if (r == 0) {
		FUZZ_CHECK(len >= 1 && start < size && len <= size - start);
	}
	if (r == OTA_ERANGE)
		FUZZ_CHECK(v != NULL && strncmp(v, "bytes=", 6) == 0);
	if (r != 0)
		FUZZ_CHECK(start == 7 && len == 7);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = 1000, start, len, rs = 0, rl = 0;
	char *h[3] = {NULL, NULL, NULL}, *text;
	size_t n = 0, pos = 0;
	int st, r;

	if (size >= 8) {
		fsize = 0;
		for (int i = 7; i >= 0; i--)
			fsize = fsize << 8 | data[i];
		data += 8;
		size -= 8;
	}
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* A NUL in the input ends the last value: headers hold none. */
	while (n < 3 && pos <= size && text[pos] != '\0') {
		char *nl = strchr(text + pos, '\n');

		h[n++] = text + pos;
		if (nl == NULL)
			break;
		*nl = '\0';
		pos = (size_t)(nl - text) + 1;
	}
	for (size_t i = 0; i < n; i++)
		check_range(h[i], fsize);
	check_range(NULL, fsize);

	st = http_download_plan(h[2], h[0], h[1], ETAG, fsize, &start, &len);
	FUZZ_CHECK(st == 200 || st == 206 || st == 304 || st == 416);
	if (st != 206)
		FUZZ_CHECK(start == 0 && len == fsize);
	if (st == 304)
		FUZZ_CHECK(h[2] != NULL);
	if (st == 206 || st == 416) {
		FUZZ_CHECK(h[0] != NULL);
		FUZZ_CHECK(h[1] == NULL || strcmp(h[1], ETAG) == 0);
		r = http_download_range_parse(h[0], fsize, &rs, &rl);
		FUZZ_CHECK(r == (st == 206 ? 0 : OTA_ERANGE));
		if (st == 206)
			FUZZ_CHECK(rs == start && rl == len);
	}
	if (h[0] == NULL || (h[1] != NULL && strcmp(h[1], ETAG) != 0))
		FUZZ_CHECK(st == 200 || st == 304);
	/* Without If-None-Match nothing is 304; with one that cannot
	 * match, the answer is the same as without it. */
	if (h[2] == NULL || strstr(h[2], ETAG) == NULL) {
		uint64_t s2, l2;
		int st2 =
		    http_download_plan(NULL, h[0], h[1], ETAG, fsize, &s2, &l2);

		if (h[2] == NULL || strcmp(h[2], "*") != 0)
			FUZZ_CHECK(st2 == st && s2 == start && l2 == len);
	}
	free(text);
	return 0;
}
