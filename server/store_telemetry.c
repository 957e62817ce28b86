/*
 * store_telemetry: update_events and device_updates outside the writer's
 * groups (those are store_telemetry_write.c's): the facts of one event,
 * offers, silent reverts (an event of otad's own, stored with one INSERT
 * ... ON CONFLICT DO NOTHING whose key makes a retry a duplicate),
 * cancellations, counts and listings.  Statuses only change as
 * update_state_merge, the pure rules, allows, so the table never holds a
 * status the rules refuse.  Which events count is not decided here.
 * Nothing here opens a transaction around events: the writer thread
 * groups many batches in one.
 */
#include "store_telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle_state.h"
#include "errors.h"
#include "log.h"
#include "semver.h"
#include "store_internal.h"
#include "update_state.h"
#include "timeutil.h"

static const char sql_event_insert[] =
    "INSERT INTO update_events (device_id, event_id, rollout_id,"
    " version, state, progress, result, detail, device_ts, device_ts_ms,"
    " received_at, transport, component)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    " ON CONFLICT DO NOTHING";
static const char sql_update_get[] =
    "SELECT status, status_ts_ms FROM device_updates"
    " WHERE rollout_id = ?1 AND device_id = ?2";
/* The joins make an offer for a device or rollout deleted since the poll
 * insert nothing, where the foreign keys would fail the batch. */
static struct store_multi m_offers =
    STORE_MULTI_INIT("WITH v(r, d, ver, st, at, ats) AS (VALUES ",
        "(CAST(? AS BIGINT), ?, ?, CAST(? AS BIGINT), ?, CAST(? AS BIGINT))",
        ") INSERT INTO device_updates (rollout_id, device_id, version,"
        " status, stage_index, offered_at, updated_at, attempt_at)"
        " SELECT r.id, d.id,"
        " CASE WHEN v.ver = '' THEN r.image_version ELSE v.ver END, 'offered',"
        " CASE WHEN v.st < 0 THEN r.stage_index ELSE v.st END, v.at, v.at,"
        " v.ats"
        " FROM v JOIN rollouts r ON r.id = v.r JOIN devices d ON d.id = v.d"
        " WHERE 1 = 1 ON CONFLICT DO NOTHING RETURNING device_id",
        6);
/* A retry: a new attempt of the row the poll saw ended badly after ?3
 * retries (rollout_retry_decide); a row changed since is left alone. */
static const char sql_retry[] =
    "UPDATE device_updates SET status = 'offered', retries = retries + 1,"
    " attempt_at = ?5, offered_at = ?4, started_at = NULL,"
    " finished_at = NULL, progress = NULL, result = NULL,"
    " status_ts_ms = NULL, updated_at = ?4"
    " WHERE rollout_id = ?1 AND device_id = ?2"
    " AND status IN ('failed', 'timed_out') AND retries = ?3";
/* The sweep: the oldest unfinished attempts begun at or before ?2, from
 * the partial index device_updates_pending, each row then found by its
 * key.  The status is checked again on the row (PostgreSQL re-evaluates
 * it on a row a concurrent report just finished: that one is left
 * alone), in a CASE so that SQLite does not walk the (rollout_id, status)
 * index of every unfinished update instead. */
static const char sql_time_out[] =
    "UPDATE device_updates SET status = 'timed_out', finished_at = ?4,"
    " updated_at = ?4 WHERE rollout_id = ?1 AND device_id IN"
    " (SELECT device_id FROM device_updates WHERE rollout_id = ?1"
    " AND status IN ('offered', 'started', 'progress', 'accepted')"
    " AND attempt_at <= ?2 ORDER BY attempt_at LIMIT ?3)"
    " AND CASE WHEN status IN ('offered', 'started', 'progress',"
    " 'accepted') THEN 1"
    " ELSE 0 END = 1 RETURNING device_id";
/* The marks of a device: its unfinished and bad updates in rollouts that
 * may offer. */
static const char sql_marks[] =
    "SELECT du.rollout_id, du.status, du.retries, du.updated_at"
    " FROM device_updates du JOIN rollouts r ON r.id = du.rollout_id"
    " WHERE du.device_id = ?1 AND du.status IN ('offered', 'started',"
    " 'progress', 'failed', 'timed_out', 'accepted', 'declined')"
    " AND r.state IN ('running', 'paused')"
    " ORDER BY du.rollout_id DESC LIMIT ?2";
/* The completed updates of each device of the VALUES list (i: its
 * index).  Only completions recorded before the report (server times,
 * updated_at being when the row became completed): a report made before
 * the completion arrived (an agent saying its version at start, then
 * confirming the update a moment later) is not a revert.  A bundle
 * rollout's version is the bundle's, not the device's: its parts are
 * judged by the components a poll reports (store_telemetry_bundle_reverts).
 */
static struct store_multi m_completed = STORE_MULTI_INIT(
    "WITH v(i, d, at) AS (VALUES ", "(CAST(? AS BIGINT), ?, ?)",
    ") SELECT v.i, du.rollout_id, du.version,"
    " CASE WHEN du.updated_at < v.at THEN 1 ELSE 0 END"
    " FROM v JOIN device_updates du ON du.device_id = v.d"
    " JOIN rollouts r ON r.id = du.rollout_id AND r.bundle_id IS NULL"
    " WHERE du.status = 'completed' AND du.updated_at <= v.at"
    " ORDER BY v.i, du.rollout_id",
    3);
static const char sql_revert[] =
    "UPDATE device_updates SET status = 'reverted', status_ts_ms = ?3,"
    " progress = NULL, result = NULL, finished_at = ?4, updated_at = ?4"
    " WHERE rollout_id = ?1 AND device_id = ?2 AND status = 'completed'";
/* Every part of the bundle rollouts device ?1 is installing or completed,
 * with the version its component runs now and the part's own status. */
