/*
 * otactl_str: small string helpers of the commands: concatenation and
 * strict unsigned numbers.  Pure.
 */
#ifndef OTACTL_STR_H
#define OTACTL_STR_H

#include <stdint.h>

/* Returns a new string "a" "b" (malloc'd), or NULL on
 * allocation failure. */
char *otactl_str_cat2(const char *a, const char *b);

/* Parses a decimal unsigned integer with no sign or junk.  0 or OTA_EINVAL. */
int otactl_str_parse_u64(const char *s, uint64_t *out);

#endif
