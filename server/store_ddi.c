/*
 * store_ddi: the ddi_actions, ddi_feedback and device_attributes rows of
 * hawkBit DDI.  The status rules are ddi.c's: a feedback is written only
 * if the action still has the status the caller computed the effect from
 * (checked inside the writing transaction).  The poll reads, on the hot
 * path, are one statement of indexed probes (its own snapshot).
 */
#include "store_ddi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "store_internal.h"
#include "timeutil.h"

/* An action with its rollout's facts; "targeted" walks the rollout's
 * groups (rollout_groups key) and probes each for the device
 * (group_members key). */
#define ACTION_COLUMNS                                                         \
	"a.id, a.rollout_id, a.device_id, a.status, a.result, r.state,"        \
	" " STORE_SQL_TARGETS(                                                 \
	    "a.rollout_id", "a.device_id") ","                                 \
	                                   " r.image_id, r.image_version, "    \
	                                   "a.created_at, a.updated_at,"       \
	                                   " a.closed_at, r.bundle_id, "       \
	                                   "a.parts"                           \
	                                   " FROM ddi_actions a JOIN "         \
	                                   "rollouts r ON r.id = a.rollout_id"

/*
 * What a poll reads, in one statement (one snapshot, no transaction to
 * open): the device's slice of ddi_actions_device, newest first - what is
 * not final (except an action never started of a completed rollout:
 * nothing can deploy or cancel it any more), and what is final of a
 * rollout still offered (running or paused) - each row followed by two
 * probes evaluated once (the device_attributes key, and the device's
 * closed actions newest first).  The one-row left side makes a device
 * without actions one row of NULL actions with its probes.
 */
static const char sql_poll[] =
    "SELECT x.*, (SELECT refresh FROM device_attributes"
    " WHERE device_id = ?1),"
    " (SELECT id FROM ddi_actions WHERE device_id = ?1 AND status = 'closed'"
    " AND result = 'success' ORDER BY id DESC LIMIT 1)"
    " FROM (SELECT 1 AS one) o LEFT JOIN (SELECT " ACTION_COLUMNS
    " WHERE a.device_id = ?1"
    " AND ((a.status NOT IN ('closed', 'canceled')"
    " AND NOT (a.status = 'open' AND r.state = 'completed'))"
    " OR r.state IN ('running', 'paused')) ORDER BY a.id DESC LIMIT ?2) x"
    " ON 1 = 1 ORDER BY x.id DESC";
static const char sql_installed[] =
    "SELECT " ACTION_COLUMNS " WHERE a.device_id = ?1 AND a.status = 'closed'"
    " AND a.result = 'success' ORDER BY a.id DESC LIMIT 1";
/* The join inserts nothing for a missing rollout or device, where the
 * foreign keys would fail the statement. */
static const char sql_action_insert[] =
    "INSERT INTO ddi_actions (rollout_id, device_id, status,"
    " created_at, updated_at, attempt) SELECT r.id, d.id, 'open', ?3, ?3, ?4"
    " FROM rollouts r, devices d WHERE r.id = ?1 AND d.id = ?2"
    " ON CONFLICT DO NOTHING";
static const char sql_action_find[] =
    "SELECT " ACTION_COLUMNS " WHERE a.rollout_id = ?1"
    " AND a.device_id = ?2 AND a.attempt = ?3";
static const char sql_action_get[] =
    "SELECT " ACTION_COLUMNS " WHERE a.id = ?1 AND a.device_id = ?2";
static const char sql_action_cancel[] =
    "UPDATE ddi_actions SET status = 'canceling', updated_at = ?2"
    " WHERE id = ?1 AND status IN ('open', 'running') RETURNING device_id";
/* The device's open or running actions of rollouts whose image does not
 * list hardware ?2 (as store_telemetry_cancel_unfit). */
static const char sql_actions_cancel_unfit[] =
    "UPDATE ddi_actions SET status = 'canceling', updated_at = ?3"
    " WHERE device_id = ?1 AND status IN ('open', 'running')"
    " AND rollout_id IN " STORE_SQL_ROLLOUTS_UNFIT;
static const char sql_action_status[] =
    "SELECT a.status, a.device_id, r.image_version, a.rollout_id"
    " FROM ddi_actions a"
    " JOIN rollouts r ON r.id = a.rollout_id WHERE a.id = ?1";
