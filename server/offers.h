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
#include "mwindow.h"
#include "rollout.h"
#include "selector.h"
#include "semver_range.h"
#include "store.h"
#include "store_telemetry.h"

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

/* A rollout's rate limit as polls use it (offers_rate_take): the only
 * mutable part of a snapshot, carried over to the next one at a reload
 * (offers of polls still holding the old one meanwhile are not counted
 * there: a reload every OFFERS_MAX_AGE_SEC lets a few more through). */
struct offers_rate {
	atomic_int_fast64_t tat_us;    /* rollout_rate_admit's state */
	atomic_uint_fast64_t admitted; /* new offers let through */
	atomic_uint_fast64_t limited;  /* polls told nothing for it */
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
	/* An image rollout's manifest fixed text (manifest_render), or NULL
	 * (then manifest_build). */
	struct manifest_text *text;
	/* When and how hard (docs/rollouts.md).  windows NULL: always
	 * open; else its spans over the snapshot's cover (a stored text that
	 * no longer parses: no span, never open). */
	enum rollout_outside outside;
	enum rollout_action_type action_type;
	int64_t forced_at; /* unix seconds; time-forced only */
	struct mwindow_set *windows;
	struct mwindow_span *spans;
	size_t nspans;
	/* its retries (max_retries, retry_backoff) and the rest of the
	 * stuck-device policy, its rate control */
	struct rollout_stuck_policy stuck;
	int64_t stage_started_sec; /* unix s, what the rate ramp counts from */
	struct offers_rate *rate;  /* owned by the snapshot entry */
};

/* A group with maintenance windows, and their spans. */
struct offer_group_windows {
	int64_t group_id;
	struct mwindow_set set;
	struct mwindow_span *spans;
	size_t nspans;
};

