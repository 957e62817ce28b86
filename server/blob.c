/*
 * blob: temp file + fsync + rename + directory fsync for every blob, so a
 * crash at any instant leaves either no file or the whole verified file.
 * Temp files are named tmp/upload-XXXXXX and all removed at start.
 * SHA-256 is libsodium's; SHA-1 and MD5 (for DDI clients) are GnuTLS's,
 * whose failures are logged once here with gnutls_strerror's text.
 */
#include "blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "errors.h"
#include "fsutil.h"
#include "log.h"

struct blob_store {
	char blobs_dir[PATH_MAX / 2]; /* half: room for file names */
	char tmp_dir[PATH_MAX / 2];
	int blobs_dirfd;
};

#define SHA1_BYTES 20
#define MD5_BYTES 16
#define READ_CHUNK (64 * 1024)

/* The running SHA-1 and MD5 of some bytes; NULL handles until set up. */
struct blob_digests {
	gnutls_hash_hd_t sha1;
	gnutls_hash_hd_t md5;
};

struct blob_tmp {
	struct blob_store *bs;
	char path[PATH_MAX];
	int fd;
	uint64_t size;
	crypto_hash_sha256_state sha;
	struct blob_digests dg;
};

static int
gnutls_fail(const char *op, int grc)
{
	log_err("msg=\"digest failed\" op=%s error=\"%s\"", op,
	    gnutls_strerror(grc));
	return OTA_ECRYPTO;
}

/* Frees both contexts (dropping their state).  Safe on a partial init. */
static void
digests_free(struct blob_digests *dg)
{
	if (dg->sha1 != NULL)
		gnutls_hash_deinit(dg->sha1, NULL);
	if (dg->md5 != NULL)
		gnutls_hash_deinit(dg->md5, NULL);
	dg->sha1 = NULL;
	dg->md5 = NULL;
}

/* Starts SHA-1 and MD5.  0 or OTA_ECRYPTO (logged; nothing held). */
static int
digests_init(struct blob_digests *dg)
{
	gnutls_hash_hd_t h;
	int grc;

	dg->sha1 = NULL;
	dg->md5 = NULL;
	if ((grc = gnutls_hash_init(&h, GNUTLS_DIG_SHA1)) < 0)
		return gnutls_fail("sha1_init", grc);
	dg->sha1 = h;
	if ((grc = gnutls_hash_init(&h, GNUTLS_DIG_MD5)) < 0) {
		digests_free(dg);
		return gnutls_fail("md5_init", grc);
	}
	dg->md5 = h;
	return 0;
}

static int
digests_update(struct blob_digests *dg, const void *data, size_t len)
{
	int grc;

	if ((grc = gnutls_hash(dg->sha1, data, len)) < 0)
		return gnutls_fail("sha1", grc);
	if ((grc = gnutls_hash(dg->md5, data, len)) < 0)
		return gnutls_fail("md5", grc);
	return 0;
}

/* Writes both digests as lowercase hex and frees the contexts. */
static void
digests_finish(struct blob_digests *dg, char out_sha1_hex[BLOB_SHA1_HEX_LEN],
    char out_md5_hex[BLOB_MD5_HEX_LEN])
{
	unsigned char sha1[SHA1_BYTES], md5[MD5_BYTES];

	gnutls_hash_deinit(dg->sha1, sha1);
	gnutls_hash_deinit(dg->md5, md5);
	dg->sha1 = NULL;
	dg->md5 = NULL;
	sodium_bin2hex(out_sha1_hex, BLOB_SHA1_HEX_LEN, sha1, sizeof(sha1));
	sodium_bin2hex(out_md5_hex, BLOB_MD5_HEX_LEN, md5, sizeof(md5));
}

static int
valid_hex(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* Removes every file left in tmp/ by an upload that never finished. */
static int
clean_tmp(struct blob_store *bs)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	d = opendir(bs->tmp_dir);
	if (d == NULL) {
		log_err("msg=\"cannot read directory\" path=%s error=\"%s\"",
		    bs->tmp_dir, strerror(errno));
		return OTA_EIO;
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "upload-", 7) != 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	if (n > 0)
		log_info("msg=\"removed partial uploads\" count=%d", n);
	return 0;
}

