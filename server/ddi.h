/*
 * ddi: the pure part of otad's hawkBit Direct Device Integration (DDI)
 * API (docs/ddi.md): the JSON shapes DDI clients (SWUpdate's suricatta,
 * Zephyr's hawkBit client, rauc-hawkbit-updater) read, the parsing of
 * what they send (feedback, configData), and the rules of a DDI action's
 * status.  No I/O, no globals: http_api_ddi.c does the requests and
 * store_ddi.c the rows.
 *
 * An action is one rollout offered to one device.  Its status:
 *
 *   open -> running -> closed               (feedback closed)
 *   open|running -> canceling -> canceled   (rollout aborted or left,
 *                                            or the hardware changed)
 *                   canceling -> cancel_rejected -> closed
 *   open|running -> canceled                (the device canceled it)
 *
 * closed and canceled are final: a final action is never offered again.
 */
#ifndef OTAD_DDI_H
#define OTAD_DDI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "components.h"
#include "descriptor.h"
#include "rollout.h"
#include "semver.h"
#include "update_state.h"

#define DDI_TENANT_MAX 64    /* [A-Za-z0-9_-], compared case-insensitively */
#define DDI_DETAILS_MAX 1024 /* bytes kept of a feedback's details */
#define DDI_DETAIL_LINES_MAX 128 /* entries of "details" read */
#define DDI_ATTR_MAX 64          /* attributes per device */
#define DDI_ATTR_KEY_MAX 128     /* bytes of an attribute name (hawkBit's) */
#define DDI_ATTR_VALUE_MAX 128   /* bytes of an attribute value */
#define DDI_HASH_LEN 17          /* "c" query value: 16 hex digits + NUL */
#define DDI_SLEEP_LEN 9          /* "HH:MM:SS" + NUL */
/* LwM2M /5 result otad records for a DDI "closed"+"failure" (8: firmware
 * update failed; the details say why). */
#define DDI_FAILURE_RESULT 8

enum ddi_status {
	DDI_OPEN,
	DDI_RUNNING,
	DDI_CANCELING,
	DDI_CANCEL_REJECTED,
	DDI_CLOSED,
	DDI_CANCELED,
};

/* "open", "running", "canceling", "cancel_rejected", "closed",
 * "canceled" as stored; NULL outside the enum.  parse: 0 or OTA_EINVAL. */
const char *ddi_status_name(enum ddi_status s);
int ddi_status_parse(const char *name, enum ddi_status *out);
/* 1 for closed and canceled. */
int ddi_status_final(enum ddi_status s);

/* Which answer a GET of one of a device's actions gives. */
enum ddi_view {
	DDI_VIEW_DEPLOYMENT, /* deploymentBase: open, running, cancel_rejected
	                      */
	DDI_VIEW_INSTALLED,  /* installedBase: closed with success */
	DDI_VIEW_CANCEL,     /* cancelAction: canceling */
};

/* 1 when an action in status (with result: "success", "failure", "" or
 * NULL) is shown by view; hawkBit answers 404 for an action no longer in
 * the state a view shows. */
int ddi_view_shows(
    enum ddi_view view, enum ddi_status status, const char *result);

/* What a feedback's status.execution says (hawkBit's DdiStatus). */
enum ddi_execution {
	DDI_EXEC_CLOSED,
	DDI_EXEC_PROCEEDING,
	DDI_EXEC_CANCELED,
	DDI_EXEC_SCHEDULED,
	DDI_EXEC_REJECTED,
	DDI_EXEC_RESUMED,
	DDI_EXEC_DOWNLOAD,
	DDI_EXEC_DOWNLOADED,
};
enum ddi_finished {
	DDI_FINISHED_NONE,
	DDI_FINISHED_SUCCESS,
	DDI_FINISHED_FAILURE,
};
/* "closed", "proceeding", ... / "none", "success", "failure". */
const char *ddi_execution_name(enum ddi_execution e);
const char *ddi_finished_name(enum ddi_finished f);

