/*
 * offers: a pointer to the current snapshot behind a rwlock (held only to
 * copy the pointer and take a reference), a mutex that lets one thread
 * reload at a time, and the pure offer choice over a snapshot.  Snapshots
 * are never modified once published; the last reference frees them.
 */
#include "offers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddi.h"
#include "errors.h"
#include "log.h"
#include "store_bundles.h"
#include "store_groups.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "semver.h"
#include "timeutil.h"
#include "update_state.h"

#define LIST_PAGE 1000
#define PICK_STACK 16
#define RETRY_AFTER_SEC 1

struct offers {
	struct store *st;
	atomic_uint_fast64_t *gen;
	pthread_rwlock_t lock; /* guards cur (the pointer, not the data) */
	struct offers_snapshot *cur;
	pthread_mutex_t reload_mu;
	int64_t retry_at; /* after a failed reload; under reload_mu */
};

static void
bundle_free(struct offer_bundle *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < BUNDLE_PARTS_MAX; i++) {
		free(b->parts[i].descriptor_b64);
		json_decref(b->parts[i].signatures);
	}
	free(b->descriptor_b64);
	json_decref(b->signatures);
	manifest_bundle_text_free(b->text);
	free(b);
}

/* Frees what entry e owns (not e). */
static void
entry_free(struct offer_rollout *e)
{
	free(e->group_ids);
	free(e->image.descriptor_b64);
	json_decref(e->image.signatures);
	bundle_free(e->bundle);
	manifest_text_free(e->text);
	free(e->rate);
	free(e->windows);
	free(e->spans);
}

static void
snapshot_free(struct offers_snapshot *s)
{
	for (size_t i = 0; i < s->count; i++)
		entry_free(&s->rollouts[i]);
	for (size_t i = 0; i < s->gwin_count; i++)
		free(s->gwin[i].spans);
	free(s->gwin);
	free(s->rollouts);
	free(s);
}

