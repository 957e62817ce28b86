/*
 * rollout_service: the one home of a rollout's rules that touch the store:
 * create, the actions as rollout_decide decides them, the automatic pause,
 * the timed advance and the health answer.  After each committed change it
 * moves the rollouts generation (the offer cache reloads on it), logs it
 * and tells the moved hook (the MQTT update hints).  It never speaks HTTP.
 */
#ifndef OTAD_ROLLOUT_SERVICE_H
#define OTAD_ROLLOUT_SERVICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rollout.h"
#include "rollout_patch.h"
#include "store.h"
#include "store_rollouts.h"
#include "store_telemetry.h"

struct rollout_service;

/*
 * Told, after a committed start or advance that leaves a rollout
 * running, that its stage went from from_bp to to_bp basis points
 * (from_bp 0 for a start): the devices it takes in may update now
 * (hints_rollout_moved).  Runs on the acting thread: it must only queue.
 */
typedef void (*rollout_service_moved_fn)(
    void *arg, int64_t rollout_id, uint16_t from_bp, uint16_t to_bp);

/*
 * Creates the service over st (borrowed: it must outlive the service),
 * without a moved hook.  The generation and the automatic-pause count
 * start at 0.  Returns NULL (logged) when out of memory.
 */
struct rollout_service *rollout_service_new(struct store *st);

/*
 * Sets (fn non-NULL) or clears the moved hook, called with arg.  For a
 * hook that starts after the service (the MQTT hints): call it before any
 * thread may start or advance a rollout, and clear it before arg goes.
 * NULL-safe for s.
 */
void rollout_service_set_moved_hook(
    struct rollout_service *s, rollout_service_moved_fn fn, void *arg);

/* Frees s.  NULL-safe.  No call of s may run any more. */
void rollout_service_free(struct rollout_service *s);

/*
 * The rollouts generation: bumped after every committed change to a
 * rollout (create, action, automatic advance or pause).  Thread-safe.
 */
uint64_t rollout_service_generation(const struct rollout_service *s);

/*
 * The same counter, for a reader that polls it without knowing the
 * service (offers_new).  Borrowed for s's life.
 */
atomic_uint_fast64_t *rollout_service_generation_counter(
    struct rollout_service *s);

/* Rollouts paused automatically since s was created.  Thread-safe. */
uint64_t rollout_service_auto_pauses(const struct rollout_service *s);

/* Rollouts aborted automatically (breach_action abort), and updates marked
 * timed_out by rollout_service_time_out, since s was created.
 * Thread-safe. */
uint64_t rollout_service_auto_aborts(const struct rollout_service *s);
uint64_t rollout_service_timed_out(const struct rollout_service *s);

/*
 * Creates a draft rollout from req, validated by the caller
 * (rollout_stages_parse, rollout_policy_check; req->salt is ignored: the
 * service draws a random one), with its "create" event.  Returns 0 and
 * *out_id; OTA_ENOTFOUND when the image or a group does not exist
 * (missing, which may be NULL, is then "" for the image or the first
 * unknown group's name); OTA_EINVAL; OTA_EDB.  Thread-safe; uses a store
 * connection of its own.
 */
int rollout_service_create(struct rollout_service *s,
    const struct store_rollout_new *req, int64_t *out_id,
    char missing[STORE_GROUP_NAME_MAX + 1]);

/*
 * Applies action a to rollout id for actor (a token name, at most 64
 * bytes) in one write transaction: reads the row, has rollout_decide
 * decide (expect_stage as there; -1: any stage) and writes the decided
 * row (store_rollout_update) with its audit event, recording reason
 * (NULL: "") on pause and abort and in the event.  On success *out holds
 * the new row, the generation moves, the change is logged and, when a
 * start or an advance leaves it running, the moved hook is told.  On
 * OTA_ECONFLICT *out holds the rollout as it stood when refused; on
 * other errors out->id is 0.  out may be NULL.  Returns 0,
 * OTA_ENOTFOUND, OTA_ECONFLICT, OTA_EINVAL (actor or reason out of
 * bounds, bad action), OTA_ENOMEM or OTA_EDB.  Thread-safe.
 */
