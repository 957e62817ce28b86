/*
 * check_manifest: the pure manifest functions as a specification: the
 * time window that keeps a body byte-identical, the ETag that changes with
 * every input of the body and with nothing else, the exact body layout,
 * its Ed25519 signature, and download-URL tokens (recomputed here from the
 * documented message layout, forged, expired, malformed).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "errors.h"
#include "manifest.h"
#include "testutil.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

static void
setup(void)
{
	ck_assert_int_eq(crypto_init(), 0);
}

/* A fixed URL key: bytes 0x40.. */
static void
test_key(unsigned char key[MANIFEST_URL_KEY_BYTES])
{
	for (int i = 0; i < MANIFEST_URL_KEY_BYTES; i++)
		key[i] = (unsigned char)(0x40 + i);
}

/* ---- manifest_times_at ---- */

START_TEST(test_times_window)
{
	struct manifest_times t, u;

	/* ttl 86400 s: windows of 3600 s. */
	manifest_times_at(1700000000, 86400, 3600, &t);
	ck_assert_int_eq(t.issued, 1699999200);
	ck_assert_int_eq(t.issued % 3600, 0);
	ck_assert_int_eq(t.expires, 1699999200 + 86400);
	ck_assert_int_eq(t.url_expires, 1699999200 + 3600 + 3600);
	/* Every second of a window gives the same times... */
	for (int64_t now = 1699999200; now < 1699999200 + 3600; now += 7) {
		manifest_times_at(now, 86400, 3600, &u);
		ck_assert_mem_eq(&t, &u, sizeof(t));
	}
	/* ...and the next window moves them. */
	manifest_times_at(1699999200 + 3600, 86400, 3600, &u);
	ck_assert_int_eq(u.issued, t.issued + 3600);
	/* The shortest ttl: windows of 25 s. */
	manifest_times_at(1000, 600, 60, &t);
	ck_assert_int_eq(t.issued, 1000);
	ck_assert_int_eq(t.expires, 1600);
	ck_assert_int_eq(t.url_expires, 1000 + 25 + 60);
	manifest_times_at(1024, 600, 60, &t);
	ck_assert_int_eq(t.issued, 1000);
	/* A URL served at the last second of a window still has its ttl. */
	manifest_times_at(1699999200 + 3599, 86400, 600, &t);
	ck_assert_int_ge(t.url_expires - (1699999200 + 3599), 600);
	/* Before the epoch (a broken clock) still rounds down. */
	manifest_times_at(-1, 600, 60, &t);
	ck_assert_int_eq(t.issued, -25);
}
END_TEST

/* ---- URL key and tokens ---- */

START_TEST(test_url_key_derive)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES], sk2[sizeof(sk)];
	unsigned char k1[MANIFEST_URL_KEY_BYTES], k2[MANIFEST_URL_KEY_BYTES];
	unsigned char want[MANIFEST_URL_KEY_BYTES], seed[32];

	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	ck_assert_int_eq(manifest_url_key_derive(sk, k1), 0);
	/* Deterministic: another instance with the same key agrees. */
	crypto_sign_seed_keypair(pk, sk2, seed);
	ck_assert_int_eq(manifest_url_key_derive(sk2, k2), 0);
	ck_assert_mem_eq(k1, k2, sizeof(k1));
	/* As documented: KDF subkey 1, context "otadurl1", key the seed. */
	crypto_kdf_derive_from_key(want, sizeof(want), 1, "otadurl1", seed);
	ck_assert_mem_eq(k1, want, sizeof(k1));
	/* Not the seed itself, and another key gives another URL key. */
	ck_assert_int_ne(memcmp(k1, seed, sizeof(k1)), 0);
	crypto_sign_keypair(pk, sk2);
	ck_assert_int_eq(manifest_url_key_derive(sk2, k2), 0);
	ck_assert_int_ne(memcmp(k1, k2, sizeof(k1)), 0);
}
END_TEST

