/*
 * manifest: pure functions of the manifest path.  Everything here is a
 * function of its arguments (and of libsodium, initialised by main), so
 * the same inputs always give the same bytes: that is what lets a 304 be
 * decided from the inputs, and several otad instances sharing one signing
 * key agree on ETags and URL tokens.
 */
#include "manifest.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundles.h"
#include "crypto.h"
#include "errors.h"
#include "timeutil.h"

#define URL_TOKEN_BYTES 32
#define URL_TOKEN_CONTEXT "otad-download-v1"
#define ETAG_CONTEXT "otad-manifest-v1"
#define HOST_MAX 255
#define URL_MAX 1024
#define BUNDLE_TEXT_PARTS BUNDLE_PARTS_MAX

void
manifest_times_at(int64_t now, int manifest_ttl_sec, int download_url_ttl_sec,
    struct manifest_times *out)
{
	int64_t window = manifest_ttl_sec / MANIFEST_WINDOWS_PER_TTL;
	int64_t rem;

	assert(window >= 1 && download_url_ttl_sec >= 1);
	rem = now % window;
	if (rem < 0) /* C rounds toward zero; a window starts below now */
		rem += window;
	out->issued = now - rem;
	out->expires = out->issued + manifest_ttl_sec;
	out->url_expires = out->issued + window + download_url_ttl_sec;
}

int
manifest_url_key_derive(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char out[MANIFEST_URL_KEY_BYTES])
{
	/* libsodium's Ed25519 secret key is seed || public key. */
	if (crypto_kdf_derive_from_key(
	        out, MANIFEST_URL_KEY_BYTES, 1, "otadurl1", sk) != 0)
		return OTA_ECRYPTO;
	return 0;
}

/* Feeds a string and its terminating NUL, the field delimiter. */
static void
hash_str(crypto_generichash_state *st, const char *s)
{
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s) + 1);
}

