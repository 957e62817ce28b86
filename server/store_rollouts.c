/*
 * store_rollouts: the rollouts, rollout_groups and rollout_events rows.
 * A rollout's state changes through store_rollout_update, which writes a
 * row the rollout service decided (rollout_decide) with its audit event,
 * inside the service's write transaction: two writers never both act on
 * the same old state.  Nothing here decides.  Stages are kept as a
 * JSON array of basis points.
 */
#include "store_rollouts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include "errors.h"
#include "log.h"
#include "store_internal.h"
#include "store_notify.h"

#define ROLLOUT_COLUMNS                                                        \
	"id, name, image_id, image_name, image_version, state, stage_index,"   \
	" stages_bp, salt, failure_threshold, min_reports, advance_after_sec," \
	" reason, created_at, created_by, started_at, stage_started_at,"       \
	" finished_at, updated_at, gate, gate_confidence, from_version,"       \
	" start_at, bundle_id, selector, maintenance_windows,"                 \
	" outside_window, action_type, forced_at, device_timeout, "            \
	"max_retries,"                                                         \
	" retry_backoff, abort_on, ignore_results, breach_action,"             \
	" max_offers_per_minute, rate_ramp_minutes, rate_ramp_max,"            \
	" require_consent, consent_retry"

/* The row is copied from the image, so it outlives the image's deletion;
 * no image row means no insert (RETURNING gives no row). */
static const char sql_insert[] =
    "INSERT INTO rollouts (name, image_id, image_name, image_version, state,"
    " stage_index, stages_bp, salt, failure_threshold, min_reports,"
    " advance_after_sec, created_at, created_by, updated_at, gate,"
    " gate_confidence, from_version, start_at, selector,"
    " maintenance_windows, outside_window, action_type, forced_at)"
    " SELECT ?1, id, name, version, 'draft', 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?8, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18 FROM images WHERE id = ?2"
    " RETURNING id";
/* A bundle's rollout: the same row, from the bundle. */
static const char sql_insert_bundle[] =
    "INSERT INTO rollouts (name, bundle_id, image_name, image_version, state,"
    " stage_index, stages_bp, salt, failure_threshold, min_reports,"
    " advance_after_sec, created_at, created_by, updated_at, gate,"
    " gate_confidence, from_version, start_at, selector,"
    " maintenance_windows, outside_window, action_type, forced_at)"
    " SELECT ?1, id, name, version, 'draft', 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?8, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18 FROM bundles WHERE id = "
    "?2"
    " RETURNING id";
static const char sql_group_insert[] =
    "INSERT INTO rollout_groups (rollout_id, group_id) VALUES (?1, ?2)";
static const char sql_get[] =
    "SELECT " ROLLOUT_COLUMNS " FROM rollouts WHERE id = ?1";
static const char sql_groups[] = "SELECT g.id, g.name FROM rollout_groups rg"
                                 " JOIN device_groups g ON g.id = rg.group_id"
                                 " WHERE rg.rollout_id = ?1 ORDER BY g.name";
static const char sql_list[] =
    "SELECT " ROLLOUT_COLUMNS " FROM rollouts"
    " WHERE (?1 IS NULL OR state = ?1) AND (?2 = 0 OR image_id = ?2)"
    " AND id > ?3 ORDER BY id LIMIT ?4";
static const char sql_update[] =
    "UPDATE rollouts SET state = ?2, stage_index = ?3, started_at = ?4,"
    " stage_started_at = ?5, finished_at = ?6, reason = ?7, updated_at = ?8"
    " WHERE id = ?1";
static const char sql_set_policy[] =
    "UPDATE rollouts SET failure_threshold = ?2, min_reports = ?3,"
    " advance_after_sec = ?4, gate = ?5, gate_confidence = ?6,"
    " updated_at = ?7, from_version = ?8, start_at = ?9, selector = ?10,"
    " maintenance_windows = ?11, outside_window = ?12, action_type = ?13,"
    " forced_at = ?14 WHERE id = ?1";
/* The stuck-device policy, written after the insert and by a patch. */
static const char sql_set_stuck[] =
    "UPDATE rollouts SET device_timeout = ?2, max_retries = ?3,"
    " retry_backoff = ?4, abort_on = ?5, ignore_results = ?6,"
    " breach_action = ?7, max_offers_per_minute = ?8,"
    " rate_ramp_minutes = ?9, rate_ramp_max = ?10, require_consent = ?11,"
    " consent_retry = ?12 WHERE id = ?1";
static const char sql_event_insert[] =
    "INSERT INTO rollout_events (rollout_id, at, action, actor, from_state,"
    " to_state, stage_index, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_events[] =
    "SELECT id, at, action, actor, from_state, to_state, stage_index, reason"
    " FROM rollout_events WHERE rollout_id = ?1 ORDER BY id LIMIT ?2";
static const char sql_image_in_use[] =
    "SELECT EXISTS (SELECT 1 FROM rollouts WHERE image_id = ?1"
    " AND state IN ('draft', 'running', 'paused'))";
/* A rollout without groups targets every device (its selector narrows
 * the offers: docs/rollouts.md). */
