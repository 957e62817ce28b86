/*
 * config: loads struct ota_config from one table of keys.  Every key has a
 * textual default that goes through the same parser as file and
 * environment values, so a default can never bypass a check.  Loading has
 * no side effects beyond *cfg and err: it does not log, set the log level
 * or touch the file system other than reading the config file.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "errors.h"
#include "log.h"

/* Longest accepted config file line, without its newline. */
#define CONFIG_LINE_MAX 4096

enum config_type {
	CONFIG_STRING,      /* char *, checked by the key's check function */
	CONFIG_PATH,        /* char *, empty only when the default is
	                     * (derived from data_dir, or optional) */
	CONFIG_INT,         /* int, decimal */
	CONFIG_INT_BYTES,   /* int, decimal with optional K, M, G, T suffix */
	CONFIG_INT64_BYTES, /* int64_t, same syntax */
	CONFIG_PORT,        /* int, decimal in [min, max] or "auto"
	                     * (CONFIG_PORT_AUTO: the OS picks a free port) */
};

struct config_key {
	const char *name;
	enum config_type type;
	int64_t min, max; /* numbers only, inclusive */
	/* The default as text; "" for a path derived from data_dir. */
	const char *def;
	size_t offset; /* of the field in struct ota_config */
	/* Strings only: returns NULL if value is fine, else why not. */
	const char *(*check)(const char *value);
};

static const char *config_check_address(const char *value);
static const char *config_check_level(const char *value);
static const char *config_check_public_url(const char *value);
static const char *config_check_mqtt_host(const char *value);
static const char *config_check_mqtt_client_id(const char *value);
static const char *config_check_mqtt_prefix(const char *value);
static const char *config_check_mqtt_shared_group(const char *value);
static const char *config_check_mqtt_username(const char *value);
static const char *config_check_database(const char *value);
static const char *config_check_sslmode(const char *value);
static const char *config_check_metrics_auth(const char *value);
static const char *config_check_ddi_tenant(const char *value);
static const char *config_check_ddi_attr(const char *value);
static const char *config_check_blob_storage(const char *value);

#define KIB ((int64_t)1 << 10)
#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)
#define TIB ((int64_t)1 << 40)
#define F(field) offsetof(struct ota_config, field)

