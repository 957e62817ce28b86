/*
 * check_crypto: specification of server/crypto.c.  Tokens, key files and
 * the keyring are exercised on a temporary directory; when openssl is on
 * PATH, keys and signatures it makes are checked against libsodium's view,
 * and files otad writes are read back by openssl.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "errors.h"
#include "log.h"
#include "testutil.h"

START_TEST(test_token_roundtrip)
{
	char tok[CRYPTO_TOKEN_LEN], tok2[CRYPTO_TOKEN_LEN];
	char id[CRYPTO_TOKEN_ID_LEN], id2[CRYPTO_TOKEN_ID_LEN];
	unsigned char h[CRYPTO_HASH_LEN], h2[CRYPTO_HASH_LEN];

	ck_assert_int_eq(crypto_token_new(tok, id, h), 0);
	ck_assert_uint_eq(strlen(tok), 65);
	ck_assert_uint_eq(strlen(id), 16);
	ck_assert(strncmp(tok, "otad_", 5) == 0);
	ck_assert(strncmp(tok + 5, id, 16) == 0);
	ck_assert_int_eq(tok[21], '_');

	ck_assert_int_eq(crypto_token_parse(tok, id2, h2), 0);
	ck_assert_str_eq(id, id2);
	ck_assert_int_eq(crypto_hash_equal(h, h2), 1);

	/* A second token differs in id, secret and hash. */
	ck_assert_int_eq(crypto_token_new(tok2, id2, h2), 0);
	ck_assert_str_ne(tok, tok2);
	ck_assert_str_ne(id, id2);
	ck_assert_int_eq(crypto_hash_equal(h, h2), 0);

	/* Same id, altered secret: still a token, but another hash. */
	memcpy(tok2, tok, sizeof(tok));
	tok2[40] = tok2[40] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(crypto_token_parse(tok2, id2, h2), 0);
	ck_assert_str_eq(id, id2);
	ck_assert_int_eq(crypto_hash_equal(h, h2), 0);
}
END_TEST

/* A bucket's tokens: ids starting with its two hex digits, otherwise
 * random, and ordinary tokens. */
START_TEST(test_token_new_in)
{
	char tok[CRYPTO_TOKEN_LEN], tok2[CRYPTO_TOKEN_LEN];
	char id[CRYPTO_TOKEN_ID_LEN], id2[CRYPTO_TOKEN_ID_LEN];
	unsigned char h[CRYPTO_HASH_LEN], h2[CRYPTO_HASH_LEN];

	ck_assert_int_eq(crypto_token_new_in(0xab, tok, id, h), 0);
	ck_assert_int_eq(crypto_token_new_in(0xab, tok2, id2, h2), 0);
	ck_assert(strncmp(id, "ab", 2) == 0 && strncmp(id2, "ab", 2) == 0);
	ck_assert_str_ne(id, id2);
	ck_assert_int_eq(crypto_hash_equal(h, h2), 0);
	ck_assert(strncmp(tok + 5, id, 16) == 0);
	ck_assert_int_eq(crypto_token_parse(tok, id2, h2), 0);
	ck_assert_str_eq(id, id2);
	ck_assert_int_eq(crypto_hash_equal(h, h2), 1);
	ck_assert_int_eq(crypto_token_new_in(0x00, tok, id, h), 0);
	ck_assert(strncmp(id, "00", 2) == 0);
	ck_assert_int_eq(crypto_token_id_shaped(id), 1);
}
END_TEST

