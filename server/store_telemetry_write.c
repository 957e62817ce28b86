/*
 * store_telemetry_write: a writer group in a few statements per chunk.
 * The facts of every distinct (device, rollout) pair and its
 * device_updates row are read by chunks of a VALUES list; the events the
 * judge lets through are inserted by chunks with ON CONFLICT DO NOTHING
 * RETURNING (what comes back was new); the rows are merged in memory in
 * group order, then written by chunks with one upsert.  Event keys of
 * the group are remembered so that a repeat is a duplicate without a
 * statement.  Nothing here opens a transaction.
 */
#include "store_telemetry_write.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_state.h"
#include "errors.h"
#include "log.h"
#include "store_bundles.h"
#include "store_internal.h"
#include "timeutil.h"
#include "update_state.h"

/* What store_telemetry_target reads, with the rollout's stage and the
 * pair's device_updates status, for each pair of the VALUES list. */
static struct store_multi m_pairs = STORE_MULTI_INIT(
    "WITH v(i, d, r) AS (VALUES ", "(CAST(? AS BIGINT), ?, CAST(? AS BIGINT))",
    ") SELECT v.i, dv.hardware, r.image_version, r.stage_index,"
    " du.status, du.status_ts_ms,"
    " CASE WHEN du.status IS NOT NULL OR EXISTS (SELECT 1 FROM ddi_actions a"
    "  WHERE a.rollout_id = v.r AND a.device_id = v.d) THEN 1 ELSE 0 END,"
    " CASE WHEN EXISTS (SELECT 1 FROM rollout_groups rg"
    "  JOIN group_members gm ON gm.group_id = rg.group_id"
    "  WHERE rg.rollout_id = v.r AND gm.device_id = v.d) THEN 1 ELSE 0 END,"
    " CASE WHEN EXISTS (SELECT 1 FROM image_hardware ih"
    "  WHERE ih.image_id = r.image_id AND ih.hardware = dv.hardware)"
    " THEN 1 ELSE 0 END, r.bundle_id, r.image_name"
    " FROM v LEFT JOIN devices dv ON dv.id = v.d"
    " LEFT JOIN rollouts r ON r.id = v.r"
    " LEFT JOIN device_updates du"
    " ON du.rollout_id = v.r AND du.device_id = v.d",
    3);
