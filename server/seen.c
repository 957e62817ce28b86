/*
 * seen: two buffers of reports, each with an open-addressing index by device
 * id; polls fill the active one under a short mutex, the writer swaps them and
 * writes the full one without holding the mutex.  A buffer grows under a burst
 * (entries and string arena by half, the index doubling) while both fit in
 * max_bytes; a report is 32 bytes, 8 to 16 of index and its id in the arena
 * (hardware and version strings are shared through a small intern table).  A
 * small 16-way cache of device-id hashes remembers when each device was last
 * recorded (and whether with an offer), so an unchanged device polling every
 * few seconds is written once a minute, not on every poll; such refreshes wait
 * in the buffer for up to LAZY_MS, changes and new offers for one writer
 * interval.  A flush writes its buffer sorted by device id (runs of SORT_RUN),
 * in transactions of CHUNK_ROWS reports each: poll reports, the offers they
 * answered, and silent reverts found from the reported versions; other writers
 * get the lock between chunks.
 */
#include "seen.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "errors.h"
#include "log.h"
#include "rollout.h"
#include "store_devices.h"
#include "store_telemetry.h"
#include "timeutil.h"

#define SLOT_EMPTY 0u
#define SLOT_TOMB UINT32_MAX
#define RECENT_WAYS 16
#define RECENT_SLOTS_MIN (1u << 18) /* 1.5 MiB: tags and times */
#define RECENT_SLOTS_MAX (5u << 20) /* 30 MiB: 4M devices */
/* A slot's time is unix seconds modulo 2^16 (18.2 hours): each tick
 * of the writer (seen_sweep) looks at the next RECENT_SWEEP slots and
 * frees those recorded RECENT_KEEP_SEC or more ago, so that a device's
 * time never grows old enough to look recent again. */
#define RECENT_SWEEP 8192
#define RECENT_KEEP_SEC (2 * SEEN_REFRESH_MAX_SEC)
#define ENTRIES_MIN 16 /* a buffer's first allocation */
#define ARENA_MIN 1024
#define INTERN_SLOTS 64    /* strings shared by a buffer's reports */
#define WAKE_REPORTS 65536 /* the writer starts at once past this many */
#define LAZY_MS 10000      /* refreshes alone wait at most this long */
#define CHUNK_ROWS 512     /* reports per write transaction */
#define SORT_RUN 65536     /* reports sorted together by id */
#define TOUCHED_MAX 64     /* rollouts named to the hook per flush */
#define RECENT_OFFERED 1u  /* tag bit: recorded with an offer */
#define SEEN_NICE 5        /* the writer thread's nice, above otad's */

/* One report; its strings are offsets into the buffer's arena (0: ""). */
struct seen_ent {
	/* The low half of the id's seen_hash: where the index places it
	 * (slot_mask < 2^32) and a first test of a probe's match.  The
	 * whole hash, for the recent cache, is computed again (rarely). */
	uint32_t hash;
	uint32_t offer_lo; /* the offer the poll answered, or 0: ent_rollout */
	uint32_t id, hw, ver;
	uint32_t at;           /* unix time of the latest poll */
	uint16_t offer_hi;     /* rollout ids < 2^48 (SEEN_ROLLOUT_MAX) */
	int16_t offer_stage;   /* at most ROLLOUT_MAX_STAGES */
	int16_t offer_retry;   /* a retry: the retries the poll saw; else -1 */
	unsigned char changed; /* hardware or version differs */
	/* Set by the flush: a completion in the report's second left it
	 * undecided, or its chunk failed: the device's next poll is written
	 * (and judged). */
	unsigned char recheck;
};
_Static_assert(sizeof(struct seen_ent) == 32, "a report is 32 bytes");
_Static_assert(
    ROLLOUT_MAX_STAGES <= INT16_MAX && ROLLOUT_MAX_RETRIES_MAX <= INT16_MAX,
    "a report's stage and retries fit in 16 bits");
/* Rollout ids come from the store's sequence: one past 2^48 would take
 * 281 trillion rollouts.  An offer of a larger id is not one (as an
 * offer of a bad stage). */
#define SEEN_ROLLOUT_MAX ((INT64_C(1) << 48) - 1)

/* One batch: reports in arrival order, an index by device id, and the
 * arena of their strings. */
struct seen_buf {
	struct seen_ent *e;
	size_t n, cap;
	char *arena;
	size_t arena_len, arena_cap;
	uint32_t *slot; /* entry index + 1, SLOT_EMPTY or SLOT_TOMB */
	size_t slot_mask;
	size_t used_slots;             /* entries + tombstones */
	uint32_t intern[INTERN_SLOTS]; /* arena offsets of shared strings */
	size_t drop_cursor;
	int no_evictable; /* every entry is a change */
	size_t bytes;     /* allocated for e, slot and arena */
	/* A change or a new offer is waiting: written at the next tick. */
	int urgent;
	int64_t born_ms; /* monotonic time of the first entry */
};