static const char sql_bundle_installed[] =
    "SELECT du.rollout_id, du.status, bp.component, i.version, dc.version,"
    " dup.status"
    " FROM device_updates du JOIN rollouts r ON r.id = du.rollout_id"
    " JOIN bundle_parts bp ON bp.bundle_id = r.bundle_id"
    " JOIN images i ON i.id = bp.image_id"
    " JOIN device_components dc"
    " ON dc.device_id = du.device_id AND dc.name = bp.component"
    " LEFT JOIN device_update_parts dup ON dup.rollout_id = du.rollout_id"
    " AND dup.device_id = du.device_id AND dup.component = bp.component"
    " WHERE du.device_id = ?1"
    " AND du.status IN ('started', 'progress', 'completed')"
    " AND dc.version IS NOT NULL ORDER BY du.rollout_id, bp.component";
static const char sql_bundle_revert[] =
    "UPDATE device_updates SET status = 'reverted', status_ts_ms = ?3,"
    " progress = NULL, result = NULL, finished_at = ?4, updated_at = ?4,"
    " component = ?5 WHERE rollout_id = ?1 AND device_id = ?2"
    " AND status IN ('started', 'progress', 'completed')";
static const char sql_part_revert[] =
    "INSERT INTO device_update_parts (rollout_id, device_id, component,"
    " status, status_ts_ms, result, updated_at)"
    " VALUES (?1, ?2, ?3, 'reverted', ?4, NULL, ?5)"
    " ON CONFLICT (rollout_id, device_id, component) DO UPDATE SET"
    " status = 'reverted', status_ts_ms = excluded.status_ts_ms,"
    " result = NULL, updated_at = excluded.updated_at";
static const char sql_component_failures[] =
    "SELECT component, status, COUNT(*) FROM device_updates"
    " WHERE rollout_id = ?1 AND status IN ('failed', 'reverted')"
    " AND component IS NOT NULL GROUP BY component, status"
    " ORDER BY component";
static const char sql_cancel[] =
    "UPDATE device_updates SET status = 'canceled', finished_at = ?3,"
    " updated_at = ?3 WHERE rollout_id = ?1 AND device_id = ?2";
/* The device's unfinished updates (the statuses canceled replaces:
 * update_state_merge) of rollouts whose image does not list hardware ?2
 * (a deleted image's ended rollout is left alone). */
static const char sql_cancel_unfit[] =
    "UPDATE device_updates SET status = 'canceled', finished_at = ?3,"
    " updated_at = ?3 WHERE device_id = ?1"
    " AND status IN ('offered', 'started', 'progress', 'accepted')"
    " AND rollout_id IN " STORE_SQL_ROLLOUTS_UNFIT;
static const char sql_rollout_exists[] = "SELECT 1 FROM rollouts WHERE id = ?1";
/* Two ranges of the (rollout_id, status, result) index. */
static const char sql_consent_counts[] =
    "SELECT status, COUNT(*) FROM device_updates WHERE rollout_id = ?1"
    " AND status IN ('offered', 'declined') GROUP BY status";
static const char sql_counts[] =
    "SELECT stage_index, status, result, COUNT(*), SUM(retries)"
    " FROM device_updates"
    " WHERE rollout_id = ?1 GROUP BY stage_index, status, result";
/* Four ranges of the (rollout_id, status, result) index, nothing else
 * read. */
static const char sql_finished[] =
    "SELECT status, result, COUNT(*) FROM device_updates"
    " WHERE rollout_id = ?1"
    " AND status IN ('completed', 'failed', 'reverted', 'timed_out',"
    " 'declined') GROUP BY status, result";
/* One row whatever exists: a NULL hardware or version says which is
 * missing (both columns are NOT NULL in their tables). */
static const char sql_target[] =
    "SELECT (SELECT hardware FROM devices WHERE id = ?1), r.image_version,"
    " EXISTS (SELECT 1 FROM device_updates"
    "  WHERE rollout_id = ?2 AND device_id = ?1)"
    " OR EXISTS (SELECT 1 FROM ddi_actions"
    "  WHERE rollout_id = ?2 AND device_id = ?1),"
    " EXISTS (SELECT 1 FROM rollout_groups rg"
    "  JOIN group_members gm ON gm.group_id = rg.group_id"
    "  WHERE rg.rollout_id = ?2 AND gm.device_id = ?1),"
    " EXISTS (SELECT 1 FROM devices d JOIN image_hardware ih"
    "  ON ih.hardware = d.hardware"
    "  WHERE d.id = ?1 AND ih.image_id = r.image_id)"
    " FROM (SELECT 1) one LEFT JOIN rollouts r ON r.id = ?2";
static const char sql_device_events[] =
    "SELECT id, device_id, event_id, rollout_id, version, state, progress,"
    " result, detail, device_ts, received_at, transport, component"
    " FROM update_events WHERE device_id = ?1 AND id < ?2 ORDER BY id DESC "
    "LIMIT ?3";

static const char sql_device_updates[] =
    "SELECT u.rollout_id, r.name, r.state, r.image_name, r.image_version,"
    " u.version, u.status, u.stage_index, u.progress, u.result,"
    " u.offered_at, u.started_at, u.finished_at, u.updated_at"
    " FROM device_updates u JOIN rollouts r ON r.id = u.rollout_id"
    " WHERE u.device_id = ?1 AND u.rollout_id < ?2"
    " ORDER BY u.rollout_id DESC LIMIT ?3";

/* Inserts one update_events row; *out_new is 0 for a duplicate. */
static int
event_insert(struct store_conn *c, const struct telemetry_event *e,
    const char *transport, const char *received_at, int *out_new)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_event_insert, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, e->device_id) != 0 ||
	    db_bind_text(s, 2, e->event_id) != 0 ||
	    db_bind_int64(s, 3, e->rollout_id) != 0 ||
	    db_bind_text(s, 4, e->version) != 0 ||
	    db_bind_text(s, 5, update_state_name(e->state)) != 0 ||
	    store__bind_int64_or_null(s, 6, e->progress) != 0 ||
	    store__bind_int64_or_null(s, 7, e->result) != 0 ||
	    db_bind_text(s, 8, e->detail) != 0 ||
	    db_bind_text(s, 9, e->ts) != 0 ||
	    db_bind_int64(s, 10, e->ts_ms) != 0 ||
	    db_bind_text(s, 11, received_at) != 0 ||
	    db_bind_text(s, 12, transport) != 0 ||
	    store__bind_text_or_null(s, 13, e->component) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "telemetry_event_insert");
		goto out;
	}
	*out_new = db_changes(store__db(c)) == 1;
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Reads the device_updates status of (rollout, device): UPDATE_NONE when
 * there is no row. */