/* The keys, in the order config_print writes them. */
/* clang-format off */
static const struct config_key config_keys[] = {
	{ "data_dir", CONFIG_PATH, 0, 0, "./var", F(data_dir), NULL },
	{ "listen_address", CONFIG_STRING, 0, 0, "127.0.0.1", F(listen_address),
	    config_check_address },
	{ "https_port", CONFIG_PORT, 1, 65535, "8443", F(https_port), NULL },
	{ "http_port", CONFIG_PORT, 0, 65535, "0", F(http_port), NULL },
	{ "port_file", CONFIG_PATH, 0, 0, "", F(port_file), NULL },
	{ "tls_cert_file", CONFIG_PATH, 0, 0, "", F(tls_cert_file), NULL },
	{ "tls_key_file", CONFIG_PATH, 0, 0, "", F(tls_key_file), NULL },
	{ "release_keys_dir", CONFIG_PATH, 0, 0, "", F(release_keys_dir),
	    NULL },
	{ "release_signatures_required", CONFIG_INT, 1, 16, "1",
	    F(release_signatures_required), NULL },
	{ "server_key_file", CONFIG_PATH, 0, 0, "", F(server_key_file), NULL },
	{ "database", CONFIG_STRING, 0, 0, "sqlite", F(database),
	    config_check_database },
	{ "database_password_file", CONFIG_PATH, 0, 0, "",
	    F(database_password_file), NULL },
	{ "database_sslmode", CONFIG_STRING, 0, 0, "", F(database_sslmode),
	    config_check_sslmode },
	{ "database_sslrootcert", CONFIG_PATH, 0, 0, "",
	    F(database_sslrootcert), NULL },
	{ "database_connections", CONFIG_INT, 0, 256, "0",
	    F(database_connections), NULL },
	{ "max_image_bytes", CONFIG_INT64_BYTES, 1, TIB, "2G",
	    F(max_image_bytes), NULL },
	{ "max_json_bytes", CONFIG_INT64_BYTES, KIB, 64 * MIB, "1M",
	    F(max_json_bytes), NULL },
	{ "max_header_bytes", CONFIG_INT_BYTES, 4096, MIB, "16384",
	    F(max_header_bytes), NULL },
	{ "http_threads", CONFIG_INT, 1, 256, "4", F(http_threads), NULL },
	{ "max_connections", CONFIG_INT, 1, 65536, "1024", F(max_connections),
	    NULL },
	{ "connection_timeout_sec", CONFIG_INT, 1, 3600, "60",
	    F(connection_timeout_sec), NULL },
	{ "max_connections_per_address", CONFIG_INT, 0, 65536, "256",
	    F(max_connections_per_address), NULL },
	{ "header_timeout_sec", CONFIG_INT, 1, 3600, "30",
	    F(header_timeout_sec), NULL },
	{ "shutdown_timeout_sec", CONFIG_INT, 0, 3600, "30",
	    F(shutdown_timeout_sec), NULL },
	{ "log_level", CONFIG_STRING, 0, 0, "info", F(log_level),
	    config_check_level },
	{ "public_url", CONFIG_STRING, 0, 0, "", F(public_url),
	    config_check_public_url },
	{ "poll_interval_sec", CONFIG_INT, 10, 86400, "300",
	    F(poll_interval_sec), NULL },
	{ "device_cache", CONFIG_INT, 0, 10000000, "1000000", F(device_cache),
	    NULL },
	{ "signature_cache", CONFIG_INT, 1024, 16000000, "500000",
	    F(signature_cache), NULL },
	{ "poll_report_buffer_bytes", CONFIG_INT_BYTES, 8 * KIB, GIB, "10M",
	    F(poll_report_buffer_bytes), NULL },
	{ "manifest_ttl_sec", CONFIG_INT, 600, 30 * 86400, "86400",
	    F(manifest_ttl_sec), NULL },
	{ "download_url_ttl_sec", CONFIG_INT, 60, 7 * 86400, "3600",
	    F(download_url_ttl_sec), NULL },
	{ "mqtt_host", CONFIG_STRING, 0, 0, "", F(mqtt_host),
	    config_check_mqtt_host },
	{ "mqtt_port", CONFIG_INT, 1, 65535, "1883", F(mqtt_port), NULL },
	{ "mqtt_client_id", CONFIG_STRING, 0, 0, "otad", F(mqtt_client_id),
	    config_check_mqtt_client_id },
	{ "mqtt_prefix", CONFIG_STRING, 0, 0, "otad", F(mqtt_prefix),
	    config_check_mqtt_prefix },
	{ "mqtt_shared_group", CONFIG_STRING, 0, 0, "", F(mqtt_shared_group),
	    config_check_mqtt_shared_group },
	{ "mqtt_username", CONFIG_STRING, 0, 0, "", F(mqtt_username),
	    config_check_mqtt_username },
	{ "mqtt_password_file", CONFIG_PATH, 0, 0, "", F(mqtt_password_file),
	    NULL },
	{ "mqtt_tls_ca_file", CONFIG_PATH, 0, 0, "", F(mqtt_tls_ca_file),
	    NULL },
	{ "mqtt_tls_cert_file", CONFIG_PATH, 0, 0, "", F(mqtt_tls_cert_file),
	    NULL },
	{ "mqtt_tls_key_file", CONFIG_PATH, 0, 0, "", F(mqtt_tls_key_file),
	    NULL },
	{ "mqtt_keepalive_sec", CONFIG_INT, 5, 3600, "30",
	    F(mqtt_keepalive_sec), NULL },
	{ "mqtt_reconnect_max_sec", CONFIG_INT, 1, 3600, "60",
	    F(mqtt_reconnect_max_sec), NULL },
	{ "mqtt_max_uncommitted", CONFIG_INT, 1, 100000, "1000",
	    F(mqtt_max_uncommitted), NULL },
	{ "mqtt_hints_per_sec", CONFIG_INT, 1, 100000, "1000",
	    F(mqtt_hints_per_sec), NULL },
	{ "metrics_auth", CONFIG_STRING, 0, 0, "viewer", F(metrics_auth),
	    config_check_metrics_auth },
	{ "ddi_tenant", CONFIG_STRING, 0, 0, "DEFAULT", F(ddi_tenant),
	    config_check_ddi_tenant },
	{ "ddi_sleep_sec", CONFIG_INT, 1, 86400, "300", F(ddi_sleep_sec),
	    NULL },
	{ "ddi_action_sleep_sec", CONFIG_INT, 1, 86400, "30",
	    F(ddi_action_sleep_sec), NULL },
	{ "ddi_attr_hardware", CONFIG_STRING, 0, 0, "hw_revision",
	    F(ddi_attr_hardware), config_check_ddi_attr },
	{ "ddi_attr_version", CONFIG_STRING, 0, 0, "sw_version",
	    F(ddi_attr_version), config_check_ddi_attr },
	{ "blob_storage", CONFIG_STRING, 0, 0, "", F(blob_storage),
	    config_check_blob_storage },
	{ "test_clock_file", CONFIG_PATH, 0, 0, "", F(test_clock_file), NULL },
};
/* clang-format on */

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Where each key's value came from, for error messages. */
struct config_loader {
	const char *path;
	int line[CONFIG_NKEYS];     /* file line that set key i, or 0 */
	int from_env[CONFIG_NKEYS]; /* 1 if an OTAD_ variable set key i */
	char *err;
	size_t errlen;
};