/* The token recomputed from docs/manifests.md, independently. */
static void
token_by_hand(const unsigned char key[MANIFEST_URL_KEY_BYTES],
    const char *device, uint64_t image, const char *sha, uint64_t expires,
    char out[MANIFEST_TOKEN_LEN])
{
	unsigned char msg[512], mac[32];
	size_t n = 0;

	memcpy(msg + n, "otad-download-v1", 17); /* with its NUL */
	n += 17;
	memcpy(msg + n, device, strlen(device) + 1);
	n += strlen(device) + 1;
	for (int i = 0; i < 8; i++)
		msg[n++] = (unsigned char)(image >> (8 * i));
	memcpy(msg + n, sha, 65);
	n += 65;
	for (int i = 0; i < 8; i++)
		msg[n++] = (unsigned char)(expires >> (8 * i));
	crypto_generichash(mac, sizeof(mac), msg, n, key, 32);
	sodium_bin2base64(out, MANIFEST_TOKEN_LEN, mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

START_TEST(test_url_token_layout)
{
	unsigned char key[MANIFEST_URL_KEY_BYTES];
	char tok[MANIFEST_TOKEN_LEN], want[MANIFEST_TOKEN_LEN];

	test_key(key);
	manifest_url_token(key, "sensor-0001", 42, SHA_A, 1700003600, tok);
	token_by_hand(key, "sensor-0001", 42, SHA_A, 1700003600, want);
	ck_assert_str_eq(tok, want);
	ck_assert_uint_eq(strlen(tok), MANIFEST_TOKEN_LEN - 1);
	ck_assert_uint_eq(
	    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                "0123456789-_"),
	    MANIFEST_TOKEN_LEN - 1);
}
END_TEST

START_TEST(test_url_token_check)
{
	unsigned char key[MANIFEST_URL_KEY_BYTES], other[sizeof(key)];
	char tok[MANIFEST_TOKEN_LEN], bad[MANIFEST_TOKEN_LEN];
	const char *why = NULL;
	const int64_t exp = 1700003600;

	test_key(key);
	manifest_url_token(key, "dev:1", 7, SHA_A, exp, tok);
	ck_assert_int_eq(manifest_url_token_check(key, "dev:1", 7, SHA_A,
	                     "1700003600", tok, exp - 1, &why),
	    0);
	ck_assert_ptr_null(why);
	/* Expired from its expiry second on. */
	ck_assert_int_eq(manifest_url_token_check(key, "dev:1", 7, SHA_A,
	                     "1700003600", tok, exp, &why),
	    OTA_EFORBID);
	ck_assert_str_eq(why, "expired");
	/* Bound to every value it covers. */
	why = NULL;
	ck_assert_int_eq(manifest_url_token_check(key, "dev:2", 7, SHA_A,
	                     "1700003600", tok, 0, &why),
	    OTA_EFORBID);
	ck_assert_str_eq(why, "invalid");
	ck_assert_int_eq(manifest_url_token_check(key, "dev:1", 8, SHA_A,
	                     "1700003600", tok, 0, &why),
	    OTA_EFORBID);
	ck_assert_int_eq(manifest_url_token_check(key, "dev:1", 7, SHA_B,
	                     "1700003600", tok, 0, &why),
	    OTA_EFORBID);
	/* A later expiry is a forgery, even though it is not expired. */
	why = NULL;
	ck_assert_int_eq(manifest_url_token_check(key, "dev:1", 7, SHA_A,
	                     "1800003600", tok, 0, &why),
	    OTA_EFORBID);
	ck_assert_str_eq(why, "invalid");
	/* Another key (another server) does not accept it. */
	memcpy(other, key, sizeof(key));
	other[0] ^= 1;
	ck_assert_int_eq(manifest_url_token_check(other, "dev:1", 7, SHA_A,
	                     "1700003600", tok, 0, &why),
	    OTA_EFORBID);
	/* One character changed. */
	memcpy(bad, tok, sizeof(bad));
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(manifest_url_token_check(key, "dev:1", 7, SHA_A,
	                     "1700003600", bad, 0, &why),
	    OTA_EFORBID);
	/* An expired forgery is "invalid", not "expired". */
	why = NULL;
	ck_assert_int_eq(manifest_url_token_check(key, "dev:1", 7, SHA_A,
	                     "1700003600", bad, exp + 1, &why),
	    OTA_EFORBID);
	ck_assert_str_eq(why, "invalid");
}
END_TEST

START_TEST(test_url_token_malformed)
{
	static const char *const bad_expires[] = {"", "-1", "+1", " 1", "1 ",
	    "0x10", "1e9", "9999999999999999999", "12345678901234567890"};
	unsigned char key[MANIFEST_URL_KEY_BYTES];
	char tok[MANIFEST_TOKEN_LEN], longer[MANIFEST_TOKEN_LEN + 2];
	const char *why;

	test_key(key);
	manifest_url_token(key, "d", 1, SHA_A, 100, tok);
	for (size_t i = 0; i < NELEM(bad_expires); i++) {
		why = NULL;
		ck_assert_int_eq(manifest_url_token_check(key, "d", 1, SHA_A,
		                     bad_expires[i], tok, 0, &why),
		    OTA_EFORBID);
		ck_assert_str_eq(why, "invalid");
	}
	ck_assert_int_eq(
	    manifest_url_token_check(key, "d", 1, SHA_A, NULL, tok, 0, &why),
	    OTA_EFORBID);
	ck_assert_int_eq(
	    manifest_url_token_check(key, "d", 1, SHA_A, "100", NULL, 0, &why),
	    OTA_EFORBID);
	ck_assert_int_eq(
	    manifest_url_token_check(key, "d", 1, SHA_A, "100", "", 0, &why),
	    OTA_EFORBID);
	/* Shorter, longer, padded, standard-alphabet: all refused. */
	ck_assert_int_eq(manifest_url_token_check(
	                     key, "d", 1, SHA_A, "100", tok + 1, 0, &why),
	    OTA_EFORBID);
	snprintf(longer, sizeof(longer), "%sA", tok);
	ck_assert_int_eq(manifest_url_token_check(
	                     key, "d", 1, SHA_A, "100", longer, 0, &why),
	    OTA_EFORBID);
	snprintf(longer, sizeof(longer), "%s=", tok);
	ck_assert_int_eq(manifest_url_token_check(
	                     key, "d", 1, SHA_A, "100", longer, 0, &why),
	    OTA_EFORBID);
	memcpy(longer, tok, sizeof(tok));
	longer[5] = '+';
	ck_assert_int_eq(manifest_url_token_check(
	                     key, "d", 1, SHA_A, "100", longer, 0, &why),
	    OTA_EFORBID);
	/* Leading zeros are another spelling of the same expiry. */
	ck_assert_int_eq(
	    manifest_url_token_check(key, "d", 1, SHA_A, "0100", tok, 0, &why),
	    0);
}
END_TEST

/* ---- Host and base URL ---- */

START_TEST(test_host_valid)
{
	static const char *const good[] = {"ota.example.com",
	    "ota.example.com:8443", "127.0.0.1", "127.0.0.1:1", "[::1]",
	    "[::1]:443", "[2001:db8::1]:65535", "localhost"};
	static const char *const bad[] = {"", "ota.example.com:", ":443",
	    "host:0", "host:65536", "host:123456", "a b", "a/b", "a\"b",
	    "a\r\nX-Evil: 1", "[::1", "[]", "[::1]x", "[g::1]", "user@host",
	    "host:80:80", "host?x", "host#x", "ho_st"};
	char big[300];

	for (size_t i = 0; i < NELEM(good); i++)
		ck_assert_msg(manifest_host_valid(good[i]), "%s", good[i]);
	for (size_t i = 0; i < NELEM(bad); i++)
		ck_assert_msg(!manifest_host_valid(bad[i]), "%s", bad[i]);
	ck_assert(!manifest_host_valid(NULL));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert(!manifest_host_valid(big));
	big[255] = '\0';
	ck_assert(manifest_host_valid(big));
}
END_TEST

START_TEST(test_base_url)
{
	char out[MANIFEST_BASE_URL_MAX] = "untouched";

	ck_assert_int_eq(manifest_base_url("", 1, "ota.example:8443", out), 0);
	ck_assert_str_eq(out, "https://ota.example:8443");
	ck_assert_int_eq(manifest_base_url(NULL, 0, "10.0.0.1", out), 0);
	ck_assert_str_eq(out, "http://10.0.0.1");
	/* public_url wins over the Host header, whatever it says. */
	ck_assert_int_eq(manifest_base_url(
	                     "https://cdn.example.com", 0, "evil.example", out),
	    0);
	ck_assert_str_eq(out, "https://cdn.example.com");
	ck_assert_int_eq(
	    manifest_base_url("https://cdn.example.com", 0, NULL, out), 0);
	strcpy(out, "untouched");
	ck_assert_int_eq(manifest_base_url("", 1, NULL, out), OTA_EINVAL);
	ck_assert_int_eq(manifest_base_url("", 1, "x/../y", out), OTA_EINVAL);
	ck_assert_str_eq(out, "untouched");
}
END_TEST

/* ---- ETag ---- */

static json_t *
test_sigs(void)
{
	return json_pack(
	    "[{s:s, s:s}]", "keyid", "release", "sig", "c2lnbmF0dXJl/+==");
}

/* Facts of a typical manifest; sigs borrowed. */
static void
test_facts(struct manifest_facts *f, json_t *sigs,
    const unsigned char digest[MANIFEST_DIGEST_BYTES])
{
	memset(f, 0, sizeof(*f));
	f->device_id = "sensor-0001";
	f->rollout_id = 3;
	f->image_id = 42;
	f->image_name = "sensor-fw";
	f->image_version = "1.4.0-rc.1+b7";
	f->descriptor_b64 = "eyJuYW1lIjoic2Vuc29yLWZ3In0=";
	f->signatures = sigs;
	f->size = 123456;
	f->sha256_hex = SHA_A;
	f->image_digest = digest;
	f->base_url = "https://ota.example.com:8443";
	f->poll_interval_sec = 300;
	manifest_times_at(1700000000, 86400, 3600, &f->times);
	f->key_id = "0123456789abcdef";
}

START_TEST(test_etag_inputs)
{
	unsigned char d1[MANIFEST_DIGEST_BYTES], d2[MANIFEST_DIGEST_BYTES];
	char base[MANIFEST_ETAG_LEN], e[MANIFEST_ETAG_LEN];
	struct manifest_facts f, g;
	json_t *sigs = test_sigs();

	manifest_image_digest((const unsigned char *)"{}", 2, "[]", d1);
	manifest_image_digest((const unsigned char *)"{}", 2, "[{}]", d2);
	ck_assert_int_ne(memcmp(d1, d2, sizeof(d1)), 0);
	manifest_image_digest((const unsigned char *)"{ }", 3, "[]", d2);
	ck_assert_int_ne(memcmp(d1, d2, sizeof(d1)), 0);
	test_facts(&f, sigs, d1);
	manifest_etag(&f, base);
	ck_assert_uint_eq(strlen(base), MANIFEST_ETAG_LEN - 1);
	ck_assert(base[0] == '"' && base[MANIFEST_ETAG_LEN - 2] == '"');
	/* Same inputs, same ETag; a fresh struct, not the same pointer. */
	test_facts(&g, sigs, d1);
	manifest_etag(&g, e);
	ck_assert_str_eq(e, base);
	/* The same window: the same ETag a minute later. */
	manifest_times_at(1700000060, 86400, 3600, &g.times);
	manifest_etag(&g, e);
	ck_assert_str_eq(e, base);
	/* Each input of the body changes it. */
#define CHANGED(stmt)                                                          \
	do {                                                                   \
		test_facts(&g, sigs, d1);                                      \
		stmt;                                                          \
		manifest_etag(&g, e);                                          \
		ck_assert_msg(strcmp(e, base) != 0, "%s", #stmt);              \
	} while (0)
	CHANGED(g.device_id = "sensor-0002");
	CHANGED(g.rollout_id = 4);
	CHANGED(g.image_id = 43);
	CHANGED(g.image_digest = d2);
	CHANGED(g.base_url = "https://ota.example.com");
	CHANGED(g.poll_interval_sec = 60);
	CHANGED(manifest_times_at(1700003600, 86400, 3600, &g.times));
	CHANGED(g.times.expires++);
	CHANGED(g.times.url_expires++);
	CHANGED(g.key_id = "fedcba9876543210");
#undef CHANGED
	json_decref(sigs);
}
END_TEST

START_TEST(test_etag_match)
{
	const char *et = "\"abc\"";

	ck_assert(manifest_etag_match("\"abc\"", et));
	ck_assert(manifest_etag_match("W/\"abc\"", et));
	ck_assert(manifest_etag_match("\"x\", \"abc\"", et));
	ck_assert(manifest_etag_match("\"x\",\"abc\"", et));
	ck_assert(manifest_etag_match("*", et));
	ck_assert(!manifest_etag_match(NULL, et));
	ck_assert(!manifest_etag_match("", et));
	ck_assert(!manifest_etag_match("\"abcd\"", et));
	ck_assert(!manifest_etag_match("\"ab\"", et));
	ck_assert(!manifest_etag_match("abc", et));
	ck_assert(!manifest_etag_match("\"abc", et));
	ck_assert(!manifest_etag_match("\"x\", abc", et));
}
END_TEST

/* ---- body and signature ---- */

START_TEST(test_build_layout)
{
	unsigned char key[MANIFEST_URL_KEY_BYTES], d[MANIFEST_DIGEST_BYTES];
	char tok[MANIFEST_TOKEN_LEN], want[2048], *body = NULL;
	struct manifest_facts f;
	json_t *sigs = test_sigs();
	size_t len = 0;

	test_key(key);
	manifest_image_digest((const unsigned char *)"{}", 2, "[]", d);
	test_facts(&f, sigs, d);
	ck_assert_int_eq(manifest_build(&f, key, &body, &len), 0);
	ck_assert_uint_eq(len, strlen(body));
	manifest_url_token(
	    key, "sensor-0001", 42, SHA_A, f.times.url_expires, tok);
	snprintf(want, sizeof(want),
	    "{\"device\":\"sensor-0001\",\"rollout\":3,"
	    "\"image\":{\"id\":42,\"name\":\"sensor-fw\","
	    "\"version\":\"1.4.0-rc.1+b7\"},"
	    "\"descriptor\":\"eyJuYW1lIjoic2Vuc29yLWZ3In0=\","
	    "\"signatures\":[{\"keyid\":\"release\",\"sig\":"
	    "\"c2lnbmF0dXJl/+==\"}],"
	    "\"size\":123456,\"sha256\":\"%s\","
	    "\"url\":\"https://ota.example.com:8443/api/v1/devices/"
	    "sensor-0001/download/42?expires=%lld&token=%s\","
	    "\"poll_interval_sec\":300,\"issued\":%lld,\"expires\":%lld,"
	    "\"action\":\"forced\",\"forced_at\":null,\"maintenance_window\":"
	    "\"available\",\"window_opens_at\":null,\"window_closes_at\":null}",
	    SHA_A, (long long)f.times.url_expires, tok,
	    (long long)f.times.issued, (long long)f.times.expires);
	ck_assert_str_eq(body, want);
	free(body);
	/* The signatures array is borrowed, not consumed or changed. */
	ck_assert_int_eq(sigs->refcount, 1);
	ck_assert_uint_eq(json_array_size(sigs), 1);
	json_decref(sigs);
}
END_TEST

/* What the render tests vary: install keys of every kind, and device ids
 * that need escaping (the slow path) beside a plain one. */
static const struct manifest_install render_installs[] = {{NULL, 0, 0, 0, NULL},
    {"soft", 0, 1, 4102444800, "required"},
    {"download-only", 0, 0, 4102448400, NULL},
    {"soft", 4102444800, 0, 0, "given"}};
static const char *const render_devices[] = {
    "th-1", "d\"q\\x", "tab\there", "\xc3\xa9t\xc3\xa9"};
#define RENDERS (sizeof(render_devices) / sizeof(render_devices[0]))

/*
 * Checks a rendered text b[0..lb) against the one built whole,
 * a[0..la): the same bytes, JSON that jansson writes exactly so (compact,
 * keys in order), of device.  Returns it parsed (json_decref) and frees
 * a and b.
 */
static json_t *
rendered(char *a, size_t la, char *b, size_t lb, const char *device)
{
	json_t *j;
	char *again;

	ck_assert_uint_eq(la, lb);
	ck_assert_uint_eq(lb, strlen(b));
	ck_assert_str_eq(a, b);
	j = json_loads(b, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "device")), device);
	/* Every byte as jansson writes it. */
	again = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(again, b);
	free(again);
	free(a);
	free(b);
	return j;
}

