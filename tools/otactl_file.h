/*
 * otactl_file: reading the files commands are given (bounded, whole) and
 * telling whether a path is free to create.
 */
#ifndef OTACTL_FILE_H
#define OTACTL_FILE_H

#include <stddef.h>

/*
 * Reads a whole file of at most max_bytes into a new buffer (*out, free()
 * it; one extra NUL byte is appended, not counted in *out_len).  Returns
 * 0, OTA_EIO (printed with the path and strerror) or OTA_ETOOBIG (not
 * printed: the caller knows which limit it was).
 */
int otactl_file_read(
    const char *path, size_t max_bytes, unsigned char **out, size_t *out_len);

/* 1 when path exists (any type, dangling symlinks included) or cannot be
 * checked, 0 when it certainly does not. */
int otactl_file_exists(const char *path);

#endif
