/*
 * otactl_keys: release keys and detached signatures without a server:
 * keygen, sign and verify.  Keys are the files crypto.c reads and writes
 * (PKCS#8 / SPKI PEM, as openssl writes them), so otactl and openssl keys
 * are interchangeable.  Secret keys live only in sodium_malloc memory and
 * are never printed.
 */
#include "otactl_keys.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "bundles.h"
#include "descriptor.h"
#include "errors.h"
#include "fsutil.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_file.h"
#include "otactl_str.h"
#include "otactl_usage.h"

#define PUBKEY_FILE_MAX 4096     /* a PEM public key is ~113 bytes */
#define VERIFY_MSG_MAX (1 << 20) /* verify is not limited to descriptors */

int
otactl_keys_read_sig(const char *path, unsigned char out_sig[crypto_sign_BYTES])
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = otactl_file_read(path, crypto_sign_BYTES, &buf, &len);
	if (rc == OTA_ETOOBIG || (rc == 0 && len != crypto_sign_BYTES)) {
		otactl_err("%s: not a raw %d-byte Ed25519 signature", path,
		    crypto_sign_BYTES);
		rc = OTA_EINVAL;
	}
	if (rc == 0)
		memcpy(out_sig, buf, crypto_sign_BYTES);
	free(buf);
	return rc;
}

/*
 * Reads a descriptor for signing, an image's or a bundle's: at most
 * DESCRIPTOR_MAX_BYTES (what a PKCS#11 token signs in one call) and
 * valid.  Returns 0 and a new *out,
 * or -1 after printing why.
 */