/* A rollout's fixed text rendered for other devices, base URLs, times
 * and install keys: manifest_build's bytes, which are jansson's. */
START_TEST(test_render)
{
	unsigned char key[MANIFEST_URL_KEY_BYTES], d[MANIFEST_DIGEST_BYTES];
	struct manifest_text *t = NULL;
	struct manifest_facts f;
	char *a = NULL, *b = NULL;
	json_t *sigs = test_sigs(), *j;
	size_t la = 0, lb = 0;

	test_key(key);
	manifest_image_digest((const unsigned char *)"{}", 2, "[]", d);
	test_facts(&f, sigs, d);
	f.image_name = "sensor-f\xc3\xa9";
	ck_assert_int_eq(manifest_text_new(&f, &t), 0);
	for (size_t i = 0; i < RENDERS; i++) {
		f.device_id = render_devices[i];
		f.base_url = i == 3 ? "https://\"odd\":1" : "https://o:1";
		f.poll_interval_sec = 60 * (int)(i + 1);
		manifest_times_at(
		    1700000000 + 86400 * (int64_t)i, 86400, 3600, &f.times);
		f.install = render_installs[i];
		ck_assert_int_eq(manifest_build(&f, key, &a, &la), 0);
		ck_assert_int_eq(manifest_render(t, &f, key, &b, &lb), 0);
		j = rendered(a, la, b, lb, render_devices[i]);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "poll_interval_sec")),
		    60 * (int)(i + 1));
		ck_assert_int_eq(
		    json_integer_value(json_object_get(j, "issued")),
		    f.times.issued);
		ck_assert_str_eq(json_string_value(json_object_get(
		                     json_object_get(j, "image"), "name")),
		    "sensor-f\xc3\xa9");
		ck_assert_str_eq(
		    json_string_value(json_object_get(j, "action")),
		    render_installs[i].action != NULL
		        ? render_installs[i].action
		        : "forced");
		ck_assert((json_object_get(j, "consent") != NULL) ==
		          (render_installs[i].consent != NULL));
		json_decref(j);
	}
	manifest_text_free(t);
	manifest_text_free(NULL);
	/* Text that is not UTF-8 is refused, as manifest_build refuses it. */
	f.image_name = "bad\xff";
	ck_assert_int_eq(manifest_text_new(&f, &t), OTA_ENOMEM);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(manifest_build(&f, key, &a, &la), OTA_ENOMEM);
	f.image_name = "sensor-fw";
	f.device_id = "bad\xff";
	ck_assert_int_eq(manifest_build(&f, key, &a, &la), OTA_ENOMEM);
	ck_assert_int_eq(sigs->refcount, 1);
	json_decref(sigs);
}
END_TEST

