/*
 * ddi_service: the decisions and transactions of the hawkBit DDI device
 * API: the poll (the device's actions and the offer, creating the offered
 * action or marking one canceling), the reads of one action or artifact,
 * feedback (telemetry event, then the action's row) and configData (read,
 * merge, write in one transaction).  Inputs arrive parsed and checked
 * (ddi.c); answers are OTA_E* codes and typed results: HTTP is the
 * handler's (http_api_ddi.c).
 */
#ifndef OTAD_DDI_SERVICE_H
#define OTAD_DDI_SERVICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bundles.h"
#include "ddi.h"
#include "descriptor.h"
#include "semver.h"

struct store;
struct store_image;
struct offers;
struct seen;
struct telemetry;
struct devcache;
struct ddi_service;

/*
 * Creates the service over its collaborators (borrowed: they must outlive
 * it): the store, the offer snapshot cache, the poll-report buffer and
 * the telemetry writer (feedback events).  attr_hardware and attr_version
 * are the configData names of the device's hardware revision and
 * installed version (copied; NULL or "" reads none).  Returns NULL
 * (logged) when out of memory.
 */
struct ddi_service *ddi_service_new(struct store *st, struct offers *offers,
    struct seen *seen, struct telemetry *telemetry, const char *attr_hardware,
    const char *attr_version);

/* The DDI poll cache's counters into *out (zero without a cache).
 * NULL-safe (s); thread-safe. */
struct ddicache_stats;
void ddi_service_cache_stats(struct ddi_service *s, struct ddicache_stats *out);

/* Frees the service (not its collaborators).  NULL-safe. */
void ddi_service_free(struct ddi_service *s);

/*
 * Makes polls read the device's facts through devices (borrowed, may be
 * NULL: from the database), and keep their DDI facts (actions, configData
 * wanted, installed action) in a cache of at most max_entries devices
 * that forgets a device with devices (its listener) and everything when
 * *rollouts_gen (borrowed: the rollouts generation) moves.  Without
 * devices nothing is cached.  Call once, before the first poll.  Returns
 * 0 or OTA_ENOMEM (logged).
 */
int ddi_service_set_devices(struct ddi_service *s, struct devcache *devices,
    atomic_uint_fast64_t *rollouts_gen, size_t max_entries);

struct compcache;

/* Makes polls of devices a bundle rollout may serve read their components
 * through components (borrowed, NULL: from the database every time), the
 * cache the REST manifest reads too (compcache_read).  Call once, before
 * the first poll. */
void ddi_service_set_components(
    struct ddi_service *s, struct compcache *components);

/* The image a deployment shows, copied out of the offer snapshot (while
 * its rollout runs) or of its row. */
struct ddi_service_image {
	/* The part of a bundle's deployment ("" for an image's): its
	 * chunk's "part". */
	char component[COMPONENT_NAME_MAX + 1];
	int64_t id;
	char name[DESCRIPTOR_NAME_MAX + 1];
	char version[SEMVER_MAX_LEN + 1];
	char filename[DESCRIPTOR_FILENAME_MAX + 1]; /* ddi_artifact_filename */
	uint64_t size;
	char sha1_hex[41]; /* "" when not computed yet */
	char md5_hex[33];
	char sha256_hex[65];
};

/* What a poll answers. */
struct ddi_service_poll {
	enum ddi_poll_kind kind;
	int64_t action_id;              /* of a deployment or a cancel */
	int attributes_wanted;          /* ask for configData */
	int64_t installed_action_id;    /* latest closed + success, 0 none */
	struct ddi_service_image image; /* of a deployment of an image */
	struct ddi_modes modes;         /* of a deployment (ddi_modes_of) */
	/* Of a deployment of a bundle: its parts to install, in install
	 * order (part_count 0 for an image's: image). */
	struct ddi_service_image parts[BUNDLE_PARTS_MAX];
	size_t part_count;
};

/*
 * The poll of device_id at now (unix seconds): reads the device's facts
 * and actions in one read transaction, picks the offer (none without a
 * known version, or when the device reported another hardware than its
 * provisioned one), decides by ddi_poll_decide and makes the one write it
 * may need (create the offered action, or mark one canceling; a row
 * changed meanwhile leaves the answer without an action link), then
 * notes the poll report (seen) with the offer the device is answered.  A
 * deployment whose image is gone answers no action.  A running rollout
 * whose maintenance windows are closed for the device is not offered when
 * it says nothing outside them (outside_window silent): no new action,
 * an open one is left waiting; otherwise its deployment's modes say
 * "skip" and "unavailable" (docs/ddi.md).  Returns 0 and *out,
 * OTA_ENOTFOUND (no such device) or OTA_EDB / OTA_ENOMEM.  Thread-safe.
 */
int ddi_service_poll(struct ddi_service *s, const char *device_id, int64_t now,
    struct ddi_service_poll *out);

/*
 * Action action_id of device_id as view shows it (ddi_view_shows), with
 * its image (*out_img a new image, store_image_free; NULL for
 * DDI_VIEW_CANCEL) and, for a deployment, its modes at now (those of its
 * rollout's action type and the device's maintenance windows while the
 * rollout runs; forced and available otherwise).  Returns 0,
 * OTA_ENOTFOUND (no such action of this device, not in the view's state,
 * or its image is gone) or OTA_EDB.  Thread-safe.
 */
int ddi_service_action(struct ddi_service *s, const char *device_id,
    int64_t action_id, enum ddi_view view, int64_t now,
    struct store_image **out_img, struct ddi_modes *out_modes);

/* What a deployment (or installed) view of an action shows: one chunk
 * per image, part "" for an image rollout's one. */