struct seen {
	struct store *st;
	size_t max_bytes;
	size_t bytes;       /* both buffers (mu) */
	size_t writing;     /* reports in the buffer being written (mu) */
	pthread_mutex_t mu; /* active buffer, recent cache, counters */
	pthread_cond_t cv;
	pthread_mutex_t flush_mu; /* one flush at a time */
	struct seen_buf buf[2];
	int active;
	uint32_t
	    *recent_tag;     /* recent_slots: high half of the hash, 0 = free */
	uint16_t *recent_at; /* unix seconds of the record, modulo 2^16 */
	size_t recent_slots; /* a multiple of RECENT_WAYS */
	size_t recent_sweep; /* the next slot seen_sweep looks at */
	size_t recent_used;  /* slots holding a device */
	size_t recent_max;   /* the most slots it may grow to */
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
	/* The flush's scratch (flush_mu): one chunk, one sorted run. */
	struct store_device_seen rows[CHUNK_ROWS];
	struct store_revert_check checks[CHUNK_ROWS];
	size_t check_of[CHUNK_ROWS]; /* the row of each check */
	struct store_offer_seen offers[CHUNK_ROWS];
	uint32_t *order; /* SORT_RUN entry indexes */
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

/* How long after its record at last an unchanged device of hash h is
 * written again (seen.h: SEEN_REFRESH_MIN_SEC..SEEN_REFRESH_MAX_SEC). */
static int64_t
refresh_after(uint64_t h, int64_t last)
{
	uint64_t x = (h ^ (uint64_t)last) * 0x9E3779B97F4A7C15ull;

	return SEEN_REFRESH_MIN_SEC +
	       (int64_t)((x >> 32) %
	                 (SEEN_REFRESH_MAX_SEC - SEEN_REFRESH_MIN_SEC + 1));
}

/*
 * ---- the recent cache: which devices were recorded lately ----
 * A set is chosen by the low bits of the hash and an entry tagged with its
 * high 32 bits: two devices sharing set and tag (about one chance in 10^9
 * per poll) only means one last-seen refresh skipped, never a lost change.
 */

static size_t
recent_bucket(const struct seen *s, uint64_t h)
{
	return (size_t)(h % (s->recent_slots / RECENT_WAYS)) * RECENT_WAYS;
}

/*
 * Slots for a fleet of devices: 1.25 a device in sets of RECENT_WAYS,
 * within RECENT_SLOTS_MIN..RECENT_SLOTS_MAX.  A set that more devices
 * fall in than it has slots forgets one (recent_put): its next poll is
 * written.  When devices poll faster than once a minute (the only case
 * where this memory saves writes) the one forgotten is nearly always due
 * anyway; when all were recorded within the minute (a burst), about 6 %
 * of the fleet is written once more (check_seen).
 */
static size_t
recent_slots_for(size_t devices)
{
	size_t n = devices / 4 * 5;

	n = (n + RECENT_WAYS - 1) / RECENT_WAYS * RECENT_WAYS;
	return n < RECENT_SLOTS_MIN   ? RECENT_SLOTS_MIN
	       : n > RECENT_SLOTS_MAX ? RECENT_SLOTS_MAX
	                              : n;
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

/* Seconds from a slot's time to now (a clock gone back looks old). */
static int64_t
recent_age(uint16_t at, int64_t now)
{
	return (uint16_t)((uint16_t)now - at);
}

/* When h was last recorded, or -1; *out_offered tells whether that record
 * carried an offer. */
static int64_t
recent_get(struct seen *s, uint64_t h, int64_t now, int *out_offered)
{
	size_t b = recent_bucket(s, h);
	uint32_t tag = recent_tagof(h);

	for (size_t i = b; i < b + RECENT_WAYS; i++)
		if (recent_is(s->recent_tag[i], tag)) {
			*out_offered = (s->recent_tag[i] & RECENT_OFFERED) != 0;
			return now - recent_age(s->recent_at[i], now);
		}
	return -1;
}

static void
recent_put(struct seen *s, uint64_t h, int64_t now, int offered)
{
	size_t b = recent_bucket(s, h), victim = b;
	uint32_t tag = recent_tagof(h);

	for (size_t i = b; i < b + RECENT_WAYS; i++) {
		if (recent_is(s->recent_tag[i], tag) || s->recent_tag[i] == 0) {
			victim = i;
			goto put;
		}
		if (recent_age(s->recent_at[i], now) >
		    recent_age(s->recent_at[victim], now))
			victim = i;
	}
	/* A full set: the device recorded longest ago when it is past the
	 * shortest refresh time (its write comes at most 30 s early), else
	 * one at random: devices poll in cycles, and the oldest of a set one
	 * device too many falls in would be the next to poll, every time. */
	if (recent_age(s->recent_at[victim], now) < SEEN_REFRESH_MIN_SEC)
		victim = b + randombytes_uniform(RECENT_WAYS);
put:
	if (s->recent_tag[victim] == 0)
		s->recent_used++;
	s->recent_tag[victim] = tag | (offered ? RECENT_OFFERED : 0);
	s->recent_at[victim] = (uint16_t)now;
}

/*
 * Doubles the memory of recent records once three slots in four hold a
 * device, up to recent_max: starting from the least and growing with the
 * fleet keeps a small fleet's memory small.  Entries keep only the high
 * half of their hash, so they cannot move to the larger table: it starts
 * empty, and the devices forgotten are written once more at their next
 * poll (at most five times in the life of the process, from 1.5 to
 * 30 MiB).  Out of memory: it stays as it is, for good.  Caller holds
 * s->mu.
 */
static void
recent_grow(struct seen *s)
{
	size_t n = s->recent_slots * 2;
	uint32_t *tag;
	uint16_t *at;

	if (n > s->recent_max)
		n = s->recent_max;
	if (s->recent_used <= s->recent_slots / 4 * 3 || n <= s->recent_slots)
		return;
	tag = calloc(n, sizeof(*tag));
	at = calloc(n, sizeof(*at));
	if (tag == NULL || at == NULL) {
		free(tag);
		free(at);
		s->recent_max = s->recent_slots;
		log_warn(
		    "msg=\"seen: cannot grow the memory of recent records\" "
		    "slots=%zu",
		    s->recent_slots);
		return;
	}
	free(s->recent_tag);
	free(s->recent_at);
	s->recent_tag = tag;
	s->recent_at = at;
	s->recent_slots = n;
	s->recent_used = 0;
	s->recent_sweep = 0;
}

static void
recent_forget(struct seen *s, uint64_t h)
{
	size_t b = recent_bucket(s, h);
	uint32_t tag = recent_tagof(h);

	for (size_t i = b; i < b + RECENT_WAYS; i++)
		if (recent_is(s->recent_tag[i], tag)) {
			s->recent_tag[i] = 0;
			s->recent_used--;
		}
}

void
seen_sweep(struct seen *s, int64_t now)
{
	size_t i, end;

	pthread_mutex_lock(&s->mu);
	i = s->recent_sweep < s->recent_slots ? s->recent_sweep : 0;
	end = i + RECENT_SWEEP < s->recent_slots ? i + RECENT_SWEEP
	                                         : s->recent_slots;
	for (; i < end; i++)
		if (s->recent_tag[i] != 0 &&
		    recent_age(s->recent_at[i], now) >= RECENT_KEEP_SEC) {
			s->recent_tag[i] = 0;
			s->recent_used--;
		}
	s->recent_sweep = end < s->recent_slots ? end : 0;
	pthread_mutex_unlock(&s->mu);
}

/* ---- one buffer ---- */

/* Allocates b's first arrays (counted in s->bytes by the caller). */
static int
buf_init(struct seen_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->cap = ENTRIES_MIN;
	b->e = calloc(b->cap, sizeof(*b->e));
	b->slot = calloc(2 * ENTRIES_MIN, sizeof(*b->slot));
	b->slot_mask = 2 * ENTRIES_MIN - 1;
	b->arena_cap = ARENA_MIN;
	b->arena = calloc(1, ARENA_MIN);
	b->arena_len = 1; /* offset 0 is "" */
	b->bytes = b->cap * sizeof(*b->e) + 2 * ENTRIES_MIN * sizeof(*b->slot) +
	           ARENA_MIN;
	if (b->e == NULL || b->slot == NULL || b->arena == NULL)
		return OTA_ENOMEM;
	return 0;
}

static void
buf_free(struct seen_buf *b)
{
	free(b->e);
	free(b->slot);
	free(b->arena);
	memset(b, 0, sizeof(*b));
}

/* Empties b; one that grew goes back to its first size (freeing what a
 * burst took).  Caller holds s->mu (the byte count). */
static void
buf_clear(struct seen *s, struct seen_buf *b)
{
	/* e is NULL after an allocation failure here: try again. */
	if (b->e == NULL || b->cap > ENTRIES_MIN || b->arena_cap > ARENA_MIN) {
		s->bytes -= b->bytes;
		buf_free(b);
		if (buf_init(b) == 0) {
			s->bytes += b->bytes;
			return;
		}
		/* Out of memory: an empty buffer that never grows (every
		 * report to it is dropped, counted). */
		buf_free(b);
		return;
	}
	memset(b->slot, 0, (b->slot_mask + 1) * sizeof(*b->slot));
	memset(b->intern, 0, sizeof(b->intern));
	b->n = 0;
	b->arena_len = 1;
	b->used_slots = 0;
	b->drop_cursor = 0;
	b->no_evictable = 0;
	b->urgent = 0;
	b->born_ms = 0;
}

static const char *
ent_id(const struct seen_buf *b, const struct seen_ent *e)
{
	return b->arena + e->id;
}

/* The entry index of id, or -1. */
static long
buf_find(const struct seen_buf *b, uint32_t h, const char *id)
{
	size_t i = (size_t)h & b->slot_mask;

	if (b->slot == NULL)
		return -1;
	for (size_t probes = 0; probes <= b->slot_mask; probes++) {
		uint32_t v = b->slot[i];

		if (v == SLOT_EMPTY)
			return -1;
		if (v != SLOT_TOMB && b->e[v - 1].hash == h &&
		    strcmp(ent_id(b, &b->e[v - 1]), id) == 0)
			return (long)(v - 1);
		i = (i + 1) & b->slot_mask;
	}
	return -1;
}

/* Points a free slot (empty or tombstone) at entry idx. */
static void
buf_index(struct seen_buf *b, uint32_t h, size_t idx)
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
buf_unindex(struct seen_buf *b, uint32_t h, size_t idx)
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
		buf_index(b, b->e[i].hash, i);
}

/*
 * Room for one more entry in b: the entries grow by half when they are
 * full and s->max_bytes allows (by half, not double: a buffer may come
 * within a third of the cap, not only half), and the index doubles when
 * it would be more than half full.  Returns 0, or -1 when b is full.
 * Caller holds s->mu.
 */
static int
buf_room_entry(struct seen *s, struct seen_buf *b)
{
	size_t cap = b->cap + b->cap / 2, nslots = b->slot_mask + 1, more;
	struct seen_ent *e;
	uint32_t *slot = NULL;

	if (b->n < b->cap)
		return 0;
	if (b->e == NULL)
		return -1;
	while (nslots < 2 * cap)
		nslots *= 2;
	more = (cap - b->cap) * sizeof(*e) +
	       (nslots - (b->slot_mask + 1)) * sizeof(*slot);
	if (s->bytes + more > s->max_bytes || cap > UINT32_MAX / 2)
		return -1;
	if (nslots > b->slot_mask + 1 &&
	    (slot = calloc(nslots, sizeof(*slot))) == NULL)
		return -1;
	if ((e = realloc(b->e, cap * sizeof(*e))) == NULL) {
		free(slot);
		return -1;
	}
	b->e = e;
	b->cap = cap;
	if (slot != NULL) {
		free(b->slot);
		b->slot = slot;
		b->slot_mask = nslots - 1;
		buf_reindex(b);
	}
	b->bytes += more;
	s->bytes += more;
	if (s->bytes > s->stats.bytes_peak)
		s->stats.bytes_peak = s->bytes;
	return 0;
}

/* Room for len more bytes in b's arena (growing by half), as
 * buf_room_entry. */
static int
buf_room_arena(struct seen *s, struct seen_buf *b, size_t len)
{
	size_t cap = b->arena_cap;
	char *a;

	if (b->arena_len + len <= b->arena_cap)
		return 0;
	if (b->arena == NULL)
		return -1;
	while (cap < b->arena_len + len)
		cap += cap / 2;
	if (s->bytes + (cap - b->arena_cap) > s->max_bytes || cap > UINT32_MAX)
		return -1;
	if ((a = realloc(b->arena, cap)) == NULL)
		return -1;
	s->bytes += cap - b->arena_cap;
	b->bytes += cap - b->arena_cap;
	if (s->bytes > s->stats.bytes_peak)
		s->stats.bytes_peak = s->bytes;
	b->arena = a;
	b->arena_cap = cap;
	return 0;
}

/* Copies str into b's arena (room made by the caller); returns its
 * offset.  Shared (interned) when want_shared: hardware and versions. */
static uint32_t
buf_str(struct seen_buf *b, const char *str, int want_shared)
{
	size_t len = strlen(str) + 1;
	uint32_t *k = NULL, off;

	if (len == 1)
		return 0;
	if (want_shared) {
		k = &b->intern[seen_hash(str) % INTERN_SLOTS];
		if (*k != 0 && strcmp(b->arena + *k, str) == 0)
			return *k;
	}
	off = (uint32_t)b->arena_len;
	memcpy(b->arena + off, str, len);
	b->arena_len += len;
	if (k != NULL)
		*k = off;
	return off;
}

/*
 * For a change arriving at a full buffer: the oldest entry that only
 * refreshes last_seen (from the scan cursor, wrapping once) is dropped
 * and its device forgotten by the recent cache (its next poll is recorded
 * again).  Returns its index, now free for the change, or -1 when every
 * entry is a change.
 */
static long
buf_evict(struct seen *s, struct seen_buf *b)
{
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
		if (!b->e[k].changed)
			break;
	}
	buf_unindex(b, b->e[k].hash, k);
	/* Each eviction leaves a tombstone: keep the index from filling. */
	if (b->used_slots + 1 > b->slot_mask)
		buf_reindex(b);
	recent_forget(s, seen_hash(ent_id(b, &b->e[k])));
	s->stats.dropped++;
	return (long)k;
}

