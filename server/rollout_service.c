/*
 * rollout_service: every change goes through change(): one write
 * transaction reads the row, rollout_decide decides, the store writes the
 * decided row; once committed the generation moves and the moved hook is
 * told (callers log).  The health gate is asked in one place, gate(), by
 * the automatic pause and the timed advance.
 */
#include "rollout_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "errors.h"
#include "log.h"
#include "semver.h"
#include "selector.h"
#include "semver_range.h"
#include "store_devices.h"
#include "timeutil.h"
#include "walkcache.h"

#define PAGE 100 /* running rollouts read per query */

struct rollout_service {
	struct store *st;
	rollout_service_moved_fn moved; /* NULL: none */
	void *moved_arg;
	atomic_uint_fast64_t gen;
	atomic_uint_fast64_t auto_pauses;
	struct walkcache *walks; /* health's slow member walks, kept */
	atomic_uint_fast64_t auto_aborts;
	atomic_uint_fast64_t timed_out; /* updates marked by the sweep */
};

struct rollout_service *
rollout_service_new(struct store *st)
{
	struct rollout_service *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_err("msg=\"cannot create the rollout service\" err=\"out "
		        "of memory\"");
		return NULL;
	}
	if ((s->walks = walkcache_new()) == NULL) {
		log_err("msg=\"cannot create the rollout service\" err=\"out "
		        "of memory\"");
		free(s);
		return NULL;
	}
	s->st = st;
	atomic_init(&s->gen, 0);
	atomic_init(&s->auto_pauses, 0);
	atomic_init(&s->auto_aborts, 0);
	atomic_init(&s->timed_out, 0);
	return s;
}

void
rollout_service_set_moved_hook(
    struct rollout_service *s, rollout_service_moved_fn fn, void *arg)
{
	if (s == NULL)
		return;
	s->moved = fn;
	s->moved_arg = arg;
}

void
rollout_service_free(struct rollout_service *s)
{
	if (s == NULL)
		return;
	walkcache_free(s->walks);
	free(s);
}

uint64_t
rollout_service_generation(const struct rollout_service *s)
{
	return atomic_load(&s->gen);
}

atomic_uint_fast64_t *
rollout_service_generation_counter(struct rollout_service *s)
{
	return &s->gen;
}

uint64_t
rollout_service_auto_pauses(const struct rollout_service *s)
{
	return atomic_load(&s->auto_pauses);
}

uint64_t
rollout_service_auto_aborts(const struct rollout_service *s)
{
	return atomic_load(&s->auto_aborts);
}

uint64_t
rollout_service_timed_out(const struct rollout_service *s)
{
	return atomic_load(&s->timed_out);
}

int
rollout_service_create(struct rollout_service *s,
    const struct store_rollout_new *req, int64_t *out_id,
    char missing[STORE_GROUP_NAME_MAX + 1])
{
	struct store_rollout_new r = *req;
	unsigned char salt[ROLLOUT_SALT_BYTES];
	struct store_conn *c;
	int rc;

	randombytes_buf(salt, sizeof(salt));
	r.salt = salt;
	c = store_acquire(s->st);
	rc = store_rollout_create(c, &r, out_id, missing);
	store_release(s->st, c);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&s->gen, 1);
	log_info("msg=\"rollout created\" id=%lld image_id=%lld by=%s",
	    (long long)*out_id, (long long)r.image_id, r.created_by);
	return 0;
}

int
rollout_service_group_windows(struct rollout_service *s, const char *group,
    const char *windows, const char *actor, char *out_text, char *err,
    size_t errlen)
{
	struct mwindow_set set;
	struct store_conn *c;
	int rc;

	if (mwindow_parse(windows, &set, err, errlen) != 0)
		return OTA_EINVAL;
	c = store_acquire(s->st);
	rc = store_group_set_windows(c, group, set.text);
	store_release(s->st, c);
	if (rc != 0)
		return rc;
	atomic_fetch_add(&s->gen, 1);
	memcpy(out_text, set.text, sizeof(set.text));
	log_info("msg=\"group maintenance windows set\" group=%s "
	         "windows=\"%s\" by=%s",
	    group, set.text, actor);
	return 0;
}

/* Writes change ch, decided at now, into r: the state, the stage, the
 * times it sets and the reason (cleared whole, so r reads exactly as a
 * later get would). */
static void
change_row(struct store_rollout *r, const struct rollout_change *ch,
    const char *reason, const char now[21])
{
	if (ch->set_started_at)
		memcpy(r->started_at, now, 21);
	if (ch->set_stage_started_at)
		memcpy(r->stage_started_at, now, 21);
	if (ch->set_finished_at)
		memcpy(r->finished_at, now, 21);
	if (ch->reason != ROLLOUT_REASON_KEEP)
		memset(r->reason, 0, sizeof(r->reason));
	if (ch->reason == ROLLOUT_REASON_SET)
		memcpy(
		    r->reason, reason, strnlen(reason, sizeof(r->reason) - 1));
	memcpy(r->updated_at, now, 21);
	r->state = ch->to;
	r->stage_index = ch->stage_index;
}

/*
 * What a decision taken outside the write transaction (the automatic
 * pause, the timed advance) saw of the row: the change applies only when
 * the row re-read inside the transaction is still that one.  The write
 * lock serializes every node's writers, so of several nodes that took the
 * same decision exactly one acts; the others find the row moved.
 */
struct seen_row {
	enum rollout_state state;
	int stage_index;
	char stage_started_at[21];
	char updated_at[21];
};