static int
update_get(struct store_conn *c, int64_t rollout_id, const char *device_id,
    enum update_state *out, int64_t *out_ts_ms)
{
	struct db_stmt *s = NULL;
	char status[16];
	int rc, step;

	*out = UPDATE_NONE;
	*out_ts_ms = 0;
	if ((rc = store__prepare(c, sql_update_get, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0) {
		rc = store__dberr(c, "telemetry_update_get");
		goto out;
	}
	step = db_step(s);
	if (step == DB_ROW) {
		if (store__column_text(s, 0, status, sizeof(status)) != 0 ||
		    update_state_parse(status, out) != 0) {
			log_err("module=store op=telemetry_update_get "
			        "rollout=%lld err=\"bad status\"",
			    (long long)rollout_id);
			rc = OTA_EDB;
			goto out;
		}
		*out_ts_ms = db_column_int64(s, 1);
	} else if (step != DB_DONE) {
		rc = store__dberr(c, "telemetry_update_get");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

int
store_telemetry_target(struct store_conn *c, const char *device_id,
    int64_t rollout_id, struct telemetry_target *out)
{
	struct db_stmt *s = NULL;
	const char *hw, *version;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store__prepare(c, sql_target, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_int64(s, 2, rollout_id) != 0 || db_step(s) != DB_ROW) {
		rc = store__dberr(c, "telemetry_target");
		goto out;
	}
	if ((hw = db_column_text(s, 0)) != NULL) {
		out->device_found = 1;
		/* Only for the detail of a refusal: cut, never refused. */
		snprintf(out->device_hardware, sizeof(out->device_hardware),
		    "%s", (const char *)hw);
	}
	if ((version = db_column_text(s, 1)) != NULL) {
		if (store__column_text(s, 1, out->rollout_version,
		        sizeof(out->rollout_version)) != 0) {
			log_err("module=store op=telemetry_target "
			        "rollout=%lld err=\"image_version out of "
			        "bounds\"",
			    (long long)rollout_id);
			rc = OTA_EDB;
			goto out;
		}
		out->rollout_found = 1;
	}
	out->offered = (int)db_column_int64(s, 2) != 0;
	out->in_groups = (int)db_column_int64(s, 3) != 0;
	out->hardware_fits = (int)db_column_int64(s, 4) != 0;
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* The unix seconds of a store time (0 for one that does not parse). */
static int64_t
at_sec(const char *at)
{
	int64_t ms = 0;

	(void)timeutil_parse_rfc3339(at, &ms);
	return ms / 1000;
}

/* Steps m_offers s: each row created (RETURNING device_id) reports its
 * device changed, whose cache entry then learns the offer (its update
 * marks: the rate limit counts new offers only).  0 or OTA_EDB. */
static int
offers_created(struct store_conn *c, struct db_stmt *s)
{
	char id[129];
	int step, rc;

	while ((step = db_step(s)) == DB_ROW) {
		if (store__column_text(s, 0, id, sizeof(id)) != 0)
			return store__dberr(c, "telemetry_offers");
		if ((rc = store_devices_changed(c, id)) != 0)
			return rc;
	}
	return step == DB_DONE ? 0 : store__dberr(c, "telemetry_offers");
}

/* The new attempt of retry offer o (sql_retry).  0 or OTA_EDB. */
static int
offer_retry(struct store_conn *c, const struct store_offer_seen *o)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_retry, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, o->rollout_id) != 0 ||
	    db_bind_text(s, 2, o->device_id) != 0 ||
	    db_bind_int64(s, 3, o->retries_seen) != 0 ||
	    db_bind_text(s, 4, o->at) != 0 ||
	    db_bind_int64(s, 5, at_sec(o->at)) != 0 || db_step(s) != DB_DONE) {
		rc = store__dberr(c, "telemetry_retry");
		goto out;
	}
	/* Retried or not (another node did, or the device finished
	 * meanwhile), what the caches hold of its retries is stale. */
	rc = store_devices_changed(c, o->device_id);
out:
	store__done(s);
	return rc;
}

/* How many of v[from..n), at most max, come before the first (rollout,
 * device) repeated among them: of two offers of one pair the first is
 * kept, so a repeat goes to the next statement, in order. */
static size_t
offers_distinct(
    const struct store_offer_seen *v, size_t from, size_t n, size_t max)
{
	size_t k = 0;

	for (; k < max && from + k < n; k++)
		for (size_t j = 0; j < k; j++)
			if (v[from + j].rollout_id == v[from + k].rollout_id &&
			    strcmp(v[from + j].device_id,
			        v[from + k].device_id) == 0)
				return k;
	return k;
}

int
store_telemetry_offers(
    struct store_conn *c, const struct store_offer_seen *v, size_t n)
{
	struct db_stmt *s = NULL;
	size_t rows;
	int rc = 0, own_tx = 0;

	if (n == 0)
		return 0;
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own_tx)) != 0)
		return rc;
	for (size_t from = 0; from < n; from += rows) {
		size_t k = offers_distinct(v, from, n, STORE_MULTI_ROWS_MAX);

		if ((rc = store__multi_prepare(c, &m_offers, k, &s, &rows)) !=
		    0)
			goto out;
		for (size_t r = 0; r < rows; r++) {
			const struct store_offer_seen *o = &v[from + r];
			int b = (int)r * 6;

			if (db_bind_int64(s, b + 1, o->rollout_id) != 0 ||
			    db_bind_text(s, b + 2, o->device_id) != 0 ||
			    db_bind_text(s, b + 3, o->version) != 0 ||
			    db_bind_int64(s, b + 4, o->stage_index) != 0 ||
			    db_bind_text(s, b + 5, o->at) != 0 ||
			    db_bind_int64(s, b + 6, at_sec(o->at)) != 0) {
				rc = store__dberr(c, "telemetry_offers");
				goto out;
			}
		}
		if ((rc = offers_created(c, s)) != 0)
			goto out;
		store__done(s);
		s = NULL;
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (v[i].retry)
			rc = offer_retry(c, &v[i]);
out:
	store__done(s);
	return store__tx_end(c, own_tx, rc);
}

