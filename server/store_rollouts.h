/*
 * store_rollouts: rows of rollouts, rollout_groups and rollout_events.
 * A state change is written by store_rollout_update: the row the rollout
 * service decided (rollout_decide, the pure rules) and its audit event,
 * in the service's transaction, so the table never holds a transition
 * the rules refuse.
 */
#ifndef OTAD_STORE_ROLLOUTS_H
#define OTAD_STORE_ROLLOUTS_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "mwindow.h"
#include "rollout.h"
#include "semver.h"
#include "selector.h"
#include "semver_range.h"
#include "store.h"
#include "store_groups.h"

#define STORE_ROLLOUT_NAME_MAX 128
#define STORE_ROLLOUT_GROUPS_MAX 64
#define STORE_ROLLOUT_REASON_MAX 256

struct store_rollout_group {
	int64_t id;
	char name[STORE_GROUP_NAME_MAX + 1];
};

struct store_rollout {
	int64_t id;
	char name[STORE_ROLLOUT_NAME_MAX + 1];
	int64_t image_id; /* 0 once the image was deleted (ended rollouts) */
	/* A rollout of a release bundle: its id (image_id 0, image_name
	 * and image_version the bundle's); 0 for an image's rollout or once
	 * the bundle was deleted (ended rollouts). */
	int64_t bundle_id;
	char image_name[DESCRIPTOR_NAME_MAX + 1];
	char image_version[SEMVER_MAX_LEN + 1];
	enum rollout_state state;
	int stage_index;
	int stage_count;
	uint16_t stages_bp[ROLLOUT_MAX_STAGES];
	unsigned char salt[ROLLOUT_SALT_BYTES];
	double failure_threshold;
	uint64_t min_reports;
	int64_t advance_after_sec;                /* 0: advance only by hand */
	enum rollout_gate gate;                   /* the health gate */
	double gate_confidence;                   /* the wilson gate's */
	char from_version[SEMVER_RANGE_TEXT_MAX]; /* "" or a canonical range */
	char start_at[21]; /* a draft starts by itself then; "" never */
	char selector[SELECTOR_TEXT_MAX]; /* "" or selector_parse's canonical */
	/* When and how hard: "" or mwindow_parse's canonical text; what a
	 * device is told outside them; the action type; for time-forced,
	 * when it becomes forced (else ""). */
	char windows[MWINDOW_TEXT_MAX];
	enum rollout_outside outside_window;
	enum rollout_action_type action_type;
	char forced_at[21];
	/* stuck and failing devices: timeout, retries, abort criteria */
	struct rollout_stuck_policy stuck;
	char reason[STORE_ROLLOUT_REASON_MAX + 1]; /* last pause/abort why */
	char created_at[21];
	char created_by[65];
	char started_at[21];       /* "" until started */
	char stage_started_at[21]; /* when the current stage began, or "" */
	char finished_at[21];      /* "" until completed or aborted */
	char updated_at[21];
	struct store_rollout_group groups[STORE_ROLLOUT_GROUPS_MAX];
	size_t group_count;
};

/* A new rollout; validated by the caller (rollout_stages_parse,
 * rollout_policy_check, rollout_gate_check).  salt is random (randombytes_buf).
 */
struct store_rollout_new {
	const char *name; /* "" allowed */
	int64_t image_id;
	int64_t bundle_id; /* > 0: a bundle's rollout (image_id unused) */
	const char *const *groups; /* 1..STORE_ROLLOUT_GROUPS_MAX names */
	size_t group_count;
	const uint16_t *stages_bp;
	int stage_count;
	const unsigned char *salt; /* ROLLOUT_SALT_BYTES */
	double failure_threshold;
	uint64_t min_reports;
	int64_t advance_after_sec;
	enum rollout_gate gate; /* rollout_gate_check'ed */
	double gate_confidence;
	const char *from_version; /* semver_range_format's text; NULL: "" */
	const char *start_at;     /* store form (timeutil), NULL or "": none */
	const char *selector;     /* selector_parse's canonical; NULL: "" */
	const char *created_by;   /* token name */
	const char *windows;      /* mwindow_parse's canonical; NULL: "" */
	enum rollout_outside outside_window;
	enum rollout_action_type action_type;
	const char *forced_at; /* store form, NULL or "": none */
	/* rollout_stuck_check'ed; NULL: rollout_stuck_defaults */
	const struct rollout_stuck_policy *stuck;
};

/*
 * Creates a draft rollout and its "create" event in one transaction,
 * which also queues the rollouts notification (store_notify_rollouts).
 * Returns 0 and *out_id; OTA_ENOTFOUND when the image (or bundle) or a
 * group does not exist (missing, which may be NULL, is then "" for the
 * image or bundle, or the
 * first unknown group's name: never ambiguous, as group names are not
 * empty); OTA_EINVAL for counts or lengths out of range, a group named
 * twice, no group without a selector (rollout_targets_check) or a stuck
 * policy rollout_stuck_check refuses; OTA_EDB.
 */
int store_rollout_create(struct store_conn *c,
    const struct store_rollout_new *r, int64_t *out_id,
    char missing[STORE_GROUP_NAME_MAX + 1]);

/* Loads one rollout with its groups.  0, OTA_ENOTFOUND or OTA_EDB. */
int store_rollout_get(
    struct store_conn *c, int64_t id, struct store_rollout *out);

struct store_rollout_filter {
	int state;        /* an enum rollout_state, or -1 for any */
	int64_t image_id; /* or 0 for any */
	int64_t after_id; /* cursor: ids > this, 0 for start */
	int limit;        /* 1..1000 */
};

