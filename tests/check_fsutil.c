/*
 * check_fsutil: specification of server/fsutil.c.  Files are written in a
 * temporary directory under a umask that would change their mode, and the
 * directory is listed afterwards to prove no temporary file stayed behind.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"
#include "log.h"
#include "testutil.h"

/* Asserts that path holds exactly the NUL-terminated want, with mode. */
static void
want_file(const char *path, const char *want, mode_t mode)
{
	struct stat st;
	char *text;
	size_t n;

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, mode);
	text = testutil_read_file(path, &n);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_str_eq(text, want);
	free(text);
}

/* Number of entries in dir, "." and ".." aside. */
static int
count_entries(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

START_TEST(test_write_new_creates)
{
	char dir[64], path[128];

	testutil_tmpdir_new("check_fsutil", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	/* The umask neither loosens nor tightens the mode asked for. */
	umask(077);
	ck_assert_int_eq(fsutil_write_new(path, "public\n", 7, 0644), 0);
	want_file(path, "public\n", 0644);
	umask(0);
	snprintf(path, sizeof(path), "%s/secret.pem", dir);
	ck_assert_int_eq(fsutil_write_new(path, "secret\n", 7, 0600), 0);
	want_file(path, "secret\n", 0600);
	umask(022);
	/* An empty file is a file too. */
	snprintf(path, sizeof(path), "%s/empty", dir);
	ck_assert_int_eq(fsutil_write_new(path, "", 0, 0640), 0);
	want_file(path, "", 0640);
	ck_assert_int_eq(count_entries(dir), 3);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_write_new_refuses_overwrite)
{
	char dir[64], path[128], tmp[160], link[128];

	testutil_tmpdir_new("check_fsutil", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(fsutil_write_new(path, "first\n", 6, 0600), 0);
	ck_assert_int_eq(
	    fsutil_write_new(path, "second\n", 7, 0644), OTA_ECONFLICT);
	want_file(path, "first\n", 0600);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ck_assert_int_eq(count_entries(dir), 1);

	/* A dangling symlink is something too: never written through. */
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink("nowhere", link), 0);
	ck_assert_int_eq(fsutil_write_new(link, "x", 1, 0600), OTA_ECONFLICT);
	ck_assert_int_eq(count_entries(dir), 2);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_write_new_stale_tmp)
{
	char dir[64], path[128], tmp[160];
	FILE *f;

	testutil_tmpdir_new("check_fsutil", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* A crash's leftover is reported, and not ours to remove. */
	f = fopen(tmp, "wb");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(fsutil_write_new(path, "key\n", 4, 0600), OTA_EIO);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(access(tmp, F_OK), 0);

	/* A missing directory: nothing is created anywhere. */
	snprintf(path, sizeof(path), "%s/missing/key.pem", dir);
	ck_assert_int_eq(fsutil_write_new(path, "key\n", 4, 0600), OTA_EIO);
	ck_assert_int_eq(count_entries(dir), 1);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_write_replace)
{
	char dir[64], path[128], sub[128];

	testutil_tmpdir_new("check_fsutil", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/image.json", dir);
	umask(077);
	ck_assert_int_eq(fsutil_write_replace(path, "{}\n", 3, 0644), 0);
	want_file(path, "{}\n", 0644);
	ck_assert_int_eq(fsutil_write_replace(path, "{\"a\":1}\n", 8, 0600), 0);
	want_file(path, "{\"a\":1}\n", 0600);
	umask(022);
	ck_assert_int_eq(count_entries(dir), 1);

	/* The rename fails (a directory is in the way): no temp file stays. */
	snprintf(sub, sizeof(sub), "%s/busy", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/busy/x", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(fsutil_write_replace(sub, "x", 1, 0644), OTA_EIO);
	ck_assert_int_eq(count_entries(dir), 2);
	ck_assert_int_eq(count_entries(sub), 1);

	/* A missing directory. */
	snprintf(path, sizeof(path), "%s/missing/image.json", dir);
	ck_assert_int_eq(fsutil_write_replace(path, "{}", 2, 0644), OTA_EIO);
	ck_assert_int_eq(count_entries(dir), 2);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_mkdir)
{
	char dir[64], path[128];
	struct stat st;

	testutil_tmpdir_new("check_fsutil", dir, sizeof(dir));
	umask(022);
	snprintf(path, sizeof(path), "%s/blobs", dir);
	ck_assert_int_eq(fsutil_mkdir(path, 0700), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	/* Idempotent: an existing directory is fine, and left as it was. */
	ck_assert_int_eq(fsutil_mkdir(path, 0755), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	/* A missing parent is an error here. */
	snprintf(path, sizeof(path), "%s/a/b", dir);
	ck_assert_int_eq(fsutil_mkdir(path, 0700), OTA_EIO);
	ck_assert_int_eq(access(path, F_OK), -1);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_mkdir_parents)
{
	char dir[64], path[128], file[128];
	struct stat st;

	testutil_tmpdir_new("check_fsutil", dir, sizeof(dir));
	umask(022);
	snprintf(path, sizeof(path), "%s/var/lib/otad", dir);
	ck_assert_int_eq(fsutil_mkdir_parents(path, 0700), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/var", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	/* Idempotent, with or without a trailing slash. */
	snprintf(path, sizeof(path), "%s/var/lib/otad", dir);
	ck_assert_int_eq(fsutil_mkdir_parents(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/var/lib/otad/", dir);
	ck_assert_int_eq(fsutil_mkdir_parents(path, 0700), 0);

	/* A file where a directory should be. */
	snprintf(file, sizeof(file), "%s/file", dir);
	ck_assert_int_eq(fsutil_write_new(file, "x", 1, 0600), 0);
	ck_assert_int_eq(fsutil_mkdir_parents(file, 0700), OTA_EIO);
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	ck_assert_int_eq(fsutil_mkdir_parents(path, 0700), OTA_EIO);
	ck_assert_int_eq(fsutil_mkdir_parents("", 0700), OTA_EIO);
	testutil_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_read_write_full)
{
	char dir[64], path[128], buf[64];
	size_t n = 99;
	int fd;

	testutil_tmpdir_new("check_fsutil", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/data", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fsutil_write_full(fd, "0123456789", 10), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	/* Stops at end of file. */
	ck_assert_int_eq(fsutil_read_full(fd, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert(memcmp(buf, "0123456789", 10) == 0);
	/* Stops at len. */
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(fsutil_read_full(fd, buf, 4, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(fsutil_read_full(fd, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_int_eq(fsutil_read_full(fd, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(close(fd), 0);

	/* A bad descriptor: -1 with errno, nothing read. */
	ck_assert_int_eq(fsutil_read_full(fd, buf, sizeof(buf), &n), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(fsutil_write_full(fd, "x", 1), -1);
	ck_assert_int_eq(errno, EBADF);
	testutil_tmpdir_remove(dir);
}
END_TEST

static Suite *
fsutil_suite(void)
{
	Suite *s = suite_create("fsutil");
	TCase *tc;

	tc = tcase_create("write_new");
	tcase_add_test(tc, test_write_new_creates);
	tcase_add_test(tc, test_write_new_refuses_overwrite);
	tcase_add_test(tc, test_write_new_stale_tmp);
	suite_add_tcase(s, tc);
	tc = tcase_create("write_replace");
	tcase_add_test(tc, test_write_replace);
	suite_add_tcase(s, tc);
	tc = tcase_create("mkdir");
	tcase_add_test(tc, test_mkdir);
	suite_add_tcase(s, tc);
	tc = tcase_create("mkdir_parents");
	tcase_add_test(tc, test_mkdir_parents);
	suite_add_tcase(s, tc);
	tc = tcase_create("read_write_full");
	tcase_add_test(tc, test_read_write_full);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERR);
	return testutil_run_suite(fsutil_suite());
}