static void
seen_row_of(const struct store_rollout *r, struct seen_row *out)
{
	memset(out, 0, sizeof(*out));
	out->state = r->state;
	out->stage_index = r->stage_index;
	memcpy(out->stage_started_at, r->stage_started_at, 21);
	memcpy(out->updated_at, r->updated_at, 21);
}

/* 1 when r still reads as seen (NULL: no condition). */
static int
seen_row_holds(const struct seen_row *seen, const struct store_rollout *r)
{
	return seen == NULL ||
	       (seen->state == r->state &&
	           seen->stage_index == r->stage_index &&
	           strncmp(seen->stage_started_at, r->stage_started_at, 21) ==
	               0 &&
	           strncmp(seen->updated_at, r->updated_at, 21) == 0);
}

/*
 * Applies a to id on c in one write transaction: reads the row, refuses
 * with OTA_ECONFLICT when it no longer reads as seen (NULL: any row), has
 * rollout_decide decide, writes the decided row and its audit event.
 * *out gets the new row, or on OTA_ECONFLICT the row as it stood (out->id
 * 0 when it could not be read).
 */
static int
commit_change(struct store_conn *c, int64_t id, enum rollout_action a,
    int expect_stage, const struct seen_row *seen, const char *actor,
    const char *reason, struct store_rollout *out)
{
	struct rollout_change ch;
	char now[21];
	int rc, in_tx = 0;

	out->id = 0;
	if (reason == NULL)
		reason = "";
	/* The request's own faults first, before any row is read. */
	if (store_rollout_change_valid(actor, reason, a) != 0)
		return OTA_EINVAL;
	if ((rc = store_begin(c)) != 0)
		goto out;
	in_tx = 1;
	if ((rc = store_rollout_get(c, id, out)) != 0)
		goto out;
	if (!seen_row_holds(seen, out)) {
		rc = OTA_ECONFLICT;
		goto out;
	}
	if ((rc = rollout_decide(out->state, out->stage_index, out->stage_count,
	         a, expect_stage, &ch)) != 0)
		goto out;
	store_now_rfc3339(now);
	change_row(out, &ch, reason, now);
	if ((rc = store_rollout_update(c, out, a, ch.from, actor, reason)) != 0)
		goto out;
	in_tx = 0;
	rc = store_commit(c);
out:
	if (in_tx)
		store_rollback(c);
	if (rc != 0 && rc != OTA_ECONFLICT)
		out->id = 0;
	return rc;
}

/*
 * The one path of a change: commit_change, then the generation moves and
 * the moved hook hears of the devices a start or an advance takes in.
 */
static int
change(struct rollout_service *s, struct store_conn *c, int64_t id,
    enum rollout_action a, int expect_stage, const struct seen_row *seen,
    const char *actor, const char *reason, struct store_rollout *out)
{
	int rc;

	if ((rc = commit_change(
	         c, id, a, expect_stage, seen, actor, reason, out)) != 0)
		return rc;
	atomic_fetch_add(&s->gen, 1);
	/* The devices this stage takes in may update now (the hook only
	 * queues).  Only starts and advances read the hook: main sets and
	 * clears it while the automatic pause may run. */
	if ((a == ROLLOUT_START || a == ROLLOUT_ADVANCE) &&
	    out->state == ROLLOUT_RUNNING && s->moved != NULL)
		s->moved(s->moved_arg, out->id,
		    out->stage_index > 0 ? out->stages_bp[out->stage_index - 1]
		                         : 0,
		    out->stages_bp[out->stage_index]);
	return 0;
}

int
rollout_service_act(struct rollout_service *s, int64_t id,
    enum rollout_action a, int expect_stage, const char *actor,
    const char *reason, struct store_rollout *out)
{
	struct store_rollout *r = out;
	struct store_conn *c;
	int rc;

	/* About 6 KiB with its groups: not for a caller's stack. */
	if (r == NULL && (r = malloc(sizeof(*r))) == NULL)
		return OTA_ENOMEM;
	c = store_acquire(s->st);
	rc = change(s, c, id, a, expect_stage, NULL, actor, reason, r);
	store_release(s->st, c);
	if (rc == 0)
		log_info("msg=\"rollout %s\" id=%lld state=%s stage_index=%d "
		         "by=%s",
		    rollout_action_name(a), (long long)id,
		    rollout_state_name(r->state), r->stage_index, actor);
	if (r != out)
		free(r);
	return rc;
}

/* ---- policy edits ---- */

/* r's policy as the patch rules see it, and back. */
static void
policy_of(const struct store_rollout *r, struct rollout_policy *out)
{
	out->failure_threshold = r->failure_threshold;
	out->min_reports = r->min_reports;
	out->advance_after_sec = r->advance_after_sec;
	out->gate = r->gate;
	out->gate_confidence = r->gate_confidence;
	memcpy(out->from_version, r->from_version, sizeof(out->from_version));
	memcpy(out->start_at, r->start_at, sizeof(out->start_at));
	memcpy(out->selector, r->selector, sizeof(out->selector));
	memcpy(out->windows, r->windows, sizeof(out->windows));
	out->outside_window = r->outside_window;
	out->action_type = r->action_type;
	memcpy(out->forced_at, r->forced_at, sizeof(out->forced_at));
	out->stuck = r->stuck;
}