void
offers_snapshot_unref(struct offers_snapshot *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snapshot_free(s);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The when-and-how-hard facts of entry e from its row (spans come with
 * offers_snapshot_windows). */
static int
when_fill(struct offer_rollout *e, const struct store_rollout *r)
{
	int64_t ms;

	e->outside = r->outside_window;
	e->action_type = r->action_type;
	e->forced_at = 0;
	if (r->forced_at[0] != '\0' &&
	    timeutil_parse_rfc3339(r->forced_at, &ms) == 0)
		e->forced_at = ms / 1000;
	if (r->windows[0] == '\0')
		return 0;
	if ((e->windows = calloc(1, sizeof(*e->windows))) == NULL)
		return OTA_ENOMEM;
	/* Stored canonical by the API: one that no longer parses has no
	 * span, so the rollout never installs rather than always. */
	if (mwindow_parse(r->windows, e->windows, NULL, 0) != 0) {
		log_err("msg=\"rollout maintenance_windows do not parse: "
		        "never open\" rollout=%lld",
		    (long long)r->id);
		memset(e->windows, 0, sizeof(*e->windows));
	}
	return 0;
}

/* Fills the rollout facts of one snapshot entry from its row. */
/* When r's current stage started running (unix s), 0 when unknown. */
static int64_t
stage_started_sec(const struct store_rollout *r)
{
	int64_t ms = 0;

	if (timeutil_parse_rfc3339(r->stage_started_at, &ms) != 0)
		return 0;
	return ms / 1000;
}

static int
rollout_fill(struct offer_rollout *e, const struct store_rollout *r)
{
	e->id = r->id;
	memcpy(e->salt, r->salt, sizeof(e->salt));
	if (r->stage_index < 0 || r->stage_index >= r->stage_count)
		return OTA_EINVAL;
	e->stage_bp = r->stages_bp[r->stage_index];
	e->stage_index = r->stage_index;
	e->stuck = r->stuck;
	e->stage_started_sec = stage_started_sec(r);
	if ((e->rate = calloc(1, sizeof(*e->rate))) == NULL)
		return OTA_ENOMEM;
	e->group_count = r->group_count;
	e->group_ids =
	    calloc(r->group_count ? r->group_count : 1, sizeof(*e->group_ids));
	if (e->group_ids == NULL)
		return OTA_ENOMEM;
	for (size_t g = 0; g < r->group_count; g++)
		e->group_ids[g] = r->groups[g].id;
	qsort(e->group_ids, e->group_count, sizeof(*e->group_ids), cmp_i64);
	/* Stored canonical by the API: a row that no longer parses targets
	 * nobody (one "=" comparator with an empty bound, which no valid
	 * version equals) rather than everybody. */
	if (semver_range_parse(r->from_version, &e->from, NULL, 0) != 0) {
		log_err("msg=\"rollout from_version does not parse: it "
		        "targets no device\" rollout=%lld",
		    (long long)r->id);
		memset(&e->from, 0, sizeof(e->from));
		e->from.n = 1;
		e->from.c[0].op = SEMVER_RANGE_EQ;
	}
	/* The same rule for a selector. */
	e->sel_bit = -1;
	if (selector_parse(r->selector, &e->sel, NULL, 0) != 0) {
		log_err("msg=\"rollout selector does not parse: it "
		        "targets no device\" rollout=%lld",
		    (long long)r->id);
		memset(&e->sel, 0, sizeof(e->sel));
		e->sel_bit = OFFERS_SELECTORS_MAX;
	}
	return when_fill(e, r);
}

/* A new base64 text of buf[0..len), or NULL. */
static char *
b64_new(const unsigned char *buf, size_t len)
{
	size_t b64len =
	    sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(b64len);

	if (out != NULL)
		sodium_bin2base64(
		    out, b64len, buf, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Fills an image as a manifest shows it from its row. */
static int
image_fill(struct offer_image *oi, const struct store_image *img)
{
	const struct ota_descriptor *d = &img->desc;
	json_error_t jerr;

	oi->id = img->id;
	memcpy(oi->name, d->name, sizeof(oi->name));
	memcpy(oi->version, d->version, sizeof(oi->version));
	memcpy(oi->min_version, d->min_version, sizeof(oi->min_version));
	oi->hardware_count = d->hardware_count;
	for (size_t h = 0; h < d->hardware_count; h++) {
		memcpy(
		    oi->hardware[h], d->hardware[h], sizeof(oi->hardware[h]));
		oi->hardware_ptrs[h] = oi->hardware[h];
	}
	oi->size = d->size;
	memcpy(oi->sha256_hex, d->sha256_hex, sizeof(oi->sha256_hex));
	memcpy(oi->sha1_hex, img->sha1_hex, sizeof(oi->sha1_hex));
	memcpy(oi->md5_hex, img->md5_hex, sizeof(oi->md5_hex));
	ddi_artifact_filename(d, oi->filename);
	oi->descriptor_b64 = b64_new(img->descriptor, img->descriptor_len);
	if (oi->descriptor_b64 == NULL)
		return OTA_ENOMEM;
	oi->signatures = json_loads(img->signatures, 0, &jerr);
	if (!json_is_array(oi->signatures)) {
		log_err("msg=\"image signatures are not a JSON array\" "
		        "image=%lld",
		    (long long)img->id);
		return OTA_EINVAL;
	}
	manifest_image_digest(
	    img->descriptor, img->descriptor_len, img->signatures, oi->digest);
	return 0;
}

/* Fills one snapshot entry from a rollout row and its image, with its
 * manifest's fixed text when it can be made (else NULL: its polls build
 * the whole manifest, and fail alone if that fails too). */
static int
entry_fill(struct offer_rollout *e, const struct store_rollout *r,
    const struct store_image *img)
{
	struct manifest_facts f;
	int rc = rollout_fill(e, r);

	if (rc == 0)
		rc = image_fill(&e->image, img);
	if (rc != 0)
		return rc;
	memset(&f, 0, sizeof(f));
	f.rollout_id = e->id;
	f.image_id = e->image.id;
	f.image_name = e->image.name;
	f.image_version = e->image.version;
	f.descriptor_b64 = e->image.descriptor_b64;
	f.signatures = e->image.signatures;
	f.size = e->image.size;
	f.sha256_hex = e->image.sha256_hex;
	if ((rc = manifest_text_new(&f, &e->text)) != 0)
		log_warn("msg=\"manifest text not made: polls build it whole\" "
		         "rollout=%lld err=\"%s\"",
		    (long long)e->id, ota_strerror(rc));
	return 0;
}

/* FNV-1a of n bytes into h. */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Gives each rollout with a selector its bit, in the rows' order (the
 * first OFFERS_SELECTORS_MAX; later ones match nobody), and s its
 * sel_stamp. */
static void
selectors_number(struct offers_snapshot *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	int bit = 0;

	for (size_t i = 0; i < s->count; i++) {
		struct offer_rollout *e = &s->rollouts[i];

		/* No selector (-1), or one that did not parse (already
		 * OFFERS_SELECTORS_MAX: matches nobody). */
		if (e->sel.n == 0)
			continue;
		if (bit < OFFERS_SELECTORS_MAX) {
			e->sel_bit = bit++;
		} else {
			if (e->sel_bit != OFFERS_SELECTORS_MAX)
				log_err(
				    "msg=\"more running rollouts with a "
				    "selector than %d: it targets no device\" "
				    "rollout=%lld",
				    OFFERS_SELECTORS_MAX, (long long)e->id);
			e->sel_bit = OFFERS_SELECTORS_MAX;
		}
		h = fnv(h, &e->id, sizeof(e->id));
		h = fnv(h, &e->sel_bit, sizeof(e->sel_bit));
		h = fnv(h, e->sel.text, strlen(e->sel.text) + 1);
	}
	s->sel_stamp = bit > 0 ? (h != 0 ? h : 1) : 0;
}

uint32_t
offers_label_bits(const struct offers_snapshot *s, const char *flat, size_t len)
{
	const char *keys[SELECTOR_LABELS_MAX], *vals[SELECTOR_LABELS_MAX];
	size_t n =
	    selector_labels_split(flat, len, keys, vals, SELECTOR_LABELS_MAX);
	uint32_t bits = 0;

	for (size_t i = 0; s != NULL && i < s->count; i++) {
		const struct offer_rollout *e = &s->rollouts[i];

		if (e->sel_bit >= 0 && e->sel_bit < OFFERS_SELECTORS_MAX &&
		    selector_match(&e->sel, keys, vals, n))
			bits |= 1u << e->sel_bit;
	}
	return bits;
}

uint32_t
offers_label_bits_cb(const void *arg, const char *flat, size_t len)
{
	return offers_label_bits(arg, flat, len);
}

/* 1 when rollout r's selector (if any) is among label_bits. */
static int
selected(const struct offer_rollout *r, uint32_t label_bits)
{
	if (r->sel_bit < 0)
		return 1;
	return r->sel_bit < OFFERS_SELECTORS_MAX &&
	       ((label_bits >> r->sel_bit) & 1u);
}

int
offers_selected(
    const struct offers_snapshot *s, int64_t rollout_id, uint32_t label_bits)
{
	for (size_t i = 0; s != NULL && i < s->count; i++)
		if (s->rollouts[i].id == rollout_id)
			return selected(&s->rollouts[i], label_bits);
	return 1;
}

/* A new unshared snapshot with room for cap entries, or NULL. */
static struct offers_snapshot *
snapshot_new(size_t cap)
{
	struct offers_snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->rollouts = calloc(cap ? cap : 1, sizeof(*s->rollouts));
	if (s->rollouts == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

/* Fills the entries of image rollouts rows[0..n) into s (room for them
 * made by snapshot_new). */
static int
snapshot_add_images(struct offers_snapshot *s, const struct store_rollout *rows,
    struct store_image *const *images, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		s->count++; /* so snapshot_free sees a partial entry */
		rc =
		    entry_fill(&s->rollouts[s->count - 1], &rows[i], images[i]);
	}
	return rc;
}

/* Counts s's rollouts without groups. */
static void
groupless_count(struct offers_snapshot *s)
{
	s->groupless_count = 0;
	for (size_t i = 0; i < s->count; i++)
		if (s->rollouts[i].group_count == 0)
			s->groupless_count++;
}

int
offers_snapshot_build(const struct store_rollout *rows,
    struct store_image *const *images, size_t n, struct offers_snapshot **out)
{
	struct offers_snapshot *s = snapshot_new(n);
	int rc;

	if (s == NULL)
		return OTA_ENOMEM;
	if ((rc = snapshot_add_images(s, rows, images, n)) != 0) {
		snapshot_free(s);
		return rc;
	}
	selectors_number(s);
	if ((rc = offers_snapshot_windows(s, NULL, 0, timeutil_now_sec())) !=
	    0) {
		snapshot_free(s);
		return rc;
	}
	groupless_count(s);
	*out = s;
	return 0;
}

/* The fixed text of the manifest of e's bundle (offer_bundle.text). */
static int
bundle_text_make(struct offer_rollout *e)
{
	const struct offer_bundle *b = e->bundle;
	struct manifest_part parts[BUNDLE_PARTS_MAX];
	struct manifest_bundle_facts f;

	memset(&f, 0, sizeof(f));
	for (size_t i = 0; i < b->desc.part_count; i++) {
		const struct bundle_part *bp = &b->desc.parts[i];
		const struct offer_image *im = &b->parts[i];

		parts[i] =
		    (struct manifest_part){bp->component, bp->order, bp->via, 0,
		        im->id, im->name, im->version, im->descriptor_b64,
		        im->signatures, im->size, im->sha256_hex};
	}
	f.rollout_id = e->id;
	f.bundle_id = b->id;
	f.bundle_name = b->desc.name;
	f.bundle_version = b->desc.version;
	f.descriptor_b64 = b->descriptor_b64;
	f.signatures = b->signatures;
	f.parts = parts;
	f.part_count = b->desc.part_count;
	return manifest_bundle_text_new(&f, &e->bundle->text);
}

/* Loads the bundle of rollout row r and its parts' images into e. */
static int
bundle_entry_load(struct store_conn *c, const struct store_rollout *r,
    struct offer_rollout *e)
{
	struct store_bundle *b = NULL;
	struct store_image *img = NULL;
	json_error_t jerr;
	int rc;

	if ((rc = rollout_fill(e, r)) != 0)
		return rc;
	if ((e->bundle = calloc(1, sizeof(*e->bundle))) == NULL)
		return OTA_ENOMEM;
	if ((rc = store_bundle_get(c, r->bundle_id, &b)) != 0)
		goto out;
	e->bundle->id = b->id;
	e->bundle->desc = b->desc;
	for (size_t i = 0; i < b->desc.part_count && rc == 0; i++) {
		rc = store_image_get(c, b->image_ids[i], &img);
		if (rc == 0)
			rc = image_fill(&e->bundle->parts[i], img);
		store_image_free(img);
		img = NULL;
	}
	if (rc != 0)
		goto out;
	e->bundle->descriptor_b64 = b64_new(b->descriptor, b->descriptor_len);
	e->bundle->signatures = json_loads(b->signatures, 0, &jerr);
	if (e->bundle->descriptor_b64 == NULL)
		rc = OTA_ENOMEM;
	else if (!json_is_array(e->bundle->signatures))
		rc = OTA_EINVAL;
	else
		rc = bundle_text_make(e);
out:
	store_bundle_free(b);
	return rc;
}

/*
 * Appends the rollouts of a bundle, rows[0..n), to s (not yet shared, with
 * room for them made by snapshot_new).  A rollout whose bundle or part
 * image is gone is logged and skipped.
 */
static int
snapshot_add_bundles(struct store_conn *c, struct offers_snapshot *s,
    const struct store_rollout *rows, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		struct offer_rollout *e = &s->rollouts[s->count];

		memset(e, 0, sizeof(*e));
		s->count++; /* so snapshot_free sees a partial entry */
		rc = bundle_entry_load(c, &rows[i], e);
		if (rc == OTA_ENOTFOUND || rc == OTA_EINVAL) {
			log_warn("msg=\"running rollout of a bundle without "
			         "its bundle or a part; skipped\" rollout=%lld "
			         "bundle=%lld",
			    (long long)rows[i].id,
			    (long long)rows[i].bundle_id);
			s->count--;
			entry_free(e);
			continue;
		}
		if (rc != 0)
			return rc;
		s->bundle_count++;
	}
	return 0;
}

/* Reads every running rollout through c, paged. */
static int
rollouts_running(
    struct store_conn *c, struct store_rollout **out, size_t *out_n)
{
	struct store_rollout_filter f = {0};
	struct store_rollout *rows = NULL, *page = NULL;
	size_t n = 0, got = 0;
	int rc;

	f.state = ROLLOUT_RUNNING;
	f.limit = LIST_PAGE;
	do {
		struct store_rollout *grown;

		rc = store_rollout_list(c, &f, &page, &got);
		if (rc != 0)
			goto out;
		grown = realloc(rows, (n + got + 1) * sizeof(*rows));
		if (grown == NULL) {
			rc = OTA_ENOMEM;
			goto out;
		}
		rows = grown;
		if (got > 0) {
			memcpy(rows + n, page, got * sizeof(*rows));
			f.after_id = page[got - 1].id;
		}
		n += got;
		free(page);
		page = NULL;
	} while (got == LIST_PAGE);
out:
	free(page);
	if (rc != 0) {
		free(rows);
		return rc;
	}
	*out = rows;
	*out_n = n;
	return 0;
}

/* Reads the groups with windows through c into s with every span. */
static int
groups_windows_load(struct store_conn *c, struct offers_snapshot *s)
{
	struct store_group_windows *rows = NULL;
	struct offer_group_windows *gw = NULL;
	size_t n = 0, k = 0;
	int rc;

	if ((rc = store_group_windows(c, &rows, &n)) != 0)
		return rc;
	if (n > 0 && (gw = calloc(n, sizeof(*gw))) == NULL) {
		free(rows);
		return OTA_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		gw[k].group_id = rows[i].id;
		if (mwindow_parse(rows[i].windows, &gw[k].set, NULL, 0) != 0) {
			log_err("msg=\"group maintenance_windows do not "
			        "parse: never open\" group_id=%lld",
			    (long long)rows[i].id);
			memset(&gw[k].set, 0, sizeof(gw[k].set));
		}
		k++;
	}
	free(rows);
	return offers_snapshot_windows(s, gw, k, timeutil_now_sec());
}

/* Reads every running rollout and its image (or bundle) through c. */
static int
offers_load(struct store_conn *c, uint64_t gen, struct offers_snapshot **out)
{
	struct store_rollout *rows = NULL, *brows = NULL;
	struct store_image **images = NULL;
	struct offers_snapshot *snap;
	size_t n = 0, nimg = 0, nb = 0;
	int rc;

	if ((rc = rollouts_running(c, &rows, &n)) != 0)
		return rc;
	images = calloc(n ? n : 1, sizeof(*images));
	brows = calloc(n ? n : 1, sizeof(*brows));
	if (images == NULL || brows == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (rows[i].bundle_id > 0) {
			brows[nb++] = rows[i];
			continue;
		}
		rc = store_image_get(c, rows[i].image_id, &images[nimg]);
		if (rc == OTA_ENOTFOUND) {
			/* Not possible while deletes are refused for rollouts
			 * in use; never let one row stop every offer. */
			log_warn("msg=\"running rollout without its image; "
			         "skipped\" rollout=%lld image=%lld",
			    (long long)rows[i].id, (long long)rows[i].image_id);
			rc = 0;
			continue;
		}
		if (rc != 0)
			goto out;
		rows[nimg++] = rows[i];
	}
	if ((snap = snapshot_new(nimg + nb)) == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	rc = snapshot_add_images(snap, rows, images, nimg);
	if (rc == 0)
		rc = snapshot_add_bundles(c, snap, brows, nb);
	if (rc != 0) {
		snapshot_free(snap);
		goto out;
	}
	/* Once every rollout is in: each selector gets its bit. */
	selectors_number(snap);
	if ((rc = groups_windows_load(c, snap)) != 0) {
		snapshot_free(snap);
		goto out;
	}
	groupless_count(snap);
	snap->gen = gen;
	*out = snap;
out:
	if (images != NULL)
		store_image_list_free(images, nimg);
	free(brows);
	free(rows);
	return rc;
}

struct offers *
offers_new(struct store *st, atomic_uint_fast64_t *gen)
{
	struct offers *o;
	struct store_conn *c;
	uint64_t g;
	int rc;

	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	o->st = st;
	o->gen = gen;
	pthread_rwlock_init(&o->lock, NULL);
	pthread_mutex_init(&o->reload_mu, NULL);
	g = atomic_load(gen);
	c = store_acquire(st);
	rc = offers_load(c, g, &o->cur);
	store_release(st, c);
	if (rc != 0) {
		log_err("msg=\"cannot load running rollouts\" error=\"%s\"",
		    ota_strerror(rc));
		offers_free(o);
		return NULL;
	}
	o->cur->loaded_at = timeutil_mono_ms() / 1000;
	log_info("msg=\"offers loaded\" running_rollouts=%zu", o->cur->count);
	return o;
}

void
offers_free(struct offers *o)
{
	if (o == NULL)
		return;
	offers_snapshot_unref(o->cur);
	pthread_rwlock_destroy(&o->lock);
	pthread_mutex_destroy(&o->reload_mu);
	free(o);
}

static struct offers_snapshot *
snapshot_get(struct offers *o)
{
	struct offers_snapshot *s;

	pthread_rwlock_rdlock(&o->lock);
	s = o->cur;
	atomic_fetch_add(&s->refs, 1);
	pthread_rwlock_unlock(&o->lock);
	return s;
}

static int
is_stale(const struct offers_snapshot *s, uint64_t gen, int64_t now)
{
	return s->gen != gen || now - s->loaded_at >= OFFERS_MAX_AGE_SEC;
}

/* Carries the rate limits of the rollouts of old over to the same
 * rollouts of fresh (not yet shared). */
static void
rates_carry(const struct offers_snapshot *old, struct offers_snapshot *fresh)
{
	for (size_t i = 0; i < fresh->count; i++)
		for (size_t j = 0; j < old->count; j++) {
			const struct offers_rate *a = old->rollouts[j].rate;
			struct offers_rate *b = fresh->rollouts[i].rate;

			if (old->rollouts[j].id != fresh->rollouts[i].id)
				continue;
			atomic_store(&b->tat_us, atomic_load(&a->tat_us));
			atomic_store(&b->admitted, atomic_load(&a->admitted));
			atomic_store(&b->limited, atomic_load(&a->limited));
			break;
		}
}

/* Reloads unless another thread is at it or a retry is not due. */
static void
offers_reload(struct offers *o, struct store_conn *c, int64_t now)
{
	struct offers_snapshot *fresh = NULL, *old;
	uint64_t gen;
	int rc;

	if (pthread_mutex_trylock(&o->reload_mu) != 0)
		return;
	gen = atomic_load(o->gen);
	pthread_rwlock_rdlock(&o->lock);
	rc = is_stale(o->cur, gen, now) && now >= o->retry_at;
	pthread_rwlock_unlock(&o->lock);
	if (!rc)
		goto out;
	rc = offers_load(c, gen, &fresh);
	if (rc != 0) {
		log_warn("msg=\"cannot reload running rollouts; serving the "
		         "previous snapshot\" error=\"%s\"",
		    ota_strerror(rc));
		o->retry_at = now + RETRY_AFTER_SEC;
		goto out;
	}
	fresh->loaded_at = now;
	pthread_rwlock_wrlock(&o->lock);
	old = o->cur;
	rates_carry(old, fresh);
	o->cur = fresh;
	pthread_rwlock_unlock(&o->lock);
	offers_snapshot_unref(old);
	log_debug("msg=\"offers reloaded\" running_rollouts=%zu gen=%llu",
	    fresh->count, (unsigned long long)gen);
out:
	pthread_mutex_unlock(&o->reload_mu);
}

const struct offers_snapshot *
offers_acquire(struct offers *o, struct store_conn *c)
{
	struct offers_snapshot *s = snapshot_get(o);
	int64_t now = timeutil_mono_ms() / 1000;

	if (is_stale(s, atomic_load(o->gen), now)) {
		offers_snapshot_unref(s);
		offers_reload(o, c, now);
		s = snapshot_get(o);
	}
	return s;
}

void
offers_release(struct offers *o, const struct offers_snapshot *s)
{
	(void)o;
	offers_snapshot_unref((struct offers_snapshot *)s);
}

/* 1 when the sorted id lists a and b share an element. */
static int
sorted_intersect(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j])
			return 1;
		if (a[i] < b[j])
			i++;
		else
			j++;
	}
	return 0;
}