/* A parsed feedback body. */
struct ddi_feedback {
	enum ddi_execution execution;
	enum ddi_finished finished;
	int64_t progress_cnt; /* -1 when absent; cnt > of is accepted */
	int64_t progress_of;  /* -1 when absent */
	/* The "details" strings joined with "\n", cut to DDI_DETAILS_MAX
	 * bytes on a UTF-8 character boundary. */
	char details[DDI_DETAILS_MAX + 1];
	/* 16 lowercase hex digits of a BLAKE2b digest of execution,
	 * finished, progress and details (not "id" nor "time"): the same
	 * report sent again has the same digest (the telemetry event id
	 * is made from it, so a retried feedback is stored once). */
	char digest[DDI_HASH_LEN];
};

/*
 * Parses a feedback body (deployment or cancel):
 *   {"id":"7" or 7 (optional), "time":"20261121T181754" (optional,
 *    ignored: device local time), "status":{"execution":"...",
 *    "result":{"finished":"...", "progress":{"cnt":N,"of":M}},
 *    "details":["...", ...]}}
 * status.execution is required; result and finished default to none;
 * progress cnt/of are integers 0..2^31-1 (hawkBit's Integer; of may be
 * 0, which is no progress; either may be absent: -1); details is an
 * array of strings (at most DDI_DETAIL_LINES_MAX are read, the rest
 * ignored; non-strings among them refused).  A JSON null counts as
 * absent for every optional member.  "closed" needs finished success or
 * failure.  Unknown fields are ignored (clients and hawkBit versions add
 * some).  "id" is a string of digits or a non-negative integer ("" counts
 * as absent); when expect_id > 0 and "id" is present it must equal it.
 * Returns 0 and *out, or OTA_EINVAL with a one-line reason naming the
 * field in err (*out untouched).  The digest needs libsodium (sodium_init
 * done).
 */
int ddi_feedback_parse(const json_t *body, int64_t expect_id,
    struct ddi_feedback *out, char *err, size_t errlen);

/* A confirmation feedback code's bounds (hawkBit's Integer). */
#define DDI_CONFIRM_CODE_MIN (-2147483647 - 1)
#define DDI_CONFIRM_CODE_MAX 2147483647

/* A parsed confirmation feedback (confirmationBase/{id}/feedback). */
struct ddi_confirmation {
	int confirmed; /* 1: "confirmed", 0: "denied" */
	int64_t code;  /* the device's own code, -1 when absent (or -1) */
	char details[DDI_DETAILS_MAX + 1]; /* joined as a feedback's */
	char digest[DDI_HASH_LEN];         /* of confirmation, code and details:
	                                    * the same answer sent again is one
	                                    * event */
};

/*
 * Parses a confirmation feedback body, hawkBit's DdiConfirmationFeedback:
 *   {"confirmation":"confirmed"|"denied", "code":N (optional, an
 *    integer of 32 bits), "details":["...", ...] (optional)}
 * confirmation is required; details as a feedback's (at most
 * DDI_DETAIL_LINES_MAX read, joined and cut to DDI_DETAILS_MAX bytes,
 * non-strings refused); JSON null counts as absent; unknown fields are
 * ignored (as hawkBit's).  Returns 0 and *out, or OTA_EINVAL with a
 * one-line reason naming the field in err (*out untouched).  Needs
 * libsodium (the digest).
 */
int ddi_confirmation_parse(
    const json_t *body, struct ddi_confirmation *out, char *err, size_t errlen);

/* What a feedback does (ddi_feedback_apply). */
struct ddi_effect {
	enum ddi_status status;  /* the action's status afterwards */
	int telemetry;           /* 1: store a telemetry event as below */
	enum update_state state; /* started, progress, completed or failed */
	int progress;            /* 0..100 for progress (and maybe started),
	                          * else -1 */
	int result;              /* DDI_FAILURE_RESULT for failed, else -1 */
	int sets_version;        /* 1: the device now runs the image's
	                          * version (closed + success) */
	int cancels_update;      /* 1: the action becomes canceled, so the
	                          * device's update in the rollout is over
	                          * (UPDATE_CANCELED: health no longer counts
	                          * it in progress) */
};