static const char sql_may_fetch[] =
    "SELECT EXISTS (SELECT 1 FROM rollouts r"
    " WHERE (r.image_id = ?1 OR r.bundle_id IN (SELECT bp.bundle_id"
    "  FROM bundle_parts bp WHERE bp.image_id = ?1))"
    " AND r.state <> 'draft' AND " STORE_SQL_TARGETS("r.id", "?2") ")";
/* Health (http_api_health.c).  A device in two target groups is one
 * device (its second column is the same in both rows).  A rollout without
 * groups (a selector's alone) has every device as a member: the second
 * part, whose condition on ?1 alone is evaluated once. */
static const char sql_members[] =
    "SELECT DISTINCT gm.device_id, CASE WHEN r.image_id IS NULL THEN -1"
    " WHEN EXISTS (SELECT 1 FROM image_hardware ih"
    "  WHERE ih.image_id = r.image_id AND ih.hardware = d.hardware) THEN 1"
    " ELSE 0 END"
    " FROM rollouts r JOIN rollout_groups rg ON rg.rollout_id = r.id"
    " JOIN group_members gm ON gm.group_id = rg.group_id"
    " JOIN devices d ON d.id = gm.device_id"
    " WHERE r.id = ?1"
    " UNION ALL SELECT d.id, CASE WHEN r.image_id IS NULL THEN -1"
    " WHEN EXISTS (SELECT 1 FROM image_hardware ih"
    "  WHERE ih.image_id = r.image_id AND ih.hardware = d.hardware) THEN 1"
    " ELSE 0 END"
    " FROM rollouts r JOIN devices d ON 1 = 1 WHERE r.id = ?1"
    " AND NOT EXISTS (SELECT 1 FROM rollout_groups rg"
    "  WHERE rg.rollout_id = ?1)";
/* sql_members with each member's installed version ('' never reported)
 * and labels, by how many target groups the rollout has (group_count).
 * With two or more, a device in two of them is one device: DISTINCT, a
 * sort (SQLite: a temp B-tree) of every member.  With one, the common
 * case, each member is there once already (group_members' key): the walk
 * at 1,000,000 members costs about half without the sort.  With none (a
 * selector's alone), every device is a member. */
#define MEMBER_VERSIONS_COLS                                                   \
	" CASE WHEN r.image_id IS NULL THEN -1"                                \
	" WHEN EXISTS (SELECT 1 FROM image_hardware ih"                        \
	"  WHERE ih.image_id = r.image_id AND ih.hardware = d.hardware) THEN " \
	"1"                                                                    \
	" ELSE 0 END, COALESCE(d.version, ''), d.labels"
#define MEMBER_VERSIONS_FROM                                                   \
	MEMBER_VERSIONS_COLS                                                   \
	" FROM rollouts r JOIN rollout_groups rg ON rg.rollout_id = r.id"      \
	" JOIN group_members gm ON gm.group_id = rg.group_id"                  \
	" JOIN devices d ON d.id = gm.device_id"                               \
	" WHERE r.id = ?1"
static const char sql_member_versions[] =
    "SELECT DISTINCT gm.device_id," MEMBER_VERSIONS_FROM;
static const char sql_member_versions_one[] =
    "SELECT gm.device_id," MEMBER_VERSIONS_FROM;
static const char sql_member_versions_all[] =
    "SELECT d.id," MEMBER_VERSIONS_COLS
    " FROM rollouts r JOIN devices d ON 1 = 1 WHERE r.id = ?1";
static const char sql_group_count[] =
    "SELECT count(*) FROM rollout_groups WHERE rollout_id = ?1";
/* An advance out of the last stage completes the rollout at that stage:
 * not a stage start. */
static const char sql_stage_starts[] =
    "SELECT stage_index, min(at) FROM rollout_events"
    " WHERE rollout_id = ?1 AND action IN ('start', 'advance')"
    " AND to_state <> 'completed' GROUP BY stage_index";
static const char sql_count_by_state[] =
    "SELECT state, count(*) FROM rollouts GROUP BY state";

/* Column indexes of ROLLOUT_COLUMNS. */
enum {
	COL_ID,
	COL_NAME,
	COL_IMAGE_ID,
	COL_IMAGE_NAME,
	COL_IMAGE_VERSION,
	COL_STATE,
	COL_STAGE_INDEX,
	COL_STAGES_BP,
	COL_SALT,
	COL_FAILURE_THRESHOLD,
	COL_MIN_REPORTS,
	COL_ADVANCE_AFTER,
	COL_REASON,
	COL_CREATED_AT,
	COL_CREATED_BY,
	COL_STARTED_AT,
	COL_STAGE_STARTED_AT,
	COL_FINISHED_AT,
	COL_UPDATED_AT,
	COL_GATE,
	COL_GATE_CONFIDENCE,
	COL_FROM_VERSION,
	COL_START_AT,
	COL_BUNDLE_ID,
	COL_SELECTOR,
	COL_WINDOWS,
	COL_OUTSIDE,
	COL_ACTION_TYPE,
	COL_FORCED_AT,
	COL_DEVICE_TIMEOUT,
	COL_MAX_RETRIES,
	COL_RETRY_BACKOFF,
	COL_ABORT_ON,
	COL_IGNORE_RESULTS,
	COL_BREACH_ACTION,
	COL_MAX_OFFERS,
	COL_RATE_RAMP_MIN,
	COL_RATE_RAMP_MAX,
	COL_REQUIRE_CONSENT,
	COL_CONSENT_RETRY
};

