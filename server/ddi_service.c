/*
 * ddi_service: the DDI device API's rules over the store.  The poll is a
 * hot path like the REST manifest's: one read transaction for the
 * device's facts and actions, the offer from the in-memory snapshot, the
 * report left in the seen buffer; it writes only to create the offered
 * action or to mark one canceling.  Every input is parsed and checked
 * before a transaction opens; no transaction spans a wait on another
 * thread (the telemetry commit of a feedback comes before its row).
 */
#include "ddi_service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundles.h"
#include "compcache.h"
#include "ddicache.h"
#include "devcache.h"
#include "errors.h"
#include "json_util.h"
#include "log.h"
#include "offers.h"
#include "rollout.h"
#include "seen.h"
#include "store.h"
#include "store_bundles.h"
#include "store_components.h"
#include "store_ddi.h"
#include "store_devices.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "store_telemetry.h"
#include "telemetry.h"
#include "timeutil.h"
#include "update_state.h"

/* Groups of one device considered for offers (store_device_poll_facts). */
#define DDI_GROUPS_MAX 1024
#define DDI_FEEDBACK_TRIES 3    /* reads of an action changed meanwhile */
#define DDI_BUNDLE_CANDIDATES 8 /* bundle rollouts weighed per poll */
/* configData written in one transaction at most (its device changes
 * are reported at the commit: far under STORE_CHANGES_MAX). */
#define DDI_CONFIG_BATCH_MAX 256

struct ddi_service {
	struct store *st;
	struct offers *offers;
	struct seen *seen;
	struct telemetry *telemetry;
	struct devcache *devices;     /* may be NULL */
	struct ddicache *ddi;         /* NULL: none */
	struct compcache *components; /* NULL: none */
	char *attr_hardware;          /* NULL: none */
	char *attr_version;
	/* configData group commit (config_writer): the jobs waiting,
	 * oldest first, and the writer thread. */
	pthread_mutex_t cfg_mu;
	pthread_cond_t cfg_cv;
	struct ddi_service_config_job *cfg_head, *cfg_tail;
	pthread_t cfg_thread;
	int cfg_started, cfg_stopping;
};

static void *config_writer(void *arg);

/* A copy of s, NULL for NULL or ""; *failed set when out of memory. */
static char *
dup_name(const char *s, int *failed)
{
	char *d;

	if (s == NULL || s[0] == '\0')
		return NULL;
	if ((d = strdup(s)) == NULL)
		*failed = 1;
	return d;
}

struct ddi_service *
ddi_service_new(struct store *st, struct offers *offers, struct seen *seen,
    struct telemetry *telemetry, const char *attr_hardware,
    const char *attr_version)
{
	struct ddi_service *s;
	int failed = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_err("module=ddi_service err=\"out of memory\"");
		return NULL;
	}
	s->st = st;
	s->offers = offers;
	s->seen = seen;
	s->telemetry = telemetry;
	s->attr_hardware = dup_name(attr_hardware, &failed);
	s->attr_version = dup_name(attr_version, &failed);
	pthread_mutex_init(&s->cfg_mu, NULL);
	pthread_cond_init(&s->cfg_cv, NULL);
	if (!failed &&
	    pthread_create(&s->cfg_thread, NULL, config_writer, s) == 0) {
		s->cfg_started = 1;
		(void)pthread_setname_np(s->cfg_thread, "otad-ddi-config");
	} else {
		failed = 1;
	}
	if (failed) {
		log_err("module=ddi_service err=\"out of memory\"");
		ddi_service_free(s);
		return NULL;
	}
	return s;
}

void
ddi_service_set_components(struct ddi_service *s, struct compcache *components)
{
	s->components = components;
}

int
ddi_service_set_devices(struct ddi_service *s, struct devcache *devices,
    atomic_uint_fast64_t *rollouts_gen, size_t max_entries)
{
	struct devcache_listener l = {
	    ddicache_hook, ddicache_serving_hook, NULL};

	s->devices = devices;
	if (devices == NULL)
		return 0;
	/* Not serving until devices says it does (its listener). */
	s->ddi = ddicache_new(max_entries, rollouts_gen, 0);
	if (s->ddi == NULL)
		return OTA_ENOMEM;
	l.arg = s->ddi;
	devcache_set_listener(devices, &l);
	return 0;
}

void
ddi_service_cache_stats(struct ddi_service *s, struct ddicache_stats *out)
{
	ddicache_get_stats(s != NULL ? s->ddi : NULL, out);
}

void
ddi_service_free(struct ddi_service *s)
{
	static const struct devcache_listener none;

	if (s == NULL)
		return;
	/* The writer answers what is queued, then ends. */
	if (s->cfg_started) {
		pthread_mutex_lock(&s->cfg_mu);
		s->cfg_stopping = 1;
		pthread_cond_signal(&s->cfg_cv);
		pthread_mutex_unlock(&s->cfg_mu);
		pthread_join(s->cfg_thread, NULL);
	}
	/* Changes may still commit (seen, telemetry): none reaches it. */
	if (s->ddi != NULL)
		devcache_set_listener(s->devices, &none);
	ddicache_free(s->ddi);
	pthread_cond_destroy(&s->cfg_cv);
	pthread_mutex_destroy(&s->cfg_mu);
	free(s->attr_hardware);
	free(s->attr_version);
	free(s);
}

/* ---- the poll ---- */

/* What one poll reads and decides on. */
struct poll_state {
	const char *id;
	char hw[STORE_HARDWARE_MAX + 1]; /* provisioned */
	char reported_hw[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1];
	int64_t groups[DDI_GROUPS_MAX];
	size_t ngroups;
	uint32_t label_bits; /* offers_label_bits of its labels */
	struct store_ddi_poll poll;
	/* The non-final actions, and the row of each in poll.actions. */
	struct ddi_active active[STORE_DDI_POLL_ACTIONS_MAX];
	size_t row_of[STORE_DDI_POLL_ACTIONS_MAX];
	size_t na;
	/* Rollouts not offered this poll: of final actions (unless their
	 * retry is due), and those the device's update marks keep from it
	 * (offers_retry_except). */
	int64_t except[STORE_DDI_POLL_ACTIONS_MAX + STORE_UPDATE_MARKS_MAX];
	size_t ne;
	struct devcache_marks marks;       /* the device's update marks */
	const struct offer_rollout *offer; /* borrowed from the snapshot */
	struct bundle_plan plan;           /* of a bundle's offer */
	int64_t now;
	struct compcache *components;        /* the service's, may be NULL */
	int64_t rollout_id;                  /* of a deployment */
	int64_t image_id;                    /* its row's image, 0 unknown */
	int64_t bundle_id;                   /* its rollout's bundle, 0 none */
	char parts[STORE_DDI_PARTS_MAX + 1]; /* its action's parts */
};

