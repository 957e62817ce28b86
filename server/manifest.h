/*
 * manifest: the pure parts of what a polling device receives: the time
 * window that makes a manifest byte-identical for a while (so ETag/304
 * work), the ETag computed from the inputs alone (a 304 costs no JSON and
 * no signature), the compact JSON body, its Ed25519 signature, and the
 * signed download-URL token.  No I/O, no globals; docs/manifests.md is the
 * device-side description.
 */
#ifndef OTAD_MANIFEST_H
#define OTAD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#define MANIFEST_URL_KEY_BYTES 32 /* crypto_kdf_KEYBYTES */
#define MANIFEST_TOKEN_LEN 44     /* 43 base64url characters + NUL */
#define MANIFEST_ETAG_LEN 35      /* "\"" + 32 hex + "\"" + NUL */
#define MANIFEST_SIG_B64_LEN 89   /* base64 of 64 bytes + NUL */
#define MANIFEST_DIGEST_BYTES 16  /* manifest_image_digest */
#define MANIFEST_BASE_URL_MAX 300 /* "https://" + host[:port] */
/* Windows per manifest lifetime: a body changes at most every ttl/24. */
#define MANIFEST_WINDOWS_PER_TTL 24

/*
 * The times of a manifest served at `now` (unix seconds): issued is now
 * rounded down to a window of manifest_ttl_sec / MANIFEST_WINDOWS_PER_TTL
 * seconds, expires = issued + manifest_ttl_sec, and the download URL's
 * expiry url_expires = issued + window + download_url_ttl_sec (so a URL
 * served at any moment of the window stays valid at least
 * download_url_ttl_sec).  ttls must be >= MANIFEST_WINDOWS_PER_TTL and
 * >= 1 (assert).  Pure.
 */
struct manifest_times {
	int64_t issued;
	int64_t expires;
	int64_t url_expires;
};
void manifest_times_at(int64_t now, int manifest_ttl_sec,
    int download_url_ttl_sec, struct manifest_times *out);

/*
 * Derives the key of download-URL tokens from the server's Ed25519 secret
 * key (libsodium's 64 bytes; its first 32 are the seed) with
 * crypto_kdf_derive_from_key (subkey 1, context "otadurl1"), so every
 * instance that shares the signing key agrees on URL tokens.  out should
 * be sodium_malloc'd.  Returns 0 or OTA_ECRYPTO.
 */
int manifest_url_key_derive(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    unsigned char out[MANIFEST_URL_KEY_BYTES]);

/*
 * The token of a download URL: BLAKE2b-256 keyed with the URL key over
 * "otad-download-v1", the device id, the image id, the image's sha256 (so
 * a token never fetches other bytes, even if an image id is reused) and
 * the expiry, each field delimited; base64url without padding (43 chars).
 * device_id must be 1..128 bytes.  Pure.
 */
void manifest_url_token(const unsigned char key[MANIFEST_URL_KEY_BYTES],
    const char *device_id, int64_t image_id, const char *sha256_hex,
    int64_t expires, char out[MANIFEST_TOKEN_LEN]);

/*
 * Checks the query values of a download URL (expires_s, token: the raw
 * query strings, NULL when absent) for device_id and image id at now.
 * The token is compared in constant time, and before the expiry, so a
 * forged token is "invalid" whatever its expiry.  Returns 0 when valid;
 * OTA_EFORBID with *out_why = "invalid" (absent, malformed or not made
 * with this key for these values) or "expired" (genuine but past its
 * expiry).  *out_why is a static string; set only on failure.  Pure.
 */
int manifest_url_token_check(const unsigned char key[MANIFEST_URL_KEY_BYTES],
    const char *device_id, int64_t image_id, const char *sha256_hex,
    const char *expires_s, const char *token, int64_t now,
    const char **out_why);

/*
 * The base of URLs in manifests: public_url when it is not empty (already
 * validated by config), else "http://" or "https://" (by tls) followed by
 * the request's Host header.  host must be a host name, IPv4 address or
 * bracketed IPv6 address, with an optional :port (1..65535), at most 255
 * bytes.  Writes out (MANIFEST_BASE_URL_MAX bytes).  Returns 0, or
 * OTA_EINVAL for a missing or malformed Host (out untouched).  Pure.
 */
int manifest_base_url(const char *public_url, int tls, const char *host,
    char out[MANIFEST_BASE_URL_MAX]);

/* 1 when host is a valid Host header value (as above), else 0. */
int manifest_host_valid(const char *host);