/* A completed update of a device (m_completed). */
struct revert_row {
	size_t idx; /* the device's index in the chunk */
	int64_t rollout_id;
	char version[SEMVER_MAX_LEN + 1];
	int before; /* recorded before `at`, not in its second */
};

/* A row of m_completed (store__list). */
static int
revert_row(struct db_stmt *s, void *elem, void *arg)
{
	struct revert_row *r = elem;

	(void)arg;
	if (store__column_text(s, 2, r->version, sizeof(r->version)) != 0 ||
	    semver_check(r->version, strlen(r->version)) != 0) {
		log_err("module=store op=telemetry_silent_revert "
		        "err=\"bad version in device_updates\"");
		return OTA_EDB;
	}
	r->idx = (size_t)db_column_int64(s, 0);
	r->rollout_id = db_column_int64(s, 1);
	r->before = db_column_int64(s, 3) != 0;
	return 0;
}

/* Keeps in v[0..n) the completions of a version greater than installed
 * recorded before `at`, returning how many; one recorded in its second
 * sets *out_undecided instead. */
static size_t
revert_keep(
    struct revert_row *v, size_t n, const char *installed, int *out_undecided)
{
	size_t kept = 0, ilen = strlen(installed);

	for (size_t i = 0; i < n; i++) {
		if (semver_cmp(v[i].version, strlen(v[i].version), installed,
		        ilen) <= 0)
			continue;
		if (!v[i].before)
			*out_undecided = 1; /* recorded in at's second */
		else
			v[kept++] = v[i];
	}
	return kept;
}

/* Marks rows[0..n) of device_id reverted at `at` (at_ms), each with its
 * update_events row of transport "otad"; adds the rollouts to touched. */
static int
revert_write(struct store_conn *c, const char *device_id, const char *installed,
    const char *at, int64_t at_ms, const struct revert_row *rows, size_t n,
    int64_t *touched, size_t max_touched, size_t *ntouched)
{
	struct telemetry_event *e = NULL;
	struct db_stmt *s = NULL;
	int rc = 0, is_new;

	if (n > 0 && (e = calloc(1, sizeof(*e))) == NULL) {
		log_err("module=store op=telemetry_silent_revert err=\"out of "
		        "memory\"");
		return OTA_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		memset(e, 0, sizeof(*e));
		snprintf(e->event_id, sizeof(e->event_id),
		    "otad-revert-%lld-%lld", (long long)rows[i].rollout_id,
		    (long long)at_ms);
		snprintf(e->device_id, sizeof(e->device_id), "%s", device_id);
		e->rollout_id = rows[i].rollout_id;
		memcpy(e->version, rows[i].version, sizeof(e->version));
		e->state = UPDATE_REVERTED;
		e->progress = -1;
		e->result = -1;
		snprintf(e->detail, sizeof(e->detail),
		    "silent revert: the device polled with version %s after "
		    "completing %s",
		    installed, rows[i].version);
		snprintf(e->ts, sizeof(e->ts), "%s", at);
		e->ts_ms = at_ms;
		if ((rc = event_insert(c, e, "otad", at, &is_new)) != 0)
			goto out;
		if ((rc = store__prepare(c, sql_revert, &s)) != 0)
			goto out;
		if (db_bind_int64(s, 1, rows[i].rollout_id) != 0 ||
		    db_bind_text(s, 2, device_id) != 0 ||
		    db_bind_int64(s, 3, at_ms) != 0 ||
		    db_bind_text(s, 4, at) != 0 || db_step(s) != DB_DONE) {
			rc = store__dberr(c, "telemetry_silent_revert");
			goto out;
		}
		store__done(s);
		s = NULL;
		log_info(
		    "msg=\"silent revert recorded\" device=%s rollout=%lld "
		    "completed=%s installed=%s",
		    device_id, (long long)rows[i].rollout_id, rows[i].version,
		    installed);
		store__touch(
		    rows[i].rollout_id, touched, max_touched, ntouched);
	}
out:
	store__done(s);
	free(e);
	return rc;
}

/* 0 when a silent revert check of device_id, installed at `at` can be
 * judged (*out_at_ms set), else OTA_EINVAL. */
static int
revert_check_valid(const char *device_id, const char *installed, const char *at,
    int64_t *out_at_ms)
{
	if (semver_check(installed, strlen(installed)) != 0 ||
	    strlen(device_id) > TELEMETRY_DEVICE_ID_MAX ||
	    timeutil_parse_rfc3339(at, out_at_ms) != 0)
		return OTA_EINVAL;
	return 0;
}

/* Reads the completions of the devices of v[idx[0..rows)) with s (an
 * m_completed statement) into a new array *out of *out_n rows. */
static int
reverts_read(struct store_conn *c, struct db_stmt *s,
    const struct store_revert_check *v, const size_t *idx, size_t rows,
    struct revert_row **out, size_t *out_n)
{
	for (size_t r = 0; r < rows; r++)
		if (db_bind_int64(s, (int)r * 3 + 1, (int64_t)r) != 0 ||
		    db_bind_text(s, (int)r * 3 + 2, v[idx[r]].device_id) != 0 ||
		    db_bind_text(s, (int)r * 3 + 3, v[idx[r]].at) != 0)
			return store__dberr(c, "telemetry_silent_revert");
	return store__list(c, s, sizeof(**out), 0, revert_row, NULL, NULL, out,
	    out_n, "telemetry_silent_revert");
}

/* Judges and writes the checks v[idx[0..rows)) (valid, at_ms[] parsed)
 * with one read of their completions. */