struct blob_store *
blob_store_open(const char *data_dir)
{
	struct blob_store *bs;

	bs = calloc(1, sizeof(*bs));
	if (bs == NULL)
		return NULL;
	bs->blobs_dirfd = -1;
	if ((size_t)snprintf(bs->blobs_dir, sizeof(bs->blobs_dir), "%s/blobs",
	        data_dir) >= sizeof(bs->blobs_dir) ||
	    (size_t)snprintf(bs->tmp_dir, sizeof(bs->tmp_dir), "%s/tmp",
	        data_dir) >= sizeof(bs->tmp_dir)) {
		log_err("msg=\"data_dir path too long\"");
		goto fail;
	}
	if (fsutil_mkdir(bs->blobs_dir, 0700) != 0 ||
	    fsutil_mkdir(bs->tmp_dir, 0700) != 0)
		goto fail;
	bs->blobs_dirfd =
	    open(bs->blobs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bs->blobs_dirfd < 0) {
		log_err("msg=\"cannot open directory\" path=%s error=\"%s\"",
		    bs->blobs_dir, strerror(errno));
		goto fail;
	}
	if (clean_tmp(bs) != 0)
		goto fail;
	return bs;
fail:
	blob_store_close(bs);
	return NULL;
}

void
blob_store_close(struct blob_store *bs)
{
	if (bs == NULL)
		return;
	if (bs->blobs_dirfd >= 0)
		close(bs->blobs_dirfd);
	free(bs);
}

int
blob_tmp_new(struct blob_store *bs, struct blob_tmp **out)
{
	struct blob_tmp *t;
	int rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return OTA_ENOMEM;
	t->bs = bs;
	if ((rc = digests_init(&t->dg)) != 0) {
		free(t);
		return rc;
	}
	snprintf(t->path, sizeof(t->path), "%s/upload-XXXXXX", bs->tmp_dir);
	t->fd = mkostemp(t->path, O_CLOEXEC);
	if (t->fd < 0) {
		log_err("msg=\"cannot create temp file\" dir=%s error=\"%s\"",
		    bs->tmp_dir, strerror(errno));
		digests_free(&t->dg);
		free(t);
		return OTA_EIO;
	}
	crypto_hash_sha256_init(&t->sha);
	*out = t;
	return 0;
}

int
blob_tmp_write(struct blob_tmp *t, const void *data, size_t len)
{
	int rc;

	if ((rc = digests_update(&t->dg, data, len)) != 0)
		return rc;
	if (fsutil_write_full(t->fd, data, len) != 0) {
		log_err("msg=\"write failed\" path=%s error=\"%s\"", t->path,
		    strerror(errno));
		return OTA_EIO;
	}
	crypto_hash_sha256_update(&t->sha, data, len);
	t->size += len;
	return 0;
}

uint64_t
blob_tmp_size(const struct blob_tmp *t)
{
	return t->size;
}

int
blob_tmp_read_at(
    struct blob_tmp *t, uint64_t off, void *buf, size_t len, size_t *out_n)
{
	size_t got = 0;
	ssize_t n;