/* result and closed_at are set once, when the action becomes final. */
static const char sql_action_set[] =
    "UPDATE ddi_actions SET status = ?2, result = COALESCE(?3, result),"
    " closed_at = COALESCE(?4, closed_at), updated_at = ?5 WHERE id = ?1";
/* A confirmation answer, recorded while the action is still ?5. */
static const char sql_confirmation_insert[] =
    "INSERT INTO ddi_feedback (action_id, kind, execution, finished,"
    " progress_cnt, progress_of, details, status_after, received_at)"
    " SELECT id, 'confirmation', ?2, 'none', NULL, NULL, ?3, status, ?4"
    " FROM ddi_actions WHERE id = ?1 AND status = ?5";
static const char sql_feedback_insert[] =
    "INSERT INTO ddi_feedback (action_id, kind, execution, finished,"
    " progress_cnt, progress_of, details, status_after, received_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
/* A bundle's version is not the device's: its parts set the versions of
 * the components instead (sql_components_version). */
static const char sql_device_version[] =
    "UPDATE devices SET version = ?2 WHERE id = ?1 AND NOT EXISTS"
    " (SELECT 1 FROM rollouts WHERE id = ?3 AND bundle_id IS NOT NULL)";
static const char sql_components_version[] =
    "UPDATE device_components SET version = (SELECT i.version"
    " FROM rollouts r JOIN bundle_parts bp ON bp.bundle_id = r.bundle_id"
    " JOIN images i ON i.id = bp.image_id WHERE r.id = ?2"
    " AND bp.component = device_components.name)"
    " WHERE device_id = ?1 AND name IN (SELECT bp.component FROM rollouts r"
    " JOIN bundle_parts bp ON bp.bundle_id = r.bundle_id WHERE r.id = ?2)";
static const char sql_action_parts[] =
    "UPDATE ddi_actions SET parts = ?2 WHERE id = ?1 AND parts IS NULL";
static const char sql_actions_list[] =
    "SELECT " ACTION_COLUMNS " WHERE a.device_id = ?1 AND a.id > ?2"
    " ORDER BY a.id LIMIT ?3";
static const char sql_feedback_list[] =
    "SELECT id, action_id, kind, execution, finished, progress_cnt,"
    " progress_of, details, status_after, received_at FROM ddi_feedback"
    " WHERE action_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";
static const char sql_attrs_get[] =
    "SELECT attributes, received_at FROM device_attributes"
    " WHERE device_id = ?1";
static const char sql_attrs_put[] =
    "INSERT INTO device_attributes (device_id, attributes, received_at,"
    " refresh) VALUES (?1, ?2, ?3, 0) ON CONFLICT (device_id) DO UPDATE"
    " SET attributes = excluded.attributes,"
    " received_at = excluded.received_at, refresh = 0";
static const char sql_device_set[] =
    "UPDATE devices SET reported_hardware = COALESCE(?2, reported_hardware),"
    " version = COALESCE(?3, version) WHERE id = ?1";
static const char sql_attrs_refresh[] =
    "UPDATE device_attributes SET refresh = 1 WHERE device_id = ?1";

/* Column indexes of ACTION_COLUMNS. */
enum {
	COL_ID,
	COL_ROLLOUT_ID,
	COL_DEVICE_ID,
	COL_STATUS,
	COL_RESULT,
	COL_ROLLOUT_STATE,
	COL_TARGETED,
	COL_IMAGE_ID,
	COL_IMAGE_VERSION,
	COL_CREATED_AT,
	COL_UPDATED_AT,
	COL_CLOSED_AT,
	COL_BUNDLE_ID,
	COL_PARTS
};

/*
 * Fills a from the current row of s (ACTION_COLUMNS).  A row that breaks
 * the tables' invariants is a database error, logged naming op.
 */