START_TEST(test_token_parse_rejects)
{
	char tok[CRYPTO_TOKEN_LEN], bad[CRYPTO_TOKEN_LEN + 8];
	char id[CRYPTO_TOKEN_ID_LEN];
	unsigned char h[CRYPTO_HASH_LEN];
	const char *secret;

	ck_assert_int_eq(crypto_token_new(tok, id, h), 0);
	secret = tok + 22;

	/* A new token's id has the shape names may not take. */
	ck_assert_int_eq(crypto_token_id_shaped(id), 1);
	ck_assert_int_eq(crypto_token_id_shaped("0123456789abcdef"), 1);
	ck_assert_int_eq(crypto_token_id_shaped("0123456789ABCDEF"), 0);
	ck_assert_int_eq(crypto_token_id_shaped("0123456789abcde"), 0);
	ck_assert_int_eq(crypto_token_id_shaped("0123456789abcdef0"), 0);
	ck_assert_int_eq(crypto_token_id_shaped("0123456789abcdeg"), 0);
	ck_assert_int_eq(crypto_token_id_shaped(NULL), 0);
	ck_assert_int_eq(crypto_token_parse(NULL, id, h), OTA_EUNAUTH);
	ck_assert_int_eq(crypto_token_parse("", id, h), OTA_EUNAUTH);
	ck_assert_int_eq(crypto_token_parse("otad_", id, h), OTA_EUNAUTH);

	/* Wrong prefix. */
	snprintf(bad, sizeof(bad), "OTAD_%s", tok + 5);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	snprintf(bad, sizeof(bad), "otax_%s", tok + 5);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	/* Uppercase or non-hex id. */
	snprintf(bad, sizeof(bad), "otad_ABCDEF0123456789_%s", secret);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	snprintf(bad, sizeof(bad), "otad_g123456789abcdef_%s", secret);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	/* Short and long id. */
	snprintf(bad, sizeof(bad), "otad_0123456789abcde_%s", secret);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	snprintf(bad, sizeof(bad), "otad_0123456789abcdef0_%.42s", secret);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	/* Separator. */
	memcpy(bad, tok, sizeof(tok));
	bad[21] = '-';
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	/* Secret one short, one long, with standard base64 or padding. */
	snprintf(bad, sizeof(bad), "%.64s", tok);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	snprintf(bad, sizeof(bad), "%sA", tok);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	snprintf(bad, sizeof(bad), "%.64s=", tok);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	memcpy(bad, tok, sizeof(tok));
	bad[30] = '+';
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	memcpy(bad, tok, sizeof(tok));
	bad[30] = '/';
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	/* 43 chars carry 258 bits: a last char with low bits set is bogus. */
	memcpy(bad, tok, sizeof(tok));
	bad[64] = 'B';
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
	bad[64] = 'E';
	ck_assert_int_eq(crypto_token_parse(bad, id, h), 0);
	/* Trailing whitespace is not trimmed. */
	snprintf(bad, sizeof(bad), "%s\n", tok);
	ck_assert_int_eq(crypto_token_parse(bad, id, h), OTA_EUNAUTH);
}
END_TEST

START_TEST(test_hash_equal)
{
	unsigned char a[CRYPTO_HASH_LEN], b[CRYPTO_HASH_LEN];

	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	ck_assert_int_eq(crypto_hash_equal(a, b), 1);
	b[CRYPTO_HASH_LEN - 1] ^= 1;
	ck_assert_int_eq(crypto_hash_equal(a, b), 0);
	b[CRYPTO_HASH_LEN - 1] ^= 1;
	b[0] ^= 0x80;
	ck_assert_int_eq(crypto_hash_equal(a, b), 0);
}
END_TEST