static int
reverts_chunk(struct store_conn *c, struct store_revert_check *v,
    const size_t *idx, const int64_t *at_ms, size_t rows, int64_t *touched,
    size_t max_touched, size_t *ntouched)
{
	struct revert_row *all = NULL;
	struct db_stmt *s = NULL;
	size_t n = 0, got, at = 0;
	int rc;

	if ((rc = store__multi_prepare(c, &m_completed, rows, &s, &got)) != 0)
		return rc;
	rc = reverts_read(c, s, v, idx, got, &all, &n);
	store__done(s);
	/* Rows come by device index: each device's are one run. */
	for (size_t r = 0; rc == 0 && r < got; r++) {
		struct store_revert_check *k = &v[idx[r]];
		size_t from = at, kept;
		int undecided = 0;

		while (at < n && all[at].idx == r)
			at++;
		kept = revert_keep(
		    all + from, at - from, k->installed_version, &undecided);
		k->state = undecided;
		rc = revert_write(c, k->device_id, k->installed_version, k->at,
		    at_ms[r], all + from, kept, touched, max_touched, ntouched);
	}
	free(all);
	return rc != 0 ? rc : (int)got;
}

int
store_telemetry_silent_reverts(struct store_conn *c,
    struct store_revert_check *v, size_t n, int64_t *touched,
    size_t max_touched, size_t *ntouched)
{
	size_t idx[STORE_MULTI_ROWS_MAX], k = 0;
	int64_t at_ms[STORE_MULTI_ROWS_MAX];
	int rc = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n) {
			v[i].state = revert_check_valid(v[i].device_id,
			    v[i].installed_version, v[i].at, &at_ms[k]);
			if (v[i].state == 0)
				idx[k++] = i;
			if (k < STORE_MULTI_ROWS_MAX)
				continue;
		}
		/* A chunk is full, or the last one: judge what it holds. */
		while (k > 0) {
			rc = reverts_chunk(c, v, idx, at_ms, k, touched,
			    max_touched, ntouched);
			if (rc < 0)
				return rc;
			memmove(idx, idx + rc, (k - (size_t)rc) * sizeof(*idx));
			memmove(at_ms, at_ms + rc,
			    (k - (size_t)rc) * sizeof(*at_ms));
			k -= (size_t)rc;
		}
	}
	return 0;
}

int
store_telemetry_silent_revert(struct store_conn *c, const char *device_id,
    const char *installed_version, const char *at, int64_t *touched,
    size_t max_touched, size_t *ntouched, int *out_undecided)
{
	struct store_revert_check k = {device_id, installed_version, at, 0};
	int rc;

	if (out_undecided != NULL)
		*out_undecided = 0;
	if ((rc = store_telemetry_silent_reverts(
	         c, &k, 1, touched, max_touched, ntouched)) != 0)
		return rc;
	if (k.state == OTA_EINVAL)
		return OTA_EINVAL;
	if (out_undecided != NULL)
		*out_undecided = k.state;
	return 0;
}

/* A part a poll shows rolled back (sql_bundle_installed, judged). */
struct bundle_revert {
	int64_t rollout_id;
	char component[COMPONENT_NAME_MAX + 1];
	char version[SEMVER_MAX_LEN + 1];   /* the part's image's */
	char installed[SEMVER_MAX_LEN + 1]; /* the component's now */
};

/* Reads the parts of device_id's bundle rollouts and keeps in out[] the
 * first rolled-back part of each rollout (at most max). */
static int
bundle_reverts_read(struct store_conn *c, const char *device_id,
    struct bundle_revert *out, size_t max, size_t *out_n)
{
	struct db_stmt *s = NULL;
	struct bundle_revert r;
	int rc, step;

