/*
 * crypto: otad's use of libsodium, and nothing hand-rolled: API tokens and
 * their BLAKE2b hashes, Ed25519 key files in the PEM forms openssl writes
 * (SPKI for public keys, PKCS#8 for secret keys), detached signature checks
 * and the release keyring.  Secret bytes live in sodium_malloc'd memory or
 * are wiped with sodium_memzero before their buffer goes out of scope.
 */
#include "crypto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"
#include "log.h"

#define TOKEN_PREFIX "otad_"
#define TOKEN_PREFIX_LEN 5
#define TOKEN_ID_HEX 16
#define TOKEN_SECRET_B64 43
/* "otad_" + id + "_" + secret, without the NUL. */
#define TOKEN_STRLEN (TOKEN_PREFIX_LEN + TOKEN_ID_HEX + 1 + TOKEN_SECRET_B64)
_Static_assert(TOKEN_STRLEN < CRYPTO_TOKEN_LEN, "token buffer too small");
_Static_assert(TOKEN_ID_HEX < CRYPTO_TOKEN_ID_LEN, "id buffer too small");

/* The DER headers openssl writes before an Ed25519 key's 32 bytes. */
static const unsigned char spki_prefix[12] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
static const unsigned char pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00,
    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
#define SPKI_DER_LEN (sizeof(spki_prefix) + crypto_sign_PUBLICKEYBYTES)
#define PKCS8_DER_LEN (sizeof(pkcs8_prefix) + crypto_sign_SEEDBYTES)

#define PEM_PUBLIC "PUBLIC KEY"
#define PEM_PRIVATE "PRIVATE KEY"
/* Largest key file we read; real ones are about 120 bytes. */
#define KEY_FILE_MAX 4096

/* Initialises libsodium (idempotent); see crypto.h. */
int
crypto_init(void)
{
	if (sodium_init() < 0) {
		log_err("msg=\"libsodium initialisation failed\"");
		return OTA_ECRYPTO;
	}
	return 0;
}

/* Random bytes of one token besides its id's bucket: 7 of id, 32 of
 * secret. */
#define TOKEN_RANDOM (TOKEN_ID_HEX / 2 - 1 + 32)

/*
 * Makes a token from bucket and rnd[TOKEN_RANDOM]: 8 bytes of id in hex
 * (bucket, then 7 of rnd), 32 bytes of secret (the rest of rnd) in
 * unpadded base64url; the hash covers the 43 secret characters.  The
 * caller owns out_token, which holds the secret: wipe it once shown.
 */
static int
token_make(uint8_t bucket, const unsigned char *rnd,
    char out_token[CRYPTO_TOKEN_LEN], char out_id[CRYPTO_TOKEN_ID_LEN],
    unsigned char out_hash[CRYPTO_HASH_LEN])
{
	unsigned char id_raw[TOKEN_ID_HEX / 2];
	char secret[TOKEN_SECRET_B64 + 1];
	int rc = OTA_ECRYPTO;

	id_raw[0] = bucket;
	memcpy(id_raw + 1, rnd, sizeof(id_raw) - 1);
	sodium_bin2hex(out_id, CRYPTO_TOKEN_ID_LEN, id_raw, sizeof(id_raw));
	sodium_bin2base64(secret, sizeof(secret), rnd + sizeof(id_raw) - 1, 32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (crypto_generichash(out_hash, CRYPTO_HASH_LEN,
	        (const unsigned char *)secret, TOKEN_SECRET_B64, NULL, 0) != 0)
		goto out;
	if (snprintf(out_token, CRYPTO_TOKEN_LEN, TOKEN_PREFIX "%s_%s", out_id,
	        secret) != TOKEN_STRLEN)
		goto out;
	rc = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	if (rc != 0) {
		sodium_memzero(out_token, CRYPTO_TOKEN_LEN);
		sodium_memzero(out_hash, CRYPTO_HASH_LEN);
	}
	return rc;
}

int
crypto_token_new_in(uint8_t bucket, char out_token[CRYPTO_TOKEN_LEN],
    char out_id[CRYPTO_TOKEN_ID_LEN], unsigned char out_hash[CRYPTO_HASH_LEN])
{
	unsigned char rnd[TOKEN_RANDOM];
	int rc;

	randombytes_buf(rnd, sizeof(rnd));
	rc = token_make(bucket, rnd, out_token, out_id, out_hash);
	sodium_memzero(rnd, sizeof(rnd));
	return rc;
}

/* A token of a random bucket: 8 random bytes of id. */
int
crypto_token_new(char out_token[CRYPTO_TOKEN_LEN],
    char out_id[CRYPTO_TOKEN_ID_LEN], unsigned char out_hash[CRYPTO_HASH_LEN])
{
	return crypto_token_new_in(
	    (uint8_t)randombytes_uniform(256), out_token, out_id, out_hash);
}

/*
 * n tokens of one bucket: their random bytes are one ChaCha20 stream
 * (randombytes_buf_deterministic) keyed by 32 bytes of the system's
 * generator, drawn for this call and wiped after it, rather than two
 * getrandom calls per token.
 */
int
crypto_tokens_new_in(uint8_t bucket, size_t n,
    char (*out_tokens)[CRYPTO_TOKEN_LEN], char (*out_ids)[CRYPTO_TOKEN_ID_LEN],
    unsigned char (*out_hashes)[CRYPTO_HASH_LEN])
{
	unsigned char seed[randombytes_SEEDBYTES];
	unsigned char *rnd;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / TOKEN_RANDOM ||
	    (rnd = sodium_malloc(n * TOKEN_RANDOM)) == NULL)
		return OTA_ENOMEM;
	randombytes_buf(seed, sizeof(seed));
	randombytes_buf_deterministic(rnd, n * TOKEN_RANDOM, seed);
	sodium_memzero(seed, sizeof(seed));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = token_make(bucket, rnd + i * TOKEN_RANDOM, out_tokens[i],
		    out_ids[i], out_hashes[i]);
	sodium_free(rnd); /* wipes */
	return rc;
}