/*
 * Writes stages_bp[0..n) as a JSON array ("[100,500,2500,10000]") into
 * out[outlen].  Returns 0, or OTA_EINVAL when a value or n is out of range.
 */
static int
stages_to_text(const uint16_t *bp, int n, char *out, size_t outlen)
{
	size_t used = 0;
	int w;

	if (n < 1 || n > ROLLOUT_MAX_STAGES)
		return OTA_EINVAL;
	out[used++] = '[';
	for (int i = 0; i < n; i++) {
		if (bp[i] < 1 || bp[i] > ROLLOUT_BP_FULL ||
		    (i > 0 && bp[i] <= bp[i - 1]))
			return OTA_EINVAL;
		w = snprintf(out + used, outlen - used, "%s%u", i ? "," : "",
		    (unsigned)bp[i]);
		if (w < 0 || (size_t)w >= outlen - used)
			return OTA_EINVAL;
		used += (size_t)w;
	}
	if (used + 2 > outlen)
		return OTA_EINVAL;
	out[used++] = ']';
	out[used] = '\0';
	return 0;
}

/* Parses the stages_bp column text into r.  Returns 0 or -1. */
static int
stages_from_text(const char *text, struct store_rollout *r)
{
	json_t *arr, *v;
	size_t i;
	int rc = -1;

	arr = json_loads(text != NULL ? text : "", 0, NULL);
	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > ROLLOUT_MAX_STAGES)
		goto out;
	json_array_foreach(arr, i, v) {
		json_int_t bp = json_integer_value(v);

		if (!json_is_integer(v) || bp < 1 || bp > ROLLOUT_BP_FULL)
			goto out;
		r->stages_bp[i] = (uint16_t)bp;
	}
	r->stage_count = (int)json_array_size(arr);
	rc = 0;
out:
	json_decref(arr);
	return rc;
}