static void
policy_to(const struct rollout_policy *p, struct store_rollout *r)
{
	r->failure_threshold = p->failure_threshold;
	r->min_reports = p->min_reports;
	r->advance_after_sec = p->advance_after_sec;
	r->gate = p->gate;
	r->gate_confidence = p->gate_confidence;
	memcpy(r->from_version, p->from_version, sizeof(r->from_version));
	memcpy(r->start_at, p->start_at, sizeof(r->start_at));
	memcpy(r->selector, p->selector, sizeof(r->selector));
	memcpy(r->windows, p->windows, sizeof(r->windows));
	r->outside_window = p->outside_window;
	r->action_type = p->action_type;
	memcpy(r->forced_at, p->forced_at, sizeof(r->forced_at));
	r->stuck = p->stuck;
}

/*
 * The transaction of rollout_service_patch: reads id into *r, refuses
 * unless it is editable, merges and writes the patch.  *changed is 1 when
 * something was written (committed), 0 when the patch changes nothing.
 */
static int
commit_patch(struct store_conn *c, int64_t id, const struct rollout_patch *p,
    const char *actor, struct store_rollout *r, int *changed, char *err,
    size_t errlen)
{
	char changes[STORE_ROLLOUT_REASON_MAX + 1];
	struct rollout_policy cur, next;
	int rc, in_tx = 0;

	*changed = 0;
	if ((rc = store_begin(c)) != 0)
		goto out;
	in_tx = 1;
	if ((rc = store_rollout_get(c, id, r)) != 0)
		goto out;
	if (!rollout_patch_allowed(r->state)) {
		rc = OTA_ECONFLICT;
		goto out;
	}
	policy_of(r, &cur);
	if ((rc = rollout_patch_check_state(r->state, p, err, errlen)) != 0 ||
	    (rc = rollout_patch_apply(
	         &cur, p, &next, changes, sizeof(changes), err, errlen)) != 0 ||
	    (rc = rollout_targets_check(
	         r->group_count, next.selector, err, errlen)) != 0 ||
	    changes[0] == '\0')
		goto out; /* refused, or nothing to write: rolled back */
	policy_to(&next, r);
	store_now_rfc3339(r->updated_at);
	if ((rc = store_rollout_set_policy(c, r, actor, changes)) != 0)
		goto out;
	in_tx = 0;
	if ((rc = store_commit(c)) == 0) {
		*changed = 1;
		log_info("msg=\"rollout update\" id=%lld by=%s changes=\"%s\"",
		    (long long)id, actor, changes);
	}
out:
	if (in_tx)
		store_rollback(c);
	return rc;
}

int
rollout_service_patch(struct rollout_service *s, int64_t id,
    const struct rollout_patch *p, const char *actor, struct store_rollout *out,
    char *err, size_t errlen)
{
	struct store_conn *c;
	int rc, changed;

	out->id = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (actor == NULL || actor[0] == '\0' || strlen(actor) > 64)
		return OTA_EINVAL;
	c = store_acquire(s->st);
	rc = commit_patch(c, id, p, actor, out, &changed, err, errlen);
	store_release(s->st, c);
	if (rc == 0 && changed)
		atomic_fetch_add(&s->gen, 1);
	if (rc != 0 && rc != OTA_ECONFLICT)
		out->id = 0;
	return rc;
}

/* ---- the health gate ---- */

/* The finished counts of one rollout, what its abort criteria count of
 * them and the gate's verdict. */
struct gate {
	struct rollout_outcome_counts counts;
	uint64_t good, bad;            /* rollout_gate_tally's */
	struct rollout_gate_verdict v; /* an error of the gate: breached */
};

/* Asks r's gate about the tally good, bad (rollout_gate_judge, which
 * answers breached and not healthy on its own error). */
static void
gate_judge(const struct store_rollout *r, uint64_t good, uint64_t bad,
    struct rollout_gate_verdict *out)
{
	struct rollout_gate_policy p = {
	    r->gate, r->failure_threshold, r->min_reports, r->gate_confidence};

	(void)rollout_gate_judge(&p, good, bad, 0, out);
}

/* Reads r's finished counts, tallies them by its abort criteria and asks
 * the gate.  0 or OTA_EDB. */
static int
gate(struct store_conn *c, const struct store_rollout *r, struct gate *g)
{
	int rc;

	if ((rc = store_telemetry_finished(c, r->id, &g->counts)) != 0)
		return rc;
	if (rollout_gate_tally(&g->counts, r->stuck.abort_on,
	        r->stuck.ignore_results, &g->good, &g->bad) != 0) {
		/* Counts past 2^64: the safe side. */
		g->v.breached = 1;
		g->v.healthy = 0;
		return 0;
	}
	gate_judge(r, g->good, g->bad, &g->v);
	return 0;
}

/* ---- the automatic pause ---- */

/* The reason of an automatic pause, with the figures that caused it. */
static void
pause_reason(const struct store_rollout *r, const struct gate *g,
    char reason[STORE_ROLLOUT_REASON_MAX + 1])
{
	uint64_t bad = g->bad, finished = bad + g->good;
	char rate[16], thr[16], conf[16];

	snprintf(rate, sizeof(rate), "%.1f",
	    finished > 0 ? 100.0 * (double)bad / (double)finished : 0.0);
	rollout_percent_text(r->failure_threshold, thr, sizeof(thr));
	if (r->gate == ROLLOUT_GATE_WILSON) {
		rollout_percent_text(r->gate_confidence, conf, sizeof(conf));
		snprintf(reason, STORE_ROLLOUT_REASON_MAX + 1,
		    "failure rate %llu/%llu (%s%%) is above the threshold "
		    "%s%% with %s%% confidence (gate wilson, min_reports "
		    "%llu)",
		    (unsigned long long)bad, (unsigned long long)finished, rate,
		    thr, conf, (unsigned long long)r->min_reports);
		return;
	}
	snprintf(reason, STORE_ROLLOUT_REASON_MAX + 1,
	    "failure rate %llu/%llu (%s%%) reached the threshold %s%% "
	    "(min_reports %llu)",
	    (unsigned long long)bad, (unsigned long long)finished, rate, thr,
	    (unsigned long long)r->min_reports);
}

