/*
 * otactl_describe: writes the image descriptor, the small JSON document the
 * release team signs.  The image is streamed through SHA-256 in 64 KiB
 * chunks (never loaded whole); its size is the count of bytes read.  All
 * validation of the fields is descriptor_build's, whose message is printed
 * verbatim.
 */
#include "otactl_describe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "descriptor.h"
#include "errors.h"
#include "fsutil.h"
#include "fwmeta.h"
#include "otactl_args.h"
#include "otactl_ctx.h"
#include "otactl_err.h"
#include "otactl_str.h"
#include "otactl_usage.h"

#define CHUNK_BYTES (64 * 1024)

enum {
	OPT_NAME = 1,
	OPT_VERSION,
	OPT_HARDWARE,
	OPT_MIN_VERSION,
	OPT_SECURITY_COUNTER,
	OPT_FILENAME,
	OPT_OUT,
};

static const struct otactl_opt describe_opts[] = {
    {"name", 1, OPT_NAME},
    {"version", 1, OPT_VERSION},
    {"hardware", 1, OPT_HARDWARE},
    {"min-version", 1, OPT_MIN_VERSION},
    {"security-counter", 1, OPT_SECURITY_COUNTER},
    {"filename", 1, OPT_FILENAME},
    {"out", 1, OPT_OUT},
    {NULL, 0, 0},
};

/* What the command line asked for; strings borrowed from argv. */
struct describe_args {
	const char *image;
	const char *out;
	int have_name, have_version;
};

/*
 * Copies an option value into a fixed field of the descriptor.  Returns 0
 * or -1 after printing that it is too long.
 */
static int
set_field(char *dst, size_t cap, const char *val, const char *opt)
{
	size_t len = strlen(val);

	if (len >= cap) {
		otactl_err("--%s: longer than %zu characters", opt, cap - 1);
		return -1;
	}
	memcpy(dst, val, len + 1);
	return 0;
}

/*
 * Adds the comma-separated hardware revisions in val to d.  Returns 0 or
 * -1 after printing why (empty entry, too long, too many).
 */
static int
add_hardware(struct ota_descriptor *d, const char *val)
{
	const char *p = val, *comma;
	size_t len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0) {
			otactl_err("--hardware '%s': empty revision", val);
			return -1;
		}
		if (len > DESCRIPTOR_HW_LEN_MAX) {
			otactl_err("--hardware '%.*s': longer than %d "
			           "characters",
			    (int)len, p, DESCRIPTOR_HW_LEN_MAX);
			return -1;
		}
		if (d->hardware_count == DESCRIPTOR_HW_MAX) {
			otactl_err("--hardware: more than %d revisions",
			    DESCRIPTOR_HW_MAX);
			return -1;
		}
		memcpy(d->hardware[d->hardware_count], p, len);
		d->hardware[d->hardware_count++][len] = '\0';
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/*
 * Stores one option in d or args.  Returns 0 or -1 after printing why.
 */
static int
apply_opt(struct ota_descriptor *d, struct describe_args *args, int id,
    const char *val)
{
	switch (id) {
	case OPT_NAME:
		args->have_name = 1;
		return set_field(d->name, sizeof(d->name), val, "name");
	case OPT_VERSION:
		args->have_version = 1;
		return set_field(
		    d->version, sizeof(d->version), val, "version");
	case OPT_HARDWARE:
		return add_hardware(d, val);
	case OPT_MIN_VERSION:
		return set_field(
		    d->min_version, sizeof(d->min_version), val, "min-version");
	case OPT_SECURITY_COUNTER:
		if (otactl_str_parse_u64(val, &d->security_counter) != 0) {
			otactl_err("--security-counter '%s': not a "
			           "non-negative integer",
			    val);
			return -1;
		}
		d->has_security_counter = 1;
		return 0;
	case OPT_FILENAME:
		return set_field(
		    d->filename, sizeof(d->filename), val, "filename");
	default:
		args->out = val;
		return 0;
	}
}

int
otactl_describe_hash(const char *path, struct ota_descriptor *d)
{
	crypto_hash_sha256_state st;
	unsigned char *buf = NULL;
	uint64_t size = 0;
	size_t n;
	int fd = -1, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		otactl_err("%s: %s", path, strerror(errno));
		goto out;
	}
	buf = malloc(CHUNK_BYTES);
	if (buf == NULL) {
		otactl_err("out of memory");
		goto out;
	}
	crypto_hash_sha256_init(&st);
	do {
		if (fsutil_read_full(fd, buf, CHUNK_BYTES, &n) != 0) {
			otactl_err("%s: %s", path, strerror(errno));
			goto out;
		}
		crypto_hash_sha256_update(&st, buf, n);
		size += n;
	} while (n == CHUNK_BYTES);
	crypto_hash_sha256_final(&st, d->sha256);
	crypto_hex(d->sha256, sizeof(d->sha256), d->sha256_hex);
	d->size = size;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A fwmeta_read_fn over an open file (arg points at its descriptor). */