struct ddi_service_deployment {
	size_t n;
	struct store_image *img[BUNDLE_PARTS_MAX];
	char part[BUNDLE_PARTS_MAX][COMPONENT_NAME_MAX + 1];
	struct ddi_modes modes; /* as ddi_service_action's out_modes */
};

/*
 * Action action_id of device_id as view (DDI_VIEW_DEPLOYMENT or
 * DDI_VIEW_INSTALLED) shows it: for an image rollout's action its image;
 * for a bundle rollout's, the image of each part the action deploys, in
 * install order; and for a deployment its modes at now, as
 * ddi_service_action's.  *out is cleared first; free its images with
 * ddi_service_deployment_clear.  Returns 0, OTA_ENOTFOUND (as
 * ddi_service_action; also a bundle or part gone) or OTA_EDB.
 * Thread-safe.
 */
int ddi_service_deployment(struct ddi_service *s, const char *device_id,
    int64_t action_id, enum ddi_view view, int64_t now,
    struct ddi_service_deployment *out);
void ddi_service_deployment_clear(struct ddi_service_deployment *d);

/*
 * Image image_id when device_id may fetch it (one of its rollouts'
 * images): *out_img a new image (store_image_free).  Returns 0,
 * OTA_ENOTFOUND or OTA_EDB.  Thread-safe.
 */
int ddi_service_artifact(struct ddi_service *s, const char *device_id,
    int64_t image_id, struct store_image **out_img);

/*
 * Records a parsed feedback on action action_id of device_id (is_cancel:
 * to cancelAction, else deploymentBase) by ddi_feedback_apply: the
 * telemetry event first (for a bundle rollout's action, one event per
 * part it deploys, naming the component: DDI feedback is per action, so
 * a failure fails every part and the first names the device's failure), waiting
 * for its commit (a rejected event is logged), then the action's row, read
 * again and recomputed when it changed meanwhile (a few times).  A crash in
 * between is repaired by the client's retry: the event dedupes by id.  Returns
 * 0, OTA_ENOTFOUND (no such action of this device), OTA_EINVAL (a feedback the
 * rules do not know), OTA_ECONFLICT (changed every time) or another OTA_E*
 * code. Thread-safe (blocks on the telemetry commit).
 */
/*
 * Records a confirmation answer cf (ddi_confirmation_parse) on action
 * action_id of device_id: the telemetry event accepted or declined
 * (transport ddi, the rollout's version, an id made of the action, cf's
 * digest and the second: a request retried within it is one event; a
 * later one another, harmless to the merge), waiting for its commit,
 * then its ddi_feedback row (kind confirmation).  The action's status
 * does not change: an accepted device's next poll shows deploymentBase,
 * a declined one is told nothing until the rollout's consent_retry.
 * Returns 0, OTA_ENOTFOUND (no such action of this device),
 * OTA_ECONFLICT (the action is final: closed or canceled) or another
 * OTA_E* code.  Thread-safe (blocks on the telemetry commit).
 */
int ddi_service_confirm(struct ddi_service *s, const char *device_id,
    int64_t action_id, const struct ddi_confirmation *cf);

int ddi_service_feedback(struct ddi_service *s, const char *device_id,
    int64_t action_id, int is_cancel, const struct ddi_feedback *fb);

/*
 * A configData for the group commit (ddi_service_config_submit): the
 * caller's memory, which the service uses until it calls done.
 */
struct ddi_service_config_job {
	const char *device_id;        /* borrowed until done */
	const struct ddi_config *cfg; /* borrowed until done */
	char *err;                    /* a one-line reason on OTA_EINVAL */
	size_t errlen;
	/* Called once on the writer thread, rc set, after the commit: the
	 * service's last touch of the job. */
	void (*done)(struct ddi_service_config_job *j);
	void *arg; /* the caller's */
	int rc;    /* as ddi_service_config_data's */
	/* The service's. */
	char hw[DESCRIPTOR_HW_LEN_MAX + 1];
	char ver[SEMVER_MAX_LEN + 1];
	struct ddi_service_config_job *next;
};

/*
 * Queues j (device_id, cfg, err, errlen, done and arg set) for the group
 * commit and returns at once: the writer thread records it as
 * ddi_service_config_data says, in one transaction with the others
 * waiting, and calls j->done once committed (or failed).  Returns 0
 * (done will be called), or OTA_EIO when the service is stopping (done
 * will not be).  Thread-safe; never blocks on the database.
 */
int ddi_service_config_submit(
    struct ddi_service *s, struct ddi_service_config_job *j);

/*
 * Records a parsed configData of device_id: in one write transaction
 * reads its stored attributes (unreadable ones are logged and replaced),
 * merges (ddi_config_merge), reads the hardware revision and version from
 * the result (ddi_attrs_device_facts) and writes them, and the versions of
 * its components ("<component>.version", ddi_attrs_components) with the
 * coordinated rollbacks they show (store_telemetry_bundle_reverts); after the
 * commit a version reported is noted as a poll report (seen), so a device that
 * boots its old firmware again is judged reverted as after a poll.
 * Concurrent calls share one transaction (group commit: one commit for
 * all; the caller waits for the commit that holds its configData, and
 * a failure of one never fails another).
 * Returns 0, OTA_EINVAL with a one-line reason in err (the merge or the
 * facts refused), OTA_ENOTFOUND (no such device) or another OTA_E* code;
 * nothing is written on failure.  Thread-safe; blocks until committed
 * (ddi_service_config_submit's job, waited for).
 */
int ddi_service_config_data(struct ddi_service *s, const char *device_id,
    const struct ddi_config *cfg, char *err, size_t errlen);

#endif