/*
 * The rules of a feedback on an action in status cur; is_cancel is 1 for
 * feedback to cancelAction/{id}/feedback, 0 for deploymentBase.
 * Deployment feedback:
 *   - on open/running/canceling/cancel_rejected: proceeding, scheduled,
 *     resumed, download, downloaded -> running (canceling stays
 *     canceling and cancel_rejected stays cancel_rejected: made running,
 *     a refused cancel of an aborted rollout would be sent again and
 *     again), event started when cur is open, else progress when
 *     both progress cnt and of are given and of > 0 (percent =
 *     min(100, cnt * 100 / of)) or started again without them (of 0
 *     is no progress: SWUpdate sends 0 of 0 before it knows a size);
 *     the event's progress is that percent (also for started) or -1;
 *     closed+success -> closed, completed, sets_version;
 *     closed+failure -> closed, failed (result DDI_FAILURE_RESULT);
 *     canceled -> canceled, no event; rejected -> unchanged, no event.
 *   - on closed/canceled (a retry, or a report too late): unchanged, no
 *     event.
 * Cancel feedback:
 *   - on canceling: closed+success or canceled -> canceled;
 *     rejected or closed+failure -> cancel_rejected; others unchanged.
 *   - on open/running/cancel_rejected: canceled or closed+success ->
 *     canceled (the device canceled by itself); others unchanged.
 *   - on closed/canceled: unchanged.
 * No event for cancel feedback.  Without an event, state is UPDATE_NONE
 * and progress/result -1.  cancels_update is 1 exactly when a status
 * that is not final becomes canceled.  Returns 0 and *out (always
 * filled; unchanged and no event on error), or OTA_EINVAL for values
 * outside the enums and for closed with finished none
 * (ddi_feedback_parse refuses it).
 */
int ddi_feedback_apply(enum ddi_status cur, int is_cancel,
    const struct ddi_feedback *fb, struct ddi_effect *out);

/* configData's "mode". */
enum ddi_config_mode {
	DDI_CONFIG_MERGE,   /* default: add/replace the given keys */
	DDI_CONFIG_REPLACE, /* the given keys become the whole set */
	DDI_CONFIG_REMOVE,  /* remove the given keys */
};

/* A configData body once checked: its mode and its "data" object
 * (borrowed from the body). */
struct ddi_config {
	enum ddi_config_mode mode;
	json_t *data;
};

/*
 * Parses a configData body {"id":"" (ignored), "time":.. (ignored),
 * "status":{..} (ignored), "data":{"key":"value", ...},
 * "mode":"merge"|"replace"|"remove" (optional, default merge)}.  data is
 * required, an object of at most DDI_ATTR_MAX strings; keys
 * 1..DDI_ATTR_KEY_MAX bytes, values at most DDI_ATTR_VALUE_MAX bytes
 * without NUL (checked in remove mode too); a mode that is not one of the
 * three is refused.  Returns 0 and *out (out->data borrowed from body),
 * or OTA_EINVAL with a reason naming the field in err (*out untouched).
 */
int ddi_config_parse(
    const json_t *body, struct ddi_config *out, char *err, size_t errlen);

/*
 * Applies a parsed configData to the device's current attributes (cur: a
 * JSON object of strings, or NULL for none; cur that is not an object
 * counts as none): merge adds or replaces the keys, replace makes them
 * the whole set, remove deletes them.  The result must hold at most
 * DDI_ATTR_MAX keys.  Returns 0 and *out_attrs (a new reference: the
 * attributes afterwards), or OTA_EINVAL with a reason in err, or
 * OTA_ENOMEM (*out_attrs NULL on failure).
 */
int ddi_config_merge(const struct ddi_config *cfg, const json_t *cur,
    json_t **out_attrs, char *err, size_t errlen);

/*
 * ddi_config_parse then ddi_config_merge, with their rules and returns.
 */
int ddi_config_apply(const json_t *body, const json_t *cur, json_t **out_attrs,
    char *err, size_t errlen);

/*
 * The attributes of a device for its REST JSON, from the stored JSON text
 * of its configData (NULL when none was received): a new reference to
 * the object, or to JSON null when there is none or the text is not a
 * JSON object.  Never NULL.
 */
json_t *ddi_attributes_json(const char *text);