	*out_n = 0;
	if ((rc = store__prepare(c, sql_bundle_installed, &s)) != 0)
		return rc;
	if (db_bind_text(s, 1, device_id) != 0) {
		rc = store__dberr(c, "telemetry_bundle_reverts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		const char *du = db_column_text(s, 1),
		           *dup = db_column_text(s, 5);
		int completed = (du != NULL && strcmp(du, "completed") == 0) ||
		                (dup != NULL && strcmp(dup, "completed") == 0);

		memset(&r, 0, sizeof(r));
		r.rollout_id = db_column_int64(s, 0);
		if (store__column_text(
		        s, 2, r.component, sizeof(r.component)) != 0 ||
		    store__column_text(s, 3, r.version, sizeof(r.version)) !=
		        0 ||
		    store__column_text(
		        s, 4, r.installed, sizeof(r.installed)) != 0)
			continue; /* longer than any valid one: not judged */
		if (!bundle_state_rolled_back(
		        completed, r.installed, r.version))
			continue;
		if (*out_n > 0 && out[*out_n - 1].rollout_id == r.rollout_id)
			continue; /* one part per rollout decides */
		if (*out_n < max)
			out[(*out_n)++] = r;
	}
	if (step != DB_DONE)
		rc = store__dberr(c, "telemetry_bundle_reverts");
out:
	store__done(s);
	return rc;
}

/* Runs sql (rollout ?1, device ?2, component ?3, ms, at) for r. */
static int
bundle_revert_row(struct store_conn *c, const char *device_id,
    const struct bundle_revert *r, int64_t at_ms, const char *at)
{
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_part_revert, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, r->rollout_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0 ||
	    db_bind_text(s, 3, r->component) != 0 ||
	    db_bind_int64(s, 4, at_ms) != 0 || db_bind_text(s, 5, at) != 0 ||
	    db_step(s) != DB_DONE)
		rc = store__dberr(c, "telemetry_bundle_reverts");
	store__done(s);
	if (rc != 0 || (rc = store__prepare(c, sql_bundle_revert, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, r->rollout_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0 ||
	    db_bind_int64(s, 3, at_ms) != 0 || db_bind_text(s, 4, at) != 0 ||
	    db_bind_text(s, 5, r->component) != 0 || db_step(s) != DB_DONE)
		rc = store__dberr(c, "telemetry_bundle_reverts");
	store__done(s);
	return rc;
}

int
store_telemetry_bundle_reverts(struct store_conn *c, const char *device_id,
    const char *at, int64_t *touched, size_t max_touched, size_t *ntouched)
{
	struct bundle_revert v[8];
	struct telemetry_event *e = NULL;
	size_t n = 0;
	int64_t at_ms;
	int rc, is_new;

	if (timeutil_parse_rfc3339(at, &at_ms) != 0 ||
	    strlen(device_id) > TELEMETRY_DEVICE_ID_MAX)
		return OTA_EINVAL;
	if ((rc = bundle_reverts_read(c, device_id, v, 8, &n)) != 0 || n == 0)
		return rc;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return OTA_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		memset(e, 0, sizeof(*e));
		snprintf(e->event_id, sizeof(e->event_id),
		    "otad-revert-%lld-%lld", (long long)v[i].rollout_id,
		    (long long)at_ms);
		snprintf(e->device_id, sizeof(e->device_id), "%s", device_id);
		e->rollout_id = v[i].rollout_id;
		memcpy(e->version, v[i].version, sizeof(v[i].version));
		memcpy(e->component, v[i].component, sizeof(e->component));
		e->state = UPDATE_REVERTED;
		e->progress = e->result = -1;
		snprintf(e->detail, sizeof(e->detail),
		    "coordinated rollback: component %s polled with version "
		    "%s after part %s",
		    v[i].component, v[i].installed, v[i].version);
		snprintf(e->ts, sizeof(e->ts), "%s", at);
		e->ts_ms = at_ms;
		if ((rc = event_insert(c, e, "otad", at, &is_new)) == 0)
			rc = bundle_revert_row(c, device_id, &v[i], at_ms, at);
		if (rc == 0) {
			log_info("msg=\"bundle rollback recorded\" device=%s "
			         "rollout=%lld component=%s part=%s "
			         "installed=%s",
			    device_id, (long long)v[i].rollout_id,
			    v[i].component, v[i].version, v[i].installed);
			store__touch(
			    v[i].rollout_id, touched, max_touched, ntouched);
		}
	}
	free(e);
	return rc;
}

int
store_telemetry_cancel(struct store_conn *c, int64_t rollout_id,
    const char *device_id, const char *at)
{
	enum update_state cur;
	struct db_stmt *s = NULL;
	int64_t cur_ts, at_ms;
	int rc, changed, own_tx = 0;

	if (timeutil_parse_rfc3339(at, &at_ms) != 0)
		return OTA_EINVAL;
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own_tx)) != 0)
		return rc;
	if ((rc = update_get(c, rollout_id, device_id, &cur, &cur_ts)) != 0)
		goto out;
	(void)update_state_merge(cur, cur_ts, UPDATE_CANCELED, at_ms, &changed);
	if (!changed)
		goto out;
	if ((rc = store__prepare(c, sql_cancel, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_text(s, 2, device_id) != 0 || db_bind_text(s, 3, at) != 0 ||
	    db_step(s) != DB_DONE)
		rc = store__dberr(c, "telemetry_cancel");
out:
	store__done(s);
	return store__tx_end(c, own_tx, rc);
}

int
store_telemetry_cancel_unfit(struct store_conn *c, const char *device_id,
    const char *hardware, const char *at, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out_n = 0;
	if (!timeutil_is_canonical(at))
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_cancel_unfit, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_text(s, 2, hardware) != 0 || db_bind_text(s, 3, at) != 0 ||
	    db_step(s) != DB_DONE) {
		rc = store__dberr(c, "telemetry_cancel_unfit");
		goto out;
	}
	*out_n = (size_t)db_changes(store__db(c));
out:
	store__done(s);
	return rc;
}

/* Adds count n of status to u, by result code for failed, and the
 * retries of those rows. */
static int
counts_add(struct store_update_counts *u, const char *status, int result,
    uint64_t n, uint64_t retries)
{
	enum update_state st;

	u->retries += retries;
	if (update_state_parse(status, &st) != 0)
		return -1;
	switch (st) {
	case UPDATE_OFFERED:
		u->offered += n;
		break;
	case UPDATE_STARTED:
		u->started += n;
		break;
	case UPDATE_PROGRESS:
		u->progress += n;
		break;
	case UPDATE_COMPLETED:
		u->completed += n;
		break;
	case UPDATE_FAILED:
		u->failed += n;
		u->failed_by_result[result >= 0 && result < STORE_RESULT_CODES
		                        ? result
		                        : 0] += n;
		break;
	case UPDATE_REVERTED:
		u->reverted += n;
		break;
	case UPDATE_CANCELED:
		u->canceled += n;
		break;
	case UPDATE_DEFERRED:
		u->deferred += n;
		break;
	case UPDATE_TIMED_OUT:
		u->timed_out += n;
		break;
	case UPDATE_ACCEPTED:
		u->accepted += n;
		break;
	case UPDATE_DECLINED:
		u->declined += n;
		break;
	case UPDATE_NONE:
	default:
		return -1;
	}
	return 0;
}

int
store_telemetry_counts(
    struct store_conn *c, int64_t rollout_id, struct store_rollout_counts *out)
{
	struct db_stmt *s = NULL;
	char status[16];
	int rc, step, stage, result;
	uint64_t n, retries;