/* The device's facts (through the device cache: no read for a device
 * seen recently), then its DDI facts from the DDI cache or from one
 * snapshot, ended before any write.  0, OTA_ENOTFOUND, EDB. */
static int
poll_read(struct ddi_service *s, struct store_conn *c,
    const struct offers_snapshot *snap, struct poll_state *p)
{
	struct devcache_match m = {snap->sel_stamp, offers_label_bits_cb, snap};
	struct ddicache_ticket t;
	int rc;

	rc = devcache_poll_facts_match(s->devices, c, p->id, p->hw,
	    p->reported_hw, p->ver, p->groups, DDI_GROUPS_MAX, &p->ngroups, &m,
	    &p->label_bits, &p->marks);
	if (rc != 0 || ddicache_lookup(s->ddi, p->id, &p->poll) == 0)
		return rc;
	ddicache_ticket(s->ddi, &t);
	if ((rc = store_ddi_poll_facts(c, p->id, &p->poll)) == 0)
		ddicache_insert(s->ddi, &t, p->id, &p->poll);
	return rc;
}

/* 1 when the device has an action (not final) of rollout_id. */
static int
poll_has_action(const struct poll_state *p, int64_t rollout_id)
{
	for (size_t i = 0; i < p->na; i++)
		if (p->active[i].rollout_id == rollout_id)
			return 1;
	return 0;
}

/* 1 when the device's update in running rollout rollout_id ended
 * badly and its retry is due (rollout_retry_decide): a final action of
 * it does not keep the rollout from the device. */
static int
poll_retry_due(const struct offers_snapshot *snap, const struct poll_state *p,
    int64_t rollout_id)
{
	const struct offer_rollout *r = offers_rollout(snap, rollout_id);
	const struct store_update_mark *m = p->marks.m;

	for (size_t i = 0; r != NULL && i < p->marks.n; i++)
		if (m[i].rollout_id == rollout_id &&
		    update_state_bad((enum update_state)m[i].status))
			return rollout_retry_decide(r->stuck.max_retries,
			           r->stuck.retry_backoff_sec, m[i].retries,
			           m[i].outcome_at, p->now,
			           NULL) == ROLLOUT_RETRY_DUE;
	return 0;
}

/* Splits the actions read into the active ones and the excepted
 * rollouts.  A running rollout whose selector the device's labels no
 * longer match does not target it any more. */
static void
poll_sort_actions(const struct offers_snapshot *snap, struct poll_state *p)
{
	for (size_t i = 0; i < p->poll.action_count; i++) {
		const struct store_ddi_action *a = &p->poll.actions[i];
		struct ddi_active *x = &p->active[p->na];

		/* A final action's rollout is not offered again, but for a
		 * retry: a new action (poll_open), which, once open, is
		 * listed before it (newest first). */
		if (ddi_status_final(a->status)) {
			if (!poll_has_action(p, a->rollout_id) &&
			    !poll_retry_due(snap, p, a->rollout_id))
				p->except[p->ne++] = a->rollout_id;
			continue;
		}
		x->action_id = a->id;
		x->rollout_id = a->rollout_id;
		x->status = a->status;
		x->rollout_aborted = strcmp(a->rollout_state, "aborted") == 0;
		x->targeted = a->targeted && offers_selected(snap,
		                                 a->rollout_id, p->label_bits);
		p->row_of[p->na++] = i;
	}
	/* Within a retry's backoff, retries spent, declined: as REST. */
	p->ne += offers_retry_except(snap, p->marks.m, p->marks.n, p->now,
	    p->except + p->ne, STORE_UPDATE_MARKS_MAX);
}

/*
 * The modes of a deployment of rollout r (NULL: not running, forced and
 * available) for a device in groups[0..n) at now into *out.  Returns 1
 * when r's windows are closed for the device and it says nothing outside
 * them (silent), else 0.
 */
static int
deploy_modes(const struct offers_snapshot *snap, const struct offer_rollout *r,
    const int64_t *groups, size_t n, int64_t now, struct ddi_modes *out)
{
	struct offers_when w;

	if (r == NULL) {
		ddi_modes_of(ROLLOUT_ACTION_FORCED, 1, out);
		return 0;
	}
	/* A failure answers "open": logged by offers_when. */
	(void)offers_when(snap, r, groups, n, now, &w);
	ddi_modes_of(w.action, w.window_open, out);
	return !w.window_open && r->outside == ROLLOUT_OUTSIDE_SILENT;
}

/* 1 when rollout id is among the excepted ones of p. */
static int
poll_excepted(const struct poll_state *p, int64_t id)
{
	for (size_t i = 0; i < p->ne; i++)
		if (p->except[i] == id)
			return 1;
	return 0;
}

/*
 * The bundle offer for a device no image rollout serves: among the
 * running bundle rollouts that target it (offers_bundles) and that it
 * has not finished, the newest whose plan (bundle_plan over its
 * components, read only then) installs a part.  p->offer and p->plan.
 */
static int
poll_bundle_offer(struct store_conn *c, const struct offers_snapshot *snap,
    struct poll_state *p)
{
	const struct offer_rollout *cand[DDI_BUNDLE_CANDIDATES];
	struct component *comps = NULL;
	size_t k, m = 0, n = 0;
	int rc;

	k = offers_bundles(snap, p->id, p->ver, p->groups, p->ngroups,
	    p->label_bits, cand, DDI_BUNDLE_CANDIDATES);
	for (size_t i = 0; i < k; i++)
		if (!poll_excepted(p, cand[i]->id))
			cand[m++] = cand[i];
	if (m == 0)
		return 0;
	if ((rc = compcache_read(p->components, c, p->id, &comps, &n)) != 0)
		return rc;
	for (size_t i = 0; i < m && p->offer == NULL; i++) {
		offers_bundle_plan(cand[i], comps, n, &p->plan);
		if (p->plan.verdict == BUNDLE_OFFER)
			p->offer = cand[i];
	}
	free(comps);
	return 0;
}

/* The offer of snapshot snap for the device (p->offer, NULL none): an
 * image rollout's, else a bundle's (poll_bundle_offer).
 * Without a known version there is no offer (as the REST manifest, which
 * asks for one): configData brings it.  Nor for a device whose configData
 * named another hardware than its provisioned one. */
