/*
 * http_download: byte ranges per RFC 9110 section 14, restricted to one
 * range per request (a multi-range request gets the whole file, which the
 * RFC allows).  If-Range only honours the strong ETag.
 */
#include "http_download.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_req.h"
#include "images.h"
#include "log.h"
#include "store_images.h"

#define DOWNLOAD_TLS_BLOCK (64 * 1024)

/* Parses an unsigned decimal without sign or spaces; 0 on success. */
static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
http_download_range_parse(
    const char *value, uint64_t size, uint64_t *out_start, uint64_t *out_len)
{
	const char *spec, *dash;
	uint64_t a, b;
	size_t len, alen;

	if (value == NULL || strncmp(value, "bytes=", 6) != 0)
		return 1;
	spec = value + 6;
	while (*spec == ' ')
		spec++;
	len = strlen(spec);
	while (len > 0 && spec[len - 1] == ' ')
		len--;
	if (memchr(spec, ',', len) != NULL)
		return 1;
	dash = memchr(spec, '-', len);
	if (dash == NULL)
		return 1;
	if (dash == spec) {
		/* suffix: the last b bytes */
		if (parse_u64(dash + 1, len - 1, &b) != 0)
			return 1;
		if (b == 0 || size == 0)
			return OTA_ERANGE;
		if (b > size)
			b = size;
		*out_start = size - b;
		*out_len = b;
		return 0;
	}
	alen = (size_t)(dash - spec);
	if (parse_u64(spec, alen, &a) != 0)
		return 1;
	if (alen + 1 == len) {
		b = size - 1; /* "a-": to the end */
	} else {
		if (parse_u64(dash + 1, len - alen - 1, &b) != 0 || b < a)
			return 1;
		if (b >= size)
			b = size - 1;
	}
	if (a >= size)
		return OTA_ERANGE;
	*out_start = a;
	*out_len = b - a + 1;
	return 0;
}

/* 1 when an If-None-Match list contains etag (or "*"). */
static int
etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = list;

	if (strcmp(list, "*") == 0)
		return 1;
	while ((p = strstr(p, etag)) != NULL) {
		const char *q = p + n;

		if ((p == list || p[-1] == ' ' || p[-1] == ',' ||
		        (p >= list + 2 && p[-1] == '/' && p[-2] == 'W')) &&
		    (*q == '\0' || *q == ',' || *q == ' '))
			return 1;
		p = q;
	}
	return 0;
}

int
http_download_plan(const char *inm, const char *range, const char *if_range,
    const char *etag, uint64_t size, uint64_t *out_start, uint64_t *out_len)
{
	uint64_t start = 0, len = size;
	int r;

	*out_start = 0;
	*out_len = size;
	if (inm != NULL && etag_listed(inm, etag))
		return 304;
	/* A Range under an If-Range that names another version of the file
	 * is ignored: the client gets the whole new file. */
	if (range == NULL || (if_range != NULL && strcmp(if_range, etag) != 0))
		return 200;
	r = http_download_range_parse(range, size, &start, &len);
	if (r == OTA_ERANGE)
		return 416;
	if (r != 0)
		return 200;
	*out_start = start;
	*out_len = len;
	return 206;
}

/* Bytes kept as is in the quoted filename= fallback. */
static int
cd_fallback_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~ ()[]{}@,=", c);
}

/* RFC 8187 attr-char: bytes kept as is in filename*. */
static int
cd_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c);
}

int
http_download_content_disposition(const char *filename, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)filename;
	size_t n = 0, i;
	int exact = 1;

#define CD_PUT(c)                                                              \
	do {                                                                   \
		if (n + 1 >= size)                                             \
			goto too_big;                                          \
		buf[n++] = (char)(c);                                          \
	} while (0)
	for (const char *h = "attachment; filename=\""; *h; h++)
		CD_PUT(*h);
	for (i = 0; p[i] != '\0'; i++) {
		/* strchr matches '\0' too: the loop stops before it. */
		if (cd_fallback_ok(p[i])) {
			CD_PUT(p[i]);
		} else {
			CD_PUT('_');
			exact = 0;
		}
	}
	CD_PUT('"');
	if (!exact) {
		for (const char *h = "; filename*=UTF-8''"; *h; h++)
			CD_PUT(*h);
	}
#undef CD_PUT
	buf[n] = '\0';
	if (!exact && http_parse_pct_encode(
	                  filename, cd_attr_char, buf + n, size - n) != 0)
		goto too_big;
	return 0;
too_big:
	snprintf(buf, size, "attachment");
	return OTA_ETOOBIG;
}

