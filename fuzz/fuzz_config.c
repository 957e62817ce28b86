/*
 * fuzz_config: otad's configuration (server/config.c: config_load from a
 * file and the environment, config_print).  The input is the file's
 * bytes, then "\n%%\n", then environment entries one per line (as is:
 * "OTAD_HTTPS_PORT=8444"; other names are ignored by otad).
 * Invariants: a refused configuration leaves a NUL-terminated reason and
 * nothing allocated; an accepted one is within the documented bounds,
 * and what otad --check-config prints of it loads again (as a file,
 * without the environment) to the same configuration.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "errors.h"
#include "fuzz.h"

#define ENV_MAX 64

/* The temporary config file of this process, rewritten for each input. */
static char conf_path[64];
static int conf_fd = -1;

static void
write_conf(const char *text, size_t len)
{
	FUZZ_CHECK(ftruncate(conf_fd, 0) == 0);
	FUZZ_CHECK(pwrite(conf_fd, text, len, 0) == (ssize_t)len);
}

/* config_print's output (stdout) as a new NUL-terminated string. */
static char *
print_config(const struct ota_config *cfg, size_t *out_len)
{
	FILE *saved = stdout, *mem;
	char *text = NULL;

	mem = open_memstream(&text, out_len);
	FUZZ_CHECK(mem != NULL);
	stdout = mem;
	config_print(cfg);
	stdout = saved;
	FUZZ_CHECK(fclose(mem) == 0);
	return text;
}

static void
check_bounds(const struct ota_config *c)
{
	FUZZ_CHECK(c->data_dir != NULL && c->data_dir[0] != '\0');
	FUZZ_CHECK(c->https_port >= 1 && c->https_port <= 65535);
	FUZZ_CHECK(c->http_port >= 0 && c->http_port <= 65535);
	FUZZ_CHECK(c->http_port != c->https_port);
	FUZZ_CHECK(c->tls_cert_file[0] != '\0' && c->tls_key_file[0] != '\0');
	FUZZ_CHECK(c->max_image_bytes >= 1 &&
	           c->max_image_bytes <= ((int64_t)1 << 40));
	FUZZ_CHECK(c->max_json_bytes >= 1024 &&
	           c->max_json_bytes <= ((int64_t)64 << 20));
	FUZZ_CHECK(c->http_threads >= 1 && c->http_threads <= 256);
	FUZZ_CHECK(c->ddi_action_sleep_sec <= c->ddi_sleep_sec);
	FUZZ_CHECK(
	    c->mqtt_password_file[0] == '\0' || c->mqtt_username[0] != '\0');
	FUZZ_CHECK((c->mqtt_tls_cert_file[0] == '\0') ==
	           (c->mqtt_tls_key_file[0] == '\0'));
}

static void
check_refused(
    int rc, const struct ota_config *cfg, const char *err, size_t errlen)
{
	static const struct ota_config zero;

	FUZZ_CHECK(rc == OTA_ECONFIG);
	FUZZ_CHECK(fuzz_terminated(err, errlen) && err[0] != '\0');
	FUZZ_CHECK(memcmp(cfg, &zero, sizeof(zero)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_config cfg, again;
	char *envp[ENV_MAX + 1], *env = NULL, *p1 = NULL, *p2 = NULL;
	char err[512];
	const uint8_t *sep;
	size_t file_len = size, n = 0, len1 = 0, len2 = 0;
	int rc;

	if (conf_fd < 0) {
		/* In memory: a file on disk costs a journal write per input. */
		conf_fd = memfd_create("fuzz-config", 0);
		FUZZ_CHECK(conf_fd >= 0);
		snprintf(
		    conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
	}
	sep = memmem(data, size, "\n%%\n", 4);
	if (sep != NULL) {
		size_t env_len = size - (size_t)(sep + 4 - data);

		file_len = (size_t)(sep - data);
		env = malloc(env_len + 1);
		FUZZ_CHECK(env != NULL);
		memcpy(env, sep + 4, env_len);
		env[env_len] = '\0';
		for (char *s = env; n < ENV_MAX && *s != '\0';) {
			char *nl = strchr(s, '\n');

			envp[n++] = s;
			if (nl == NULL)
				break;
			*nl = '\0';
			s = nl + 1;
		}
	}
	envp[n] = NULL;
	write_conf((const char *)data, file_len);

	memset(err, 'x', sizeof(err));
	rc = config_load(conf_path, envp, &cfg, err, sizeof(err));
	if (rc != 0) {
		check_refused(rc, &cfg, err, sizeof(err));
		goto out;
	}
	check_bounds(&cfg);
	p1 = print_config(&cfg, &len1);
	write_conf(p1, len1);
	rc = config_load(conf_path, NULL, &again, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "printed config refused: %s\n", err);
	FUZZ_CHECK(rc == 0);
	p2 = print_config(&again, &len2);
	FUZZ_CHECK(len1 == len2 && memcmp(p1, p2, len1) == 0);
	config_free(&again);
	config_free(&cfg);
out:
	free(p1);
	free(p2);
	free(env);
	return 0;
}
