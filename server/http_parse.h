/*
 * http_parse: the text of path segments and query arguments, read
 * strictly, and percent-encoding for the text otad writes in URLs and
 * headers.  Pure: no I/O, no state.
 */
#ifndef OTAD_HTTP_PARSE_H
#define OTAD_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses s, a path segment or query argument, as a decimal integer in
 * [min, max]: digits only (no sign, no spaces), no overflow.  Returns 0
 * and *out, or OTA_EINVAL (NULL or empty s too; *out untouched).
 */
int http_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Writes s percent-encoded into out (size bytes, NUL-terminated): a byte
 * for which keep() is true as is, any other as %XX (upper-case hex).  The
 * keep set is the caller's: RFC 3986 unreserved for a URL path segment,
 * RFC 8187 attr-char for a header's ext-value.  Returns 0, or OTA_ETOOBIG
 * when the result does not fit (out then holds a truncated prefix).
 */
int http_parse_pct_encode(
    const char *s, int (*keep)(unsigned char), char *out, size_t size);

#endif