static const char *
config_check_address(const char *value)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, value, buf) == 1 ||
	    inet_pton(AF_INET6, value, buf) == 1)
		return NULL;
	return "not a numeric IPv4 or IPv6 address";
}

static const char *
config_check_level(const char *value)
{
	enum log_level level;

	if (log_parse_level(value, &level) == 0)
		return NULL;
	return "not one of error, warn, info, debug";
}

/*
 * public_url: "" (use each request's scheme and Host), or
 * http(s)://host[:port] with no path, query or trailing slash, where host
 * is a name of [A-Za-z0-9.-] or a bracketed IPv6 address.
 */
static const char *
config_check_public_url(const char *value)
{
	static const char *const why =
	    "not http(s)://host[:port] without a path (not even '/')";
	const char *p;
	long port = 0;
	size_t n = 0;

	if (value[0] == '\0')
		return NULL;
	if (strncmp(value, "https://", 8) == 0)
		p = value + 8;
	else if (strncmp(value, "http://", 7) == 0)
		p = value + 7;
	else
		return why;
	if (strlen(p) > 255)
		return "host part longer than 255 bytes";
	if (*p == '[') {
		while (isxdigit((unsigned char)p[++n]) || p[n] == ':' ||
		       p[n] == '.')
			;
		if (p[n] != ']' || n < 2)
			return why;
		n++;
	} else {
		while (
		    isalnum((unsigned char)p[n]) || p[n] == '.' || p[n] == '-')
			n++;
		if (n == 0)
			return why;
	}
	p += n;
	if (*p == '\0')
		return NULL;
	if (*p++ != ':')
		return why;
	for (n = 0; isdigit((unsigned char)p[n]) && n < 5; n++)
		port = port * 10 + (p[n] - '0');
	if (n == 0 || p[n] != '\0' || port < 1 || port > 65535)
		return why;
	return NULL;
}

/* mqtt_host: "" (MQTT off), or a host name or numeric address. */
static const char *
config_check_mqtt_host(const char *value)
{
	size_t n = strlen(value);

	if (n > 253)
		return "longer than 253 bytes";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) &&
		    strchr(".-_:", value[i]) == NULL)
			return "not a host name or numeric address "
			       "(letters, digits, '.', '-', '_', ':')";
	return NULL;
}

/* 1 when value is 1..max bytes of [A-Za-z0-9._-] plus the bytes in more. */
static int
config_word(const char *value, size_t max, const char *more)
{
	size_t n = strlen(value);

	if (n < 1 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) &&
		    strchr("._-", value[i]) == NULL &&
		    strchr(more, value[i]) == NULL)
			return 0;
	return 1;
}

/* The broker keeps otad's session under this id: never empty. */
static const char *
config_check_mqtt_client_id(const char *value)
{
	if (!config_word(value, 64, ":"))
		return "not 1..64 of [A-Za-z0-9._:-] (a fixed id keeps the "
		       "broker session)";
	return NULL;
}

/* Topic levels of [A-Za-z0-9._-] joined by '/': no wildcard, no '$'. */
static const char *
config_check_mqtt_prefix(const char *value)
{
	static const char *const why =
	    "not 1..64 bytes of topic levels of [A-Za-z0-9._-] joined by '/'";
	size_t n = strlen(value);

	if (!config_word(value, 64, "/") || value[0] == '/' ||
	    value[n - 1] == '/' || strstr(value, "//") != NULL)
		return why;
	return NULL;
}

/* One topic level of [A-Za-z0-9._-], or "" (no shared subscription). */
static const char *
config_check_mqtt_shared_group(const char *value)
{
	if (value[0] != '\0' && !config_word(value, 64, ""))
		return "not \"\" or 1..64 of [A-Za-z0-9._-] (one topic level)";
	return NULL;
}

static const char *
config_check_mqtt_username(const char *value)
{
	return strlen(value) > 256 ? "longer than 256 bytes" : NULL;
}