/*
 * A new entry of b for device_id (hash h) with room in the arena for
 * extra more bytes: appended while b may grow, else (a change only) in
 * place of an evicted one.  Returns its index, or -1 when the report is
 * dropped (counted).  Caller holds s->mu.
 */
static long
buf_add(struct seen *s, struct seen_buf *b, uint64_t h, const char *device_id,
    size_t extra, int changed)
{
	size_t need = strlen(device_id) + 1 + extra;
	long idx;

	if (buf_room_arena(s, b, need) != 0) {
		s->stats.dropped++;
		return -1;
	}
	if (buf_room_entry(s, b) == 0)
		idx = (long)b->n++;
	else if (!changed || (idx = buf_evict(s, b)) < 0) {
		/* Full: a refresh or a change with no refresh to evict
		 * is the report dropped. */
		s->stats.dropped++;
		return -1;
	}
	if (b->n == 1)
		b->born_ms = timeutil_mono_ms();
	memset(&b->e[idx], 0, sizeof(b->e[idx]));
	b->e[idx].hash = (uint32_t)h;
	b->e[idx].offer_retry = -1;
	b->e[idx].id = buf_str(b, device_id, 0);
	buf_index(b, (uint32_t)h, (size_t)idx);
	s->stats.noted++;
	return idx;
}