static int
action_from_row(struct db_stmt *s, struct store_ddi_action *a, const char *op)
{
	char status[16];

	memset(a, 0, sizeof(*a));
	a->id = db_column_int64(s, COL_ID);
	a->rollout_id = db_column_int64(s, COL_ROLLOUT_ID);
	a->targeted = (int)db_column_int64(s, COL_TARGETED) != 0;
	a->image_id = db_column_is_null(s, COL_IMAGE_ID)
	                  ? 0
	                  : db_column_int64(s, COL_IMAGE_ID);
	a->bundle_id = db_column_is_null(s, COL_BUNDLE_ID)
	                   ? 0
	                   : db_column_int64(s, COL_BUNDLE_ID);
	if (store__column_text(
	        s, COL_DEVICE_ID, a->device_id, sizeof(a->device_id)) != 0 ||
	    store__column_text(s, COL_STATUS, status, sizeof(status)) != 0 ||
	    ddi_status_parse(status, &a->status) != 0 ||
	    store__column_text(s, COL_RESULT, a->result, sizeof(a->result)) !=
	        0 ||
	    store__column_text(s, COL_ROLLOUT_STATE, a->rollout_state,
	        sizeof(a->rollout_state)) != 0 ||
	    store__column_text(s, COL_IMAGE_VERSION, a->image_version,
	        sizeof(a->image_version)) != 0 ||
	    store__column_text(
	        s, COL_CREATED_AT, a->created_at, sizeof(a->created_at)) != 0 ||
	    store__column_text(
	        s, COL_UPDATED_AT, a->updated_at, sizeof(a->updated_at)) != 0 ||
	    store__column_text(
	        s, COL_CLOSED_AT, a->closed_at, sizeof(a->closed_at)) != 0 ||
	    store__column_text(s, COL_PARTS, a->parts, sizeof(a->parts)) != 0) {
		log_err("module=store op=%s id=%lld err=\"row out of bounds\"",
		    op, (long long)a->id);
		return OTA_EDB;
	}
	return 0;
}

/* Steps s, bound, expecting at most one action row into *out: 0,
 * OTA_ENOTFOUND or OTA_EDB. */
static int
action_step_one(struct store_conn *c, struct db_stmt *s,
    struct store_ddi_action *out, const char *op)
{
	int rc;

	if ((rc = store__step_one(c, s, op)) != 0)
		return rc;
	return action_from_row(s, out, op);
}

/* Column indexes of sql_poll's probes, after ACTION_COLUMNS. */
enum { COL_POLL_REFRESH = COL_PARTS + 1, COL_POLL_INSTALLED };

/* The probes of sql_poll's current row into out. */
static void
poll_probes(struct db_stmt *s, struct store_ddi_poll *out)
{
	/* No row: never received; refresh 1: asked again. */
	out->attributes_wanted = db_column_is_null(s, COL_POLL_REFRESH) ||
	                         (int)db_column_int64(s, COL_POLL_REFRESH) != 0;
	out->installed_action_id = db_column_is_null(s, COL_POLL_INSTALLED)
	                               ? 0
	                               : db_column_int64(s, COL_POLL_INSTALLED);
}

int
store_ddi_poll_facts(
    struct store_conn *c, const char *device_id, struct store_ddi_poll *out)
{
	struct db_stmt *s = NULL;
	int rc, step;