	/* Ends at len bytes or the end of file: each turn reads some. */
	while (got < len) {
		n = pread(
		    t->fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("msg=\"read failed\" path=%s error=\"%s\"",
			    t->path, strerror(errno));
			*out_n = 0;
			return OTA_EIO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*out_n = got;
	return 0;
}

void
blob_tmp_digest(struct blob_tmp *t, unsigned char out_sha256[32])
{
	crypto_hash_sha256_final(&t->sha, out_sha256);
}

void
blob_tmp_digests_hex(struct blob_tmp *t, char out_sha1_hex[BLOB_SHA1_HEX_LEN],
    char out_md5_hex[BLOB_MD5_HEX_LEN])
{
	digests_finish(&t->dg, out_sha1_hex, out_md5_hex);
}

int
blob_tmp_commit(struct blob_tmp *t, const char *sha256_hex)
{
	char dst[PATH_MAX];
	struct stat st;
	int rc = OTA_EIO;

	if (!valid_hex(sha256_hex)) {
		rc = OTA_EINVAL;
		goto out;
	}
	snprintf(dst, sizeof(dst), "%s/%s", t->bs->blobs_dir, sha256_hex);
	if (fstatat(t->bs->blobs_dirfd, sha256_hex, &st, 0) == 0 &&
	    (uint64_t)st.st_size == t->size) {
		rc = 0; /* same address, same bytes: keep the stored one */
		goto out;
	}
	if (fsync(t->fd) != 0) {
		log_err("msg=\"fsync failed\" path=%s error=\"%s\"", t->path,
		    strerror(errno));
		goto out;
	}
	if (fchmod(t->fd, 0600) != 0 || rename(t->path, dst) != 0) {
		log_err(
		    "msg=\"cannot move blob into place\" path=%s error=\"%s\"",
		    dst, strerror(errno));
		goto out;
	}
	t->path[0] = '\0';
	if (fsync(t->bs->blobs_dirfd) != 0) {
		log_err("msg=\"fsync failed\" path=%s error=\"%s\"",
		    t->bs->blobs_dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	blob_tmp_discard(t);
	return rc;
}

void
blob_tmp_discard(struct blob_tmp *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->path[0] != '\0')
		unlink(t->path);
	digests_free(&t->dg);
	free(t);
}

int
blob_open(struct blob_store *bs, const char *sha256_hex, int *out_fd,
    uint64_t *out_size)
{
	struct stat st;
	int fd;

	if (!valid_hex(sha256_hex))
		return OTA_ENOTFOUND;
	fd = openat(bs->blobs_dirfd, sha256_hex, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return OTA_ENOTFOUND;
		log_err("msg=\"cannot open blob\" sha256=%s error=\"%s\"",
		    sha256_hex, strerror(errno));
		return OTA_EIO;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return OTA_EIO;
	}
	*out_fd = fd;
	*out_size = (uint64_t)st.st_size;
	return 0;
}

int
blob_digests_hex(struct blob_store *bs, const char *sha256_hex,
    char out_sha1_hex[BLOB_SHA1_HEX_LEN], char out_md5_hex[BLOB_MD5_HEX_LEN])
{
	struct blob_digests dg = {NULL, NULL};
	crypto_hash_sha256_state sha;
	unsigned char *buf = NULL, sha256[32];
	char sha256_hex_now[65];
	uint64_t size;
	ssize_t n;
	int fd = -1, rc;

	if ((rc = blob_open(bs, sha256_hex, &fd, &size)) != 0)
		return rc;
	if ((buf = malloc(READ_CHUNK)) == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	if ((rc = digests_init(&dg)) != 0)
		goto out;
	crypto_hash_sha256_init(&sha);
	/* Ends at end of file: each turn consumes at least one byte. */
	for (;;) {
		n = read(fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err(
			    "msg=\"cannot read blob\" sha256=%s error=\"%s\"",
			    sha256_hex, strerror(errno));
			rc = OTA_EIO;
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = digests_update(&dg, buf, (size_t)n)) != 0)
			goto out;
		crypto_hash_sha256_update(&sha, buf, (size_t)n);
	}
	crypto_hash_sha256_final(&sha, sha256);
	sodium_bin2hex(
	    sha256_hex_now, sizeof(sha256_hex_now), sha256, sizeof(sha256));
	if (strcmp(sha256_hex_now, sha256_hex) != 0) {
		log_err("msg=\"blob bytes differ from their sha256 name\" "
		        "sha256=%s actual=%s",
		    sha256_hex, sha256_hex_now);
		rc = OTA_EMISMATCH;
		goto out;
	}
	digests_finish(&dg, out_sha1_hex, out_md5_hex);
	rc = 0;
out:
	digests_free(&dg);
	free(buf);
	close(fd);
	return rc;
}

int
blob_remove(struct blob_store *bs, const char *sha256_hex)
{
	if (!valid_hex(sha256_hex))
		return OTA_EINVAL;
	if (unlinkat(bs->blobs_dirfd, sha256_hex, 0) != 0 && errno != ENOENT) {
		log_err("msg=\"cannot remove blob\" sha256=%s error=\"%s\"",
		    sha256_hex, strerror(errno));
		return OTA_EIO;
	}
	fsync(bs->blobs_dirfd);
	return 0;
}

int
blob_foreach(struct blob_store *bs,
    int (*fn)(const char *sha256_hex, void *arg), void *arg)
{
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	fd = dup(bs->blobs_dirfd);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return OTA_EIO;
	}
	rewinddir(d);
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (valid_hex(e->d_name))
			rc = fn(e->d_name, arg);
	closedir(d);
	return rc;
}