/* Starts the writer at once when b holds a batch large enough (of its
 * reports, or of the bytes the two buffers share).  Caller holds s->mu. */
static void
note_wake(struct seen *s, const struct seen_buf *b)
{
	if (s->have_thread && !s->wake &&
	    (b->n >= WAKE_REPORTS || b->bytes >= s->max_bytes / 4)) {
		s->wake = 1;
		pthread_cond_signal(&s->cv);
	}
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
	seen_note_retry(s, device_id, hardware, version, stored_hw,
	    stored_version, offer_rollout_id, offer_stage_index, -1, now);
}

/* The rollout of the offer e's poll answered, or 0. */
static int64_t
ent_rollout(const struct seen_ent *e)
{
	return (int64_t)((uint64_t)e->offer_hi << 32 | e->offer_lo);
}

/* Sets the offer of entry e (none when offer_rollout_id is 0): a retry
 * buffered for the same rollout stays one. */
static void
ent_offer(struct seen_ent *e, int64_t offer_rollout_id, int offer_stage_index,
    int retry)
{
	if (offer_rollout_id <= 0)
		return;
	if (ent_rollout(e) != offer_rollout_id)
		e->offer_retry = -1;
	e->offer_lo = (uint32_t)offer_rollout_id;
	e->offer_hi = (uint16_t)(offer_rollout_id >> 32);
	e->offer_stage = (int16_t)offer_stage_index;
	if (retry >= 0)
		e->offer_retry = (int16_t)retry;
}

