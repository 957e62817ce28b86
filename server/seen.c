/*
 * seen: two fixed buffers of reports, each with an open-addressing index
 * by device id; polls fill the active one under a short mutex, the writer
 * swaps them and writes the full one without holding the mutex.  A small
 * 4-way cache of device-id hashes remembers when each device was last
 * recorded (and whether with an offer), so an unchanged device polling
 * every few seconds is written once a minute, not on every poll.  A flush
 * is one transaction: poll reports, the offers they answered, and silent
 * reverts found from the reported versions.  No allocation after
 * seen_start.
 */
#include "seen.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "store_devices.h"
#include "store_telemetry.h"
#include "timeutil.h"

#define SLOT_EMPTY 0u
#define SLOT_TOMB UINT32_MAX
#define RECENT_WAYS 4
#define RECENT_SLOTS (1u << 18) /* 2 MiB: tags and times */
#define CAPACITY_MIN 16
#define CAPACITY_MAX 1000000
#define TOUCHED_MAX 64    /* rollouts named to the hook per flush */
#define RECENT_OFFERED 1u /* tag bit: recorded with an offer */

/* One batch: reports in arrival order and an index by device id. */
struct seen_buf {
	struct store_device_seen *rec;
	int64_t *at;            /* unix time of the latest poll */
	unsigned char *changed; /* hardware or version differs */
	uint64_t *hash;
	int64_t *offer_rollout; /* the offer the poll answered, or 0 */
	int *offer_stage;
	/* Set by the flush: a completion in the report's second left it
	 * undecided, so the device's next poll is written and judged. */
	unsigned char *recheck;
	size_t n;
	uint32_t *slot; /* entry index + 1, SLOT_EMPTY or SLOT_TOMB */
	size_t slot_mask;
	size_t used_slots; /* entries + tombstones */
	size_t drop_cursor;
	int no_evictable; /* every entry is a change */
};

struct seen {
	struct store *st;
	size_t capacity;
	pthread_mutex_t mu; /* active buffer, recent cache, counters */
	pthread_cond_t cv;
	pthread_mutex_t flush_mu; /* one flush at a time */
	struct seen_buf buf[2];
	int active;
	uint32_t
	    *recent_tag; /* RECENT_SLOTS: high half of the hash, 0 = free */
	uint32_t *recent_at;
	struct seen_stats stats;
	uint64_t dropped_logged;
	int interval_ms;
	int stop;
	int wake;
	int have_thread;
	pthread_t thread;
	/* Called after a flush that marked updates reverted (flush_mu). */
	void (*touched_fn)(void *arg, const int64_t *ids, size_t n);
	void *touched_arg;
	/* The flush's scratch (capacity each; flush_mu). */
	struct store_revert_check *checks;
	size_t *check_of; /* the report of each check */
	struct store_offer_seen *offers;
};

/*
 * FNV-1a, then MurmurHash3's finaliser: ids that differ only in their last
 * characters ("dev-000001", "dev-000002") must spread over every bit, or
 * they crowd into a few sets of the recent cache.
 */
static uint64_t
seen_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/*
 * ---- the recent cache: which devices were recorded lately ----
 * A set is chosen by the low bits of the hash and an entry tagged with its
 * high 32 bits: two devices sharing set and tag (about one chance in 10^9
 * per poll) only means one last-seen refresh skipped, never a lost change.
 */

static size_t
recent_bucket(uint64_t h)
{
	return (size_t)(h % (RECENT_SLOTS / RECENT_WAYS)) * RECENT_WAYS;
}

/* Bit 1 keeps a tag non-zero; bit 0 (RECENT_OFFERED) is a flag, not
 * part of the tag. */
static uint32_t
recent_tagof(uint64_t h)
{
	return ((uint32_t)(h >> 32) | 2) & ~RECENT_OFFERED;
}

static int
recent_is(uint32_t slot, uint32_t tag)
{
	return (slot & ~RECENT_OFFERED) == tag;
}

/* When h was last recorded, or -1; *out_offered tells whether that record
 * carried an offer. */
static int64_t
recent_get(struct seen *s, uint64_t h, int *out_offered)
{
	size_t b = recent_bucket(h);
	uint32_t tag = recent_tagof(h);

	for (size_t i = b; i < b + RECENT_WAYS; i++)
		if (recent_is(s->recent_tag[i], tag)) {
			*out_offered = (s->recent_tag[i] & RECENT_OFFERED) != 0;
			return s->recent_at[i];
		}
	return -1;
}

