/*
 * check_tls: specification of server/tls.c.  The development certificate
 * is made in a temporary directory and inspected with openssl (SAN, CA
 * flag, self-verification) and loaded by GnuTLS as libmicrohttpd would.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "errors.h"
#include "log.h"
#include "testutil.h"
#include "tls.h"

struct paths {
	char dir[64];
	char sub[128]; /* not yet existing, two levels down */
	char cert[192];
	char key[192];
};

static void
paths_init(struct paths *p)
{
	testutil_tmpdir_new("check_tls", p->dir, sizeof(p->dir));
	snprintf(p->sub, sizeof(p->sub), "%s/var/tls", p->dir);
	snprintf(p->cert, sizeof(p->cert), "%s/cert.pem", p->sub);
	snprintf(p->key, sizeof(p->key), "%s/key.pem", p->sub);
}

START_TEST(test_ensure_creates)
{
	struct paths p;
	struct stat st, st2;
	char *cert, *key, *cert2, *key2, tmp[256];

	paths_init(&p);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), 0);

	ck_assert_int_eq(stat(p.key, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(p.cert, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(stat(p.sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p.key);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p.cert);
	ck_assert_int_eq(access(tmp, F_OK), -1);

	ck_assert_int_eq(tls_read_pem(p.cert, &cert), 0);
	ck_assert_int_eq(tls_read_pem(p.key, &key), 0);
	ck_assert_ptr_nonnull(strstr(cert, "-----BEGIN CERTIFICATE-----\n"));
	ck_assert_ptr_nonnull(strstr(key, "-----BEGIN PRIVATE KEY-----\n"));

	/* Second call: nothing changes. */
	ck_assert_int_eq(stat(p.cert, &st), 0);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), 0);
	ck_assert_int_eq(stat(p.cert, &st2), 0);
	ck_assert_uint_eq(st.st_ino, st2.st_ino);
	ck_assert_int_eq(tls_read_pem(p.cert, &cert2), 0);
	ck_assert_int_eq(tls_read_pem(p.key, &key2), 0);
	ck_assert_str_eq(cert, cert2);
	ck_assert_str_eq(key, key2);
	free(cert2);
	free(key2);

	/* Each run makes a new key and serial. */
	ck_assert_int_eq(unlink(p.cert), 0);
	ck_assert_int_eq(unlink(p.key), 0);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), 0);
	ck_assert_int_eq(tls_read_pem(p.cert, &cert2), 0);
	ck_assert_int_eq(tls_read_pem(p.key, &key2), 0);
	ck_assert_str_ne(cert, cert2);
	ck_assert_str_ne(key, key2);
	free(cert2);
	free(key2);

	free(cert);
	free(key);
	testutil_tmpdir_remove(p.dir);
}
END_TEST

START_TEST(test_ensure_half_present)
{
	struct paths p;
	char *before, *after;

	paths_init(&p);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), 0);
	ck_assert_int_eq(tls_read_pem(p.key, &before), 0);

	/* Key without certificate: an error, and the key is left alone. */
	ck_assert_int_eq(unlink(p.cert), 0);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), OTA_ECONFIG);
	ck_assert_int_eq(access(p.cert, F_OK), -1);
	ck_assert_int_eq(tls_read_pem(p.key, &after), 0);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	/* Certificate without key. */
	ck_assert_int_eq(rename(p.key, p.cert), 0);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), OTA_ECONFIG);
	ck_assert_int_eq(access(p.key, F_OK), -1);

	/* A parent path that is a file. */
	ck_assert_int_eq(unlink(p.cert), 0);
	ck_assert_int_eq(rmdir(p.sub), 0);
	ck_assert_int_eq(testutil_run("touch '%s'", p.sub), 0);
	ck_assert_int_lt(tls_dev_cert_ensure(p.cert, p.key), 0);
	testutil_tmpdir_remove(p.dir);
}
END_TEST