int rollout_service_act(struct rollout_service *s, int64_t id,
    enum rollout_action a, int expect_stage, const char *actor,
    const char *reason, struct store_rollout *out);

/*
 * Edits rollout id's policy by patch p for actor (a token name, at most 64
 * bytes) in one write transaction: only a draft or paused rollout
 * (rollout_patch_allowed); the merged policy is judged whole
 * (rollout_patch_apply).  When it changes something the row and its
 * "update" audit event (the changes as its reason) are written, the
 * generation moves and the change is logged; a patch that changes nothing
 * writes nothing.  On success *out holds the row as it now is; on
 * OTA_ECONFLICT (not draft or paused) the row as it stood; otherwise
 * out->id is 0.  err (errlen > 0) says why on OTA_EINVAL for the patch.
 * Returns 0, OTA_ENOTFOUND, OTA_ECONFLICT, OTA_EINVAL (bad actor or
 * patch) or OTA_EDB.  Thread-safe.
 */
/*
 * Sets the maintenance windows of group `group` (docs/rollouts.md: every
 * rollout honours them for its members) from the text windows
 * (mwindow_parse; "" removes them), written in its canonical form, which
 * out_text (MWINDOW_TEXT_MAX bytes) gets; the generation moves so that
 * the offers reload.  Returns 0, OTA_EINVAL with the reason in err,
 * OTA_ENOTFOUND (no such group) or OTA_EDB.
 */
int rollout_service_group_windows(struct rollout_service *s, const char *group,
    const char *windows, const char *actor, char *out_text, char *err,
    size_t errlen);

int rollout_service_patch(struct rollout_service *s, int64_t id,
    const struct rollout_patch *p, const char *actor, struct store_rollout *out,
    char *err, size_t errlen);

/*
 * The automatic pause of one rollout: when id is running and its gate
 * (rollout_gate_judge) is breached over all its device_updates, pauses it
 * (actor "otad", the reason with the figures), moving the generation and the
 * auto-pause count.  *out_finished (may be NULL) gets its finished count
 * when it was read.  Returns 1 when paused, 0 when not (not running,
 * healthy, gone, or changed meanwhile) or an OTA_E* code (logged when the
 * pause itself failed; OTA_EINVAL for s NULL).  Thread-safe.
 */
int rollout_service_check_health(
    struct rollout_service *s, int64_t id, uint64_t *out_finished);

/*
 * rollout_service_check_health for each of ids[0..n); ids NULL: every
 * running rollout.  Called by the telemetry writer after each commit and,
 * through rollout_service_touched, by seen's flush after silent reverts.
 * Returns the number paused (>= 0) or the first OTA_E* error (the others
 * are still checked); OTA_EINVAL for s NULL.  Thread-safe.
 */
int rollout_service_check_rollouts(
    struct rollout_service *s, const int64_t *ids, size_t n);

/* rollout_service_check_rollouts with s as a void pointer, for callbacks
 * (seen_set_touched_hook); ids NULL: every running rollout; nothing for
 * n == 0 otherwise.  Errors are logged. */
void rollout_service_touched(void *s, const int64_t *ids, size_t n);

/*
 * What the timed advance remembers from one pass to the next: the
 * rollouts whose advance it held (due but not healthy), so that a hold is
 * logged once, when it begins, and not at every pass.  Zero-initialised:
 * nothing held.  rollout_service_holds_clear frees it (NULL-safe).
 */
struct rollout_service_holds {
	int64_t *ids;
	size_t n, cap;
};
void rollout_service_holds_clear(struct rollout_service_holds *h);