static int
poll_offer(struct store_conn *c, const struct offers_snapshot *snap,
    struct poll_state *p)
{
	struct ddi_modes modes;
	int rc;

	p->offer = NULL;
	if (p->ver[0] == '\0' ||
	    rollout_hardware_mismatch(p->hw, p->reported_hw))
		return 0;
	rc = offers_pick_labels(snap, p->id, p->hw, p->ver, p->groups,
	    p->ngroups, p->label_bits, p->except, p->ne, &p->offer);
	if (rc == OTA_ENOTFOUND) {
		p->offer = NULL;
		rc = snap->bundle_count > 0 ? poll_bundle_offer(c, snap, p) : 0;
	}
	if (p->offer != NULL && deploy_modes(snap, p->offer, p->groups,
	                            p->ngroups, p->now, &modes) == 1)
		p->offer = NULL; /* silent outside the windows */
	/* A new deployment (none open for the rollout yet) takes its place
	 * in the rollout's rate; without one, none this poll. */
	if (p->offer != NULL && !poll_has_action(p, p->offer->id) &&
	    !offers_rate_take(p->offer, timeutil_now_ms() * 1000))
		p->offer = NULL;
	return rc;
}

/* Commits the transaction open on c when rc is 0, else rolls it back;
 * returns rc or the commit's code. */
static int
tx_finish(struct store_conn *c, int rc)
{
	if (rc == 0)
		return store_commit(c);
	store_rollback(c);
	return rc;
}

/* Marks action out->action_id canceling; closed or refused meanwhile,
 * the answer has no action link (the next poll sees). */
static int
poll_cancel(struct store_conn *c, struct ddi_service_poll *out)
{
	char now[21];
	int rc;

	store_now_rfc3339(now);
	/* In a write transaction: the writers' turn (store_begin), never
	 * SQLite's busy polling. */
	if ((rc = store_begin(c)) == 0) {
		rc = store_ddi_action_cancel(c, out->action_id, now);
		rc = tx_finish(c, rc);
	}
	if (rc == OTA_ECONFLICT || rc == OTA_ENOTFOUND) {
		out->kind = DDI_POLL_NONE;
		out->action_id = 0;
		rc = 0;
	}
	return rc;
}

/* The components plan installs of bundle b, in install order, as
 * "a,b,c" into out. */
static void
plan_parts(const struct offer_bundle *b, const struct bundle_plan *plan,
    char out[STORE_DDI_PARTS_MAX + 1])
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < b->desc.part_count; i++) {
		if (!plan->install[i])
			continue;
		len +=
		    (size_t)snprintf(out + len, STORE_DDI_PARTS_MAX + 1 - len,
		        "%s%s", len > 0 ? "," : "", b->desc.parts[i].component);
	}
}

/* Creates (or finds) the action of the offered rollout and deploys it
 * while it is open or running; a bundle's action records the parts it
 * deploys (the plan of this poll) when created. */
static int
poll_open(
    struct store_conn *c, struct poll_state *p, struct ddi_service_poll *out)
{
	static const struct store_ddi_action zero_action;
	struct store_ddi_action opened = zero_action;
	int retry = offers_retry_of(p->marks.m, p->marks.n, p->offer->id);
	char now[21];
	int rc;

	store_now_rfc3339(now);
	if ((rc = store_begin(c)) == 0) {
		/* A retry's action is a new one: attempt retries + 1. */
		rc = store_ddi_action_open_attempt(c, p->offer->id, p->id,
		    retry >= 0 ? (uint32_t)retry + 1 : 0, now, &opened);
		if (rc == 0 && p->offer->bundle != NULL &&
		    opened.parts[0] == '\0') {
			plan_parts(p->offer->bundle, &p->plan, opened.parts);
			rc = store_ddi_action_set_parts(
			    c, opened.id, opened.parts);
		}
		rc = tx_finish(c, rc);
	}
	if (rc == OTA_ENOTFOUND)
		return 0; /* the rollout went meanwhile */
	if (rc == 0 &&
	    (opened.status == DDI_OPEN || opened.status == DDI_RUNNING)) {
		out->kind = DDI_POLL_DEPLOY;
		out->action_id = opened.id;
		p->rollout_id = p->offer->id;
		p->image_id = opened.image_id;
		p->bundle_id = opened.bundle_id;
		memcpy(p->parts, opened.parts, sizeof(p->parts));
	}
	return rc;
}

/* ddi_poll_decide over what was read, and the one write it may need.
 * The time is formatted only for a write: most polls make none. */
static int
poll_decide(
    struct store_conn *c, struct poll_state *p, struct ddi_service_poll *out)
{
	size_t idx = 0;
	int mark = 0;

	out->kind = ddi_poll_decide(
	    p->active, p->na, p->offer != NULL ? p->offer->id : 0, &idx, &mark);
	switch (out->kind) {
	case DDI_POLL_CANCEL:
		out->action_id = p->active[idx].action_id;
		return mark ? poll_cancel(c, out) : 0;
	case DDI_POLL_DEPLOY:
		out->action_id = p->active[idx].action_id;
		p->rollout_id = p->active[idx].rollout_id;
		p->image_id = p->poll.actions[p->row_of[idx]].image_id;
		p->bundle_id = p->poll.actions[p->row_of[idx]].bundle_id;
		memcpy(p->parts, p->poll.actions[p->row_of[idx]].parts,
		    sizeof(p->parts));
		return 0;
	case DDI_POLL_NONE:
		return p->offer != NULL ? poll_open(c, p, out) : 0;
	case DDI_POLL_CONFIRM: /* not ddi_poll_decide's */
		break;
	}
	return 0;
}

/* Copies an image's facts into *out. */
static void
image_set(struct ddi_service_image *out, int64_t id, const char *name,
    const char *version, uint64_t size, const char *sha1_hex,
    const char *md5_hex, const char *sha256_hex)
{
	out->id = id;
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->version, sizeof(out->version), "%s", version);
	out->size = size;
	snprintf(out->sha1_hex, sizeof(out->sha1_hex), "%s", sha1_hex);
	snprintf(out->md5_hex, sizeof(out->md5_hex), "%s", md5_hex);
	snprintf(out->sha256_hex, sizeof(out->sha256_hex), "%s", sha256_hex);
}

/* A deployment shows its image: from the snapshot while the rollout runs,
 * else (paused, completed) from its row; gone, nothing deploys. */
