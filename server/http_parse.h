/*
 * http_parse: the text of path segments and query arguments, read
 * strictly.  Pure: no I/O, no state.
 */
#ifndef OTAD_HTTP_PARSE_H
#define OTAD_HTTP_PARSE_H

#include <stdint.h>

/*
 * Parses s, a path segment or query argument, as a decimal integer in
 * [min, max]: digits only (no sign, no spaces), no overflow.  Returns 0
 * and *out, or OTA_EINVAL (NULL or empty s too; *out untouched).
 */
int http_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