START_TEST(test_cert_openssl)
{
	struct paths p;
	char *text, *pub1, *pub2;

	if (!testutil_have_command("openssl")) {
		fprintf(stderr, "openssl not found, test skipped\n");
		return;
	}
	paths_init(&p);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), 0);

	text =
	    testutil_popen_read("openssl x509 -in '%s' -noout -text", p.cert);
	ck_assert_ptr_nonnull(strstr(text, "IP Address:127.0.0.1"));
	ck_assert_ptr_nonnull(strstr(text, "IP Address:0:0:0:0:0:0:0:1"));
	ck_assert_ptr_nonnull(strstr(text, "DNS:localhost"));
	ck_assert_ptr_nonnull(
	    strstr(text, "Subject: CN = otad development certificate"));
	ck_assert_ptr_nonnull(
	    strstr(text, "Issuer: CN = otad development certificate"));
	ck_assert_ptr_nonnull(strstr(text, "Version: 3 (0x2)"));
	ck_assert_ptr_nonnull(strstr(text, "CA:TRUE"));
	ck_assert_ptr_nonnull(strstr(text, "TLS Web Server Authentication"));
	ck_assert_ptr_nonnull(strstr(text, "ecdsa-with-SHA256"));
	ck_assert_ptr_nonnull(strstr(text, "NIST CURVE: P-256"));
	free(text);

	ck_assert_int_eq(
	    testutil_run(
	        "openssl verify -CAfile '%s' '%s' >/dev/null", p.cert, p.cert),
	    0);
	ck_assert_int_eq(
	    testutil_run("openssl verify -purpose sslserver -CAfile '%s' "
	                 "'%s' >/dev/null",
	        p.cert, p.cert),
	    0);
	/* Valid for 825 days from now, not 826. */
	ck_assert_int_eq(
	    testutil_run("openssl x509 -in '%s' -noout -checkend %d "
	                 ">/dev/null",
	        p.cert, 824 * 86400),
	    0);
	ck_assert_int_ne(
	    testutil_run("openssl x509 -in '%s' -noout -checkend %d "
	                 ">/dev/null",
	        p.cert, 826 * 86400),
	    0);
	/* The key file is the certificate's key. */
	pub1 = testutil_popen_read("openssl pkey -in '%s' -pubout", p.key);
	pub2 =
	    testutil_popen_read("openssl x509 -in '%s' -noout -pubkey", p.cert);
	ck_assert_str_eq(pub1, pub2);
	free(pub1);
	free(pub2);
	testutil_tmpdir_remove(p.dir);
}
END_TEST

START_TEST(test_cert_gnutls_loads)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t c, k;
	struct paths p;
	char *cert, *key;

	paths_init(&p);
	ck_assert_int_eq(tls_dev_cert_ensure(p.cert, p.key), 0);
	ck_assert_int_eq(tls_read_pem(p.cert, &cert), 0);
	ck_assert_int_eq(tls_read_pem(p.key, &key), 0);
	c.data = (unsigned char *)cert;
	c.size = (unsigned)strlen(cert);
	k.data = (unsigned char *)key;
	k.size = (unsigned)strlen(key);
	/* What libmicrohttpd does with MHD_OPTION_HTTPS_MEM_CERT/KEY. */
	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&cred), 0);
	ck_assert_int_ge(gnutls_certificate_set_x509_key_mem(
	                     cred, &c, &k, GNUTLS_X509_FMT_PEM),
	    0);
	gnutls_certificate_free_credentials(cred);
	free(cert);
	free(key);
	testutil_tmpdir_remove(p.dir);
}
END_TEST

START_TEST(test_read_pem)
{
	struct paths p;
	char path[192], *buf = (char *)1;
	FILE *f;

	paths_init(&p);
	snprintf(path, sizeof(path), "%s/missing.pem", p.dir);
	ck_assert_int_eq(tls_read_pem(path, &buf), OTA_EIO);
	ck_assert_ptr_null(buf);

	snprintf(path, sizeof(path), "%s/empty.pem", p.dir);
	ck_assert_int_eq(testutil_run("touch '%s'", path), 0);
	ck_assert_int_eq(tls_read_pem(path, &buf), 0);
	ck_assert_str_eq(buf, "");
	free(buf);

	/* Exactly 1 MiB is accepted, one byte more is not. */
	snprintf(path, sizeof(path), "%s/big.pem", p.dir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 1024 * 1024; i++)
		fputc('A', f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(tls_read_pem(path, &buf), 0);
	ck_assert_uint_eq(strlen(buf), 1024 * 1024);
	free(buf);
	ck_assert_int_eq(testutil_run("printf A >> '%s'", path), 0);
	buf = (char *)1;
	ck_assert_int_eq(tls_read_pem(path, &buf), OTA_ETOOBIG);
	ck_assert_ptr_null(buf);

	/* A directory cannot be read. */
	ck_assert_int_eq(tls_read_pem(p.dir, &buf), OTA_EIO);
	testutil_tmpdir_remove(p.dir);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	tc = tcase_create("dev_cert_ensure");
	tcase_add_test(tc, test_ensure_creates);
	tcase_add_test(tc, test_ensure_half_present);
	tcase_add_test(tc, test_cert_openssl);
	tcase_add_test(tc, test_cert_gnutls_loads);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("read_pem");
	tcase_add_test(tc, test_read_pem);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERR);
	return testutil_run_suite(tls_suite());
}
