/*
 * fsutil: temporary file + fsync + rename + directory fsync, mkdir and
 * mkdir -p, and the EINTR-safe whole-buffer read and write loops.  What a
 * write leaves at the final path is always a complete file; a temporary
 * file this module created is never left behind by a failed call.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "log.h"

int
fsutil_read_full(int fd, void *buf, size_t len, size_t *out_len)
{
	unsigned char *p = buf;
	ssize_t n;

	*out_len = 0;
	while (*out_len < len) {
		n = read(fd, p + *out_len, len - *out_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*out_len += (size_t)n;
	}
	return 0;
}

int
fsutil_write_full(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsyncs the directory holding path, so a rename into it is durable. */
static int
fsync_parent(const char *path)
{
	char *copy;
	int fd = -1, rc = OTA_EIO;

	if ((copy = strdup(path)) == NULL)
		return OTA_ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		log_err("msg=\"cannot sync directory\" path=%s err=\"%s\"",
		    path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/*
 * Gives the open temporary file tmp its mode and contents and makes them
 * durable; closes fd in every case.  Returns 0 or OTA_EIO (logged).
 */
static int
tmp_fill(int fd, const char *tmp, const void *data, size_t len, mode_t mode)
{
	/* The umask must not loosen nor tighten what the caller asked. */
	if (fchmod(fd, mode) != 0 || fsutil_write_full(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		log_err("msg=\"cannot write file\" path=%s err=\"%s\"", tmp,
		    strerror(errno));
		close(fd);
		return OTA_EIO;
	}
	if (close(fd) != 0) {
		log_err("msg=\"cannot write file\" path=%s err=\"%s\"", tmp,
		    strerror(errno));
		return OTA_EIO;
	}
	return 0;
}

/*
 * Renames tmp to path; replace says whether a file at path may be
 * replaced.  Returns 0, OTA_ECONFLICT (not logged) or OTA_EIO (logged).
 */
static int
tmp_rename(const char *tmp, const char *path, int replace)
{
	if (replace) {
		if (rename(tmp, path) == 0)
			return 0;
	} else {
		/* RENAME_NOREPLACE closes the race with another writer. */
		if (renameat2(
		        AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EEXIST)
			return OTA_ECONFLICT;
		/* A file system without it: the lstat check must do. */
		if ((errno == EINVAL || errno == ENOSYS) &&
		    rename(tmp, path) == 0)
			return 0;
	}
	log_err("msg=\"cannot rename file\" from=%s path=%s err=\"%s\"", tmp,
	    path, strerror(errno));
	return OTA_EIO;
}

/*
 * The steps both writers share: the temporary file ("<path>.tmp" O_EXCL
 * for a new file, "<path>.tmp.XXXXXX" to replace one), its contents, the
 * rename and the directory fsync.  Returns what the public functions do.
 */
static int
write_via_tmp(
    const char *path, const void *data, size_t len, mode_t mode, int replace)
{
	char *tmp = NULL;
	int fd, made = 0, rc = OTA_EIO;

	if (asprintf(&tmp, replace ? "%s.tmp.XXXXXX" : "%s.tmp", path) < 0)
		return OTA_ENOMEM;
	if (replace)
		fd = mkostemp(tmp, O_CLOEXEC);
	else
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		log_err("msg=\"cannot create file\" path=%s err=\"%s\"", tmp,
		    strerror(errno));
		goto out;
	}
	made = 1;
	if ((rc = tmp_fill(fd, tmp, data, len, mode)) != 0 ||
	    (rc = tmp_rename(tmp, path, replace)) != 0)
		goto out;
	made = 0;
	rc = fsync_parent(path);
out:
	if (made)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
fsutil_write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return OTA_ECONFLICT;
	if (errno != ENOENT) {
		log_err("msg=\"cannot check file\" path=%s err=\"%s\"", path,
		    strerror(errno));
		return OTA_EIO;
	}
	return write_via_tmp(path, data, len, mode, 0);
}

int
fsutil_write_replace(
    const char *path, const void *data, size_t len, mode_t mode)
{
	return write_via_tmp(path, data, len, mode, 1);
}

int
fsutil_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	log_err("msg=\"cannot create directory\" path=%s err=\"%s\"", path,
	    strerror(errno));
	return OTA_EIO;
}

int
fsutil_mkdir_parents(const char *path, mode_t mode)
{
	struct stat st;
	char *copy, *p, saved;
	int rc = OTA_EIO;

	if (path[0] == '\0') {
		log_err("msg=\"cannot create directory\" path=\"\"");
		return OTA_EIO;
	}
	if ((copy = strdup(path)) == NULL)
		return OTA_ENOMEM;
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		/* Each prefix in turn: "a", "a/b", "a/b/c". */
		saved = *p;
		*p = '\0';
		if (fsutil_mkdir(copy, mode) != 0)
			goto out;
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_err("msg=\"not a directory\" path=%s", path);
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

int
fsutil_lock_file(const char *path, int *out_fd, long *out_holder_pid)
{
	struct flock fl;
	char pid[32];
	int fd, n, rc = OTA_EIO;

	*out_fd = -1;
	*out_holder_pid = 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("msg=\"cannot open lock file\" path=%s error=\"%s\"",
		    path, strerror(errno));
		return OTA_EIO;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		if (errno != EACCES && errno != EAGAIN) {
			log_err("msg=\"cannot lock\" path=%s error=\"%s\"",
			    path, strerror(errno));
			goto out;
		}
		/* Held: F_GETLK names the process (0 if it let go since). */
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			*out_holder_pid = (long)fl.l_pid;
		rc = OTA_ECONFLICT;
		goto out;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 ||
	    fsutil_write_full(fd, pid, (size_t)n) != 0) {
		log_err("msg=\"cannot write lock file\" path=%s", path);
		goto out;
	}
	*out_fd = fd;
	return 0;
out:
	close(fd);
	return rc;
}
