/*
 * store_telemetry: rows of update_events (every event as received) and
 * device_updates (each device's status per rollout, merged by
 * update_state.h), and the counts rollout health is computed from.  The
 * only writer of events is telemetry.c's writer thread, one transaction
 * per group of batches.
 */
#ifndef OTAD_STORE_TELEMETRY_H
#define OTAD_STORE_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "rollout.h"
#include "store.h"
#include "telemetry_parse.h"

/* What happened to one event in store_telemetry_write
 * (store_telemetry_write.h). */
enum store_event_outcome {
	STORE_EVENT_ACCEPTED,  /* new, stored */
	STORE_EVENT_DUPLICATE, /* (device, event_id) already stored: not
	                        * counted again */
	STORE_EVENT_REJECTED,  /* refused by the caller
	                        * (telemetry_parse_verdict):  not written */
};

struct store_event_result {
	enum store_event_outcome outcome;
	enum telemetry_reject reject; /* why rejected, else NONE */
	char detail[160]; /* why rejected ("unknown rollout 7"), else "" */
};

/*
 * Reads what telemetry_parse_verdict decides on for an event of device_id on
 * rollout_id into *out (zeros and "" for what does not exist): whether
 * each exists, the rollout's image version, the device's hardware,
 * whether the rollout has a device_updates row or a DDI action for the
 * device, whether the device is a member of one of its groups, and
 * whether its image lists the device's hardware (exact match).  One
 * statement; decides nothing.  Returns 0 or OTA_EDB.
 */
int store_telemetry_target(struct store_conn *c, const char *device_id,
    int64_t rollout_id, struct telemetry_target *out);

/*
 * Records that device_id was offered rollout_id's image (version) at
 * stage stage_index: creates its device_updates row in status offered
 * when there is none, its attempt beginning at `at`; never changes an
 * existing row, but for a retry.  version "" means the rollout's image
 * version, stage_index < 0 its current stage.  An unknown (deleted)
 * device or rollout is skipped.  A retry (retry 1: the poll found the
 * row failed or timed_out after retries_seen retries, rollout_retry_decide)
 * starts a new attempt: the row, while still failed or timed_out after
 * that many retries, becomes offered again with retries + 1, its attempt
 * beginning at `at`, its progress, result and times of the previous
 * attempt cleared (its events stay); the device is reported changed
 * (store_devices_changed) so that every node's device cache forgets the
 * retry it held.  Two nodes retrying at once make one retry.  Each row it
 * creates reports its device changed too (the device cache learns of the
 * offer: its update marks, which the rate limit reads).  Runs in its own
 * transaction unless one is open.  Returns 0 or OTA_EDB.
 */
struct store_offer_seen {
	int64_t rollout_id;
	char device_id[129];
	char version[129];
	int stage_index;
	char at[21];
	int retry;        /* 1: a retry (0: a first offer) */
	int retries_seen; /* a retry's: the retries the poll saw */
};
int store_telemetry_offers(
    struct store_conn *c, const struct store_offer_seen *v, size_t n);

/*
 * Silent reverts: device_id reported installed_version at `at` (RFC 3339,
 * otad's clock); every rollout in which the device completed a version
 * greater than that (SemVer), the completion recorded before `at`, is
 * marked reverted, with an update_events row of transport "otad"
 * (event_id "otad-revert-<rollout id>-<unix ms>").  Runs inside the
 * caller's transaction.  Rollouts changed are added to touched as above.
 * *out_undecided (may be NULL) is 1 when a completion of a greater
 * version was recorded in the same second as `at`: neither judged nor
 * dismissed, so the device's next report must be judged (seen.c writes
 * it even if unchanged); else 0.  Returns 0 or OTA_EDB.
 */
int store_telemetry_silent_revert(struct store_conn *c, const char *device_id,
    const char *installed_version, const char *at, int64_t *touched,
    size_t max_touched, size_t *ntouched, int *out_undecided);

/* One silent revert check of store_telemetry_silent_reverts. */
struct store_revert_check {
	const char *device_id;         /* borrowed */
	const char *installed_version; /* borrowed */
	const char *at;                /* borrowed */
	int state; /* out: 0 judged, 1 undecided, OTA_EINVAL not checked */
};

