/*
 * otactl_file: the few file operations otactl needs: bounded whole-file
 * reads (descriptors, signatures, keys), atomic replacement of output files
 * (temporary file, fsync, rename, fsync of the directory) and mkdir -p.
 * Errors are printed here with the path and strerror, once.
 */
#include "otactl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

/*
 * Reads from fd into buf until len bytes or end of file.  Returns the
 * count read, or -1 with errno set.
 */
static ssize_t
read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
otactl_file_read(
    const char *path, size_t max_bytes, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = NULL;
	ssize_t n;
	int fd = -1, rc = OTA_EIO;

	*out = NULL;
	*out_len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		otactl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	/* One byte more than allowed tells "too big" from "exactly max". */
	buf = malloc(max_bytes + 2);
	if (buf == NULL) {
		otactl_err("out of memory");
		rc = OTA_ENOMEM;
		goto out;
	}
	n = read_full(fd, buf, max_bytes + 1);
	if (n < 0) {
		otactl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	if ((size_t)n > max_bytes) {
		rc = OTA_ETOOBIG;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = (size_t)n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Writes all of buf to fd.  Returns 0 or -1 with errno set. */
static int
write_full(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsyncs the directory holding path, so a rename in it is durable. */
static int
sync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

int
otactl_file_write_atomic(
    const char *path, const void *buf, size_t len, unsigned int mode)
{
	char *tmp = NULL;
	int fd = -1, rc = OTA_EIO;

	tmp = otactl_strcat2(path, ".tmp.XXXXXX");
	if (tmp == NULL) {
		otactl_err("out of memory");
		return OTA_ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		otactl_err("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_full(fd, buf, len) != 0 || fchmod(fd, (mode_t)mode) != 0 ||
	    fsync(fd) != 0) {
		otactl_err("%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		otactl_err("%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		otactl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (sync_parent(path) != 0) {
		otactl_err("%s: syncing directory: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

int
otactl_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

int
otactl_file_mkdirs(const char *dir)
{
	char *p = strdup(dir);
	struct stat st;
	int rc = OTA_EIO;
	char c;

	if (p == NULL) {
		otactl_err("out of memory");
		return OTA_ENOMEM;
	}
	/* Create each prefix in turn; existing ones are fine. */
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			otactl_err("%s: %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		otactl_err("%s: not a directory", dir);
		goto out;
	}
	rc = 0;
out:
	free(p);
	return rc;
}