START_TEST(test_bundle_build)
{
	unsigned char key[MANIFEST_URL_KEY_BYTES];
	char tok0[MANIFEST_TOKEN_LEN], tok1[MANIFEST_TOKEN_LEN];
	char want[4096], etag[MANIFEST_ETAG_LEN], etag2[MANIFEST_ETAG_LEN];
	char *body = NULL;
	json_t *sigs = test_sigs();
	struct manifest_part parts[2] = {
	    {"ncp", 1, "", 1, 17, "ncp-fw", "1.2.0", "ZA==", sigs, 10, SHA_A},
	    {"hub", 3, "mcu", 0, 19, "hub-fw", "0.9.0", "ZQ==", sigs, 20,
	        SHA_A}};
	struct manifest_bundle_facts f = {"th-1", 5, 4, "thermo", "2.1.0",
	    "Yg==", sigs, parts, 2, "https://o:1", 300, {100, 700, 900},
	    {NULL, 0, 0, 0, NULL}};
	size_t len = 0;

	test_key(key);
	ck_assert_int_eq(manifest_bundle_build(&f, key, &body, &len), 0);
	ck_assert_uint_eq(len, strlen(body));
	manifest_url_token(key, "th-1", 17, SHA_A, 900, tok0);
	manifest_url_token(key, "th-1", 19, SHA_A, 900, tok1);
	snprintf(want, sizeof(want),
	    "{\"device\":\"th-1\",\"rollout\":5,\"bundle\":{\"id\":4,"
	    "\"name\":\"thermo\",\"version\":\"2.1.0\"},\"descriptor\":"
	    "\"Yg==\",\"signatures\":[{\"keyid\":\"release\",\"sig\":"
	    "\"c2lnbmF0dXJl/+==\"}],\"parts\":["
	    "{\"component\":\"ncp\",\"order\":1,\"via\":null,\"skip\":true,"
	    "\"image\":{\"id\":17,\"name\":\"ncp-fw\",\"version\":"
	    "\"1.2.0\"},\"descriptor\":\"ZA==\",\"signatures\":[{\"keyid\":"
	    "\"release\",\"sig\":\"c2lnbmF0dXJl/+==\"}],\"size\":10,"
	    "\"sha256\":\"%s\",\"url\":\"https://o:1/api/v1/devices/th-1/"
	    "download/17?expires=900&token=%s\"},"
	    "{\"component\":\"hub\",\"order\":3,\"via\":\"mcu\","
	    "\"skip\":false,\"image\":{\"id\":19,\"name\":\"hub-fw\","
	    "\"version\":\"0.9.0\"},\"descriptor\":\"ZQ==\",\"signatures\":"
	    "[{\"keyid\":\"release\",\"sig\":\"c2lnbmF0dXJl/+==\"}],"
	    "\"size\":20,\"sha256\":\"%s\",\"url\":\"https://o:1/api/v1/"
	    "devices/th-1/download/19?expires=900&token=%s\"}],"
	    "\"poll_interval_sec\":300,\"issued\":100,\"expires\":700,"
	    "\"action\":\"forced\",\"forced_at\":null,\"maintenance_window\":"
	    "\"available\",\"window_opens_at\":null,\"window_closes_at\":null}",
	    SHA_A, tok0, SHA_A, tok1);
	ck_assert_str_eq(body, want);
	manifest_etag_body(body, len, "0123456789abcdef", etag);
	ck_assert_uint_eq(strlen(etag), MANIFEST_ETAG_LEN - 1);
	manifest_etag_body(body, len, "0123456789abcdef", etag2);
	ck_assert_str_eq(etag, etag2);
	/* The same body under another server key: another answer. */
	manifest_etag_body(body, len, "fedcba9876543210", etag2);
	ck_assert_str_ne(etag, etag2);
	body[len - 2] = '1';
	manifest_etag_body(body, len, "0123456789abcdef", etag2);
	ck_assert_str_ne(etag, etag2);
	free(body);
	ck_assert_int_eq(sigs->refcount, 1);
	json_decref(sigs);
}
END_TEST

