/*
 * store_fleet: aggregate reads for the dashboard.  Each is one statement
 * scanning one table (devices with their last polls, or one rollout's slice of
 * device_updates through its primary key), so its cost is that table's size and
 * nothing else; callers that ask often cache the answer.
 */
#include "store_fleet.h"

#include "errors.h"
#include "store_internal.h"

/* The last polls are in device_seen (migration 0021), walked beside
 * devices in the same id order (store_devices.c's SEEN_JOIN). */
static const char sql_versions[] =
    "SELECT d.version, d.hardware,"
    " CASE WHEN s.last_seen_at IS NULL THEN 4"
    " WHEN s.last_seen_at >= ?2 THEN 0 WHEN s.last_seen_at >= ?3 THEN 1"
    " WHEN s.last_seen_at >= ?4 THEN 2 ELSE 3 END AS seen_bucket,"
    " COUNT(*),"
    " SUM(CASE WHEN s.last_seen_at IS NULL OR s.last_seen_at < ?1"
    " THEN 1 ELSE 0 END)"
    " FROM devices d LEFT JOIN device_seen s ON s.device_id = d.id"
    " GROUP BY d.version, d.hardware, seen_bucket";

/* Integer division on both stores: the operands are integers. */
static const char sql_series[] =
    "SELECT status_ts_ms / CAST(?2 AS BIGINT) AS b,"
    " SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN status = 'reverted' THEN 1 ELSE 0 END)"
    " FROM device_updates WHERE rollout_id = ?1"
    " AND status IN ('completed', 'failed', 'reverted')"
    " AND status_ts_ms IS NOT NULL"
    " GROUP BY b ORDER BY b";

/* Steps s to its end, handing each row to row(s, arg); row's non-zero
 * stops the walk and is returned.  OTA_EDB logged naming op. */
static int
fleet_walk(struct store_conn *c, struct db_stmt *s, const char *op,
    int (*row)(struct db_stmt *s, void *arg), void *arg)
{
	int rc = 0, st;

	while ((st = db_step(s)) == DB_ROW)
		if ((rc = row(s, arg)) != 0)
			return rc;
	return st == DB_DONE ? 0 : store__dberr(c, op);
}

struct versions_walk {
	int (*fn)(const char *, const char *, int, int64_t, int64_t, void *);
	void *arg;
};

static int
versions_row(struct db_stmt *s, void *arg)
{
	struct versions_walk *w = arg;

	return w->fn(db_column_text(s, 0), db_column_text(s, 1),
	    (int)db_column_int64(s, 2), db_column_int64(s, 3),
	    db_column_int64(s, 4), w->arg);
}

int
store_fleet_versions(struct store_conn *c, const char *seen_before,
    const char *const seen_since[STORE_FLEET_SEEN_CUTS],
    int (*fn)(const char *version, const char *hardware, int seen,
        int64_t devices, int64_t stale, void *arg),
    void *arg)
{
	struct versions_walk w = {fn, arg};
	struct db_stmt *s = NULL;
	int rc, own = 0;

	if ((rc = store__tx_join(c, DB_BEGIN_READ, &own)) != 0)
		return rc;
	if ((rc = store__prepare(c, sql_versions, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, seen_before) != 0 ||
	    db_bind_text(s, 2, seen_since[0]) != 0 ||
	    db_bind_text(s, 3, seen_since[1]) != 0 ||
	    db_bind_text(s, 4, seen_since[2]) != 0) {
		rc = store__dberr(c, "fleet_versions");
		goto out;
	}
	rc = fleet_walk(c, s, "fleet_versions", versions_row, &w);
out:
	store__done(s);
	return store__tx_end(c, own, rc);
}

struct series_walk {
	int (*fn)(int64_t, int64_t, int64_t, int64_t, void *);
	void *arg;
};

static int
series_row(struct db_stmt *s, void *arg)
{
	struct series_walk *w = arg;

	return w->fn(db_column_int64(s, 0), db_column_int64(s, 1),
	    db_column_int64(s, 2), db_column_int64(s, 3), w->arg);
}

int
store_fleet_rollout_series(struct store_conn *c, int64_t rollout_id,
    int64_t bucket_ms,
    int (*fn)(int64_t bucket, int64_t completed, int64_t failed,
        int64_t reverted, void *arg),
    void *arg)
{
	struct series_walk w = {fn, arg};
	struct db_stmt *s = NULL;
	int rc;

	if ((rc = store__prepare(c, sql_series, &s)) != 0)
		goto out;
	if (db_bind_int64(s, 1, rollout_id) != 0 ||
	    db_bind_int64(s, 2, bucket_ms) != 0) {
		rc = store__dberr(c, "fleet_rollout_series");
		goto out;
	}
	rc = fleet_walk(c, s, "fleet_rollout_series", series_row, &w);
out:
	store__done(s);
	return rc;
}