START_TEST(test_seckey_save_load)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk, *sk2;
	char dir[64], path[128], tmp[160];
	struct stat st;
	unsigned char junk[4] = {1, 2, 3, 4};

	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	sk2 = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	ck_assert_ptr_nonnull(sk);
	ck_assert_ptr_nonnull(sk2);
	testutil_tmpdir_new("check_crypto", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/release.key.pem", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	ck_assert_int_eq(crypto_sign_keypair(pk, sk), 0);
	ck_assert_int_eq(crypto_seckey_save(path, sk), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(access(tmp, F_OK), -1);

	ck_assert_int_eq(crypto_seckey_load(path, sk2), 0);
	ck_assert(memcmp(sk, sk2, crypto_sign_SECRETKEYBYTES) == 0);

	/* Never overwrites, and leaves the file as it was. */
	ck_assert_int_eq(crypto_sign_keypair(pk, sk), 0);
	ck_assert_int_eq(crypto_seckey_save(path, sk), OTA_ECONFLICT);
	ck_assert_int_eq(crypto_seckey_load(path, sk), 0);
	ck_assert(memcmp(sk, sk2, crypto_sign_SECRETKEYBYTES) == 0);
	ck_assert_int_eq(access(tmp, F_OK), -1);

	/* Missing and malformed files. */
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	ck_assert_int_eq(crypto_seckey_load(path, sk), OTA_EIO);
	snprintf(path, sizeof(path), "%s/junk.pem", dir);
	testutil_write_file(path, junk, sizeof(junk));
	ck_assert_int_eq(crypto_seckey_load(path, sk), OTA_EINVAL);
	/* A public key is not a secret key. */
	snprintf(path, sizeof(path), "%s/pub.pem", dir);
	ck_assert_int_eq(crypto_pubkey_save(path, pk), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(crypto_seckey_load(path, sk), OTA_EINVAL);
	ck_assert_int_eq(crypto_pubkey_save(path, pk), OTA_ECONFLICT);

	sodium_free(sk);
	sodium_free(sk2);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_pubkey_pem)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];
	unsigned char pk2[crypto_sign_PUBLICKEYBYTES];
	char pem[128], crlf[256], bad[256];
	size_t i, j, len;

	ck_assert_int_eq(crypto_sign_keypair(pk, sk), 0);
	sodium_memzero(sk, sizeof(sk));
	ck_assert_int_eq(crypto_pubkey_pem(pk, pem, sizeof(pem)), 0);
	ck_assert(strncmp(pem, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA",
	              43) == 0);
	len = strlen(pem);
	ck_assert_uint_eq(len, 27 + 61 + 25);
	ck_assert_str_eq(pem + len - 25, "-----END PUBLIC KEY-----\n");
	ck_assert_int_eq(crypto_pubkey_pem(pk, pem, 100), OTA_EINVAL);
	ck_assert_int_eq(crypto_pubkey_pem(pk, pem, sizeof(pem)), 0);

	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)pem, len, pk2), 0);
	ck_assert(memcmp(pk, pk2, sizeof(pk)) == 0);
	/* Raw form: exactly 32 bytes. */
	ck_assert_int_eq(crypto_pubkey_parse(pk, sizeof(pk), pk2), 0);
	ck_assert(memcmp(pk, pk2, sizeof(pk)) == 0);
	ck_assert_int_eq(crypto_pubkey_parse(pk, 31, pk2), OTA_EINVAL);
	memcpy(bad, pk, sizeof(pk));
	bad[32] = '\n';
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)bad, 33, pk2), OTA_EINVAL);
	ck_assert_int_eq(crypto_pubkey_parse(pk, 0, pk2), OTA_EINVAL);

	/* CRLF line ends, no final newline, surrounding blank space. */
	for (i = 0, j = 0; i < len; i++) {
		if (pem[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = pem[i];
	}
	ck_assert_int_eq(crypto_pubkey_parse((unsigned char *)crlf, j, pk2), 0);
	ck_assert(memcmp(pk, pk2, sizeof(pk)) == 0);
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)pem, len - 1, pk2), 0);
	snprintf(bad, sizeof(bad), "\n  %s\n\n", pem);
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)bad, strlen(bad), pk2), 0);

	/* Trailing garbage, a wrong label, a truncated body. */
	snprintf(bad, sizeof(bad), "%sjunk\n", pem);
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)bad, strlen(bad), pk2),
	    OTA_EINVAL);
	snprintf(bad, sizeof(bad),
	    "-----BEGIN PRIVATE KEY-----\n%.60s\n"
	    "-----END PRIVATE KEY-----\n",
	    pem + 27);
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)bad, strlen(bad), pk2),
	    OTA_EINVAL);
	snprintf(bad, sizeof(bad),
	    "-----BEGIN PUBLIC KEY-----\n%.56s\n"
	    "-----END PUBLIC KEY-----\n",
	    pem + 27);
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)bad, strlen(bad), pk2),
	    OTA_EINVAL);
	/* Another algorithm's OID (X25519 is 1.3.101.110, 0x6e). */
	memcpy(bad, pem, len + 1);
	ck_assert(strncmp(bad + 27, "MCowBQYDK2VwAyEA", 16) == 0);
	bad[27 + 11] = 'u'; /* ...K2Vu... */
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)bad, len, pk2), OTA_EINVAL);
	/* An embedded NUL. */
	memcpy(bad, pem, len + 1);
	bad[40] = '\0';
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)bad, len, pk2), OTA_EINVAL);
}
END_TEST