static int
poll_image(struct store_conn *c, const struct offers_snapshot *snap,
    const struct poll_state *p, struct ddi_service_poll *out)
{
	const struct offer_rollout *r = offers_rollout(snap, p->rollout_id);
	struct store_image *img = NULL;
	int rc = 0;

	if (r != NULL) {
		image_set(&out->image, r->image.id, r->image.name,
		    r->image.version, r->image.size, r->image.sha1_hex,
		    r->image.md5_hex, r->image.sha256_hex);
		snprintf(out->image.filename, sizeof(out->image.filename), "%s",
		    r->image.filename);
	} else if (p->image_id > 0 &&
	           (rc = store_image_get(c, p->image_id, &img)) == 0) {
		image_set(&out->image, img->id, img->desc.name,
		    img->desc.version, img->desc.size, img->sha1_hex,
		    img->md5_hex, img->desc.sha256_hex);
		ddi_artifact_filename(&img->desc, out->image.filename);
	} else {
		out->kind = DDI_POLL_NONE;
		if (rc == OTA_ENOTFOUND)
			rc = 0;
	}
	store_image_free(img);
	return rc;
}

/* 1 when component is one of the comma-separated parts. */
static int
parts_has(const char *parts, const char *component)
{
	size_t n = strlen(component);

	for (const char *p = parts; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, component, n) == 0)
			return 1;
		p += len + (end != NULL);
	}
	return 0;
}

/*
 * The images of the parts (comma-separated components) of bundle
 * bundle_id, in install order, read from the store: img[i] new
 * (store_image_free), part[i] its component.  Returns 0 with *out_n (0:
 * none of the parts is in the bundle), OTA_ENOTFOUND (the bundle or an
 * image is gone) or OTA_EDB.
 */
static int
bundle_images(struct store_conn *c, int64_t bundle_id, const char *parts,
    struct store_image **img, char (*part)[COMPONENT_NAME_MAX + 1],
    size_t *out_n)
{
	struct store_bundle *b = NULL;
	int rc;

	*out_n = 0;
	if ((rc = store_bundle_get(c, bundle_id, &b)) != 0)
		return rc;
	for (size_t i = 0; i < b->desc.part_count && rc == 0; i++) {
		const char *comp = b->desc.parts[i].component;

		if (!parts_has(parts, comp))
			continue;
		rc = store_image_get(c, b->image_ids[i], &img[*out_n]);
		if (rc == 0)
			snprintf(part[(*out_n)++], COMPONENT_NAME_MAX + 1, "%s",
			    comp);
	}
	store_bundle_free(b);
	if (rc != 0)
		for (size_t i = 0; i < *out_n; i++)
			store_image_free(img[i]);
	if (rc != 0)
		*out_n = 0;
	return rc;
}

/* Reads the parts of action action_id into p->parts ("" when it has
 * none, or is gone). */
static int
poll_action_parts(struct store_conn *c, struct poll_state *p, int64_t action_id)
{
	struct store_ddi_action act;
	int rc = store_ddi_action_get(c, p->id, action_id, &act);

	if (rc == 0)
		memcpy(p->parts, act.parts, sizeof(p->parts));
	return rc == OTA_ENOTFOUND ? 0 : rc;
}

/* The running bundle rollout rollout_id in snapshot s, or NULL. */
static const struct offer_rollout *
snap_bundle_rollout(const struct offers_snapshot *s, int64_t rollout_id)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->rollouts[i].id == rollout_id &&
		    s->rollouts[i].bundle != NULL)
			return &s->rollouts[i];
	return NULL;
}

/* A bundle's deployment shows the parts its action deploys: from the
 * snapshot while the rollout runs, else from the store; none left, nothing
 * deploys. */
static int
poll_parts(struct store_conn *c, const struct offers_snapshot *snap,
    struct poll_state *p, struct ddi_service_poll *out)
{
	const struct offer_rollout *r =
	    snap_bundle_rollout(snap, p->rollout_id);
	struct store_image *img[BUNDLE_PARTS_MAX];
	char part[BUNDLE_PARTS_MAX][COMPONENT_NAME_MAX + 1];
	size_t n = 0;
	int rc = 0;

	out->part_count = 0;
	/* The DDI poll cache keeps no parts: read them with the action. */
	if (p->parts[0] == '\0' &&
	    (rc = poll_action_parts(c, p, out->action_id)) != 0)
		return rc;
	for (size_t i = 0; r != NULL && i < r->bundle->desc.part_count; i++) {
		const struct offer_image *im = &r->bundle->parts[i];
		struct ddi_service_image *o = &out->parts[out->part_count];

		if (!parts_has(p->parts, r->bundle->desc.parts[i].component))
			continue;
		image_set(o, im->id, im->name, im->version, im->size,
		    im->sha1_hex, im->md5_hex, im->sha256_hex);
		snprintf(o->filename, sizeof(o->filename), "%s", im->filename);
		snprintf(o->component, sizeof(o->component), "%s",
		    r->bundle->desc.parts[i].component);
		out->part_count++;
	}
	if (r == NULL && (rc = bundle_images(
	                      c, p->bundle_id, p->parts, img, part, &n)) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct ddi_service_image *o = &out->parts[i];

			image_set(o, img[i]->id, img[i]->desc.name,
			    img[i]->desc.version, img[i]->desc.size,
			    img[i]->sha1_hex, img[i]->md5_hex,
			    img[i]->desc.sha256_hex);
			ddi_artifact_filename(&img[i]->desc, o->filename);
			memcpy(o->component, part[i], sizeof(o->component));
			store_image_free(img[i]);
		}
		out->part_count = n;
	}
	if (rc == OTA_ENOTFOUND)
		rc = 0;
	if (rc == 0 && out->part_count == 0)
		out->kind = DDI_POLL_NONE;
	return rc;
}

/* A deployment of a rollout that requires consent the device has not
 * given yet (offers_consent) is shown as confirmationBase instead: the
 * device (or its user) confirms or denies it first
 * (ddi_service_confirm).  A running action has it: the device started. */
static void
poll_consent(const struct offers_snapshot *snap, const struct poll_state *p,
    struct ddi_service_poll *out)
{
	const struct offer_rollout *r = offers_rollout(snap, p->rollout_id);

	if (r != NULL && offers_consent(r, p->marks.m, p->marks.n, p->now) ==
	                     ROLLOUT_CONSENT_REQUIRED)
		out->kind = DDI_POLL_CONFIRM;
}

/* The poll's reads, decision and write on c; *snap acquired here and
 * released by the caller. */
static int
poll_run(struct ddi_service *s, struct store_conn *c,
    const struct offers_snapshot **snap, struct poll_state *p,
    struct ddi_service_poll *out)
{
	int rc;