START_TEST(test_build_deterministic)
{
	unsigned char key[MANIFEST_URL_KEY_BYTES], d[MANIFEST_DIGEST_BYTES];
	char *a = NULL, *b = NULL;
	struct manifest_facts f;
	json_t *sigs = test_sigs();
	size_t alen, blen;

	test_key(key);
	manifest_image_digest((const unsigned char *)"{}", 2, "[]", d);
	test_facts(&f, sigs, d);
	ck_assert_int_eq(manifest_build(&f, key, &a, &alen), 0);
	/* Later in the same window: the same bytes. */
	manifest_times_at(1700000000 + 500, 86400, 3600, &f.times);
	ck_assert_int_eq(manifest_build(&f, key, &b, &blen), 0);
	ck_assert_uint_eq(alen, blen);
	ck_assert_mem_eq(a, b, alen);
	free(b);
	/* A device id that JSON must escape stays valid JSON. */
	f.device_id = "a\"b\\c";
	ck_assert_int_eq(manifest_build(&f, key, &b, &blen), 0);
	{
		json_error_t e;
		json_t *o = json_loads(b, 0, &e);

		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(
		    json_string_value(json_object_get(o, "device")), "a\"b\\c");
		json_decref(o);
	}
	free(a);
	free(b);
	json_decref(sigs);
}
END_TEST