START_TEST(test_fingerprint_hex_verify)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];
	unsigned char h[crypto_hash_sha256_BYTES], sig[crypto_sign_BYTES];
	unsigned char msg[] = "descriptor";
	const unsigned char bytes[3] = {0x00, 0xab, 0xff};
	char fp[17], hex[65];

	crypto_hex(bytes, sizeof(bytes), hex);
	ck_assert_str_eq(hex, "00abff");
	crypto_hex(bytes, 0, hex);
	ck_assert_str_eq(hex, "");

	ck_assert_int_eq(crypto_sign_keypair(pk, sk), 0);
	crypto_key_fingerprint(pk, fp);
	crypto_hash_sha256(h, pk, sizeof(pk));
	crypto_hex(h, sizeof(h), hex);
	ck_assert_uint_eq(strlen(fp), 16);
	ck_assert(strncmp(fp, hex, 16) == 0);

	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	ck_assert_int_eq(crypto_verify(pk, msg, sizeof(msg), sig), 0);
	msg[0] ^= 1;
	ck_assert_int_eq(crypto_verify(pk, msg, sizeof(msg), sig), OTA_ESIG);
	msg[0] ^= 1;
	sig[10] ^= 1;
	ck_assert_int_eq(crypto_verify(pk, msg, sizeof(msg), sig), OTA_ESIG);
	sodium_memzero(sk, sizeof(sk));
}
END_TEST

/* crypto_feed_u64 feeds exactly the 8 little-endian bytes. */
START_TEST(test_feed_u64)
{
	const unsigned char le[8] = {
	    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
	unsigned char got[16], want[16];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(got));
	crypto_feed_u64(&st, 0x0102030405060708ull);
	crypto_generichash_final(&st, got, sizeof(got));
	crypto_generichash(want, sizeof(want), le, sizeof(le), NULL, 0);
	ck_assert_mem_eq(got, want, sizeof(want));
}
END_TEST