/* 1 when a device of groups group_ids[0..n) (ascending) is in r's: a
 * rollout without groups (a selector's alone) has every device. */
static int
in_groups(const struct offer_rollout *r, const int64_t *group_ids, size_t n)
{
	return r->group_count == 0 ||
	       sorted_intersect(r->group_ids, r->group_count, group_ids, n);
}

/* 1 when id is among except[0..n). */
static int
excepted(int64_t id, const int64_t *except, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (except[i] == id)
			return 1;
	return 0;
}

int
offers_pick_except(const struct offers_snapshot *s, const char *device_id,
    const char *hardware, const char *version, const int64_t *group_ids,
    size_t group_count, const int64_t *except, size_t except_n,
    const struct offer_rollout **out)
{
	return offers_pick_labels(s, device_id, hardware, version, group_ids,
	    group_count, 0, except, except_n, out);
}

int
offers_pick_labels(const struct offers_snapshot *s, const char *device_id,
    const char *hardware, const char *version, const int64_t *group_ids,
    size_t group_count, uint32_t label_bits, const int64_t *except,
    size_t except_n, const struct offer_rollout **out)
{
	struct rollout_candidate stack[PICK_STACK], *c = stack;
	size_t map_stack[PICK_STACK], *map = map_stack; /* c[k] is rollout */
	size_t idx = 0, n = 0;
	int rc;

	if (s == NULL || device_id == NULL || out == NULL ||
	    (group_ids == NULL && group_count > 0) ||
	    (except == NULL && except_n > 0))
		return OTA_EINVAL;
	/* A device in no group: only a rollout without groups (a
	 * selector's alone) may target it. */
	if (s->count == 0 || (group_count == 0 && s->groupless_count == 0))
		return OTA_ENOTFOUND;
	if (s->count > PICK_STACK) {
		c = calloc(s->count, sizeof(*c));
		map = calloc(s->count, sizeof(*map));
		if (c == NULL || map == NULL) {
			rc = OTA_ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct offer_rollout *r = &s->rollouts[i];

		if (r->bundle != NULL || excepted(r->id, except, except_n))
			continue;
		c[n].rollout_id = r->id;
		c[n].salt = r->salt;
		c[n].state = ROLLOUT_RUNNING;
		c[n].stage_bp = r->stage_bp;
		c[n].image_version = r->image.version;
		c[n].min_version = r->image.min_version;
		c[n].hardware = r->image.hardware_ptrs;
		c[n].hardware_count = r->image.hardware_count;
		/* Targeted: in a target group, selected by its labels and on
		 * a targeted version. */
		c[n].in_group = in_groups(r, group_ids, group_count) &&
		                selected(r, label_bits) &&
		                semver_range_match(&r->from, version);
		map[n++] = i;
	}
	rc = n == 0
	         ? OTA_ENOTFOUND
	         : rollout_pick_offer(c, n, device_id, hardware, version, &idx);
	if (rc == 0)
		*out = &s->rollouts[map[idx]];
out:
	if (c != stack)
		free(c);
	if (map != map_stack)
		free(map);
	return rc;
}

int
offers_pick(const struct offers_snapshot *s, const char *device_id,
    const char *hardware, const char *version, const int64_t *group_ids,
    size_t group_count, const struct offer_rollout **out)
{
	return offers_pick_except(s, device_id, hardware, version, group_ids,
	    group_count, NULL, 0, out);
}

size_t
offers_bundles(const struct offers_snapshot *s, const char *device_id,
    const char *version, const int64_t *group_ids, size_t group_count,
    uint32_t label_bits, const struct offer_rollout **out, size_t max)
{
	size_t n = 0;

	if (s == NULL || s->bundle_count == 0 || version == NULL ||
	    semver_check(version, strlen(version)) != 0)
		return 0;
	/* Rollouts are listed in id order: walk back for the newest first. */
	for (size_t i = s->count; i-- > 0 && n < max;) {
		const struct offer_rollout *r = &s->rollouts[i];

		if (r->bundle == NULL ||
		    !in_groups(r, group_ids, group_count) ||
		    !selected(r, label_bits) ||
		    !semver_range_match(&r->from, version) ||
		    !rollout_bucket_in_stage(
		        rollout_bucket(r->salt, device_id), r->stage_bp))
			continue;
		out[n++] = r;
	}
	return n;
}

void
offers_bundle_plan(const struct offer_rollout *r, const struct component *comps,
    size_t n, struct bundle_plan *out)
{
	struct bundle_image_facts img[BUNDLE_PARTS_MAX];
	const struct offer_bundle *b = r->bundle;

	for (size_t i = 0; i < b->desc.part_count; i++) {
		img[i].version = b->parts[i].version;
		img[i].min_version = b->parts[i].min_version;
		img[i].hardware = b->parts[i].hardware;
		img[i].hardware_count = b->parts[i].hardware_count;
	}
	bundle_plan(&b->desc, img, comps, n, out);
}

/* *out_spans (a new array) and *out_n: set's spans around now. */
static int
spans_new(const struct mwindow_set *set, int64_t now,
    struct mwindow_span **out_spans, size_t *out_n)
{
	struct mwindow_span *sp = malloc(MWINDOW_SPANS_MAX * sizeof(*sp));
	struct mwindow_span *shrunk;
	int n;

	*out_spans = NULL;
	*out_n = 0;
	if (sp == NULL)
		return OTA_ENOMEM;
	n = mwindow_spans(set, now - MWINDOW_BACK_SEC, now + MWINDOW_AHEAD_SEC,
	    sp, MWINDOW_SPANS_MAX);
	if (n < 0) {
		free(sp);
		if (n == OTA_ENOMEM)
			return n;
		/* Not possible for a parsed set: never open. */
		log_err("msg=\"maintenance windows without spans\" "
		        "windows=\"%s\" error=%s",
		    set->text, ota_errname(n));
		return 0;
	}
	if ((shrunk = realloc(sp, (n > 0 ? (size_t)n : 1) * sizeof(*sp))) !=
	    NULL)
		sp = shrunk;
	*out_spans = sp;
	*out_n = (size_t)n;
	return 0;
}

int
offers_snapshot_windows(struct offers_snapshot *s,
    struct offer_group_windows *gw, size_t n, int64_t now)
{
	int rc = 0;

	/* Called again (tests): what the previous call computed goes. */
	for (size_t i = 0; i < s->count; i++) {
		free(s->rollouts[i].spans);
		s->rollouts[i].spans = NULL;
		s->rollouts[i].nspans = 0;
	}
	if (s->gwin != gw) {
		for (size_t i = 0; i < s->gwin_count; i++)
			free(s->gwin[i].spans);
		free(s->gwin);
	}
	s->gwin = gw;
	s->gwin_count = n;
	s->cover_from = now - MWINDOW_VALID_BEFORE_SEC;
	s->cover_to = now + MWINDOW_VALID_AFTER_SEC;
	for (size_t i = 0; i < s->count && rc == 0; i++)
		if (s->rollouts[i].windows != NULL)
			rc = spans_new(s->rollouts[i].windows, now,
			    &s->rollouts[i].spans, &s->rollouts[i].nspans);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = spans_new(&gw[i].set, now, &gw[i].spans, &gw[i].nspans);
	return rc;
}

/* Work space of one offers_when that intersects several lists. */
struct when_work {
	struct mwindow_span *acc, *next, *fresh;
	size_t nacc;
	int lists;
};

/* Intersects the list of set (cached spans sp[0..n), or computed again
 * when covered is 0) into w.  0 or an OTA_E* code. */
static int
when_add(struct when_work *w, const struct mwindow_set *set,
    const struct mwindow_span *sp, size_t n, int covered, int64_t now)
{
	struct mwindow_span *t;
	int k;

	if (!covered) {
		k = mwindow_spans(set, now - MWINDOW_BACK_SEC,
		    now + MWINDOW_AHEAD_SEC, w->fresh, MWINDOW_SPANS_MAX);
		if (k < 0)
			return k;
		sp = w->fresh;
		n = (size_t)k;
	}
	if (w->lists++ == 0) {
		memcpy(w->acc, sp, n * sizeof(*sp));
		w->nacc = n;
		return 0;
	}
	k = mwindow_intersect(
	    w->acc, w->nacc, sp, n, w->next, MWINDOW_SPANS_MAX);
	if (k < 0)
		return k;
	t = w->acc;
	w->acc = w->next;
	w->next = t;
	w->nacc = (size_t)k;
	return 0;
}

/* Intersects the windows of r and of the device's groups into w. */
static int
when_lists(const struct offers_snapshot *s, const struct offer_rollout *r,
    const int64_t *group_ids, size_t group_count, int covered, int64_t now,
    struct when_work *w)
{
	size_t i = 0, j = 0;
	int rc = 0;

	if (r->windows != NULL)
		rc = when_add(w, r->windows, r->spans, r->nspans, covered, now);
	/* Both lists ascending: one walk. */
	while (rc == 0 && i < s->gwin_count && j < group_count) {
		if (s->gwin[i].group_id < group_ids[j]) {
			i++;
		} else if (s->gwin[i].group_id > group_ids[j]) {
			j++;
		} else {
			rc = when_add(w, &s->gwin[i].set, s->gwin[i].spans,
			    s->gwin[i].nspans, covered, now);
			i++;
			j++;
		}
	}
	return rc;
}

/* The one list that applies when there is exactly one, else NULL. */
static const struct mwindow_span *
when_single(const struct offers_snapshot *s, const struct offer_rollout *r,
    const int64_t *group_ids, size_t group_count, size_t *out_n, int *lists)
{
	const struct mwindow_span *one = NULL;
	size_t i = 0, j = 0;

	*lists = 0;
	if (r->windows != NULL) {
		one = r->spans;
		*out_n = r->nspans;
		(*lists)++;
	}
	while (i < s->gwin_count && j < group_count && *lists < 2) {
		if (s->gwin[i].group_id < group_ids[j]) {
			i++;
		} else if (s->gwin[i].group_id > group_ids[j]) {
			j++;
		} else {
			one = s->gwin[i].spans;
			*out_n = s->gwin[i].nspans;
			(*lists)++;
			i++;
			j++;
		}
	}
	return *lists == 1 ? one : NULL;
}

int
offers_when(const struct offers_snapshot *s, const struct offer_rollout *r,
    const int64_t *group_ids, size_t group_count, int64_t now,
    struct offers_when *out)
{
	struct when_work w = {NULL, NULL, NULL, 0, 0};
	struct mwindow_span *buf = NULL;
	const struct mwindow_span *one;
	int covered, lists, rc;
	size_t n = 0;

	out->action = rollout_action_at(r->action_type, r->forced_at, now);
	out->forced_at =
	    r->action_type == ROLLOUT_ACTION_TIME_FORCED ? r->forced_at : 0;
	out->window_open = 1;
	out->window_next = 0;
	if (r->windows == NULL && s->gwin_count == 0)
		return 0;
	covered = now >= s->cover_from && now < s->cover_to;
	one = when_single(s, r, group_ids, group_count, &n, &lists);
	if (lists == 0)
		return 0;
	if (lists == 1 && covered) {
		mwindow_state(
		    one, n, now, &out->window_open, &out->window_next);
		return 0;
	}
	/* Several lists, or a clock outside the cover: the slow path. */
	if ((buf = malloc(3 * MWINDOW_SPANS_MAX * sizeof(*buf))) == NULL) {
		rc = OTA_ENOMEM;
		goto out;
	}
	/* acc and next swap at each intersection: buf is what is freed. */
	w.acc = buf;
	w.next = w.acc + MWINDOW_SPANS_MAX;
	w.fresh = w.next + MWINDOW_SPANS_MAX;
	rc = when_lists(s, r, group_ids, group_count, covered, now, &w);
	if (rc == 0)
		mwindow_state(
		    w.acc, w.nacc, now, &out->window_open, &out->window_next);
out:
	if (rc != 0)
		log_err("msg=\"maintenance windows not evaluated: treated as "
		        "open\" rollout=%lld error=%s",
		    (long long)r->id, ota_errname(rc));
	free(buf);
	return rc;
}

const struct offer_rollout *
offers_rollout(const struct offers_snapshot *s, int64_t id)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->rollouts[i].id == id)
			return &s->rollouts[i];
	return NULL;
}