/*
 * Reads the device's hardware revision and installed version from attrs
 * (a JSON object of strings) under the configured names hw_key and
 * version_key.  Each found value must be valid (descriptor_hardware_valid;
 * SemVer 2.0.0) and is copied out; an absent key (or a NULL or empty
 * key name, or attrs NULL) gives "".  Returns 0, or OTA_EINVAL with
 * "data.<key>: ..." in err (both outputs "" then).
 */
int ddi_attrs_device_facts(const json_t *attrs, const char *hw_key,
    const char *version_key, char out_hw[DESCRIPTOR_HW_LEN_MAX + 1],
    char out_version[SEMVER_MAX_LEN + 1], char *err, size_t errlen);

/*
 * The component versions a device's attributes report: every key
 * "<component>.version" whose <component> is a component name
 * (components_name_valid: "mcu.version", "sensor-hub.version") gives
 * out[i].name and out[i].version (hardware ""), at most max of them (the
 * rest ignored); other keys are not read.  A value that is not SemVer
 * 2.0.0 is refused.  Returns 0 and *out_n (0 for attrs NULL or not an
 * object), or OTA_EINVAL with "data.<key>: ..." in err (*out_n 0).
 */
int ddi_attrs_components(const json_t *attrs, struct component *out, size_t max,
    size_t *out_n, char *err, size_t errlen);

/*
 * The filename DDI clients see for an image: the descriptor's "filename"
 * when it has one, else "<name>-<version>.bin" (SWUpdate installs only
 * files named *.swu: release engineers set "filename" for it).  out gets
 * at most DESCRIPTOR_FILENAME_MAX bytes (a derived name too long is cut).
 */
void ddi_artifact_filename(
    const struct ota_descriptor *d, char out[DESCRIPTOR_FILENAME_MAX + 1]);

/* "HH:MM:SS" for 0..359999 seconds (hawkBit's polling sleep); larger
 * values are clamped to 99:59:59, negative ones to 00:00:00. */
void ddi_sleep_format(int64_t sec, char out[DDI_SLEEP_LEN]);

/*
 * The "c" query value of an action's deploymentBase link: 16 lowercase
 * hex digits of a BLAKE2b digest over everything the deployment shows
 * (action id and every member of a: image id, name, version, filename,
 * size, digests, hrefs), so it changes exactly when the content does.
 * NULL members hash differently from "".  Needs sodium_init done.
 */
struct ddi_artifact;
struct ddi_modes;
void ddi_action_hash(int64_t action_id, const struct ddi_artifact *a,
    const struct ddi_modes *modes, char out[DDI_HASH_LEN]);
/* The same over the chunks a[0..n) (each part name included when set). */
void ddi_action_hash_chunks(int64_t action_id, const struct ddi_artifact *a,
    size_t n, const struct ddi_modes *modes, char out[DDI_HASH_LEN]);

/*
 * A deployment's "download", "update" and "maintenanceWindow" (hawkBit's
 * handling types: "forced", "attempt", "skip"; "available",
 * "unavailable").
 */
struct ddi_modes {
	const char *download;
	const char *update;
	const char *window;
};

/*
 * The modes of an action whose rollout's action type is `action` now
 * (rollout_action_at: never time-forced) with the device inside
 * (window_open 1) or outside its maintenance windows, as hawkBit answers
 * them: forced -> forced/forced, soft -> attempt/attempt, download-only
 * -> forced/skip; outside the windows "update" is "skip" and
 * maintenanceWindow "unavailable" (download as the type says).  Static
 * strings.  Pure.
 */
void ddi_modes_of(
    enum rollout_action_type action, int window_open, struct ddi_modes *out);

/* The links of a poll answer; NULL members are left out. */
struct ddi_poll_links {
	const char *deployment_base; /* full href incl. ?c= */
	const char *cancel_action;
	const char *config_data;
	const char *installed_base;
	const char *confirmation_base; /* instead of deployment_base while
	                                * consent is asked */
};

/*
 * The poll answer: {"config":{"polling":{"sleep":"HH:MM:SS"}},
 * "_links":{...}} with only the links given ("_links" left out when
 * there are none).  Returns a new reference, or NULL (ENOMEM).
 */
json_t *ddi_poll_json(int64_t sleep_sec, const struct ddi_poll_links *links);

