/*
 * http_parse: strict readers for the text a client puts in a path or a
 * query string.  Pure.
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