static int
file_read_at(void *arg, uint64_t off, void *buf, size_t len, size_t *out_n)
{
	ssize_t r;
	size_t got = 0;

	while (got < len) {
		r = pread(*(int *)arg, (char *)buf + got, len - got,
		    (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return OTA_EIO;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out_n = got;
	return 0;
}

/*
 * Fills the name and version the command line left out from what the
 * image at path says about itself (fwmeta_suggest), and says so.
 * Returns 0, or -1 after printing why (unreadable file, or a field
 * neither given nor embedded).
 */
static int
fill_from_image(const char *path, struct ota_descriptor *d,
    const struct describe_args *args)
{
	char name[DESCRIPTOR_NAME_MAX + 1], version[SEMVER_MAX_LEN + 1];
	struct fwmeta m;
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		otactl_err("%s: %s", path, strerror(errno));
		return -1;
	}
	rc = fstat(fd, &st) == 0
	         ? fwmeta_read(file_read_at, &fd, (uint64_t)st.st_size, &m)
	         : OTA_EIO;
	close(fd);
	if (rc != 0) {
		otactl_err("%s: %s", path, ota_strerror(rc));
		return -1;
	}
	fwmeta_suggest(&m, name, version);
	if (!args->have_name && name[0] == '\0') {
		otactl_err("describe: no --name, and %s carries no name "
		           "(ESP-IDF project name, Blynk fw-type)",
		    path);
		return -1;
	}
	if (!args->have_version && version[0] == '\0') {
		otactl_err("describe: no --version, and %s carries no SemVer "
		           "version (MCUboot header, ESP-IDF descriptor, Blynk "
		           "mcu)",
		    path);
		return -1;
	}
	if (!args->have_name)
		memcpy(d->name, name, sizeof(name));
	if (!args->have_version)
		memcpy(d->version, version, sizeof(version));
	if (!args->have_name)
		fprintf(stderr,
		    "describe: name %s from the image's own "
		    "metadata\n",
		    d->name);
	if (!args->have_version)
		fprintf(stderr,
		    "describe: version %s from the image's own "
		    "metadata\n",
		    d->version);
	return 0;
}

/*
 * Hashes the image, builds the descriptor and writes it.  Returns the
 * exit status.
 */
static int
describe_write(struct ota_descriptor *d, const struct describe_args *args)
{
	unsigned char *json = NULL;
	char *def_out = NULL, err[256];
	const char *out = args->out;
	size_t len = 0;
	int rc = OTACTL_EXIT_FAIL, wrc;

	if (out == NULL) {
		def_out = otactl_str_cat2(args->image, ".json");
		if (def_out == NULL) {
			otactl_err("out of memory");
			goto out;
		}
		out = def_out;
	}
	if (otactl_describe_hash(args->image, d) != 0)
		goto out;
	err[0] = '\0';
	if (descriptor_build(d, &json, &len, err, sizeof(err)) != 0) {
		otactl_err("%s", err[0] != '\0' ? err : "invalid descriptor");
		goto out;
	}
	if ((wrc = fsutil_write_replace(out, json, len, 0644)) != 0) {
		otactl_err(
		    "%s: cannot write descriptor: %s", out, ota_strerror(wrc));
		goto out;
	}
	printf("wrote %s: %s %s, %" PRIu64 " bytes, sha256 %s\n", out, d->name,
	    d->version, d->size, d->sha256_hex);
	rc = OTACTL_EXIT_OK;
out:
	free(json);
	free(def_out);
	return rc;
}

int
otactl_describe(struct otactl *ctx, int argc, char **argv)
{
	struct ota_descriptor d;
	struct describe_args args;
	struct otactl_args a;
	const char *val;
	int id;

	memset(&d, 0, sizeof(d));
	memset(&args, 0, sizeof(args));
	otactl_args_cmd_init(&a, argc, argv, "describe", "IMAGE");
	while ((id = otactl_args_cmd_next(&a, ctx, describe_opts, &val)) > 0) {
		if (apply_opt(&d, &args, id, val) != 0)
			return OTACTL_EXIT_FAIL;
	}
	if (id == OTACTL_ARG_EXIT)
		return a.status;
	args.image = a.pos;
	if (args.image == NULL || d.hardware_count == 0)
		return otactl_usage_err(
		    "describe: usage: describe IMAGE [--name "
		    "N] [--version V] --hardware H ...");
	if ((!args.have_name || !args.have_version) &&
	    fill_from_image(args.image, &d, &args) != 0)
		return OTACTL_EXIT_FAIL;
	return describe_write(&d, &args);
}