/* Pauses rollout id when it is running and breached; 1 when paused.
 * r is scratch space. */
static int
check_one(struct rollout_service *s, struct store_conn *c, int64_t id,
    struct store_rollout *r, uint64_t *out_finished)
{
	char reason[STORE_ROLLOUT_REASON_MAX + 1];
	enum rollout_action action;
	struct seen_row seen;
	struct gate g;
	int rc;

	if ((rc = store_rollout_get(c, id, r)) != 0)
		return rc == OTA_ENOTFOUND ? 0 : rc;
	if (r->state != ROLLOUT_RUNNING)
		return 0;
	if ((rc = gate(c, r, &g)) != 0)
		return rc;
	if (out_finished != NULL)
		*out_finished = g.good + g.bad;
	if (!g.v.breached)
		return 0;
	pause_reason(r, &g, reason);
	action = r->stuck.breach_action == ROLLOUT_BREACH_ABORT ? ROLLOUT_ABORT
	                                                        : ROLLOUT_PAUSE;
	/* Only the rollout the gate judged: another node (or a person) may
	 * have paused, or paused and resumed, it since. */
	seen_row_of(r, &seen);
	rc = change(s, c, id, action, -1, &seen, "otad", reason, r);
	if (rc == OTA_ECONFLICT || rc == OTA_ENOTFOUND)
		return 0; /* paused, aborted or gone meanwhile */
	if (rc != 0) {
		log_err("msg=\"automatic %s failed\" id=%lld err=\"%s\"",
		    rollout_action_name(action), (long long)id,
		    ota_strerror(rc));
		return rc;
	}
	atomic_fetch_add(
	    action == ROLLOUT_ABORT ? &s->auto_aborts : &s->auto_pauses, 1);
	log_warn("msg=\"rollout %s automatically\" id=%lld stage_index=%d "
	         "reason=\"%s\"",
	    action == ROLLOUT_ABORT ? "aborted" : "paused", (long long)id,
	    r->stage_index, reason);
	return 1;
}

int
rollout_service_check_health(
    struct rollout_service *s, int64_t id, uint64_t *out_finished)
{
	struct store_rollout *r;
	struct store_conn *c;
	int rc;

	if (s == NULL)
		return OTA_EINVAL;
	/* About 6 KiB with its groups: not for a caller's stack. */
	if ((r = malloc(sizeof(*r))) == NULL)
		return OTA_ENOMEM;
	c = store_acquire(s->st);
	rc = check_one(s, c, id, r, out_finished);
	store_release(s->st, c);
	free(r);
	return rc;
}

/* Adds check_one's answer rc to *paused or *first_err. */
static void
tally(int rc, int *paused, int *first_err)
{
	if (rc > 0)
		(*paused)++;
	else if (rc < 0 && *first_err == 0)
		*first_err = rc;
}

/* check_one for every running rollout, a page at a time. */
static int
check_running(struct rollout_service *s, struct store_conn *c,
    struct store_rollout *r, int *paused)
{
	struct store_rollout_filter f = {ROLLOUT_RUNNING, 0, 0, PAGE};
	struct store_rollout *page = NULL;
	size_t np = 0;
	int rc, first_err = 0;

	do {
		if ((rc = store_rollout_list(c, &f, &page, &np)) != 0)
			return first_err != 0 ? first_err : rc;
		for (size_t i = 0; i < np; i++)
			tally(check_one(s, c, page[i].id, r, NULL), paused,
			    &first_err);
		if (np > 0)
			f.after_id = page[np - 1].id;
		free(page);
		page = NULL;
	} while (np == PAGE);
	return first_err;
}

int
rollout_service_check_rollouts(
    struct rollout_service *s, const int64_t *ids, size_t n)
{
	struct store_rollout *r = NULL;
	struct store_conn *c = NULL;
	int first_err = 0, paused = 0;

	if (s == NULL)
		return OTA_EINVAL;
	/* About 6 KiB with its groups: not for a caller's stack. */
	if ((r = malloc(sizeof(*r))) == NULL)
		return OTA_ENOMEM;
	c = store_acquire(s->st);
	if (ids != NULL) {
		for (size_t i = 0; i < n; i++)
			tally(check_one(s, c, ids[i], r, NULL), &paused,
			    &first_err);
	} else {
		first_err = check_running(s, c, r, &paused);
	}
	store_release(s->st, c);
	free(r);
	return first_err != 0 ? first_err : paused;
}

void
rollout_service_touched(void *s, const int64_t *ids, size_t n)
{
	int rc;

	if (ids != NULL && n == 0)
		return;
	rc = rollout_service_check_rollouts(s, ids, n);
	if (rc < 0)
		log_err("msg=\"rollout health check failed\" err=\"%s\"",
		    ota_strerror(rc));
}