static struct store_multi m_events = STORE_MULTI_INIT(
    "INSERT INTO update_events (device_id, event_id, rollout_id, version,"
    " state, progress, result, detail, device_ts, device_ts_ms,"
    " received_at, transport, component) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    " ON CONFLICT DO NOTHING RETURNING device_id, event_id", 13);
/* An insert keeps the creating event's version and stage; an update
 * follows update_state_merge's row rules: the latest progress reported,
 * the first start, the latest finish. */
static struct store_multi m_updates = STORE_MULTI_INIT(
    "INSERT INTO device_updates (rollout_id, device_id, version, status,"
    " stage_index, progress, result, status_ts_ms, started_at,"
    " finished_at, updated_at, attempt_at, component) VALUES ",
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    " ON CONFLICT (rollout_id, device_id) DO UPDATE SET"
    " status = excluded.status,"
    " progress = COALESCE(excluded.progress, device_updates.progress),"
    " result = excluded.result, status_ts_ms = excluded.status_ts_ms,"
    " started_at = COALESCE(device_updates.started_at,"
    " excluded.started_at),"
    " finished_at = COALESCE(excluded.finished_at,"
    " device_updates.finished_at),"
    " updated_at = excluded.updated_at, component = excluded.component",
    13);
/* Each part of a bundle rollout's bundle for one device: its image's
 * version, the device's component of its name (version, and whether the
 * image lists its hardware) and the part's own status. */
static const char sql_bundle_parts[] =
    "SELECT bp.component, i.version, dc.version,"
    " CASE WHEN EXISTS (SELECT 1 FROM image_hardware ih"
    "  WHERE ih.image_id = bp.image_id AND ih.hardware = dc.hardware)"
    " THEN 1 ELSE 0 END, dup.status, dup.status_ts_ms, dup.result"
    " FROM rollouts r JOIN bundle_parts bp ON bp.bundle_id = r.bundle_id"
    " JOIN images i ON i.id = bp.image_id"
    " LEFT JOIN device_components dc"
    " ON dc.device_id = ?2 AND dc.name = bp.component"
    " LEFT JOIN device_update_parts dup ON dup.rollout_id = r.id"
    " AND dup.device_id = ?2 AND dup.component = bp.component"
    " WHERE r.id = ?1";
static const char sql_part_write[] =
    "INSERT INTO device_update_parts (rollout_id, device_id, component,"
    " status, status_ts_ms, result, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (rollout_id, device_id, component) DO UPDATE SET"
    " status = excluded.status, status_ts_ms = excluded.status_ts_ms,"
    " result = excluded.result, updated_at = excluded.updated_at";

#define NO_BATCH SIZE_MAX

/* The parts of a bundle rollout for the device of a pair, in install
 * order: what its events are judged on and merged into. */
struct tw_bundle {
	size_t n;
	struct tw_part {
		char component[COMPONENT_NAME_MAX + 1];
		char version[SEMVER_MAX_LEN + 1];   /* its image's */
		char installed[SEMVER_MAX_LEN + 1]; /* the component's, "" */
		int fits; /* its image lists the component's hardware */
		enum update_state status;
		int64_t status_ts_ms;
		int result;
		int dirty;
	} part[BUNDLE_PARTS_MAX];
};

/* One (device, rollout) pair of the group. */
struct tw_pair {
	const char *device_id; /* borrowed from its first event */
	int64_t rollout_id;
	struct telemetry_target tg; /* at the group's start */
	int stage_index;
	size_t accepted_batch; /* earliest batch with an accepted event */
	size_t pending_batch;  /* earliest batch with an event not inserted */
	/* Its device_updates row: as read, then merged. */
	enum update_state status;
	int64_t status_ts_ms;
	int dirty;
	const char *version;                  /* of its first merged event */
	int progress, result;                 /* -1: none */
	char started_at[21], finished_at[21]; /* "": none */
	int bad_moved; /* its update_state_mark_class moved (or a new decline)
	                */
	int64_t bundle_id;        /* of a bundle rollout, else 0 */
	struct tw_bundle *bundle; /* its parts (bundle_id > 0) */
	const char *component;    /* the part deciding failed/reverted */
};

/* The state of one store_telemetry_write_group call. */
struct tw {
	struct store_conn *c;
	const struct store_event_in *in;
	size_t n;
	const char *received_at;
	int64_t received_ms; /* received_at, parsed once */
	struct store_event_result *res;
	struct tw_pair *pairs;
	size_t npairs;
	size_t *pair_of; /* per event */
	uint32_t *pslot; /* pair index + 1, by (device, rollout) */
	uint32_t *kslot; /* event index + 1, by (device, event_id) */
	size_t mask;     /* of pslot and kslot */
	size_t *pend;    /* events waiting to be inserted, in order */
	size_t npend;
};

/* FNV-1a of a, a NUL, b (may be NULL) and x, then a finaliser. */
static uint64_t
tw_hash(const char *a, const char *b, int64_t x)
{
	uint64_t h = 1469598103934665603ull;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ull;
	h *= 1099511628211ull;
	for (; b != NULL && *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ull;
	h ^= (uint64_t)x;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static void
tw_free(struct tw *w)
{
	for (size_t k = 0; w->pairs != NULL && k < w->npairs; k++)
		free(w->pairs[k].bundle);
	free(w->pairs);
	free(w->pair_of);
	free(w->pslot);
	free(w->kslot);
	free(w->pend);
}

/* Allocates w's tables and numbers the distinct pairs of the group. */
static int
tw_init(struct tw *w)
{
	size_t nslots = 16;

	while (nslots < 2 * w->n)
		nslots <<= 1;
	w->mask = nslots - 1;
	w->pairs = calloc(w->n, sizeof(*w->pairs));
	w->pair_of = calloc(w->n, sizeof(*w->pair_of));
	w->pslot = calloc(nslots, sizeof(*w->pslot));
	w->kslot = calloc(nslots, sizeof(*w->kslot));
	w->pend = calloc(w->n, sizeof(*w->pend));
	if (w->pairs == NULL || w->pair_of == NULL || w->pslot == NULL ||
	    w->kslot == NULL || w->pend == NULL) {
		log_err(
		    "module=store op=telemetry_write err=\"out of memory\"");
		return OTA_ENOMEM;
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct telemetry_event *e = w->in[i].ev;
		size_t k = tw_hash(e->device_id, NULL, e->rollout_id) & w->mask;
		struct tw_pair *p;

		for (; w->pslot[k] != 0; k = (k + 1) & w->mask) {
			p = &w->pairs[w->pslot[k] - 1];
			if (p->rollout_id == e->rollout_id &&
			    strcmp(p->device_id, e->device_id) == 0)
				break;
		}
		if (w->pslot[k] == 0) {
			p = &w->pairs[w->npairs++];
			p->device_id = e->device_id;
			p->rollout_id = e->rollout_id;
			p->accepted_batch = p->pending_batch = NO_BATCH;
			p->progress = p->result = -1;
			w->pslot[k] = (uint32_t)w->npairs;
		}
		w->pair_of[i] = w->pslot[k] - 1;
	}
	return 0;
}

/* 1 when event i's (device, event_id) was let through by an earlier event
 * of the group (stored now, by it or before); else remembers it, 0. */
static int
tw_key_seen(struct tw *w, size_t i)
{
	const struct telemetry_event *e = w->in[i].ev, *o;
	size_t k = tw_hash(e->device_id, e->event_id, 0) & w->mask;

	for (; w->kslot[k] != 0; k = (k + 1) & w->mask) {
		o = w->in[w->kslot[k] - 1].ev;
		if (strcmp(o->event_id, e->event_id) == 0 &&
		    strcmp(o->device_id, e->device_id) == 0)
			return 1;
	}
	w->kslot[k] = (uint32_t)(i + 1);
	return 0;
}

/* Fills the pair a row of m_pairs names.  Returns 0 or OTA_EDB. */
static int
pair_row(struct tw *w, struct db_stmt *s, size_t from, size_t rows)
{
	int64_t i = db_column_int64(s, 0);
	const char *hw, *status;
	struct tw_pair *p;

	if (i < (int64_t)from || i >= (int64_t)(from + rows))
		return OTA_EDB;
	p = &w->pairs[i];
	if ((hw = db_column_text(s, 1)) != NULL) {
		p->tg.device_found = 1;
		/* Only for the detail of a refusal: cut, never refused. */
		snprintf(p->tg.device_hardware, sizeof(p->tg.device_hardware),
		    "%s", hw);
	}
	if (!db_column_is_null(s, 2)) {
		if (store__column_text(s, 2, p->tg.rollout_version,
		        sizeof(p->tg.rollout_version)) != 0)
			return OTA_EDB;
		p->tg.rollout_found = 1;
		p->stage_index = (int)db_column_int64(s, 3);
	}
	if ((status = db_column_text(s, 4)) != NULL &&
	    update_state_parse(status, &p->status) != 0)
		return OTA_EDB;
	p->status_ts_ms = db_column_int64(s, 5);
	p->tg.offered = db_column_int64(s, 6) != 0;
	p->tg.in_groups = db_column_int64(s, 7) != 0;
	p->tg.hardware_fits = db_column_int64(s, 8) != 0;
	if (!db_column_is_null(s, 9)) {
		p->bundle_id = db_column_int64(s, 9);
		p->tg.bundle = 1;
		if (store__column_text(s, 10, p->tg.bundle_name,
		        sizeof(p->tg.bundle_name)) != 0)
			return OTA_EDB;
	}
	return 0;
}

/* Reads the facts and the device_updates row of every pair. */
static int
pairs_read(struct tw *w)
{
	struct db_stmt *s = NULL;
	size_t rows;
	int rc = 0, step;

	for (size_t from = 0; from < w->npairs; from += rows) {
		if ((rc = store__multi_prepare(
		         w->c, &m_pairs, w->npairs - from, &s, &rows)) != 0)
			return rc;
		for (size_t k = 0; k < rows; k++) {
			const struct tw_pair *p = &w->pairs[from + k];
			int b = (int)k * 3;

			if (db_bind_int64(s, b + 1, (int64_t)(from + k)) != 0 ||
			    db_bind_text(s, b + 2, p->device_id) != 0 ||
			    db_bind_int64(s, b + 3, p->rollout_id) != 0) {
				rc = store__dberr(w->c, "telemetry_write");
				goto out;
			}
		}
		while ((step = db_step(s)) == DB_ROW)
			if ((rc = pair_row(w, s, from, rows)) != 0) {
				log_err("module=store op=telemetry_write "
				        "err=\"bad facts row\"");
				goto out;
			}
		if (step != DB_DONE) {
			rc = store__dberr(w->c, "telemetry_write");
			goto out;
		}
		store__done(s);
		s = NULL;
	}
out:
	store__done(s);
	return rc;
}

/* Fills the part of b named by a row of sql_bundle_parts (ignored when
 * the bundle's descriptor has no such part). */
static int
bundle_part_row(struct db_stmt *s, struct tw_bundle *b)
{
	const char *comp = db_column_text(s, 0), *status;
	struct tw_part *t = NULL;

	for (size_t k = 0; comp != NULL && k < b->n; k++)
		if (strcmp(b->part[k].component, comp) == 0)
			t = &b->part[k];
	if (t == NULL)
		return 0;
	if (store__column_text(s, 1, t->version, sizeof(t->version)) != 0 ||
	    (!db_column_is_null(s, 2) && store__column_text(s, 2, t->installed,
	                                     sizeof(t->installed)) != 0))
		return OTA_EDB;
	t->fits = db_column_int64(s, 3) != 0;
	if ((status = db_column_text(s, 4)) != NULL &&
	    update_state_parse(status, &t->status) != 0)
		return OTA_EDB;
	t->status_ts_ms = db_column_int64(s, 5);
	t->result = db_column_is_null(s, 6) ? -1 : (int)db_column_int64(s, 6);
	return 0;
}

/* Reads the parts of pair p's bundle (install order, from its signed
 * descriptor, or from same: an earlier pair's of the same bundle) with
 * the device's components and part statuses. */
static int
bundle_read(struct tw *w, struct tw_pair *p, const struct tw_bundle *same)
{
	struct store_bundle *sb = NULL;
	struct db_stmt *s = NULL;
	int rc, step;

	if ((p->bundle = calloc(1, sizeof(*p->bundle))) == NULL)
		return OTA_ENOMEM;
	if (same != NULL) {
		/* The order of the same bundle, read for an earlier pair. */
		p->bundle->n = same->n;
		for (size_t k = 0; k < same->n; k++)
			memcpy(p->bundle->part[k].component,
			    same->part[k].component,
			    sizeof(p->bundle->part[k].component));
	} else if ((rc = store_bundle_get(w->c, p->bundle_id, &sb)) == 0) {
		p->bundle->n = sb->desc.part_count;
		for (size_t k = 0; k < sb->desc.part_count; k++)
			memcpy(p->bundle->part[k].component,
			    sb->desc.parts[k].component,
			    sizeof(p->bundle->part[k].component));
		store_bundle_free(sb);
	} else if (rc == OTA_ENOTFOUND)
		return 0; /* deleted with its rollout ended: no parts */
	else
		return rc;
	for (size_t k = 0; k < p->bundle->n; k++)
		p->bundle->part[k].result = -1;
	if ((rc = store__prepare(w->c, sql_bundle_parts, &s)) != 0)
		return rc;
	if (db_bind_int64(s, 1, p->rollout_id) != 0 ||
	    db_bind_text(s, 2, p->device_id) != 0) {
		rc = store__dberr(w->c, "telemetry_bundle_parts");
		goto out;
	}
	while ((step = db_step(s)) == DB_ROW)
		if ((rc = bundle_part_row(s, p->bundle)) != 0)
			goto out;
	if (step != DB_DONE)
		rc = store__dberr(w->c, "telemetry_bundle_parts");
out:
	store__done(s);
	return rc;
}

/* Reads the bundle parts of every pair of a bundle rollout: one read of
 * its parts a pair, one of each bundle's order a group (a search of the
 * pairs before it: bundle pairs are few in a group). */
static int
bundles_read(struct tw *w)
{
	int rc;

	for (size_t k = 0; k < w->npairs; k++) {
		const struct tw_bundle *same = NULL;

		if (w->pairs[k].bundle_id == 0 || !w->pairs[k].tg.device_found)
			continue;
		for (size_t j = 0; j < k && same == NULL; j++)
			if (w->pairs[j].bundle_id == w->pairs[k].bundle_id &&
			    w->pairs[j].bundle != NULL &&
			    w->pairs[j].bundle->n > 0)
				same = w->pairs[j].bundle;
		if ((rc = bundle_read(w, &w->pairs[k], same)) != 0)
			return rc;
	}
	return 0;
}

/* The part of pair p's bundle named component, or NULL. */
static struct tw_part *
bundle_part(const struct tw_pair *p, const char *component)
{
	for (size_t k = 0; p->bundle != NULL && k < p->bundle->n; k++)
		if (strcmp(p->bundle->part[k].component, component) == 0)
			return &p->bundle->part[k];
	return NULL;
}

/* Binds event idx as row r of an m_events statement. */
static int
event_bind(struct tw *w, struct db_stmt *s, size_t r, size_t idx)
{
	const struct telemetry_event *e = w->in[idx].ev;
	int b = (int)r * 13;

	return db_bind_text(s, b + 1, e->device_id) != 0 ||
	       db_bind_text(s, b + 2, e->event_id) != 0 ||
	       db_bind_int64(s, b + 3, e->rollout_id) != 0 ||
	       db_bind_text(s, b + 4, e->version) != 0 ||
	       db_bind_text(s, b + 5, update_state_name(e->state)) != 0 ||
	       store__bind_int64_or_null(s, b + 6, e->progress) != 0 ||
	       store__bind_int64_or_null(s, b + 7, e->result) != 0 ||
	       db_bind_text(s, b + 8, e->detail) != 0 ||
	       db_bind_text(s, b + 9, e->ts) != 0 ||
	       db_bind_int64(s, b + 10, e->ts_ms) != 0 ||
	       db_bind_text(s, b + 11, w->received_at) != 0 ||
	       db_bind_text(s, b + 12, w->in[idx].transport) != 0 ||
	       store__bind_text_or_null(s, b + 13, e->component) != 0;
}

/* Inserts events idx[0..rows) with s; each is ACCEPTED when the insert
 * returned it (new), else DUPLICATE.  Keys are distinct in a chunk. */
static int
events_chunk(struct tw *w, struct db_stmt *s, const size_t *idx, size_t rows)
{
	unsigned char fresh[STORE_MULTI_ROWS_MAX];
	int step;

	memset(fresh, 0, sizeof(fresh));
	for (size_t r = 0; r < rows; r++)
		if (event_bind(w, s, r, idx[r]) != 0)
			return store__dberr(w->c, "telemetry_event_insert");
	while ((step = db_step(s)) == DB_ROW) {
		const char *dev = db_column_text(s, 0);
		const char *eid = db_column_text(s, 1);

		for (size_t r = 0; dev != NULL && eid != NULL && r < rows; r++)
			if (strcmp(w->in[idx[r]].ev->event_id, eid) == 0 &&
			    strcmp(w->in[idx[r]].ev->device_id, dev) == 0)
				fresh[r] = 1;
	}
	if (step != DB_DONE)
		return store__dberr(w->c, "telemetry_event_insert");
	for (size_t r = 0; r < rows; r++) {
		struct tw_pair *p = &w->pairs[w->pair_of[idx[r]]];
		size_t b = w->in[idx[r]].batch;

		w->res[idx[r]].outcome =
		    fresh[r] ? STORE_EVENT_ACCEPTED : STORE_EVENT_DUPLICATE;
		if (fresh[r] && b < p->accepted_batch)
			p->accepted_batch = b;
		p->pending_batch = NO_BATCH;
	}
	return 0;
}

/* Inserts every event waiting, by chunks. */
static int
events_flush(struct tw *w)
{
	struct db_stmt *s = NULL;
	size_t rows;
	int rc = 0;

	for (size_t done = 0; done < w->npend; done += rows) {
		if ((rc = store__multi_prepare(
		         w->c, &m_events, w->npend - done, &s, &rows)) != 0)
			return rc;
		rc = events_chunk(w, s, w->pend + done, rows);
		store__done(s);
		if (rc != 0)
			return rc;
	}
	w->npend = 0;
	return 0;
}

/*
 * Judges event i into res[i] on its pair's facts before its batch: offered
 * also when an event of the pair was accepted in an earlier batch.  When
 * such an event still waits to be inserted (accepted or a duplicate: not
 * known yet) and the verdict depends on it, the waiting events are
 * inserted first.
 */
static int
tw_judge(struct tw *w, size_t i, store_event_judge_fn judge, void *arg)
{
	struct store_event_result *r = &w->res[i];
	const struct tw_pair *p = &w->pairs[w->pair_of[i]];
	size_t b = w->in[i].batch;
	struct telemetry_target t = p->tg;
	char other[sizeof(r->detail)];
	int rc;

	memset(r, 0, sizeof(*r));
	if (p->bundle != NULL) {
		const struct tw_part *part =
		    bundle_part(p, w->in[i].ev->component);

		t.part_found = part != NULL;
		t.hardware_fits = part != NULL && part->fits;
		if (part != NULL)
			memcpy(t.part_version, part->version,
			    sizeof(t.part_version));
	}
	t.offered = p->tg.offered || p->accepted_batch < b;
	if (!t.offered && p->pending_batch < b) {
		enum telemetry_reject r0, r1;

		r0 = judge(arg, i, &t, r->detail, sizeof(r->detail));
		t.offered = 1;
		r1 = judge(arg, i, &t, other, sizeof(other));
		if (r0 != r1 && (rc = events_flush(w)) != 0)
			return rc;
		t.offered = p->tg.offered || p->accepted_batch < b;
	}
	r->reject = judge(arg, i, &t, r->detail, sizeof(r->detail));
	if (r->reject != TELEMETRY_REJECT_NONE) {
		r->outcome = STORE_EVENT_REJECTED;
		return 0;
	}
	r->detail[0] = '\0';
	if (!p->tg.device_found || !p->tg.rollout_found) {
		/* The judge let through what does not exist: a broken
		 * contract, not input. */
		log_err("module=store op=telemetry_write device=%s "
		        "rollout=%lld err=\"unknown device or rollout\"",
		    p->device_id, (long long)p->rollout_id);
		return OTA_EDB;
	}
	return 0;
}

/* What merges into a device_updates row: an event, or the status folded
 * from a bundle's parts. */
struct tw_ev {
	enum update_state state;
	int64_t ts_ms;
	int progress, result; /* -1: none */
	const char *version;  /* the row's version when it creates it */
};

/*
 * Merges e into pair p's row as one event at a time would
 * (update_state_merge, then the row rules of m_updates).  *out_moved is 1
 * when the status moved into or out of a finished one.  Returns 1 when
 * the row changed.
 */
static int
tw_merge_state(struct tw_pair *p, const struct tw_ev *e, int *out_moved)
{
	enum update_state cur = p->status, next;
	char ev_at[21];
	int changed;

	*out_moved = 0;
	next = update_state_merge(
	    cur, p->status_ts_ms, e->state, e->ts_ms, &changed);
	if (!changed)
		return 0;
	/* A progress update arriving after a later one keeps the later
	 * percentage. */
	if (next == cur && e->ts_ms < p->status_ts_ms)
		return 0;
	/* Device times are never before 1970 (timeutil refuses them). */
	timeutil_format_rfc3339(e->ts_ms / 1000, ev_at);
	if (p->version == NULL)
		p->version = e->version; /* the insert's, when creating */
	if (e->progress >= 0)
		p->progress = e->progress;
	p->result = next == UPDATE_FAILED ? e->result : -1;
	if ((e->state == UPDATE_STARTED || e->state == UPDATE_PROGRESS) &&
	    p->started_at[0] == '\0')
		memcpy(p->started_at, ev_at, sizeof(p->started_at));
	if (update_state_finished(next))
		memcpy(p->finished_at, ev_at, sizeof(p->finished_at));
	*out_moved = next != cur && (update_state_finished(next) ||
	                                update_state_finished(cur));
	/* What a poll reads of the device (its retries, its consent)
	 * changes. */
	if (update_state_mark_class(next) != update_state_mark_class(cur) ||
	    (next == UPDATE_DECLINED && cur == UPDATE_DECLINED))
		p->bad_moved = 1;
	p->status = next;
	p->status_ts_ms = e->ts_ms;
	p->dirty = 1;
	return 1;
}

/*
 * Merges accepted event e of a bundle rollout into its part's status,
 * then the status folded from every part (bundle_state_fold) into the
 * pair's row, naming the part that made it failed or reverted.
 */
static void
tw_merge_part(
    struct tw_pair *p, const struct telemetry_event *e, int *out_moved)
{
	struct bundle_state_part bp[BUNDLE_PARTS_MAX];
	struct tw_part *t = bundle_part(p, e->component);
	struct bundle_state f;
	struct tw_ev ev;
	enum update_state next;
	int changed;

	*out_moved = 0;
	if (t == NULL) /* the judge refuses it: never here */
		return;
	next = update_state_merge(
	    t->status, t->status_ts_ms, e->state, e->ts_ms, &changed);
	if (!changed || (next == t->status && e->ts_ms < t->status_ts_ms))
		return;
	t->status = next;
	t->status_ts_ms = e->ts_ms;
	t->result = next == UPDATE_FAILED ? e->result : -1;
	t->dirty = 1;
	for (size_t k = 0; k < p->bundle->n; k++) {
		const struct tw_part *q = &p->bundle->part[k];

		bp[k] = (struct bundle_state_part){
		    q->version, q->installed, q->status, q->result};
	}
	bundle_state_fold(bp, p->bundle->n, &f);
	if (f.status == UPDATE_NONE)
		return;
	ev = (struct tw_ev){
	    f.status, e->ts_ms, f.progress, f.result, p->tg.rollout_version};
	if (tw_merge_state(p, &ev, out_moved))
		p->component =
		    f.part >= 0 ? p->bundle->part[f.part].component : NULL;
}

/* Merges accepted event e into its pair's row (tw_merge_state), through
 * its part for a bundle rollout (but a consent answer, the bundle's). */
static void
tw_merge(struct tw_pair *p, const struct telemetry_event *e, int *out_moved)
{
	struct tw_ev ev = {
	    e->state, e->ts_ms, e->progress, e->result, e->version};

	/* A consent answer is on a bundle as a whole: no part has it. */
	if (p->bundle != NULL && e->state != UPDATE_ACCEPTED &&
	    e->state != UPDATE_DECLINED)
		tw_merge_part(p, e, out_moved);
	else
		(void)tw_merge_state(p, &ev, out_moved);
}

/* Writes the part statuses of the bundle pairs that changed (one
 * statement each: bundle events are few). */
static int
parts_write(struct tw *w)
{
	struct db_stmt *s = NULL;
	int rc = 0;

	for (size_t k = 0; k < w->npairs; k++) {
		const struct tw_pair *p = &w->pairs[k];

		for (size_t j = 0; p->bundle != NULL && j < p->bundle->n; j++) {
			const struct tw_part *t = &p->bundle->part[j];

			if (!t->dirty)
				continue;
			if ((rc = store__prepare(w->c, sql_part_write, &s)) !=
			    0)
				return rc;
			if (db_bind_int64(s, 1, p->rollout_id) != 0 ||
			    db_bind_text(s, 2, p->device_id) != 0 ||
			    db_bind_text(s, 3, t->component) != 0 ||
			    db_bind_text(s, 4, update_state_name(t->status)) !=
			        0 ||
			    db_bind_int64(s, 5, t->status_ts_ms) != 0 ||
			    store__bind_int64_or_null(s, 6, t->result) != 0 ||
			    db_bind_text(s, 7, w->received_at) != 0 ||
			    db_step(s) != DB_DONE) {
				rc = store__dberr(w->c, "telemetry_part_write");
				store__done(s);
				return rc;
			}
			store__done(s);
		}
	}
	return 0;
}

/* Binds pair p as row r of an m_updates statement. */
static int
update_bind(struct tw *w, struct db_stmt *s, size_t r, const struct tw_pair *p)
{
	int b = (int)r * 13;

	/* A row an event creates: its attempt begins now (w->received_ms;
	 * an existing row keeps its own, m_updates). */
	return db_bind_int64(s, b + 1, p->rollout_id) != 0 ||
	       db_bind_text(s, b + 2, p->device_id) != 0 ||
	       db_bind_text(s, b + 3, p->version) != 0 ||
	       db_bind_text(s, b + 4, update_state_name(p->status)) != 0 ||
	       db_bind_int64(s, b + 5, p->stage_index) != 0 ||
	       store__bind_int64_or_null(s, b + 6, p->progress) != 0 ||
	       store__bind_int64_or_null(s, b + 7, p->result) != 0 ||
	       db_bind_int64(s, b + 8, p->status_ts_ms) != 0 ||
	       store__bind_text_or_null(s, b + 9, p->started_at) != 0 ||
	       store__bind_text_or_null(s, b + 10, p->finished_at) != 0 ||
	       db_bind_text(s, b + 11, w->received_at) != 0 ||
	       db_bind_int64(s, b + 12, w->received_ms / 1000) != 0 ||
	       store__bind_text_or_null(s, b + 13, p->component) != 0;
}

/* Writes the merged rows of the pairs that changed, by chunks. */
static int
updates_write(struct tw *w)
{
	struct db_stmt *s = NULL;
	size_t ndirty = 0, rows;
	size_t *dirty = w->pend; /* free once every event is inserted */
	int rc = 0;

	for (size_t k = 0; k < w->npairs; k++)
		if (w->pairs[k].dirty)
			dirty[ndirty++] = k;
	for (size_t done = 0; done < ndirty; done += rows) {
		if ((rc = store__multi_prepare(
		         w->c, &m_updates, ndirty - done, &s, &rows)) != 0)
			return rc;
		for (size_t r = 0; r < rows; r++)
			if (update_bind(w, s, r, &w->pairs[dirty[done + r]]) !=
			    0) {
				rc = store__dberr(
				    w->c, "telemetry_update_write");
				goto out;
			}
		if (db_step(s) != DB_DONE) {
			rc = store__dberr(w->c, "telemetry_update_write");
			goto out;
		}
		store__done(s);
		s = NULL;
	}
	/* Every node's device cache forgets what it held of them. */
	for (size_t k = 0; rc == 0 && k < ndirty; k++)
		if (w->pairs[dirty[k]].bad_moved)
			rc = store_devices_changed(
			    w->c, w->pairs[dirty[k]].device_id);
out:
	store__done(s);
	return rc;
}

int
store_telemetry_write_group(struct store_conn *c,
    const struct store_event_in *in, size_t n, const char *received_at,
    store_event_judge_fn judge, void *arg, struct store_event_result *res,
    int64_t *touched, size_t max_touched, size_t *ntouched)
{
	struct tw w;
	size_t chunk = store__multi_rows(&m_events, SIZE_MAX);
	int rc, moved;

	if (n == 0)
		return 0;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.in = in;
	w.n = n;
	w.received_at = received_at;
	w.res = res;
	if (timeutil_parse_rfc3339(received_at, &w.received_ms) != 0) {
		log_err("module=store op=telemetry_write err=\"received_at "
		        "'%s' is not an RFC 3339 time\"",
		    received_at);
		return OTA_EINVAL;
	}
	if ((rc = tw_init(&w)) != 0 || (rc = pairs_read(&w)) != 0 ||
	    (rc = bundles_read(&w)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct tw_pair *p = &w.pairs[w.pair_of[i]];

		if ((rc = tw_judge(&w, i, judge, arg)) != 0)
			goto out;
		if (res[i].outcome == STORE_EVENT_REJECTED)
			continue;
		if (tw_key_seen(&w, i)) {
			res[i].outcome = STORE_EVENT_DUPLICATE;
			continue;
		}
		w.pend[w.npend++] = i;
		if (in[i].batch < p->pending_batch)
			p->pending_batch = in[i].batch;
		if (w.npend >= chunk && (rc = events_flush(&w)) != 0)
			goto out;
	}
	if ((rc = events_flush(&w)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (res[i].outcome != STORE_EVENT_ACCEPTED)
			continue;
		tw_merge(&w.pairs[w.pair_of[i]], in[i].ev, &moved);
		if (moved)
			store__touch(in[i].ev->rollout_id, touched, max_touched,
			    ntouched);
	}
	if ((rc = updates_write(&w)) == 0)
		rc = parts_write(&w);
out:
	tw_free(&w);
	return rc;
}

/* The judge of store_telemetry_write: every event it is given passes
 * (the caller's refusals never reach the group). */
static enum telemetry_reject
judged_already(void *arg, size_t i, const struct telemetry_target *t,
    char *detail, size_t detail_len)
{
	(void)arg;
	(void)i;
	(void)t;
	if (detail_len > 0)
		detail[0] = '\0';
	return TELEMETRY_REJECT_NONE;
}

int
store_telemetry_write(struct store_conn *c, const struct telemetry_event *ev,
    size_t n, const char *transport, const char *received_at,
    struct store_event_result *res, int64_t *touched, size_t max_touched,
    size_t *ntouched)
{
	struct store_event_in *in = NULL;
	struct store_event_result *out = NULL;
	size_t m = 0;
	int rc;

	if (n == 0)
		return 0;
	in = calloc(n, sizeof(*in));
	out = calloc(n, sizeof(*out));
	if (in == NULL || out == NULL) {
		log_err(
		    "module=store op=telemetry_write err=\"out of memory\"");
		rc = OTA_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (res[i].outcome != STORE_EVENT_REJECTED) {
			in[m].ev = &ev[i];
			in[m++].transport = transport;
		}
	rc = store_telemetry_write_group(c, in, m, received_at, judged_already,
	    NULL, out, touched, max_touched, ntouched);
	for (size_t i = 0, k = 0; rc == 0 && i < n; i++)
		if (res[i].outcome != STORE_EVENT_REJECTED)
			res[i] = out[k++];
out:
	free(in);
	free(out);
	return rc;
}
