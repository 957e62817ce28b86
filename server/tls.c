/*
 * tls: the HTTPS listener's key material, with GnuTLS.  Makes a throwaway
 * self-signed development certificate when none is configured and reads
 * PEM files for libmicrohttpd.  It never replaces a file that exists, and
 * a GnuTLS failure is logged once here with gnutls_strerror's text.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "errors.h"
#include "fsutil.h"
#include "log.h"

#define TLS_DEV_CN "otad development certificate"
#define TLS_DEV_DAYS 825
#define TLS_PEM_MAX (1024 * 1024)

/* Logs a failed GnuTLS call and maps it to OTA_ECRYPTO. */
static int
tls_gnutls_err(const char *what, int grc)
{
	log_err("msg=\"gnutls call failed\" call=%s err=\"%s\"", what,
	    gnutls_strerror(grc));
	return OTA_ECRYPTO;
}

/* Creates the directory that will hold path (and its parents), 0700. */
static int
mkdir_for(const char *path)
{
	char *copy;
	int rc;

	if ((copy = strdup(path)) == NULL)
		return OTA_ENOMEM;
	rc = fsutil_mkdir_parents(dirname(copy), 0700);
	free(copy);
	return rc;
}

/*
 * fsutil_write_new, with a file that appeared at path meanwhile reported
 * as the configuration error it is.  Returns 0, OTA_ECONFIG, OTA_EIO or
 * OTA_ENOMEM; failures are logged.
 */
static int
file_create(const char *path, const void *data, size_t len, mode_t mode)
{
	int rc;

	rc = fsutil_write_new(path, data, len, mode);
	if (rc == OTA_ECONFLICT) {
		log_err("msg=\"refusing to overwrite\" path=%s", path);
		rc = OTA_ECONFIG;
	}
	return rc;
}

/*
 * Says whether path exists: 1 yes, 0 no, OTA_EIO (logged) when it cannot
 * be told.
 */
static int
path_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	log_err(
	    "msg=\"cannot stat\" path=%s err=\"%s\"", path, strerror(errno));
	return OTA_EIO;
}

/*
 * Fills crt as the development certificate for key: see tls.h for the
 * fields.  Returns 0 or OTA_ECRYPTO (logged).
 */