size_t
offers_retry_except(const struct offers_snapshot *s,
    const struct store_update_mark *marks, size_t n, int64_t now,
    int64_t *except, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; s != NULL && i < n && k < max; i++) {
		const struct offer_rollout *r =
		    offers_rollout(s, marks[i].rollout_id);

		if (r == NULL)
			continue; /* not running */
		if (marks[i].status == UPDATE_DECLINED) {
			/* Declined: not offered until it is asked again. */
			if (rollout_consent_decide(&r->stuck, marks[i].status,
			        marks[i].outcome_at, now,
			        NULL) == ROLLOUT_CONSENT_WAIT)
				except[k++] = r->id;
			continue;
		}
		if (!update_state_bad((enum update_state)marks[i].status))
			continue; /* in flight: no retry */
		if (rollout_retry_decide(r->stuck.max_retries,
		        r->stuck.retry_backoff_sec, marks[i].retries,
		        marks[i].outcome_at, now, NULL) != ROLLOUT_RETRY_DUE)
			except[k++] = r->id;
	}
	return k;
}

int
offers_retry_of(
    const struct store_update_mark *marks, size_t n, int64_t rollout_id)
{
	for (size_t i = 0; i < n; i++)
		if (marks[i].rollout_id == rollout_id &&
		    update_state_bad((enum update_state)marks[i].status))
			return marks[i].retries > INT32_MAX
			           ? INT32_MAX
			           : (int)marks[i].retries;
	return -1;
}

