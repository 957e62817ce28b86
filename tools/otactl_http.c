/*
 * otactl_http: the libcurl client of the server-side commands.  Resolves
 * the server URL (https only: the API token is never sent in clear), the
 * token (OTACTL_TOKEN or --token-file, never argv) into sodium_malloc
 * memory, and the CA bundle; collects bounded response bodies and turns
 * the server's JSON errors into one line.  Never prints the token.
 */
#include "otactl_http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "crypto.h"
#include "errors.h"
#include "fsutil.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_str.h"

#define TOKEN_FILE_MAX 4096         /* the token is its first line */
#define TOKEN_MAX 255               /* longer is certainly not a token */
#define BODY_MAX (16 * 1024 * 1024) /* largest response body kept */
#define SHOW_MAX 300                /* longest server text echoed */

int
otactl_http_option(struct otactl *ctx, int id, const char *val)
{
	switch (id) {
	case OTACTL_OPT_SERVER:
		ctx->server = val;
		return 1;
	case OTACTL_OPT_TOKEN_FILE:
		ctx->token_file = val;
		return 1;
	case OTACTL_OPT_CACERT:
		ctx->cacert = val;
		return 1;
	default:
		return 0;
	}
}

/*
 * Copies the first line of src[0..len), without surrounding white space,
 * into dst (TOKEN_MAX + 1 bytes).  Returns 0, or -1 when it is empty or
 * too long.
 */
static int
token_first_line(const char *src, size_t len, char *dst)
{
	size_t b = 0, e;

	for (e = 0; e < len && src[e] != '\n' && src[e] != '\r'; e++)
		;
	while (b < e && isspace((unsigned char)src[b]))
		b++;
	while (e > b && isspace((unsigned char)src[e - 1]))
		e--;
	if (e == b || e - b > TOKEN_MAX)
		return -1;
	memcpy(dst, src + b, e - b);
	dst[e - b] = '\0';
	return 0;
}

/*
 * Reads the token file's first line into h->token.  The raw bytes only
 * ever sit in sodium_malloc memory (wiped by sodium_free).  Returns 0 or
 * -1 after printing why.
 */
static int
token_from_file(struct otactl_http *h, const char *path)
{
	char *raw = NULL;
	size_t len = 0;
	int fd = -1, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	raw = sodium_malloc(TOKEN_FILE_MAX);
	if (fd < 0 || raw == NULL) {
		otactl_err(
		    "%s: %s", path, fd < 0 ? strerror(errno) : "out of memory");
		goto out;
	}
	if (fsutil_read_full(fd, raw, TOKEN_FILE_MAX, &len) != 0) {
		otactl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	if (token_first_line(raw, len, h->token) != 0) {
		otactl_err("%s: no API token on its first line", path);
		goto out;
	}
	rc = 0;
out:
	if (raw != NULL)
		sodium_free(raw);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Fills h->token from --token-file (preferred) or OTACTL_TOKEN and checks
 * that it has a token's shape.  Returns 0 or -1 after printing why.
 */
static int
load_token(struct otactl *ctx, struct otactl_http *h)
{
	const char *env = getenv("OTACTL_TOKEN");
	unsigned char hash[CRYPTO_HASH_LEN];
	char id[CRYPTO_TOKEN_ID_LEN];
	const char *from;

	h->token = sodium_malloc(TOKEN_MAX + 1);
	if (h->token == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	if (ctx->token_file != NULL) {
		from = ctx->token_file;
		if (token_from_file(h, ctx->token_file) != 0)
			return -1;
	} else if (env != NULL && env[0] != '\0') {
		from = "OTACTL_TOKEN";
		if (token_first_line(env, strlen(env), h->token) != 0) {
			otactl_err("OTACTL_TOKEN: not an API token");
			return -1;
		}
	} else {
		otactl_err("no API token: set OTACTL_TOKEN or use "
		           "--token-file FILE");
		return -1;
	}
	if (crypto_token_parse(h->token, id, hash) != 0) {
		otactl_err(
		    "%s: not an otad API token (otad_<id>_<secret>)", from);
		return -1;
	}
	sodium_memzero(hash, sizeof(hash));
	return 0;
}

/*
 * Sets h->base from --server, OTACTL_SERVER or the default, without
 * trailing slashes.  Returns 0 or -1 after printing why.
 */
static int
load_server(struct otactl *ctx, struct otactl_http *h)
{
	const char *s = ctx->server;
	size_t len;

	if (s == NULL)
		s = getenv("OTACTL_SERVER");
	if (s == NULL || s[0] == '\0')
		s = OTACTL_DEFAULT_SERVER;
	if (strncasecmp(s, "https://", 8) != 0 || s[8] == '\0') {
		otactl_err("server '%s': not an https:// URL (the API token "
		           "is never sent in clear)",
		    s);
		return -1;
	}
	h->base = strdup(s);
	if (h->base == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	len = strlen(h->base);
	while (len > 8 && h->base[len - 1] == '/')
		h->base[--len] = '\0';
	return 0;
}

/*
 * Chooses the CA bundle: --cacert, OTACTL_CACERT, <data_dir>/tls/cert.pem
 * when present (otad's development certificate), else the system store
 * (*out NULL).  *out is new (free()).  Returns 0 or -1 after printing why.
 */
static int
load_cacert(struct otactl *ctx, char **out)
{
	const char *s = ctx->cacert, *dir;

	*out = NULL;
	if (s == NULL || s[0] == '\0')
		s = getenv("OTACTL_CACERT");
	if (s != NULL && s[0] != '\0') {
		*out = strdup(s);
	} else {
		if ((dir = otactl_ctx_data_dir(ctx)) == NULL)
			return -1;
		*out = otactl_str_cat2(dir, "/tls/cert.pem");
		if (*out != NULL && !otactl_file_exists(*out)) {
			free(*out);
			*out = NULL;
			return 0;
		}
	}
	if (*out == NULL) {
		otactl_err("out of memory");
		return -1;
	}
	return 0;
}

/* libcurl write callback: appends to h->body up to BODY_MAX bytes, or
 * hands a 200 answer to h->sink when set. */
static size_t
body_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct otactl_http *h = arg;
	size_t n = size * nmemb, cap;
	long status = 0;
	char *p;

	if (h->sink != NULL) {
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200)
			return h->sink(data, n, h->sink_arg);
	}
	if (n > BODY_MAX - h->body_len) {
		h->body_overflow = 1;
		return 0;
	}
	if (h->body_len + n + 1 > h->body_cap) {
		cap = h->body_cap ? h->body_cap : 4096;
		while (cap < h->body_len + n + 1)
			cap *= 2;
		/* Not realloc: the old buffer may hold a token; wipe it. */
		if ((p = malloc(cap)) == NULL)
			return 0;
		if (h->body != NULL) {
			memcpy(p, h->body, h->body_len);
			sodium_memzero(h->body, h->body_cap);
			free(h->body);
		}
		h->body = p;
		h->body_cap = cap;
	}
	memcpy(h->body + h->body_len, data, n);
	h->body_len += n;
	h->body[h->body_len] = '\0';
	return n;
}

/* Sets the options every request shares.  Returns 0 or -1 (printed). */
static int
set_common(struct otactl_http *h, const char *cacert)
{
	CURL *c = h->curl;
	CURLcode r = CURLE_OK;

	/* Each call may fail only for out of memory or an old libcurl. */
	r |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	r |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	r |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	r |= curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
	r |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	r |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	r |= curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	r |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	r |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	r |= curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	r |= curl_easy_setopt(c, CURLOPT_USERAGENT, OTACTL_USER_AGENT);
	r |= curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	r |= curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, h->token);
	if (cacert != NULL)
		r |= curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	if (r != CURLE_OK) {
		otactl_err("cannot set up libcurl");
		return -1;
	}
	return 0;
}

int
otactl_http_open(struct otactl *ctx, struct otactl_http *h)
{
	char *cacert = NULL;
	int rc = -1;

	memset(h, 0, sizeof(*h));
	if (load_server(ctx, h) != 0 || load_token(ctx, h) != 0 ||
	    load_cacert(ctx, &cacert) != 0)
		goto out;
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		otactl_err("cannot set up libcurl");
		goto out;
	}
	rc = set_common(h, cacert);
out:
	free(cacert); /* libcurl keeps its own copy */
	return rc;
}

