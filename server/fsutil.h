/*
 * fsutil: the durable file steps otad and otactl share.  A file is written
 * to a temporary name in its own directory, fsynced, renamed into place and
 * its directory fsynced, so a crash leaves the old state or the whole new
 * file, never part of one.  I/O failures are logged here, once, with the
 * path and strerror; a refused overwrite is returned unlogged, for the
 * caller to word.  No globals: safe from any thread.
 */
#ifndef OTAD_FSUTIL_H
#define OTAD_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Creates path holding exactly data[0..len), with exactly mode (the umask
 * does not apply), never replacing anything at path, dangling symlinks
 * included.  The temporary file is "<path>.tmp", created O_EXCL: a leftover
 * of a crash is reported, not reused.  The final rename uses
 * RENAME_NOREPLACE, so a file that appeared meanwhile is kept (a plain
 * rename after the existence check where the file system lacks it).
 * Returns 0, OTA_ECONFLICT when path exists (not logged), OTA_EIO or
 * OTA_ENOMEM (logged).  The temporary file is removed on failure.
 */
int fsutil_write_new(
    const char *path, const void *data, size_t len, mode_t mode);

/*
 * Writes path the same way but replaces a file already there: readers see
 * the old or the new file whole.  The temporary file is
 * "<path>.tmp.XXXXXX" (mkostemp), so concurrent writers do not collide and
 * the last rename wins.  Returns 0, OTA_EIO or OTA_ENOMEM (logged).
 */
int fsutil_write_replace(
    const char *path, const void *data, size_t len, mode_t mode);

/*
 * Creates the directory path with mode (less the umask); one that exists
 * already is fine.  Returns 0 or OTA_EIO (logged).
 */
int fsutil_mkdir(const char *path, mode_t mode);

/*
 * mkdir -p: creates path and each missing parent with mode (less the
 * umask), then checks that path is a directory.  Returns 0, OTA_EIO
 * (logged) or OTA_ENOMEM.
 */
int fsutil_mkdir_parents(const char *path, mode_t mode);

/*
 * Reads from fd into buf until len bytes or end of file, retrying after
 * EINTR.  *out_len is the count read, on failure too (what a caller
 * holding a secret must wipe).  Returns 0, or -1 with errno set; logs
 * nothing (the caller knows what it was reading).
 */
int fsutil_read_full(int fd, void *buf, size_t len, size_t *out_len);

/*
 * Writes all of data[0..len) to fd, retrying after EINTR and short writes.
 * Returns 0, or -1 with errno set; logs nothing.
 */
int fsutil_write_full(int fd, const void *data, size_t len);

/*
 * Takes an exclusive advisory lock (fcntl) on path, created 0600 if
 * missing, and writes this process's pid into it.  The lock lasts while
 * *out_fd stays open (close it to release; the process's exit does too,
 * kill -9 included).  Returns 0; OTA_ECONFLICT when another process holds
 * it, with its pid in *out_holder_pid (0 if unknown), not logged; or
 * OTA_EIO (logged).
 */
int fsutil_lock_file(const char *path, int *out_fd, long *out_holder_pid);

#endif