struct offers_snapshot {
	atomic_int refs;
	uint64_t gen;      /* rollouts generation it was loaded at */
	int64_t loaded_at; /* CLOCK_MONOTONIC seconds */
	struct offer_rollout *rollouts;
	size_t count;
	size_t bundle_count;    /* rollouts of a bundle among them */
	size_t groupless_count; /* rollouts without groups (a selector's) */
	/* Names the selectors of the rollouts and their bits (0: none): a
	 * hash of each one's rollout id, bit and canonical text. */
	uint64_t sel_stamp;
	/* The groups with windows, by id, and the wall-clock seconds
	 * [cover_from, cover_to) their spans and the rollouts' answer for:
	 * outside it they are computed again for the call. */
	struct offer_group_windows *gwin;
	size_t gwin_count;
	int64_t cover_from, cover_to;
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

/* What a device is told about installing an offered update now. */
struct offers_when {
	enum rollout_action_type action; /* at now: never time-forced */
	int window_open;     /* 1: inside every window that applies */
	int64_t window_next; /* when that changes, 0: not within two weeks
	                      * (or never: no window applies) */
	int64_t forced_at;   /* a time-forced rollout's deadline, else 0 */
};

/*
 * The answer for rollout r (of s) to a device in groups group_ids
 * (ascending) at now (unix seconds): the action type at now
 * (rollout_action_at) and the maintenance windows: the rollout's own and
 * those of each of the device's groups that has some, all of which must
 * be open (their intersection).  Answered from the snapshot's spans; at an
 * instant outside their cover (the clock moved), computed again, with
 * ICU.  Returns 0, or OTA_ENOMEM / OTA_ETOOBIG with *out open (a window
 * never blocks an update because of a failure: it is logged).
 */
int offers_when(const struct offers_snapshot *s, const struct offer_rollout *r,
    const int64_t *group_ids, size_t group_count, int64_t now,
    struct offers_when *out);

/*
 * Computes the spans of every rollout of s with windows and of groups
 * gw[0..n) (taken: s frees them) for the cover around now.  Called by
 * the reload; tests call it after offers_snapshot_build (what an earlier
 * call set is freed first).  Returns 0 or OTA_ENOMEM.
 */
int offers_snapshot_windows(struct offers_snapshot *s,
    struct offer_group_windows *gw, size_t n, int64_t now);

/* The running rollout id of s (an image's or a bundle's), or NULL.  A
 * walk of the few running rollouts: for a poll's marks, a deployment, a
 * health answer.  Pure. */
const struct offer_rollout *offers_rollout(
    const struct offers_snapshot *s, int64_t id);

/*
 * The retries and declines of a poll: for each of a device's update marks
 * marks[0..n) (store_telemetry_device_marks) that is failed or timed_out
 * whose rollout is in s, rollout_retry_decide under that rollout's policy
 * at now; for each that is declined, rollout_consent_decide.  The
 * rollouts the device must not be offered this poll (within the backoff,
 * retries exhausted, declined and not to be asked again yet) go to
 * except[0..max) (the return value: how many), for offers_pick_labels
 * and offers_except_bundles; a rollout whose retry is due is not
 * excepted: offered, it is a retry (offers_retry_of).  Pure.
 */
size_t offers_retry_except(const struct offers_snapshot *s,
    const struct store_update_mark *marks, size_t n, int64_t now,
    int64_t *except, size_t max);

/* The retries marks[0..n) record for rollout_id (the retry an offer of it
 * is: seen_note_retry), or -1 when it has no mark (a first offer).
 * Pure. */
int offers_retry_of(
    const struct store_update_mark *marks, size_t n, int64_t rollout_id);

/*
 * Takes one new offer of rollout r at now_us (wall clock, microseconds)
 * from its rate limit: rollout_rate_per_minute of its policy after its
 * stage ran since stage_started_sec, then rollout_rate_admit on its
 * bucket (atomically).  Returns 1 (admitted, or no limit) or 0 (denied:
 * counted in r->rate->limited).  Thread-safe, lock-free.
 */
int offers_rate_take(const struct offer_rollout *r, int64_t now_us);

/* The current rate (per minute, 0: no limit) of r at now (unix s). */
uint32_t offers_rate_now(const struct offer_rollout *r, int64_t now);

/* The consent of an offer of rollout r to a device of update marks
 * marks[0..n) at now: rollout_consent_decide over r's policy and the
 * device's mark of r (none: no answer yet).  Pure. */
enum rollout_consent offers_consent(const struct offer_rollout *r,
    const struct store_update_mark *marks, size_t n, int64_t now);

/* 1 when marks[0..n) hold an update of rollout_id that did not end
 * badly (offered, started, progress, accepted, declined): an offer of it
 * is not a new one and not a retry.  Pure. */
int offers_in_flight(
    const struct store_update_mark *marks, size_t n, int64_t rollout_id);

/* What a poll answered with an offer of rollout r (NULL: none) gives the
 * report buffer (seen_note_retry): the rollout, stage and retry (-1: a
 * first offer) to record, or rollout_id 0 and stage_index -1 when there
 * is nothing to record: no offer, or the device's update in r is in
 * flight (offers_in_flight: its row exists; a last-seen refresh then
 * writes no offer).  Pure. */
struct offers_note {
	int64_t rollout_id;
	int stage_index;
	int retry;
};
void offers_note_of(const struct offer_rollout *r,
    const struct store_update_mark *marks, size_t n, struct offers_note *out);

/* Drops from out[0..n) (offers_bundles') the rollouts among
 * except[0..except_n), keeping the order; returns how many remain.
 * Pure. */
size_t offers_except_bundles(const struct offer_rollout **out, size_t n,
    const int64_t *except, size_t except_n);

/*
 * bundle_plan for the bundle of rollout r and a device with components
 * comps[0..n) (versions as last known or just reported).  Pure.
 */
void offers_bundle_plan(const struct offer_rollout *r,
    const struct component *comps, size_t n, struct bundle_plan *out);

#endif