START_TEST(test_sign_verifies)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES + 4];
	char b64[MANIFEST_SIG_B64_LEN];
	const char *body = "{\"device\":\"x\"}";
	size_t siglen = 0;

	crypto_sign_keypair(pk, sk);
	manifest_sign(sk, body, strlen(body), b64);
	ck_assert_uint_eq(strlen(b64), MANIFEST_SIG_B64_LEN - 1);
	ck_assert_int_eq(
	    sodium_base642bin(sig, sizeof(sig), b64, strlen(b64), NULL, &siglen,
	        NULL, sodium_base64_VARIANT_ORIGINAL),
	    0);
	ck_assert_uint_eq(siglen, crypto_sign_BYTES);
	ck_assert_int_eq(
	    crypto_verify(pk, (const unsigned char *)body, strlen(body), sig),
	    0);
	/* Over the exact bytes: one more byte and it fails. */
	ck_assert_int_eq(crypto_verify(pk, (const unsigned char *)body,
	                     strlen(body) - 1, sig),
	    OTA_ESIG);
}
END_TEST

/* The rendered bundle manifest is JSON as jansson writes it (compact,
 * keys in order): skips both ways, via null and set, a device id and a
 * base URL that need escaping (the slow path) and plain ones; the same
 * text rendered twice from one fixed part; a part count that does not
 * match refused. */
