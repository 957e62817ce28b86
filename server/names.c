/*
 * names: identifier alphabets, checked one way for the whole server.
 */
#include "names.h"

#include <string.h>

int
names_valid_len(const char *s, size_t len, size_t max, const char *punct)
{
	if (len < 1 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') ||
		        (ch != '\0' && strchr(punct, ch) != NULL)))
			return 0;
	}
	return 1;
}

int
names_valid(const char *s, size_t max, const char *punct)
{
	return names_valid_len(s, strnlen(s, max + 1), max, punct);
}
