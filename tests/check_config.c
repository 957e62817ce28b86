/*
 * check_config: specification of config_load, config_print and config_free.
 * Config files are written to mkstemp temporary files and removed again;
 * the environment is passed as explicit arrays, never through setenv.
 * Run from the repository root (as the Makefile does): one test loads the
 * shipped config/otad.conf.
 */
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "errors.h"
#include "testutil.h"

#define SHIPPED_CONF "config/otad.conf"

/* Writes text to a new temporary file and returns its path in path. */
static void
write_temp(const char *text, char *path, size_t len)
{
	int fd;
	size_t n = strlen(text);

	snprintf(path, len, "/tmp/check_config-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
}

/*
 * Loads text as a config file with envp; the file is removed again.  The
 * file's path (it names errors) is left in path.
 */
static int
load_text(const char *text, char *const *envp, struct ota_config *cfg,
    char *path, size_t pathlen, char *err, size_t errlen)
{
	int rc;

	write_temp(text, path, pathlen);
	rc = config_load(path, envp, cfg, err, errlen);
	unlink(path);
	return rc;
}

/* Loads text as a config file with envp, which must succeed. */
static void
load_ok(const char *text, char *const *envp, struct ota_config *cfg)
{
	char path[64], err[512];

	if (load_text(text, envp, cfg, path, sizeof(path), err, sizeof(err)))
		ck_abort_msg("unexpected error: %s", err);
}

/* Asserts that text fails to load with the error "<tmpfile><suffix>". */
static void
assert_file_error(const char *text, const char *suffix)
{
	struct ota_config cfg;
	char path[64], err[512], want[512];

	ck_assert_int_eq(
	    load_text(text, NULL, &cfg, path, sizeof(path), err, sizeof(err)),
	    OTA_ECONFIG);
	snprintf(want, sizeof(want), "%s%s", path, suffix);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(cfg.data_dir);
	ck_assert_ptr_null(cfg.config_file);
}

/* Asserts that envp (with no file) fails to load with error want. */
static void
assert_env_error(char *const *envp, const char *want)
{
	struct ota_config cfg;
	char err[512];

	ck_assert_int_eq(
	    config_load(NULL, envp, &cfg, err, sizeof(err)), OTA_ECONFIG);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(cfg.data_dir);
}

/* Asserts that every key of a and b has the same value. */
static void
assert_same(const struct ota_config *a, const struct ota_config *b)
{
	ck_assert_str_eq(a->data_dir, b->data_dir);
	ck_assert_str_eq(a->listen_address, b->listen_address);
	ck_assert_int_eq(a->https_port, b->https_port);
	ck_assert_int_eq(a->http_port, b->http_port);
	ck_assert_str_eq(a->tls_cert_file, b->tls_cert_file);
	ck_assert_str_eq(a->tls_key_file, b->tls_key_file);
	ck_assert_str_eq(a->release_keys_dir, b->release_keys_dir);
	ck_assert_int_eq(
	    a->release_signatures_required, b->release_signatures_required);
	ck_assert_str_eq(a->server_key_file, b->server_key_file);
	ck_assert_int_eq(a->max_image_bytes, b->max_image_bytes);
	ck_assert_int_eq(a->max_json_bytes, b->max_json_bytes);
	ck_assert_int_eq(a->max_header_bytes, b->max_header_bytes);
	ck_assert_int_eq(a->http_threads, b->http_threads);
	ck_assert_int_eq(a->max_connections, b->max_connections);
	ck_assert_int_eq(a->connection_timeout_sec, b->connection_timeout_sec);
	ck_assert_int_eq(
	    a->max_connections_per_address, b->max_connections_per_address);
	ck_assert_int_eq(a->header_timeout_sec, b->header_timeout_sec);
	ck_assert_int_eq(a->shutdown_timeout_sec, b->shutdown_timeout_sec);
	ck_assert_str_eq(a->log_level, b->log_level);
	ck_assert_str_eq(a->public_url, b->public_url);
	ck_assert_int_eq(a->poll_interval_sec, b->poll_interval_sec);
	ck_assert_int_eq(a->device_cache, b->device_cache);
	ck_assert_int_eq(a->signature_cache, b->signature_cache);
	ck_assert_int_eq(
	    a->poll_report_buffer_bytes, b->poll_report_buffer_bytes);
	ck_assert_int_eq(a->manifest_ttl_sec, b->manifest_ttl_sec);
	ck_assert_int_eq(a->download_url_ttl_sec, b->download_url_ttl_sec);
	ck_assert_str_eq(a->mqtt_host, b->mqtt_host);
	ck_assert_int_eq(a->mqtt_port, b->mqtt_port);
	ck_assert_str_eq(a->mqtt_client_id, b->mqtt_client_id);
	ck_assert_str_eq(a->mqtt_prefix, b->mqtt_prefix);
	ck_assert_str_eq(a->mqtt_username, b->mqtt_username);
	ck_assert_str_eq(a->mqtt_password_file, b->mqtt_password_file);
	ck_assert_str_eq(a->mqtt_tls_ca_file, b->mqtt_tls_ca_file);
	ck_assert_str_eq(a->mqtt_tls_cert_file, b->mqtt_tls_cert_file);
	ck_assert_str_eq(a->mqtt_tls_key_file, b->mqtt_tls_key_file);
	ck_assert_int_eq(a->mqtt_keepalive_sec, b->mqtt_keepalive_sec);
	ck_assert_int_eq(a->mqtt_reconnect_max_sec, b->mqtt_reconnect_max_sec);
	ck_assert_int_eq(a->mqtt_max_uncommitted, b->mqtt_max_uncommitted);
	ck_assert_int_eq(a->mqtt_hints_per_sec, b->mqtt_hints_per_sec);
	ck_assert_str_eq(a->metrics_auth, b->metrics_auth);
	ck_assert_str_eq(a->ddi_tenant, b->ddi_tenant);
	ck_assert_int_eq(a->ddi_sleep_sec, b->ddi_sleep_sec);
	ck_assert_int_eq(a->ddi_action_sleep_sec, b->ddi_action_sleep_sec);
	ck_assert_str_eq(a->ddi_attr_hardware, b->ddi_attr_hardware);
	ck_assert_str_eq(a->ddi_attr_version, b->ddi_attr_version);
}

START_TEST(test_defaults)
{
	struct ota_config cfg;
	char err[256] = "untouched";

	ck_assert_int_eq(config_load(NULL, NULL, &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.data_dir, "./var");
	ck_assert_str_eq(cfg.listen_address, "127.0.0.1");
	ck_assert_int_eq(cfg.https_port, 8443);
	ck_assert_int_eq(cfg.http_port, 0);
	ck_assert_str_eq(cfg.tls_cert_file, "./var/tls/cert.pem");
	ck_assert_str_eq(cfg.tls_key_file, "./var/tls/key.pem");
	ck_assert_int_eq(cfg.tls_generate, 1);
	ck_assert_str_eq(cfg.release_keys_dir, "./var/release-keys");
	ck_assert_int_eq(cfg.release_signatures_required, 1);
	ck_assert_str_eq(cfg.server_key_file, "./var/server.key");
	ck_assert_int_eq(cfg.max_image_bytes, (int64_t)2 << 30);
	ck_assert_int_eq(cfg.max_json_bytes, 1 << 20);
	ck_assert_int_eq(cfg.max_header_bytes, 16384);
	ck_assert_int_eq(cfg.http_threads, 4);
	ck_assert_int_eq(cfg.max_connections, 1024);
	ck_assert_int_eq(cfg.connection_timeout_sec, 60);
	ck_assert_int_eq(cfg.max_connections_per_address, 256);
	ck_assert_int_eq(cfg.header_timeout_sec, 30);
	ck_assert_int_eq(cfg.shutdown_timeout_sec, 30);
	ck_assert_str_eq(cfg.log_level, "info");
	ck_assert_ptr_null(cfg.config_file);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_values)
{
	static const char text[] = "data_dir = /srv/otad/\n"
	                           "listen_address = ::\n"
	                           "https_port = 443\n"
	                           "http_port = 80\n"
	                           "release_signatures_required = 2\n"
	                           "max_image_bytes = 1000\n"
	                           "http_threads = 16\n"
	                           "max_connections = 65536\n"
	                           "connection_timeout_sec = 1\n"
	                           "max_connections_per_address = 0\n"
	                           "header_timeout_sec = 3600\n"
	                           "shutdown_timeout_sec = 0\n"
	                           "log_level = debug"; /* no final newline */
	struct ota_config cfg;
	char path[64], err[256];

	ck_assert_int_eq(
	    load_text(text, NULL, &cfg, path, sizeof(path), err, sizeof(err)),
	    0);
	ck_assert_str_eq(cfg.config_file, path);
	ck_assert_str_eq(cfg.data_dir, "/srv/otad/");
	ck_assert_str_eq(cfg.listen_address, "::");
	ck_assert_int_eq(cfg.https_port, 443);
	ck_assert_int_eq(cfg.http_port, 80);
	ck_assert_int_eq(cfg.release_signatures_required, 2);
	ck_assert_int_eq(cfg.max_image_bytes, 1000);
	ck_assert_int_eq(cfg.http_threads, 16);
	ck_assert_int_eq(cfg.max_connections, 65536);
	ck_assert_int_eq(cfg.connection_timeout_sec, 1);
	ck_assert_int_eq(cfg.max_connections_per_address, 0);
	ck_assert_int_eq(cfg.header_timeout_sec, 3600);
	ck_assert_int_eq(cfg.shutdown_timeout_sec, 0);
	ck_assert_str_eq(cfg.log_level, "debug");
	/* Derived paths follow data_dir, without a doubled slash. */
	ck_assert_str_eq(cfg.tls_cert_file, "/srv/otad/tls/cert.pem");
	ck_assert_str_eq(cfg.tls_key_file, "/srv/otad/tls/key.pem");
	ck_assert_int_eq(cfg.tls_generate, 1);
	ck_assert_str_eq(cfg.release_keys_dir, "/srv/otad/release-keys");
	ck_assert_str_eq(cfg.server_key_file, "/srv/otad/server.key");
	config_free(&cfg);
}
END_TEST

START_TEST(test_explicit_paths)
{
	struct ota_config cfg;

	load_ok("tls_cert_file = /etc/otad/cert.pem\n"
	        "tls_key_file = /etc/otad/key.pem\n"
	        "release_keys_dir = /etc/otad/keys\n"
	        "server_key_file = /etc/otad/server.key\n",
	    NULL, &cfg);
	ck_assert_str_eq(cfg.tls_cert_file, "/etc/otad/cert.pem");
	ck_assert_str_eq(cfg.tls_key_file, "/etc/otad/key.pem");
	ck_assert_int_eq(cfg.tls_generate, 0);
	ck_assert_str_eq(cfg.release_keys_dir, "/etc/otad/keys");
	ck_assert_str_eq(cfg.server_key_file, "/etc/otad/server.key");
	config_free(&cfg);
}
END_TEST

START_TEST(test_env_overrides_file)
{
	struct ota_config cfg;
	char *envp[] = {"PATH=/usr/bin", "OTAD_HTTPS_PORT=9443",
	    "OTAD_DATA_DIR=/data", "OTAD_CONFIG=/ignored.conf",
	    "OTAD_MAX_JSON_BYTES=2M",
	    "OTAD_TLS_CERT_FILE=", "OTAD_TLS_KEY_FILE=", NULL};

	load_ok("https_port = 8000\n"
	        "data_dir = /from-file\n"
	        "http_threads = 8\n"
	        "tls_cert_file = /c.pem\n"
	        "tls_key_file = /k.pem\n",
	    envp, &cfg);
	ck_assert_int_eq(cfg.https_port, 9443);
	ck_assert_str_eq(cfg.data_dir, "/data");
	ck_assert_int_eq(cfg.http_threads, 8);
	ck_assert_int_eq(cfg.max_json_bytes, 2 << 20);
	/* Empty variables unset the TLS paths again: derived. */
	ck_assert_str_eq(cfg.tls_cert_file, "/data/tls/cert.pem");
	ck_assert_str_eq(cfg.tls_key_file, "/data/tls/key.pem");
	ck_assert_int_eq(cfg.tls_generate, 1);
	config_free(&cfg);
}
END_TEST

START_TEST(test_unknown_key)
{
	assert_file_error(
	    "# comment\n\nbogus_key = 1\n", ":3: key 'bogus_key': unknown key");
	assert_file_error(
	    "https port = 1\n", ":1: key 'https port': unknown key");
	assert_file_error("https_port\n", ":1: expected 'key = value'");
	assert_file_error(" = 8443\n", ":1: expected 'key = value'");
}
END_TEST

START_TEST(test_bad_number)
{
	assert_file_error("https_port = abc\n",
	    ":1: key 'https_port': not a port 1..65535 or 'auto'");
	assert_file_error("https_port = 80x\n",
	    ":1: key 'https_port': not a port 1..65535 or 'auto'");
	assert_file_error("https_port = +80\n",
	    ":1: key 'https_port': not a port 1..65535 or 'auto'");
	assert_file_error("https_port = 8K\n",
	    ":1: key 'https_port': not a port 1..65535 or 'auto'");
	assert_file_error(
	    "http_threads =\n", ":1: key 'http_threads': not a number 1..256");
	assert_file_error("http_threads = \"\"\n",
	    ":1: key 'http_threads': not a number 1..256");
	assert_file_error("\n\nmax_json_bytes = 1.5M\n",
	    ":3: key 'max_json_bytes': not a byte count 1K..64M (a number, "
	    "optionally with suffix K, M, G or T)");
}
END_TEST

START_TEST(test_out_of_range)
{
	assert_file_error(
	    "https_port = 0\n", ":1: key 'https_port': out of range 1..65535");
	assert_file_error("https_port = 65536\n",
	    ":1: key 'https_port': out of range 1..65535");
	assert_file_error("shutdown_timeout_sec = -1\n",
	    ":1: key 'shutdown_timeout_sec': out of range 0..3600");
	assert_file_error("max_connections = 99999999999999999999999\n",
	    ":1: key 'max_connections': out of range 1..65536");
	assert_file_error("release_signatures_required = 17\n",
	    ":1: key 'release_signatures_required': out of range 1..16");
	assert_file_error("header_timeout_sec = 0\n",
	    ":1: key 'header_timeout_sec': out of range 1..3600");
	assert_file_error("max_connections_per_address = -1\n",
	    ":1: key 'max_connections_per_address': out of range 0..65536");
	assert_file_error("max_header_bytes = 4095\n",
	    ":1: key 'max_header_bytes': out of range 4K..1M");
	assert_file_error("max_image_bytes = 0\n",
	    ":1: key 'max_image_bytes': out of range 1..1T");
	assert_file_error("max_image_bytes = 9999999T\n",
	    ":1: key 'max_image_bytes': out of range 1..1T");
	assert_file_error("max_image_bytes = 1099511627777\n",
	    ":1: key 'max_image_bytes': out of range 1..1T");
}
END_TEST

START_TEST(test_bad_strings)
{
	assert_file_error("listen_address = localhost\n",
	    ":1: key 'listen_address': not a numeric IPv4 or IPv6 address");
	assert_file_error("listen_address = 127.0.0.1:80\n",
	    ":1: key 'listen_address': not a numeric IPv4 or IPv6 address");
	assert_file_error("log_level = verbose\n",
	    ":1: key 'log_level': not one of error, warn, info, debug");
	assert_file_error(
	    "data_dir =\n", ":1: key 'data_dir': must not be empty");
	assert_file_error("data_dir = \"a\tb\"\n",
	    ":1: key 'data_dir': contains a control character");
	/* No value holds a double quote: a quoted value has no escapes, so
	 * --check-config could not print one that also needs quotes ('#',
	 * blanks at its ends, a leading quote) as a loadable line. */
	assert_file_error("data_dir = /srv/a\"b#c\n",
	    ":1: key 'data_dir': contains a double quote");
	assert_file_error("mqtt_username = a\"b\n",
	    ":1: key 'mqtt_username': contains a double quote");
	{
		char *env[] = {"OTAD_MQTT_USERNAME=\"me", NULL};

		assert_env_error(env,
		    "environment: OTAD_MQTT_USERNAME: contains a double "
		    "quote");
	}
	assert_file_error("http_port = 8443\n",
	    ":1: key 'http_port': equals https_port (use 0 to turn plain HTTP "
	    "off)");
}
END_TEST

START_TEST(test_repeated_key)
{
	assert_file_error("https_port = 1\nhttp_port = 2\nhttps_port = 1\n",
	    ":3: key 'https_port': repeated (first set on line 1)");
}
END_TEST

START_TEST(test_unreadable_file)
{
	struct ota_config cfg;
	char err[256];

	ck_assert_int_eq(
	    config_load("/nonexistent/otad.conf", NULL, &cfg, err, sizeof(err)),
	    OTA_ECONFIG);
	ck_assert_str_eq(err,
	    "/nonexistent/otad.conf: cannot open: No such file or directory");
	ck_assert_ptr_null(cfg.data_dir);
	ck_assert_ptr_null(cfg.config_file);

	ck_assert_int_eq(
	    config_load("/tmp", NULL, &cfg, err, sizeof(err)), OTA_ECONFIG);
	ck_assert_str_eq(err, "/tmp: cannot read: Is a directory");
	ck_assert_ptr_null(cfg.config_file);
}
END_TEST

START_TEST(test_environment_errors)
{
	char *unknown[] = {"OTAD_FOO=1", NULL};
	char *lower[] = {"OTAD_https_port=1", NULL};
	char *bad[] = {"HOME=/root", "OTAD_HTTP_THREADS=300", NULL};
	char *space[] = {"OTAD_HTTPS_PORT= 80", NULL};
	char *twice[] = {"OTAD_HTTP_PORT=1", "OTAD_HTTP_PORT=2", NULL};
	char *same_port[] = {"OTAD_HTTP_PORT=8443", NULL};
	char *level[] = {"OTAD_LOG_LEVEL=INFO", NULL};

	assert_env_error(unknown, "environment: unknown variable OTAD_FOO");
	assert_env_error(
	    lower, "environment: unknown variable OTAD_https_port");
	assert_env_error(
	    bad, "environment: OTAD_HTTP_THREADS: out of range 1..256");
	assert_env_error(space,
	    "environment: OTAD_HTTPS_PORT: not a port 1..65535 or 'auto'");
	assert_env_error(twice, "environment: OTAD_HTTP_PORT: set twice");
	assert_env_error(same_port,
	    "environment: OTAD_HTTP_PORT: equals https_port (use 0 to turn "
	    "plain HTTP off)");
	assert_env_error(level,
	    "environment: OTAD_LOG_LEVEL: not one of error, warn, info, debug");
}
END_TEST

START_TEST(test_size_suffixes)
{
	struct ota_config cfg;

	load_ok("max_image_bytes = 1T\n"
	        "max_json_bytes = 64M\n"
	        "max_header_bytes = 8k\n",
	    NULL, &cfg);
	ck_assert_int_eq(cfg.max_image_bytes, (int64_t)1 << 40);
	ck_assert_int_eq(cfg.max_json_bytes, 64 << 20);
	ck_assert_int_eq(cfg.max_header_bytes, 8192);
	config_free(&cfg);

	load_ok("max_image_bytes = 3G\n"
	        "max_json_bytes = 1024\n"
	        "max_header_bytes = 1M\n",
	    NULL, &cfg);
	ck_assert_int_eq(cfg.max_image_bytes, (int64_t)3 << 30);
	ck_assert_int_eq(cfg.max_json_bytes, 1024);
	ck_assert_int_eq(cfg.max_header_bytes, 1 << 20);
	config_free(&cfg);

	assert_file_error("max_json_bytes = 1X\n",
	    ":1: key 'max_json_bytes': not a byte count 1K..64M (a number, "
	    "optionally with suffix K, M, G or T)");
	assert_file_error("max_json_bytes = 1KB\n",
	    ":1: key 'max_json_bytes': not a byte count 1K..64M (a number, "
	    "optionally with suffix K, M, G or T)");
	assert_file_error("max_json_bytes = 1 K\n",
	    ":1: key 'max_json_bytes': not a byte count 1K..64M (a number, "
	    "optionally with suffix K, M, G or T)");
}
END_TEST

START_TEST(test_quotes_and_comments)
{
	struct ota_config cfg;

	load_ok("# full-line comment\n"
	        "   # indented comment\n"
	        "\n"
	        "   \t\n"
	        "  data_dir\t=   \"/a b # c\"   # trailing\n"
	        "listen_address = ::1 # trailing comment\n"
	        "log_level=warn\r\n"
	        "server_key_file = /k#not-a-comment\n"
	        "release_keys_dir = \"\"\n"
	        "http_port = \"8080\"#comment\n",
	    NULL, &cfg);
	ck_assert_str_eq(cfg.data_dir, "/a b # c");
	ck_assert_str_eq(cfg.listen_address, "::1");
	ck_assert_str_eq(cfg.log_level, "warn");
	ck_assert_str_eq(cfg.server_key_file, "/k#not-a-comment");
	ck_assert_str_eq(cfg.release_keys_dir, "/a b # c/release-keys");
	ck_assert_int_eq(cfg.http_port, 8080);
	config_free(&cfg);

	assert_file_error("data_dir = \"/var/otad\n",
	    ":1: key 'data_dir': unterminated quote");
	assert_file_error("data_dir = \"/var/otad\" x\n",
	    ":1: key 'data_dir': text after the closing quote");
}
END_TEST

START_TEST(test_line_limits)
{
	struct ota_config cfg;
	char path[64], err[256];
	char text[4200];
	int n;

	/* Exactly 4096 bytes before the newline is accepted. */
	n = snprintf(text, sizeof(text), "data_dir = /");
	memset(text + n, 'a', 4096 - (size_t)n);
	strcpy(text + 4096, "\n");
	load_ok(text, NULL, &cfg);
	ck_assert_uint_eq(strlen(cfg.data_dir), 4096 - strlen("data_dir = "));
	config_free(&cfg);

	memset(text + n, 'a', 4097 - (size_t)n);
	strcpy(text + 4097, "\n");
	assert_file_error(text, ":1: line longer than 4096 bytes");

	write_temp("", path, sizeof(path));
	ck_assert_int_eq(config_load(path, NULL, &cfg, err, sizeof(err)), 0);
	config_free(&cfg);
	unlink(path);

	/* A NUL byte would silently cut the line short. */
	{
		static const char nul[] = "log_level = debug\0junk\n";
		char want[128];
		int fd;

		snprintf(path, sizeof(path), "/tmp/check_config-XXXXXX");
		fd = mkstemp(path);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(
		    write(fd, nul, sizeof(nul) - 1), (ssize_t)sizeof(nul) - 1);
		close(fd);
		ck_assert_int_eq(
		    config_load(path, NULL, &cfg, err, sizeof(err)),
		    OTA_ECONFIG);
		unlink(path);
		snprintf(want, sizeof(want), "%s:1: NUL byte in line", path);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

START_TEST(test_one_tls_path)
{
	char *cert_env[] = {"OTAD_TLS_CERT_FILE=/c.pem", NULL};

	assert_file_error("tls_cert_file = /etc/otad/cert.pem\n",
	    ":1: key 'tls_cert_file': set without tls_key_file (set both or "
	    "neither)");
	assert_file_error("\ntls_key_file = /etc/otad/key.pem\n",
	    ":2: key 'tls_key_file': set without tls_cert_file (set both or "
	    "neither)");
	assert_env_error(cert_env,
	    "environment: OTAD_TLS_CERT_FILE: set without tls_key_file (set "
	    "both or neither)");
}
END_TEST

START_TEST(test_small_error_buffer)
{
	struct ota_config cfg;
	char *envp[] = {"OTAD_FOO=1", NULL};
	char err[8];

	ck_assert_int_eq(
	    config_load(NULL, envp, &cfg, err, sizeof(err)), OTA_ECONFIG);
	ck_assert_str_eq(err, "environ");
	ck_assert_int_eq(config_load(NULL, envp, &cfg, NULL, 0), OTA_ECONFIG);
}
END_TEST

START_TEST(test_shipped_config)
{
	struct ota_config def, shipped;
	char err[256];

	ck_assert_int_eq(config_load(NULL, NULL, &def, err, sizeof(err)), 0);
	if (config_load(SHIPPED_CONF, NULL, &shipped, err, sizeof(err)) != 0)
		ck_abort_msg("%s", err);
	assert_same(&def, &shipped);
	ck_assert_int_eq(shipped.tls_generate, 1);
	ck_assert_str_eq(shipped.config_file, SHIPPED_CONF);
	config_free(&def);
	config_free(&shipped);
}
END_TEST

/* Runs config_print on cfg and returns what it wrote (caller frees). */
static char *
capture_print(const struct ota_config *cfg)
{
	char path[64];
	char *text;
	int fd, saved;

	snprintf(path, sizeof(path), "/tmp/check_config-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	config_print(cfg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);

	text = testutil_read_file(path, NULL);
	unlink(path);
	return text;
}

/* "auto" ports: parsed, printed and reloaded as such; two auto ports are
 * not "the same port". */
START_TEST(test_port_auto)
{
	struct ota_config cfg, again;
	char *text;

	load_ok("https_port = auto\nhttp_port = auto\n"
	        "port_file = /run/otad.ports\n",
	    NULL, &cfg);
	ck_assert_int_eq(cfg.https_port, CONFIG_PORT_AUTO);
	ck_assert_int_eq(cfg.http_port, CONFIG_PORT_AUTO);
	ck_assert_str_eq(cfg.port_file, "/run/otad.ports");
	text = capture_print(&cfg);
	ck_assert_ptr_nonnull(strstr(text, "https_port = auto\n"));
	ck_assert_ptr_nonnull(strstr(text, "http_port = auto\n"));
	load_ok(text, NULL, &again);
	ck_assert_int_eq(again.https_port, CONFIG_PORT_AUTO);
	ck_assert_int_eq(again.http_port, CONFIG_PORT_AUTO);
	free(text);
	config_free(&cfg);
	config_free(&again);
	assert_file_error(
	    "https_port = 0\n", ":1: key 'https_port': out of range 1..65535");
	assert_file_error("http_port = Auto\n",
	    ":1: key 'http_port': not a port 0..65535 or 'auto'");
}
END_TEST

START_TEST(test_print)
{
	struct ota_config cfg, again;
	char *text;

	load_ok("data_dir = \" /odd # dir\"\n"
	        "http_port = 8080\n",
	    NULL, &cfg);
	text = capture_print(&cfg);
	ck_assert_str_eq(text,
	    "data_dir = \" /odd # dir\"\n"
	    "listen_address = 127.0.0.1\n"
	    "https_port = 8443\n"
	    "http_port = 8080\n"
	    "port_file = \"\"\n"
	    "tls_cert_file = \" /odd # dir/tls/cert.pem\"\n"
	    "tls_key_file = \" /odd # dir/tls/key.pem\"\n"
	    "release_keys_dir = \" /odd # dir/release-keys\"\n"
	    "release_signatures_required = 1\n"
	    "server_key_file = \" /odd # dir/server.key\"\n"
	    "database = sqlite\n"
	    "database_password_file = \"\"\n"
	    "database_sslmode = \"\"\n"
	    "database_sslrootcert = \"\"\n"
	    "database_connections = 0\n"
	    "max_image_bytes = 2147483648\n"
	    "max_json_bytes = 1048576\n"
	    "max_header_bytes = 16384\n"
	    "http_threads = 4\n"
	    "max_connections = 1024\n"
	    "connection_timeout_sec = 60\n"
	    "max_connections_per_address = 256\n"
	    "header_timeout_sec = 30\n"
	    "shutdown_timeout_sec = 30\n"
	    "log_level = info\n"
	    "public_url = \"\"\n"
	    "poll_interval_sec = 300\n"
	    "device_cache = 1000000\n"
	    "signature_cache = 500000\n"
	    "poll_report_buffer_bytes = 10485760\n"
	    "manifest_ttl_sec = 86400\n"
	    "download_url_ttl_sec = 3600\n"
	    "mqtt_host = \"\"\n"
	    "mqtt_port = 1883\n"
	    "mqtt_client_id = otad\n"
	    "mqtt_prefix = otad\n"
	    "mqtt_shared_group = \"\"\n"
	    "mqtt_username = \"\"\n"
	    "mqtt_password_file = \"\"\n"
	    "mqtt_tls_ca_file = \"\"\n"
	    "mqtt_tls_cert_file = \"\"\n"
	    "mqtt_tls_key_file = \"\"\n"
	    "mqtt_keepalive_sec = 30\n"
	    "mqtt_reconnect_max_sec = 60\n"
	    "mqtt_max_uncommitted = 1000\n"
	    "mqtt_hints_per_sec = 1000\n"
	    "metrics_auth = viewer\n"
	    "ddi_tenant = DEFAULT\n"
	    "ddi_sleep_sec = 300\n"
	    "ddi_action_sleep_sec = 30\n"
	    "ddi_attr_hardware = hw_revision\n"
	    "ddi_attr_version = sw_version\n"
	    "blob_storage = files\n"
	    "test_clock_file = \"\"\n");

	/* The output is itself a config file that loads to the same values. */
	load_ok(text, NULL, &again);
	assert_same(&cfg, &again);
	ck_assert_int_eq(again.tls_generate, 0);
	free(text);
	config_free(&cfg);
	config_free(&again);
}
END_TEST

/* The shipped example documents every key and its OTAD_ variable. */
START_TEST(test_shipped_config_documents_every_key)
{
	struct ota_config cfg;
	char err[256], word[128], env[128];
	char *printed, *conf, *line, *save = NULL;
	FILE *f;
	long n;

	ck_assert_int_eq(config_load(NULL, NULL, &cfg, err, sizeof(err)), 0);
	printed = capture_print(&cfg);
	config_free(&cfg);

	f = fopen(SHIPPED_CONF, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	conf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(conf);
	ck_assert_uint_eq(fread(conf, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	for (line = strtok_r(printed, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t i, len = strcspn(line, " ");

		snprintf(word, sizeof(word), "%.*s =", (int)len, line);
		snprintf(env, sizeof(env), "OTAD_");
		for (i = 0; i < len; i++)
			env[5 + i] = (char)toupper((unsigned char)line[i]);
		env[5 + len] = '\0';
		if (strstr(conf, word) == NULL)
			ck_abort_msg("%s: no '%s'", SHIPPED_CONF, word);
		if (strstr(conf, env) == NULL)
			ck_abort_msg("%s: no '%s'", SHIPPED_CONF, env);
	}
	free(printed);
	free(conf);
}
END_TEST

START_TEST(test_free)
{
	struct ota_config cfg, zero;

	memset(&zero, 0, sizeof(zero));
	config_free(NULL);
	ck_assert_int_eq(config_load(NULL, NULL, &cfg, NULL, 0), 0);
	config_free(&cfg);
	ck_assert_mem_eq(&cfg, &zero, sizeof(cfg));
	config_free(&cfg); /* a zeroed struct is fine too */
}
END_TEST

/* blob_storage: files (the default with SQLite) or database. */
START_TEST(test_blob_storage)
{
	struct ota_config cfg;

	load_ok("", NULL, &cfg);
	ck_assert_str_eq(cfg.blob_storage, "files");
	config_free(&cfg);
	load_ok("blob_storage = database\n", NULL, &cfg);
	ck_assert_str_eq(cfg.blob_storage, "database");
	config_free(&cfg);
	load_ok("blob_storage = files\n", NULL, &cfg);
	ck_assert_str_eq(cfg.blob_storage, "files");
	config_free(&cfg);
	assert_file_error("blob_storage = s3\n",
	    ":1: key 'blob_storage': not one of files, database");
	/* PostgreSQL: database by default, files refused. */
	load_ok("database = postgresql://otad@db/otad\n", NULL, &cfg);
	ck_assert_str_eq(cfg.blob_storage, "database");
	config_free(&cfg);
	assert_file_error("database = host=db dbname=otad\n"
	                  "blob_storage = files\n",
	    ":2: key 'blob_storage': files needs database = sqlite: nodes "
	    "sharing PostgreSQL keep image bytes in it (use database)");
}
END_TEST

/* The manifest keys: defaults, bounds, and what public_url accepts. */
START_TEST(test_manifest_keys)
{
	static const char *const good_urls[] = {"https://ota.example.com",
	    "http://10.0.0.1:8080", "https://[2001:db8::1]:443",
	    "https://a-b.c:65535"};
	static const char *const bad_urls[] = {"https://ota.example.com/",
	    "https://ota.example.com/ota", "ftp://x", "https://", "https://x:0",
	    "https://x:65536", "https://x:", "https://u@x", "https://x?q",
	    "https://[::1", "ota.example.com"};
	struct ota_config cfg;
	char text[256];

	ck_assert_int_eq(config_load(NULL, NULL, &cfg, NULL, 0), 0);
	ck_assert_str_eq(cfg.public_url, "");
	ck_assert_int_eq(cfg.poll_interval_sec, 300);
	ck_assert_int_eq(cfg.device_cache, 1000000);
	ck_assert_int_eq(cfg.signature_cache, 500000);
	ck_assert_int_eq(cfg.poll_report_buffer_bytes, 10 << 20);
	ck_assert_int_eq(cfg.manifest_ttl_sec, 86400);
	ck_assert_int_eq(cfg.download_url_ttl_sec, 3600);
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++) {
		snprintf(text, sizeof(text), "public_url = %s\n", good_urls[i]);
		load_ok(text, NULL, &cfg);
		ck_assert_str_eq(cfg.public_url, good_urls[i]);
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		snprintf(text, sizeof(text), "public_url = %s\n", bad_urls[i]);
		assert_file_error(text,
		    ":1: key 'public_url': not http(s)://host[:port] without "
		    "a path (not even '/')");
	}
	load_ok("device_cache = 0\n", NULL, &cfg);
	ck_assert_int_eq(cfg.device_cache, 0);
	config_free(&cfg);
	assert_file_error("device_cache = -1\n",
	    ":1: key 'device_cache': out of range 0..10000000");
	load_ok("signature_cache = 1024\n", NULL, &cfg);
	ck_assert_int_eq(cfg.signature_cache, 1024);
	config_free(&cfg);
	assert_file_error("signature_cache = 1023\n",
	    ":1: key 'signature_cache': out of range 1024..16000000");
	load_ok("poll_report_buffer_bytes = 64K\n", NULL, &cfg);
	ck_assert_int_eq(cfg.poll_report_buffer_bytes, 64 << 10);
	config_free(&cfg);
	assert_file_error("poll_report_buffer_bytes = 4K\n",
	    ":1: key 'poll_report_buffer_bytes': out of range 8K..1G");
	assert_file_error("poll_report_buffer_bytes = 2G\n",
	    ":1: key 'poll_report_buffer_bytes': out of range 8K..1G");
	assert_file_error("poll_interval_sec = 9\n",
	    ":1: key 'poll_interval_sec': out of range 10..86400");
	assert_file_error("manifest_ttl_sec = 599\n",
	    ":1: key 'manifest_ttl_sec': out of range 600..2592000");
	assert_file_error("manifest_ttl_sec = 2592001\n",
	    ":1: key 'manifest_ttl_sec': out of range 600..2592000");
	assert_file_error("download_url_ttl_sec = 59\n",
	    ":1: key 'download_url_ttl_sec': out of range 60..604800");
	assert_file_error("download_url_ttl_sec = 604801\n",
	    ":1: key 'download_url_ttl_sec': out of range 60..604800");
	load_ok("manifest_ttl_sec = 600\ndownload_url_ttl_sec = 604800\n", NULL,
	    &cfg);
	ck_assert_int_eq(cfg.manifest_ttl_sec, 600);
	ck_assert_int_eq(cfg.download_url_ttl_sec, 604800);
	config_free(&cfg);
}
END_TEST

/* MQTT: off by default; every key checked; keys that need each other. */
START_TEST(test_mqtt_keys)
{
	struct ota_config cfg;
	char err[256];

	ck_assert_int_eq(config_load(NULL, NULL, &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.mqtt_host, "");
	ck_assert_int_eq(cfg.mqtt_port, 1883);
	ck_assert_str_eq(cfg.mqtt_client_id, "otad");
	ck_assert_str_eq(cfg.mqtt_prefix, "otad");
	ck_assert_str_eq(cfg.mqtt_shared_group, "");
	ck_assert_str_eq(cfg.mqtt_username, "");
	ck_assert_str_eq(cfg.mqtt_password_file, "");
	ck_assert_str_eq(cfg.mqtt_tls_ca_file, "");
	ck_assert_str_eq(cfg.mqtt_tls_cert_file, "");
	ck_assert_str_eq(cfg.mqtt_tls_key_file, "");
	ck_assert_int_eq(cfg.mqtt_keepalive_sec, 30);
	ck_assert_int_eq(cfg.mqtt_reconnect_max_sec, 60);
	ck_assert_int_eq(cfg.mqtt_max_uncommitted, 1000);
	ck_assert_int_eq(cfg.mqtt_hints_per_sec, 1000);
	config_free(&cfg);

	load_ok("mqtt_host = broker.example.net\nmqtt_port = 8883\n"
	        "mqtt_client_id = otad-eu:1\nmqtt_prefix = fleet/eu-1\n"
	        "mqtt_username = otad\nmqtt_password_file = /etc/otad/mqtt.pw\n"
	        "mqtt_tls_ca_file = /etc/ca.pem\n"
	        "mqtt_tls_cert_file = /etc/c.pem\n"
	        "mqtt_tls_key_file = /etc/k.pem\n"
	        "mqtt_keepalive_sec = 5\nmqtt_reconnect_max_sec = 3600\n"
	        "mqtt_max_uncommitted = 1\nmqtt_hints_per_sec = 100000\n",
	    NULL, &cfg);
	ck_assert_str_eq(cfg.mqtt_host, "broker.example.net");
	ck_assert_int_eq(cfg.mqtt_port, 8883);
	ck_assert_str_eq(cfg.mqtt_client_id, "otad-eu:1");
	ck_assert_str_eq(cfg.mqtt_prefix, "fleet/eu-1");
	ck_assert_str_eq(cfg.mqtt_password_file, "/etc/otad/mqtt.pw");
	ck_assert_str_eq(cfg.mqtt_tls_key_file, "/etc/k.pem");
	ck_assert_int_eq(cfg.mqtt_keepalive_sec, 5);
	ck_assert_int_eq(cfg.mqtt_reconnect_max_sec, 3600);
	ck_assert_int_eq(cfg.mqtt_max_uncommitted, 1);
	ck_assert_int_eq(cfg.mqtt_hints_per_sec, 100000);
	config_free(&cfg);
	load_ok("mqtt_shared_group = eu-1.a_b\n", NULL, &cfg);
	ck_assert_str_eq(cfg.mqtt_shared_group, "eu-1.a_b");
	config_free(&cfg);
	assert_file_error("mqtt_shared_group = a/b\n",
	    ":1: key 'mqtt_shared_group': not \"\" or 1..64 of "
	    "[A-Za-z0-9._-] (one topic level)");
	assert_file_error("mqtt_shared_group = +\n",
	    ":1: key 'mqtt_shared_group': not \"\" or 1..64 of "
	    "[A-Za-z0-9._-] (one topic level)");
	load_ok("mqtt_host = ::1\n", NULL, &cfg);
	ck_assert_str_eq(cfg.mqtt_host, "::1");
	config_free(&cfg);

	assert_file_error("mqtt_host = \"a b\"\n",
	    ":1: key 'mqtt_host': not a host name or numeric address "
	    "(letters, digits, '.', '-', '_', ':')");
	assert_file_error("mqtt_client_id = \"\"\n",
	    ":1: key 'mqtt_client_id': not 1..64 of [A-Za-z0-9._:-] (a fixed "
	    "id keeps the broker session)");
	assert_file_error("mqtt_client_id = a/b\n",
	    ":1: key 'mqtt_client_id': not 1..64 of [A-Za-z0-9._:-] (a fixed "
	    "id keeps the broker session)");
	static const char *const bad_prefixes[] = {"\"\"", "/otad", "otad/",
	    "a//b", "otad/+", "otad/#", "$SYS", "a b",
	    "x12345678901234567890123456789012345678901234567890123456789012"
	    "34"};
	for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(*bad_prefixes);
	     i++) {
		char text[128];

		snprintf(
		    text, sizeof(text), "mqtt_prefix = %s\n", bad_prefixes[i]);
		assert_file_error(text,
		    ":1: key 'mqtt_prefix': not 1..64 bytes of topic levels of "
		    "[A-Za-z0-9._-] joined by '/'");
	}
	assert_file_error("mqtt_keepalive_sec = 4\n",
	    ":1: key 'mqtt_keepalive_sec': out of range 5..3600");
	assert_file_error("mqtt_reconnect_max_sec = 0\n",
	    ":1: key 'mqtt_reconnect_max_sec': out of range 1..3600");
	assert_file_error("mqtt_max_uncommitted = 0\n",
	    ":1: key 'mqtt_max_uncommitted': out of range 1..100000");
	assert_file_error("mqtt_hints_per_sec = 100001\n",
	    ":1: key 'mqtt_hints_per_sec': out of range 1..100000");
	assert_file_error(
	    "mqtt_port = 0\n", ":1: key 'mqtt_port': out of range 1..65535");
	assert_file_error("mqtt_password_file = /pw\n",
	    ":1: key 'mqtt_password_file': set without mqtt_username");
	assert_file_error("mqtt_tls_ca_file = /ca\nmqtt_tls_cert_file = /c\n",
	    ":2: key 'mqtt_tls_cert_file': set without mqtt_tls_key_file "
	    "(set both or neither)");
	assert_file_error("mqtt_tls_ca_file = /ca\nmqtt_tls_key_file = /k\n",
	    ":2: key 'mqtt_tls_key_file': set without mqtt_tls_cert_file "
	    "(set both or neither)");
	assert_file_error("mqtt_tls_cert_file = /c\nmqtt_tls_key_file = /k\n",
	    ":1: key 'mqtt_tls_cert_file': set without mqtt_tls_ca_file (TLS "
	    "is on only with a CA)");
}
END_TEST

/* metrics_auth: viewer by default, none allowed, nothing else. */
START_TEST(test_metrics_auth)
{
	char *const env[] = {"OTAD_METRICS_AUTH=none", NULL};
	char *const bad_env[] = {"OTAD_METRICS_AUTH=admin", NULL};
	struct ota_config cfg;

	ck_assert_int_eq(config_load(NULL, NULL, &cfg, NULL, 0), 0);
	ck_assert_str_eq(cfg.metrics_auth, "viewer");
	config_free(&cfg);
	load_ok("metrics_auth = none\n", NULL, &cfg);
	ck_assert_str_eq(cfg.metrics_auth, "none");
	config_free(&cfg);
	load_ok("metrics_auth = viewer\n", env, &cfg);
	ck_assert_str_eq(cfg.metrics_auth, "none");
	config_free(&cfg);
	assert_file_error("metrics_auth = Viewer\n",
	    ":1: key 'metrics_auth': not one of viewer, none");
	assert_file_error("metrics_auth = \n",
	    ":1: key 'metrics_auth': not one of viewer, none");
	assert_env_error(
	    bad_env, "environment: OTAD_METRICS_AUTH: not one of viewer, none");
}
END_TEST

/* The DDI keys: defaults, the tenant's alphabet, attribute names, and
 * the action sleep never longer than the idle one. */
START_TEST(test_ddi_keys)
{
	char *const env[] = {"OTAD_DDI_SLEEP_SEC=20", NULL};
	struct ota_config cfg;

	ck_assert_int_eq(config_load(NULL, NULL, &cfg, NULL, 0), 0);
	ck_assert_str_eq(cfg.ddi_tenant, "DEFAULT");
	ck_assert_int_eq(cfg.ddi_sleep_sec, 300);
	ck_assert_int_eq(cfg.ddi_action_sleep_sec, 30);
	ck_assert_str_eq(cfg.ddi_attr_hardware, "hw_revision");
	ck_assert_str_eq(cfg.ddi_attr_version, "sw_version");
	config_free(&cfg);
	load_ok("ddi_tenant = my_Tenant-2\n"
	        "ddi_sleep_sec = 60\n"
	        "ddi_action_sleep_sec = 60\n"
	        "ddi_attr_hardware = \"board rev\"\n"
	        "ddi_attr_version = fw.version\n",
	    NULL, &cfg);
	ck_assert_str_eq(cfg.ddi_tenant, "my_Tenant-2");
	ck_assert_int_eq(cfg.ddi_sleep_sec, 60);
	ck_assert_int_eq(cfg.ddi_action_sleep_sec, 60);
	ck_assert_str_eq(cfg.ddi_attr_hardware, "board rev");
	ck_assert_str_eq(cfg.ddi_attr_version, "fw.version");
	config_free(&cfg);
	assert_file_error("ddi_tenant = a.b\n",
	    ":1: key 'ddi_tenant': not 1..64 of [A-Za-z0-9_-]");
	assert_file_error("ddi_tenant = a/b\n",
	    ":1: key 'ddi_tenant': not 1..64 of [A-Za-z0-9_-]");
	assert_file_error("ddi_tenant = \"\"\n",
	    ":1: key 'ddi_tenant': not 1..64 of [A-Za-z0-9_-]");
	assert_file_error("ddi_tenant = "
	                  "a123456789012345678901234567890123456789012345678901"
	                  "2345678901234\n",
	    ":1: key 'ddi_tenant': not 1..64 of [A-Za-z0-9_-]");
	assert_file_error("ddi_sleep_sec = 0\n",
	    ":1: key 'ddi_sleep_sec': out of range 1..86400");
	assert_file_error("ddi_action_sleep_sec = 86401\n",
	    ":1: key 'ddi_action_sleep_sec': out of range 1..86400");
	assert_file_error("ddi_attr_version = \"\"\n",
	    ":1: key 'ddi_attr_version': not an attribute name of 1..128 "
	    "bytes");
	assert_file_error("ddi_attr_hardware = \"a\tb\"\n",
	    ":1: key 'ddi_attr_hardware': contains a control character");
	/* The default action sleep (30) over a shorter idle sleep. */
	assert_env_error(env, "key 'ddi_action_sleep_sec': greater than "
	                      "ddi_sleep_sec (the sleep while an action is "
	                      "open is the shorter one) (built-in default)");
	assert_file_error("ddi_sleep_sec = 60\nddi_action_sleep_sec = 61\n",
	    ":2: key 'ddi_action_sleep_sec': greater than ddi_sleep_sec (the "
	    "sleep while an action is open is the shorter one)");
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("config_load");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_values);
	tcase_add_test(tc, test_explicit_paths);
	tcase_add_test(tc, test_env_overrides_file);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_bad_number);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_bad_strings);
	tcase_add_test(tc, test_repeated_key);
	tcase_add_test(tc, test_unreadable_file);
	tcase_add_test(tc, test_environment_errors);
	tcase_add_test(tc, test_size_suffixes);
	tcase_add_test(tc, test_quotes_and_comments);
	tcase_add_test(tc, test_line_limits);
	tcase_add_test(tc, test_one_tls_path);
	tcase_add_test(tc, test_small_error_buffer);
	tcase_add_test(tc, test_shipped_config);
	tcase_add_test(tc, test_shipped_config_documents_every_key);
	tcase_add_test(tc, test_manifest_keys);
	tcase_add_test(tc, test_blob_storage);
	tcase_add_test(tc, test_mqtt_keys);
	tcase_add_test(tc, test_metrics_auth);
	tcase_add_test(tc, test_ddi_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("config_print");
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_port_auto);
	suite_add_tcase(s, tc);

	tc = tcase_create("config_free");
	tcase_add_test(tc, test_free);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(config_suite());
}