	out->action_count = 0;
	out->attributes_wanted = 1;
	out->installed_action_id = 0;
	if ((rc = store__prepare(c, sql_poll, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_int64(s, 2, STORE_DDI_POLL_ACTIONS_MAX) != 0) {
		rc = store__dberr(c, "ddi_poll_facts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		poll_probes(s, out);
		/* The one row of a device without actions has a NULL id. */
		if (db_column_is_null(s, COL_ID) ||
		    out->action_count == STORE_DDI_POLL_ACTIONS_MAX)
			continue;
		if ((rc = action_from_row(s, &out->actions[out->action_count],
		         "ddi_poll_facts")) != 0)
			goto out;
		out->action_count++;
	}
	rc = step == DB_DONE ? 0 : store__dberr(c, "ddi_poll_facts");
out:
	store__done(s);
	if (rc != 0)
		out->action_count = 0;
	return rc;
}

int
store_ddi_action_open(struct store_conn *c, int64_t rollout_id,
    const char *device_id, const char *now, struct store_ddi_action *out)
{
	return store_ddi_action_open_attempt(
	    c, rollout_id, device_id, 0, now, out);
}

int
store_ddi_action_open_attempt(struct store_conn *c, int64_t rollout_id,
    const char *device_id, uint32_t attempt, const char *now,
    struct store_ddi_action *out)
{
	struct db_stmt *s = NULL;
	int rc, created = 0;

	if (!timeutil_is_canonical(now)) {
		rc = OTA_EINVAL;
		goto out;
	}
	if ((rc = store__prepare(c, sql_action_insert, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0 ||
	    db_bind_text(s, 3, now) != 0 || db_bind_int64(s, 4, attempt) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_action_open");
		goto out;
	}
	created = db_changes(store__db(c)) == 1;
	store__done(s);
	s = NULL;
	if ((rc = store__prepare(c, sql_action_find, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0 ||
	    db_bind_int64(s, 3, attempt) != 0) {
		rc = store__dberr(c, "ddi_action_open");
		goto out;
	}
	if ((rc = action_step_one(c, s, out, "ddi_action_open")) != 0)
		goto out;
	if (created)
		log_debug("module=store op=ddi_action_open id=%lld "
		          "rollout=%lld device=%s attempt=%u",
		    (long long)out->id, (long long)rollout_id, device_id,
		    (unsigned)attempt);
out:
	store__done(s);
	if (rc == 0 && created)
		rc = store_devices_changed(c, device_id);
	return rc;
}

int
store_ddi_action_get(struct store_conn *c, const char *device_id,
    int64_t action_id, struct store_ddi_action *out)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_action_get, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, action_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0) {
		rc = store__dberr(c, "ddi_action_get");
		goto out;
	}
	rc = action_step_one(c, s, out, "ddi_action_get");
out:
	store__done(s);
	return rc;
}

/*
 * Reads action_id's status, device, rollout image version and rollout id
 * (any out pointer but out may be NULL).  Returns 0, OTA_ENOTFOUND or
 * OTA_EDB.
 */
static int
action_status(struct store_conn *c, int64_t action_id, enum ddi_status *out,
    char out_device[STORE_DEVICE_ID_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_rollout_id,
    const char *op)
{
	struct db_stmt *s = NULL;
	char status[16], device[STORE_DEVICE_ID_MAX + 1];
	char version[STORE_VERSION_MAX + 1];
	int rc;

	if ((rc = store__prepare(c, sql_action_status, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, action_id) != 0) {
		rc = store__dberr(c, op);
		goto out;
	}
	if ((rc = store__step_one(c, s, op)) != 0)
		goto out;
	if (store__column_text(s, 0, status, sizeof(status)) != 0 ||
	    ddi_status_parse(status, out) != 0 ||
	    store__column_text(s, 1, device, sizeof(device)) != 0 ||
	    store__column_text(s, 2, version, sizeof(version)) != 0) {
		log_err("module=store op=%s id=%lld err=\"row out of bounds\"",
		    op, (long long)action_id);
		rc = OTA_EDB;
		goto out;
	}
	if (out_device != NULL)
		memcpy(out_device, device, sizeof(device));
	if (out_version != NULL)
		memcpy(out_version, version, sizeof(version));
	if (out_rollout_id != NULL)
		*out_rollout_id = db_column_int64(s, 3);
out:
	store__done(s);
	return rc;
}

int
store_ddi_action_cancel(
    struct store_conn *c, int64_t action_id, const char *now)
{
	struct db_stmt *s = NULL;
	char device[STORE_DEVICE_ID_MAX + 1];
	enum ddi_status cur;
	int rc, step;

	if (!timeutil_is_canonical(now)) {
		rc = OTA_EINVAL;
		goto out;
	}
	if ((rc = store__prepare(c, sql_action_cancel, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, action_id) != 0 ||
	    db_bind_text(s, 2, now) != 0 ||
	    ((step = db_step(s)) != DB_ROW && step != DB_DONE) ||
	    (step == DB_ROW &&
	        store__column_text(s, 0, device, sizeof(device)) != 0)) {
		rc = store__dberr(c, "ddi_action_cancel");
		goto out;
	}
	if (step == DB_ROW) {
		log_info("module=store op=ddi_action_cancel id=%lld "
		         "status=canceling",
		    (long long)action_id);
		store__done(s);
		s = NULL;
		rc = store_devices_changed(c, device);
		goto out;
	}
	/* Nothing changed: say why from the status it has now. */
	if ((rc = action_status(c, action_id, &cur, NULL, NULL, NULL,
	         "ddi_action_cancel")) != 0)
		goto out;
	rc = cur == DDI_CANCELING ? 0 : OTA_ECONFLICT;
out:
	store__done(s);
	return rc;
}

/* Inserts the ddi_feedback row of fb on action_id. */
static int
feedback_insert(struct store_conn *c, int64_t action_id, int is_cancel,
    const struct ddi_feedback *fb, const char *status_after, const char *now)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_feedback_insert, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, action_id) != 0 ||
	    db_bind_text(s, 2, is_cancel ? "cancel" : "deployment") != 0 ||
	    db_bind_text(s, 3, ddi_execution_name(fb->execution)) != 0 ||
	    db_bind_text(s, 4, ddi_finished_name(fb->finished)) != 0 ||
	    store__bind_int64_or_null(s, 5, fb->progress_cnt) != 0 ||
	    store__bind_int64_or_null(s, 6, fb->progress_of) != 0 ||
	    db_bind_text(s, 7, fb->details) != 0 ||
	    db_bind_text(s, 8, status_after) != 0 ||
	    db_bind_text(s, 9, now) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_feedback");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Writes the action's new status; result and closed_at are NULL to keep
 * the stored ones. */
static int
action_set(struct store_conn *c, int64_t action_id, const char *status,
    const char *result, const char *closed_at, const char *now)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_action_set, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, action_id) != 0 ||
	    db_bind_text(s, 2, status) != 0 ||
	    store__bind_text_or_null(s, 3, result) != 0 ||
	    store__bind_text_or_null(s, 4, closed_at) != 0 ||
	    db_bind_text(s, 5, now) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_feedback");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Sets device_id's installed version to version, the image version of
 * rollout_id; for a bundle's rollout, the versions of the components its
 * parts name instead. */
static int
device_version_set(struct store_conn *c, const char *device_id,
    const char *version, int64_t rollout_id)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_device_version, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_text(s, 2, version) != 0 ||
	    db_bind_int64(s, 3, rollout_id) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_feedback");
		goto out;
	}
	store__done(s);
	if ((rc = store__prepare(c, sql_components_version, &s)) != 0)
		return rc;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_int64(s, 2, rollout_id) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_feedback");
		goto out;
	}
	rc = store_devices_changed(c, device_id);
out:
	store__done(s);
	return rc;
}

int
store_ddi_action_set_parts(
    struct store_conn *c, int64_t action_id, const char *parts)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_action_parts, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, action_id) != 0 ||
	    db_bind_text(s, 2, parts) != 0 || db_step(s) != DB_DONE)
		rc = store__dberr(c, "ddi_action_parts");
	store__done(s);
	return rc;
}