/*
 * A digest of an image's descriptor bytes and signatures text (BLAKE2b,
 * MANIFEST_DIGEST_BYTES), computed once per image by the offer cache and
 * fed to manifest_etag: two images that would give different bodies never
 * share a digest.  Pure.
 */
void manifest_image_digest(const unsigned char *descriptor, size_t len,
    const char *signatures_json, unsigned char out[MANIFEST_DIGEST_BYTES]);

/*
 * How an offered update installs (docs/manifests.md "Installing"): the
 * rollout's action at the time of the manifest ("forced", "soft" or
 * "download-only"; a time-forced rollout is soft until forced_at) and its
 * maintenance windows: window_closed 1 means "not now", window_next when
 * that changes (0: not known, or no window applies).  A zeroed value is
 * "forced, now" (action NULL is "forced").
 */
struct manifest_install {
	const char *action;
	int64_t forced_at; /* unix seconds, 0: none */
	int window_closed;
	int64_t window_next;
	/* "required", "given" (rollout_consent_name), NULL: not asked */
	const char *consent;
};

/*
 * Everything a manifest body is made of.  All pointers are borrowed for
 * the call.  device_id, image_name, image_version, sha256_hex and
 * descriptor_b64 are validated text (no characters that JSON escapes are
 * required, but any are escaped correctly); signatures is the uploaded
 * JSON array, embedded as is.
 */
struct manifest_facts {
	const char *device_id;
	int64_t rollout_id;
	int64_t image_id;
	const char *image_name;
	const char *image_version;
	const char *descriptor_b64;
	json_t *signatures;
	uint64_t size;
	const char *sha256_hex;
	const unsigned char *image_digest; /* manifest_image_digest */
	const char *base_url;              /* manifest_base_url */
	int poll_interval_sec;
	struct manifest_times times;
	const char *key_id; /* the server key's id (signature header) */
	struct manifest_install install;
};

/*
 * The strong ETag ("\"<32 hex>\"") of the manifest f describes: BLAKE2b
 * over the values that determine the body and its signature header
 * (device, rollout, image id and digest, base URL, poll interval, times,
 * key id, install), computed without building or signing anything.  Equal
 * inputs give equal ETags; any change to one of them changes it.  Pure.
 */
void manifest_etag(const struct manifest_facts *f, char out[MANIFEST_ETAG_LEN]);

/*
 * 1 when an If-None-Match header value (a list of entity tags, "*", weak
 * tags "W/\"...\"" compared weakly) names etag, else 0.  NULL-safe.
 */
int manifest_etag_match(const char *if_none_match, const char *etag);

/*
 * Builds the manifest body: compact JSON, keys in this order
 *   {"device","rollout","image":{"id","name","version"},"descriptor",
 *    "signatures","size","sha256","url","poll_interval_sec","issued",
 *    "expires","action","forced_at","maintenance_window",
 *    "window_opens_at","window_closes_at"[,"consent"]}
 * with forced_at null unless set, consent only when install.consent is
 * set ("required" or "given"), maintenance_window "available" or
 * "unavailable", window_opens_at the next opening while unavailable and
 * window_closes_at the closing while available and a window applies (RFC
 * 3339, else null)
 * where url = base_url "/api/v1/devices/<id>/download/<image id>
 * ?expires=<url_expires>&token=<manifest_url_token>" (manifest_text_new
 * then manifest_render: a poll renders the text its snapshot keeps).
 * Returns 0 with a new malloc'd text in *out_body (NUL-terminated, caller
 * frees) and its length in *out_len, or OTA_ENOMEM.  Pure (but for
 * allocation).
 */
int manifest_build(const struct manifest_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len);

/*
 * The text of an image rollout's manifest that is the same at every poll
 * (f's rollout, image, descriptor, signatures, size and sha256), rendered
 * once by manifest_text_new with jansson, so that manifest_render makes
 * manifest_build's bytes by copying it around what a poll changes: the
 * device, the signed url, the poll interval, the times and the install
 * keys.  A poll used to pack and dump the whole object with jansson, a
 * sixth of its CPU time at 1M devices (bench/README.md).  Immutable once
 * made: shared by threads.
 */
struct manifest_text;

/* Renders the fixed text of f (its other fields unused) into *out.
 * Returns 0 or OTA_ENOMEM (invalid UTF-8 included, as manifest_build). */
int manifest_text_new(
    const struct manifest_facts *f, struct manifest_text **out);
