/*
 * otactl_str: small string helpers of the commands: concatenation and
 * strict unsigned numbers.  Pure.
 */
#include "otactl_str.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

char *
otactl_str_cat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s;

	s = malloc(la + lb + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

int
otactl_str_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return OTA_EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return OTA_EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return OTA_EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}