START_TEST(test_openssl_interop)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sig[crypto_sign_BYTES], mysig[crypto_sign_BYTES];
	unsigned char msg[512], *sk;
	char dir[64], key[128], pub[128], dat[128], sigp[128], mine[128];
	char mypub[128], pem[128], *text;
	size_t len, msglen;

	if (!testutil_have_command("openssl")) {
		fprintf(stderr, "openssl not found, interop test skipped\n");
		return;
	}
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	ck_assert_ptr_nonnull(sk);
	testutil_tmpdir_new("check_crypto", dir, sizeof(dir));
	snprintf(key, sizeof(key), "%s/release.key.pem", dir);
	snprintf(pub, sizeof(pub), "%s/release.pub.pem", dir);
	snprintf(dat, sizeof(dat), "%s/descriptor.json", dir);
	snprintf(sigp, sizeof(sigp), "%s/descriptor.sig", dir);

	msglen = sizeof(msg);
	randombytes_buf(msg, msglen);
	testutil_write_file(dat, msg, msglen);
	ck_assert_int_eq(
	    testutil_run("openssl genpkey -algorithm ed25519 -out %s", key), 0);
	ck_assert_int_eq(
	    testutil_run("openssl pkey -in %s -pubout -out %s", key, pub), 0);
	ck_assert_int_eq(
	    testutil_run("openssl pkeyutl -sign -inkey %s -rawin -in %s "
	                 "-out %s",
	        key, dat, sigp),
	    0);

	ck_assert_int_eq(crypto_seckey_load(key, sk), 0);
	text = testutil_read_file(pub, &len);
	ck_assert_int_eq(
	    crypto_pubkey_parse((unsigned char *)text, len, pk), 0);
	/* libsodium's secret key carries the public key in its second half. */
	ck_assert(memcmp(sk + 32, pk, sizeof(pk)) == 0);
	/* The same PEM text as openssl's. */
	ck_assert_int_eq(crypto_pubkey_pem(pk, pem, sizeof(pem)), 0);
	ck_assert_str_eq(pem, text);
	free(text);

	text = testutil_read_file(sigp, &len);
	ck_assert_uint_eq(len, crypto_sign_BYTES);
	memcpy(sig, text, sizeof(sig));
	free(text);
	ck_assert_int_eq(crypto_verify(pk, msg, msglen, sig), 0);
	/* Ed25519 is deterministic: libsodium signs the same 64 bytes. */
	crypto_sign_detached(mysig, NULL, msg, msglen, sk);
	ck_assert(memcmp(mysig, sig, crypto_sign_BYTES) == 0);
	msg[100] ^= 0x01;
	ck_assert_int_eq(crypto_verify(pk, msg, msglen, sig), OTA_ESIG);
	msg[100] ^= 0x01;
	sig[0] ^= 0x01;
	ck_assert_int_eq(crypto_verify(pk, msg, msglen, sig), OTA_ESIG);
	sig[0] ^= 0x01;
	pk[5] ^= 0x01;
	ck_assert_int_eq(crypto_verify(pk, msg, msglen, sig), OTA_ESIG);

	/* And the other way: openssl reads otad's files. */
	snprintf(mine, sizeof(mine), "%s/otad.key.pem", dir);
	snprintf(mypub, sizeof(mypub), "%s/otad.pub.pem", dir);
	ck_assert_int_eq(crypto_sign_keypair(pk, sk), 0);
	ck_assert_int_eq(crypto_seckey_save(mine, sk), 0);
	ck_assert_int_eq(crypto_pubkey_save(mypub, pk), 0);
	ck_assert_int_eq(
	    testutil_run(
	        "openssl pkey -in %s -pubout -out %s/derived.pem", mine, dir),
	    0);
	ck_assert_int_eq(
	    testutil_run("cmp -s %s %s/derived.pem", mypub, dir), 0);
	crypto_sign_detached(mysig, NULL, msg, msglen, sk);
	testutil_write_file(sigp, mysig, sizeof(mysig));
	ck_assert_int_eq(
	    testutil_run("openssl pkeyutl -verify -pubin -inkey %s -rawin "
	                 "-in %s -sigfile %s >/dev/null",
	        mypub, dat, sigp),
	    0);

	sodium_free(sk);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_keyring_load)
{
	unsigned char pk1[crypto_sign_PUBLICKEYBYTES],
	    pk2[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct crypto_keyring *kr = NULL;
	const struct crypto_key *k;
	char dir[64], path[160], pem[128];

	testutil_tmpdir_new("check_crypto", dir, sizeof(dir));
	ck_assert_int_eq(crypto_sign_keypair(pk1, sk), 0);
	ck_assert_int_eq(crypto_sign_keypair(pk2, sk), 0);
	sodium_memzero(sk, sizeof(sk));
	snprintf(path, sizeof(path), "%s/release-2026.pub", dir);
	testutil_write_file(path, pk1, sizeof(pk1));
	ck_assert_int_eq(crypto_pubkey_pem(pk2, pem, sizeof(pem)), 0);
	snprintf(path, sizeof(path), "%s/A_hsm.1.pem", dir);
	testutil_write_file(path, pem, strlen(pem));
	/* Ignored: other names, dotfiles, bad ids, directories. */
	snprintf(path, sizeof(path), "%s/README.txt", dir);
	testutil_write_file(path, "hello", 5);
	snprintf(path, sizeof(path), "%s/.hidden.pub", dir);
	testutil_write_file(path, "x", 1);
	snprintf(path, sizeof(path), "%s/bad id.pub", dir);
	testutil_write_file(path, "x", 1);
	snprintf(path, sizeof(path), "%s/.pub", dir);
	testutil_write_file(path, "x", 1);
	snprintf(path, sizeof(path), "%s/sub.pub", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);

	ck_assert_int_eq(crypto_keyring_load(dir, &kr), 0);
	ck_assert_ptr_nonnull(kr);
	ck_assert_uint_eq(kr->count, 2);
	ck_assert_str_eq(kr->keys[0].id, "A_hsm.1");
	ck_assert_str_eq(kr->keys[1].id, "release-2026");
	ck_assert(memcmp(kr->keys[0].pk, pk2, sizeof(pk2)) == 0);
	ck_assert(memcmp(kr->keys[1].pk, pk1, sizeof(pk1)) == 0);
	k = crypto_keyring_find(kr, "release-2026");
	ck_assert_ptr_nonnull(k);
	ck_assert(memcmp(k->pk, pk1, sizeof(pk1)) == 0);
	ck_assert_ptr_eq(crypto_keyring_find(kr, "A_hsm.1"), &kr->keys[0]);
	ck_assert_ptr_null(crypto_keyring_find(kr, "release"));
	ck_assert_ptr_null(crypto_keyring_find(kr, ""));
	ck_assert_ptr_null(crypto_keyring_find(kr, "README"));
	crypto_keyring_free(kr);
	kr = NULL;

	/* A .pub and a .pem for one id. */
	snprintf(path, sizeof(path), "%s/release-2026.pem", dir);
	testutil_write_file(path, pem, strlen(pem));
	kr = (struct crypto_keyring *)1;
	ck_assert_int_eq(crypto_keyring_load(dir, &kr), OTA_EINVAL);
	ck_assert_ptr_null(kr);
	ck_assert_int_eq(unlink(path), 0);

	/* An unparsable key file. */
	snprintf(path, sizeof(path), "%s/broken.pub", dir);
	testutil_write_file(path, pk1, sizeof(pk1) - 1);
	ck_assert_int_eq(crypto_keyring_load(dir, &kr), OTA_EINVAL);
	ck_assert_ptr_null(kr);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(crypto_keyring_load(dir, &kr), 0);
	ck_assert_uint_eq(kr->count, 2);
	crypto_keyring_free(kr);

	/* A missing directory is an empty keyring. */
	snprintf(path, sizeof(path), "%s/nope", dir);
	ck_assert_int_eq(crypto_keyring_load(path, &kr), 0);
	ck_assert_ptr_nonnull(kr);
	ck_assert_uint_eq(kr->count, 0);
	ck_assert_ptr_null(crypto_keyring_find(kr, "release-2026"));
	crypto_keyring_free(kr);
	crypto_keyring_free(NULL);

	testutil_tmpdir_remove(dir);
}
END_TEST

static Suite *
crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc;

	tc = tcase_create("token_new_parse");
	tcase_add_test(tc, test_token_roundtrip);
	tcase_add_test(tc, test_token_new_in);
	tcase_add_test(tc, test_token_parse_rejects);
	suite_add_tcase(s, tc);
	tc = tcase_create("hash_equal");
	tcase_add_test(tc, test_hash_equal);
	suite_add_tcase(s, tc);
	tc = tcase_create("seckey_save_load");
	tcase_add_test(tc, test_seckey_save_load);
	suite_add_tcase(s, tc);
	tc = tcase_create("pubkey_parse_pem");
	tcase_add_test(tc, test_pubkey_pem);
	suite_add_tcase(s, tc);
	tc = tcase_create("fingerprint_hex_verify");
	tcase_add_test(tc, test_fingerprint_hex_verify);
	suite_add_tcase(s, tc);
	tc = tcase_create("feed_u64");
	tcase_add_test(tc, test_feed_u64);
	suite_add_tcase(s, tc);
	tc = tcase_create("openssl_interop");
	tcase_add_test(tc, test_openssl_interop);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("keyring_load");
	tcase_add_test(tc, test_keyring_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (crypto_init() != 0)
		return EXIT_FAILURE;
	log_set_level(LOG_ERR);
	return testutil_run_suite(crypto_suite());
}
