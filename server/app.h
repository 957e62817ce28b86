/*
 * app: the one context of a running otad, built by main and passed
 * explicitly to every handler (no mutable globals).  Everything in it is
 * created before the HTTP server starts and is read-only while it runs,
 * except through the modules' own thread-safe functions.
 */
#ifndef OTAD_APP_H
#define OTAD_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sodium.h>

#include "config.h"

struct store;
struct blob_store;
struct crypto_keyring;
struct images;
struct metrics;
struct mqtt;
struct hints;
struct telemetry;
struct offers;
struct seen;
struct sigcache;
struct ddi_service;
struct rollout_service;
struct cluster;
struct compcache;
struct devcache;
struct fleet;

struct app {
	struct ota_config cfg;
	/* The lock on <data_dir>/otad.lock (fsutil_lock_file), held for the
	 * process's life so that a second otad on the same data directory
	 * stops before it touches anything; -1 before it is taken. */
	int data_dir_lock_fd;
	struct store *store;
	struct blob_store *blobs;
	struct crypto_keyring *keyring;
	unsigned char *server_sk; /* sodium_malloc'd, manifest signing */
	unsigned char server_pk[crypto_sign_PUBLICKEYBYTES];
	char server_key_id[17]; /* crypto_key_fingerprint of server_pk */
	/* The images service (images.c): uploads, deletes, blob upkeep. */
	struct images *images;
	/* The rollout service (rollout_service.c): actions, the automatic
	 * pause and advance, health, and the rollouts generation the offer
	 * cache reloads on. */
	struct rollout_service *rollouts;
	/* Manifests (http_api_manifest.c): the snapshot of running rollouts,
	 * the buffer of poll reports, the cache of manifest signatures, and
	 * the key of download-URL tokens (sodium_malloc'd, derived from
	 * server_sk by main). */
	struct offers *offers;
	struct seen *seen;
	struct sigcache *sigcache;
	unsigned char *url_key;
	/* Telemetry: the event writer (telemetry.c), the MQTT
	 * client (mqtt.c; NULL when no broker is configured) and the
	 * counters of /metrics (metrics.c). */
	struct telemetry *telemetry;
	struct mqtt *mqtt;
	struct metrics *metrics;
	/* The update hints of rollout moves (hints.c; NULL without MQTT). */
	struct hints *hints;
	/* The hawkBit DDI device API's rules (ddi_service.c). */
	struct ddi_service *ddi;
	/* The listener of the other nodes' rollout changes (cluster.c;
	 * NULL when the database is this process's alone). */
	struct cluster *cluster;
	/* Device credentials and poll facts in memory (devcache.c; NULL
	 * when the config's device_cache is 0). */
	struct devcache *devices;
	/* Devices' components in memory for the bundle offers of polls
	 * (compcache.c; NULL without the device cache, whose listener it
	 * is). */
	struct compcache *components;
	/* The dashboard's fleet summary (fleet.c). */
	struct fleet *fleet;
};

#endif