/* Loads the groups of rollout r->id into r. */
static int
rollout_load_groups(struct store_conn *c, struct store_rollout *r)
{
	struct db_stmt *s = NULL;
	int rc, step;

	r->group_count = 0;
	if ((rc = store__prepare(c, sql_groups, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, r->id) != 0) {
		rc = store__dberr(c, "rollout_groups");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		struct store_rollout_group *g;

		if (r->group_count == STORE_ROLLOUT_GROUPS_MAX) {
			log_err("module=store op=rollout_groups id=%lld "
			        "err=\"more than %d groups\"",
			    (long long)r->id, STORE_ROLLOUT_GROUPS_MAX);
			rc = OTA_EDB;
			goto out;
		}
		g = &r->groups[r->group_count];
		g->id = db_column_int64(s, 0);
		if (store__column_text(s, 1, g->name, sizeof(g->name)) != 0) {
			log_err("module=store op=rollout_groups id=%lld "
			        "err=\"group name out of bounds\"",
			    (long long)r->id);
			rc = OTA_EDB;
			goto out;
		}
		r->group_count++;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "rollout_groups");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* The when-and-how-hard columns of the current row into r.  0 or -1. */
static int
rollout_when_from_row(struct db_stmt *s, struct store_rollout *r)
{
	char outside[16], type[16];

	if (store__column_text(
	        s, COL_WINDOWS, r->windows, sizeof(r->windows)) != 0 ||
	    store__column_text(s, COL_OUTSIDE, outside, sizeof(outside)) != 0 ||
	    rollout_outside_parse(outside, &r->outside_window) != 0 ||
	    store__column_text(s, COL_ACTION_TYPE, type, sizeof(type)) != 0 ||
	    rollout_action_type_parse(type, &r->action_type) != 0 ||
	    store__column_text(
	        s, COL_FORCED_AT, r->forced_at, sizeof(r->forced_at)) != 0)
		return -1;
	return 0;
}

/* Column col of s as a uint32_t; one out of range as UINT32_MAX, which
 * the rules refuse. */
static uint32_t
column_u32(struct db_stmt *s, int col)
{
	int64_t v = db_column_int64(s, col);

	return v >= 0 && v < UINT32_MAX ? (uint32_t)v : UINT32_MAX;
}

/* The stuck-device policy of the current row of s into r->stuck.  0, or
 * OTA_EDB for values the rules refuse. */
static int
stuck_from_row(struct db_stmt *s, struct store_rollout *r)
{
	struct rollout_stuck_policy *p = &r->stuck;
	char text[ROLLOUT_OUTCOMES_TEXT_MAX], action[16];
	int64_t retries = db_column_int64(s, COL_MAX_RETRIES);

	p->device_timeout_sec = db_column_int64(s, COL_DEVICE_TIMEOUT);
	p->max_retries = retries >= 0 && retries <= ROLLOUT_MAX_RETRIES_MAX
	                     ? (uint32_t)retries
	                     : UINT32_MAX;
	p->retry_backoff_sec = db_column_int64(s, COL_RETRY_BACKOFF);
	p->max_offers_per_minute = column_u32(s, COL_MAX_OFFERS);
	p->rate_ramp_min = column_u32(s, COL_RATE_RAMP_MIN);
	p->rate_ramp_max = column_u32(s, COL_RATE_RAMP_MAX);
	p->require_consent = db_column_int64(s, COL_REQUIRE_CONSENT) != 0;
	p->consent_retry_sec = db_column_int64(s, COL_CONSENT_RETRY);
	if (store__column_text(s, COL_ABORT_ON, text, sizeof(text)) != 0 ||
	    rollout_outcomes_parse(text, &p->abort_on, NULL, 0) != 0 ||
	    store__column_text(s, COL_IGNORE_RESULTS, text, sizeof(text)) !=
	        0 ||
	    rollout_results_parse(text, &p->ignore_results, NULL, 0) != 0 ||
	    store__column_text(s, COL_BREACH_ACTION, action, sizeof(action)) !=
	        0 ||
	    rollout_breach_action_parse(action, &p->breach_action) != 0 ||
	    rollout_stuck_check(p, NULL, 0) != 0) {
		log_err("module=store op=rollout_load id=%lld err=\"stuck "
		        "policy out of bounds\"",
		    (long long)r->id);
		return OTA_EDB;
	}
	return 0;
}

/*
 * Fills r from the current row of s (ROLLOUT_COLUMNS), without groups.  A
 * row that breaks the table's invariants is a database error.
 */
static int
rollout_from_row(struct db_stmt *s, struct store_rollout *r)
{
	const void *salt;
	char state[16], gate[16];

	memset(r, 0, sizeof(*r));
	r->id = db_column_int64(s, COL_ID);
	r->image_id = db_column_is_null(s, COL_IMAGE_ID)
	                  ? 0
	                  : db_column_int64(s, COL_IMAGE_ID);
	r->stage_index = (int)db_column_int64(s, COL_STAGE_INDEX);
	r->failure_threshold = db_column_double(s, COL_FAILURE_THRESHOLD);
	r->min_reports = (uint64_t)db_column_int64(s, COL_MIN_REPORTS);
	r->advance_after_sec = db_column_int64(s, COL_ADVANCE_AFTER);
	r->gate_confidence = db_column_double(s, COL_GATE_CONFIDENCE);
	r->bundle_id = db_column_is_null(s, COL_BUNDLE_ID)
	                   ? 0
	                   : db_column_int64(s, COL_BUNDLE_ID);
	salt = db_column_blob(s, COL_SALT);
	if (salt == NULL ||
	    db_column_bytes(s, COL_SALT) != ROLLOUT_SALT_BYTES ||
	    store__column_text(s, COL_NAME, r->name, sizeof(r->name)) != 0 ||
	    store__column_text(
	        s, COL_IMAGE_NAME, r->image_name, sizeof(r->image_name)) != 0 ||
	    store__column_text(s, COL_IMAGE_VERSION, r->image_version,
	        sizeof(r->image_version)) != 0 ||
	    store__column_text(s, COL_STATE, state, sizeof(state)) != 0 ||
	    rollout_state_parse(state, &r->state) != 0 ||
	    store__column_text(s, COL_GATE, gate, sizeof(gate)) != 0 ||
	    rollout_gate_parse(gate, &r->gate) != 0 ||
	    stages_from_text(db_column_text(s, COL_STAGES_BP), r) != 0 ||
	    r->stage_index < 0 || r->stage_index >= r->stage_count ||
	    store__column_text(s, COL_REASON, r->reason, sizeof(r->reason)) !=
	        0 ||
	    store__column_text(
	        s, COL_CREATED_AT, r->created_at, sizeof(r->created_at)) != 0 ||
	    store__column_text(
	        s, COL_CREATED_BY, r->created_by, sizeof(r->created_by)) != 0 ||
	    store__column_text(
	        s, COL_STARTED_AT, r->started_at, sizeof(r->started_at)) != 0 ||
	    store__column_text(s, COL_STAGE_STARTED_AT, r->stage_started_at,
	        sizeof(r->stage_started_at)) != 0 ||
	    store__column_text(s, COL_FINISHED_AT, r->finished_at,
	        sizeof(r->finished_at)) != 0 ||
	    store__column_text(
	        s, COL_UPDATED_AT, r->updated_at, sizeof(r->updated_at)) != 0) {
		log_err("module=store op=rollout_load id=%lld err=\"row out of "
		        "bounds\"",
		    (long long)r->id);
		return OTA_EDB;
	}
	memcpy(r->salt, salt, ROLLOUT_SALT_BYTES);
	if (store__column_text(s, COL_FROM_VERSION, r->from_version,
	        sizeof(r->from_version)) != 0 ||
	    store__column_text(
	        s, COL_START_AT, r->start_at, sizeof(r->start_at)) != 0 ||
	    store__column_text(
	        s, COL_SELECTOR, r->selector, sizeof(r->selector)) != 0 ||
	    rollout_when_from_row(s, r) != 0) {
		log_err("module=store op=rollout_load id=%lld err=\"policy "
		        "out of bounds\"",
		    (long long)r->id);
		return OTA_EDB;
	}
	return stuck_from_row(s, r);
}

/* Appends one rollout_events row. */
static int
rollout_event_insert(struct store_conn *c, int64_t rollout_id, const char *at,
    const char *action, const char *actor, const char *from_state,
    const char *to_state, int stage_index, const char *reason)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_event_insert, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_text(s, 2, at) != 0 || db_bind_text(s, 3, action) != 0 ||
	    db_bind_text(s, 4, actor) != 0 ||
	    store__bind_text_or_null(s, 5, from_state) != 0 ||
	    db_bind_text(s, 6, to_state) != 0 ||
	    db_bind_int64(s, 7, stage_index) != 0 ||
	    db_bind_text(s, 8, reason != NULL ? reason : "") != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "rollout_event_insert");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Writes the stuck-device policy p of rollout id. */
static int
rollout_stuck_row(
    struct store_conn *c, int64_t id, const struct rollout_stuck_policy *p)
{
	char abort_on[ROLLOUT_OUTCOMES_TEXT_MAX];
	char ignore[ROLLOUT_RESULTS_TEXT_MAX];
	struct db_stmt *s = NULL;
	int rc;

	if (rollout_stuck_check(p, NULL, 0) != 0)
		return OTA_EINVAL;
	rollout_outcomes_format(p->abort_on, abort_on, sizeof(abort_on));
	rollout_results_format(p->ignore_results, ignore, sizeof(ignore));
	if ((rc = store__prepare(c, sql_set_stuck, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0 ||
	    db_bind_int64(s, 2, p->device_timeout_sec) != 0 ||
	    db_bind_int64(s, 3, p->max_retries) != 0 ||
	    db_bind_int64(s, 4, p->retry_backoff_sec) != 0 ||
	    db_bind_text(s, 5, abort_on) != 0 ||
	    db_bind_text(s, 6, ignore) != 0 ||
	    db_bind_text(s, 7, rollout_breach_action_name(p->breach_action)) !=
	        0 ||
	    db_bind_int64(s, 8, p->max_offers_per_minute) != 0 ||
	    db_bind_int64(s, 9, p->rate_ramp_min) != 0 ||
	    db_bind_int64(s, 10, p->rate_ramp_max) != 0 ||
	    db_bind_int64(s, 11, p->require_consent ? 1 : 0) != 0 ||
	    db_bind_int64(s, 12, p->consent_retry_sec) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "rollout_stuck");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Writes the rollouts row of r; *out_id is its id, 0 when the image does
 * not exist. */
static int
rollout_insert_row(struct store_conn *c, const struct store_rollout_new *r,
    const char *stages, const char *now, int64_t *out_id)
{
	struct db_stmt *s = NULL;
	int rc, step;

	*out_id = 0;
	if ((rc = store__prepare(c,
	         r->bundle_id > 0 ? sql_insert_bundle : sql_insert, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, r->name != NULL ? r->name : "") != 0 ||
	    db_bind_int64(
	        s, 2, r->bundle_id > 0 ? r->bundle_id : r->image_id) != 0 ||
	    db_bind_text(s, 3, stages) != 0 ||
	    db_bind_blob(s, 4, r->salt, ROLLOUT_SALT_BYTES) != 0 ||
	    db_bind_double(s, 5, r->failure_threshold) != 0 ||
	    db_bind_int64(s, 6, (int64_t)r->min_reports) != 0 ||
	    db_bind_int64(s, 7, r->advance_after_sec) != 0 ||
	    db_bind_text(s, 8, now) != 0 ||
	    db_bind_text(s, 9, r->created_by) != 0 ||
	    db_bind_text(s, 10, rollout_gate_name(r->gate)) != 0 ||
	    db_bind_double(s, 11, r->gate_confidence) != 0 ||
	    db_bind_text(
	        s, 12, r->from_version != NULL ? r->from_version : "") != 0 ||
	    store__bind_text_or_null(s, 13, r->start_at) != 0 ||
	    db_bind_text(s, 14, r->selector != NULL ? r->selector : "") != 0 ||
	    db_bind_text(s, 15, r->windows != NULL ? r->windows : "") != 0 ||
	    db_bind_text(s, 16, rollout_outside_name(r->outside_window)) != 0 ||
	    db_bind_text(s, 17, rollout_action_type_name(r->action_type)) !=
	        0 ||
	    store__bind_text_or_null(s, 18, r->forced_at) != 0) {
		rc = store__dberr(c, "rollout_create");
		goto out;
	}
	/* RETURNING id: one row when the image exists, none otherwise. */
	if ((step = db_step(s)) == DB_ROW) {
		*out_id = db_column_int64(s, 0);
		step = db_step(s);
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "rollout_create");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Links rollout id to the group named name.  OTA_ENOTFOUND when there is
 * no such group, OTA_EINVAL when it is linked already (named twice). */
static int
rollout_insert_group(struct store_conn *c, int64_t id, const char *name)
{
	struct db_stmt *s = NULL;
	int64_t gid;
	int rc, step;

	if ((rc = store__group_id(c, name, &gid, "rollout_create")) != 0)
		goto out;
	if ((rc = store__prepare(c, sql_group_insert, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0 || db_bind_int64(s, 2, gid) != 0) {
		rc = store__dberr(c, "rollout_create");
		goto out;
	}
	step = db_step(s);
	if (step == DB_EUNIQUE) {
		rc = OTA_EINVAL;
		goto out;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "rollout_create");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_rollout_create(struct store_conn *c, const struct store_rollout_new *r,
    int64_t *out_id, char missing[STORE_GROUP_NAME_MAX + 1])
{
	char stages[ROLLOUT_MAX_STAGES * 6 + 3], now[21];
	int64_t id = 0;
	int rc, in_tx = 0;

	*out_id = 0;
	if (missing != NULL)
		missing[0] = '\0';
	if (r->group_count > STORE_ROLLOUT_GROUPS_MAX ||
	    (r->groups == NULL && r->group_count > 0) ||
	    rollout_targets_check(r->group_count, r->selector, NULL, 0) != 0 ||
	    r->salt == NULL || r->created_by == NULL ||
	    strlen(r->created_by) > 64 ||
	    (r->name != NULL && strlen(r->name) > STORE_ROLLOUT_NAME_MAX) ||
	    r->min_reports > INT64_MAX || rollout_gate_name(r->gate) == NULL ||
	    rollout_outside_name(r->outside_window) == NULL ||
	    rollout_action_type_name(r->action_type) == NULL ||
	    (r->windows != NULL && strlen(r->windows) >= MWINDOW_TEXT_MAX) ||
	    stages_to_text(
	        r->stages_bp, r->stage_count, stages, sizeof(stages)) != 0) {
		rc = OTA_EINVAL;
		goto out;
	}
	store_now_rfc3339(now);
	if ((rc = store_begin(c)) != 0)
		goto out;
	in_tx = 1;
	if ((rc = rollout_insert_row(c, r, stages, now, &id)) != 0)
		goto out;
	if (id == 0) {
		rc = OTA_ENOTFOUND;
		goto out;
	}
	if (r->stuck != NULL && (rc = rollout_stuck_row(c, id, r->stuck)) != 0)
		goto out;
	for (size_t i = 0; i < r->group_count; i++) {
		rc = rollout_insert_group(c, id, r->groups[i]);
		if (rc == OTA_ENOTFOUND && missing != NULL)
			snprintf(missing, STORE_GROUP_NAME_MAX + 1, "%s",
			    r->groups[i]);
		if (rc != 0)
			goto out;
	}
	if ((rc = rollout_event_insert(c, id, now, "create", r->created_by,
	         NULL, rollout_state_name(ROLLOUT_DRAFT), 0, "")) != 0)
		goto out;
	if ((rc = store_notify_rollouts(c)) != 0)
		goto out;
	in_tx = 0;
	if ((rc = store_commit(c)) != 0)
		goto out;
	log_info("module=store op=rollout_create id=%lld image_id=%lld "
	         "groups=%zu stages=%s by=%s",
	    (long long)id, (long long)r->image_id, r->group_count, stages,
	    r->created_by);
	*out_id = id;
out:
	if (in_tx)
		store_rollback(c);
	return rc;
}

int
store_rollout_get(struct store_conn *c, int64_t id, struct store_rollout *out)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_get, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, id) != 0) {
		rc = store__dberr(c, "rollout_get");
		goto out;
	}
	if ((rc = store__step_one(c, s, "rollout_get")) != 0)
		goto out;
	if ((rc = rollout_from_row(s, out)) != 0)
		goto out;
	store__done(s);
	s = NULL;
	rc = rollout_load_groups(c, out);
out:
	store__done(s);
	return rc;
}

/* store__list row of rollout_list: the rollout and its groups (read with
 * another statement while this one is between rows; the driver allows
 * that on one connection).  arg is the connection. */
static int
rollout_list_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_rollout *r = elem;
	int rc;

	if ((rc = rollout_from_row(s, r)) != 0)
		return rc;
	return rollout_load_groups(arg, r);
}

int
store_rollout_list(struct store_conn *c, const struct store_rollout_filter *f,
    struct store_rollout **out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (f->limit < 1 || f->limit > 1000 ||
	    (f->state != -1 &&
	        rollout_state_name((enum rollout_state)f->state) == NULL) ||
	    f->image_id < 0 || f->after_id < 0) {
		rc = OTA_EINVAL;
		goto out;
	}
	if ((rc = store__prepare(c, sql_list, &s)) != 0)
		goto out;
	if ((f->state == -1 ? db_bind_null(s, 1)
	                    : db_bind_text(s, 1,
	                          rollout_state_name(
	                              (enum rollout_state)f->state))) != 0 ||
	    db_bind_int64(s, 2, f->image_id) != 0 ||
	    db_bind_int64(s, 3, f->after_id) != 0 ||
	    db_bind_int64(s, 4, f->limit) != 0) {
		rc = store__dberr(c, "rollout_list");
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), (size_t)f->limit,
	    rollout_list_row, c, NULL, out, out_n, "rollout_list");
out:
	store__done(s);
	return rc;
}

/* Writes r's changeable columns (the state and what goes with it). */
static int
rollout_update_row(struct store_conn *c, const struct store_rollout *r)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_update, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, r->id) != 0 ||
	    db_bind_text(s, 2, rollout_state_name(r->state)) != 0 ||
	    db_bind_int64(s, 3, r->stage_index) != 0 ||
	    store__bind_text_or_null(s, 4, r->started_at) != 0 ||
	    store__bind_text_or_null(s, 5, r->stage_started_at) != 0 ||
	    store__bind_text_or_null(s, 6, r->finished_at) != 0 ||
	    db_bind_text(s, 7, r->reason) != 0 ||
	    db_bind_text(s, 8, r->updated_at) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "rollout_update");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* 1 when an audit event can carry actor and reason (NULL: ""). */
static int
audit_fits(const char *actor, const char *reason)
{
	return actor != NULL && actor[0] != '\0' && strlen(actor) <= 64 &&
	       (reason == NULL || strlen(reason) <= STORE_ROLLOUT_REASON_MAX);
}

int
store_rollout_change_valid(
    const char *actor, const char *reason, enum rollout_action a)
{
	return audit_fits(actor, reason) && rollout_action_name(a) != NULL
	           ? 0
	           : OTA_EINVAL;
}

int
store_rollout_update(struct store_conn *c, const struct store_rollout *r,
    enum rollout_action a, enum rollout_state from, const char *actor,
    const char *reason)
{
	int rc;

	if (reason == NULL)
		reason = "";
	if (store_rollout_change_valid(actor, reason, a) != 0 ||
	    rollout_state_name(from) == NULL ||
	    rollout_state_name(r->state) == NULL)
		return OTA_EINVAL;
	if ((rc = rollout_update_row(c, r)) != 0)
		return rc;
	/* Every node's offers reload, if this transaction commits. */
	if ((rc = store_notify_rollouts(c)) != 0)
		return rc;
	return rollout_event_insert(c, r->id, r->updated_at,
	    rollout_action_name(a), actor, rollout_state_name(from),
	    rollout_state_name(r->state), r->stage_index, reason);
}

/* store__list row of rollout_events. */
static int
rollout_event_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_rollout_event *e = elem;

	(void)arg;
	e->id = db_column_int64(s, 0);
	e->stage_index = (int)db_column_int64(s, 6);
	if (store__column_text(s, 1, e->at, sizeof(e->at)) != 0 ||
	    store__column_text(s, 2, e->action, sizeof(e->action)) != 0 ||
	    store__column_text(s, 3, e->actor, sizeof(e->actor)) != 0 ||
	    store__column_text(s, 4, e->from_state, sizeof(e->from_state)) !=
	        0 ||
	    store__column_text(s, 5, e->to_state, sizeof(e->to_state)) != 0 ||
	    store__column_text(s, 7, e->reason, sizeof(e->reason)) != 0) {
		log_err("module=store op=rollout_events id=%lld "
		        "err=\"row out of bounds\"",
		    (long long)e->id);
		return OTA_EDB;
	}
	return 0;
}

/* Writes r's policy columns and updated_at. */
static int
rollout_policy_row(struct store_conn *c, const struct store_rollout *r)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_set_policy, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, r->id) != 0 ||
	    db_bind_double(s, 2, r->failure_threshold) != 0 ||
	    db_bind_int64(s, 3, (int64_t)r->min_reports) != 0 ||
	    db_bind_int64(s, 4, r->advance_after_sec) != 0 ||
	    db_bind_text(s, 5, rollout_gate_name(r->gate)) != 0 ||
	    db_bind_double(s, 6, r->gate_confidence) != 0 ||
	    db_bind_text(s, 7, r->updated_at) != 0 ||
	    db_bind_text(s, 8, r->from_version) != 0 ||
	    store__bind_text_or_null(s, 9, r->start_at) != 0 ||
	    db_bind_text(s, 10, r->selector) != 0 ||
	    db_bind_text(s, 11, r->windows) != 0 ||
	    db_bind_text(s, 12, rollout_outside_name(r->outside_window)) != 0 ||
	    db_bind_text(s, 13, rollout_action_type_name(r->action_type)) !=
	        0 ||
	    store__bind_text_or_null(s, 14, r->forced_at) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "rollout_set_policy");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_rollout_set_policy(struct store_conn *c, const struct store_rollout *r,
    const char *actor, const char *changes)
{
	int rc;

	if (changes == NULL)
		changes = "";
	if (!audit_fits(actor, changes) ||
	    rollout_state_name(r->state) == NULL ||
	    rollout_gate_name(r->gate) == NULL ||
	    rollout_outside_name(r->outside_window) == NULL ||
	    rollout_action_type_name(r->action_type) == NULL)
		return OTA_EINVAL;
	if ((rc = rollout_policy_row(c, r)) != 0 ||
	    (rc = rollout_stuck_row(c, r->id, &r->stuck)) != 0)
		return rc;
	if ((rc = store_notify_rollouts(c)) != 0)
		return rc;
	return rollout_event_insert(c, r->id, r->updated_at, "update", actor,
	    rollout_state_name(r->state), rollout_state_name(r->state),
	    r->stage_index, changes);
}