static void
recent_put(struct seen *s, uint64_t h, int64_t now, int offered)
{
	size_t b = recent_bucket(h), victim = b;
	uint32_t tag = recent_tagof(h);

	for (size_t i = b; i < b + RECENT_WAYS; i++) {
		if (recent_is(s->recent_tag[i], tag) || s->recent_tag[i] == 0) {
			victim = i;
			break;
		}
		if (s->recent_at[i] < s->recent_at[victim])
			victim = i;
	}
	s->recent_tag[victim] = tag | (offered ? RECENT_OFFERED : 0);
	s->recent_at[victim] = (uint32_t)now;
}

static void
recent_forget(struct seen *s, uint64_t h)
{
	size_t b = recent_bucket(h);
	uint32_t tag = recent_tagof(h);

	for (size_t i = b; i < b + RECENT_WAYS; i++)
		if (recent_is(s->recent_tag[i], tag))
			s->recent_tag[i] = 0;
}

/* ---- one buffer ---- */

static int
buf_init(struct seen_buf *b, size_t cap)
{
	size_t nslots = 1;

	while (nslots < 2 * cap)
		nslots <<= 1;
	b->rec = calloc(cap, sizeof(*b->rec));
	b->at = calloc(cap, sizeof(*b->at));
	b->changed = calloc(cap, 1);
	b->hash = calloc(cap, sizeof(*b->hash));
	b->offer_rollout = calloc(cap, sizeof(*b->offer_rollout));
	b->offer_stage = calloc(cap, sizeof(*b->offer_stage));
	b->recheck = calloc(cap, 1);
	b->slot = calloc(nslots, sizeof(*b->slot));
	b->slot_mask = nslots - 1;
	if (b->rec == NULL || b->at == NULL || b->changed == NULL ||
	    b->hash == NULL || b->offer_rollout == NULL ||
	    b->offer_stage == NULL || b->recheck == NULL || b->slot == NULL)
		return OTA_ENOMEM;
	return 0;
}

static void
buf_free(struct seen_buf *b)
{
	free(b->rec);
	free(b->at);
	free(b->changed);
	free(b->hash);
	free(b->offer_rollout);
	free(b->offer_stage);
	free(b->recheck);
	free(b->slot);
}

static void
buf_clear(struct seen_buf *b)
{
	memset(b->slot, 0, (b->slot_mask + 1) * sizeof(*b->slot));
	b->n = 0;
	b->used_slots = 0;
	b->drop_cursor = 0;
	b->no_evictable = 0;
}

/* The entry index of id, or -1. */
static long
buf_find(const struct seen_buf *b, uint64_t h, const char *id)
{
	size_t i = (size_t)h & b->slot_mask;

	for (size_t probes = 0; probes <= b->slot_mask; probes++) {
		uint32_t v = b->slot[i];

		if (v == SLOT_EMPTY)
			return -1;
		if (v != SLOT_TOMB && b->hash[v - 1] == h &&
		    strcmp(b->rec[v - 1].id, id) == 0)
			return (long)(v - 1);
		i = (i + 1) & b->slot_mask;
	}
	return -1;
}

/* Points a free slot (empty or tombstone) at entry idx. */
static void
buf_index(struct seen_buf *b, uint64_t h, size_t idx)
{
	size_t i = (size_t)h & b->slot_mask;

	while (b->slot[i] != SLOT_EMPTY && b->slot[i] != SLOT_TOMB)
		i = (i + 1) & b->slot_mask;
	if (b->slot[i] == SLOT_EMPTY)
		b->used_slots++;
	b->slot[i] = (uint32_t)(idx + 1);
}

/* Turns the slot pointing at entry idx into a tombstone. */
static void
buf_unindex(struct seen_buf *b, uint64_t h, size_t idx)
{
	size_t i = (size_t)h & b->slot_mask;

	while (b->slot[i] != (uint32_t)(idx + 1))
		i = (i + 1) & b->slot_mask;
	b->slot[i] = SLOT_TOMB;
}

/* Rebuilds the index without tombstones. */
static void
buf_reindex(struct seen_buf *b)
{
	memset(b->slot, 0, (b->slot_mask + 1) * sizeof(*b->slot));
	b->used_slots = 0;
	for (size_t i = 0; i < b->n; i++)
		buf_index(b, b->hash[i], i);
}

/*
 * A slot for a new report in a full buffer: the oldest entry that only
 * refreshes last_seen (from the scan cursor, wrapping once), whose device
 * is then forgotten by the recent cache (its next poll is recorded
 * again).  Returns its index, or -1 when every entry is a change.
 */
