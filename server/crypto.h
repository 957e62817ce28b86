/*
 * crypto: everything libsodium does for otad: API tokens (random, stored
 * as BLAKE2b hashes, compared in constant time), Ed25519 keys (PEM or raw
 * files as openssl writes them), detached signature checks, the trusted
 * release keyring, and SHA-256 for streamed uploads.  No globals besides
 * libsodium's own initialisation.
 */
#ifndef OTAD_CRYPTO_H
#define OTAD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

/* Initialises libsodium; returns 0 or OTA_ECRYPTO.  Call once at start. */
int crypto_init(void);

/*
 * API tokens look like "otad_<16 hex id>_<43 base64url secret>".  The id
 * is stored in clear for lookup; the secret only as a keyless BLAKE2b-256
 * hash.  CRYPTO_TOKEN_LEN includes the NUL.
 */
#define CRYPTO_TOKEN_LEN 82
#define CRYPTO_TOKEN_ID_LEN 17
#define CRYPTO_HASH_LEN 32

/* Makes a new random token; fills its id and the hash of its secret. */
int crypto_token_new(char out_token[CRYPTO_TOKEN_LEN],
    char out_id[CRYPTO_TOKEN_ID_LEN], unsigned char out_hash[CRYPTO_HASH_LEN]);

/*
 * crypto_token_new with the id's first byte (its first two hex digits)
 * set to bucket, its other 56 bits random.  Tokens made together in one
 * bucket have ids next to each other in an index, so that storing
 * thousands of them writes a few pages rather than one page each, while
 * the ids of two tokens made apart still differ in 64 random bits
 * (bucket drawn at random, e.g. randombytes_uniform(256)).
 */
int crypto_token_new_in(uint8_t bucket, char out_token[CRYPTO_TOKEN_LEN],
    char out_id[CRYPTO_TOKEN_ID_LEN], unsigned char out_hash[CRYPTO_HASH_LEN]);

/*
 * n (>= 0) tokens of bucket at once, as crypto_token_new_in makes them,
 * into out_tokens[i], out_ids[i] and out_hashes[i]: the fast way to make
 * thousands.  Returns 0, OTA_ENOMEM or OTA_ECRYPTO (on failure, the
 * tokens made so far are left for the caller to wipe).  Thread-safe.
 */
int crypto_tokens_new_in(uint8_t bucket, size_t n,
    char (*out_tokens)[CRYPTO_TOKEN_LEN], char (*out_ids)[CRYPTO_TOKEN_ID_LEN],
    unsigned char (*out_hashes)[CRYPTO_HASH_LEN]);

/*
 * Splits a presented token into its id and the hash of its secret.
 * Returns 0, or OTA_EUNAUTH when it does not have the token's shape.
 */
int crypto_token_parse(const char *token, char out_id[CRYPTO_TOKEN_ID_LEN],
    unsigned char out_hash[CRYPTO_HASH_LEN]);

/* 1 when s has the shape of a token id (16 lowercase hex digits, nothing
 * more), else 0.  Names that must never be read as an id use it.  Pure. */
int crypto_token_id_shaped(const char *s);

/* Constant-time comparison of two hashes: 1 when equal, 0 otherwise. */
int crypto_hash_equal(const unsigned char a[CRYPTO_HASH_LEN],
    const unsigned char b[CRYPTO_HASH_LEN]);

/*
 * Ed25519 public key from a file's bytes: raw 32 bytes, or PEM SPKI
 * ("-----BEGIN PUBLIC KEY-----", as `openssl pkey -pubout` writes).
 * Returns 0 or OTA_EINVAL.
 */
int crypto_pubkey_parse(const unsigned char *buf, size_t len,
    unsigned char out_pk[crypto_sign_PUBLICKEYBYTES]);

/* Writes pk as PEM SPKI text (NUL-terminated) into out (>= 128 bytes). */
int crypto_pubkey_pem(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    char *out, size_t outlen);

/*
 * Ed25519 secret key file: PEM PKCS#8 ("-----BEGIN PRIVATE KEY-----", as
 * `openssl genpkey -algorithm ed25519` writes).  load expands the seed into
 * libsodium's 64-byte secret key (out_sk should be sodium_malloc'd);
 * save writes the file with mode 0600 via a temp file + fsync + rename and
 * refuses to overwrite (OTA_ECONFLICT).  Return 0, OTA_EIO, OTA_EINVAL.
 */
int crypto_seckey_load(
    const char *path, unsigned char out_sk[crypto_sign_SECRETKEYBYTES]);
int crypto_seckey_save(
    const char *path, const unsigned char sk[crypto_sign_SECRETKEYBYTES]);

/* Writes pk to path as PEM SPKI (mode 0644, refuses to overwrite). */
int crypto_pubkey_save(
    const char *path, const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

/* Key id of a public key: first 8 bytes of SHA-256(pk) in hex (16 chars). */
void crypto_key_fingerprint(
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], char out_hex[17]);

/* Verifies a detached Ed25519 signature: 0 valid, OTA_ESIG otherwise. */
int crypto_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    const unsigned char *msg, size_t len,
    const unsigned char sig[crypto_sign_BYTES]);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const unsigned char *in, size_t n, char *out);

/*
 * Feeds v to a BLAKE2b state as 8 little-endian bytes: the integer field
 * of every multi-field digest (manifest ETags and URL tokens, DDI action
 * and feedback hashes).  Pure; any thread.
 */
void crypto_feed_u64(crypto_generichash_state *st, uint64_t v);

/*
 * The trusted release keyring: every regular file in dir named
 * "<keyid>.pub" or "<keyid>.pem" (keyid: 1..64 of [A-Za-z0-9._-]) holding an
 * Ed25519 public key, raw or PEM.  Other files are ignored with a warning;
 * an unparsable .pub/.pem file is an error (OTA_EINVAL, logged with its
 * name).  A missing dir yields an empty keyring (every upload then fails
 * with "unknown key").  Returns 0, OTA_EINVAL, OTA_EIO or OTA_ENOMEM.
 */
#define CRYPTO_KEYID_MAX 64
struct crypto_key {
	char id[CRYPTO_KEYID_MAX + 1];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
};
struct crypto_keyring {
	struct crypto_key *keys;
	size_t count;
};
int crypto_keyring_load(const char *dir, struct crypto_keyring **out);
void crypto_keyring_free(struct crypto_keyring *kr);
/* Returns the key with that id (borrowed from kr), or NULL. */
const struct crypto_key *crypto_keyring_find(
    const struct crypto_keyring *kr, const char *id);

/*
 * Reads a secret file (a password) into a new sodium_malloc'd string the
 * caller sodium_free's: one line, its newline dropped, 1..max bytes
 * without NUL.  key names the config key in the log line of a failure.
 * Returns NULL (logged, never the content).
 */
char *crypto_secret_read(const char *path, const char *key, size_t max);

/* Wipes and frees what crypto_secret_read returned.  NULL-safe. */
void crypto_secret_free(char *secret);

#endif