int
store_rollout_events(struct store_conn *c, int64_t rollout_id, int limit,
    struct store_rollout_event **out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (limit < 1 || limit > 1000) {
		rc = OTA_EINVAL;
		goto out;
	}
	if ((rc = store__prepare(c, sql_events, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_int64(s, 2, limit) != 0) {
		rc = store__dberr(c, "rollout_events");
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), (size_t)limit, rollout_event_row,
	    NULL, NULL, out, out_n, "rollout_events");
out:
	store__done(s);
	return rc;
}

int
store_rollout_image_in_use(struct store_conn *c, int64_t image_id)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_image_in_use, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, image_id) != 0 || db_step(s) != DB_ROW) {
		rc = store__dberr(c, "rollout_image_in_use");
		goto out;
	}
	rc = (int)db_column_int64(s, 0) != 0;
out:
	store__done(s);
	return rc;
}

int
store_rollout_device_may_fetch(
    struct store_conn *c, int64_t image_id, const char *device_id)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_may_fetch, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, image_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0 || db_step(s) != DB_ROW) {
		rc = store__dberr(c, "rollout_may_fetch");
		goto out;
	}
	rc = (int)db_column_int64(s, 0) != 0;
out:
	store__done(s);
	return rc;
}

int
store_rollout_members(struct store_conn *c, int64_t rollout_id,
    int (*fn)(void *ctx, const char *device_id, int image_fits), void *ctx)
{
	struct db_stmt *s = NULL;
	int rc, step;

	if ((rc = store__prepare(c, sql_members, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "rollout_members");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		const char *id = db_column_text(s, 0);

		if (id == NULL) {
			rc = store__dberr(c, "rollout_members");
			goto out;
		}
		if ((rc = fn(ctx, id, (int)db_column_int64(s, 1))) != 0)
			goto out;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "rollout_members");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* How many target groups rollout id has, into *out.  0 or OTA_EDB. */
static int
group_count(struct store_conn *c, int64_t id, int *out)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_group_count, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, id) != 0 || db_step(s) != DB_ROW)
		rc = store__dberr(c, "rollout_group_count");
	else
		*out = (int)db_column_int64(s, 0);
	store__done(s);
	return rc;
}