/*
 * Lists rollouts matching f in ascending id order.  *out is a new array
 * (free()).  Returns 0, OTA_EINVAL (bad limit or state) or OTA_EDB.
 */
int store_rollout_list(struct store_conn *c,
    const struct store_rollout_filter *f, struct store_rollout **out,
    size_t *out_n);

/*
 * Writes the changeable columns of rollout r->id from r (state,
 * stage_index, started_at, stage_started_at, finished_at, reason,
 * updated_at) and appends the rollout_events row of action a from state
 * from, at r->updated_at, with actor and reason (NULL: ""), and queues
 * the rollouts notification (store_notify_rollouts) of every node.  Call inside
 * a write transaction (store_begin) in which r was read: the rollout
 * service decides the row (rollout_decide), this only writes it.
 * Returns 0, OTA_EINVAL (actor empty or over 64 bytes, reason over
 * STORE_ROLLOUT_REASON_MAX, a state or action outside its enum) or
 * OTA_EDB.
 */
int store_rollout_update(struct store_conn *c, const struct store_rollout *r,
    enum rollout_action a, enum rollout_state from, const char *actor,
    const char *reason);

/*
 * Writes the policy columns of rollout r->id from r (failure_threshold,
 * min_reports, advance_after_sec, gate, gate_confidence, from_version,
 * start_at, selector, windows, outside_window, action_type, forced_at,
 * the stuck-device policy r->stuck)
 * and updated_at,
 * appends its "update" audit event (from and to state r->state, at
 * r->updated_at, by actor, reason the changes text: NULL is "") and queues
 * the rollouts notification of every node.  Call inside a write
 * transaction in which r was read: the rollout service decides the policy
 * (rollout_patch_apply), this only writes it.  Returns 0, OTA_EINVAL
 * (actor empty or over 64 bytes, changes over STORE_ROLLOUT_REASON_MAX, a
 * state, gate, outside_window or action_type outside its enum, a stuck
 * policy rollout_stuck_check refuses) or OTA_EDB.
 */
int store_rollout_set_policy(struct store_conn *c,
    const struct store_rollout *r, const char *actor, const char *changes);

/* 0 when store_rollout_update accepts actor, reason (NULL: "") and
 * action a, else OTA_EINVAL: lets a caller refuse a request before it
 * reads any row.  Pure. */
int store_rollout_change_valid(
    const char *actor, const char *reason, enum rollout_action a);

/* One audit event. */
struct store_rollout_event {
	int64_t id;
	char at[21];
	char action[16];
	char actor[65];
	char from_state[16]; /* "" for create */
	char to_state[16];
	int stage_index;
	char reason[STORE_ROLLOUT_REASON_MAX + 1];
};

/* A rollout's events, oldest first, at most limit (1..1000).  *out is a
 * new array (free()).  Returns 0, OTA_EINVAL or OTA_EDB. */
int store_rollout_events(struct store_conn *c, int64_t rollout_id, int limit,
    struct store_rollout_event **out, size_t *out_n);

/*
 * 1 when image_id is the image of a rollout that is neither completed nor
 * aborted, 0 otherwise, OTA_EDB on error.  (store_image_delete checks the
 * same inside its own transaction.)
 */
int store_rollout_image_in_use(struct store_conn *c, int64_t image_id);

/*
 * 1 when device_id is a member of a group targeted by a rollout of
 * image_id that is not a draft, 0 when not, OTA_EDB on error.  Decides
 * whether a device's own token may download an image.
 */
int store_rollout_device_may_fetch(
    struct store_conn *c, int64_t image_id, const char *device_id);

/*
 * Streams the distinct devices of rollout_id's target groups (a device in
 * two of them once), in no particular order: fn(ctx, device_id,
 * image_fits) for each, device_id borrowed for the call only, image_fits
 * 1 when the rollout's image lists the device's hardware (exact match),
 * 0 when it does not, -1 when the image was deleted (unknown).  Nothing
 * is allocated per device, so a fleet of any size streams in constant
 * memory.  fn returns 0 to go on; any other value stops the walk and is
 * returned.  Returns 0 (also for an unknown rollout: no groups), fn's
 * value, or OTA_EDB.
 */
int store_rollout_members(struct store_conn *c, int64_t rollout_id,
    int (*fn)(void *ctx, const char *device_id, int image_fits), void *ctx);

/*
 * store_rollout_members with each member's installed version as last
 * reported ("" when never) and its labels (JSON object text), borrowed
 * for the call only: fn(ctx, device_id, image_fits, version, labels).
 * For the from-version range and the selector of health's targeted
 * devices.  Same returns as store_rollout_members.
 */
int store_rollout_member_versions(struct store_conn *c, int64_t rollout_id,
    int (*fn)(void *ctx, const char *device_id, int image_fits,
        const char *version, const char *labels),
    void *ctx);

/*
 * When each stage of rollout_id first started running, from its audit
 * events: stage 0 at its "start", stage i at the "advance" that entered
 * it.  out[i] gets the RFC 3339 time, or "" for a stage not reached;
 * entries 0..ROLLOUT_MAX_STAGES-1 are all written.  Returns 0 or OTA_EDB.
 */
int store_rollout_stage_starts(
    struct store_conn *c, int64_t rollout_id, char out[ROLLOUT_MAX_STAGES][21]);

/*
 * How many rollouts are in each state: out[s] for every enum
 * rollout_state s.  Returns 0 or OTA_EDB.
 */
int store_rollout_count_by_state(
    struct store_conn *c, uint64_t out[ROLLOUT_ABORTED + 1]);

#endif
