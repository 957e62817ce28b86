/*
 * otactl_file: what otactl needs from files beyond server/fsutil (which
 * writes its output files and makes its directories): bounded whole-file
 * reads (descriptors, signatures, keys) and an existence check.  Errors are
 * printed here with the path and strerror, once.
 */
#include "otactl_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"
#include "otactl_err.h"

int
otactl_file_read(
    const char *path, size_t max_bytes, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t n;
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
	if (fsutil_read_full(fd, buf, max_bytes + 1, &n) != 0) {
		otactl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > max_bytes) {
		rc = OTA_ETOOBIG;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
otactl_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}