/* ---- the timed advance ---- */

void
rollout_service_holds_clear(struct rollout_service_holds *h)
{
	if (h == NULL)
		return;
	free(h->ids);
	memset(h, 0, sizeof(*h));
}

/* 1 when id is in h (NULL: an empty set). */
static int
holds_has(const struct rollout_service_holds *h, int64_t id)
{
	for (size_t i = 0; h != NULL && i < h->n; i++)
		if (h->ids[i] == id)
			return 1;
	return 0;
}

/* Adds id to h; 0, or OTA_ENOMEM (then the hold is simply logged again
 * at the next pass). */
static int
holds_add(struct rollout_service_holds *h, int64_t id)
{
	int64_t *v;
	size_t cap;

	if (h->n == h->cap) {
		cap = h->cap == 0 ? 16 : h->cap * 2;
		if ((v = realloc(h->ids, cap * sizeof(*v))) == NULL)
			return OTA_ENOMEM;
		h->ids = v;
		h->cap = cap;
	}
	h->ids[h->n++] = id;
	return 0;
}

/*
 * Whether rollout r is healthy enough to advance by itself: the gate of
 * the automatic pause says healthy.  A breached rollout is normally
 * paused by the writer already; this catches one resumed by hand while
 * still breached, and one whose wilson gate is not yet confident that it
 * is below the threshold (too few reports): it is added to now_held, and logged
 * only when was_held (the previous pass's holds; NULL: none) does not have it,
 * so a hold that lasts days is one line, not one per pass.  When the counts
 * cannot be read the answer is no: a rollout never advances on unknown health.
 */
static int
stage_healthy(struct store_conn *c, const struct store_rollout *r,
    const struct rollout_service_holds *was_held,
    struct rollout_service_holds *now_held)
{
	struct gate g;
	int rc;

	if ((rc = gate(c, r, &g)) != 0) {
		log_err("msg=\"automatic advance held: health unknown\" "
		        "id=%lld err=\"%s\"",
		    (long long)r->id, ota_strerror(rc));
		return 0;
	}
	if (g.v.healthy)
		return 1;
	(void)holds_add(now_held, r->id);
	if (holds_has(was_held, r->id))
		return 0;
	log_warn("msg=\"automatic advance held: %s\" id=%lld stage_index=%d "
	         "gate=%s completed=%llu failed=%llu timed_out=%llu "
	         "reverted=%llu counted_bad=%llu",
	    g.v.breached ? "failure threshold reached"
	                 : "not yet below the threshold with confidence",
	    (long long)r->id, r->stage_index, rollout_gate_name(r->gate),
	    (unsigned long long)g.counts.completed,
	    (unsigned long long)g.counts.failed,
	    (unsigned long long)g.counts.timed_out,
	    (unsigned long long)g.counts.reverted, (unsigned long long)g.bad);
	return 0;
}

/*
 * When r is due (running, advance_after set, its stage has run long
 * enough by now), writes how long it ran to *out_ran and returns 1.
 */
static int
due(const struct store_rollout *r, int64_t now, int64_t *out_ran)
{
	int64_t started_ms;

	if (r->state != ROLLOUT_RUNNING || r->advance_after_sec <= 0)
		return 0;
	if (timeutil_parse_rfc3339(r->stage_started_at, &started_ms) != 0) {
		log_err("msg=\"rollout has a bad stage_started_at\" id=%lld "
		        "value=\"%s\"",
		    (long long)r->id, r->stage_started_at);
		return 0;
	}
	*out_ran = now - started_ms / 1000;
	return *out_ran >= r->advance_after_sec;
}

/* Advances r by one stage; returns 1 when it moved, 0 when someone
 * else changed it first, or an OTA_E* code. */
static int
advance(struct rollout_service *s, struct store_conn *c,
    const struct store_rollout *r, int64_t ran)
{
	struct store_rollout *after;
	char reason[STORE_ROLLOUT_REASON_MAX + 1];
	struct seen_row seen;
	int rc;

	if ((after = malloc(sizeof(*after))) == NULL)
		return OTA_ENOMEM;
	snprintf(reason, sizeof(reason), "advance_after: stage %d ran %lld s",
	    r->stage_index, (long long)ran);
	/* Only the stage that was due: one node advances it; the others,
	 * and a pass that read it before a pause and resume restarted it,
	 * find it moved. */
	seen_row_of(r, &seen);
	rc = change(s, c, r->id, ROLLOUT_ADVANCE, r->stage_index, &seen, "otad",
	    reason, after);
	if (rc == 0) {
		log_info("msg=\"rollout advanced automatically\" id=%lld "
		         "from_stage=%d to_stage=%d stage_percent=%.2f "
		         "state=%s ran_sec=%lld advance_after_sec=%lld",
		    (long long)r->id, r->stage_index, after->stage_index,
		    after->stages_bp[after->stage_index] / 100.0,
		    rollout_state_name(after->state), (long long)ran,
		    (long long)r->advance_after_sec);
		rc = 1;
	} else if (rc == OTA_ECONFLICT || rc == OTA_ENOTFOUND) {
		/* Paused, aborted or advanced by hand since it was read. */
		log_info("msg=\"automatic advance skipped: rollout changed "
		         "meanwhile\" id=%lld",
		    (long long)r->id);
		rc = 0;
	} else {
		log_err("msg=\"automatic advance failed\" id=%lld err=\"%s\"",
		    (long long)r->id, ota_strerror(rc));
	}
	free(after);
	return rc;
}