int
store_ddi_feedback(struct store_conn *c, int64_t action_id, int is_cancel,
    const struct ddi_feedback *fb, enum ddi_status expect,
    const struct ddi_effect *effect, const char *now)
{
	char device[STORE_DEVICE_ID_MAX + 1], version[STORE_VERSION_MAX + 1];
	const char *status_after = ddi_status_name(effect->status);
	const char *result = NULL, *closed_at = NULL;
	enum ddi_status cur;
	int64_t rollout_id = 0;
	int rc, in_tx = 0, becomes_final;

	if (status_after == NULL || ddi_status_name(expect) == NULL ||
	    ddi_execution_name(fb->execution) == NULL ||
	    ddi_finished_name(fb->finished) == NULL ||
	    !timeutil_is_canonical(now)) {
		rc = OTA_EINVAL;
		goto out;
	}
	becomes_final =
	    !ddi_status_final(expect) && ddi_status_final(effect->status);
	if (becomes_final)
		closed_at = now;
	if (becomes_final && effect->status == DDI_CLOSED) {
		if (effect->state == UPDATE_COMPLETED)
			result = "success";
		else if (effect->state == UPDATE_FAILED)
			result = "failure";
	}
	/* Inside the caller's transaction when one is open (the service
	 * changes other tables with it). */
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &in_tx)) != 0)
		return rc;
	if ((rc = action_status(c, action_id, &cur, device, version,
	         &rollout_id, "ddi_feedback")) != 0)
		goto out;
	if (cur != expect) {
		rc = OTA_ECONFLICT;
		goto out;
	}
	if ((rc = feedback_insert(
	         c, action_id, is_cancel, fb, status_after, now)) != 0 ||
	    (rc = action_set(
	         c, action_id, status_after, result, closed_at, now)) != 0 ||
	    (rc = store_devices_changed(c, device)) != 0)
		goto out;
	if (effect->sets_version)
		rc = device_version_set(c, device, version, rollout_id);