/*
 * One pass of the timed advance at now (Unix seconds): advances by one
 * stage every running rollout with advance_after > 0 whose
 * stage_started_at + advance_after <= now and that is healthy (its gate,
 * rollout_gate_judge, over its device_updates: for the simple gate, not
 * breached; for the wilson gate, below the threshold with confidence;
 * unknown health is no), actor "otad", guarded by the stage it saw.
 * A due rollout that is not healthy is held: logged when holds (the previous
 * pass's, updated to this one's) does not have it yet, or at every pass
 * when holds is NULL.  A rollout changed meanwhile by someone else is
 * left alone.  Returns the number advanced (>= 0), or the first OTA_E*
 * error (the other rollouts are still tried).  Thread-safe, but one
 * holds is for one caller.
 */
/*
 * The per-device timeout, run by the rollout timer at every pass: for
 * each running or paused rollout with a device_timeout, marks timed_out
 * its updates still offered, started or in progress whose attempt began
 * device_timeout seconds or more before now (store_telemetry_time_out, at
 * most 4,000 per rollout and pass, oldest first: a backlog drains over
 * the next passes), then asks a running rollout's gate (its abort_on may
 * count timed_out: the automatic pause or abort).  Returns how many were
 * marked (>= 0) or the first OTA_E* error.  Thread-safe.
 */
int rollout_service_time_out(struct rollout_service *s, int64_t now);

int rollout_service_advance_due(struct rollout_service *s, int64_t now,
    struct rollout_service_holds *holds);

/*
 * One pass of the scheduled start at now (Unix seconds): starts every
 * draft whose start_at is at or before now (actor "otad", reason
 * "start_at <time>"), each guarded by the row it read, so a draft edited,
 * started or aborted meanwhile is left alone.  Returns the number started
 * (>= 0) or the first OTA_E* error (the others are still tried).
 * Thread-safe.
 */
int rollout_service_start_due(struct rollout_service *s, int64_t now);

/*
 * A rollout's health, everything its answer is made of (about 8 KiB: not
 * for a pool thread's stack).  entered[i] counts the targeted devices
 * whose bucket is in [stage i-1's bp, stage i's bp); targeted all of
 * them (devices of the target groups whose hardware the image fits, or
 * whose fit is unknown because the image of an ended rollout was
 * deleted, and whose version is in the from_version range or is the
 * image's version).  breached and healthy are the rollout's gate over the total
 * (rollout_gate_judge: an error of the gate counts as a breach, not
 * healthy: the safe side): breached pauses a running rollout, healthy
 * lets the automatic advance move it.
 */
struct rollout_service_health {
	struct store_rollout r;
	struct store_rollout_counts counts;
	char stage_started[ROLLOUT_MAX_STAGES][21]; /* "" when not reached */
	uint64_t entered[ROLLOUT_MAX_STAGES];
	uint64_t targeted;
	/* when entered and targeted were counted: now, or the start of a
	 * slow walk given again (walkcache.h) */
	char targeted_at[21];
	/* the gate's tally of the totals under the abort criteria */
	uint64_t good, bad;
	int breached;
	int healthy;
	/* The rollout's own maintenance windows now (r.windows not ""):
	 * open or not, and when that changes (0: not within two weeks). */
	int window_open;
	int64_t window_next;
	/* A bundle rollout's failed and reverted devices by the part that
	 * made them so. */
	struct store_component_failures
	    by_component[STORE_COMPONENT_FAILURES_MAX];
	size_t by_component_n;
};

/*
 * Computes rollout id's health into *out (zeroed first): targeted and
 * in-stage devices are recomputed by streaming the members of its target
 * groups with their versions and hashing each into its bucket
 * (rollout_bucket), so they follow membership and version changes and
 * anyone can check them with the published salt; a slow walk (a large
 * fleet) is given again for a while (walkcache.h), and targeted_at says
 * when it was counted.  The reported counters, the verdict and the state
 * of its own maintenance windows at timeutil_now_sec() are always read
 * anew.  Returns 0, OTA_ENOTFOUND or
 * OTA_EDB.  Thread-safe.
 */
int rollout_service_health(
    struct rollout_service *s, int64_t id, struct rollout_service_health *out);

#endif