/* One page of the pass: advances the due and healthy among v[0..n). */
static void
advance_page(struct rollout_service *s, struct store_conn *c,
    const struct store_rollout *v, size_t n, int64_t now,
    const struct rollout_service_holds *was_held,
    struct rollout_service_holds *now_held, int *advanced, int *first_err)
{
	int64_t ran;

	for (size_t i = 0; i < n; i++) {
		if (!due(&v[i], now, &ran) ||
		    !stage_healthy(c, &v[i], was_held, now_held))
			continue;
		tally(advance(s, c, &v[i], ran), advanced, first_err);
	}
}

int
rollout_service_advance_due(
    struct rollout_service *s, int64_t now, struct rollout_service_holds *holds)
{
	struct store_rollout_filter f = {ROLLOUT_RUNNING, 0, 0, PAGE};
	struct rollout_service_holds held = {0};
	struct store_rollout *v = NULL;
	struct store_conn *c;
	size_t n = 0;
	int rc, first_err = 0, advanced = 0;

	c = store_acquire(s->st);
	do {
		if ((rc = store_rollout_list(c, &f, &v, &n)) != 0) {
			first_err = rc;
			break;
		}
		advance_page(
		    s, c, v, n, now, holds, &held, &advanced, &first_err);
		if (n > 0)
			f.after_id = v[n - 1].id;
		free(v);
		v = NULL;
	} while (n == PAGE);
	store_release(s->st, c);
	/* A rollout no longer held (advanced, paused, healthy again) leaves
	 * the set: held again later, it is logged again. */
	if (holds != NULL) {
		rollout_service_holds_clear(holds);
		*holds = held;
	} else {
		rollout_service_holds_clear(&held);
	}
	return first_err != 0 ? first_err : advanced;
}

/* ---- the per-device timeout ---- */

/* Updates marked timed_out per statement, and statements per rollout and
 * pass: a pass does a bounded amount of work; a backlog (a timeout set on
 * a rollout with many silent devices) drains over the next passes. */
#define TIMEOUT_BATCH 1000
#define TIMEOUT_BATCHES 4

/* Sweeps rollout r (device_timeout > 0) at now: marks its stale attempts
 * timed_out, then asks its gate when it is running.  The number marked,
 * or an OTA_E* code. */
static int
time_out_one(struct rollout_service *s, struct store_conn *c,
    const struct store_rollout *r, int64_t now, struct store_rollout *scratch)
{
	char at[21];
	size_t n = 0, total = 0;
	int rc = 0;

	timeutil_format_rfc3339(now, at);
	for (int i = 0; i < TIMEOUT_BATCHES; i++) {
		rc = store_telemetry_time_out(c, r->id,
		    now - r->stuck.device_timeout_sec, TIMEOUT_BATCH, at, &n);
		if (rc != 0)
			break;
		total += n;
		if (n < TIMEOUT_BATCH)
			break;
	}
	if (total == 0)
		return rc;
	atomic_fetch_add(&s->timed_out, total);
	log_info("msg=\"updates timed out\" rollout=%lld count=%zu "
	         "device_timeout_sec=%lld",
	    (long long)r->id, total, (long long)r->stuck.device_timeout_sec);
	/* The rows are committed: the gate looks at once, as after the
	 * telemetry writer's commits. */
	if (r->state == ROLLOUT_RUNNING) {
		int rc2 = check_one(s, c, r->id, scratch, NULL);

		if (rc2 < 0 && rc == 0)
			rc = rc2;
	}
	return rc != 0 ? rc : (int)(total > INT32_MAX ? INT32_MAX : total);
}

/* time_out_one for each rollout in state st with a device_timeout. */
static int
time_out_state(struct rollout_service *s, struct store_conn *c,
    enum rollout_state st, int64_t now, struct store_rollout *scratch,
    int *marked)
{
	struct store_rollout_filter f = {(int)st, 0, 0, PAGE};
	struct store_rollout *v = NULL;
	size_t n = 0;
	int rc, first_err = 0;

	do {
		if ((rc = store_rollout_list(c, &f, &v, &n)) != 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			if (v[i].stuck.device_timeout_sec <= 0)
				continue;
			rc = time_out_one(s, c, &v[i], now, scratch);
			if (rc > 0)
				*marked += rc;
			else if (rc < 0 && first_err == 0)
				first_err = rc;
		}
		if (n > 0)
			f.after_id = v[n - 1].id;
		free(v);
		v = NULL;
	} while (n == PAGE);
	return first_err;
}

int
rollout_service_time_out(struct rollout_service *s, int64_t now)
{
	struct store_rollout *scratch;
	struct store_conn *c;
	int rc, marked = 0;

	if (s == NULL)
		return OTA_EINVAL;
	/* About 6 KiB with its groups: not for the timer's stack. */
	if ((scratch = malloc(sizeof(*scratch))) == NULL)
		return OTA_ENOMEM;
	c = store_acquire(s->st);
	rc = time_out_state(s, c, ROLLOUT_RUNNING, now, scratch, &marked);
	/* A paused rollout's devices may still be installing: their
	 * attempts time out too (a resume finds them counted). */
	if (rc == 0)
		rc =
		    time_out_state(s, c, ROLLOUT_PAUSED, now, scratch, &marked);
	store_release(s->st, c);
	free(scratch);
	return rc != 0 ? rc : marked;
}

/* ---- the scheduled start ---- */