/* The one artifact of an image, as a deployment shows it. */
struct ddi_artifact {
	/* The chunk's "part": NULL for an image rollout's one chunk ("os"),
	 * the component of a bundle's part. */
	const char *part;
	int64_t image_id;    /* the software module id */
	const char *name;    /* image name: the chunk's "name" */
	const char *version; /* image version: the chunk's "version" */
	const char *filename;
	uint64_t size;
	const char *sha1_hex;
	const char *md5_hex;
	const char *sha256_hex;
	/* Absolute hrefs: the artifact, and its .MD5SUM. */
	const char *download_href;
	const char *md5sum_href;
};

/*
 * The deploymentBase (and installedBase) answer for action action_id:
 *   {"id":"<action>","deployment":{"download":..,"update":..,
 *    "maintenanceWindow":..,"chunks":[{"part":"os",
 *    "version":..,"name":..,"artifacts":[{"filename":..,"size":N,
 *    "hashes":{"sha1":..,"md5":..,"sha256":..},"_links":{"download":{..},
 *    "download-http":{..},"md5sum":{..},"md5sum-http":{..}}}]}]}}
 * (both download and download-http carry download_href: the scheme is
 * the one the client used).  A hash that is NULL or "" (not computed
 * yet) and links whose href is NULL are left out; name, version and
 * filename are required.  download, update and maintenanceWindow are
 * modes' (NULL: "forced", "forced", "available").  Returns a new
 * reference, or NULL (ENOMEM, a required member NULL, or not UTF-8).
 */
json_t *ddi_deployment_json(int64_t action_id, const struct ddi_artifact *a,
    const struct ddi_modes *modes);

/*
 * ddi_deployment_json with one chunk per artifact a[0..n) (n >= 1), in
 * that order: a bundle's parts to install, each chunk's "part" the
 * component (a[i].part).  Returns a new reference, or NULL.
 */
json_t *ddi_deployment_json_chunks(int64_t action_id,
    const struct ddi_artifact *a, size_t n, const struct ddi_modes *modes);

/* The cancelAction answer {"id":"<id>","cancelAction":{"stopId":"<id>"}}.
 * Returns a new reference, or NULL. */
json_t *ddi_cancel_json(int64_t action_id);

/* One of a device's actions that is not final, as the poll sees it. */
struct ddi_active {
	int64_t action_id;
	int64_t rollout_id;
	enum ddi_status status; /* open, running, canceling or
	                         * cancel_rejected */
	int rollout_aborted;    /* the rollout's state is aborted */
	int targeted;           /* the device is still in one of the
	                         * rollout's groups */
};

/* What a poll answers about actions. */
enum ddi_poll_kind {
	DDI_POLL_NONE,    /* no action link (maybe a new offer: see below) */
	DDI_POLL_CANCEL,  /* cancelAction for a[*out_index] */
	DDI_POLL_DEPLOY,  /* deploymentBase for a[*out_index] */
	DDI_POLL_CONFIRM, /* confirmationBase: the deployment awaits the
	                   * device's consent (never ddi_poll_decide's) */
};

/*
 * Decides a poll from the device's non-final actions a[0..n) and the
 * rollout the manifest rules offer now (offer_rollout_id, 0 for none):
 *   1. an action that is canceling, or open/running while its rollout
 *      is aborted or the device left it (not targeted), is cancelled:
 *      DDI_POLL_CANCEL for the lowest such action id (*out_mark_cancel
 *      = 1 when its status must become canceling first);
 *   2. else a running or cancel_rejected action is carried on to its
 *      end whatever the rollout does now (paused, completed):
 *      DDI_POLL_DEPLOY for the lowest such id;
 *   3. else an open action of the offered rollout: DDI_POLL_DEPLOY;
 *   4. else DDI_POLL_NONE (the caller creates the offered rollout's
 *      action when offer_rollout_id > 0, then deploys it).
 * An open action of a rollout no longer offered (paused, another wins)
 * is left waiting; closed/canceled entries are ignored.  *out_index and
 * *out_mark_cancel are 0 for DDI_POLL_NONE.  Pure; never fails.
 */
enum ddi_poll_kind ddi_poll_decide(const struct ddi_active *a, size_t n,
    int64_t offer_rollout_id, size_t *out_index, int *out_mark_cancel);

#endif
