/*
 * main: otad's start and stop.  Loads the configuration, prepares the data
 * directory (dev TLS certificate, server signing key, release keyring,
 * database with migrations, blob directories cleaned of partial uploads),
 * starts the HTTP listeners, then waits for SIGTERM/SIGINT and shuts down
 * cleanly, letting requests in flight finish.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "app.h"
#include "blob.h"
#include "cluster.h"
#include "compcache.h"
#include "devcache.h"
#include "config.h"
#include "crypto.h"
#include "ddi_service.h"
#include "errors.h"
#include "fleet.h"
#include "fsutil.h"
#include "http_api.h"
#include "http_server.h"
#include "images.h"
#include "log.h"
#include "manifest.h"
#include "memtrim.h"
#include "metrics.h"
#include "hints.h"
#include "mqtt.h"
#include "offers.h"
#include "rollout_service.h"
#include "rollout_timer.h"
#include "seen.h"
#include "sigcache.h"
#include "store.h"
#include "store_config.h"
#include "telemetry.h"
#include "timeutil.h"
#include "tls.h"
#include "version.h"

extern char **environ;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: otad [--config PATH] [--check-config] [--routes] "
	    "[--version]\n"
	    "\n"
	    "Fleet OTA firmware distribution server.  Settings come from the\n"
	    "built-in defaults, then the config file (--config PATH, or the\n"
	    "OTAD_CONFIG variable), then OTAD_<KEY> environment variables.\n"
	    "  --check-config  validate the configuration, print it, exit\n"
	    "  --routes        print each route (method, pattern, the\n"
	    "                  credential it needs), exit\n");
}

/*
 * Loads the server's manifest-signing key, creating it when it is missing
 * and its path is the default one inside the data directory.
 */
static int
server_key_load(struct app *app, int path_defaulted)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	struct stat st;
	int rc;

	app->server_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (app->server_sk == NULL)
		return OTA_ENOMEM;
	if (stat(app->cfg.server_key_file, &st) != 0 && errno == ENOENT) {
		if (!path_defaulted) {
			log_err(
			    "msg=\"server_key_file does not exist\" path=%s",
			    app->cfg.server_key_file);
			return OTA_ECONFIG;
		}
		crypto_sign_keypair(pk, app->server_sk);
		rc = crypto_seckey_save(
		    app->cfg.server_key_file, app->server_sk);
		if (rc != 0)
			return rc;
		log_info("msg=\"created server signing key\" path=%s",
		    app->cfg.server_key_file);
	}
	rc = crypto_seckey_load(app->cfg.server_key_file, app->server_sk);
	if (rc != 0) {
		log_err("msg=\"cannot load server signing key\" path=%s",
		    app->cfg.server_key_file);
		return rc;
	}
	crypto_sign_ed25519_sk_to_pk(app->server_pk, app->server_sk);
	crypto_key_fingerprint(app->server_pk, app->server_key_id);
	log_info("msg=\"server signing key\" key_id=%s", app->server_key_id);
	return 0;
}

/* The manifest path: URL-token key, offer snapshot (and the listener of
 * the other nodes' rollout changes, which move the generation it reloads
 * on), poll-report writer, signature cache. */
static int
manifests_open(struct app *app)
{
	int rc;

	app->url_key = sodium_malloc(MANIFEST_URL_KEY_BYTES);
	if (app->url_key == NULL)
		return OTA_ENOMEM;
	if (manifest_url_key_derive(app->server_sk, app->url_key) != 0)
		return OTA_ECRYPTO;
	app->offers = offers_new(
	    app->store, rollout_service_generation_counter(app->rollouts));
	if (app->offers == NULL)
		return OTA_EDB;
	rc = cluster_start(app->cluster,
	    rollout_service_generation_counter(app->rollouts), app->devices);
	if (rc != 0)
		return rc;
	app->seen =
	    seen_start(app->store, (size_t)app->cfg.poll_report_buffer_bytes,
	        (size_t)app->cfg.device_cache, 1000);
	if (app->seen == NULL)
		return OTA_ENOMEM;
	app->sigcache = sigcache_new(app->server_sk,
	    (size_t)app->cfg.signature_cache < SIGCACHE_ENTRIES_MIN
	        ? (size_t)app->cfg.signature_cache
	        : SIGCACHE_ENTRIES_MIN,
	    (size_t)app->cfg.signature_cache);
	if (app->sigcache == NULL)
		return OTA_ENOMEM;
	return 0;
}