/* database: "sqlite", or a PostgreSQL URI or conninfo (which store_open
 * tells apart); one line of printable text. */
static const char *
config_check_database(const char *value)
{
	if (value[0] == '\0')
		return "empty (\"sqlite\" or a PostgreSQL URI)";
	if (strlen(value) > 1024)
		return "longer than 1024 bytes";
	for (const char *p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "contains a control character";
	return NULL;
}

/* database_sslmode: libpq's sslmode values, or "" (the target's own). */
static const char *
config_check_sslmode(const char *value)
{
	static const char *const modes[] = {"", "disable", "allow", "prefer",
	    "require", "verify-ca", "verify-full"};

	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++)
		if (strcmp(value, modes[i]) == 0)
			return NULL;
	return "not one of disable, allow, prefer, require, verify-ca, "
	       "verify-full";
}

/* metrics_auth: "viewer" (a token of any API role) or "none". */
static const char *
config_check_metrics_auth(const char *value)
{
	if (strcmp(value, "viewer") == 0 || strcmp(value, "none") == 0)
		return NULL;
	return "not one of viewer, none";
}

/* blob_storage: "files" or "database"; "" (the default) is resolved by
 * config_finish_blobs from the database in use. */
static const char *
config_check_blob_storage(const char *value)
{
	if (value[0] == '\0' || strcmp(value, "files") == 0 ||
	    strcmp(value, "database") == 0)
		return NULL;
	return "not one of files, database";
}

/* ddi_tenant: the first path segment of DDI URLs (compared
 * case-insensitively), 1..64 of [A-Za-z0-9_-] as hawkBit's tenants. */
static const char *
config_check_ddi_tenant(const char *value)
{
	size_t n = strlen(value);

	if (n < 1 || n > 64)
		return "not 1..64 of [A-Za-z0-9_-]";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) && value[i] != '_' &&
		    value[i] != '-')
			return "not 1..64 of [A-Za-z0-9_-]";
	return NULL;
}

/* ddi_attr_*: a configData attribute name, 1..128 bytes (ddi.h's
 * DDI_ATTR_KEY_MAX; control characters are refused for every string). */
static const char *
config_check_ddi_attr(const char *value)
{
	size_t n = strlen(value);

	if (n < 1 || n > 128)
		return "not an attribute name of 1..128 bytes";
	return NULL;
}

static void config_error(struct config_loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
config_error(struct config_loader *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->err == NULL || ld->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ld->err, ld->errlen, fmt, ap);
	va_end(ap);
}

/* Writes the environment variable name of key i into buf. */
static void
config_env_name(size_t i, char *buf, size_t len)
{
	const char *s = config_keys[i].name;
	size_t n = strlen("OTAD_");

	assert(len > n + strlen(s));
	memcpy(buf, "OTAD_", n);
	for (; *s != '\0'; s++)
		buf[n++] = (char)toupper((unsigned char)*s);
	buf[n] = '\0';
}

/* Reports why, prefixed with wherever key i got its current value. */
static void
config_blame(struct config_loader *ld, size_t i, const char *why)
{
	char env[64];

	if (ld->from_env[i]) {
		config_env_name(i, env, sizeof(env));
		config_error(ld, "environment: %s: %s", env, why);
	} else if (ld->line[i] > 0) {
		config_error(ld, "%s:%d: key '%s': %s", ld->path, ld->line[i],
		    config_keys[i].name, why);
	} else {
		config_error(ld, "key '%s': %s (built-in default)",
		    config_keys[i].name, why);
	}
}

static int
config_find_key(const char *name)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Finds the key whose OTAD_ name ends in the len bytes at name. */
static int
config_find_env_key(const char *name, size_t len)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const char *k = config_keys[i].name;
		size_t j;

		if (strlen(k) != len)
			continue;
		for (j = 0; j < len; j++)
			if ((char)toupper((unsigned char)k[j]) != name[j])
				break;
		if (j == len)
			return (int)i;
	}
	return -1;
}