	*snap = offers_acquire(s->offers, c);
	if ((rc = poll_read(s, c, *snap, p)) != 0)
		return rc;
	out->attributes_wanted = p->poll.attributes_wanted;
	out->installed_action_id = p->poll.installed_action_id;
	poll_sort_actions(*snap, p);
	if ((rc = poll_offer(c, *snap, p)) != 0)
		return rc;
	if ((rc = poll_decide(c, p, out)) != 0)
		return rc;
	if (out->kind == DDI_POLL_DEPLOY)
		rc = p->bundle_id > 0 ? poll_parts(c, *snap, p, out)
		                      : poll_image(c, *snap, p, out);
	if (rc == 0 && out->kind == DDI_POLL_DEPLOY)
		(void)deploy_modes(*snap, offers_rollout(*snap, p->rollout_id),
		    p->groups, p->ngroups, p->now, &out->modes);
	if (rc == 0 && out->kind == DDI_POLL_DEPLOY)
		poll_consent(*snap, p, out);
	return rc;
}

int
ddi_service_poll(struct ddi_service *s, const char *device_id, int64_t now,
    struct ddi_service_poll *out)
{
	const struct offers_snapshot *snap = NULL;
	struct poll_state p;
	struct store_conn *c;
	struct offers_note note;
	int rc;

	memset(out, 0, sizeof(*out));
	/* Only the counters and results are cleared: the arrays are filled
	 * as far as they are read (a poll is a hot path). */
	p.id = device_id;
	p.ngroups = p.na = p.ne = p.marks.n = 0;
	p.label_bits = 0;
	p.offer = NULL;
	p.rollout_id = p.image_id = p.bundle_id = 0;
	p.parts[0] = '\0';
	p.now = now;
	p.components = s->components;
	c = store_acquire(s->st);
	rc = poll_run(s, c, &snap, &p, out);
	store_release(s->st, c);
	/* The offer the device is answered: its deployment of the offered
	 * rollout (recorded even when its image went meanwhile); a retry
	 * (its update ended badly, the retry due): the flush starts its new
	 * attempt, as for REST. */
	offers_note_of(rc == 0 && p.offer != NULL && p.rollout_id == p.offer->id
	                   ? p.offer
	                   : NULL,
	    p.marks.m, p.marks.n, &note);
	if (rc == 0)
		seen_note_retry(s->seen, device_id, NULL, NULL, p.hw, p.ver,
		    note.rollout_id, note.stage_index, note.retry, now);
	if (snap != NULL)
		offers_release(s->offers, snap);
	return rc;
}

/* ---- actions and artifacts ---- */

/*
 * The modes of a deployment of rollout_id to device_id at now, through
 * c: the device's groups are read (device cache) only when windows may
 * apply.  Returns 1 as deploy_modes, 0, or an OTA_E* code.
 */