static void
common_headers(
    struct MHD_Response *resp, const char *etag, const char *filename)
{
	char cd[HTTP_DOWNLOAD_CD_MAX];

	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	MHD_add_response_header(
	    resp, "Content-Type", "application/octet-stream");
	/* Content-addressed: the bytes behind this ETag never change. */
	MHD_add_response_header(
	    resp, "Cache-Control", "private, max-age=31536000, immutable");
	if (filename != NULL && filename[0] != '\0') {
		/* A name too long for cd still downloads, as "attachment". */
		(void)http_download_content_disposition(
		    filename, cd, sizeof(cd));
		MHD_add_response_header(resp, "Content-Disposition", cd);
	}
}

/* A file range read for a TLS connection, in large blocks. */
struct tls_reader {
	int fd;
	uint64_t start;
};

static ssize_t
tls_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct tls_reader *r = cls;
	ssize_t n;

	if (r == NULL || buf == NULL || max == 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	do {
		n = pread(r->fd, buf, max, (off_t)(r->start + pos));
	} while (n < 0 && errno == EINTR);
	/* The size is known: a file shorter than its row is an error, not
	 * the end of a complete body. */
	if (n == 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static void
tls_reader_free(void *cls)
{
	struct tls_reader *r = cls;

	if (r == NULL)
		return;
	close(r->fd);
	free(r);
}

/*
 * The body of a download, owning fd (closed here on failure).  Plain HTTP
 * gets libmicrohttpd's file response, which uses sendfile(2).  Over TLS
 * that response reads 4 KiB at a time and so sends 4 KiB records; reading
 * DOWNLOAD_TLS_BLOCK at a time lets GnuTLS send full 16 KiB records, which
 * halves the CPU spent per byte.
 */
static struct MHD_Response *
body_response(struct http_req *req, int fd, uint64_t start, uint64_t len)
{
	struct MHD_Response *resp;
	struct tls_reader *r;

	if (!http_req_is_tls(req)) {
		resp = MHD_create_response_from_fd_at_offset64(len, fd, start);
		if (resp == NULL)
			close(fd);
		return resp;
	}
	r = malloc(sizeof(*r));
	if (r == NULL) {
		close(fd);
		return NULL;
	}
	r->fd = fd;
	r->start = start;
	resp = MHD_create_response_from_callback(
	    len, DOWNLOAD_TLS_BLOCK, tls_read, r, tls_reader_free);
	if (resp == NULL)
		tls_reader_free(r);
	return resp;
}

int
http_download_reply(struct http_req *req, int fd, uint64_t size,
    const char *sha256_hex, const char *filename)
{
	struct MHD_Response *resp;
	char etag[70], cr[80];
	uint64_t start = 0, len = size;
	int status;

	snprintf(etag, sizeof(etag), "\"%s\"", sha256_hex);
	status = http_download_plan(http_req_header(req, "If-None-Match"),
	    http_req_header(req, "Range"), http_req_header(req, "If-Range"),
	    etag, size, &start, &len);
	if (status == 304) {
		close(fd);
		resp = MHD_create_response_from_buffer(
		    0, "", MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return OTA_ENOMEM;
		MHD_add_response_header(resp, "ETag", etag);
		return http_reply(req, 304, resp, 0);
	}
	if (status == 416) {
		close(fd);
		resp = MHD_create_response_from_buffer(
		    0, "", MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return OTA_ENOMEM;
		snprintf(
		    cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
		MHD_add_response_header(resp, "Content-Range", cr);
		common_headers(resp, etag, NULL);
		return http_reply(req, 416, resp, 0);
	}
	resp = body_response(req, fd, start, len);
	if (resp == NULL)
		return OTA_ENOMEM;
	common_headers(resp, etag, filename);
	if (status == 206) {
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
		    (unsigned long long)start,
		    (unsigned long long)(start + len - 1),
		    (unsigned long long)size);
		MHD_add_response_header(resp, "Content-Range", cr);
	}
	return http_reply(req, status, resp,
	    strcmp(http_req_method(req), "HEAD") == 0 ? 0 : len);
}

int
http_download_blob(struct http_req *req, struct images *im,
    const struct store_image *img, const char *filename)
{
	const char *sha256_hex = img->desc.sha256_hex;
	uint64_t have, size = img->desc.size;
	int fd = -1, rc;

	rc = images_blob_open(im, img->id, sha256_hex, size, &fd, &have);
	if (rc == 0 && have != size) {
		log_err("msg=\"blob size differs from its row\" sha256=%s",
		    sha256_hex);
		rc = OTA_EIO;
	}
	if (rc != 0) {
		if (fd >= 0)
			close(fd);
		return http_reply_rc(req,
		    rc == OTA_ENOTFOUND || rc == OTA_EMISMATCH ? OTA_EIO : rc,
		    "image file unavailable");
	}
	return http_download_reply(req, fd, size, sha256_hex, filename);
}