/* The request counters of /metrics, one block per route pattern. */
static int
metrics_open(struct app *app)
{
	const char *patterns[128];
	size_t n = 0;

	for (const struct http_route *r = http_api_routes; r->method != NULL;
	     r++) {
		if (n == sizeof(patterns) / sizeof(patterns[0]))
			return OTA_EINVAL;
		patterns[n++] = r->pattern;
	}
	app->metrics = metrics_new(
	    patterns, n, "/api/v1/devices/{}/manifest", OTAD_VERSION);
	return app->metrics != NULL ? 0 : OTA_ENOMEM;
}

/*
 * Locks the data directory for this process and warns when others may
 * read it (it holds token hashes and the device inventory).  Returns 0,
 * OTA_ECONFLICT (another otad holds it: logged with its pid) or OTA_EIO.
 */
static int
data_dir_lock(struct app *app)
{
	char path[PATH_MAX];
	struct stat st;
	long holder = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/otad.lock", app->cfg.data_dir);
	rc = fsutil_lock_file(path, &app->data_dir_lock_fd, &holder);
	if (rc == OTA_ECONFLICT) {
		/* pid=0: the holder let go in between (start again). */
		log_err("msg=\"data directory in use by another otad\" "
		        "data_dir=%s pid=%ld lock=%s",
		    app->cfg.data_dir, holder, path);
		return rc;
	}
	if (rc != 0)
		return rc;
	if (stat(app->cfg.data_dir, &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warn("msg=\"data directory is open to other users: it "
		         "holds token hashes and the device inventory; chmod "
		         "700 it\" data_dir=%s mode=%03o",
		    app->cfg.data_dir, (unsigned)(st.st_mode & 0777));
	return 0;
}

/*
 * Writes port_file (when set) with the ports the listeners bound, once
 * otad serves: "https_port=N" and "http_port=N" lines (0: off), replaced
 * atomically, so a reader sees the whole file or none.  Returns 0 or
 * OTA_EIO/OTA_ENOMEM (logged).
 */
static int
port_file_write(const struct app *app, const struct http_server *srv)
{
	char buf[64];
	int https, http, n;

	if (app->cfg.port_file[0] == '\0')
		return 0;
	http_server_ports(srv, &https, &http);
	n = snprintf(
	    buf, sizeof(buf), "https_port=%d\nhttp_port=%d\n", https, http);
	return fsutil_write_replace(app->cfg.port_file, buf, (size_t)n, 0644);
}

/*
 * The blob directory (with blob_storage = database, this node's cache)
 * and the images service: leftovers of a crash removed, the periodic
 * sweep started, digests of old images filled.  Returns 0 or an OTA_E*
 * code.
 */
static int
app_images_open(struct app *app)
{
	enum images_blob_storage storage = IMAGES_BLOBS_FILES;
	int rc;

	if (strcmp(app->cfg.blob_storage, "database") == 0)
		storage = IMAGES_BLOBS_DATABASE;
	app->blobs = blob_store_open(app->cfg.data_dir);
	if (app->blobs == NULL)
		return OTA_EIO;
	app->images = images_new(app->store, app->blobs, app->keyring,
	    app->cfg.release_signatures_required, storage);
	if (app->images == NULL)
		return OTA_ENOMEM;
	rc = images_remove_orphans(app->images);
	if (rc != 0)
		return rc;
	/* Nodes sharing the database: cache files of images deleted
	 * elsewhere go at the next sweep. */
	rc = images_sweep_start(app->images, IMAGES_SWEEP_INTERVAL_SEC);
	if (rc != 0)
		return rc;
	/* DDI serves SHA-1 and MD5: compute them for images stored before
	 * migration 0004 added them. */
	return images_backfill_digests(app->images);
}

/*
 * The device cache (config device_cache, 0: none), told of every device
 * change this node commits by the store's hook and of the other nodes'
 * by the cluster listener, before which it does not serve.  A SQLite file
 * named by `database` may be shared by other otad processes, which have
 * no way to tell this one of their changes: no cache then.
 */
static int
app_devices_open(struct app *app, int sqlite_shared)
{
	if (app->cfg.device_cache == 0)
		return 0;
	if (sqlite_shared) {
		log_info("msg=\"device cache off: the SQLite file named by "
		         "'database' may be shared with other otad processes, "
		         "whose changes this one would not hear\"");
		return 0;
	}
	app->devices =
	    devcache_new((size_t)app->cfg.device_cache, app->cluster == NULL);
	if (app->devices == NULL)
		return OTA_ENOMEM;
	store_set_devices_hook(app->store, devcache_hook, app->devices);
	/* The components of devices, forgotten with the device. */
	app->components =
	    compcache_new((size_t)app->cfg.device_cache, app->cluster == NULL);
	if (app->components == NULL)
		return OTA_ENOMEM;
	devcache_set_listener_at(app->devices, 1,
	    &(struct devcache_listener){
	        compcache_hook, compcache_serving_hook, app->components});
	log_info("msg=\"device cache\" entries=%d", app->cfg.device_cache);
	return 0;
}

/*
 * Opens the database the config names (store_config_resolve, the home of
 * that rule, shared with otactl), and prepares, with the same target and
 * settings, the listener of the other nodes' changes (cluster_new).  The
 * pool holds database_connections, or two per listener thread and two for
 * the writers.
 */
static int
app_store_open(struct app *app)
{
	const struct ota_config *cfg = &app->cfg;
	struct store_config_db db;
	int nconns, rc, shared;

	nconns = cfg->database_connections > 0 ? cfg->database_connections
	                                       : cfg->http_threads * 2 + 2;
	if ((rc = store_config_resolve(cfg, &db)) == 0)
		rc = store_open_with(db.target, &db.opt, nconns, &app->store);
	if (rc == 0)
		rc = cluster_new(app->store, db.target, &db.opt, &app->cluster);
	shared = !db.postgres && strcmp(cfg->database, "sqlite") != 0;
	store_config_release(&db);
	if (rc == 0)
		rc = app_devices_open(app, shared);
	return rc;
}

/* Prepares everything the listeners need; returns 0 or an OTA_E* code. */
static int
app_open(struct app *app)
{
	char def[PATH_MAX];
	int rc;

	rc = fsutil_mkdir(app->cfg.data_dir, 0700);
	if (rc != 0)
		return rc;
	/* First of all: a second otad on this directory must not clean up
	 * (partial uploads, orphans) under the feet of the first. */
	if ((rc = data_dir_lock(app)) != 0)
		return rc;
	if (app->cfg.tls_generate) {
		rc = tls_dev_cert_ensure(
		    app->cfg.tls_cert_file, app->cfg.tls_key_file);
		if (rc != 0)
			return rc;
	}
	snprintf(def, sizeof(def), "%s/server.key", app->cfg.data_dir);
	rc = server_key_load(app, strcmp(def, app->cfg.server_key_file) == 0);
	if (rc != 0)
		return rc;
	snprintf(def, sizeof(def), "%s/release-keys", app->cfg.data_dir);
	if (strcmp(def, app->cfg.release_keys_dir) == 0 &&
	    (rc = fsutil_mkdir(def, 0700)) != 0)
		return rc;
	rc = crypto_keyring_load(app->cfg.release_keys_dir, &app->keyring);
	if (rc != 0)
		return rc;
	if (app->keyring->count == 0)
		log_warn("msg=\"no trusted release keys: every upload will be "
		         "refused\" dir=%s",
		    app->cfg.release_keys_dir);
	if ((rc = app_store_open(app)) != 0)
		return rc;
	/* Every node on one database signs with one key. */
	if ((rc = cluster_key_check(app->store, app->server_pk)) != 0)
		return rc;
	if ((rc = app_images_open(app)) != 0)
		return rc;
	if ((rc = metrics_open(app)) != 0)
		return rc;
	if ((app->rollouts = rollout_service_new(app->store)) == NULL)
		return OTA_ENOMEM;
	if ((app->fleet = fleet_new(app->store)) == NULL)
		return OTA_ENOMEM;
	rc = manifests_open(app);
	if (rc != 0)
		return rc;
	/* The telemetry event writer, before any listener can queue events. */
	app->telemetry = telemetry_start(
	    app->store, app->seen, app->rollouts, TELEMETRY_QUEUE_DEFAULT);
	if (app->telemetry == NULL)
		return OTA_ENOMEM;
	/* Silent reverts found by seen's flush may pause a rollout. */
	seen_set_touched_hook(
	    app->seen, rollout_service_touched, app->rollouts);
	app->ddi =
	    ddi_service_new(app->store, app->offers, app->seen, app->telemetry,
	        app->cfg.ddi_attr_hardware, app->cfg.ddi_attr_version);
	if (app->ddi == NULL)
		return OTA_ENOMEM;
	ddi_service_set_components(app->ddi, app->components);
	return ddi_service_set_devices(app->ddi, app->devices,
	    rollout_service_generation_counter(app->rollouts),
	    (size_t)app->cfg.device_cache);
}

static void
app_close(struct app *app)
{
	ddi_service_free(app->ddi);
	cluster_stop(app->cluster);
	seen_stop(app->seen); /* writes the last poll reports */
	/* After every producer (HTTP, seen): writes what is queued. */
	telemetry_stop(app->telemetry);
	rollout_service_free(app->rollouts);
	fleet_free(app->fleet);
	offers_free(app->offers);
	sigcache_free(app->sigcache);
	sodium_free(app->url_key);
	images_free(app->images);
	store_close(app->store);
	devcache_free(app->devices);
	compcache_free(app->components);
	blob_store_close(app->blobs);
	crypto_keyring_free(app->keyring);
	metrics_free(app->metrics);
	sodium_free(app->server_sk);
	if (app->data_dir_lock_fd >= 0)
		close(app->data_dir_lock_fd);
	app->data_dir_lock_fd = -1;
	config_free(&app->cfg);
}

/*
 * Reads the command line: --config into *out_config_path, --check-config
 * into *out_check_only.  Returns -1 to go on, or the exit status of a
 * command line that ends here (--routes, --version, --help, a bad
 * argument).
 */
static int
args_parse(
    int argc, char **argv, const char **out_config_path, int *out_check_only)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			*out_config_path = argv[++i];
		} else if (strcmp(argv[i], "--check-config") == 0) {
			*out_check_only = 1;
		} else if (strcmp(argv[i], "--routes") == 0) {
			return http_api_routes_print(stdout) == 0 ? 0 : 1;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("otad %s\n", OTAD_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0 ||
		           strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(
			    stderr, "otad: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

/*
 * Loads the configuration into app->cfg (with check_only: prints it and
 * ends) and prepares the process: log level, libsodium, jansson's hash
 * seed, the umask.  Returns -1 to go on, or the exit status.
 */
static int
process_setup(struct app *app, const char *config_path, int check_only)
{
	enum log_level level;
	char err[512];

	if (config_load(config_path, environ, &app->cfg, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "otad: configuration error: %s\n", err);
		return 1;
	}
	if (check_only) {
		config_print(&app->cfg);
		printf("# configuration OK\n");
		config_free(&app->cfg);
		return 0;
	}
	if (log_parse_level(app->cfg.log_level, &level) == 0)
		log_set_level(level);
	if (crypto_init() != 0) {
		config_free(&app->cfg);
		return 1;
	}
	json_object_seed(0);
	timeutil_clock_file(app->cfg.test_clock_file);
	if (app->cfg.test_clock_file[0] != '\0')
		log_warn("msg=\"wall clock moved by a test clock file\" "
		         "file=%s",
		    app->cfg.test_clock_file);
	/* Whatever otad creates (database, WAL, keys, blobs) is its own. */
	umask(077);
	if (memtrim_fix_threshold() != 0)
		log_info("msg=\"malloc's mmap threshold left to the "
		         "allocator\" reason=\"not glibc's\"");
	return -1;
}

/* Signals are taken by sigwait in main; block them before any thread
 * starts so every thread inherits the mask. */
static void
signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Starts otad in its order: app_open, MQTT ingest and hints, the
 * listeners, the rollout timer, then the port file (otad serves).  What
 * started is in app, *out_srv and *out_timer, for otad_stop, also on
 * failure.  Returns 0 or an OTA_E* code.
 */
static int
otad_start(struct app *app, struct http_server **out_srv,
    struct rollout_timer **out_timer)
{
	int rc;

	rc = app_open(app);
	/* MQTT ingest and hints, when a broker is configured, before the
	 * threads that read app->mqtt and app->hints; a broker that is down
	 * does not stop otad (mqtt.c keeps trying). */
	if (rc == 0 && app->cfg.mqtt_host[0] != '\0' &&
	    (app->mqtt = mqtt_start(&app->cfg, app->telemetry)) == NULL)
		rc = OTA_ECONFIG;
	if (rc == 0 && app->mqtt != NULL &&
	    (app->hints = hints_start(
	         app->store, app->mqtt, app->cfg.mqtt_hints_per_sec)) == NULL)
		rc = OTA_EIO;
	rollout_service_set_moved_hook(
	    app->rollouts, hints_rollout_moved, app->hints);
	if (rc == 0) {
		*out_srv = http_server_start(app, http_api_routes);
		if (*out_srv == NULL)
			rc = OTA_EIO;
	}
	if (rc == 0 &&
	    (*out_timer = rollout_timer_start(app->rollouts)) == NULL)
		rc = OTA_EIO;
	if (rc == 0)
		rc = port_file_write(app, *out_srv);
	return rc;
}

/*
 * Stops what otad_start started, in this order: the rollout timer, the
 * listeners (requests in flight get up to timeout_sec), hints and MQTT
 * (before the telemetry writer stops in app_close: every event received
 * is then queued, and the writer drains the queue), the port file when
 * otad served (served: 1), then app_close.  NULL-safe for what never
 * started.
 */
static void
otad_stop(struct app *app, struct http_server *srv, struct rollout_timer *timer,
    int timeout_sec, int served)
{
	rollout_timer_stop(timer);
	http_server_stop(srv, timeout_sec);
	rollout_service_set_moved_hook(app->rollouts, NULL, NULL);
	hints_stop(app->hints);
	mqtt_stop(app->mqtt);
	if (served && app->cfg.port_file[0] != '\0')
		unlink(app->cfg.port_file);
	app_close(app);
}

int
main(int argc, char **argv)
{
	struct app app;
	struct http_server *srv = NULL;
	struct rollout_timer *timer = NULL;
	const char *config_path = getenv("OTAD_CONFIG");
	sigset_t set;
	int check_only = 0, sig = 0, rc;

	memset(&app, 0, sizeof(app));
	app.data_dir_lock_fd = -1;
	rc = args_parse(argc, argv, &config_path, &check_only);
	if (rc >= 0)
		return rc;
	rc = process_setup(&app, config_path, check_only);
	if (rc >= 0)
		return rc;
	signals_block(&set);
	log_info("msg=\"otad starting\" version=%s data_dir=%s", OTAD_VERSION,
	    app.cfg.data_dir);
	rc = otad_start(&app, &srv, &timer);
	if (rc != 0) {
		log_err(
		    "msg=\"otad cannot start\" error=\"%s\"", ota_strerror(rc));
		otad_stop(&app, srv, timer, 0, 0);
		return 1;
	}
	log_info("msg=\"otad ready\"");
	while (sigwait(&set, &sig) != 0)
		;
	log_info("msg=\"shutting down\" signal=%d", sig);
	otad_stop(&app, srv, timer, app.cfg.shutdown_timeout_sec, 1);
	log_info("msg=\"otad stopped\"");
	return 0;
}
