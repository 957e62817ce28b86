/*
 * config: otad's settings.  One table lists every key (name, type, bounds,
 * default); a value comes from the default, then the config file
 * (key = value, '#' comments), then the environment (OTAD_<KEY in upper
 * case>), the later winning.  Errors name the file, line and key.
 */
#ifndef OTAD_CONFIG_H
#define OTAD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* A port key set to "auto": bind port 0, the OS picks a free port (see
 * port_file for how to learn it). */
#define CONFIG_PORT_AUTO (-1)

struct ota_config {
	char *data_dir;         /* data_dir, default "./var" */
	char *listen_address;   /* listen_address, default "127.0.0.1" */
	int https_port;         /* https_port, default 8443, 1..65535 or
	                           CONFIG_PORT_AUTO */
	int http_port;          /* http_port, default 0 = plain HTTP off,
	                           1..65535 or CONFIG_PORT_AUTO */
	char *port_file;        /* "" = none; else written with the bound
	                           ports once otad is ready */
	char *tls_cert_file;    /* default <data_dir>/tls/cert.pem */
	char *tls_key_file;     /* default <data_dir>/tls/key.pem */
	int tls_generate;       /* 1 when both TLS paths were defaulted:
	                           otad may create a dev certificate */
	char *release_keys_dir; /* default <data_dir>/release-keys */
	int release_signatures_required; /* default 1, 1..16 */
	/* The database (store.h): "sqlite" (default, <data_dir>/otad.db) or
	 * a PostgreSQL URI or conninfo, with an optional password file
	 * (one line), TLS settings ("" = the target's own) and pool size
	 * (0 = http_threads * 2 + 2). */
	char *database;
	char *database_password_file;
	char *database_sslmode;
	char *database_sslrootcert;
	int database_connections;        /* 0..256 */
	char *server_key_file;           /* default <data_dir>/server.key */
	int64_t max_image_bytes;         /* default 2 GiB, 1..1 TiB */
	int64_t max_json_bytes;          /* default 1 MiB, 1 KiB..64 MiB */
	int max_header_bytes;            /* default 16384, 4096..1 MiB: MHD
	                                    per-connection memory for headers */
	int http_threads;                /* default 4, 1..256 */
	int max_connections;             /* default 1024, 1..65536 */
	int connection_timeout_sec;      /* default 60, 1..3600 */
	int max_connections_per_address; /* default 256, 0..65536, 0 = off */
	int header_timeout_sec;          /* default 30, 1..3600: from accept
	                                    (or the last request) to headers */
	int shutdown_timeout_sec;        /* default 30, 0..3600 */
	char *test_clock_file;           /* "" = the real clock; tests only:
	                                    timeutil_clock_file */
	char *log_level;   /* error|warn|info|debug, default info */
	char *config_file; /* the --config path, or NULL */
	/* Manifests and downloads (manifest.c, http_api_manifest.c). */
	char *public_url;      /* "" = scheme + Host of each request */
	int poll_interval_sec; /* default 300, 10..86400 */
	int device_cache;      /* devices in memory (devcache), 0 off; 1000k */
	int signature_cache;   /* manifest signatures kept at most; 500k */
	int poll_report_buffer_bytes; /* seen.c's cap, default 16 MiB,
	                                 8 KiB..1 GiB */
	int manifest_ttl_sec;         /* default 86400, 600..30 days */
	int download_url_ttl_sec;     /* default 3600, 60..7 days */
	/* MQTT ingest (mqtt.c, docs/mqtt.md).  Optional paths are "" when
	 * unset; TLS is on when mqtt_tls_ca_file is set. */
	char *mqtt_host;      /* "" (default) = no MQTT */
	int mqtt_port;        /* default 1883, 1..65535 */
	char *mqtt_client_id; /* default "otad": fixed, persistent session */
	char *mqtt_prefix;    /* default "otad": topics {prefix}/devices/.. */
	/* "" (default): a plain subscription; else the MQTT 5 shared
	 * subscription $share/{group}/...: each event goes to one node. */
	char *mqtt_shared_group;
	char *mqtt_username;      /* "" = none */
	char *mqtt_password_file; /* read at start; needs mqtt_username */
	char *mqtt_tls_ca_file;
	char *mqtt_tls_cert_file; /* client certificate: with the key */
	char *mqtt_tls_key_file;
	int mqtt_keepalive_sec;     /* default 30, 5..3600 */
	int mqtt_reconnect_max_sec; /* default 60, 1..3600: backoff ceiling */
	/* default 1000, 1..100000: no message is read while this many
	 * received events wait for their commit (bounds a crash's loss) */
	int mqtt_max_uncommitted;
	int mqtt_hints_per_sec; /* default 1000, 1..100000: update hints */
	/* Metrics (metrics.c): who may scrape GET /metrics. */
	char *metrics_auth; /* "viewer" (a token) or "none", default viewer */
	/* hawkBit DDI (http_api_ddi.c, docs/ddi.md). */
	char *ddi_tenant;  /* default "DEFAULT": /{tenant}/controller/v1 */
	int ddi_sleep_sec; /* default 300, 1..86400: polling sleep */
	int ddi_action_sleep_sec; /* default 30, 1..86400 (at most
	                             ddi_sleep_sec): while an action is open */
	char *ddi_attr_hardware;  /* default "hw_revision": configData name
	                             of the hardware revision */
	char *ddi_attr_version;   /* default "sw_version": of the installed
	                             version */
	/* Where image bytes live (images.c): "files" (<data_dir>/blobs
	 * only: one node) or "database" (image_chunks, with blobs/ a local
	 * cache: every node sharing the database).  Unset: "files" with
	 * SQLite, "database" with PostgreSQL (which refuses "files"). */
	char *blob_storage;
};

/*
 * Loads the configuration: defaults, then the file at path (NULL: none),
 * then OTAD_* variables from envp (NULL-terminated, may be NULL).  Unknown
 * keys (in the file or as OTAD_* variables), bad values, out-of-range
 * numbers and an unreadable file are errors: returns OTA_ECONFIG and writes
 * e.g. "otad.conf:12: key 'https_port': not a number 1..65535" to err.
 * Fills derived defaults (TLS, keys) from data_dir.  On success *cfg owns
 * its strings; free them with config_free.  On failure *cfg is freed.
 */
int config_load(const char *path, char *const *envp, struct ota_config *cfg,
    char *err, size_t errlen);

/* Frees the strings of cfg (NULL-safe) and zeroes it. */
void config_free(struct ota_config *cfg);

/* Writes every key = value (as resolved) to stdout, for --check-config. */
void config_print(const struct ota_config *cfg);

#endif