/* Starts r when it is a draft whose start_at has come by now, guarded by
 * the row as read (a patch or a start by hand meanwhile wins).  1 when
 * started, 0 when not (not due, or changed meanwhile), or an OTA_E*. */
static int
start_if_due(struct rollout_service *s, struct store_conn *c,
    const struct store_rollout *r, int64_t now)
{
	char reason[STORE_ROLLOUT_REASON_MAX + 1];
	struct store_rollout *after;
	struct seen_row seen;
	int64_t at_ms;
	int rc;

	if (r->state != ROLLOUT_DRAFT || r->start_at[0] == '\0' ||
	    timeutil_parse_rfc3339(r->start_at, &at_ms) != 0 ||
	    at_ms / 1000 > now)
		return 0;
	if ((after = malloc(sizeof(*after))) == NULL)
		return OTA_ENOMEM;
	snprintf(reason, sizeof(reason), "start_at %s", r->start_at);
	seen_row_of(r, &seen);
	rc = change(
	    s, c, r->id, ROLLOUT_START, -1, &seen, "otad", reason, after);
	if (rc == 0) {
		log_info("msg=\"rollout started at its start_at\" id=%lld "
		         "start_at=%s",
		    (long long)r->id, r->start_at);
		rc = 1;
	} else if (rc == OTA_ECONFLICT || rc == OTA_ENOTFOUND) {
		rc = 0; /* changed, started or aborted since it was read */
	} else {
		log_err("msg=\"scheduled start failed\" id=%lld err=\"%s\"",
		    (long long)r->id, ota_strerror(rc));
	}
	free(after);
	return rc;
}

int
rollout_service_start_due(struct rollout_service *s, int64_t now)
{
	struct store_rollout_filter f = {ROLLOUT_DRAFT, 0, 0, PAGE};
	struct store_rollout *v = NULL;
	struct store_conn *c;
	size_t n = 0;
	int rc, first_err = 0, started = 0;

	c = store_acquire(s->st);
	do {
		if ((rc = store_rollout_list(c, &f, &v, &n)) != 0) {
			first_err = rc;
			break;
		}
		for (size_t i = 0; i < n; i++)
			tally(start_if_due(s, c, &v[i], now), &started,
			    &first_err);
		if (n > 0)
			f.after_id = v[n - 1].id;
		free(v);
		v = NULL;
	} while (n == PAGE);
	store_release(s->st, c);
	return first_err != 0 ? first_err : started;
}

/* ---- the health answer ---- */

/* What the health walk over the members needs beside the answer. */
struct health_walk {
	struct rollout_service_health *h;
	struct semver_range from; /* the rollout's from-version range */
	struct selector sel;      /* its selector (n 0: none) */
	struct store_labels lab;  /* one member's, while matched */
};

/* 1 when the member's labels (JSON text) satisfy the rollout's selector.
 * Unreadable labels are no labels, as the poll reads them. */
static int
labels_targeted(struct health_walk *w, const char *labels)
{
	if (w->sel.n == 0)
		return 1;
	(void)store_labels_flatten(labels, &w->lab);
	return selector_match_flat(&w->sel, w->lab.flat, w->lab.len);
}

/* 1 when a member on installed version ver is targeted by the rollout's
 * from-version range: in it, or already on the rollout's image version
 * (it was targeted when it was offered the update it now runs; a device
 * that was on that version before the rollout counts too: the one
 * approximation, docs/health.md). */
static int
version_targeted(const struct health_walk *w, const char *ver)
{
	const char *iv = w->h->r.image_version;

	return semver_range_match(&w->from, ver) ||
	       (ver[0] != '\0' &&
	           semver_cmp(ver, strlen(ver), iv, strlen(iv)) == 0);
}

/* store_rollout_member_versions callback: one targeted device into its
 * stage.  A member whose hardware the image does not fit is never
 * offered it: not targeted, nor one outside the from-version range
 * (version_targeted) or not selected by its labels (labels_targeted).
 * One whose fit is unknown (the image of an ended
 * rollout was deleted) still counts, as it did while the rollout ran. */
static int
count_member(void *ctx, const char *device_id, int image_fits, const char *ver,
    const char *labels)
{
	struct health_walk *w = ctx;
	struct rollout_service_health *h = w->h;
	uint32_t bucket;
	int i = 0;

	if (image_fits == 0 || !version_targeted(w, ver) ||
	    !labels_targeted(w, labels))
		return 0;
	bucket = rollout_bucket(h->r.salt, device_id);

	/* The last stage is 100% (10000 bp): every bucket finds a stage. */
	while (i < h->r.stage_count - 1 &&
	       !rollout_bucket_in_stage(bucket, h->r.stages_bp[i]))
		i++;
	h->entered[i]++;
	h->targeted++;
	return 0;
}

/* The state of r's own windows at now (open, never changing, without). */
static int
health_window(
    const struct store_rollout *r, int64_t now, int *out_open, int64_t *next)
{
	struct mwindow_set set;
	struct mwindow_span *sp;
	int n;

	*out_open = 1;
	*next = 0;
	if (r->windows[0] == '\0')
		return 0;
	/* Stored canonical: one that does not parse is never open, as the
	 * offers see it. */
	*out_open = 0;
	if (mwindow_parse(r->windows, &set, NULL, 0) != 0)
		return 0;
	if ((sp = malloc(MWINDOW_SPANS_MAX * sizeof(*sp))) == NULL)
		return OTA_ENOMEM;
	n = mwindow_spans(&set, now - MWINDOW_BACK_SEC, now + MWINDOW_AHEAD_SEC,
	    sp, MWINDOW_SPANS_MAX);
	if (n >= 0)
		mwindow_state(sp, (size_t)n, now, out_open, next);
	free(sp);
	return n < 0 ? n : 0;
}