	memset(out, 0, sizeof(*out));
	if ((rc = store__prepare(c, sql_rollout_exists, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "telemetry_counts");
		goto out;
	}
	if ((rc = store__step_one(c, s, "telemetry_counts")) != 0)
		goto out;
	store__done(s);
	s = NULL;
	if ((rc = store__prepare(c, sql_counts, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "telemetry_counts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		stage = (int)db_column_int64(s, 0);
		result =
		    db_column_is_null(s, 2) ? 0 : (int)db_column_int64(s, 2);
		n = (uint64_t)db_column_int64(s, 3);
		retries = (uint64_t)db_column_int64(s, 4);
		if (store__column_text(s, 1, status, sizeof(status)) != 0 ||
		    counts_add(&out->total, status, result, n, retries) != 0) {
			log_err("module=store op=telemetry_counts rollout=%lld "
			        "err=\"bad status\"",
			    (long long)rollout_id);
			rc = OTA_EDB;
			goto out;
		}
		/* Rows are created at a stage of the rollout: only a
		 * broken row is outside them, and it still counts in the
		 * total. */
		if (stage >= 0 && stage < ROLLOUT_MAX_STAGES)
			(void)counts_add(
			    &out->stage[stage], status, result, n, retries);
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "telemetry_counts");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Adds one row of sql_finished (status, result, count) to out. */
static int
finished_add(struct rollout_outcome_counts *out, const char *status, int result,
    uint64_t n)
{
	enum update_state st;

	if (update_state_parse(status, &st) != 0)
		return -1;
	if (st == UPDATE_COMPLETED)
		out->completed += n;
	else if (st == UPDATE_REVERTED)
		out->reverted += n;
	else if (st == UPDATE_TIMED_OUT)
		out->timed_out += n;
	else if (st == UPDATE_DECLINED)
		out->declined += n;
	else if (st == UPDATE_FAILED) {
		out->failed += n;
		out->failed_by_result[result >= 0 &&
		                              result < ROLLOUT_RESULT_CODES
		                          ? result
		                          : 0] += n;
	}
	return 0;
}

int
store_telemetry_finished(struct store_conn *c, int64_t rollout_id,
    struct rollout_outcome_counts *out)
{
	struct db_stmt *s = NULL;
	char status[16];
	int rc, step, result;

	memset(out, 0, sizeof(*out));
	if ((rc = store__prepare(c, sql_finished, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "telemetry_finished");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		uint64_t n = (uint64_t)db_column_int64(s, 2);

		result =
		    db_column_is_null(s, 1) ? 0 : (int)db_column_int64(s, 1);
		if (store__column_text(s, 0, status, sizeof(status)) != 0 ||
		    finished_add(out, status, result, n) != 0) {
			log_err("module=store op=telemetry_finished "
			        "rollout=%lld err=\"bad status\"",
			    (long long)rollout_id);
			rc = OTA_EDB;
			goto out;
		}
	}
	if (step != DB_DONE) {
		rc = store__dberr(c, "telemetry_finished");
		goto out;
	}
	rc = 0;
out:
	store__done(s);
	return rc;
}

/* Marks the timed-out updates (sql_time_out) and reports their devices
 * changed.  Inside a write transaction. */
static int
time_out_rows(struct store_conn *c, int64_t rollout_id, int64_t before_sec,
    int limit, const char *at, size_t *out_n)
{
	struct db_stmt *s = NULL;
	char id[129];
	int rc, step;

	if ((rc = store__prepare(c, sql_time_out, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_int64(s, 2, before_sec) != 0 ||
	    db_bind_int64(s, 3, limit) != 0 || db_bind_text(s, 4, at) != 0) {
		rc = store__dberr(c, "telemetry_time_out");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		if (store__column_text(s, 0, id, sizeof(id)) != 0) {
			rc = OTA_EDB;
			goto out;
		}
		(*out_n)++;
		if ((rc = store_devices_changed(c, id)) != 0)
			goto out;
	}
	if (step != DB_DONE)
		rc = store__dberr(c, "telemetry_time_out");
out:
	store__done(s);
	return rc;
}

int
store_telemetry_time_out(struct store_conn *c, int64_t rollout_id,
    int64_t before_sec, int limit, const char *at, size_t *out_n)
{
	int rc, own_tx = 0;

	*out_n = 0;
	if (limit < 1 || limit > 10000 || at == NULL ||
	    !timeutil_is_canonical(at))
		return OTA_EINVAL;
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own_tx)) != 0)
		return rc;
	rc = time_out_rows(c, rollout_id, before_sec, limit, at, out_n);
	if (rc != 0)
		*out_n = 0;
	return store__tx_end(c, own_tx, rc);
}

/* A row of sql_marks into out. */
static int
mark_row(struct db_stmt *s, struct store_update_mark *out)
{
	char status[16], at[21];
	enum update_state st;
	int64_t ms = 0;

	out->rollout_id = db_column_int64(s, 0);
	out->retries = (uint32_t)db_column_int64(s, 2);
	if (store__column_text(s, 1, status, sizeof(status)) != 0 ||
	    update_state_parse(status, &st) != 0 ||
	    store__column_text(s, 3, at, sizeof(at)) != 0 ||
	    timeutil_parse_rfc3339(at, &ms) != 0)
		return OTA_EDB;
	out->status = (uint32_t)st;
	out->outcome_at = ms / 1000;
	return 0;
}

int
store_telemetry_device_marks(struct store_conn *c, const char *device_id,
    struct store_update_mark out[STORE_UPDATE_MARKS_MAX], size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc, step;

	*out_n = 0;
	if ((rc = store__prepare(c, sql_marks, &s)) != 0)
		return rc;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_int64(s, 2, STORE_UPDATE_MARKS_MAX) != 0) {
		rc = store__dberr(c, "telemetry_marks");
		goto out;
	}
	while (
	    (step = db_step(s)) == DB_ROW && *out_n < STORE_UPDATE_MARKS_MAX) {
		memset(&out[*out_n], 0, sizeof(out[0]));
		if ((rc = mark_row(s, &out[*out_n])) != 0) {
			log_err("module=store op=telemetry_marks device=%s "
			        "err=\"row out of bounds\"",
			    device_id);
			goto out;
		}
		(*out_n)++;
	}
	if (step != DB_DONE && step != DB_ROW)
		rc = store__dberr(c, "telemetry_marks");
out:
	store__done(s);
	if (rc != 0)
		*out_n = 0;
	return rc;
}

/* A row of store_telemetry_device_events (store__list). */
static int
event_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_event_row *e = elem;

	(void)arg;
	e->component[0] = '\0';
	e->id = db_column_int64(s, 0);
	e->rollout_id = db_column_int64(s, 3);
	e->progress = db_column_is_null(s, 6) ? -1 : (int)db_column_int64(s, 6);
	e->result = db_column_is_null(s, 7) ? -1 : (int)db_column_int64(s, 7);
	if (store__column_text(s, 1, e->device_id, sizeof(e->device_id)) != 0 ||
	    store__column_text(s, 2, e->event_id, sizeof(e->event_id)) != 0 ||
	    store__column_text(s, 4, e->version, sizeof(e->version)) != 0 ||
	    store__column_text(s, 5, e->state, sizeof(e->state)) != 0 ||
	    store__column_text(s, 8, e->detail, sizeof(e->detail)) != 0 ||
	    store__column_text(s, 9, e->device_ts, sizeof(e->device_ts)) != 0 ||
	    store__column_text(s, 10, e->received_at, sizeof(e->received_at)) !=
	        0 ||
	    store__column_text(s, 11, e->transport, sizeof(e->transport)) !=
	        0 ||
	    (!db_column_is_null(s, 12) &&
	        store__column_text(s, 12, e->component, sizeof(e->component)) !=
	            0)) {
		log_err("module=store op=telemetry_device_events id=%lld "
		        "err=\"row out of bounds\"",
		    (long long)e->id);
		return OTA_EDB;
	}
	return 0;
}

int
store_telemetry_device_events(struct store_conn *c, const char *device_id,
    int64_t before_id, int limit, struct store_event_row **out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (limit < 1 || limit > 1000 || before_id < 0)
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_device_events, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX) != 0 ||
	    db_bind_int64(s, 3, limit) != 0) {
		rc = store__dberr(c, "telemetry_device_events");
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), (size_t)limit, event_row, NULL,
	    NULL, out, out_n, "telemetry_device_events");