int
store_rollout_member_versions(struct store_conn *c, int64_t rollout_id,
    int (*fn)(void *ctx, const char *device_id, int image_fits,
        const char *version, const char *labels),
    void *ctx)
{
	struct db_stmt *s = NULL;
	int rc, step, groups = 0;

	if ((rc = group_count(c, rollout_id, &groups)) != 0 ||
	    (rc = store__prepare(c,
	         groups == 0   ? sql_member_versions_all
	         : groups == 1 ? sql_member_versions_one
	                       : sql_member_versions,
	         &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "rollout_member_versions");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		const char *id = db_column_text(s, 0);
		const char *ver = db_column_text(s, 2);
		const char *labels = db_column_text(s, 3);

		if (id == NULL) {
			rc = store__dberr(c, "rollout_member_versions");
			goto out;
		}
		if ((rc = fn(ctx, id, (int)db_column_int64(s, 1),
		         ver != NULL ? ver : "",
		         labels != NULL ? labels : "{}")) != 0)
			goto out;
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "rollout_member_versions");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_rollout_stage_starts(
    struct store_conn *c, int64_t rollout_id, char out[ROLLOUT_MAX_STAGES][21])
{
	struct db_stmt *s = NULL;
	int rc, step;

	memset(out, 0, ROLLOUT_MAX_STAGES * sizeof(out[0]));
	if ((rc = store__prepare(c, sql_stage_starts, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "rollout_stage_starts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		int i = (int)db_column_int64(s, 0);

		if (i < 0 || i >= ROLLOUT_MAX_STAGES ||
		    store__column_text(s, 1, out[i], sizeof(out[i])) != 0) {
			log_err("module=store op=rollout_stage_starts id=%lld "
			        "err=\"row out of bounds\"",
			    (long long)rollout_id);
			rc = OTA_EDB;
			goto out;
		}
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "rollout_stage_starts");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_rollout_count_by_state(
    struct store_conn *c, uint64_t out[ROLLOUT_ABORTED + 1])
{
	struct db_stmt *s = NULL;
	int rc, step;

	memset(out, 0, (ROLLOUT_ABORTED + 1) * sizeof(out[0]));
	if ((rc = store__prepare(c, sql_count_by_state, &s)) != 0)
		goto out;
	while ((step = db_step(s)) == DB_ROW) {
		enum rollout_state st;
		char name[16];

		if (store__column_text(s, 0, name, sizeof(name)) != 0 ||
		    rollout_state_parse(name, &st) != 0) {
			log_err("module=store op=rollout_count_by_state "
			        "err=\"unknown state\"");
			rc = OTA_EDB;
			goto out;
		}
		out[st] = (uint64_t)db_column_int64(s, 1);
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "rollout_count_by_state");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}
