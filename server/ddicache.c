/*
 * ddicache: a device's DDI poll facts as one blob of a devslots table
 * (devslots.h: the slots, the lock and the generation's fill rule), with
 * the rollouts generation the facts were read at: an entry read before
 * the rollouts generation last moved is never served.
 */
#include "ddicache.h"

#include <stdlib.h>
#include <string.h>

#include "ddi.h"
#include "devslots.h"
#include "errors.h"

/* What a poll decides on of one action. */
struct dk_action {
	int64_t id;
	int64_t rollout_id;
	int64_t image_id;
	int64_t bundle_id;    /* its parts are read at a deployment */
	unsigned char status; /* enum ddi_status */
	unsigned char aborted;
	unsigned char targeted;
};

/* One device's facts (the blob of its slot). */
struct dk_entry {
	uint64_t rollouts_gen;
	int64_t installed_action_id;
	unsigned char attributes_wanted;
	unsigned char count; /* actions */
	struct dk_action act[];
};

struct ddicache {
	struct devslots *t;
	atomic_uint_fast64_t *rollouts_gen;
};

struct ddicache *
ddicache_new(
    size_t max_entries, atomic_uint_fast64_t *rollouts_gen, int serving)
{
	struct ddicache *dc;

	if (max_entries == 0 || (dc = calloc(1, sizeof(*dc))) == NULL)
		return NULL;
	dc->rollouts_gen = rollouts_gen;
	if ((dc->t = devslots_new(max_entries, serving, "DDI cache")) == NULL) {
		free(dc);
		return NULL;
	}
	return dc;
}

void
ddicache_free(struct ddicache *dc)
{
	if (dc == NULL)
		return;
	devslots_free(dc->t);
	free(dc);
}

void
ddicache_ticket(struct ddicache *dc, struct ddicache_ticket *out)
{
	out->gen = dc != NULL ? devslots_ticket(dc->t) : 0;
	out->rollouts_gen = dc != NULL ? atomic_load(dc->rollouts_gen) : 0;
}

/* What a lookup fills, and the rollouts generation it serves. */
struct dk_out {
	struct store_ddi_poll *poll;
	uint64_t rollouts_gen;
};

/* Fills the lookup's poll from a device's blob when it was read at the
 * current rollouts generation (devslots_lookup's read). */
static int
dk_read(void *arg, const void *blob, size_t len)
{
	const struct dk_out *o = arg;
	const struct dk_entry *e = blob;
	struct store_ddi_poll *out = o->poll;

	if (len < sizeof(*e) || e->rollouts_gen != o->rollouts_gen ||
	    len != sizeof(*e) + e->count * sizeof(e->act[0]))
		return -1;
	out->action_count = e->count;
	out->attributes_wanted = e->attributes_wanted;
	out->installed_action_id = e->installed_action_id;
	for (size_t i = 0; i < e->count; i++) {
		struct store_ddi_action *a = &out->actions[i];

		memset(a, 0, sizeof(*a));
		a->id = e->act[i].id;
		a->rollout_id = e->act[i].rollout_id;
		a->image_id = e->act[i].image_id;
		a->bundle_id = e->act[i].bundle_id;
		a->status = (enum ddi_status)e->act[i].status;
		a->targeted = e->act[i].targeted;
		if (e->act[i].aborted)
			memcpy(a->rollout_state, "aborted", sizeof("aborted"));
	}
	return 0;
}

int
ddicache_lookup(struct ddicache *dc, const char *id, struct store_ddi_poll *out)
{
	struct dk_out o;

	if (dc == NULL)
		return OTA_ENOTFOUND;
	o.poll = out;
	o.rollouts_gen = atomic_load(dc->rollouts_gen);
	return devslots_lookup(dc->t, id, dk_read, &o);
}

void
ddicache_insert(struct ddicache *dc, const struct ddicache_ticket *t,
    const char *id, const struct store_ddi_poll *f)
{
	struct dk_entry *e;
	size_t len;

	_Static_assert(STORE_DDI_POLL_ACTIONS_MAX <= 255, "count fits");
	if (dc == NULL || f->action_count > STORE_DDI_POLL_ACTIONS_MAX)
		return;
	len = sizeof(*e) + f->action_count * sizeof(e->act[0]);
	if ((e = calloc(1, len)) == NULL)
		return; /* a cache: the next poll reads again */
	e->rollouts_gen = t->rollouts_gen;
	e->installed_action_id = f->installed_action_id;
	e->attributes_wanted = f->attributes_wanted != 0;
	e->count = (unsigned char)f->action_count;
	for (size_t i = 0; i < f->action_count; i++) {
		const struct store_ddi_action *a = &f->actions[i];

		e->act[i].id = a->id;
		e->act[i].rollout_id = a->rollout_id;
		e->act[i].image_id = a->image_id;
		e->act[i].bundle_id = a->bundle_id;
		e->act[i].status = (unsigned char)a->status;
		e->act[i].aborted = strcmp(a->rollout_state, "aborted") == 0;
		e->act[i].targeted = a->targeted != 0;
	}
	devslots_insert(dc->t, t->gen, id, e, len);
	free(e);
}

void
ddicache_invalidate(struct ddicache *dc, const char *ids)
{
	if (dc != NULL)
		devslots_invalidate(dc->t, ids);
}

void
ddicache_hook(void *arg, const char *ids)
{
	ddicache_invalidate(arg, ids);
}

void
ddicache_set_serving(struct ddicache *dc, int on)
{
	if (dc != NULL)
		devslots_set_serving(dc->t, on);
}

void
ddicache_serving_hook(void *arg, int on)
{
	ddicache_set_serving(arg, on);
}

void
ddicache_get_stats(struct ddicache *dc, struct ddicache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (dc != NULL)
		devslots_stats(dc->t, &out->hits, &out->misses, &out->devices);
}