static long
buf_evict(struct seen *s, struct seen_buf *b)
{
	uint64_t gone;
	size_t k;

	if (b->no_evictable)
		return -1;
	for (size_t scanned = 0;; scanned++) {
		if (scanned == b->n) {
			/* Entries only ever become changes: none will be
			 * evictable again until the buffer is written. */
			b->no_evictable = 1;
			return -1;
		}
		if (b->drop_cursor >= b->n)
			b->drop_cursor = 0;
		k = b->drop_cursor++;
		if (!b->changed[k])
			break;
	}
	gone = b->hash[k];
	buf_unindex(b, gone, k);
	/* Each eviction leaves a tombstone: keep the index from filling. */
	if (b->used_slots + 1 > b->slot_mask) {
		b->n--; /* k is out of the index; keep it out while rebuilding
		         */
		if (k != b->n) {
			b->rec[k] = b->rec[b->n];
			b->at[k] = b->at[b->n];
			b->changed[k] = b->changed[b->n];
			b->hash[k] = b->hash[b->n];
			b->offer_rollout[k] = b->offer_rollout[b->n];
			b->offer_stage[k] = b->offer_stage[b->n];
		}
		buf_reindex(b);
		k = b->n++;
	}
	recent_forget(s, gone);
	s->stats.dropped++;
	return (long)k;
}

static void
copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
seen_note(struct seen *s, const char *device_id, const char *hardware,
    const char *version, const char *stored_hw, const char *stored_version,
    int64_t now)
{
	seen_note_offer(s, device_id, hardware, version, stored_hw,
	    stored_version, 0, -1, now);
}

void
seen_note_offer(struct seen *s, const char *device_id, const char *hardware,
    const char *version, const char *stored_hw, const char *stored_version,
    int64_t offer_rollout_id, int offer_stage_index, int64_t now)
{
	struct seen_buf *b;
	uint64_t h;
	long idx;
	int changed, had_offer = 0;

	if (hardware == NULL)
		hardware = "";
	if (version == NULL)
		version = "";
	if (strlen(device_id) > STORE_DEVICE_ID_MAX ||
	    strlen(hardware) > STORE_HARDWARE_MAX ||
	    strlen(version) > STORE_VERSION_MAX)
		return;
	if (offer_rollout_id < 0 || offer_stage_index < 0)
		offer_rollout_id = 0;
	/* Only a report that differs from the store changes a field; the
	 * reported version is kept even when unchanged, for the silent
	 * revert check of the flush. */
	if (strcmp(hardware, stored_hw) == 0)
		hardware = "";
	changed = hardware[0] != '\0' ||
	          (version[0] != '\0' && strcmp(version, stored_version) != 0);
	h = seen_hash(device_id);

	pthread_mutex_lock(&s->mu);
	b = &s->buf[s->active];
	/* A report still buffered is refreshed whatever it says (free). */
	idx = buf_find(b, h, device_id);
	if (idx < 0 && !changed) {
		int64_t last = recent_get(s, h, &had_offer);

		/* An offer not yet recorded is news, like a change. */
		if (last >= 0 && now - last < SEEN_REFRESH_SEC && now >= last &&
		    (offer_rollout_id == 0 || had_offer)) {
			s->stats.skipped++;
			goto out;
		}
	}
	if (idx < 0) {
		if (b->n < s->capacity) {
			idx = (long)b->n++;
		} else if ((idx = buf_evict(s, b)) < 0) {
			s->stats.dropped++; /* all changes: the new one goes */
			goto out;
		}
		copy_str(b->rec[idx].id, sizeof(b->rec[idx].id), device_id);
		b->rec[idx].hardware[0] = '\0';
		b->rec[idx].version[0] = '\0';
		b->changed[idx] = 0;
		b->hash[idx] = h;
		b->offer_rollout[idx] = 0;
		b->offer_stage[idx] = 0;
		buf_index(b, h, (size_t)idx);
		s->stats.noted++;
	}
	if (hardware[0] != '\0')
		copy_str(b->rec[idx].hardware, sizeof(b->rec[idx].hardware),
		    hardware);
	if (version[0] != '\0')
		copy_str(
		    b->rec[idx].version, sizeof(b->rec[idx].version), version);
	if (offer_rollout_id > 0) {
		b->offer_rollout[idx] = offer_rollout_id;
		b->offer_stage[idx] = offer_stage_index;
	}
	b->changed[idx] |= (unsigned char)changed;
	b->at[idx] = now;
	recent_put(s, h, now, b->offer_rollout[idx] > 0);
	if (b->n == s->capacity / 2 && s->have_thread) {
		s->wake = 1;
		pthread_cond_signal(&s->cv);
	}
out:
	pthread_mutex_unlock(&s->mu);
}