out:
	store__done(s);
	return rc;
}

/* A row of store_telemetry_device_updates (store__list). */
static int
update_row(struct db_stmt *s, void *elem, void *arg)
{
	struct store_device_update_row *u = elem;

	(void)arg;
	u->rollout_id = db_column_int64(s, 0);
	u->stage_index = db_column_int64(s, 7);
	u->progress = db_column_is_null(s, 8) ? -1 : (int)db_column_int64(s, 8);
	u->result = db_column_is_null(s, 9) ? -1 : (int)db_column_int64(s, 9);
	if (store__column_text(
	        s, 1, u->rollout_name, sizeof(u->rollout_name)) != 0 ||
	    store__column_text(
	        s, 2, u->rollout_state, sizeof(u->rollout_state)) != 0 ||
	    store__column_text(s, 3, u->image_name, sizeof(u->image_name)) !=
	        0 ||
	    store__column_text(
	        s, 4, u->image_version, sizeof(u->image_version)) != 0 ||
	    store__column_text(s, 5, u->version, sizeof(u->version)) != 0 ||
	    store__column_text(s, 6, u->status, sizeof(u->status)) != 0 ||
	    store__column_text(s, 10, u->offered_at, sizeof(u->offered_at)) !=
	        0 ||
	    store__column_text(s, 11, u->started_at, sizeof(u->started_at)) !=
	        0 ||
	    store__column_text(s, 12, u->finished_at, sizeof(u->finished_at)) !=
	        0 ||
	    store__column_text(s, 13, u->updated_at, sizeof(u->updated_at)) !=
	        0) {
		log_err("module=store op=telemetry_device_updates rollout=%lld "
		        "err=\"row out of bounds\"",
		    (long long)u->rollout_id);
		return OTA_EDB;
	}
	return 0;
}

int
store_telemetry_device_updates(struct store_conn *c, const char *device_id,
    int64_t before_id, int limit, struct store_device_update_row **out,
    size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (limit < 1 || limit > 1000 || before_id < 0)
		return OTA_EINVAL;
	if ((rc = store__prepare(c, sql_device_updates, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0 ||
	    db_bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX) != 0 ||
	    db_bind_int64(s, 3, limit) != 0) {
		rc = store__dberr(c, "telemetry_device_updates");
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), (size_t)limit, update_row, NULL,
	    NULL, out, out_n, "telemetry_device_updates");
out:
	store__done(s);
	return rc;
}

int
store_telemetry_component_failures(struct store_conn *c, int64_t rollout_id,
    struct store_component_failures *out, size_t max, size_t *out_n)
{
	struct db_stmt *s = NULL;
	char comp[33];
	int rc, step;

	*out_n = 0;
	if ((rc = store__prepare(c, sql_component_failures, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "telemetry_component_failures");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		const char *status = db_column_text(s, 1);
		uint64_t count = (uint64_t)db_column_int64(s, 2);

		if (store__column_text(s, 0, comp, sizeof(comp)) != 0 ||
		    status == NULL)
			continue;
		if (*out_n == 0 ||
		    strcmp(out[*out_n - 1].component, comp) != 0) {
			if (*out_n == max)
				continue;
			memset(&out[*out_n], 0, sizeof(out[0]));
			memcpy(out[*out_n].component, comp, sizeof(comp));
			(*out_n)++;
		}
		if (strcmp(status, "failed") == 0)
			out[*out_n - 1].failed += count;
		else
			out[*out_n - 1].reverted += count;
	}
	if (step != DB_DONE)
		rc = store__dberr(c, "telemetry_component_failures");
out:
	store__done(s);
	return rc;
}

int
store_telemetry_consent_counts(struct store_conn *c, int64_t rollout_id,
    uint64_t *out_awaiting, uint64_t *out_declined)
{
	struct db_stmt *s = NULL;
	char status[16];
	int rc, step;

	*out_awaiting = *out_declined = 0;
	if ((rc = store__prepare(c, sql_consent_counts, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, rollout_id) != 0) {
		rc = store__dberr(c, "telemetry_consent_counts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW) {
		uint64_t n = (uint64_t)db_column_int64(s, 1);

		if (store__column_text(s, 0, status, sizeof(status)) != 0) {
			rc = OTA_EDB;
			goto out;
		}
		if (strcmp(status, "declined") == 0)
			*out_declined = n;
		else
			*out_awaiting = n;
	}
	if (step != DB_DONE)
		rc = store__dberr(c, "telemetry_consent_counts");
out:
	store__done(s);
	if (rc != 0)
		*out_awaiting = *out_declined = 0;
	return rc;
}