/*
 * store_telemetry_silent_revert for each check of v[0..n), in order, with
 * one read of the devices' completed updates per chunk of devices (each
 * device at most once in v): v[i].state is 0 when judged, 1 when left
 * undecided (*out_undecided above), OTA_EINVAL when its version, device
 * or time is not valid (skipped).  Runs inside the caller's transaction.
 * Returns 0 or OTA_EDB / OTA_ENOMEM.
 */
int store_telemetry_silent_reverts(struct store_conn *c,
    struct store_revert_check *v, size_t n, int64_t *touched,
    size_t max_touched, size_t *ntouched);

/*
 * The coordinated rollback of a bundle, after device_id's components
 * were given the versions a poll reported (store_components_set_versions):
 * in each bundle rollout where the device is started, in progress or
 * completed, the first part (by component name) whose install completed
 * (its own status, or the device's whole status) and whose component now
 * runs an older version than the part's image (bundle_state_rolled_back)
 * makes the device's status reverted, naming that part (its part status
 * reverted too), with an update_events row of transport "otad"
 * (event_id "otad-revert-<rollout id>-<unix ms>", the component named).
 * at is otad's time (RFC 3339).  Runs inside the caller's transaction.
 * Rollouts changed are added to touched as above.  Returns 0, OTA_EINVAL
 * (at) or OTA_EDB / OTA_ENOMEM.
 */
int store_telemetry_bundle_reverts(struct store_conn *c, const char *device_id,
    const char *at, int64_t *touched, size_t max_touched, size_t *ntouched);

/*
 * Cancels device_id's update in rollout rollout_id at `at` (RFC 3339):
 * the status becomes canceled when update_state_merge says so (it was
 * offered, started or in progress; a missing row stays missing, a final
 * one stays).  Runs inside the caller's transaction unless none is open.
 * Returns 0 (also when nothing changed), OTA_EINVAL (at) or OTA_EDB.
 */
int store_telemetry_cancel(struct store_conn *c, int64_t rollout_id,
    const char *device_id, const char *at);

/*
 * Cancels (as store_telemetry_cancel) every unfinished update of
 * device_id in a rollout whose image does not list hardware: what was
 * offered for the device's old hardware, after an admin changed it.
 * Runs inside the caller's transaction (open one).  *out_n: how many.
 * Returns 0, OTA_EINVAL (at not canonical RFC 3339) or OTA_EDB.
 */
int store_telemetry_cancel_unfit(struct store_conn *c, const char *device_id,
    const char *hardware, const char *at, size_t *out_n);

/* Counts of a rollout's device_updates, per stage and in total. */
#define STORE_RESULT_CODES ROLLOUT_RESULT_CODES /* LwM2M /5 result 0..11 */
struct store_update_counts {
	uint64_t offered, started, progress, completed, failed, reverted;
	uint64_t canceled;
	uint64_t deferred; /* the device postponed it: not finished */
	uint64_t failed_by_result[STORE_RESULT_CODES]; /* result unknown: 0 */
	uint64_t timed_out;
	uint64_t retries; /* retries offered to the devices counted */
	uint64_t accepted, declined; /* consent answers, not started yet */
};
struct store_rollout_counts {
	struct store_update_counts total;
	struct store_update_counts stage[ROLLOUT_MAX_STAGES];
	/* devices in status started or progress are "in progress" */
};

/* The devices of rollout_id offered and silent so far (*out_awaiting:
 * status offered, which under require_consent awaits an answer) and
 * those that declined (*out_declined).  One statement of two index
 * ranges, for /metrics.  Returns 0 or OTA_EDB (both 0 then). */
int store_telemetry_consent_counts(struct store_conn *c, int64_t rollout_id,
    uint64_t *out_awaiting, uint64_t *out_declined);

/* Reads the counts of rollout_id (zeros when nothing reported).
 * Returns 0, OTA_ENOTFOUND (no such rollout) or OTA_EDB. */
int store_telemetry_counts(
    struct store_conn *c, int64_t rollout_id, struct store_rollout_counts *out);

/*
 * The finished counts of rollout_id's device_updates (zeros for an
 * unknown rollout): completed, failed (by result code), timed_out and
 * reverted, what rollout_gate_tally needs, read from the (rollout_id,
 * status, result) index only, so the automatic pause after each commit
 * stays cheap for large rollouts.  Returns 0 or OTA_EDB.
 */
