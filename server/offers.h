/*
 * offers: the in-memory snapshot of running rollouts and the facts of
 * their images that the manifest path needs, so a poll decides its offer
 * without reading rollouts or images from the database.  A snapshot is
 * immutable and reference-counted: readers share it without blocking one
 * another, and a reload (when the rollouts generation moves, or every
 * OFFERS_MAX_AGE_SEC as a safety net) swaps in a new one.
 */
#ifndef OTAD_OFFERS_H
#define OTAD_OFFERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bundles.h"
#include "descriptor.h"
#include "manifest.h"
#include "rollout.h"
#include "selector.h"
#include "semver_range.h"
#include "store.h"

#define OFFERS_MAX_AGE_SEC 5
/* Running rollouts with a selector a snapshot matches labels for (bits of
 * a uint32_t); one past them targets no device. */
#define OFFERS_SELECTORS_MAX 32

/* An image as a manifest shows it. */
struct offer_image {
	int64_t id;
	char name[DESCRIPTOR_NAME_MAX + 1];
	char version[SEMVER_MAX_LEN + 1];
	char min_version[SEMVER_MAX_LEN + 1]; /* "" when none */
	char hardware[DESCRIPTOR_HW_MAX][DESCRIPTOR_HW_LEN_MAX + 1];
	const char *hardware_ptrs[DESCRIPTOR_HW_MAX]; /* into hardware */
	size_t hardware_count;
	uint64_t size;
	char sha256_hex[65];
	char sha1_hex[41]; /* "" for an old image not yet backfilled */
	char md5_hex[33];
	char filename[DESCRIPTOR_FILENAME_MAX + 1]; /* ddi_artifact_filename */
	char *descriptor_b64; /* base64 of the exact signed bytes */
	json_t *signatures;   /* as uploaded; never modified once shared */
	unsigned char digest[MANIFEST_DIGEST_BYTES]; /* manifest_image_digest */
};

/* A release bundle as a manifest shows it, with its parts' images. */
struct offer_bundle {
	int64_t id;
	struct bundle_descriptor desc;              /* parts in install order */
	struct offer_image parts[BUNDLE_PARTS_MAX]; /* of desc.parts[i] */
	char *descriptor_b64; /* base64 of the bundle's exact signed bytes */
	json_t *signatures;   /* as uploaded; never modified once shared */
	/* Its manifest's fixed text for the rollout (manifest_bundle_render),
	 * or NULL (then manifest_bundle_build). */
	struct manifest_bundle_text *text;
};

/* A running rollout and the ids of its target groups (ascending). */
struct offer_rollout {
	int64_t id;
	unsigned char salt[ROLLOUT_SALT_BYTES];
	uint16_t stage_bp;
	int stage_index; /* the stage of stage_bp (offers recorded by seen) */
	int64_t *group_ids;
	size_t group_count;
	struct semver_range from; /* installed versions targeted (n 0: all) */
	struct selector sel;      /* labels targeted (n 0: every device) */
	int sel_bit; /* sel's bit in offers_label_bits, -1: none (sel.n 0);
	              * OFFERS_SELECTORS_MAX: past the bound, matches nobody */
	struct offer_image image;    /* unset for a bundle's rollout */
	struct offer_bundle *bundle; /* NULL: an image's rollout */
};

struct offers_snapshot {
	atomic_int refs;
	uint64_t gen;      /* rollouts generation it was loaded at */
	int64_t loaded_at; /* CLOCK_MONOTONIC seconds */
	struct offer_rollout *rollouts;
	size_t count;
	size_t bundle_count; /* rollouts of a bundle among them */
	/* Names the selectors of the rollouts and their bits (0: none): a
	 * hash of each one's rollout id, bit and canonical text. */
	uint64_t sel_stamp;
};

struct offers;

/*
 * Creates the cache and loads a first snapshot through st, reading *gen
 * (the rollouts generation, bumped after every committed rollout change)
 * before each load.  Returns NULL (logged) on failure.
 */
struct offers *offers_new(struct store *st, atomic_uint_fast64_t *gen);

/* Frees the cache; every snapshot must have been released.  NULL-safe. */
void offers_free(struct offers *o);

/*
 * Returns the current snapshot (a counted reference: give it back with
 * offers_release), first reloading it through c when the generation moved
 * or it is older than OFFERS_MAX_AGE_SEC.  Only one thread reloads at a
 * time; the others keep using the previous snapshot meanwhile.  A failed
 * reload is logged and the previous snapshot served.  c is the caller's
 * borrowed connection (used only to reload).  Never NULL.  Thread-safe.
 */