/* The digest of everything in rollout r that its member walk depends on
 * (walkcache's key): an edit of any of them is never answered from a walk
 * of the rollout before it. */
static uint64_t
walk_key(const struct store_rollout *r)
{
	crypto_generichash_state st;
	unsigned char d[8];
	uint64_t key;

	crypto_generichash_init(&st, NULL, 0, sizeof(d));
#define WALK_KEY_ADD(field)                                                    \
	crypto_generichash_update(&st, (const void *)&(field), sizeof(field))
	WALK_KEY_ADD(r->image_id);
	WALK_KEY_ADD(r->bundle_id);
	WALK_KEY_ADD(r->stage_count);
	WALK_KEY_ADD(r->stages_bp);
	WALK_KEY_ADD(r->salt);
	WALK_KEY_ADD(r->group_count);
	for (size_t i = 0; i < r->group_count; i++)
		WALK_KEY_ADD(r->groups[i].id);
#undef WALK_KEY_ADD
	/* Texts with their NULs, so that no two splits hash alike. */
	crypto_generichash_update(
	    &st, (const void *)r->image_version, strlen(r->image_version) + 1);
	crypto_generichash_update(
	    &st, (const void *)r->from_version, strlen(r->from_version) + 1);
	crypto_generichash_update(
	    &st, (const void *)r->selector, strlen(r->selector) + 1);
	crypto_generichash_final(&st, d, sizeof(d));
	memcpy(&key, d, sizeof(key));
	return key;
}

/* The walk over rollout r's target members (store_rollout_member_versions
 * with count_member) into out's entered and targeted: from the walks kept
 * (walkcache) when one may be given, else walked now and offered to them.
 * Sets out->targeted_at.  Returns 0 or OTA_E*. */
static int
health_members(struct rollout_service *s, struct store_conn *c,
    struct health_walk *w, struct rollout_service_health *out)
{
	uint64_t key = walk_key(&out->r);
	struct walkcache_walk kept;
	int64_t t0 = timeutil_mono_ms(), at = timeutil_now_ms();
	int rc;

	if (walkcache_get(s->walks, out->r.id, key, t0, &kept)) {
		memcpy(out->entered, kept.entered, sizeof(out->entered));
		out->targeted = kept.targeted;
		at = kept.computed_at_ms;
	} else if ((rc = store_rollout_member_versions(
	                c, out->r.id, count_member, w)) != 0) {
		walkcache_abandon(s->walks, out->r.id);
		return rc;
	} else {
		memcpy(kept.entered, out->entered, sizeof(kept.entered));
		kept.targeted = out->targeted;
		kept.computed_at_ms = at;
		walkcache_put(
		    s->walks, out->r.id, key, &kept, t0, timeutil_mono_ms());
	}
	timeutil_format_rfc3339(at / 1000, out->targeted_at);
	return 0;
}

int
rollout_service_health(
    struct rollout_service *s, int64_t id, struct rollout_service_health *out)
{
	const struct store_update_counts *t = &out->counts.total;
	struct rollout_outcome_counts oc = {0};
	struct rollout_gate_verdict v;
	struct health_walk *w;
	struct store_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return OTA_ENOMEM;
	w->h = out;
	c = store_acquire(s->st);
	rc = store_rollout_get(c, id, &out->r);
	/* Unparsable (never stored so by the API): targets nobody, as the
	 * offers of the poll see it. */
	if (rc == 0 &&
	    semver_range_parse(out->r.from_version, &w->from, NULL, 0) != 0) {
		w->from.n = 1;
		w->from.c[0].op = SEMVER_RANGE_EQ;
	}
	/* The same for a selector: one no label set can satisfy. */
	if (rc == 0 && selector_parse(out->r.selector, &w->sel, NULL, 0) != 0)
		(void)selector_parse(
		    "otad.never,!otad.never", &w->sel, NULL, 0);
	if (rc == 0)
		rc = store_rollout_stage_starts(c, id, out->stage_started);
	if (rc == 0)
		rc = store_telemetry_counts(c, id, &out->counts);
	if (rc == 0 && out->r.bundle_id > 0)
		rc =
		    store_telemetry_component_failures(c, id, out->by_component,
		        STORE_COMPONENT_FAILURES_MAX, &out->by_component_n);
	if (rc == 0)
		rc = health_members(s, c, w, out);
	store_release(s->st, c);
	free(w);
	if (rc != 0)
		return rc;
	oc.completed = t->completed;
	oc.failed = t->failed;
	oc.timed_out = t->timed_out;
	oc.reverted = t->reverted;
	oc.declined = t->declined;
	memcpy(oc.failed_by_result, t->failed_by_result,
	    sizeof(oc.failed_by_result));
	if (rollout_gate_tally(&oc, out->r.stuck.abort_on,
	        out->r.stuck.ignore_results, &out->good, &out->bad) != 0) {
		v.breached = 1;
		v.healthy = 0;
	} else {
		gate_judge(&out->r, out->good, out->bad, &v);
	}
	out->breached = v.breached;
	out->healthy = v.healthy;
	return health_window(
	    &out->r, timeutil_now_sec(), &out->window_open, &out->window_next);
}
