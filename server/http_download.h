/*
 * http_download: serves a stored file (an image blob) with the headers a
 * resumable downloader needs: ETag (the sha256), Accept-Ranges, single
 * byte ranges (206), If-Range, If-None-Match (304), HEAD, and 416 for an
 * unsatisfiable range.  The body is sent from the file descriptor, so
 * plain HTTP uses sendfile(2).
 */
#ifndef OTAD_HTTP_DOWNLOAD_H
#define OTAD_HTTP_DOWNLOAD_H

#include <stdint.h>

#include "http_server.h"

/*
 * Interprets a Range header value against a file of `size` bytes.
 * Returns 0 with the first byte and length of one satisfiable range;
 * 1 when the header should be ignored (absent, not "bytes=", malformed or
 * several ranges: the whole file is sent); OTA_ERANGE when it is
 * well-formed but unsatisfiable.  Pure.
 */
int http_download_range_parse(
    const char *value, uint64_t size, uint64_t *out_start, uint64_t *out_len);

/* Room for the Content-Disposition of a DESCRIPTOR_FILENAME_MAX name. */
#define HTTP_DOWNLOAD_CD_MAX 640

/*
 * Writes the Content-Disposition value for a download named filename
 * (UTF-8, any bytes) into buf[size] per RFC 6266: `attachment;
 * filename="..."` where the quoted name keeps only safe ASCII (others
 * become '_'), followed, when that changed the name, by `filename*=UTF-8''`
 * and the exact bytes percent-encoded (RFC 8187).  Returns 0, or
 * OTA_ETOOBIG when buf is too small (buf then holds "attachment").  Pure.
 */
int http_download_content_disposition(
    const char *filename, char *buf, size_t size);

/*
 * Decides a download's answer from its If-None-Match, Range and If-Range
 * header values (each NULL when absent) for a file of `size` bytes whose
 * strong ETag is etag (quoted).  Returns 304 (If-None-Match lists etag or
 * is "*"), 416 (a Range well-formed but unsatisfiable), 206 with the one
 * satisfiable range in *out_start and *out_len, or 200 with the whole file
 * (0 and size: no Range, an If-Range naming another ETag, or a Range to
 * ignore).  Pure.
 */
int http_download_plan(const char *inm, const char *range, const char *if_range,
    const char *etag, uint64_t size, uint64_t *out_start, uint64_t *out_len);

/*
 * Replies with the file open on fd (consumed: closed by the response or
 * here), of `size` bytes, whose strong ETag is the quoted sha256_hex.
 * filename, when not NULL, goes into Content-Disposition.  Returns 0 or an
 * OTA_E* code (after replying where possible).
 */
int http_download_reply(struct http_req *req, int fd, uint64_t size,
    const char *sha256_hex, const char *filename);

/*
 * http_download_reply for the bytes of image img (borrowed), opened by
 * images_blob_open of im (so a node whose cache lacks the file fills it
 * from the database first), which must be the size its row says: a
 * missing file or one of another size (logged) is answered 500 "image
 * file unavailable".  filename as http_download_reply's.  Returns 0 or an
 * OTA_E* code (after replying where possible).
 */
struct images;
struct store_image;
int http_download_blob(struct http_req *req, struct images *im,
    const struct store_image *img, const char *filename);

#endif