int store_telemetry_finished(struct store_conn *c, int64_t rollout_id,
    struct rollout_outcome_counts *out);

/*
 * The rollout timer's sweep: marks timed_out at `at` (RFC 3339, otad's
 * clock) at most limit (1..10000) of rollout_id's updates still offered,
 * started or in progress whose attempt began at or before before_sec
 * (unix seconds), oldest first, read from the partial index
 * device_updates_pending, and reports each device changed
 * (store_devices_changed: their retries).  Runs in its own write
 * transaction unless one is open.  *out_n: how many were marked.
 * Returns 0, OTA_EINVAL (limit, at) or OTA_EDB.
 */
int store_telemetry_time_out(struct store_conn *c, int64_t rollout_id,
    int64_t before_sec, int limit, const char *at, size_t *out_n);

/* One update of a device that is unfinished (offered, started, progress:
 * an offer of it is no new offer, for the rate limit) or ended badly
 * (failed, timed_out: a poll decides its retry, rollout_retry_decide). */
#define STORE_UPDATE_MARKS_MAX 8
struct store_update_mark {
	int64_t rollout_id;
	int64_t outcome_at; /* unix s (otad's clock) it became failed,
	                       timed_out or declined */
	uint32_t retries;   /* retries offered before it */
	uint32_t status;    /* enum update_state */
};

/*
 * The updates of device_id in status offered, started, progress, failed,
 * timed_out, accepted or declined in rollouts that are running or paused
 * (outcome_at: when the row last changed), newest rollout first, at
 * most STORE_UPDATE_MARKS_MAX into out[], *out_n how many.  One indexed
 * statement (device_updates_device).  Returns 0 or OTA_EDB.
 */
int store_telemetry_device_marks(struct store_conn *c, const char *device_id,
    struct store_update_mark out[STORE_UPDATE_MARKS_MAX], size_t *out_n);

/* The failed and reverted devices of a bundle rollout, per part that
 * made them so (device_updates.component). */
#define STORE_COMPONENT_FAILURES_MAX 8 /* BUNDLE_PARTS_MAX */
struct store_component_failures {
	char component[33];
	uint64_t failed, reverted;
};

/*
 * Reads rollout_id's failed and reverted devices by the part that decided
 * (NULL component, an image rollout's, not counted) into out[0..*out_n),
 * at most max, by component name.  Returns 0 or OTA_EDB.
 */
int store_telemetry_component_failures(struct store_conn *c, int64_t rollout_id,
    struct store_component_failures *out, size_t max, size_t *out_n);

/* One stored event, for listings. */
struct store_event_row {
	int64_t id;
	char device_id[129];
	char event_id[65];
	int64_t rollout_id;
	char version[129];
	char state[16];
	int progress; /* -1 when none */
	int result;   /* -1 when none */
	char detail[513];
	char device_ts[40];
	char received_at[21];
	char transport[8];
	char component[33]; /* "" for an image rollout's event */
};

/* A device's events, newest first, at most limit (1..1000), ids < before
 * (0: from the newest).  *out is a new array (free()).  0, EINVAL, EDB. */
int store_telemetry_device_events(struct store_conn *c, const char *device_id,
    int64_t before_id, int limit, struct store_event_row **out, size_t *out_n);

/* A device's status in one rollout (device_updates with the rollout's
 * name, state and image). */
struct store_device_update_row {
	int64_t rollout_id;
	char rollout_name[129];
	char rollout_state[16];
	char image_name[129];
	char image_version[129];
	char version[129]; /* the version the device reported or was offered */
	char status[16];
	int64_t stage_index;
	int progress; /* -1 when none */
	int result;   /* -1 when none */
	char offered_at[21];
	char started_at[21];  /* "" when none */
	char finished_at[21]; /* "" when none */
	char updated_at[21];
};

/* A device's status in each rollout that offered it anything or heard
 * from it, newest rollout first, at most limit (1..1000), rollout ids <
 * before (0: from the newest).  *out is a new array (free()).  0, EINVAL,
 * EDB. */
int store_telemetry_device_updates(struct store_conn *c, const char *device_id,
    int64_t before_id, int limit, struct store_device_update_row **out,
    size_t *out_n);

#endif
