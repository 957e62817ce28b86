/*
 * store_ddi: rows of ddi_actions (one per rollout and device offered over
 * hawkBit DDI), ddi_feedback (every feedback received) and
 * device_attributes (configData).  The rules of an action's status are
 * ddi.h's (pure) and ddi_service.c's; this module only reads and writes
 * them, each change in one transaction (the caller's when it spans other
 * tables).  Times (now) are timeutil's canonical RFC 3339 UTC form:
 * a write given another, or enum values outside ddi.h's, returns
 * OTA_EINVAL and writes nothing.
 */
#ifndef OTAD_STORE_DDI_H
#define OTAD_STORE_DDI_H

#include <stddef.h>
#include <stdint.h>

#include "ddi.h"
#include "store.h"
#include "store_devices.h"

/* Actions one poll reads for a device (store_ddi_poll_facts). */
#define STORE_DDI_POLL_ACTIONS_MAX 32
#define STORE_DDI_LIST_MAX 1000 /* rows per list call */
/* "a,b,..": the components of a bundle action, 8 of 32 bytes at most */
#define STORE_DDI_PARTS_MAX (8 * 33)

/* An action with the facts of its rollout. */
struct store_ddi_action {
	int64_t id;
	int64_t rollout_id;
	char device_id[STORE_DEVICE_ID_MAX + 1];
	enum ddi_status status;
	char result[8];         /* "success", "failure" or "" */
	char rollout_state[16]; /* draft, running, paused, completed, aborted */
	int targeted;     /* the device is in one of the rollout's groups */
	int64_t image_id; /* the rollout's image; 0 once deleted */
	char image_version[STORE_VERSION_MAX + 1]; /* the rollout's */
	char created_at[21];
	char updated_at[21];
	char closed_at[21]; /* "" until closed or canceled */
	int64_t bundle_id;  /* the rollout's bundle, 0 for an image's */
	/* The components a bundle action deploys, in install order,
	 * comma-separated ("" for an image's, or not set yet). */
	char parts[STORE_DDI_PARTS_MAX + 1];
};

/* What a DDI poll needs to know of a device besides its facts. */
struct store_ddi_poll {
	/* Every action of the device that is not final (but for one still
	 * open of a completed rollout: nothing deploys or cancels it), and
	 * the final ones of rollouts still running or paused (never
	 * offered again); newest first, at most STORE_DDI_POLL_ACTIONS_MAX
	 * (a device has a handful; a long history never hides a new
	 * action). */
	struct store_ddi_action actions[STORE_DDI_POLL_ACTIONS_MAX];
	size_t action_count;
	int attributes_wanted;       /* no configData yet, or refresh asked */
	int64_t installed_action_id; /* latest closed + success, 0 none */
};

/*
 * Reads what a poll of device_id decides on, in one statement (one
 * snapshot: no transaction needed).
 * Returns 0 and *out (a device with no rows gets zero actions and
 * attributes_wanted 1), or OTA_EDB.  Does not check the device exists
 * (the caller has read its facts).
 */
int store_ddi_poll_facts(
    struct store_conn *c, const char *device_id, struct store_ddi_poll *out);

/*
 * Every function below that changes a device's actions or attributes
 * reports the device changed (store_devices_changed): they are what its
 * DDI poll reads, and a cache of them forgets it.
 */

/*
 * The action of (rollout_id, device_id) for its attempt (the retries
 * offered before it: 0 the first, n the action of retry n), created in
 * status open at now (RFC 3339) when there is none yet (INSERT OR IGNORE:
 * concurrent polls make one).  A retry's action is a new action, with a
 * new id (docs/rollouts.md "Retries").  Returns 0 and *out (the row as it
 * is, which may be final), OTA_ENOTFOUND (no such rollout or device) or
 * OTA_EDB.  store_ddi_action_open: attempt 0.
 */
int store_ddi_action_open_attempt(struct store_conn *c, int64_t rollout_id,
    const char *device_id, uint32_t attempt, const char *now,
    struct store_ddi_action *out);

int store_ddi_action_open(struct store_conn *c, int64_t rollout_id,
    const char *device_id, const char *now, struct store_ddi_action *out);

/*
 * Records the parts ("ncp,mcu": the components to install, in order) a
 * bundle rollout's action deploys, once (an action that has them keeps
 * them).  Returns 0 or OTA_EDB.
 */
int store_ddi_action_set_parts(
    struct store_conn *c, int64_t action_id, const char *parts);

/*
 * Loads action action_id if it belongs to device_id.  Returns 0 and *out,
 * OTA_ENOTFOUND (no such action for this device: never reveals another
 * device's) or OTA_EDB.
 */
int store_ddi_action_get(struct store_conn *c, const char *device_id,
    int64_t action_id, struct store_ddi_action *out);

/*
 * Marks action action_id canceling at now if it is open or running (the
 * poll found its rollout aborted or the device outside it).  Returns 0
 * (also when it already was canceling), OTA_ECONFLICT (it is final or
 * cancel_rejected meanwhile), OTA_ENOTFOUND or OTA_EDB.
 */