void
otactl_http_close(struct otactl_http *h)
{
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	if (h->token != NULL)
		sodium_free(h->token);
	free(h->base);
	/* Answers may carry device or gateway tokens. */
	if (h->body != NULL)
		sodium_memzero(h->body, h->body_cap);
	free(h->body);
	memset(h, 0, sizeof(*h));
}

int
otactl_http_perform(struct otactl_http *h, const char *what, long *out_status)
{
	CURLcode res;
	long status = 0;

	h->body_len = 0;
	if (h->body != NULL)
		h->body[0] = '\0';
	h->body_overflow = 0;
	h->errbuf[0] = '\0';
	res = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	/* A server may answer 4xx before reading the whole upload and
	 * close; its answer says more than the send error. */
	if (res != CURLE_OK && !(status >= 400 && !h->body_overflow)) {
		if (h->body_overflow)
			otactl_err("%s failed: response over %d bytes", what,
			    BODY_MAX);
		else
			otactl_err("%s failed: %s", what,
			    h->errbuf[0] != '\0' ? h->errbuf
			                         : curl_easy_strerror(res));
		return -1;
	}
	*out_status = status;
	return 0;
}

/*
 * Copies at most SHOW_MAX bytes of the first line of s into out (SHOW_MAX
 * + 1 bytes), replacing control characters: server text is untrusted and
 * goes to a terminal.
 */
static void
sanitize(const char *s, char *out)
{
	size_t i;

	for (i = 0; i < SHOW_MAX && s[i] != '\0' && s[i] != '\n'; i++)
		out[i] =
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
}

void
otactl_http_report(const struct otactl_http *h, const char *what, long status)
{
	char e[SHOW_MAX + 1], d[SHOW_MAX + 1];
	const char *es, *ds;
	json_t *j;

	j = json_loadb(h->body != NULL ? h->body : "", h->body_len, 0, NULL);
	es = json_string_value(json_object_get(j, "error"));
	ds = json_string_value(json_object_get(j, "detail"));
	if (es == NULL && h->body_len > 0 && !json_is_object(j))
		es = h->body;
	if (es == NULL) {
		otactl_err("%s failed: HTTP %ld", what, status);
	} else {
		sanitize(es, e);
		if (ds != NULL && ds[0] != '\0') {
			sanitize(ds, d);
			otactl_err(
			    "%s failed: HTTP %ld: %s: %s", what, status, e, d);
		} else {
			otactl_err("%s failed: HTTP %ld: %s", what, status, e);
		}
	}
	json_decref(j);
}

json_t *
otactl_http_json(const struct otactl_http *h, const char *what)
{
	json_error_t err;
	json_t *j;

	j = json_loadb(h->body != NULL ? h->body : "", h->body_len, 0, &err);
	if (j == NULL)
		otactl_err("%s: server sent invalid JSON: %s", what, err.text);
	return j;
}