static int
is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int
is_base64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
crypto_token_id_shaped(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < TOKEN_ID_HEX; i++)
		if (!is_lower_hex(s[i]))
			return 0;
	return s[TOKEN_ID_HEX] == '\0';
}

/*
 * Checks the exact shape (prefix, 16 lowercase hex, "_", 43 canonical
 * base64url characters, nothing more) before hashing the secret part.
 */
int
crypto_token_parse(const char *token, char out_id[CRYPTO_TOKEN_ID_LEN],
    unsigned char out_hash[CRYPTO_HASH_LEN])
{
	unsigned char secret_raw[32];
	const char *id, *secret;
	size_t i, n;
	int rc = OTA_EUNAUTH;

	if (token == NULL || strnlen(token, TOKEN_STRLEN + 1) != TOKEN_STRLEN)
		goto out;
	if (memcmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		goto out;
	id = token + TOKEN_PREFIX_LEN;
	for (i = 0; i < TOKEN_ID_HEX; i++)
		if (!is_lower_hex(id[i]))
			goto out;
	if (id[TOKEN_ID_HEX] != '_')
		goto out;
	secret = id + TOKEN_ID_HEX + 1;
	for (i = 0; i < TOKEN_SECRET_B64; i++)
		if (!is_base64url(secret[i]))
			goto out;
	/* Also refuses a last character with stray low bits. */
	if (sodium_base642bin(secret_raw, sizeof(secret_raw), secret,
	        TOKEN_SECRET_B64, NULL, &n, NULL,
	        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(secret_raw))
		goto out;
	if (crypto_generichash(out_hash, CRYPTO_HASH_LEN,
	        (const unsigned char *)secret, TOKEN_SECRET_B64, NULL,
	        0) != 0) {
		rc = OTA_ECRYPTO;
		goto out;
	}
	memcpy(out_id, id, TOKEN_ID_HEX);
	out_id[TOKEN_ID_HEX] = '\0';
	rc = 0;
out:
	sodium_memzero(secret_raw, sizeof(secret_raw));
	return rc;
}

/* Compares in constant time (sodium_memcmp). */
int
crypto_hash_equal(const unsigned char a[CRYPTO_HASH_LEN],
    const unsigned char b[CRYPTO_HASH_LEN])
{
	return sodium_memcmp(a, b, CRYPTO_HASH_LEN) == 0;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Decodes the single PEM block "-----BEGIN <label>-----" ... "-----END
 * <label>-----" that buf must hold (only whitespace around it) into der.
 * Returns 0 with *out_len set, or OTA_EINVAL.  der may hold partial output
 * on failure: the caller wipes it when it is secret.
 */
static int
pem_decode(const unsigned char *buf, size_t len, const char *label,
    unsigned char *der, size_t der_max, size_t *out_len)
{
	char begin[64], end[64];
	const unsigned char *p, *stop, *body, *tail;
	size_t begin_len, end_len;

	/* base642bin treats a NUL as one of the ignored characters. */
	if (memchr(buf, '\0', len) != NULL)
		return OTA_EINVAL;
	begin_len =
	    (size_t)snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	end_len = (size_t)snprintf(end, sizeof(end), "-----END %s-----", label);
	p = buf;
	stop = buf + len;
	while (p < stop && is_space(*p))
		p++;
	if ((size_t)(stop - p) < begin_len || memcmp(p, begin, begin_len) != 0)
		return OTA_EINVAL;
	body = p + begin_len;
	tail = memmem(body, (size_t)(stop - body), end, end_len);
	if (tail == NULL)
		return OTA_EINVAL;
	for (p = tail + end_len; p < stop; p++)
		if (!is_space(*p))
			return OTA_EINVAL;
	/* A NULL end pointer makes libsodium insist on consuming it all. */
	if (sodium_base642bin(der, der_max, (const char *)body,
	        (size_t)(tail - body), " \t\r\n", out_len, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0)
		return OTA_EINVAL;
	return 0;
}

/*
 * Writes der as PEM text with 64-column lines, as openssl does, into out.
 * Returns 0 or OTA_EINVAL when outlen is too small.
 */
static int
pem_encode(const char *label, const unsigned char *der, size_t der_len,
    char *out, size_t outlen)
{
	char b64[256];
	size_t b64_len, i, n, pos;
	int k;

	if (sodium_base64_ENCODED_LEN(der_len, sodium_base64_VARIANT_ORIGINAL) >
	    sizeof(b64))
		return OTA_EINVAL;
	sodium_bin2base64(
	    b64, sizeof(b64), der, der_len, sodium_base64_VARIANT_ORIGINAL);
	b64_len = strlen(b64);
	k = snprintf(out, outlen, "-----BEGIN %s-----\n", label);
	if (k < 0 || (size_t)k >= outlen)
		goto toosmall;
	pos = (size_t)k;
	for (i = 0; i < b64_len; i += n) {
		n = b64_len - i < 64 ? b64_len - i : 64;
		if (outlen - pos < n + 2)
			goto toosmall;
		memcpy(out + pos, b64 + i, n);
		pos += n;
		out[pos++] = '\n';
	}
	k = snprintf(out + pos, outlen - pos, "-----END %s-----\n", label);
	if (k < 0 || (size_t)k >= outlen - pos)
		goto toosmall;
	sodium_memzero(b64, sizeof(b64));
	return 0;
toosmall:
	sodium_memzero(b64, sizeof(b64));
	if (outlen > 0)
		sodium_memzero(out, outlen);
	return OTA_EINVAL;
}

/*
 * Accepts exactly 32 raw bytes, or one PEM SPKI block whose DER is the
 * 44-byte Ed25519 form.  Any other algorithm or length is OTA_EINVAL.
 */
int
crypto_pubkey_parse(const unsigned char *buf, size_t len,
    unsigned char out_pk[crypto_sign_PUBLICKEYBYTES])
{
	unsigned char der[64];
	size_t der_len;

	if (len == crypto_sign_PUBLICKEYBYTES) {
		memcpy(out_pk, buf, crypto_sign_PUBLICKEYBYTES);
		return 0;
	}
	if (pem_decode(buf, len, PEM_PUBLIC, der, sizeof(der), &der_len) != 0)
		return OTA_EINVAL;
	if (der_len != SPKI_DER_LEN ||
	    memcmp(der, spki_prefix, sizeof(spki_prefix)) != 0)
		return OTA_EINVAL;
	memcpy(out_pk, der + sizeof(spki_prefix), crypto_sign_PUBLICKEYBYTES);
	return 0;
}

/* Writes the SPKI PEM byte for byte as `openssl pkey -pubout` does. */
int
crypto_pubkey_pem(const unsigned char pk[crypto_sign_PUBLICKEYBYTES], char *out,
    size_t outlen)
{
	unsigned char der[SPKI_DER_LEN];

	memcpy(der, spki_prefix, sizeof(spki_prefix));
	memcpy(der + sizeof(spki_prefix), pk, crypto_sign_PUBLICKEYBYTES);
	return pem_encode(PEM_PUBLIC, der, sizeof(der), out, outlen);
}

/*
 * fsutil_write_new for a key file: never replaces one.  Returns 0,
 * OTA_ECONFLICT when path exists, OTA_EIO or OTA_ENOMEM; failures are
 * logged.
 */
static int
key_file_create(const char *path, const char *pem, mode_t mode)
{
	int rc;

	rc = fsutil_write_new(path, pem, strlen(pem), mode);
	if (rc == OTA_ECONFLICT)
		log_err("msg=\"refusing to overwrite key file\" path=%s", path);
	return rc;
}

/*
 * Reads at most max bytes of a regular file into buf (max + 1 bytes long,
 * so an oversized file is noticed).  Returns 0, OTA_ETOOBIG or OTA_EIO
 * with errno set; logs nothing.
 */
static int
file_read_small(int fd, unsigned char *buf, size_t max, size_t *out_len)
{
	size_t n;

	if (fsutil_read_full(fd, buf, max + 1, &n) != 0)
		return OTA_EIO;
	if (n > max)
		return OTA_ETOOBIG;
	*out_len = n;
	return 0;
}

/*
 * Reads a PKCS#8 PEM holding only the 32-byte seed (what openssl 3 writes)
 * and expands it; the file and DER buffers are sodium_malloc'd and wiped.
 * A file readable by group or others is loaded with a warning.
 */
int
crypto_seckey_load(
    const char *path, unsigned char out_sk[crypto_sign_SECRETKEYBYTES])
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *buf = NULL, *der = NULL;
	struct stat st;
	size_t len = 0, der_len = 0;
	int fd = -1, rc = OTA_ENOMEM;

	buf = sodium_malloc(KEY_FILE_MAX + 1);
	der = sodium_malloc(64);
	if (buf == NULL || der == NULL)
		goto out;
	rc = OTA_EIO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		log_err("msg=\"cannot open secret key\" path=%s err=\"%s\"",
		    path, strerror(errno));
		goto out;
	}
	if ((st.st_mode & 077) != 0)
		log_warn("msg=\"secret key readable by others\" path=%s "
		         "mode=%04o",
		    path, (unsigned)(st.st_mode & 07777));
	rc = file_read_small(fd, buf, KEY_FILE_MAX, &len);
	if (rc == OTA_EIO) {
		log_err("msg=\"cannot read secret key\" path=%s err=\"%s\"",
		    path, strerror(errno));
		goto out;
	}
	if (rc != 0 ||
	    pem_decode(buf, len, PEM_PRIVATE, der, 64, &der_len) != 0 ||
	    der_len != PKCS8_DER_LEN ||
	    memcmp(der, pkcs8_prefix, sizeof(pkcs8_prefix)) != 0) {
		rc = OTA_EINVAL;
		log_err("msg=\"not an Ed25519 PKCS#8 PEM secret key\" path=%s",
		    path);
		goto out;
	}
	if (crypto_sign_seed_keypair(pk, out_sk, der + sizeof(pkcs8_prefix)) !=
	    0) {
		rc = OTA_ECRYPTO;
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	sodium_free(buf); /* sodium_free wipes, and takes NULL */
	sodium_free(der);
	return rc;
}

/* Writes the seed of sk as PKCS#8 PEM, mode 0600, never overwriting. */
int
crypto_seckey_save(
    const char *path, const unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
	unsigned char *der = NULL;
	char *pem = NULL;
	int rc = OTA_ENOMEM;

	der = sodium_malloc(PKCS8_DER_LEN);
	pem = sodium_malloc(256);
	if (der == NULL || pem == NULL)
		goto out;
	memcpy(der, pkcs8_prefix, sizeof(pkcs8_prefix));
	if (crypto_sign_ed25519_sk_to_seed(der + sizeof(pkcs8_prefix), sk) !=
	    0) {
		rc = OTA_ECRYPTO;
		goto out;
	}
	if ((rc = pem_encode(PEM_PRIVATE, der, PKCS8_DER_LEN, pem, 256)) != 0)
		goto out;
	rc = key_file_create(path, pem, 0600);
out:
	sodium_free(der);
	sodium_free(pem);
	return rc;
}

/* Writes pk as SPKI PEM, mode 0644, never overwriting. */
int
crypto_pubkey_save(
    const char *path, const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	char pem[128];
	int rc;

	if ((rc = crypto_pubkey_pem(pk, pem, sizeof(pem))) != 0)
		return rc;
	return key_file_create(path, pem, 0644);
}

/* First 8 bytes of SHA-256(pk), hex; safe to log. */
void
crypto_key_fingerprint(
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], char out_hex[17])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, crypto_sign_PUBLICKEYBYTES);
	sodium_bin2hex(out_hex, 17, h, 8);
}