void
seen_forget(struct seen *s, const char *device_id)
{
	uint64_t h;

	if (s == NULL || device_id == NULL)
		return;
	h = seen_hash(device_id);
	pthread_mutex_lock(&s->mu);
	recent_forget(s, h);
	pthread_mutex_unlock(&s->mu);
}

/*
 * The silent revert checks of b's reports that carried a version, by
 * chunks (store_telemetry_silent_reverts): rollouts marked reverted go to
 * touched, reports left undecided get b->recheck set.
 */
static int
flush_reverts(struct seen *s, struct store_conn *c, struct seen_buf *b,
    int64_t *touched, size_t *ntouched)
{
	struct store_revert_check *k = s->checks;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < b->n; i++) {
		b->recheck[i] = 0;
		if (b->rec[i].version[0] == '\0')
			continue;
		k[n].device_id = b->rec[i].id;
		k[n].installed_version = b->rec[i].version;
		k[n].at = b->rec[i].seen_at;
		s->check_of[n++] = i;
	}
	rc = store_telemetry_silent_reverts(
	    c, k, n, touched, TOUCHED_MAX, ntouched);
	for (size_t j = 0; rc == 0 && j < n; j++) {
		if (k[j].state == 1)
			b->recheck[s->check_of[j]] = 1;
		/* Callers validate versions; one that slipped through must
		 * not cost the whole batch. */
		else if (k[j].state == OTA_EINVAL)
			log_warn("msg=\"silent revert check skipped: bad "
			         "version\" device=%s",
			    k[j].device_id);
	}
	return rc;
}

/*
 * Writes buffer b in one transaction on c: the devices rows, the silent
 * reverts the reported versions reveal, the offers, each by chunks.
 * Rollouts whose updates were marked reverted go to touched[0..*ntouched);
 * reports a completion left undecided get b->recheck set.
 */
static int
flush_write(struct seen *s, struct store_conn *c, struct seen_buf *b,
    int64_t *touched, size_t *ntouched)
{
	size_t n = 0;
	int rc;

	if ((rc = store_begin(c)) != 0)
		return rc;
	if ((rc = store_device_record_seen(c, b->rec, b->n)) != 0 ||
	    (rc = flush_reverts(s, c, b, touched, ntouched)) != 0)
		goto out;
	/* What a poll reads of a device changed only where the report
	 * differed from what the poll was answered with. */
	for (size_t i = 0; i < b->n; i++)
		if (b->changed[i] &&
		    (rc = store_devices_changed(c, b->rec[i].id)) != 0)
			goto out;
	for (size_t i = 0; i < b->n; i++) {
		struct store_offer_seen *o = &s->offers[n];

		if (b->offer_rollout[i] <= 0)
			continue;
		memset(o, 0, sizeof(*o));
		o->rollout_id = b->offer_rollout[i];
		memcpy(o->device_id, b->rec[i].id, sizeof(o->device_id));
		o->stage_index = b->offer_stage[i];
		memcpy(o->at, b->rec[i].seen_at, sizeof(o->at));
		n++;
	}
	if ((rc = store_telemetry_offers(c, s->offers, n)) != 0)
		goto out;
	rc = store_commit(c);
out:
	if (rc != 0)
		store_rollback(c);
	return rc;
}