int store_ddi_action_cancel(
    struct store_conn *c, int64_t action_id, const char *now);

/*
 * Records a feedback on action action_id: checks the action's status is
 * still expect (the status effect was computed from with
 * ddi_feedback_apply; else OTA_ECONFLICT and nothing written: the caller
 * reads again and recomputes), inserts the ddi_feedback row (kind cancel
 * when is_cancel, status_after effect->status), sets the action's status
 * to effect->status (result success/failure and closed_at when it
 * becomes closed; closed_at when canceled) and, when
 * effect->sets_version, the device's installed version to the rollout's
 * image version (for a bundle's rollout, each component a part names to
 * the part's image version; the device's own version stays).  Joins the
 * caller's transaction when one is open (what else the feedback changes, such
 * as the device's update when effect->cancels_update, is the caller's:
 * ddi_service), else runs its own; on failure the caller rolls back its own.
 * Returns 0, OTA_ECONFLICT, OTA_ENOTFOUND, OTA_EINVAL (now, or values outside
 * the enums) or OTA_EDB.
 */
int store_ddi_feedback(struct store_conn *c, int64_t action_id, int is_cancel,
    const struct ddi_feedback *fb, enum ddi_status expect,
    const struct ddi_effect *effect, const char *now);

/*
 * Records a confirmation answer (confirmed 1, or denied) on action_id,
 * a ddi_feedback row of kind 'confirmation' (execution "confirmed" or
 * "denied", finished "none", the action's status unchanged), only while
 * the action's status is expect.  Returns 0, OTA_ECONFLICT (its status
 * is no longer expect, or it is gone), OTA_EINVAL (expect, now) or
 * OTA_EDB.
 */
int store_ddi_confirmation(struct store_conn *c, int64_t action_id,
    int confirmed, const char *details, enum ddi_status expect,
    const char *now);

/*
 * Marks canceling every open or running action of device_id whose
 * rollout's image does not list hardware (the admin changed the device's
 * hardware): its next poll is told cancelAction.  Runs inside the
 * caller's transaction (open one).  *out_n: how many.  Returns 0,
 * OTA_EINVAL (now) or OTA_EDB.
 */
int store_ddi_actions_cancel_unfit(struct store_conn *c, const char *device_id,
    const char *hardware, const char *now, size_t *out_n);

/* The latest action of device_id closed with success.  Returns 0 and
 * *out, OTA_ENOTFOUND or OTA_EDB. */
int store_ddi_installed(
    struct store_conn *c, const char *device_id, struct store_ddi_action *out);

/*
 * Every action of device_id with id > after_id, ascending, at most limit
 * (1..STORE_DDI_LIST_MAX): *out is a new array (free()) of *out_n rows
 * (NULL when none).  Returns 0, OTA_EINVAL (limit), OTA_ENOMEM or OTA_EDB.
 */
int store_ddi_actions_list(struct store_conn *c, const char *device_id,
    int64_t after_id, int limit, struct store_ddi_action **out, size_t *out_n);

/* A recorded feedback. */
struct store_ddi_feedback_row {
	int64_t id;
	int64_t action_id;
	int is_cancel;
	char execution[16];
	char finished[8];
	int64_t progress_cnt; /* -1 when absent */
	int64_t progress_of;  /* -1 when absent */
	char details[DDI_DETAILS_MAX + 1];
	char status_after[16];
	char received_at[21];
};

/*
 * The feedback of action action_id with id > after_id, ascending, at
 * most limit (1..STORE_DDI_LIST_MAX); *out a new array (free()).
 * Returns 0, OTA_EINVAL, OTA_ENOMEM or OTA_EDB.
 */
int store_ddi_feedback_list(struct store_conn *c, int64_t action_id,
    int64_t after_id, int limit, struct store_ddi_feedback_row **out,
    size_t *out_n);

/*
 * The attributes device_id sent as configData: *out_json a new malloc'd
 * JSON text of the object (NULL when none received), *out_received_at
 * ("" when none; may be NULL).  Returns 0 or OTA_EDB.
 */
int store_ddi_attributes_get(struct store_conn *c, const char *device_id,
    char **out_json, char out_received_at[21]);

/*
 * Stores device_id's attributes (attrs_json: the whole object afterwards)
 * received at now, clearing a refresh request, and in the same
 * transaction the device's reported hardware (never its provisioned
 * one) and installed version read from them (hardware, version: ""
 * leaves that column as it is).  Joins the
 * caller's transaction when one is open (a merge: store_begin,
 * store_ddi_attributes_get, this, store_commit), else runs its own; on
 * failure the caller rolls back its own.  Returns 0, OTA_ENOTFOUND (no
 * such device) or OTA_EDB.
 */
int store_ddi_attributes_put(struct store_conn *c, const char *device_id,
    const char *attrs_json, const char *hardware, const char *version,
    const char *now);

/* Asks device_id for its attributes again at its next DDI poll.
 * Returns 0 (also when none were received yet), OTA_ENOTFOUND (no such
 * device) or OTA_EDB. */
int store_ddi_attributes_refresh(struct store_conn *c, const char *device_id);

#endif