/* Checks a detached Ed25519 signature over msg. */
int
crypto_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
    const unsigned char *msg, size_t len,
    const unsigned char sig[crypto_sign_BYTES])
{
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return OTA_ESIG;
	return 0;
}

/* Lowercase hex of in[0..n) into out, NUL-terminated. */
void
crypto_hex(const unsigned char *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

void
crypto_feed_u64(crypto_generichash_state *st, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

/*
 * Splits a directory entry name "<keyid>.pub" / "<keyid>.pem" into the key
 * id (copied to out_id).  Returns 1 for a key file name, 0 otherwise.
 */
static int
keyring_name_keyid(const char *name, char out_id[CRYPTO_KEYID_MAX + 1])
{
	size_t len = strlen(name), idlen, i;
	const char *suffix;
	char c;

	if (len < 5)
		return 0;
	suffix = name + len - 4;
	if (strcmp(suffix, ".pub") != 0 && strcmp(suffix, ".pem") != 0)
		return 0;
	idlen = len - 4;
	if (idlen > CRYPTO_KEYID_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < idlen; i++) {
		c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-'))
			return 0;
	}
	memcpy(out_id, name, idlen);
	out_id[idlen] = '\0';
	return 1;
}

static int
keyring_cmp(const void *a, const void *b)
{
	const struct crypto_key *ka = a, *kb = b;

	return strcmp(ka->id, kb->id);
}

/*
 * Loads one key file (already known by name to be one) into key.  Returns
 * 1 when loaded, 0 when it is not a regular file (ignored), OTA_EINVAL or
 * OTA_EIO (logged).
 */
static int
keyring_load_file(
    const char *dir, int dfd, const char *name, struct crypto_key *key)
{
	unsigned char buf[KEY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd, rc;

	/* O_NONBLOCK: a FIFO in the directory must not hang the start. */
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0) {
		log_err("msg=\"cannot open release key\" dir=%s file=%s "
		        "err=\"%s\"",
		    dir, name, strerror(errno));
		rc = OTA_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warn("msg=\"ignoring non-regular file in keyring\" dir=%s "
		         "file=%s",
		    dir, name);
		rc = 0;
		goto out;
	}
	rc = file_read_small(fd, buf, KEY_FILE_MAX, &len);
	if (rc == OTA_EIO) {
		log_err("msg=\"cannot read release key\" dir=%s file=%s "
		        "err=\"%s\"",
		    dir, name, strerror(errno));
		goto out;
	}
	if (rc != 0 || crypto_pubkey_parse(buf, len, key->pk) != 0) {
		log_err("msg=\"not an Ed25519 public key (raw 32 bytes or PEM "
		        "SPKI)\" dir=%s file=%s",
		    dir, name);
		rc = OTA_EINVAL;
		goto out;
	}
	rc = 1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Reads every <keyid>.pub/.pem file of the open directory d (named dir in
 * logs) into kr, in directory order; other files are skipped with a
 * warning.  Returns 0, OTA_EINVAL (an unparsable key file), OTA_EIO or
 * OTA_ENOMEM.
 */
static int
keyring_read(const char *dir, DIR *d, struct crypto_keyring *kr)
{
	struct crypto_key *grown;
	struct dirent *de;
	size_t cap = 0;
	int rc;

	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				log_err("msg=\"cannot read keyring\" dir=%s "
				        "err=\"%s\"",
				    dir, strerror(errno));
				return OTA_EIO;
			}
			return 0;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (kr->count == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			grown = realloc(kr->keys, cap * sizeof(*kr->keys));
			if (grown == NULL)
				return OTA_ENOMEM;
			kr->keys = grown;
		}
		if (!keyring_name_keyid(de->d_name, kr->keys[kr->count].id)) {
			log_warn("msg=\"ignoring file in keyring, not "
			         "<keyid>.pub or <keyid>.pem\" dir=%s file=%s",
			    dir, de->d_name);
			continue;
		}
		rc = keyring_load_file(
		    dir, dirfd(d), de->d_name, &kr->keys[kr->count]);
		if (rc < 0)
			return rc;
		if (rc == 1)
			kr->count++;
	}
}

/*
 * Sorts kr by id and refuses a key id present twice (as .pub and .pem) or
 * one public key under two ids (one signer would count twice toward
 * release_signatures_required); logs each key loaded.  Returns 0 or
 * OTA_EINVAL (logged).
 */
static int
keyring_check(const char *dir, struct crypto_keyring *kr)
{
	char fp[17];
	size_t i, j;

	if (kr->count > 0)
		qsort(kr->keys, kr->count, sizeof(*kr->keys), keyring_cmp);
	for (i = 1; i < kr->count; i++) {
		if (strcmp(kr->keys[i - 1].id, kr->keys[i].id) == 0) {
			log_err("msg=\"key id present as both .pub and .pem\" "
			        "dir=%s keyid=%s",
			    dir, kr->keys[i].id);
			return OTA_EINVAL;
		}
	}
	for (i = 0; i < kr->count; i++) {
		for (j = 0; j < i; j++) {
			if (memcmp(kr->keys[i].pk, kr->keys[j].pk,
			        sizeof(kr->keys[i].pk)) == 0) {
				log_err("msg=\"one public key under two key "
				        "ids\" dir=%s keyid=%s keyid=%s",
				    dir, kr->keys[j].id, kr->keys[i].id);
				return OTA_EINVAL;
			}
		}
	}
	for (i = 0; i < kr->count; i++) {
		crypto_key_fingerprint(kr->keys[i].pk, fp);
		log_info("msg=\"release key loaded\" keyid=%s fingerprint=%s",
		    kr->keys[i].id, fp);
	}
	return 0;
}

/*
 * Loads every key file of dir into a new keyring sorted by id (caller
 * frees with crypto_keyring_free).  On failure *out stays NULL.
 */
int
crypto_keyring_load(const char *dir, struct crypto_keyring **out)
{
	struct crypto_keyring *kr;
	DIR *d = NULL;
	int rc = OTA_ENOMEM;

	*out = NULL;
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		goto out;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			log_warn("msg=\"keyring directory missing, no release "
			         "keys trusted\" dir=%s",
			    dir);
			rc = 0;
		} else {
			log_err("msg=\"cannot open keyring\" dir=%s err=\"%s\"",
			    dir, strerror(errno));
			rc = OTA_EIO;
		}
		goto out;
	}
	rc = keyring_read(dir, d, kr);
	if (rc == 0)
		rc = keyring_check(dir, kr);
