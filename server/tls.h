/*
 * tls: TLS material for the HTTPS listener (GnuTLS, as libmicrohttpd uses).
 * Creates a development certificate on first start when the operator has
 * not configured one; never overwrites existing files.
 */
#ifndef OTAD_TLS_H
#define OTAD_TLS_H

#include <stddef.h>

/*
 * Makes sure cert_path and key_path exist.  When both are missing, creates
 * an ECDSA P-256 key (mode 0600) and a self-signed X.509 certificate for
 * it, valid 825 days, CN "otad development certificate", subjectAltName
 * DNS:localhost, IP:127.0.0.1 and IP:::1, usable as a server certificate
 * and as its own CA (so `curl --cacert cert.pem` verifies it), both written
 * with temp file + fsync + rename; the parent directory is created (0700).
 * When both exist: does nothing.  When only one exists: OTA_ECONFIG (logged).
 * Returns 0, OTA_ECONFIG, OTA_EIO or OTA_ECRYPTO.
 */
int tls_dev_cert_ensure(const char *cert_path, const char *key_path);

/*
 * Reads a PEM file (at most 1 MiB) into a new NUL-terminated buffer (*out,
 * caller frees with free()).  Returns 0, OTA_EIO (logged with the path and
 * strerror) or OTA_ETOOBIG.
 */
int tls_read_pem(const char *path, char **out);

#endif