static int
tls_dev_cert_fill(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	static const unsigned char ip4[4] = {127, 0, 0, 1};
	static const unsigned char ip6[16] = {[15] = 1};
	/* IP addresses go in binary, as in the certificate itself. */
	static const struct {
		gnutls_x509_subject_alt_name_t type;
		const void *data;
		unsigned len;
	} sans[] = {
	    {GNUTLS_SAN_DNSNAME, "localhost", 9},
	    {GNUTLS_SAN_IPADDRESS, ip4, sizeof(ip4)},
	    {GNUTLS_SAN_IPADDRESS, ip6, sizeof(ip6)},
	};
	size_t i;
	unsigned char serial[16], keyid[64];
	size_t keyid_len = sizeof(keyid);
	time_t now = time(NULL);
	int grc;

	if ((grc = gnutls_x509_crt_set_version(crt, 3)) < 0)
		return tls_gnutls_err("gnutls_x509_crt_set_version", grc);
	if ((grc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return tls_gnutls_err("gnutls_rnd", grc);
	/*
	 * Positive (top bit clear) and a nonzero first byte, so the DER
	 * INTEGER is exactly 16 bytes with no padding octet.
	 */
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
	if ((grc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0)
		return tls_gnutls_err("gnutls_x509_crt_set_serial", grc);
	/* A minute of slack for clocks a little behind ours. */
	if ((grc = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0)
		return tls_gnutls_err(
		    "gnutls_x509_crt_set_activation_time", grc);
	if ((grc = gnutls_x509_crt_set_expiration_time(
	         crt, now + (time_t)TLS_DEV_DAYS * 24 * 60 * 60)) < 0)
		return tls_gnutls_err(
		    "gnutls_x509_crt_set_expiration_time", grc);
	if ((grc = gnutls_x509_crt_set_dn_by_oid(crt,
	         GNUTLS_OID_X520_COMMON_NAME, 0, TLS_DEV_CN,
	         sizeof(TLS_DEV_CN) - 1)) < 0)
		return tls_gnutls_err("gnutls_x509_crt_set_dn_by_oid", grc);
	for (i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
		grc = gnutls_x509_crt_set_subject_alt_name(crt, sans[i].type,
		    sans[i].data, sans[i].len, GNUTLS_FSAN_APPEND);
		if (grc < 0)
			return tls_gnutls_err(
			    "gnutls_x509_crt_set_subject_alt_name", grc);
	}
	/* CA:TRUE so that clients can use the certificate as its own root. */
	if ((grc = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0)
		return tls_gnutls_err(
		    "gnutls_x509_crt_set_basic_constraints", grc);
	if ((grc = gnutls_x509_crt_set_key_usage(crt,
	         GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN)) < 0)
		return tls_gnutls_err("gnutls_x509_crt_set_key_usage", grc);
	if ((grc = gnutls_x509_crt_set_key_purpose_oid(
	         crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0)
		return tls_gnutls_err(
		    "gnutls_x509_crt_set_key_purpose_oid", grc);
	if ((grc = gnutls_x509_crt_set_key(crt, key)) < 0)
		return tls_gnutls_err("gnutls_x509_crt_set_key", grc);
	if ((grc = gnutls_x509_crt_get_key_id(crt, 0, keyid, &keyid_len)) < 0)
		return tls_gnutls_err("gnutls_x509_crt_get_key_id", grc);
	if ((grc = gnutls_x509_crt_set_subject_key_id(crt, keyid, keyid_len)) <
	    0)
		return tls_gnutls_err(
		    "gnutls_x509_crt_set_subject_key_id", grc);
	if ((grc = gnutls_x509_crt_set_authority_key_id(
	         crt, keyid, keyid_len)) < 0)
		return tls_gnutls_err(
		    "gnutls_x509_crt_set_authority_key_id", grc);
	if ((grc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) <
	    0)
		return tls_gnutls_err("gnutls_x509_crt_sign2", grc);
	return 0;
}

/*
 * Creates the development key and certificate when both are missing; see
 * tls.h.  The key is written first; if the certificate then cannot be
 * written the key is removed again, so a later start does not find a
 * lone key.
 */
int
tls_dev_cert_ensure(const char *cert_path, const char *key_path)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = {NULL, 0}, crt_pem = {NULL, 0};
	int have_cert, have_key, grc, rc;

	if ((have_cert = path_exists(cert_path)) < 0)
		return have_cert;
	if ((have_key = path_exists(key_path)) < 0)
		return have_key;
	if (have_cert && have_key)
		return 0;
	if (have_cert || have_key) {
		log_err("msg=\"TLS certificate and key must both exist or both "
		        "be missing\" cert=%s cert_exists=%d key=%s "
		        "key_exists=%d",
		    cert_path, have_cert, key_path, have_key);
		return OTA_ECONFIG;
	}

	rc = OTA_ECRYPTO;
	if ((grc = gnutls_x509_privkey_init(&key)) < 0) {
		key = NULL;
		tls_gnutls_err("gnutls_x509_privkey_init", grc);
		goto out;
	}
	if ((grc = gnutls_x509_crt_init(&crt)) < 0) {
		crt = NULL;
		tls_gnutls_err("gnutls_x509_crt_init", grc);
		goto out;
	}
	if ((grc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
		tls_gnutls_err("gnutls_x509_privkey_generate", grc);
		goto out;
	}
	if ((rc = tls_dev_cert_fill(crt, key)) != 0)
		goto out;
	rc = OTA_ECRYPTO;
	if ((grc = gnutls_x509_crt_export2(
	         crt, GNUTLS_X509_FMT_PEM, &crt_pem)) < 0) {
		tls_gnutls_err("gnutls_x509_crt_export2", grc);
		goto out;
	}
	/* PKCS#8 "PRIVATE KEY": what openssl, curl and GnuTLS all read. */
	if ((grc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM,
	         NULL, GNUTLS_PKCS_PLAIN, &key_pem)) < 0) {
		tls_gnutls_err("gnutls_x509_privkey_export2_pkcs8", grc);
		goto out;
	}

	if ((rc = mkdir_for(key_path)) != 0 || (rc = mkdir_for(cert_path)) != 0)
		goto out;
	if ((rc = file_create(key_path, key_pem.data, key_pem.size, 0600)) != 0)
		goto out;
	rc = file_create(cert_path, crt_pem.data, crt_pem.size, 0644);
	if (rc != 0) {
		/* Leave neither rather than one: the next start retries. */
		unlink(key_path);
		goto out;
	}
	log_info("msg=\"created development TLS certificate\" cert=%s key=%s "
	         "days=%d",
	    cert_path, key_path, TLS_DEV_DAYS);
	rc = 0;
out:
	if (key_pem.data != NULL) {
		gnutls_memset(key_pem.data, 0, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(crt_pem.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/*
 * Reads path into a new buffer of exactly its size plus the NUL; the
 * 1 MiB work buffer is wiped since it may have held a private key.
 */
int
tls_read_pem(const char *path, char **out)
{
	char *buf = NULL;
	size_t done = 0;
	int fd, rc = OTA_EIO;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_err("msg=\"cannot open\" path=%s err=\"%s\"", path,
		    strerror(errno));
		goto out;
	}
	/* One byte over the limit tells a too-big file from a full one. */
	if ((buf = malloc(TLS_PEM_MAX + 2)) == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	if (fsutil_read_full(fd, buf, TLS_PEM_MAX + 1, &done) != 0) {
		log_err("msg=\"cannot read\" path=%s err=\"%s\"", path,
		    strerror(errno));
		goto out;
	}
	if (done > TLS_PEM_MAX) {
		log_err("msg=\"PEM file too big\" path=%s max_bytes=%d", path,
		    TLS_PEM_MAX);
		rc = OTA_ETOOBIG;
		goto out;
	}
	buf[done] = '\0';
	/* Give back the unused megabyte: callers keep these for long. */
	if ((*out = malloc(done + 1)) == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	memcpy(*out, buf, done + 1);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (buf != NULL) {
		/* The buffer may hold a private key. */
		gnutls_memset(buf, 0, done);
		free(buf);
	}
	return rc;
}