int
seen_flush(struct seen *s)
{
	struct seen_buf *b;
	struct store_conn *c;
	int64_t touched[TOUCHED_MAX];
	size_t ntouched = 0;
	uint64_t dropped;
	int rc = 0;

	pthread_mutex_lock(&s->flush_mu);
	pthread_mutex_lock(&s->mu);
	b = &s->buf[s->active];
	s->active ^= 1;
	dropped = s->stats.dropped;
	pthread_mutex_unlock(&s->mu);

	if (dropped > s->dropped_logged) {
		log_warn(
		    "msg=\"poll reports dropped: buffer full\" dropped=%llu "
		    "total=%llu capacity=%zu",
		    (unsigned long long)(dropped - s->dropped_logged),
		    (unsigned long long)dropped, s->capacity);
		s->dropped_logged = dropped;
	}
	if (b->n > 0) {
		for (size_t i = 0; i < b->n; i++)
			timeutil_format_rfc3339(b->at[i], b->rec[i].seen_at);
		c = store_acquire(s->st);
		rc = flush_write(s, c, b, touched, &ntouched);
		store_release(s->st, c);
		pthread_mutex_lock(&s->mu);
		if (rc == 0) {
			s->stats.written += b->n;
			/* Not skipped as unchanged next time: judged then. */
			for (size_t i = 0; i < b->n; i++)
				if (b->recheck[i])
					recent_forget(s, b->hash[i]);
		} else {
			/* Forgotten, so each device's next poll is noted
			 * again: the reports are late, not lost. */
			log_err("msg=\"cannot record poll reports\" count=%zu "
			        "err=\"%s\"",
			    b->n, ota_strerror(rc));
			for (size_t i = 0; i < b->n; i++)
				recent_forget(s, b->hash[i]);
		}
		pthread_mutex_unlock(&s->mu);
	}
	buf_clear(b);
	/* After the commit: the automatic pause of reverted rollouts. */
	if (rc == 0 && ntouched > 0 && s->touched_fn != NULL)
		s->touched_fn(s->touched_arg,
		    ntouched == TOUCHED_MAX ? NULL : touched, ntouched);
	pthread_mutex_unlock(&s->flush_mu);
	return rc;
}

void
seen_set_touched_hook(struct seen *s,
    void (*fn)(void *arg, const int64_t *ids, size_t n), void *arg)
{
	pthread_mutex_lock(&s->flush_mu);
	s->touched_fn = fn;
	s->touched_arg = arg;
	pthread_mutex_unlock(&s->flush_mu);
}

static void *
seen_thread(void *arg)
{
	struct seen *s = arg;
	struct timespec deadline;
	int stop;

	for (;;) {
		deadline =
		    timeutil_mono_timespec(timeutil_mono_ms() + s->interval_ms);
		pthread_mutex_lock(&s->mu);
		while (!s->stop && !s->wake &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &deadline) !=
		           ETIMEDOUT)
			;
		stop = s->stop;
		s->wake = 0;
		pthread_mutex_unlock(&s->mu);
		seen_flush(s);
		if (stop)
			return NULL;
	}
}

static void
seen_free(struct seen *s)
{
	buf_free(&s->buf[0]);
	buf_free(&s->buf[1]);
	free(s->recent_tag);
	free(s->recent_at);
	free(s->checks);
	free(s->check_of);
	free(s->offers);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->flush_mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct seen *
seen_start(struct store *st, size_t capacity, int flush_interval_ms)
{
	struct seen *s;

	if (capacity < CAPACITY_MIN || capacity > CAPACITY_MAX ||
	    flush_interval_ms < 0) {
		log_err("msg=\"seen: bad capacity or interval\" capacity=%zu",
		    capacity);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->st = st;
	s->capacity = capacity;
	s->interval_ms = flush_interval_ms;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->flush_mu, NULL);
	timeutil_mono_cond_init(&s->cv);
	s->recent_tag = calloc(RECENT_SLOTS, sizeof(*s->recent_tag));
	s->recent_at = calloc(RECENT_SLOTS, sizeof(*s->recent_at));
	s->checks = calloc(capacity, sizeof(*s->checks));
	s->check_of = calloc(capacity, sizeof(*s->check_of));
	s->offers = calloc(capacity, sizeof(*s->offers));
	if (s->recent_tag == NULL || s->recent_at == NULL ||
	    s->checks == NULL || s->check_of == NULL || s->offers == NULL ||
	    buf_init(&s->buf[0], capacity) != 0 ||
	    buf_init(&s->buf[1], capacity) != 0) {
		log_err("msg=\"seen: out of memory\" capacity=%zu", capacity);
		seen_free(s);
		return NULL;
	}
	if (flush_interval_ms > 0) {
		if (pthread_create(&s->thread, NULL, seen_thread, s) != 0) {
			log_err("msg=\"seen: cannot start writer thread\"");
			seen_free(s);
			return NULL;
		}
		s->have_thread = 1;
	}
	return s;
}

void
seen_stop(struct seen *s)
{
	if (s == NULL)
		return;
	if (s->have_thread) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	seen_flush(s); /* reports noted after the thread's last flush */
	seen_free(s);
}

void
seen_get_stats(struct seen *s, struct seen_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->stats;
	out->pending = s->buf[s->active].n;
	pthread_mutex_unlock(&s->mu);
}