size_t
offers_except_bundles(const struct offer_rollout **out, size_t n,
    const int64_t *except, size_t except_n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!excepted(out[i]->id, except, except_n))
			out[k++] = out[i];
	return k;
}

uint32_t
offers_rate_now(const struct offer_rollout *r, int64_t now)
{
	return rollout_rate_per_minute(&r->stuck, now - r->stage_started_sec);
}

int
offers_rate_take(const struct offer_rollout *r, int64_t now_us)
{
	uint32_t rate = offers_rate_now(r, now_us / 1000000);
	int_fast64_t tat;
	int64_t next;

	if (rate == 0 || r->rate == NULL)
		return 1;
	tat = atomic_load(&r->rate->tat_us);
	do {
		if (!rollout_rate_admit(tat, now_us, rate, &next)) {
			atomic_fetch_add(&r->rate->limited, 1);
			return 0;
		}
	} while (!atomic_compare_exchange_weak(&r->rate->tat_us, &tat, next));
	atomic_fetch_add(&r->rate->admitted, 1);
	return 1;
}

enum rollout_consent
offers_consent(const struct offer_rollout *r,
    const struct store_update_mark *marks, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++)
		if (marks[i].rollout_id == r->id)
			return rollout_consent_decide(&r->stuck,
			    marks[i].status, marks[i].outcome_at, now, NULL);
	return rollout_consent_decide(&r->stuck, UPDATE_NONE, 0, now, NULL);
}

int
offers_in_flight(
    const struct store_update_mark *marks, size_t n, int64_t rollout_id)
{
	for (size_t i = 0; i < n; i++)
		if (marks[i].rollout_id == rollout_id &&
		    !update_state_bad((enum update_state)marks[i].status))
			return 1;
	return 0;
}

void
offers_note_of(const struct offer_rollout *r,
    const struct store_update_mark *marks, size_t n, struct offers_note *out)
{
	if (r == NULL || offers_in_flight(marks, n, r->id)) {
		*out = (struct offers_note){0, -1, -1};
		return;
	}
	*out = (struct offers_note){
	    r->id, r->stage_index, offers_retry_of(marks, n, r->id)};
}