START_TEST(test_bundle_render)
{
	unsigned char key[MANIFEST_URL_KEY_BYTES];
	struct manifest_bundle_text *t = NULL;
	char *a = NULL, *b = NULL;
	json_t *sigs = test_sigs(), *j;
	struct manifest_part parts[3] = {
	    {"ncp", 1, "", 1, 17, "ncp-fw", "1.2.0", "ZA==", sigs, 10, SHA_A},
	    {"mcu", 2, "", 0, 18, "mcu-fw", "2.1.0", "ZB==", sigs, 11, SHA_A},
	    {"hub", 3, "mcu", 0, 19, "hub-f\u00e9", "0.9.0", "ZQ==", sigs, 20,
	        SHA_A}};
	struct manifest_bundle_facts f = {"th-1", 5, 4, "thermo", "2.1.0",
	    "Yg==", sigs, parts, 3, "https://o:1", 300, {100, 700, 900},
	    {NULL, 0, 0, 0, NULL}};
	size_t la = 0, lb = 0;

	test_key(key);
	ck_assert_int_eq(manifest_bundle_text_new(&f, &t), 0);
	for (size_t d = 0; d < RENDERS; d++) {
		f.device_id = render_devices[d];
		parts[0].skip = (int)(d % 2);
		parts[1].skip = (int)(d / 2 % 2);
		f.base_url = d == 3 ? "https://\"odd\":1" : "https://o:1";
		f.install = render_installs[d];
		ck_assert_int_eq(manifest_bundle_build(&f, key, &a, &la), 0);
		ck_assert_int_eq(
		    manifest_bundle_render(t, &f, key, &b, &lb), 0);
		j = rendered(a, la, b, lb, render_devices[d]);
		ck_assert(json_is_true(json_object_get(
		              json_array_get(json_object_get(j, "parts"), 0),
		              "skip")) == (d % 2 == 1));
		/* The install keys, rendered as jansson would (rendered()
		 * compared every byte). */
		ck_assert_str_eq(
		    json_string_value(json_object_get(j, "maintenance_window")),
		    d == 1 ? "unavailable" : "available");
		ck_assert_str_eq(
		    json_string_value(json_object_get(j, "action")),
		    render_installs[d].action != NULL
		        ? render_installs[d].action
		        : "forced");
		json_decref(j);
	}
	f.part_count = 2;
	ck_assert_int_eq(
	    manifest_bundle_render(t, &f, key, &b, &lb), OTA_EINVAL);
	manifest_bundle_text_free(t);
	manifest_bundle_text_free(NULL);
	json_decref(sigs);
}
END_TEST

static Suite *
manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc;

	tc = tcase_create("times");
	tcase_add_test(tc, test_times_window);
	suite_add_tcase(s, tc);

	tc = tcase_create("url_token");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_url_key_derive);
	tcase_add_test(tc, test_url_token_layout);
	tcase_add_test(tc, test_url_token_check);
	tcase_add_test(tc, test_url_token_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("base_url");
	tcase_add_test(tc, test_host_valid);
	tcase_add_test(tc, test_base_url);
	suite_add_tcase(s, tc);

	tc = tcase_create("etag");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_etag_inputs);
	tcase_add_test(tc, test_etag_match);
	suite_add_tcase(s, tc);

	tc = tcase_create("build_sign");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_build_layout);
	tcase_add_test(tc, test_build_deterministic);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_sign_verifies);
	tcase_add_test(tc, test_bundle_build);
	tcase_add_test(tc, test_bundle_render);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(manifest_suite());
}