/* NULL-safe. */
void manifest_text_free(struct manifest_text *t);

/*
 * The manifest of f (manifest_build's text), whose fixed part t was made
 * from the same rollout and image (of f, only device_id, base_url,
 * poll_interval_sec, times and install are read, and image_id and
 * sha256_hex for the url).  Returns as manifest_build.
 */
int manifest_render(const struct manifest_text *t,
    const struct manifest_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len);

/*
 * The X-Otad-Signature value: base64 (standard, padded) of the detached
 * Ed25519 signature over body[0..len) with the server's secret key.
 */
void manifest_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    const char *body, size_t len, char out[MANIFEST_SIG_B64_LEN]);

/* One part of a bundle's manifest (borrowed, as manifest_facts). */
struct manifest_part {
	const char *component;
	int order;
	const char *via; /* "" when the part is not relayed */
	int skip;        /* 1: the component already runs it */
	int64_t image_id;
	const char *image_name;
	const char *image_version;
	const char *descriptor_b64;
	json_t *signatures;
	uint64_t size;
	const char *sha256_hex;
};

/* Everything the manifest of a release bundle is made of (borrowed). */
struct manifest_bundle_facts {
	const char *device_id;
	int64_t rollout_id;
	int64_t bundle_id;
	const char *bundle_name;
	const char *bundle_version;
	const char *descriptor_b64;        /* the bundle's exact signed bytes */
	json_t *signatures;                /* the bundle's, as uploaded */
	const struct manifest_part *parts; /* in install order */
	size_t part_count;
	const char *base_url;
	int poll_interval_sec;
	struct manifest_times times;
	struct manifest_install install;
};

/*
 * Builds the manifest of a bundle: compact JSON, keys in this order
 *   {"device","rollout","bundle":{"id","name","version"},"descriptor",
 *    "signatures","parts":[{"component","order","via","skip",
 *    "image":{"id","name","version"},"descriptor","signatures","size",
 *    "sha256","url"}...],"poll_interval_sec","issued","expires",
 *    "action","forced_at","maintenance_window","window_opens_at",
 *    "window_closes_at"[,"consent"]}
 * with via null for a part not relayed and each url made as
 * manifest_build's for the part's image (manifest_bundle_text_new then
 * manifest_bundle_render: a poll renders the text its snapshot keeps).
 * Returns 0 with a new malloc'd text in *out_body and its length in
 * *out_len, OTA_EINVAL (more parts than a bundle has) or OTA_ENOMEM.
 * Pure.
 */
int manifest_bundle_build(const struct manifest_bundle_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len);

/*
 * The text of a bundle's manifest that is the same at every poll (its
 * rollout, bundle, descriptor, signatures and each part but for skip and
 * url), rendered once by manifest_bundle_text_new with jansson, so that
 * manifest_bundle_render makes the same bytes as manifest_bundle_build by
 * copying it around what a poll changes: the device, each part's skip
 * and signed url, and the times.  Immutable once made: shared by threads.
 */
struct manifest_bundle_text;

/*
 * Renders the fixed text of f (its device_id, base_url, times and parts'
 * skip are not read).  Returns 0 and a new *out, or OTA_ENOMEM (also
 * when a text would not be UTF-8).  Pure.
 */
int manifest_bundle_text_new(
    const struct manifest_bundle_facts *f, struct manifest_bundle_text **out);
/* NULL-safe. */
void manifest_bundle_text_free(struct manifest_bundle_text *t);

/*
 * The manifest of f (manifest_bundle_build's text), whose fixed part t
 * was rendered from the same bundle, rollout and parts, without
 * building JSON: the device id and each url are written as jansson
 * would (plain ASCII copied, anything else encoded by jansson).  Returns 0 with
 * a new malloc'd text in *out_body and its length in *out_len, OTA_EINVAL (f
 * has another part count than t), or OTA_ENOMEM.  Pure; thread-safe.
 */
int manifest_bundle_render(const struct manifest_bundle_text *t,
    const struct manifest_bundle_facts *f,
    const unsigned char url_key[MANIFEST_URL_KEY_BYTES], char **out_body,
    size_t *out_len);

/* The strong ETag of a body signed by the server key key_id (the
 * X-Otad-Key-Id header): BLAKE2b-128 of its bytes and the key id, quoted,
 * so that the same body signed by another key has another ETag, as
 * manifest_etag's.  Pure. */
void manifest_etag_body(const char *body, size_t len, const char *key_id,
    char out[MANIFEST_ETAG_LEN]);

#endif