/* The raw token bytes for these values. */
static void
url_token_raw(const unsigned char key[MANIFEST_URL_KEY_BYTES],
    const char *device_id, int64_t image_id, const char *sha256_hex,
    int64_t expires, unsigned char out[URL_TOKEN_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(
	    &st, key, MANIFEST_URL_KEY_BYTES, URL_TOKEN_BYTES);
	hash_str(&st, URL_TOKEN_CONTEXT);
	hash_str(&st, device_id);
	crypto_feed_u64(&st, (uint64_t)image_id);
	hash_str(&st, sha256_hex);
	crypto_feed_u64(&st, (uint64_t)expires);
	crypto_generichash_final(&st, out, URL_TOKEN_BYTES);
	sodium_memzero(&st, sizeof(st));
}

void
manifest_url_token(const unsigned char key[MANIFEST_URL_KEY_BYTES],
    const char *device_id, int64_t image_id, const char *sha256_hex,
    int64_t expires, char out[MANIFEST_TOKEN_LEN])
{
	unsigned char raw[URL_TOKEN_BYTES];

	url_token_raw(key, device_id, image_id, sha256_hex, expires, raw);
	sodium_bin2base64(out, MANIFEST_TOKEN_LEN, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Parses 1..18 decimal digits (no sign, no blanks) into *out. */
static int
parse_unix(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n == 18)
			return OTA_EINVAL;
		v = v * 10 + (s[n] - '0');
	}
	if (n == 0)
		return OTA_EINVAL;
	*out = v;
	return 0;
}

int
manifest_url_token_check(const unsigned char key[MANIFEST_URL_KEY_BYTES],
    const char *device_id, int64_t image_id, const char *sha256_hex,
    const char *expires_s, const char *token, int64_t now, const char **out_why)
{
	unsigned char want[URL_TOKEN_BYTES], got[URL_TOKEN_BYTES];
	size_t got_len = 0;
	int64_t expires;
	int ok;

	if (expires_s == NULL || token == NULL ||
	    parse_unix(expires_s, &expires) != 0 ||
	    strlen(token) != MANIFEST_TOKEN_LEN - 1 ||
	    sodium_base642bin(got, sizeof(got), token, strlen(token), NULL,
	        &got_len, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    got_len != sizeof(got)) {
		*out_why = "invalid";
		return OTA_EFORBID;
	}
	url_token_raw(key, device_id, image_id, sha256_hex, expires, want);
	ok = sodium_memcmp(want, got, sizeof(want)) == 0;
	sodium_memzero(want, sizeof(want));
	if (!ok) {
		*out_why = "invalid";
		return OTA_EFORBID;
	}
	if (now >= expires) {
		*out_why = "expired";
		return OTA_EFORBID;
	}
	return 0;
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int
is_v6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* ":port" with port 1..65535, or "". */
static int
port_valid(const char *p)
{
	long v = 0;
	size_t n = 0;

	if (*p == '\0')
		return 1;
	if (*p++ != ':')
		return 0;
	for (; p[n] != '\0'; n++) {
		if (p[n] < '0' || p[n] > '9' || n == 5)
			return 0;
		v = v * 10 + (p[n] - '0');
	}
	return n > 0 && v >= 1 && v <= 65535;
}

int
manifest_host_valid(const char *host)
{
	const char *p;

	if (host == NULL || host[0] == '\0' || strlen(host) > HOST_MAX)
		return 0;
	if (host[0] == '[') {
		for (p = host + 1; is_v6_char(*p); p++)
			;
		if (*p != ']' || p - host < 3)
			return 0;
		return port_valid(p + 1);
	}
	for (p = host; is_name_char(*p); p++)
		;
	if (p == host)
		return 0;
	return port_valid(p);
}

int
manifest_base_url(const char *public_url, int tls, const char *host,
    char out[MANIFEST_BASE_URL_MAX])
{
	if (public_url != NULL && public_url[0] != '\0') {
		if (strlen(public_url) >= MANIFEST_BASE_URL_MAX)
			return OTA_EINVAL;
		memcpy(out, public_url, strlen(public_url) + 1);
		return 0;
	}
	if (!manifest_host_valid(host))
		return OTA_EINVAL;
	snprintf(out, MANIFEST_BASE_URL_MAX, "%s://%s", tls ? "https" : "http",
	    host);
	return 0;
}

void
manifest_image_digest(const unsigned char *descriptor, size_t len,
    const char *signatures_json, unsigned char out[MANIFEST_DIGEST_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, MANIFEST_DIGEST_BYTES);
	crypto_feed_u64(&st, (uint64_t)len);
	crypto_generichash_update(&st, descriptor, len);
	hash_str(&st, signatures_json);
	crypto_generichash_final(&st, out, MANIFEST_DIGEST_BYTES);
}

void
manifest_etag(const struct manifest_facts *f, char out[MANIFEST_ETAG_LEN])
{
	crypto_generichash_state st;
	unsigned char h[16];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	hash_str(&st, ETAG_CONTEXT);
	hash_str(&st, f->device_id);
	crypto_feed_u64(&st, (uint64_t)f->rollout_id);
	crypto_feed_u64(&st, (uint64_t)f->image_id);
	crypto_generichash_update(&st, f->image_digest, MANIFEST_DIGEST_BYTES);
	hash_str(&st, f->base_url);
	crypto_feed_u64(&st, (uint64_t)f->poll_interval_sec);
	crypto_feed_u64(&st, (uint64_t)f->times.issued);
	crypto_feed_u64(&st, (uint64_t)f->times.expires);
	crypto_feed_u64(&st, (uint64_t)f->times.url_expires);
	hash_str(&st, f->key_id);
	hash_str(&st, f->install.action != NULL ? f->install.action : "forced");
	crypto_feed_u64(&st, (uint64_t)f->install.forced_at);
	crypto_feed_u64(&st, (uint64_t)f->install.window_closed);
	crypto_feed_u64(&st, (uint64_t)f->install.window_next);
	hash_str(&st, f->install.consent != NULL ? f->install.consent : "");
	crypto_generichash_final(&st, h, sizeof(h));
	out[0] = '"';
	sodium_bin2hex(out + 1, 2 * sizeof(h) + 1, h, sizeof(h));
	out[1 + 2 * sizeof(h)] = '"';
	out[2 + 2 * sizeof(h)] = '\0';
}

int
manifest_etag_match(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm, *q;

	if (inm == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return 1;
		/* If-None-Match compares weakly: W/ does not matter. */
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return 0; /* malformed: no match, a full answer */
		q = strchr(p + 1, '"');
		if (q == NULL)
			return 0;
		if ((size_t)(q + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		p = q + 1;
	}
	return 0;
}

/* The signed download URL of image id for the device, into url. */
static void
download_url(const unsigned char url_key[MANIFEST_URL_KEY_BYTES],
    const char *base_url, const char *device_id, int64_t image_id,
    const char *sha256_hex, int64_t expires, char url[URL_MAX])
{
	char token[MANIFEST_TOKEN_LEN];

	manifest_url_token(
	    url_key, device_id, image_id, sha256_hex, expires, token);
	snprintf(url, URL_MAX,
	    "%s/api/v1/devices/%s/download/%lld?expires=%lld&token=%s",
	    base_url, device_id, (long long)image_id, (long long)expires,
	    token);
}

void
manifest_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    const char *body, size_t len, char out[MANIFEST_SIG_B64_LEN])
{
	unsigned char sig[crypto_sign_BYTES];

	crypto_sign_detached(sig, NULL, (const unsigned char *)body, len, sk);
	sodium_bin2base64(out, MANIFEST_SIG_B64_LEN, sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
}

/* ---- the bundle manifest, rendered once and filled in per poll ---- */

/*
 * A poll's text is '{"device":' DEVICE head, then per part pre SKIP mid
 * URL '}' (comma-separated), then '],"poll_interval_sec":..}'.
 *   head: ,"rollout":..,"bundle":..,"descriptor":..,"signatures":..,"parts":[
 *   pre:  {"component":..,"order":..,"via":..,"skip":
 *   mid:
 * ,"image":..,"descriptor":..,"signatures":..,"size":..,"sha256":..,"url":
 */
struct manifest_bundle_text {
	char *head;
	size_t head_len;
	size_t n;
	char *pre[BUNDLE_TEXT_PARTS];
	size_t pre_len[BUNDLE_TEXT_PARTS];
	char *mid[BUNDLE_TEXT_PARTS];
	size_t mid_len[BUNDLE_TEXT_PARTS];
};

void
manifest_bundle_text_free(struct manifest_bundle_text *t)
{
	if (t == NULL)
		return;
	free(t->head);
	for (size_t i = 0; i < t->n; i++) {
		free(t->pre[i]);
		free(t->mid[i]);
	}
	free(t);
}

/*
 * The members of object o (dropped) as compact text without its braces,
 * between before and after: a new string in *out (length *out_len).
 * Returns 0 or OTA_ENOMEM.
 */
static int
members_text(json_t *o, const char *before, const char *after, char **out,
    size_t *out_len)
{
	char *text, *r;
	size_t n, bl = strlen(before), al = strlen(after);

	if (o == NULL)
		return OTA_ENOMEM;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL || (n = strlen(text)) < 2 ||
	    (r = malloc(bl + n - 2 + al + 1)) == NULL) {
		free(text);
		return OTA_ENOMEM;
	}
	memcpy(r, before, bl);
	memcpy(r + bl, text + 1, n - 2);
	memcpy(r + bl + n - 2, after, al + 1);
	free(text);
	*out = r;
	*out_len = bl + n - 2 + al;
	return 0;
}

/*
 * An image as a manifest shows it: the members "image" to "sha256" of
 * p's image (its other fields unused) as compact text, after before and
 * followed by ,"url": (a part's mid, or an image manifest's after its
 * rollout).  Returns 0 with a new string in *out (length *out_len) or
 * OTA_ENOMEM.
 */
static int
image_text(const struct manifest_part *p, const char *before, char **out,
    size_t *out_len)
{
	// clang-format off
	return members_text(json_pack("{s:{s:I, s:s, s:s}, s:s, s:O, s:I, "
	    "s:s}",
	    "image",
	        "id", (json_int_t)p->image_id,
	        "name", p->image_name,
	        "version", p->image_version,
	    "descriptor", p->descriptor_b64,
	    "signatures", p->signatures,
	    "size", (json_int_t)p->size,
	    "sha256", p->sha256_hex),
	    before, ",\"url\":", out, out_len);
	// clang-format on
}

/* The fixed text of part p into t->pre[i] and t->mid[i]. */
static int
part_text(
    const struct manifest_part *p, struct manifest_bundle_text *t, size_t i)
{
	int rc;

	rc = members_text(
	    json_pack("{s:s, s:i, s:o}", "component", p->component, "order",
	        p->order, "via",
	        p->via[0] != '\0' ? json_string(p->via) : json_null()),
	    "{", ",\"skip\":", &t->pre[i], &t->pre_len[i]);
	if (rc != 0)
		return rc;
	return image_text(p, ",", &t->mid[i], &t->mid_len[i]);
}

int
manifest_bundle_text_new(
    const struct manifest_bundle_facts *f, struct manifest_bundle_text **out)
{
	struct manifest_bundle_text *t;
	int rc;

	*out = NULL;
	if (f->part_count > BUNDLE_TEXT_PARTS)
		return OTA_EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return OTA_ENOMEM;
	// clang-format off
	rc = members_text(json_pack("{s:I, s:{s:I, s:s, s:s}, s:s, s:O}",
	    "rollout", (json_int_t)f->rollout_id,
	    "bundle",
	        "id", (json_int_t)f->bundle_id,
	        "name", f->bundle_name,
	        "version", f->bundle_version,
	    "descriptor", f->descriptor_b64,
	    "signatures", f->signatures),
	    ",", ",\"parts\":[", &t->head, &t->head_len);
	// clang-format on
	for (size_t i = 0; rc == 0 && i < f->part_count; i++) {
		t->n = i + 1; /* so that free sees what is made */
		rc = part_text(&f->parts[i], t, i);
	}
	if (rc != 0) {
		manifest_bundle_text_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* Appends the JSON string of s to b at *at (room checked by the caller:
 * 2 * strlen(s) + 2 would do for the plain case; other strings go
 * through jansson).  Returns 0 or OTA_ENOMEM. */
static int
put_string(char **b, size_t *cap, size_t *at, const char *s)
{
	size_t n = strlen(s);
	char *enc = NULL, *grown;
	int plain = 1;

	for (size_t i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];

		plain = c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
	}
	if (!plain) {
		json_t *j = json_string(s);

		enc = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		if (enc == NULL)
			return OTA_ENOMEM;
		n = strlen(enc);
	}
	if (*at + n + 2 > *cap) {
		size_t want = (*at + n + 2) * 2;

		if ((grown = realloc(*b, want)) == NULL) {
			free(enc);
			return OTA_ENOMEM;
		}
		*b = grown;
		*cap = want;
	}
	if (enc != NULL) {
		memcpy(*b + *at, enc, n);
		*at += n;
		free(enc);
		return 0;
	}
	(*b)[(*at)++] = '"';
	memcpy(*b + *at, s, n);
	*at += n;
	(*b)[(*at)++] = '"';
	return 0;
}

/* Appends buf[0..n) to b at *at, growing it.  0 or OTA_ENOMEM. */
static int
put_bytes(char **b, size_t *cap, size_t *at, const char *buf, size_t n)
{
	char *grown;

	if (*at + n + 1 > *cap) {
		size_t want = (*at + n + 1) * 2;

		if ((grown = realloc(*b, want)) == NULL)
			return OTA_ENOMEM;
		*b = grown;
		*cap = want;
	}
	memcpy(*b + *at, buf, n);
	*at += n;
	return 0;
}

/* *out the JSON of RFC 3339 time t ("\"...Z\""), or null for 0. */
static void
time_text(int64_t t, char out[TIMEUTIL_RFC3339_LEN + 2])
{
	char buf[TIMEUTIL_RFC3339_LEN];

	if (t == 0) {
		snprintf(out, TIMEUTIL_RFC3339_LEN + 2, "null");
		return;
	}
	timeutil_format_rfc3339(t, buf);
	snprintf(out, TIMEUTIL_RFC3339_LEN + 2, "\"%s\"", buf);
}

/* Appends the install keys of in, in manifest_build's order, and the
 * closing brace (as jansson writes them: check_manifest compares every
 * byte).  0 or OTA_ENOMEM. */
static int
install_text(
    const struct manifest_install *in, char **b, size_t *cap, size_t *at)
{
	char forced[TIMEUTIL_RFC3339_LEN + 2], opens[TIMEUTIL_RFC3339_LEN + 2];
	char closes[TIMEUTIL_RFC3339_LEN + 2], text[256];
	int n, rc;

	time_text(in->forced_at, forced);
	time_text(in->window_closed ? in->window_next : 0, opens);
	time_text(in->window_closed ? 0 : in->window_next, closes);
	if ((rc = put_bytes(b, cap, at, "\"action\":", 9)) != 0 ||
	    (rc = put_string(
	         b, cap, at, in->action != NULL ? in->action : "forced")) != 0)
		return rc;
	/* in->consent is rollout_consent_name's: no character to escape. */
	n = snprintf(text, sizeof(text),
	    ",\"forced_at\":%s,\"maintenance_window\":\"%s\","
	    "\"window_opens_at\":%s,\"window_closes_at\":%s%s%s%s}",
	    forced, in->window_closed ? "unavailable" : "available", opens,
	    closes, in->consent != NULL ? ",\"consent\":\"" : "",
	    in->consent != NULL ? in->consent : "",
	    in->consent != NULL ? "\"" : "");
	return put_bytes(b, cap, at, text, (size_t)n);
}

/* A new text of cap bytes (*b, *cap, *at) that opens a manifest of
 * device_id: '{"device":' and the id.  0 or OTA_ENOMEM (*b NULL). */
static int
render_begin(char **b, size_t *cap, size_t *at, const char *device_id)
{
	int rc;

	*at = 0;
	if ((*b = malloc(*cap)) == NULL)
		return OTA_ENOMEM;
	if ((rc = put_bytes(b, cap, at, "{\"device\":", 10)) != 0 ||
	    (rc = put_string(b, cap, at, device_id)) != 0) {
		free(*b);
		*b = NULL;
	}
	return rc;
}

/*
 * Ends the manifest text b (at of cap bytes; taken, freed on failure):
 * before, then the poll interval, times and install keys and the closing
 * brace, in the order manifest_build and manifest_bundle_build give.
 * Returns 0 with the text in *out_body and its length in *out_len, or
 * OTA_ENOMEM.
 */
static int
render_end(char *b, size_t cap, size_t at, const char *before,
    int poll_interval_sec, const struct manifest_times *times,
    const struct manifest_install *in, char **out_body, size_t *out_len)
{
	char tail[96];
	int rc, n;

	n = snprintf(tail, sizeof(tail),
	    "%s,\"poll_interval_sec\":%d,\"issued\":%lld,\"expires\":%lld,",
	    before, poll_interval_sec, (long long)times->issued,
	    (long long)times->expires);
	if ((rc = put_bytes(&b, &cap, &at, tail, (size_t)n)) != 0 ||
	    (rc = install_text(in, &b, &cap, &at)) != 0) {
		free(b);
		return rc;
	}
	b[at] = '\0';
	*out_body = b;
	*out_len = at;
	return 0;
}

/* ---- the image manifest, rendered once and filled in per poll ---- */

/*
 * A poll's text is '{"device":' DEVICE mid URL tail, where
 *   mid:  ,"rollout":..,"image":..,"descriptor":..,"signatures":..,
 *         "size":..,"sha256":..,"url":
 *   tail: ,"poll_interval_sec":..,"issued":..,"expires":.. and install_text
 */
struct manifest_text {
	char *mid;
	size_t mid_len;
};

int
manifest_text_new(const struct manifest_facts *f, struct manifest_text **out)
{
	const struct manifest_part img = {.image_id = f->image_id,
	    .image_name = f->image_name,
	    .image_version = f->image_version,
	    .descriptor_b64 = f->descriptor_b64,
	    .signatures = f->signatures,
	    .size = f->size,
	    .sha256_hex = f->sha256_hex};
	char before[32];
	struct manifest_text *t;
	int rc;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return OTA_ENOMEM;
	/* "rollout" as jansson writes an integer. */
	snprintf(before, sizeof(before), ",\"rollout\":%lld,",
	    (long long)f->rollout_id);
	rc = image_text(&img, before, &t->mid, &t->mid_len);
	if (rc != 0) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void
manifest_text_free(struct manifest_text *t)
{
	if (t == NULL)
		return;
	free(t->mid);
	free(t);
}

int
manifest_render(const struct manifest_text *t, const struct manifest_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len)
{
	size_t cap = t->mid_len + URL_MAX + 512, at;
	char url[URL_MAX], *b;
	int rc;

	download_url(url_key, f->base_url, f->device_id, f->image_id,
	    f->sha256_hex, f->times.url_expires, url);
	if ((rc = render_begin(&b, &cap, &at, f->device_id)) != 0)
		return rc;
	if ((rc = put_bytes(&b, &cap, &at, t->mid, t->mid_len)) != 0 ||
	    (rc = put_string(&b, &cap, &at, url)) != 0) {
		free(b);
		return rc;
	}
	return render_end(b, cap, at, "", f->poll_interval_sec, &f->times,
	    &f->install, out_body, out_len);
}

int
manifest_build(const struct manifest_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len)
{
	struct manifest_text *t = NULL;
	int rc = manifest_text_new(f, &t);

	if (rc == 0)
		rc = manifest_render(t, f, url_key, out_body, out_len);
	manifest_text_free(t);
	return rc;
}

int
manifest_bundle_render(const struct manifest_bundle_text *t,
    const struct manifest_bundle_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len)
{
	size_t cap = t->head_len + 256, at;
	char url[URL_MAX], *b;
	int rc;

	if (f->part_count != t->n)
		return OTA_EINVAL;
	for (size_t i = 0; i < t->n; i++)
		cap += t->pre_len[i] + t->mid_len[i] + URL_MAX + 8;
	if ((rc = render_begin(&b, &cap, &at, f->device_id)) != 0)
		return rc;
	rc = put_bytes(&b, &cap, &at, t->head, t->head_len);
	for (size_t i = 0; rc == 0 && i < t->n; i++) {
		const struct manifest_part *p = &f->parts[i];

		download_url(url_key, f->base_url, f->device_id, p->image_id,
		    p->sha256_hex, f->times.url_expires, url);
		if ((i > 0 && (rc = put_bytes(&b, &cap, &at, ",", 1)) != 0) ||
		    (rc = put_bytes(&b, &cap, &at, t->pre[i], t->pre_len[i])) !=
		        0 ||
		    (rc = put_bytes(&b, &cap, &at, p->skip ? "true" : "false",
		         p->skip ? 4 : 5)) != 0 ||
		    (rc = put_bytes(&b, &cap, &at, t->mid[i], t->mid_len[i])) !=
		        0 ||
		    (rc = put_string(&b, &cap, &at, url)) != 0)
			break;
		rc = put_bytes(&b, &cap, &at, "}", 1);
	}
	if (rc != 0) {
		free(b);
		return rc;
	}
	return render_end(b, cap, at, "]", f->poll_interval_sec, &f->times,
	    &f->install, out_body, out_len);
}

int
manifest_bundle_build(const struct manifest_bundle_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len)
{
	struct manifest_bundle_text *t = NULL;
	int rc = manifest_bundle_text_new(f, &t);

	if (rc == 0)
		rc = manifest_bundle_render(t, f, url_key, out_body, out_len);
	manifest_bundle_text_free(t);
	return rc;
}

void
manifest_etag_body(const char *body, size_t len, const char *key_id,
    char out[MANIFEST_ETAG_LEN])
{
	crypto_generichash_state st;
	unsigned char h[16];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)body, len);
	/* The signature header names the key: a body signed by another key
	 * is another answer (a restart with a new server key). */
	crypto_generichash_update(
	    &st, (const unsigned char *)key_id, strlen(key_id) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	out[0] = '"';
	sodium_bin2hex(out + 1, 33, h, sizeof(h));
	out[33] = '"';
	out[34] = '\0';
}