static int
read_descriptor(const char *path, unsigned char **out, size_t *out_len)
{
	struct ota_descriptor d;
	char err[256];
	int rc;

	rc = otactl_file_read(path, DESCRIPTOR_MAX_BYTES, out, out_len);
	if (rc == OTA_ETOOBIG) {
		otactl_err("%s: over %d bytes; HSMs (PKCS#11 EdDSA) sign at "
		           "most %d bytes in one call: sign the descriptor, "
		           "not the image",
		    path, DESCRIPTOR_MAX_BYTES, DESCRIPTOR_MAX_BYTES);
		return -1;
	}
	if (rc != 0)
		return -1;
	err[0] = '\0';
	/* A bundle descriptor (docs/bundles.md) names its "parts". */
	if (memmem(*out, *out_len, "\"parts\"", 7) != NULL)
		rc = bundle_parse(*out, *out_len, NULL, err, sizeof(err));
	else
		rc = descriptor_parse(*out, *out_len, &d, err, sizeof(err));
	if (rc != 0) {
		otactl_err("%s: not a valid descriptor: %s", path, err);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * Writes a new key pair to keypath and pubpath, neither of which may
 * exist.  Prints the fingerprint.  Returns the exit status.
 */
static int
keygen_write(const char *keypath, const char *pubpath)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = NULL;
	char fp[17];
	int rc = OTACTL_EXIT_FAIL, err;

	if (otactl_file_exists(keypath) || otactl_file_exists(pubpath)) {
		otactl_err("%s exists; refusing to overwrite",
		    otactl_file_exists(keypath) ? keypath : pubpath);
		goto out;
	}
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (sk == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	crypto_sign_keypair(pk, sk);
	if ((err = crypto_seckey_save(keypath, sk)) != 0) {
		otactl_err("%s: cannot write secret key: %s", keypath,
		    ota_strerror(err));
		goto out;
	}
	if ((err = crypto_pubkey_save(pubpath, pk)) != 0) {
		otactl_err("%s: cannot write public key: %s", pubpath,
		    ota_strerror(err));
		/* A lone secret key would block the retry: remove it. */
		unlink(keypath);
		goto out;
	}
	crypto_key_fingerprint(pk, fp);
	printf("key id (fingerprint): %s\n", fp);
	rc = OTACTL_EXIT_OK;
out:
	if (sk != NULL)
		sodium_free(sk);
	return rc;
}

int
otactl_keys_gen(struct otactl *ctx, int argc, char **argv)
{
	static const struct otactl_opt opts[] = {{"out", 1, 1}, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val, *prefix = NULL;
	char *keypath = NULL, *pubpath = NULL;
	int id, rc = OTACTL_EXIT_USAGE;

	otactl_args_cmd_init(&a, argc, argv, "keygen", NULL);
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0)
		prefix = val;
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (prefix == NULL || prefix[0] == '\0')
		return otactl_usage_err("keygen: --out PREFIX is required");
	keypath = otactl_str_cat2(prefix, ".key");
	pubpath = otactl_str_cat2(prefix, ".pub");
	if (keypath == NULL || pubpath == NULL) {
		otactl_err("out of memory");
		rc = OTACTL_EXIT_FAIL;
		goto out;
	}
	rc = keygen_write(keypath, pubpath);
out:
	free(keypath);
	free(pubpath);
	return rc;
}

/*
 * Signs the descriptor at path with the key at keypath and writes the 64
 * raw bytes to sigpath.  Returns the exit status.
 */
static int
sign_file(const char *path, const char *keypath, const char *sigpath)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	unsigned char *msg = NULL, *sk = NULL;
	size_t len = 0;
	char fp[17];
	int rc = OTACTL_EXIT_FAIL, err;

	if (read_descriptor(path, &msg, &len) != 0)
		goto out;
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (sk == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	if ((err = crypto_seckey_load(keypath, sk)) != 0) {
		otactl_err("%s: cannot load Ed25519 secret key: %s", keypath,
		    ota_strerror(err));
		goto out;
	}
	/* Pure Ed25519 over the exact bytes: deterministic, as openssl. */
	crypto_sign_detached(sig, NULL, msg, len, sk);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	err = fsutil_write_replace(sigpath, sig, sizeof(sig), 0644);
	if (err != 0) {
		otactl_err("%s: cannot write signature: %s", sigpath,
		    ota_strerror(err));
		goto out;
	}
	crypto_key_fingerprint(pk, fp);
	printf("signed %s with key %s: %s\n", path, fp, sigpath);
	rc = OTACTL_EXIT_OK;
out:
	if (sk != NULL)
		sodium_free(sk);
	free(msg);
	return rc;
}

int
otactl_keys_sign(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_KEY = 1, OPT_OUT };
	static const struct otactl_opt opts[] = {
	    {"key", 1, OPT_KEY}, {"out", 1, OPT_OUT}, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val, *key = NULL, *out = NULL, *path;
	char *def_out = NULL;
	int id, rc;

	otactl_args_cmd_init(&a, argc, argv, "sign", "DESCRIPTOR");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_KEY)
			key = val;
		else
			out = val;
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	path = a.pos;
	if (key == NULL || path == NULL)
		return otactl_usage_err(
		    "sign: usage: sign --key KEYFILE [--out SIGFILE] "
		    "DESCRIPTOR");
	if (out == NULL) {
		def_out = otactl_str_cat2(path, ".sig");
		if (def_out == NULL) {
			otactl_err("out of memory");
			return OTACTL_EXIT_FAIL;
		}
		out = def_out;
	}
	rc = sign_file(path, key, out);
	free(def_out);
	return rc;
}

/*
 * Checks the signature in sigpath over the file at path against the
 * public key in pubpath.  Returns the exit status.
 */
static int
verify_file(const char *path, const char *pubpath, const char *sigpath)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	unsigned char *pub = NULL, *msg = NULL;
	size_t publen = 0, len = 0;
	int rc = OTACTL_EXIT_FAIL, err;

	err = otactl_file_read(pubpath, PUBKEY_FILE_MAX, &pub, &publen);
	if (err == OTA_ETOOBIG ||
	    (err == 0 && crypto_pubkey_parse(pub, publen, pk) != 0)) {
		otactl_err("%s: not an Ed25519 public key (PEM SPKI or raw "
		           "32 bytes)",
		    pubpath);
		goto out;
	}
	if (err != 0 || otactl_keys_read_sig(sigpath, sig) != 0)
		goto out;
	err = otactl_file_read(path, VERIFY_MSG_MAX, &msg, &len);
	if (err == OTA_ETOOBIG)
		otactl_err("%s: over %d bytes; not a descriptor", path,
		    VERIFY_MSG_MAX);
	if (err != 0)
		goto out;
	if (crypto_verify(pk, msg, len, sig) != 0) {
		otactl_err("signature verification failed: %s is not a "
		           "signature of %s by %s",
		    sigpath, path, pubpath);
		goto out;
	}
	printf("signature OK\n");
	rc = OTACTL_EXIT_OK;
out:
	free(pub);
	free(msg);
	return rc;
}

int
otactl_keys_verify(struct otactl *ctx, int argc, char **argv)
{
	enum { OPT_PUB = 1, OPT_SIG };
	static const struct otactl_opt opts[] = {
	    {"pub", 1, OPT_PUB}, {"sig", 1, OPT_SIG}, {NULL, 0, 0}};
	struct otactl_args a;
	const char *val, *pub = NULL, *sig = NULL;
	int id;

	otactl_args_cmd_init(&a, argc, argv, "verify", "DESCRIPTOR");
	while ((id = otactl_args_cmd_next(&a, ctx, opts, &val)) > 0) {
		if (id == OPT_PUB)
			pub = val;
		else
			sig = val;
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	if (pub == NULL || sig == NULL || a.pos == NULL)
		return otactl_usage_err("verify: usage: verify --pub PUBFILE "
		                        "--sig SIGFILE DESCRIPTOR");
	return verify_file(a.pos, pub, sig);
}