out:
	if (d != NULL)
		closedir(d);
	if (rc == 0)
		*out = kr;
	else
		crypto_keyring_free(kr);
	return rc;
}

/* Frees kr and its keys; NULL is a no-op. */
void
crypto_keyring_free(struct crypto_keyring *kr)
{
	if (kr == NULL)
		return;
	free(kr->keys);
	free(kr);
}

/* Binary search by id; the result is borrowed from kr. */
const struct crypto_key *
crypto_keyring_find(const struct crypto_keyring *kr, const char *id)
{
	struct crypto_key key;

	if (kr == NULL || kr->count == 0 || id == NULL ||
	    strlen(id) > CRYPTO_KEYID_MAX)
		return NULL;
	strcpy(key.id, id);
	return bsearch(
	    &key, kr->keys, kr->count, sizeof(*kr->keys), keyring_cmp);
}

char *
crypto_secret_read(const char *path, const char *key, size_t max)
{
	char *pw = NULL;
	char buf[128];
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_err("msg=\"cannot open %s\" path=%s error=\"%s\"", key,
		    path, strerror_r(errno, buf, sizeof(buf)));
		return NULL;
	}
	if ((pw = sodium_malloc(max + 2)) == NULL)
		goto fail;
	if (fsutil_read_full(fd, pw, max + 1, &n) != 0) {
		log_err("msg=\"cannot read %s\" path=%s error=\"%s\"", key,
		    path, strerror_r(errno, buf, sizeof(buf)));
		goto fail;
	}
	if (n > 0 && pw[n - 1] == '\n')
		n--;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	if (n == 0 || n > max || memchr(pw, '\0', n) != NULL ||
	    memchr(pw, '\n', n) != NULL) {
		log_err("msg=\"%s must hold one line of 1..%zu bytes\" "
		        "path=%s",
		    key, max, path);
		goto fail;
	}
	pw[n] = '\0';
	close(fd);
	return pw;
fail:
	sodium_free(pw); /* wipes it */
	close(fd);
	return NULL;
}

void
crypto_secret_free(char *secret)
{
	sodium_free(secret);
}