const struct offers_snapshot *offers_acquire(
    struct offers *o, struct store_conn *c);
void offers_release(struct offers *o, const struct offers_snapshot *s);

/*
 * Builds a snapshot from rollouts rows and their images (each rows[i]
 * running, its image images[i] non-NULL).  Used by the reload and by
 * tests.  Returns 0 and a new snapshot with one reference, or
 * OTA_ENOMEM / OTA_EINVAL (an image's signatures are not JSON).
 */
struct store_rollout;
struct store_image;
int offers_snapshot_build(const struct store_rollout *rows,
    struct store_image *const *images, size_t n, struct offers_snapshot **out);

/* Drops a reference to a snapshot made by offers_snapshot_build. */
void offers_snapshot_unref(struct offers_snapshot *s);

/*
 * The offer for a device, by rollout_pick_offer over the snapshot: the
 * device's group ids (ascending, as store_device_facts gives them) decide
 * in_group; hardware and version are the ones the device reports (version
 * valid SemVer).  Returns 0 with *out borrowed from s, OTA_ENOTFOUND when
 * nothing is offered, OTA_EINVAL for a bad argument, OTA_ENOMEM.  Pure.
 */
int offers_pick(const struct offers_snapshot *s, const char *device_id,
    const char *hardware, const char *version, const int64_t *group_ids,
    size_t group_count, const struct offer_rollout **out);

/*
 * The bitmap of s's selectors (bit sel_bit of each rollout with one) that
 * the flat labels (store_labels' form, len bytes) match.  Pure.
 */
uint32_t offers_label_bits(
    const struct offers_snapshot *s, const char *flat, size_t len);

/* offers_label_bits in the shape of devcache_match's bits (arg: s). */
uint32_t offers_label_bits_cb(const void *arg, const char *flat, size_t len);

/*
 * offers_pick_except where a rollout with a selector targets the device
 * only when its bit is set in label_bits (offers_label_bits of the
 * device's labels): groups AND selector AND from-version.  The two
 * functions above and below pass label_bits 0 (a rollout with a selector
 * targets nobody).  Same returns.  Pure.
 */
int offers_pick_labels(const struct offers_snapshot *s, const char *device_id,
    const char *hardware, const char *version, const int64_t *group_ids,
    size_t group_count, uint32_t label_bits, const int64_t *except,
    size_t except_n, const struct offer_rollout **out);

/* 0 when rollout_id is one of s's rollouts with a selector whose bit is
 * not in label_bits, else 1 (its groups alone decide).  Pure. */
int offers_selected(
    const struct offers_snapshot *s, int64_t rollout_id, uint32_t label_bits);

/*
 * offers_pick over the snapshot's rollouts whose id is not among
 * except[0..except_n) (any order; except may be NULL when except_n is 0):
 * the best offer that remains wins, as if the excepted rollouts were not
 * running.  Rollouts of a bundle are never picked here (offers_bundles).  DDI
 * uses it to skip rollouts a device already finished.  Same returns as
 * offers_pick (OTA_ENOTFOUND when every candidate is excepted). Pure.
 */
int offers_pick_except(const struct offers_snapshot *s, const char *device_id,
    const char *hardware, const char *version, const int64_t *group_ids,
    size_t group_count, const int64_t *except, size_t except_n,
    const struct offer_rollout **out);

/*
 * The running rollouts of a bundle that target a device: it is in one of
 * their groups (group_ids ascending), its labels match their selector (its
 * bit in label_bits, as for offers_pick_labels), its installed version
 * matches their from_version and its bucket is inside their current stage.
 * Writes at most max pointers (borrowed from s), newest rollout first, to out
 * and returns how many.  Pure.
 */
size_t offers_bundles(const struct offers_snapshot *s, const char *device_id,
    const char *version, const int64_t *group_ids, size_t group_count,
    uint32_t label_bits, const struct offer_rollout **out, size_t max);

/*
 * bundle_plan for the bundle of rollout r and a device with components
 * comps[0..n) (versions as last known or just reported).  Pure.
 */
void offers_bundle_plan(const struct offer_rollout *r,
    const struct component *comps, size_t n, struct bundle_plan *out);

#endif