static int
device_modes(struct ddi_service *s, struct store_conn *c, const char *device_id,
    int64_t rollout_id, int64_t now, struct ddi_modes *out)
{
	const struct offers_snapshot *snap = offers_acquire(s->offers, c);
	const struct offer_rollout *r = offers_rollout(snap, rollout_id);
	struct poll_state *p = NULL;
	int rc = 0;

	if (r == NULL || (r->windows == NULL && snap->gwin_count == 0)) {
		rc = deploy_modes(snap, r, NULL, 0, now, out);
		goto out;
	}
	/* About 10 KiB: not for a pool thread's stack. */
	if ((p = malloc(sizeof(*p))) == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	rc = devcache_poll_facts(s->devices, c, device_id, p->hw,
	    p->reported_hw, p->ver, p->groups, DDI_GROUPS_MAX, &p->ngroups);
	if (rc == 0)
		rc = deploy_modes(snap, r, p->groups, p->ngroups, now, out);
out:
	free(p);
	offers_release(s->offers, snap);
	return rc;
}

int
ddi_service_action(struct ddi_service *s, const char *device_id,
    int64_t action_id, enum ddi_view view, int64_t now,
    struct store_image **out_img, struct ddi_modes *out_modes)
{
	struct store_ddi_action act;
	struct store_conn *c;
	int rc;

	*out_img = NULL;
	ddi_modes_of(ROLLOUT_ACTION_FORCED, 1, out_modes);
	c = store_acquire(s->st);
	rc = store_ddi_action_get(c, device_id, action_id, &act);
	if (rc == 0 && !ddi_view_shows(view, act.status, act.result))
		rc = OTA_ENOTFOUND;
	if (rc == 0 && view != DDI_VIEW_CANCEL)
		rc = act.image_id > 0
		         ? store_image_get(c, act.image_id, out_img)
		         : OTA_ENOTFOUND;
	if (rc == 0 && view == DDI_VIEW_DEPLOYMENT &&
	    (rc = device_modes(
	         s, c, device_id, act.rollout_id, now, out_modes)) > 0)
		rc = 0;
	store_release(s->st, c);
	if (rc != 0) {
		store_image_free(*out_img);
		*out_img = NULL;
	}
	return rc;
}

void
ddi_service_deployment_clear(struct ddi_service_deployment *d)
{
	for (size_t i = 0; i < d->n; i++)
		store_image_free(d->img[i]);
	d->n = 0;
}

int
ddi_service_deployment(struct ddi_service *s, const char *device_id,
    int64_t action_id, enum ddi_view view, int64_t now,
    struct ddi_service_deployment *out)
{
	struct store_ddi_action act;
	struct store_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	ddi_modes_of(ROLLOUT_ACTION_FORCED, 1, &out->modes);
	c = store_acquire(s->st);
	rc = store_ddi_action_get(c, device_id, action_id, &act);
	if (rc == 0 && (view == DDI_VIEW_CANCEL ||
	                   !ddi_view_shows(view, act.status, act.result)))
		rc = OTA_ENOTFOUND;
	if (rc == 0 && act.bundle_id > 0) {
		rc = bundle_images(
		    c, act.bundle_id, act.parts, out->img, out->part, &out->n);
		if (rc == 0 && out->n == 0)
			rc = OTA_ENOTFOUND;
	} else if (rc == 0 && act.image_id > 0) {
		if ((rc = store_image_get(c, act.image_id, &out->img[0])) == 0)
			out->n = 1;
	} else if (rc == 0)
		rc = OTA_ENOTFOUND;
	if (rc == 0 && view == DDI_VIEW_DEPLOYMENT &&
	    (rc = device_modes(
	         s, c, device_id, act.rollout_id, now, &out->modes)) > 0)
		rc = 0;
	store_release(s->st, c);
	if (rc != 0)
		ddi_service_deployment_clear(out);
	return rc;
}

int
ddi_service_artifact(struct ddi_service *s, const char *device_id,
    int64_t image_id, struct store_image **out_img)
{
	struct store_conn *c;
	int may, rc;

	*out_img = NULL;
	c = store_acquire(s->st);
	may = store_rollout_device_may_fetch(c, image_id, device_id);
	if (may < 0)
		rc = may;
	else if (may == 0)
		rc = OTA_ENOTFOUND;
	else
		rc = store_image_get(c, image_id, out_img);
	store_release(s->st, c);
	return rc;
}

/* ---- feedback ---- */

/* Copies at most max bytes of src into dst (max + 1 bytes), cut on a
 * UTF-8 character boundary. */
static void
utf8_cut(char *dst, size_t max, const char *src)
{
	size_t n = strlen(src);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The telemetry event of a feedback whose effect is eff on action a. */
static void
feedback_event(const char *device_id, const struct store_ddi_action *a,
    const struct ddi_feedback *fb, const struct ddi_effect *eff,
    struct telemetry_event *ev)
{
	int64_t now_sec = timeutil_now_ms() / 1000;

	memset(ev, 0, sizeof(*ev));
	/* The same report sent again has the same id: stored once. */
	snprintf(ev->event_id, sizeof(ev->event_id), "ddi-%lld-%s",
	    (long long)a->id, fb->digest);
	snprintf(ev->device_id, sizeof(ev->device_id), "%s", device_id);
	ev->rollout_id = a->rollout_id;
	snprintf(ev->version, sizeof(ev->version), "%s", a->image_version);
	ev->state = eff->state;
	ev->progress = eff->progress;
	ev->result = eff->result;
	utf8_cut(ev->detail, TELEMETRY_DETAIL_MAX, fb->details);
	timeutil_format_rfc3339(now_sec, ev->ts);
	ev->ts_ms = now_sec * 1000;
}

/* The events of a bundle action's feedback, one per part it deploys
 * (ev[0] made by feedback_event), into ev[0..*n): each names its
 * component, at its part's image version. */
static int
feedback_parts(struct ddi_service *s, const struct store_ddi_action *act,
    const struct ddi_feedback *fb, struct telemetry_event *ev, size_t *n)
{
	struct store_image *img[BUNDLE_PARTS_MAX];
	char part[BUNDLE_PARTS_MAX][COMPONENT_NAME_MAX + 1];
	struct store_conn *c = store_acquire(s->st);
	size_t k = 0;
	int rc;

	rc = bundle_images(c, act->bundle_id, act->parts, img, part, &k);
	store_release(s->st, c);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < k; i++) {
		if (i > 0)
			ev[i] = ev[0];
		/* One id per part, the same at every retry of the report. */
		snprintf(ev[i].event_id, sizeof(ev[i].event_id),
		    "ddi-%lld-%s-%zu", (long long)act->id, fb->digest, i);
		snprintf(ev[i].version, sizeof(ev[i].version), "%s",
		    img[i]->desc.version);
		memcpy(ev[i].component, part[i], sizeof(ev[i].component));
		store_image_free(img[i]);
	}
	*n = k;
	/* A failure that says how many chunks went in (SWUpdate's cnt of
	 * of, the chunks in order) names the chunk that failed: that part
	 * fails, the others keep their status.  Otherwise every part fails
	 * (the device's failure names the first). */
	if (ev[0].state == UPDATE_FAILED && k > 0 &&
	    fb->progress_of == (int64_t)k && fb->progress_cnt >= 0 &&
	    fb->progress_cnt < (int64_t)k) {
		ev[0] = ev[fb->progress_cnt];
		*n = 1;
	}
	return 0;
}

/* Submits the event(s) of a feedback and waits for their commit. */
static int
feedback_submit(struct ddi_service *s, const char *device_id,
    const struct store_ddi_action *act, const struct ddi_feedback *fb,
    const struct ddi_effect *eff)
{
	struct telemetry_event ev[BUNDLE_PARTS_MAX];
	struct telemetry_result res[BUNDLE_PARTS_MAX];
	size_t n = 1;
	int rc;

	feedback_event(device_id, act, fb, eff, &ev[0]);
	if (act->bundle_id > 0 &&
	    (rc = feedback_parts(s, act, fb, ev, &n)) != 0) {
		log_warn("msg=\"DDI feedback of a bundle action: parts not "
		         "found, no event\" device=%s action=%lld err=\"%s\"",
		    device_id, (long long)act->id, ota_strerror(rc));
		return rc == OTA_ENOTFOUND ? 0 : rc;
	}
	if (n == 0)
		return 0;
	rc = telemetry_submit(s->telemetry, ev, n, TELEMETRY_DDI, res);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (res[i].outcome == TELEMETRY_REJECTED)
			log_warn("msg=\"DDI feedback event rejected\" "
			         "device=%s action=%lld component=%s reason=%s",
			    device_id, (long long)act->id,
			    ev[i].component[0] != '\0' ? ev[i].component : "-",
			    telemetry_parse_reject_name(res[i].reject));
	return 0;
}

/* The action's row for a feedback whose effect is eff, and when the
 * action becomes canceled the device's update in its rollout, in one
 * transaction.  OTA_ECONFLICT when the action changed since act was
 * read. */
static int
feedback_write(struct ddi_service *s, const struct store_ddi_action *act,
    int is_cancel, const struct ddi_feedback *fb, const struct ddi_effect *eff)
{
	struct store_conn *c;
	char now[21];
	int rc;

	store_now_rfc3339(now);
	c = store_acquire(s->st);
	if ((rc = store_begin(c)) != 0)
		goto out;
	rc = store_ddi_feedback(
	    c, act->id, is_cancel, fb, act->status, eff, now);
	if (rc == 0 && eff->cancels_update)
		rc = store_telemetry_cancel(
		    c, act->rollout_id, act->device_id, now);
	if (rc == 0)
		rc = store_commit(c);
	else
		store_rollback(c);
out:
	store_release(s->st, c);
	return rc;
}

/*
 * 1 when a closed+success feedback on action a answers a deployment that
 * says "update": "skip" now (download-only, or outside the maintenance
 * windows): SWUpdate acknowledges a skipped update so ("Skipped
 * Update."), without installing anything, so it is no install: nothing
 * is recorded and the action stays as it is.  0 otherwise, or an OTA_E*
 * code.
 */
static int
skipped_ack(struct ddi_service *s, const char *device_id,
    const struct store_ddi_action *a)
{
	struct ddi_modes modes;
	struct store_conn *c = store_acquire(s->st);
	int rc = device_modes(
	    s, c, device_id, a->rollout_id, timeutil_now_sec(), &modes);

	store_release(s->st, c);
	if (rc < 0)
		return rc;
	if (strcmp(modes.update, "skip") != 0)
		return 0;
	log_info("msg=\"DDI closed+success on a skipped deployment: not an "
	         "install\" device=%s action=%lld",
	    device_id, (long long)a->id);
	return 1;
}

int
ddi_service_feedback(struct ddi_service *s, const char *device_id,
    int64_t action_id, int is_cancel, const struct ddi_feedback *fb)
{
	struct store_ddi_action act;
	struct ddi_effect eff;
	struct store_conn *c;
	int rc = OTA_ECONFLICT;

	for (int tries = 0; tries < DDI_FEEDBACK_TRIES && rc == OTA_ECONFLICT;
	     tries++) {
		c = store_acquire(s->st);
		rc = store_ddi_action_get(c, device_id, action_id, &act);
		store_release(s->st, c);
		if (rc != 0)
			return rc;
		if (!is_cancel && fb->execution == DDI_EXEC_CLOSED &&
		    fb->finished == DDI_FINISHED_SUCCESS &&
		    (rc = skipped_ack(s, device_id, &act)) != 0)
			return rc > 0 ? 0 : rc;
		rc = ddi_feedback_apply(act.status, is_cancel, fb, &eff);
		if (rc != 0)
			return rc;
		if (eff.telemetry &&
		    (rc = feedback_submit(s, device_id, &act, fb, &eff)) != 0)
			return rc;
		rc = feedback_write(s, &act, is_cancel, fb, &eff);
	}
	return rc;
}

/* ---- confirmation (consent) ---- */

/* The telemetry event of confirmation cf on action a: accepted or
 * declined, of the rollout's version (a bundle's as a whole). */
static void
confirm_event(const char *device_id, const struct store_ddi_action *a,
    const struct ddi_confirmation *cf, struct telemetry_event *ev)
{
	int64_t now_sec = timeutil_now_ms() / 1000;

	memset(ev, 0, sizeof(*ev));
	ev->progress = ev->result = -1;
	/* The same answer sent again within the second (a retried request)
	 * is one event; later, a new one: an answer that came before its
	 * retry's offer was recorded (and changed nothing) counts when the
	 * device sends it again. */
	snprintf(ev->event_id, sizeof(ev->event_id), "ddi-%lld-%s-%lld",
	    (long long)a->id, cf->digest, (long long)now_sec);
	snprintf(ev->device_id, sizeof(ev->device_id), "%s", device_id);
	ev->rollout_id = a->rollout_id;
	snprintf(ev->version, sizeof(ev->version), "%s", a->image_version);
	ev->state = cf->confirmed ? UPDATE_ACCEPTED : UPDATE_DECLINED;
	utf8_cut(ev->detail, TELEMETRY_DETAIL_MAX, cf->details);
	timeutil_format_rfc3339(now_sec, ev->ts);
	ev->ts_ms = now_sec * 1000;
}

int
ddi_service_confirm(struct ddi_service *s, const char *device_id,
    int64_t action_id, const struct ddi_confirmation *cf)
{
	struct store_ddi_action act;
	struct telemetry_event ev;
	struct telemetry_result res;
	struct store_conn *c;
	char now[21];
	int rc;

	c = store_acquire(s->st);
	rc = store_ddi_action_get(c, device_id, action_id, &act);
	store_release(s->st, c);
	if (rc != 0)
		return rc;
	if (ddi_status_final(act.status))
		return OTA_ECONFLICT;
	confirm_event(device_id, &act, cf, &ev);
	if ((rc = telemetry_submit(
	         s->telemetry, &ev, 1, TELEMETRY_DDI, &res)) != 0)
		return rc;
	if (res.outcome == TELEMETRY_REJECTED)
		log_warn("msg=\"DDI confirmation event rejected\" device=%s "
		         "action=%lld reason=%s",
		    device_id, (long long)act.id,
		    telemetry_parse_reject_name(res.reject));
	store_now_rfc3339(now);
	c = store_acquire(s->st);
	if ((rc = store_begin(c)) == 0) {
		rc = store_ddi_confirmation(
		    c, act.id, cf->confirmed, cf->details, act.status, now);
		rc = tx_finish(c, rc);
	}
	store_release(s->st, c);
	/* The action moved meanwhile (a feedback): the answer is in the
	 * telemetry already; its record is what is lost. */
	if (rc == OTA_ECONFLICT)
		rc = 0;
	return rc;
}

/* ---- configData ---- */

/* The stored attributes of device_id as JSON (*out NULL when none, or
 * unreadable: logged, they are replaced). */
static int
config_current(struct store_conn *c, const char *device_id, json_t **out)
{
	char err[320], *text = NULL;
	int rc;

	*out = NULL;
	rc = store_ddi_attributes_get(c, device_id, &text, NULL);
	if (rc != 0)
		return rc;
	if (text != NULL &&
	    json_util_load(text, strlen(text), JSON_UTIL_MAX_DEPTH, out, err,
	        sizeof(err)) != 0) {
		log_warn("msg=\"stored DDI attributes unreadable: replaced\" "
		         "device=%s",
		    device_id);
		*out = NULL;
	}
	free(text);
	return 0;
}

/* Records the component versions comps[0..n) a configData reported
 * (the components the device has; the others are ignored) and the
 * coordinated rollbacks they show, as a poll's report would. */
static int
config_components(struct store_conn *c, const char *id,
    const struct component *comps, size_t n, const char *now)
{
	int64_t touched[8];
	size_t ntouched = 0;
	int rc;

	if ((rc = store_components_set_versions(c, id, comps, n)) != 0)
		return rc;
	rc = store_telemetry_bundle_reverts(c, id, now, touched, 8, &ntouched);
	return rc == OTA_EINVAL ? OTA_EDB : rc;
}

/* Read, merge and write in the transaction open on c: two configData of
 * one device at once cannot lose either's attributes.  hw and ver get the
 * facts written ("" when not reported). */
static int
config_write(struct ddi_service *s, struct store_conn *c, const char *id,
    const struct ddi_config *cfg, char hw[DESCRIPTOR_HW_LEN_MAX + 1],
    char ver[SEMVER_MAX_LEN + 1], char *err, size_t errlen)
{
	json_t *cur = NULL, *attrs = NULL;
	struct component comps[COMPONENTS_MAX];
	char now[21], *text = NULL;
	size_t ncomps = 0;
	int rc;

	if ((rc = config_current(c, id, &cur)) != 0)
		goto out;
	rc = ddi_config_merge(cfg, cur, &attrs, err, errlen);
	if (rc == 0)
		rc = ddi_attrs_device_facts(attrs, s->attr_hardware,
		    s->attr_version, hw, ver, err, errlen);
	if (rc == 0)
		rc = ddi_attrs_components(
		    attrs, comps, COMPONENTS_MAX, &ncomps, err, errlen);
	if (rc != 0)
		goto out;
	text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	store_now_rfc3339(now);
	rc = store_ddi_attributes_put(c, id, text, hw, ver, now);
	if (rc == 0 && ncomps > 0)
		rc = config_components(c, id, comps, ncomps, now);
out:
	free(text);
	json_decref(cur);
	json_decref(attrs);
	return rc;
}

/* One job in a transaction of its own. */
static void
config_alone(struct ddi_service *s, struct store_conn *c,
    struct ddi_service_config_job *j)
{
	j->hw[0] = j->ver[0] = '\0';
	if ((j->rc = store_begin(c)) != 0)
		return;
	j->rc = config_write(
	    s, c, j->device_id, j->cfg, j->hw, j->ver, j->err, j->errlen);
	if (j->rc == 0)
		j->rc = store_commit(c);
	else
		store_rollback(c);
}

/*
 * The jobs of batch in one write transaction: one commit (one fsync) for
 * all.  A job refused before it wrote (OTA_EINVAL, OTA_ENOTFOUND) leaves
 * the transaction to the others; any other failure, or a failed commit,
 * rolls the batch back and runs each job alone, so one job's failure is
 * never another's.
 */
static void
config_batch(struct ddi_service *s, struct ddi_service_config_job *batch)
{
	struct store_conn *c = store_acquire(s->st);
	struct ddi_service_config_job *j;
	int rc;

	if ((rc = store_begin(c)) != 0)
		goto alone;
	for (j = batch; j != NULL && rc == 0; j = j->next) {
		j->hw[0] = j->ver[0] = '\0';
		j->rc = config_write(s, c, j->device_id, j->cfg, j->hw, j->ver,
		    j->err, j->errlen);
		if (j->rc != 0 && j->rc != OTA_EINVAL && j->rc != OTA_ENOTFOUND)
			rc = j->rc;
	}
	if (rc == 0)
		rc = store_commit(c);
	else
		store_rollback(c);
	if (rc == 0)
		goto out;
alone:
	if (batch->next == NULL)
		batch->rc = rc; /* it was alone: its answer stands */
	else
		for (j = batch; j != NULL; j = j->next)
			config_alone(s, c, j);
out:
	store_release(s->st, c);
}

/* Takes the oldest DDI_CONFIG_BATCH_MAX (at most) of the waiting jobs,
 * in arrival order: a device's later configData merges last.  Called
 * with cfg_mu held. */
static struct ddi_service_config_job *
config_take(struct ddi_service *s)
{
	struct ddi_service_config_job *batch = s->cfg_head, *last = batch;
	size_t n = 1;

	if (batch == NULL)
		return NULL;
	while (last->next != NULL && n < DDI_CONFIG_BATCH_MAX) {
		last = last->next;
		n++;
	}
	s->cfg_head = last->next;
	if (s->cfg_head == NULL)
		s->cfg_tail = NULL;
	last->next = NULL;
	return batch;
}

/* Answers each job of a written batch.  A version reported is a poll
 * report too: seen's flush judges it against completed updates, so a
 * device that boots its old firmware again (and says so at its agent's
 * start) is counted reverted, as a REST poll would be. */
static void
config_answer(struct ddi_service *s, struct ddi_service_config_job *batch)
{
	struct ddi_service_config_job *k, *next;

	for (k = batch; k != NULL; k = next) {
		next = k->next;
		if (k->rc == 0 && k->ver[0] != '\0')
			seen_note(s->seen, k->device_id,
			    k->hw[0] != '\0' ? k->hw : NULL, k->ver, "", "",
			    timeutil_now_ms() / 1000);
		k->done(k); /* the job is the caller's again */
	}
}

/*
 * The group commit's writer (thread otad-ddi-config): writes the waiting
 * jobs as one batch, answers them, and takes the next batch, which
 * gathered while this one committed.  At stop it writes what is queued
 * before it ends.
 */
static void *
config_writer(void *arg)
{
	struct ddi_service *s = arg;
	struct ddi_service_config_job *batch;

	pthread_mutex_lock(&s->cfg_mu);
	for (;;) {
		while (s->cfg_head == NULL && !s->cfg_stopping)
			pthread_cond_wait(&s->cfg_cv, &s->cfg_mu);
		if (s->cfg_head == NULL)
			break;
		batch = config_take(s);
		pthread_mutex_unlock(&s->cfg_mu);
		config_batch(s, batch);
		config_answer(s, batch);
		pthread_mutex_lock(&s->cfg_mu);
	}
	pthread_mutex_unlock(&s->cfg_mu);
	return NULL;
}

int
ddi_service_config_submit(
    struct ddi_service *s, struct ddi_service_config_job *j)
{
	int rc = 0;

	j->rc = 0;
	j->hw[0] = j->ver[0] = '\0';
	j->next = NULL;
	pthread_mutex_lock(&s->cfg_mu);
	if (s->cfg_stopping || !s->cfg_started) {
		rc = OTA_EIO;
	} else {
		if (s->cfg_tail != NULL)
			s->cfg_tail->next = j;
		else
			s->cfg_head = j;
		s->cfg_tail = j;
		pthread_cond_signal(&s->cfg_cv);
	}
	pthread_mutex_unlock(&s->cfg_mu);
	return rc;
}

/* A caller waiting for its job (ddi_service_config_data). */
struct config_wait {
	struct ddi_service_config_job job;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int finished;
};

static void
config_wake(struct ddi_service_config_job *j)
{
	struct config_wait *w = j->arg;

	pthread_mutex_lock(&w->mu);
	w->finished = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int
ddi_service_config_data(struct ddi_service *s, const char *device_id,
    const struct ddi_config *cfg, char *err, size_t errlen)
{
	struct config_wait w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.job.device_id = device_id;
	w.job.cfg = cfg;
	w.job.err = err;
	w.job.errlen = errlen;
	w.job.done = config_wake;
	w.job.arg = &w;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	rc = ddi_service_config_submit(s, &w.job);
	pthread_mutex_lock(&w.mu);
	while (rc == 0 && !w.finished)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc != 0 ? rc : w.job.rc;
}
