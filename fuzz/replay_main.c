/*
 * replay_main: the driver of make fuzz-replay.  Feeds every file named on
 * the command line (a directory: each regular file in it) to the harness
 * it is linked with, once, in an exact-size heap buffer so that ASan sees
 * a read past the end.  Exits 0 when every input ran (a crash, a
 * sanitizer report or a broken invariant ends the process before), 1
 * when a file cannot be read or nothing was replayed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Runs the harness on the file at path; 0 or -1 (logged). */
static int
replay_file(const char *path)
{
	FILE *f = NULL;
	unsigned char *buf = NULL;
	struct stat st;
	size_t n;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	n = (size_t)st.st_size;
	/* malloc(0) may return NULL: keep one byte, pass n. */
	if ((buf = malloc(n > 0 ? n : 1)) == NULL || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, n);
	rc = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

/* Runs every regular file of dir (sorted, for a repeatable order). */
static int
replay_dir(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	char path[4096];
	struct stat st;
	int n, rc = 0;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int rc = 0;

	for (int i = 1; i < argc && rc == 0; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = replay_dir(argv[i], &count);
		} else if (replay_file(argv[i]) == 0) {
			count++;
		} else {
			rc = -1;
		}
	}
	if (rc != 0 || count == 0) {
		fprintf(stderr, "replay %s: %s\n", argv[0],
		    rc != 0 ? "failed" : "no inputs");
		return 1;
	}
	printf("replay %s: %zu inputs, no finding\n", argv[0], count);
	return 0;
}