/* Formats a byte count with the largest exact binary suffix ("64M"). */
static void
config_format_bytes(int64_t v, char *buf, size_t len)
{
	static const char suffix[] = "TGMK";

	for (int i = 0; i < 4; i++) {
		int64_t unit = (int64_t)1 << (40 - 10 * i);

		if (v != 0 && v % unit == 0) {
			snprintf(
			    buf, len, "%" PRId64 "%c", v / unit, suffix[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64, v);
}

static void
config_format_range(const struct config_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	if (k->type == CONFIG_INT || k->type == CONFIG_PORT) {
		snprintf(buf, len, "%" PRId64 "..%" PRId64, k->min, k->max);
		return;
	}
	config_format_bytes(k->min, lo, sizeof(lo));
	config_format_bytes(k->max, hi, sizeof(hi));
	snprintf(buf, len, "%s..%s", lo, hi);
}

/*
 * Parses a whole decimal integer, with an optional binary K/M/G/T suffix
 * (either case) when bytes is set.  Returns 0, OTA_EINVAL for bad syntax
 * or OTA_ERANGE when the value does not fit an int64_t.
 */
static int
config_parse_number(const char *s, int bytes, int64_t *out)
{
	long long v;
	char *end;
	int shift = 0;

	/* strtoll would skip leading white space and accept a '+'. */
	if (!isdigit((unsigned char)s[0]) && s[0] != '-')
		return OTA_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s)
		return OTA_EINVAL;
	if (errno == ERANGE)
		return OTA_ERANGE;
	if (bytes && *end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		case 'T':
			shift = 40;
			break;
		default:
			return OTA_EINVAL;
		}
		end++;
	}
	if (*end != '\0')
		return OTA_EINVAL;
	if (v > (INT64_MAX >> shift) || v < (INT64_MIN >> shift))
		return OTA_ERANGE;
	*out = (int64_t)v * ((int64_t)1 << shift);
	return 0;
}

static int
config_set_string(struct ota_config *cfg, const struct config_key *k,
    const char *value, char *why, size_t whylen)
{
	char **field = (char **)(void *)((char *)cfg + k->offset);
	const char *bad;
	char *copy;

	/* A quoted value has no escapes: one holding a '"' that also needs
	 * its quotes could not be printed back (config_print) as a line
	 * that loads again, so no value may hold one. */
	for (const char *p = value; *p != '\0'; p++) {
		if (iscntrl((unsigned char)*p)) {
			snprintf(why, whylen, "contains a control character");
			return OTA_ECONFIG;
		}
		if (*p == '"') {
			snprintf(why, whylen, "contains a double quote");
			return OTA_ECONFIG;
		}
	}
	if (k->type == CONFIG_PATH && value[0] == '\0' && k->def[0] != '\0') {
		snprintf(why, whylen, "must not be empty");
		return OTA_ECONFIG;
	}
	if (k->check != NULL && (bad = k->check(value)) != NULL) {
		snprintf(why, whylen, "%s", bad);
		return OTA_ECONFIG;
	}
	if ((copy = strdup(value)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return OTA_ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int
config_set_number(struct ota_config *cfg, const struct config_key *k,
    const char *value, char *why, size_t whylen)
{
	void *field = (char *)cfg + k->offset;
	char range[80];
	int64_t v;
	int rc;

	config_format_range(k, range, sizeof(range));
	if (k->type == CONFIG_PORT && strcmp(value, "auto") == 0) {
		*(int *)field = CONFIG_PORT_AUTO;
		return 0;
	}
	rc = config_parse_number(
	    value, k->type != CONFIG_INT && k->type != CONFIG_PORT, &v);
	if (rc == OTA_EINVAL) {
		if (k->type == CONFIG_PORT)
			snprintf(why, whylen, "not a port %s or 'auto'", range);
		else if (k->type == CONFIG_INT)
			snprintf(why, whylen, "not a number %s", range);
		else
			snprintf(why, whylen,
			    "not a byte count %s (a number, optionally "
			    "with suffix K, M, G or T)",
			    range);
		return OTA_ECONFIG;
	}
	if (rc != 0 || v < k->min || v > k->max) {
		snprintf(why, whylen, "out of range %s", range);
		return OTA_ECONFIG;
	}
	if (k->type == CONFIG_INT64_BYTES) {
		*(int64_t *)field = v;
	} else {
		assert(k->min >= INT_MIN && k->max <= INT_MAX);
		*(int *)field = (int)v;
	}
	return 0;
}

/*
 * Parses value for key i into cfg; on failure reports it against the
 * key's origin (which the caller records first).  Returns 0, OTA_ECONFIG
 * or OTA_ENOMEM.
 */
static int
config_set(struct config_loader *ld, struct ota_config *cfg, size_t i,
    const char *value)
{
	const struct config_key *k = &config_keys[i];
	char why[256];
	int rc;

	if (k->type == CONFIG_STRING || k->type == CONFIG_PATH)
		rc = config_set_string(cfg, k, value, why, sizeof(why));
	else
		rc = config_set_number(cfg, k, value, why, sizeof(why));
	if (rc != 0)
		config_blame(ld, i, why);
	return rc;
}

/*
 * Cuts the value out of the text after '=': trims blanks, removes a
 * trailing comment ('#' at the start or after a blank) and surrounding
 * double quotes (no escapes: no value holds a '"', config_set_string
 * refuses one).  Returns
 * the value, in place, or NULL with *why set.
 */
static char *
config_cut_value(char *s, const char **why)
{
	char *end;

	while (isblank((unsigned char)*s))
		s++;
	if (*s == '"') {
		if ((end = strchr(s + 1, '"')) == NULL) {
			*why = "unterminated quote";
			return NULL;
		}
		*end++ = '\0';
		while (isblank((unsigned char)*end))
			end++;
		if (*end != '\0' && *end != '#') {
			*why = "text after the closing quote";
			return NULL;
		}
		return s + 1;
	}
	for (end = s; *end != '\0'; end++) {
		if (*end == '#' &&
		    (end == s || isblank((unsigned char)end[-1]))) {
			*end = '\0';
			break;
		}
	}
	while (end > s && isblank((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* Handles one line of n bytes (with its newline, if any) of the file. */
static int
config_parse_line(struct config_loader *ld, struct ota_config *cfg, int lineno,
    char *line, size_t n)
{
	const char *why = NULL;
	char *p, *eq, *end, *value;
	int i;

	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n > CONFIG_LINE_MAX) {
		config_error(ld, "%s:%d: line longer than %d bytes", ld->path,
		    lineno, CONFIG_LINE_MAX);
		return OTA_ECONFIG;
	}
	if (memchr(line, '\0', n) != NULL) {
		config_error(ld, "%s:%d: NUL byte in line", ld->path, lineno);
		return OTA_ECONFIG;
	}
	for (p = line; isblank((unsigned char)*p); p++)
		;
	if (*p == '\0' || *p == '#')
		return 0;
	if ((eq = strchr(p, '=')) == NULL || eq == p) {
		config_error(
		    ld, "%s:%d: expected 'key = value'", ld->path, lineno);
		return OTA_ECONFIG;
	}
	for (end = eq; end > p && isblank((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	if ((i = config_find_key(p)) < 0) {
		config_error(
		    ld, "%s:%d: key '%s': unknown key", ld->path, lineno, p);
		return OTA_ECONFIG;
	}
	if (ld->line[i] > 0) {
		config_error(ld,
		    "%s:%d: key '%s': repeated (first set on line %d)",
		    ld->path, lineno, p, ld->line[i]);
		return OTA_ECONFIG;
	}
	ld->line[i] = lineno;
	if ((value = config_cut_value(eq + 1, &why)) == NULL) {
		config_blame(ld, (size_t)i, why);
		return OTA_ECONFIG;
	}
	return config_set(ld, cfg, (size_t)i, value);
}

static int
config_read_file(struct config_loader *ld, struct ota_config *cfg)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = OTA_ECONFIG;

	if ((f = fopen(ld->path, "r")) == NULL) {
		config_error(
		    ld, "%s: cannot open: %s", ld->path, strerror(errno));
		goto out;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		if ((rc = config_parse_line(
		         ld, cfg, ++lineno, line, (size_t)n)) != 0)
			goto out;
	}
	if (!feof(f)) {
		rc = errno == ENOMEM ? OTA_ENOMEM : OTA_ECONFIG;
		config_error(
		    ld, "%s: cannot read: %s", ld->path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
config_read_env(
    struct config_loader *ld, struct ota_config *cfg, char *const *envp)
{
	const size_t plen = strlen("OTAD_");
	char env[64];
	int i, rc;

	for (; envp != NULL && *envp != NULL; envp++) {
		const char *name = *envp + plen, *eq;
		size_t len;

		if (strncmp(*envp, "OTAD_", plen) != 0 ||
		    (eq = strchr(name, '=')) == NULL)
			continue;
		len = (size_t)(eq - name);
		/* Reserved for main: the path of the config file. */
		if (len == strlen("CONFIG") && memcmp(name, "CONFIG", len) == 0)
			continue;
		if ((i = config_find_env_key(name, len)) < 0) {
			config_error(ld,
			    "environment: unknown variable OTAD_%.*s", (int)len,
			    name);
			return OTA_ECONFIG;
		}
		if (ld->from_env[i]) {
			config_env_name((size_t)i, env, sizeof(env));
			config_error(ld, "environment: %s: set twice", env);
			return OTA_ECONFIG;
		}
		ld->from_env[i] = 1;
		if ((rc = config_set(ld, cfg, (size_t)i, eq + 1)) != 0)
			return rc;
	}
	return 0;
}

/* Returns a new string dir/name, without doubling a trailing slash. */
static char *
config_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	char *s;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s%s%s", (int)n, dir, dir[n - 1] == '/' ? "" : "/",
	        name) < 0)
		return NULL;
	return s;
}

/* Sets the empty path at field to data_dir/name. */
static int
config_derive(struct ota_config *cfg, char **field, const char *name)
{
	if ((*field)[0] != '\0')
		return 0;
	free(*field);
	*field = config_join(cfg->data_dir, name);
	return *field == NULL ? OTA_ENOMEM : 0;
}

/* The MQTT keys that only make sense together. */
static int
config_finish_mqtt(struct config_loader *ld, const struct ota_config *cfg)
{
	const char *why = NULL;
	const char *key = NULL;

	if (cfg->mqtt_password_file[0] != '\0' &&
	    cfg->mqtt_username[0] == '\0') {
		key = "mqtt_password_file";
		why = "set without mqtt_username";
	} else if (cfg->mqtt_tls_cert_file[0] != '\0' &&
	           cfg->mqtt_tls_key_file[0] == '\0') {
		key = "mqtt_tls_cert_file";
		why = "set without mqtt_tls_key_file (set both or neither)";
	} else if (cfg->mqtt_tls_key_file[0] != '\0' &&
	           cfg->mqtt_tls_cert_file[0] == '\0') {
		key = "mqtt_tls_key_file";
		why = "set without mqtt_tls_cert_file (set both or neither)";
	} else if (cfg->mqtt_tls_cert_file[0] != '\0' &&
	           cfg->mqtt_tls_ca_file[0] == '\0') {
		key = "mqtt_tls_cert_file";
		why = "set without mqtt_tls_ca_file (TLS is on only with a CA)";
	}
	if (key == NULL)
		return 0;
	config_blame(ld, (size_t)config_find_key(key), why);
	return OTA_ECONFIG;
}

/*
 * Resolves blob_storage: unset is "files" with SQLite and "database" with
 * PostgreSQL, where "files" is refused (nodes sharing PostgreSQL share no
 * blob directory, so an image uploaded on one would be missing on the
 * others).
 */
static int
config_finish_blobs(
    struct config_loader *ld, struct ota_config *cfg, int postgres)
{
	const char *v = cfg->blob_storage;
	char *copy;

	if (postgres && strcmp(v, "files") == 0) {
		config_blame(ld, (size_t)config_find_key("blob_storage"),
		    "files needs database = sqlite: nodes sharing PostgreSQL "
		    "keep image bytes in it (use database)");
		return OTA_ECONFIG;
	}
	if (v[0] != '\0')
		return 0;
	if ((copy = strdup(postgres ? "database" : "files")) == NULL) {
		config_error(ld, "out of memory");
		return OTA_ENOMEM;
	}
	free(cfg->blob_storage);
	cfg->blob_storage = copy;
	return 0;
}

/* Checks that involve more than one key and fills derived defaults. */
static int
config_finish(struct config_loader *ld, struct ota_config *cfg)
{
	int cert = config_find_key("tls_cert_file");
	int key = config_find_key("tls_key_file");
	int rc;

	if (cfg->http_port > 0 && cfg->http_port == cfg->https_port) {
		config_blame(ld, (size_t)config_find_key("http_port"),
		    "equals https_port (use 0 to turn plain HTTP off)");
		return OTA_ECONFIG;
	}
	if ((cfg->tls_cert_file[0] == '\0') != (cfg->tls_key_file[0] == '\0')) {
		if (cfg->tls_cert_file[0] != '\0')
			config_blame(ld, (size_t)cert,
			    "set without tls_key_file (set both or neither)");
		else
			config_blame(ld, (size_t)key,
			    "set without tls_cert_file (set both or neither)");
		return OTA_ECONFIG;
	}
	cfg->tls_generate = cfg->tls_cert_file[0] == '\0';
	if ((rc = config_derive(cfg, &cfg->tls_cert_file, "tls/cert.pem")) ||
	    (rc = config_derive(cfg, &cfg->tls_key_file, "tls/key.pem")) ||
	    (rc = config_derive(cfg, &cfg->release_keys_dir, "release-keys")) ||
	    (rc = config_derive(cfg, &cfg->server_key_file, "server.key"))) {
		config_error(ld, "out of memory");
		return rc;
	}
	if (cfg->ddi_action_sleep_sec > cfg->ddi_sleep_sec) {
		config_blame(ld,
		    (size_t)config_find_key("ddi_action_sleep_sec"),
		    "greater than ddi_sleep_sec (the sleep while an action is "
		    "open is the shorter one)");
		return OTA_ECONFIG;
	}
	/* Every database but "sqlite" is PostgreSQL (main refuses others). */
	rc = config_finish_blobs(ld, cfg, strcmp(cfg->database, "sqlite") != 0);
	if (rc != 0)
		return rc;
	return config_finish_mqtt(ld, cfg);
}

/*
 * Loads defaults, then the file at path (NULL: none), then the OTAD_*
 * variables of envp (NULL-terminated array, or NULL), and fills derived
 * defaults.  The previous contents of *cfg are overwritten, not freed.
 * Returns 0; OTA_ECONFIG with a one-line reason in err (naming the file
 * and line, or the variable, and the key); or OTA_ENOMEM.  On failure *cfg
 * is freed and zeroed.  Not thread-safe (strerror); call it at start.
 */
int
config_load(const char *path, char *const *envp, struct ota_config *cfg,
    char *err, size_t errlen)
{
	struct config_loader ld;
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.err = err;
	ld.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	for (size_t i = 0; i < CONFIG_NKEYS; i++)
		if ((rc = config_set(&ld, cfg, i, config_keys[i].def)) != 0)
			goto out;
	if (path != NULL) {
		if ((cfg->config_file = strdup(path)) == NULL) {
			config_error(&ld, "out of memory");
			rc = OTA_ENOMEM;
			goto out;
		}
		if ((rc = config_read_file(&ld, cfg)) != 0)
			goto out;
	}
	if ((rc = config_read_env(&ld, cfg, envp)) != 0)
		goto out;
	rc = config_finish(&ld, cfg);
out:
	if (rc != 0)
		config_free(cfg);
	return rc;
}

/*
 * Frees every string of cfg and zeroes it.  NULL-safe, and safe on a
 * zeroed struct.
 */
void
config_free(struct ota_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (k->type == CONFIG_STRING || k->type == CONFIG_PATH)
			free(*(char **)(void *)((char *)cfg + k->offset));
	}
	free(cfg->config_file);
	memset(cfg, 0, sizeof(*cfg));
}

/* A string that the parser would trim, cut or unquote needs quotes. */
static int
config_needs_quotes(const char *s)
{
	size_t n = strlen(s);

	return n == 0 || isblank((unsigned char)s[0]) ||
	       isblank((unsigned char)s[n - 1]) || s[0] == '"' ||
	       strchr(s, '#') != NULL;
}

/* Writes the database line with any password of a URI
 * ("postgresql://user:secret@host/db") or conninfo ("password=secret")
 * shown as "***": --check-config output ends up in logs and tickets. */
static void
config_print_database(const char *s)
{
	const char *scheme = strstr(s, "://");
	const char *at = scheme != NULL ? strchr(scheme + 3, '@') : NULL;
	const char *colon =
	    at != NULL ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3))
	               : NULL;
	const char *kw = strstr(s, "password=");

	if (colon != NULL)
		printf(
		    "database = \"%.*s***%s\"\n", (int)(colon + 1 - s), s, at);
	else if (scheme == NULL && kw != NULL)
		printf("database = \"%.*s***\"\n", (int)(kw + 9 - s), s);
	else if (config_needs_quotes(s) || strchr(s, ' ') != NULL)
		printf("database = \"%s\"\n", s);
	else
		printf("database = %s\n", s);
}

/*
 * Writes "key = value" for every key, in table order, to stdout, in the
 * config file syntax (a string is quoted when it needs to be).  Borrows
 * cfg, which must come from a successful config_load.
 */
void
config_print(const struct ota_config *cfg)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const void *field = (const char *)cfg + k->offset;
		const char *s;

		switch (k->type) {
		case CONFIG_STRING:
		case CONFIG_PATH:
			s = *(char *const *)field;
			if (strcmp(k->name, "database") == 0) {
				config_print_database(s);
				break;
			}
			if (config_needs_quotes(s))
				printf("%s = \"%s\"\n", k->name, s);
			else
				printf("%s = %s\n", k->name, s);
			break;
		case CONFIG_PORT:
			if (*(const int *)field == CONFIG_PORT_AUTO) {
				printf("%s = auto\n", k->name);
				break;
			}
			/* FALLTHROUGH */
		case CONFIG_INT:
		case CONFIG_INT_BYTES:
			printf("%s = %d\n", k->name, *(const int *)field);
			break;
		case CONFIG_INT64_BYTES:
			printf("%s = %" PRId64 "\n", k->name,
			    *(const int64_t *)field);
			break;
		}
	}
}