/*
 * Whether an unchanged report of hash h at now is skipped: its device was
 * recorded within its refresh time (a clock gone back looks old:
 * recent_age), with an offer when this report carries one (an offer not
 * yet recorded is news, like a change), and it is no retry.
 * *out_had_offer tells whether that record carried an offer.  Caller holds
 * s->mu.
 */
static int
recent_skips(struct seen *s, uint64_t h, int64_t now, int offered, int retry,
    int *out_had_offer)
{
	int64_t last = recent_get(s, h, now, out_had_offer);

	return last >= 0 && now - last < refresh_after(h, last) &&
	       (!offered || *out_had_offer) && retry < 0;
}

void
seen_note_retry(struct seen *s, const char *device_id, const char *hardware,
    const char *version, const char *stored_hw, const char *stored_version,
    int64_t offer_rollout_id, int offer_stage_index, int retry, int64_t now)
{
	struct seen_buf *b;
	struct seen_ent *e;
	uint64_t h;
	size_t extra;
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
	/* Stages and retries stay far below INT16_MAX (rollout.h), rollout
	 * ids below SEEN_ROLLOUT_MAX: an offer beyond is not one. */
	if (offer_rollout_id <= 0 || offer_rollout_id > SEEN_ROLLOUT_MAX ||
	    offer_stage_index < 0 || offer_stage_index > INT16_MAX ||
	    retry > INT16_MAX) {
		offer_rollout_id = 0;
		retry = -1;
	}

	/* Only a report that differs from the store changes a field; the
	 * reported version is kept even when unchanged, for the silent
	 * revert check of the flush. */
	if (strcmp(hardware, stored_hw) == 0)
		hardware = "";
	changed = hardware[0] != '\0' ||
	          (version[0] != '\0' && strcmp(version, stored_version) != 0);
	h = seen_hash(device_id);

	pthread_mutex_lock(&s->mu);
	if (retry >= 0)
		s->stats.retries++;
	b = &s->buf[s->active];
	/* A report still buffered is refreshed whatever it says (free). */
	idx = buf_find(b, (uint32_t)h, device_id);
	if (idx < 0 && !changed &&
	    recent_skips(s, h, now, offer_rollout_id > 0, retry, &had_offer)) {
		s->stats.skipped++;
		goto out;
	}
	extra = (hardware[0] != '\0' ? strlen(hardware) + 1 : 0) +
	        (version[0] != '\0' ? strlen(version) + 1 : 0);
	if (idx < 0)
		idx = buf_add(s, b, h, device_id, extra, changed);
	else if (buf_room_arena(s, b, extra) != 0) {
		/* The buffered report stands; this one is lost. */
		s->stats.dropped++;
		idx = -1;
	}
	if (idx < 0)
		goto out;
	e = &b->e[idx];
	if (hardware[0] != '\0')
		e->hw = buf_str(b, hardware, 1);
	if (version[0] != '\0')
		e->ver = buf_str(b, version, 1);
	/* News is written at the writer's next tick; a refresh alone may
	 * wait for more (denser batches, see seen_thread). */
	if (changed || retry >= 0 ||
	    (offer_rollout_id > 0 && ent_rollout(e) == 0 && !had_offer))
		b->urgent = 1;
	ent_offer(e, offer_rollout_id, offer_stage_index, retry);
	e->changed |= (unsigned char)changed;
	e->at = (uint32_t)now;
	recent_put(s, h, now, ent_rollout(e) > 0);
	recent_grow(s);
	note_wake(s, b);
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
 * The silent revert checks of the chunk's rows that carried a version
 * (store_telemetry_silent_reverts): rollouts marked reverted go to
 * touched, the entries of rows left undecided get recheck set.
 */
static int
flush_reverts(struct seen *s, struct store_conn *c, struct seen_buf *b,
    const uint32_t *idx, size_t k, int64_t *touched, size_t *ntouched)
{
	struct store_revert_check *v = s->checks;
	size_t n = 0;
	int rc;

	for (size_t j = 0; j < k; j++) {
		if (s->rows[j].version[0] == '\0')
			continue;
		v[n].device_id = s->rows[j].id;
		v[n].installed_version = s->rows[j].version;
		v[n].at = s->rows[j].seen_at;
		v[n].state = 0;
		s->check_of[n++] = j;
	}
	rc = store_telemetry_silent_reverts(
	    c, v, n, touched, TOUCHED_MAX, ntouched);
	for (size_t j = 0; rc == 0 && j < n; j++) {
		if (v[j].state == 1)
			b->e[idx[s->check_of[j]]].recheck = 1;
		/* Callers validate versions; one that slipped through must
		 * not cost the whole batch. */
		else if (v[j].state == OTA_EINVAL)
			log_warn("msg=\"silent revert check skipped: bad "
			         "version\" device=%s",
			    v[j].device_id);
	}
	return rc;
}

/* The offers the chunk's polls answered (store_telemetry_offers). */
static int
flush_offers(struct seen *s, struct store_conn *c, const struct seen_buf *b,
    const uint32_t *idx, size_t k)
{
	size_t n = 0;

	for (size_t j = 0; j < k; j++) {
		const struct seen_ent *e = &b->e[idx[j]];
		struct store_offer_seen *o = &s->offers[n];

		if (ent_rollout(e) <= 0)
			continue;
		memset(o, 0, sizeof(*o));
		o->rollout_id = ent_rollout(e);
		memcpy(o->device_id, s->rows[j].id, strlen(s->rows[j].id) + 1);
		o->stage_index = e->offer_stage;
		o->retry = e->offer_retry >= 0;
		o->retries_seen = e->offer_retry;
		memcpy(o->at, s->rows[j].seen_at, sizeof(o->at));
		n++;
	}
	return store_telemetry_offers(c, s->offers, n);
}

/*
 * Writes the k (<= CHUNK_ROWS) entries idx[0..k) of b in one transaction
 * on c: the devices rows, the silent reverts the reported versions
 * reveal, the offers.  Rollouts whose updates were marked reverted go to
 * touched[0..*ntouched); entries a completion left undecided get recheck.
 */
static int
flush_chunk(struct seen *s, struct store_conn *c, struct seen_buf *b,
    const uint32_t *idx, size_t k, int64_t *touched, size_t *ntouched)
{
	int rc;

	for (size_t j = 0; j < k; j++) {
		struct seen_ent *e = &b->e[idx[j]];

		s->rows[j].id = ent_id(b, e);
		s->rows[j].hardware = b->arena + e->hw;
		s->rows[j].version = b->arena + e->ver;
		s->rows[j].changes = e->changed;
		timeutil_format_rfc3339(e->at, s->rows[j].seen_at);
		e->recheck = 0;
	}
	if ((rc = store_begin(c)) != 0)
		return rc;
	if ((rc = store_device_record_seen(c, s->rows, k)) != 0 ||
	    (rc = flush_reverts(s, c, b, idx, k, touched, ntouched)) != 0)
		goto out;
	/* What a poll reads of a device changed only where the report
	 * differed from what the poll was answered with. */
	for (size_t j = 0; j < k; j++)
		if (b->e[idx[j]].changed &&
		    (rc = store_devices_changed(c, s->rows[j].id)) != 0)
			goto out;
	if ((rc = flush_offers(s, c, b, idx, k)) != 0)
		goto out;
	rc = store_commit(c);
out:
	if (rc != 0)
		store_rollback(c);
	return rc;
}

/* qsort_r's order of entry indexes: by device id. */
static int
order_cmp(const void *x, const void *y, void *arg)
{
	const struct seen_buf *b = arg;

	return strcmp(ent_id(b, &b->e[*(const uint32_t *)x]),
	    ent_id(b, &b->e[*(const uint32_t *)y]));
}

/*
 * Writes b: runs of SORT_RUN entries sorted by device id (a sweep of the
 * devices B-tree instead of random writes), each in chunks of CHUNK_ROWS
 * per transaction.  On a failure, the entries not committed get recheck
 * (their devices' next polls are noted again) and the rest is not tried.
 * Returns 0 or the failure; *out_written counts committed entries.
 */
static int
flush_buf(struct seen *s, struct seen_buf *b, int64_t *touched,
    size_t *ntouched, size_t *out_written)
{
	struct store_conn *c = store_acquire(s->st);
	size_t from = 0, run, k = 0;
	int rc = 0;

	*out_written = 0;
	for (; rc == 0 && from < b->n; from += run) {
		run = b->n - from < SORT_RUN ? b->n - from : SORT_RUN;
		for (size_t i = 0; i < run; i++)
			s->order[i] = (uint32_t)(from + i);
		qsort_r(s->order, run, sizeof(*s->order), order_cmp, b);
		for (size_t j = 0; rc == 0 && j < run; j += k) {
			k = run - j < CHUNK_ROWS ? run - j : CHUNK_ROWS;
			rc = flush_chunk(
			    s, c, b, s->order + j, k, touched, ntouched);
			if (rc == 0)
				*out_written += k;
		}
	}
	store_release(s->st, c);
	if (rc != 0) {
		log_err("msg=\"cannot record poll reports\" count=%zu "
		        "err=\"%s\"",
		    b->n - *out_written, ota_strerror(rc));
		/* Sorted runs make "which were committed" unknown by index:
		 * every entry is judged again, which is only extra work. */
		for (size_t i = 0; i < b->n; i++)
			b->e[i].recheck = 1;
	}
	return rc;
}

/* The clock of the flush figures, in microseconds. */
static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* After a flush of b: the counters, and the devices whose next poll must
 * be noted again forgotten by the recent cache.  Caller holds s->mu. */
static void
flush_account(struct seen *s, struct seen_buf *b, size_t written, uint64_t t0)
{
	uint64_t us = mono_us() - t0;

	s->stats.written += written;
	s->stats.flushes++;
	s->stats.flush_us += us;
	if (us > s->stats.flush_us_max)
		s->stats.flush_us_max = us;
	if (b->n > s->stats.flush_reports_max)
		s->stats.flush_reports_max = b->n;
	for (size_t i = 0; i < b->n; i++)
		if (b->e[i].recheck)
			recent_forget(s, seen_hash(ent_id(b, &b->e[i])));
}

int
seen_flush(struct seen *s)
{
	struct seen_buf *b;
	int64_t touched[TOUCHED_MAX];
	size_t ntouched = 0, written = 0;
	uint64_t dropped, t0 = mono_us();
	int rc = 0;

	pthread_mutex_lock(&s->flush_mu);
	pthread_mutex_lock(&s->mu);
	b = &s->buf[s->active];
	s->active ^= 1;
	s->writing = b->n;
	dropped = s->stats.dropped;
	pthread_mutex_unlock(&s->mu);

	if (dropped > s->dropped_logged) {
		log_warn("msg=\"poll reports dropped: buffer full\" "
		         "dropped=%llu total=%llu max_bytes=%zu",
		    (unsigned long long)(dropped - s->dropped_logged),
		    (unsigned long long)dropped, s->max_bytes);
		s->dropped_logged = dropped;
	}
	if (b->n > 0)
		rc = flush_buf(s, b, touched, &ntouched, &written);
	pthread_mutex_lock(&s->mu);
	if (b->n > 0)
		flush_account(s, b, written, t0);
	buf_clear(s, b);
	s->writing = 0;
	pthread_mutex_unlock(&s->mu);
	/* After the commit: the automatic pause of reverted rollouts. */
	if (ntouched > 0 && s->touched_fn != NULL)
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

/*
 * Whether the active buffer is written at this tick: news (a change, a
 * new offer) waits at most one interval; reports that only refresh last
 * seen wait up to LAZY_MS for more, because a batch costs about a page
 * write per distinct page it touches, not per report: in a fleet that
 * refreshes thousands of devices a second, one batch of several seconds
 * shares pages that batches of one second would each write again.
 * Caller holds s->mu.
 */
static int
flush_due(const struct seen *s)
{
	const struct seen_buf *b = &s->buf[s->active];

	return s->stop || s->wake ||
	       (b->n > 0 &&
	           (b->urgent || timeutil_mono_ms() - b->born_ms >= LAZY_MS));
}

/*
 * Lowers the calling thread's priority by SEEN_NICE (Linux: a thread has
 * its own nice value): on a busy machine a flush, a second or more of
 * CPU at 1M devices, then takes less of it from the threads answering
 * polls, and still gets a share of each core (a nice 5 thread weighs a
 * third of a nice 0 one): at 1M devices and 60,000 polls/s on 2 cores it
 * kept up (no report dropped), where nice 19 starved it (the reports of
 * up to 45 % of polls dropped).  Measured, the p99 of polls moved within
 * its spread either way (bench/README.md).  A failure is logged and
 * changes nothing else.
 */
static void
writer_priority_lower(void)
{
	id_t tid = (id_t)gettid();
	int was;

	errno = 0;
	was = getpriority(PRIO_PROCESS, tid);
	if ((was == -1 && errno != 0) ||
	    setpriority(PRIO_PROCESS, tid,
	        was + SEEN_NICE < 19 ? was + SEEN_NICE : 19) != 0)
		log_warn("msg=\"seen: cannot lower the writer's priority\" "
		         "error=\"%s\"",
		    strerror(errno));
}

static void *
seen_thread(void *arg)
{
	struct seen *s = arg;
	struct timespec deadline;
	int stop, due;

	writer_priority_lower();
	for (;;) {
		deadline =
		    timeutil_mono_timespec(timeutil_mono_ms() + s->interval_ms);
		pthread_mutex_lock(&s->mu);
		while (!s->stop && !s->wake &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &deadline) !=
		           ETIMEDOUT)
			;
		stop = s->stop;
		due = flush_due(s);
		s->wake = 0;
		pthread_mutex_unlock(&s->mu);
		seen_sweep(s, (int64_t)time(NULL));
		if (due)
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
	free(s->order);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->flush_mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct seen *
seen_start(
    struct store *st, size_t max_bytes, size_t devices, int flush_interval_ms)
{
	struct seen *s;

	if (max_bytes < SEEN_BYTES_MIN || max_bytes > SEEN_BYTES_MAX ||
	    flush_interval_ms < 0) {
		log_err("msg=\"seen: bad buffer size or interval\" "
		        "max_bytes=%zu",
		    max_bytes);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->st = st;
	s->max_bytes = max_bytes;
	s->interval_ms = flush_interval_ms;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->flush_mu, NULL);
	timeutil_mono_cond_init(&s->cv);
	s->recent_slots = RECENT_SLOTS_MIN;
	s->recent_max = recent_slots_for(devices);
	s->recent_tag = calloc(s->recent_slots, sizeof(*s->recent_tag));
	s->recent_at = calloc(s->recent_slots, sizeof(*s->recent_at));
	s->order = calloc(SORT_RUN, sizeof(*s->order));
	if (s->recent_tag == NULL || s->recent_at == NULL || s->order == NULL ||
	    buf_init(&s->buf[0]) != 0 || buf_init(&s->buf[1]) != 0) {
		log_err("msg=\"seen: out of memory\"");
		seen_free(s);
		return NULL;
	}
	s->bytes = s->buf[0].bytes + s->buf[1].bytes;
	s->stats.bytes_peak = s->bytes;
	if (flush_interval_ms > 0) {
		if (pthread_create(&s->thread, NULL, seen_thread, s) != 0) {
			log_err("msg=\"seen: cannot start writer thread\"");
			seen_free(s);
			return NULL;
		}
		s->have_thread = 1;
		/* Its CPU time apart in top and /proc (bench/reports.sh). */
		(void)pthread_setname_np(s->thread, "otad-seen");
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
	out->pending = s->buf[s->active].n + s->writing;
	out->bytes = s->bytes;
	out->recent_slots = s->recent_slots;
	pthread_mutex_unlock(&s->mu);
}