out:
	if ((rc = store__tx_end(c, in_tx, rc)) == 0)
		log_debug("module=store op=ddi_feedback id=%lld device=%s "
		          "kind=%s execution=%s finished=%s from=%s to=%s",
		    (long long)action_id, device,
		    is_cancel ? "cancel" : "deployment",
		    ddi_execution_name(fb->execution),
		    ddi_finished_name(fb->finished), ddi_status_name(expect),
		    status_after);
	return rc;
}

int
store_ddi_actions_cancel_unfit(struct store_conn *c, const char *device_id,
    const char *hardware, const char *now, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out_n = 0;
	if (!timeutil_is_canonical(now))
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_actions_cancel_unfit, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_text(s, 2, hardware) != 0 || db_bind_text(s, 3, now) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_actions_cancel_unfit");
		goto out;
	}
	*out_n = (size_t)db_changes(store__db(c));
	if (*out_n > 0)
		rc = store_devices_changed(c, device_id);
out:
	store__done(s);
	return rc;
}

int
store_ddi_installed(
    struct store_conn *c, const char *device_id, struct store_ddi_action *out)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_installed, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0) {
		rc = store__dberr(c, "ddi_installed");
		goto out;
	}
	rc = action_step_one(c, s, out, "ddi_installed");
out:
	store__done(s);
	return rc;
}

/* store__list's row function over action_from_row (arg: the op). */
static int
action_row(struct db_stmt *s, void *elem, void *arg)
{
	return action_from_row(s, elem, arg);
}

int
store_ddi_actions_list(struct store_conn *c, const char *device_id,
    int64_t after_id, int limit, struct store_ddi_action **out, size_t *out_n)
{
	static char op[] = "ddi_actions_list";
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (limit < 1 || limit > STORE_DDI_LIST_MAX || after_id < 0)
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_actions_list, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_int64(s, 2, after_id) != 0 ||
	    db_bind_int64(s, 3, limit) != 0) {
		rc = store__dberr(c, op);
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), (size_t)limit, action_row, op,
	    NULL, out, out_n, op);
out:
	store__done(s);
	return rc;
}

/* Fills f from the current row of sql_feedback_list. */
static int
feedback_from_row(struct db_stmt *s, struct store_ddi_feedback_row *f)
{
	char kind[16];

	memset(f, 0, sizeof(*f));
	f->id = db_column_int64(s, 0);
	f->action_id = db_column_int64(s, 1);
	f->progress_cnt = db_column_is_null(s, 5) ? -1 : db_column_int64(s, 5);
	f->progress_of = db_column_is_null(s, 6) ? -1 : db_column_int64(s, 6);
	if (store__column_text(s, 2, kind, sizeof(kind)) != 0 ||
	    store__column_text(s, 3, f->execution, sizeof(f->execution)) != 0 ||
	    store__column_text(s, 4, f->finished, sizeof(f->finished)) != 0 ||
	    store__column_text(s, 7, f->details, sizeof(f->details)) != 0 ||
	    store__column_text(
	        s, 8, f->status_after, sizeof(f->status_after)) != 0 ||
	    store__column_text(s, 9, f->received_at, sizeof(f->received_at)) !=
	        0) {
		log_err("module=store op=ddi_feedback_list id=%lld "
		        "err=\"row out of bounds\"",
		    (long long)f->id);
		return OTA_EDB;
	}
	f->is_cancel = strcmp(kind, "cancel") == 0;
	return 0;
}

/* store__list's row function over feedback_from_row. */
static int
feedback_row(struct db_stmt *s, void *elem, void *arg)
{
	(void)arg;
	return feedback_from_row(s, elem);
}

int
store_ddi_feedback_list(struct store_conn *c, int64_t action_id,
    int64_t after_id, int limit, struct store_ddi_feedback_row **out,
    size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (limit < 1 || limit > STORE_DDI_LIST_MAX || after_id < 0)
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_feedback_list, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, action_id) != 0 ||
	    db_bind_int64(s, 2, after_id) != 0 ||
	    db_bind_int64(s, 3, limit) != 0) {
		rc = store__dberr(c, "ddi_feedback_list");
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), (size_t)limit, feedback_row, NULL,
	    NULL, out, out_n, "ddi_feedback_list");
out:
	store__done(s);
	return rc;
}

