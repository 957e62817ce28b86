/*
 * http_parse: strict readers for the text a client puts in a path or a
 * query string, and the percent-encoder for the text otad writes.  Pure.
 */
#include "http_parse.h"

#include <errno.h>
#include <stdlib.h>

#include "errors.h"

int
http_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return OTA_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return OTA_EINVAL;
	*out = v;
	return 0;
}

int
http_parse_pct_encode(
    const char *s, int (*keep)(unsigned char), char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (size == 0)
		return OTA_ETOOBIG;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (keep(ch)) {
			if (n + 1 >= size)
				break;
			out[n++] = (char)ch;
			continue;
		}
		if (n + 3 >= size)
			break;
		out[n++] = '%';
		out[n++] = hex[ch >> 4];
		out[n++] = hex[ch & 15];
	}
	out[n] = '\0';
	return *s == '\0' ? 0 : OTA_ETOOBIG;
}