int
store_ddi_attributes_get(struct store_conn *c, const char *device_id,
    char **out_json, char out_received_at[21])
{
	struct db_stmt *s = NULL;
	const char *text;
	char at[21];
	int rc, step;

	*out_json = NULL;
	if (out_received_at != NULL)
		out_received_at[0] = '\0';
	if ((rc = store__prepare(c, sql_attrs_get, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0) {
		rc = store__dberr(c, "ddi_attributes_get");
		goto out;
	}
	step = db_step(s);
	if (step == DB_DONE) {
		rc = 0;
		goto out;
	}
	if (step != DB_ROW) {
		rc = store__dberr(c, "ddi_attributes_get");
		goto out;
	}
	text = db_column_text(s, 0);
	if (text == NULL || store__column_text(s, 1, at, sizeof(at)) != 0) {
		log_err("module=store op=ddi_attributes_get device=%s "
		        "err=\"row out of bounds\"",
		    device_id);
		rc = OTA_EDB;
		goto out;
	}
	if ((*out_json = strdup((const char *)text)) == NULL) {
		log_err("module=store op=ddi_attributes_get err=\"out of "
		        "memory\"");
		rc = OTA_ENOMEM;
		goto out;
	}
	if (out_received_at != NULL)
		memcpy(out_received_at, at, sizeof(at));
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Runs one of the upsert/update statements of attributes_put. */
static int
attrs_write(struct store_conn *c, const char *sql, const char *device_id,
    const char *a2, const char *a3)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    store__bind_text_or_null(s, 2, a2) != 0 ||
	    store__bind_text_or_null(s, 3, a3) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_attributes_put");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_ddi_attributes_put(struct store_conn *c, const char *device_id,
    const char *attrs_json, const char *hardware, const char *version,
    const char *now)
{
	int rc, in_tx = 0;

	if (hardware == NULL)
		hardware = "";
	if (version == NULL)
		version = "";
	if (attrs_json == NULL || attrs_json[0] == '\0' ||
	    strlen(hardware) > STORE_HARDWARE_MAX ||
	    strlen(version) > STORE_VERSION_MAX ||
	    !timeutil_is_canonical(now)) {
		rc = OTA_EINVAL;
		goto out;
	}
	/* Inside the caller's transaction when one is open (a merge reads
	 * the attributes first, in the same transaction). */
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &in_tx)) != 0)
		return rc;
	if ((rc = store__device_exists(c, device_id, "ddi_attributes_put")) !=
	    0)
		goto out;
	if ((rc = attrs_write(c, sql_attrs_put, device_id, attrs_json, now)) !=
	    0)
		goto out;
	if (hardware[0] != '\0' || version[0] != '\0')
		rc = attrs_write(
		    c, sql_device_set, device_id, hardware, version);
	/* The attributes are a poll's facts too (configData wanted). */
	if (rc == 0)
		rc = store_devices_changed(c, device_id);
out:
	if ((rc = store__tx_end(c, in_tx, rc)) == 0)
		log_debug("module=store op=ddi_attributes_put device=%s "
		          "hardware=%s version=%s",
		    device_id, hardware, version);
	return rc;
}

int
store_ddi_attributes_refresh(struct store_conn *c, const char *device_id)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_attrs_refresh, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_attributes_refresh");
		goto out;
	}
	/* No row: none received yet, already wanted; only the device's
	 * existence is left to tell. */
	if (db_changes(store__db(c)) == 0) {
		store__done(s);
		s = NULL;
		rc = store__device_exists(
		    c, device_id, "ddi_attributes_refresh");
		goto out;
	}
	log_info("module=store op=ddi_attributes_refresh device=%s", device_id);
	store__done(s);
	return store_devices_changed(c, device_id);
out:
	store__done(s);
	return rc;
}

int
store_ddi_confirmation(struct store_conn *c, int64_t action_id, int confirmed,
    const char *details, enum ddi_status expect, const char *now)
{
	struct db_stmt *s = NULL;
	int rc;

	if (ddi_status_name(expect) == NULL || details == NULL ||
	    !timeutil_is_canonical(now))
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_confirmation_insert, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, action_id) != 0 ||
	    db_bind_text(s, 2, confirmed ? "confirmed" : "denied") != 0 ||
	    db_bind_text(s, 3, details) != 0 || db_bind_text(s, 4, now) != 0 ||
	    db_bind_text(s, 5, ddi_status_name(expect)) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "ddi_confirmation");
		goto out;
	}
	rc = db_changes(store__db(c)) == 1 ? 0 : OTA_ECONFLICT;
out:
	store__done(s);
	return rc;
}
