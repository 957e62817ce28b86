/*
 * devcache: one fixed-size record per device (48 bytes: its id packed 7
 * bits a character, its poll facts as ids into two interning tables, its
 * first credential as a keyed digest) in chunks allocated as devices come,
 * and two open-addressing indexes of 32-bit slots (by device id, by token
 * id), all under one reader-writer lock (lookups share it; inserts and
 * invalidations take it alone).  CLOCK evicts whole records.  A device's
 * further credentials (rotation leaves the old token, revoked) live in a
 * small bounded overflow.  The generation is the fill rule: a reader takes
 * it before reading the database and inserts only while it has not moved;
 * an invalidation moves it, under the lock, before removing records.
 */
#include "devcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "errors.h"
#include "intern.h"
#include "log.h"
#include "store_telemetry.h"
#include "update_state.h"

#define DC_ID_SHORT 22     /* packed bytes in a record: 25 characters */
#define DC_ID_LONG 112     /* packed bytes of a spilled id: 128 */
#define DC_DIGEST 12       /* of the keyed digest of a token id and hash */
#define DC_TOKEN_ID_MAX 64 /* longer token ids are not cached */
#define DC_CHUNK 4096      /* elements allocated at a time */
#define DC_OVF_MAX 4096    /* credentials past a device's first */
#define DC_PREFETCH 16     /* records asked for ahead while rehashing */
/* In the token index, refs from DC_OVF_BASE name overflow entries. */
#define DC_OVF_BASE DEVCACHE_ENTRIES_MAX
#define DC_REF_MASK 0xffffffu /* a slot: 8 bits of hash, ref + 1 */
#define DC_STRS_BYTES (4u << 20)
#define DC_SETS_BYTES (16u << 20)

enum {
	DC_LIVE = 1,
	DC_CRED = 2,    /* the record holds a credential */
	DC_REVOKED = 4, /* that credential (or an overflow entry's) */
	DC_FACTS = 8,
	DC_LONG = 16, /* id is spilled: its first 4 bytes name a long slot */
	DC_OVF = 32,  /* the device has overflow credentials */
};

/*
 * The digest is a keyed BLAKE2b of the token id and its hash, under a key
 * drawn at start: a lookup recomputes it from the presented token, so
 * that a match proves the secret (a 96-bit forgery, online) and the hash
 * itself is never kept.  tokh places the credential in the token index.
 */
struct dc_rec {
	unsigned char digest[DC_DIGEST];
	uint32_t tokh;
	unsigned char id[DC_ID_SHORT];
	uint16_t hw, rhw, ver, groups; /* interned (DC_FACTS) */
	unsigned char flags;
	atomic_uchar ref; /* used since the hand last passed */
};
_Static_assert(sizeof(struct dc_rec) == 48, "a device record is 48 bytes");

/*
 * An interned set: this head (unaligned in the set's bytes), then the
 * device's update marks (its failed, timed-out and declined updates: the
 * retries and the consent),
 * then the group ids.  Devices of the same groups whose labels match the
 * same selectors and that have no mark share one set.
 */
struct dc_set_head {
	uint64_t stamp; /* devcache_match's stamp the bits were computed for */
	uint32_t bits;
	uint32_t nmarks; /* struct store_update_mark after the head */
};

struct dc_ovf {
	unsigned char digest[DC_DIGEST];
	uint32_t tokh;
	uint32_t rec;
	unsigned char flags; /* DC_LIVE, DC_REVOKED */
};

/* Elements of one size in chunks allocated on first use; a free one
 * holds the next free (index + 1) in its first 4 bytes. */
struct dc_slab {
	unsigned char **chunk;
	size_t elem, nchunk, max;
	uint32_t per_chunk, shift, top, free_head, live;
};

/* Linear probing over n slots (grown up to max): a slot is 0 (empty) or
 * the 8 low bits of its key's hash above its ref + 1. */
struct dc_index {
	uint32_t *slot;
	uint32_t n, max, count;
};

enum dc_which { DC_BY_ID, DC_BY_TOK };

struct devcache {
	pthread_rwlock_t lock;
	atomic_uint_fast64_t gen; /* moved under the write lock */
	atomic_int serving;
	size_t cap; /* devices */
	struct dc_slab recs, longs, ovf;
	struct dc_index by_id, by_tok;
	struct intern *strs; /* hardware, reported hardware, versions */
	struct intern *sets; /* dc_set_head and group ids */
	uint32_t hand;
	size_t ncred, nfacts;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	unsigned char dkey[crypto_generichash_KEYBYTES];
	atomic_uint_fast64_t hits, misses, evictions;
	struct devcache_listener listener[DEVCACHE_LISTENERS]; /* fn NULL:
	                                                          none */
};

/* ---- slabs ---- */

static int
slab_init(struct dc_slab *s, size_t elem, size_t max)
{
	s->elem = elem;
	s->max = max;
	s->per_chunk = 1;
	s->shift = 0;
	while (s->per_chunk < DC_CHUNK && s->per_chunk < max) {
		s->per_chunk *= 2;
		s->shift++;
	}
	s->nchunk = (max + s->per_chunk - 1) / s->per_chunk;
	s->chunk = calloc(s->nchunk, sizeof(*s->chunk));
	return s->chunk != NULL ? 0 : OTA_ENOMEM;
}

static void *
slab_at(const struct dc_slab *s, uint32_t i)
{
	return s->chunk[i >> s->shift] +
	       (size_t)(i & (s->per_chunk - 1)) * s->elem;
}

/* A free element's index into *out: 0, OTA_ETOOBIG when max are live,
 * OTA_ENOMEM. */
static int
slab_alloc(struct dc_slab *s, uint32_t *out)
{
	unsigned char **c;

	if (s->live >= s->max)
		return OTA_ETOOBIG;
	if (s->free_head != 0) {
		*out = s->free_head - 1;
		memcpy(&s->free_head, slab_at(s, *out), sizeof(uint32_t));
		memset(slab_at(s, *out), 0, sizeof(uint32_t));
	} else {
		c = &s->chunk[s->top >> s->shift];
		if (*c == NULL && (*c = calloc(s->per_chunk, s->elem)) == NULL)
			return OTA_ENOMEM;
		*out = s->top++;
	}
	s->live++;
	return 0;
}

/* Frees element i, already wiped. */
static void
slab_free(struct dc_slab *s, uint32_t i)
{
	memcpy(slab_at(s, i), &s->free_head, sizeof(uint32_t));
	s->free_head = i + 1;
	s->live--;
}

/* Wipes every element; keeps the chunks. */
static void
slab_clear(struct dc_slab *s)
{
	for (size_t i = 0; i < s->nchunk; i++)
		if (s->chunk[i] != NULL)
			sodium_memzero(s->chunk[i], s->per_chunk * s->elem);
	s->top = s->free_head = s->live = 0;
}

static void
slab_destroy(struct dc_slab *s)
{
	if (s->chunk == NULL)
		return;
	slab_clear(s);
	for (size_t i = 0; i < s->nchunk; i++)
		free(s->chunk[i]);
	free(s->chunk);
}

static size_t
slab_bytes(const struct dc_slab *s)
{
	size_t n = s->nchunk * sizeof(*s->chunk);

	for (size_t i = 0; i < s->nchunk; i++)
		if (s->chunk[i] != NULL)
			n += s->per_chunk * s->elem;
	return n;
}

/* ---- keys ---- */

/* 32 bits of SipHash under the cache's key. */
static uint32_t
dc_hash(const struct devcache *dc, const void *p, size_t n)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(out, p, n, dc->hkey);
	memcpy(&v, out, sizeof(v));
	return (uint32_t)(v ^ (v >> 32));
}

/* The digest of a token id and the hash of its secret. */
static void
dc_digest(const struct devcache *dc, const char *token_id,
    const unsigned char hash[CRYPTO_HASH_LEN], unsigned char out[DC_DIGEST])
{
	crypto_generichash_state st;
	unsigned char full[crypto_generichash_BYTES_MIN];

	crypto_generichash_init(&st, dc->dkey, sizeof(dc->dkey), sizeof(full));
	crypto_generichash_update(
	    &st, (const unsigned char *)token_id, strlen(token_id) + 1);
	crypto_generichash_update(&st, hash, CRYPTO_HASH_LEN);
	crypto_generichash_final(&st, full, sizeof(full));
	memcpy(out, full, DC_DIGEST);
	sodium_memzero(full, sizeof(full));
}

/*
 * Packs id (len characters of 1..127) 7 bits apiece into out, zero-filled
 * to its size: DC_ID_SHORT bytes when it fits there, else DC_ID_LONG.
 * Returns that size, or 0 when id cannot be cached.  Equal ids, equal
 * bytes.
 */
static size_t
id_pack(const char *id, size_t len, unsigned char out[DC_ID_LONG])
{
	size_t size = len * 7 <= DC_ID_SHORT * 8 ? DC_ID_SHORT : DC_ID_LONG;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (len == 0 || len * 7 > DC_ID_LONG * 8)
		return 0;
	memset(out, 0, size);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c == 0 || c > 127)
			return 0;
		acc = (acc << 7) | c;
		bits += 7;
		while (bits >= 8) {
			out[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o] = (unsigned char)(acc << (8 - bits));
	return size;
}

/* The id packed in p (size bytes) into out (size * 8 / 7 + 1 bytes). */
static void
id_unpack(const unsigned char *p, size_t size, char *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < size; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 7) {
			char c = (char)((acc >> (bits - 7)) & 0x7f);

			bits -= 7;
			if (c == 0)
				goto out;
			out[n++] = c;
		}
		acc &= (1u << bits) - 1;
	}
out:
	out[n] = '\0';
}

/* ---- records and indexes ---- */

static struct dc_rec *
rec_at(const struct devcache *dc, uint32_t r)
{
	return slab_at(&dc->recs, r);
}

static struct dc_ovf *
ovf_at(const struct devcache *dc, uint32_t k)
{
	return slab_at(&dc->ovf, k);
}

/* The packed id of rec and its size. */
static const unsigned char *
rec_id(const struct devcache *dc, const struct dc_rec *rec, size_t *out_size)
{
	uint32_t l;

	if (!(rec->flags & DC_LONG)) {
		*out_size = DC_ID_SHORT;
		return rec->id;
	}
	memcpy(&l, rec->id, sizeof(l));
	*out_size = DC_ID_LONG;
	return slab_at(&dc->longs, l);
}

/* The hash of the key of ref in index which. */
static uint32_t
ref_hash(const struct devcache *dc, enum dc_which which, uint32_t ref)
{
	const unsigned char *id;
	size_t size;

	if (which == DC_BY_TOK)
		return ref >= DC_OVF_BASE ? ovf_at(dc, ref - DC_OVF_BASE)->tokh
		                          : rec_at(dc, ref)->tokh;
	id = rec_id(dc, rec_at(dc, ref), &size);
	return dc_hash(dc, id, size);
}

/* Starts loading the record (or overflow entry) of ref. */
static void
ref_prefetch(const struct devcache *dc, uint32_t ref)
{
	if (ref >= DC_OVF_BASE)
		__builtin_prefetch(ovf_at(dc, ref - DC_OVF_BASE));
	else
		__builtin_prefetch(rec_at(dc, ref));
}

/* Where the probe for h starts in x: h scaled to n. */
static uint32_t
index_pos(const struct dc_index *x, uint32_t h)
{
	return (uint32_t)(((uint64_t)h * x->n) >> 32);
}

static uint32_t
index_next(const struct dc_index *x, uint32_t i)
{
	return i + 1 == x->n ? 0 : i + 1;
}

static int
index_init(struct dc_index *x, uint32_t max)
{
	x->max = max;
	x->n = max < 1024 ? max : 1024;
	x->count = 0;
	x->slot = calloc(x->n, sizeof(*x->slot));
	return x->slot != NULL ? 0 : OTA_ENOMEM;
}

/* Puts slot value v (of hash h) in x's first empty slot from h's. */
static void
index_place(struct dc_index *x, uint32_t h, uint32_t v)
{
	uint32_t i = index_pos(x, h);

	while (x->slot[i] != 0)
		i = index_next(x, i);
	x->slot[i] = v;
}

/* Doubles x (up to max) and places every key again. */
static int
index_grow(struct devcache *dc, struct dc_index *x, enum dc_which which)
{
	struct dc_index old = *x;
	uint32_t n = x->n * 2 < x->max ? x->n * 2 : x->max;

	if ((x->slot = calloc(n, sizeof(*x->slot))) == NULL) {
		x->slot = old.slot;
		return OTA_ENOMEM;
	}
	x->n = n;
	for (uint32_t i = 0; i < old.n; i++) {
		uint32_t ahead =
		    i + DC_PREFETCH < old.n ? old.slot[i + DC_PREFETCH] : 0;

		/* Each key is read from its record: ask for the record
		 * some slots ahead, so that the misses overlap (this runs
		 * under the write lock, and the polls wait). */
		if (ahead != 0)
			ref_prefetch(dc, (ahead & DC_REF_MASK) - 1);
		if (old.slot[i] != 0)
			index_place(x,
			    ref_hash(
			        dc, which, (old.slot[i] & DC_REF_MASK) - 1),
			    old.slot[i]);
	}
	free(old.slot);
	return 0;
}

/* Adds ref under hash h.  0 or OTA_ENOMEM. */
static int
index_add(struct devcache *dc, struct dc_index *x, enum dc_which which,
    uint32_t ref, uint32_t h)
{
	/* At most 4 in 5 slots used: probes stay short. */
	if ((uint64_t)(x->count + 1) * 5 > (uint64_t)x->n * 4 && x->n < x->max)
		(void)index_grow(dc, x, which);
	if (x->count + 1 >= x->n)
		return OTA_ENOMEM;
	index_place(x, h, (h & 0xff) << 24 | (ref + 1));
	x->count++;
	return 0;
}

/* Removes ref (hash h) from x, moving back the keys after it that
 * probed past its slot (no tombstones). */
static void
index_remove(struct devcache *dc, struct dc_index *x, enum dc_which which,
    uint32_t ref, uint32_t h)
{
	uint32_t i = index_pos(x, h), j, k;

	while (x->slot[i] != 0 && (x->slot[i] & DC_REF_MASK) != ref + 1)
		i = index_next(x, i);
	if (x->slot[i] == 0)
		return;
	for (j = index_next(x, i); x->slot[j] != 0; j = index_next(x, j)) {
		k = index_pos(
		    x, ref_hash(dc, which, (x->slot[j] & DC_REF_MASK) - 1));
		/* Stays when its home is cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		x->slot[i] = x->slot[j];
		i = j;
	}
	x->slot[i] = 0;
	x->count--;
}

/* The record of the packed id (size bytes, hash h): its index + 1, or 0.
 * A lock held. */
static uint32_t
rec_find(
    const struct devcache *dc, const unsigned char *id, size_t size, uint32_t h)
{
	const struct dc_index *x = &dc->by_id;
	uint32_t i = index_pos(x, h), v;

	for (; (v = x->slot[i]) != 0; i = index_next(x, i)) {
		const unsigned char *rid;
		size_t rsize;

		if (v >> 24 != (h & 0xff))
			continue;
		rid = rec_id(dc, rec_at(dc, (v & DC_REF_MASK) - 1), &rsize);
		if (rsize == size && memcmp(rid, id, size) == 0)
			return v & DC_REF_MASK;
	}
	return 0;
}

/* The credential of the digest (token hash tokh): ref + 1 in the token
 * index, or 0.  A lock held. */
static uint32_t
tok_find(const struct devcache *dc, uint32_t tokh,
    const unsigned char digest[DC_DIGEST])
{
	const struct dc_index *x = &dc->by_tok;
	uint32_t i = index_pos(x, tokh), v, ref;

	for (; (v = x->slot[i]) != 0; i = index_next(x, i)) {
		const unsigned char *d;

		if (v >> 24 != (tokh & 0xff))
			continue;
		ref = (v & DC_REF_MASK) - 1;
		d = ref >= DC_OVF_BASE ? ovf_at(dc, ref - DC_OVF_BASE)->digest
		                       : rec_at(dc, ref)->digest;
		if (sodium_memcmp(d, digest, DC_DIGEST) == 0)
			return ref + 1;
	}
	return 0;
}

/* Forgets the overflow credentials of record r.  Write lock held. */
static void
ovf_forget(struct devcache *dc, uint32_t r)
{
	for (uint32_t k = 0; k < dc->ovf.top; k++) {
		struct dc_ovf *o = ovf_at(dc, k);

		if (!(o->flags & DC_LIVE) || o->rec != r)
			continue;
		index_remove(
		    dc, &dc->by_tok, DC_BY_TOK, DC_OVF_BASE + k, o->tokh);
		sodium_memzero(o, sizeof(*o));
		slab_free(&dc->ovf, k);
		dc->ncred--;
	}
}

/* Drops the interned facts of rec. */
static void
facts_unref(struct devcache *dc, struct dc_rec *rec)
{
	intern_unref(dc->strs, rec->hw);
	intern_unref(dc->strs, rec->rhw);
	intern_unref(dc->strs, rec->ver);
	intern_unref(dc->sets, rec->groups);
	rec->flags &= (unsigned char)~DC_FACTS;
	dc->nfacts--;
}

/* Removes record r with its credentials and facts.  Write lock held. */
static void
rec_remove(struct devcache *dc, uint32_t r)
{
	struct dc_rec *rec = rec_at(dc, r);
	const unsigned char *id;
	size_t size;
	uint32_t l;

	id = rec_id(dc, rec, &size);
	index_remove(dc, &dc->by_id, DC_BY_ID, r, dc_hash(dc, id, size));
	if (rec->flags & DC_CRED) {
		index_remove(dc, &dc->by_tok, DC_BY_TOK, r, rec->tokh);
		dc->ncred--;
	}
	if (rec->flags & DC_OVF)
		ovf_forget(dc, r);
	if (rec->flags & DC_FACTS)
		facts_unref(dc, rec);
	if (rec->flags & DC_LONG) {
		memcpy(&l, rec->id, sizeof(l));
		sodium_memzero(slab_at(&dc->longs, l), DC_ID_LONG);
		slab_free(&dc->longs, l);
	}
	sodium_memzero(rec, sizeof(*rec));
	slab_free(&dc->recs, r);
}

/* Makes room for one record: CLOCK, a second chance for each record used
 * since the hand last passed it.  Write lock held. */
static void
rec_evict(struct devcache *dc)
{
	while (dc->recs.live >= dc->cap) {
		struct dc_rec *rec;

		if (dc->hand >= dc->recs.top)
			dc->hand = 0;
		rec = rec_at(dc, dc->hand);
		if ((rec->flags & DC_LIVE) && !atomic_exchange(&rec->ref, 0)) {
			rec_remove(dc, dc->hand);
			atomic_fetch_add(&dc->evictions, 1);
		}
		dc->hand++;
	}
}

/* A new record of the packed id (size bytes, hash h), with nothing yet:
 * its index into *out.  0, OTA_ETOOBIG (no room for a long id),
 * OTA_ENOMEM.  Write lock held. */
static int
rec_new(struct devcache *dc, const unsigned char *id, size_t size, uint32_t h,
    uint32_t *out)
{
	struct dc_rec *rec;
	uint32_t l = 0;
	int rc;

	rec_evict(dc);
	if (size == DC_ID_LONG) {
		if ((rc = slab_alloc(&dc->longs, &l)) != 0)
			return rc;
		memcpy(slab_at(&dc->longs, l), id, DC_ID_LONG);
	}
	if ((rc = slab_alloc(&dc->recs, out)) != 0)
		goto fail;
	rec = rec_at(dc, *out);
	memset(rec, 0, sizeof(*rec));
	rec->flags = DC_LIVE;
	if (size == DC_ID_LONG) {
		rec->flags |= DC_LONG;
		memcpy(rec->id, &l, sizeof(l));
	} else
		memcpy(rec->id, id, DC_ID_SHORT);
	if ((rc = index_add(dc, &dc->by_id, DC_BY_ID, *out, h)) == 0)
		return 0;
	memset(rec, 0, sizeof(*rec));
	slab_free(&dc->recs, *out);
fail:
	if (size == DC_ID_LONG) {
		sodium_memzero(slab_at(&dc->longs, l), DC_ID_LONG);
		slab_free(&dc->longs, l);
	}
	return rc;
}

/* Forgets everything.  Write lock held. */
static void
dc_clear(struct devcache *dc)
{
	slab_clear(&dc->recs);
	slab_clear(&dc->longs);
	slab_clear(&dc->ovf);
	memset(dc->by_id.slot, 0, dc->by_id.n * sizeof(uint32_t));
	memset(dc->by_tok.slot, 0, dc->by_tok.n * sizeof(uint32_t));
	dc->by_id.count = dc->by_tok.count = 0;
	intern_clear(dc->strs);
	intern_clear(dc->sets);
	dc->ncred = dc->nfacts = 0;
	dc->hand = 0;
}

/* ---- the cache ---- */

/* Allocates dc's tables for cap devices.  0 or OTA_ENOMEM. */
static int
dc_alloc(struct devcache *dc, size_t cap)
{
	size_t ovf = cap < DC_OVF_MAX ? cap : DC_OVF_MAX;

	dc->cap = cap;
	if (slab_init(&dc->recs, sizeof(struct dc_rec), cap) != 0 ||
	    slab_init(&dc->longs, DC_ID_LONG, cap / 4 + 16) != 0 ||
	    slab_init(&dc->ovf, sizeof(struct dc_ovf), ovf) != 0 ||
	    index_init(&dc->by_id, (uint32_t)(cap + cap / 4 + 2)) != 0 ||
	    index_init(&dc->by_tok,
	        (uint32_t)(cap + ovf + (cap + ovf) / 4 + 2)) != 0 ||
	    (dc->strs = intern_new(INTERN_ENTRIES_MAX, DC_STRS_BYTES)) ==
	        NULL ||
	    (dc->sets = intern_new(INTERN_ENTRIES_MAX, DC_SETS_BYTES)) == NULL)
		return OTA_ENOMEM;
	return 0;
}

struct devcache *
devcache_new(size_t max_entries, int serving)
{
	struct devcache *dc;
	pthread_rwlockattr_t attr;

	if (max_entries == 0)
		return NULL;
	if (max_entries > DEVCACHE_ENTRIES_MAX)
		max_entries = DEVCACHE_ENTRIES_MAX;
	if (sodium_init() < 0 || (dc = calloc(1, sizeof(*dc))) == NULL)
		goto nomem;
	if (dc_alloc(dc, max_entries) != 0) {
		devcache_free(dc);
		goto nomem;
	}
	randombytes_buf(dc->hkey, sizeof(dc->hkey));
	randombytes_buf(dc->dkey, sizeof(dc->dkey));
	/* Inserts and invalidations must not starve behind a steady
	 * stream of lookups. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(
	    &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dc->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	atomic_init(&dc->gen, 1);
	atomic_init(&dc->serving, serving ? 1 : 0);
	return dc;
nomem:
	log_err("msg=\"cannot create the device cache\" err=\"out of "
	        "memory\" entries=%zu",
	    max_entries);
	return NULL;
}

void
devcache_free(struct devcache *dc)
{
	if (dc == NULL)
		return;
	if (dc->strs != NULL && dc->sets != NULL)
		pthread_rwlock_destroy(&dc->lock);
	slab_destroy(&dc->recs);
	slab_destroy(&dc->longs);
	slab_destroy(&dc->ovf);
	free(dc->by_id.slot);
	free(dc->by_tok.slot);
	intern_free(dc->strs);
	intern_free(dc->sets);
	sodium_memzero(dc->dkey, sizeof(dc->dkey));
	free(dc);
}

uint64_t
devcache_generation(struct devcache *dc)
{
	return dc == NULL ? 0 : atomic_load(&dc->gen);
}

/* Counts a lookup's result and returns rc. */
static int
dc_count(struct devcache *dc, int rc)
{
	atomic_fetch_add_explicit(
	    rc == 0 ? &dc->hits : &dc->misses, 1, memory_order_relaxed);
	return rc;
}

/* Marks rec used, writing only when the bit is clear (no line
 * bouncing). */
static void
rec_touch(struct dc_rec *rec)
{
	if (!atomic_load_explicit(&rec->ref, memory_order_relaxed))
		atomic_store_explicit(&rec->ref, 1, memory_order_relaxed);
}

int
devcache_cred_lookup(struct devcache *dc, const char *token_id,
    const unsigned char hash[CRYPTO_HASH_LEN], struct store_credential *out)
{
	unsigned char digest[DC_DIGEST];
	const unsigned char *id;
	size_t size, tlen = strlen(token_id);
	uint32_t tokh, ref;
	struct dc_rec *rec;
	int rc = OTA_ENOTFOUND, revoked;

	if (!atomic_load(&dc->serving) || tlen > DC_TOKEN_ID_MAX)
		return dc_count(dc, rc);
	tokh = dc_hash(dc, token_id, tlen);
	dc_digest(dc, token_id, hash, digest);
	pthread_rwlock_rdlock(&dc->lock);
	if ((ref = tok_find(dc, tokh, digest)) != 0) {
		ref--;
		if (ref >= DC_OVF_BASE) {
			struct dc_ovf *o = ovf_at(dc, ref - DC_OVF_BASE);

			revoked = o->flags & DC_REVOKED;
			rec = rec_at(dc, o->rec);
		} else {
			rec = rec_at(dc, ref);
			revoked = rec->flags & DC_REVOKED;
		}
		memset(out, 0, sizeof(*out));
		out->kind = STORE_CRED_DEVICE;
		id = rec_id(dc, rec, &size);
		id_unpack(id, size, out->subject);
		snprintf(out->role, sizeof(out->role), "device");
		/* The digest matched: the presented hash is the stored one. */
		memcpy(out->hash, hash, CRYPTO_HASH_LEN);
		out->revoked = revoked ? 1 : 0;
		rec_touch(rec);
		rc = 0;
	}
	pthread_rwlock_unlock(&dc->lock);
	return dc_count(dc, rc);
}

/* Takes the write lock when dc serves and gen is still current: 1 (the
 * caller inserts and unlocks), else 0 with nothing held. */
static int
insert_begin(struct devcache *dc, uint64_t gen)
{
	if (!atomic_load(&dc->serving) || atomic_load(&dc->gen) != gen)
		return 0;
	pthread_rwlock_wrlock(&dc->lock);
	if (atomic_load(&dc->serving) && atomic_load(&dc->gen) == gen)
		return 1;
	pthread_rwlock_unlock(&dc->lock);
	return 0;
}

/* The record of the packed id: found, else new.  Its index into *out;
 * 0 or as rec_new.  Write lock held. */
static int
rec_get(struct devcache *dc, const unsigned char *id, size_t size, uint32_t h,
    uint32_t *out)
{
	uint32_t r = rec_find(dc, id, size, h);

	if (r != 0) {
		*out = r - 1;
		return 0;
	}
	return rec_new(dc, id, size, h, out);
}

/* Gives record r a credential (its first, or one more in the overflow
 * while there is room).  Write lock held. */
static void
cred_attach(struct devcache *dc, uint32_t r, uint32_t tokh,
    const unsigned char digest[DC_DIGEST], int revoked)
{
	struct dc_rec *rec = rec_at(dc, r);
	unsigned char rv = revoked ? DC_REVOKED : 0;
	struct dc_ovf *o;
	uint32_t k;

	if (!(rec->flags & DC_CRED)) {
		if (index_add(dc, &dc->by_tok, DC_BY_TOK, r, tokh) != 0)
			return;
		memcpy(rec->digest, digest, DC_DIGEST);
		rec->tokh = tokh;
		rec->flags |= DC_CRED | rv;
	} else {
		if (slab_alloc(&dc->ovf, &k) != 0)
			return;
		o = ovf_at(dc, k);
		memcpy(o->digest, digest, DC_DIGEST);
		o->tokh = tokh;
		o->rec = r;
		o->flags = DC_LIVE | rv;
		if (index_add(dc, &dc->by_tok, DC_BY_TOK, DC_OVF_BASE + k,
		        tokh) != 0) {
			sodium_memzero(o, sizeof(*o));
			slab_free(&dc->ovf, k);
			return;
		}
		rec->flags |= DC_OVF;
	}
	dc->ncred++;
}

/* Sets the revoked flag of the credential ref (in the token index). */
static void
cred_set_revoked(struct devcache *dc, uint32_t ref, int revoked)
{
	unsigned char *flags = ref >= DC_OVF_BASE
	                           ? &ovf_at(dc, ref - DC_OVF_BASE)->flags
	                           : &rec_at(dc, ref)->flags;

	*flags = (unsigned char)(revoked ? *flags | DC_REVOKED
	                                 : *flags & ~DC_REVOKED);
}

void
devcache_cred_insert(struct devcache *dc, uint64_t gen, const char *token_id,
    const struct store_credential *cred)
{
	unsigned char id[DC_ID_LONG], digest[DC_DIGEST];
	size_t size, tlen = strlen(token_id);
	uint32_t tokh, h, ref;

	if (cred->kind != STORE_CRED_DEVICE || tlen > DC_TOKEN_ID_MAX ||
	    (size = id_pack(cred->subject, strlen(cred->subject), id)) == 0)
		return;
	tokh = dc_hash(dc, token_id, tlen);
	h = dc_hash(dc, id, size);
	dc_digest(dc, token_id, cred->hash, digest);
	if (!insert_begin(dc, gen))
		goto out;
	if ((ref = tok_find(dc, tokh, digest)) != 0)
		cred_set_revoked(dc, ref - 1, cred->revoked);
	else if (rec_get(dc, id, size, h, &ref) == 0)
		cred_attach(dc, ref, tokh, digest, cred->revoked);
	pthread_rwlock_unlock(&dc->lock);
out:
	sodium_memzero(digest, sizeof(digest));
}

/* Copies interned string id into dst of cap bytes (it fits: checked at
 * insert). */
static void
str_copy(const struct devcache *dc, uint16_t id, char *dst, size_t cap)
{
	size_t n;
	const char *s = intern_get(dc->strs, id, &n);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* The facts of a record (f's pointers into out_* and the interned set):
 * 0, or OTA_ENOTFOUND when its stamp is not want_stamp.  A lock held. */
static int
facts_read(struct devcache *dc, const struct dc_rec *rec, uint64_t want_stamp,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count, uint32_t *out_bits,
    struct devcache_marks *out_marks)
{
	struct dc_set_head head;
	const unsigned char *set;
	size_t n, mbytes;

	set = intern_get(dc->sets, rec->groups, &n);
	memcpy(&head, set, sizeof(head));
	if (head.stamp != want_stamp)
		return OTA_ENOTFOUND;
	str_copy(dc, rec->hw, out_hardware, STORE_HARDWARE_MAX + 1);
	str_copy(dc, rec->rhw, out_reported_hardware, STORE_HARDWARE_MAX + 1);
	str_copy(dc, rec->ver, out_version, STORE_VERSION_MAX + 1);
	mbytes = head.nmarks * sizeof(struct store_update_mark);
	if (out_marks != NULL) {
		out_marks->n = head.nmarks;
		memcpy(out_marks->m, set + sizeof(head), mbytes);
	}
	n = (n - sizeof(head) - mbytes) / sizeof(int64_t);
	*out_group_count = n < max_groups ? n : max_groups;
	memcpy(out_group_ids, set + sizeof(head) + mbytes,
	    *out_group_count * sizeof(int64_t));
	if (out_bits != NULL)
		*out_bits = head.bits;
	return 0;
}

/* devcache_facts_lookup of the entry stamped want_stamp. */
static int
facts_lookup(struct devcache *dc, const char *id, uint64_t want_stamp,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count, uint32_t *out_bits,
    struct devcache_marks *out_marks)
{
	unsigned char packed[DC_ID_LONG];
	struct dc_rec *rec;
	size_t size;
	uint32_t h, r;
	int rc = OTA_ENOTFOUND;

	if (!atomic_load(&dc->serving) ||
	    (size = id_pack(id, strlen(id), packed)) == 0)
		return dc_count(dc, rc);
	h = dc_hash(dc, packed, size);
	pthread_rwlock_rdlock(&dc->lock);
	r = rec_find(dc, packed, size, h);
	if (r != 0 && ((rec = rec_at(dc, r - 1))->flags & DC_FACTS)) {
		rc = facts_read(dc, rec, want_stamp, out_hardware,
		    out_reported_hardware, out_version, out_group_ids,
		    max_groups, out_group_count, out_bits, out_marks);
		if (rc == 0)
			rec_touch(rec);
	}
	pthread_rwlock_unlock(&dc->lock);
	return dc_count(dc, rc);
}

int
devcache_facts_lookup(struct devcache *dc, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count)
{
	return facts_lookup(dc, id, 0, out_hardware, out_reported_hardware,
	    out_version, out_group_ids, max_groups, out_group_count, NULL,
	    NULL);
}

/* Interns s into *out. */
static int
str_put(struct devcache *dc, const char *s, uint16_t *out)
{
	size_t n = strlen(s);

	return intern_put(dc->strs, s, n, dc_hash(dc, s, n), out);
}

/* Writes marks[0..n) at dst as a set keeps them: an unfinished update's
 * mark reduced to its rollout and whether it has the device's consent
 * (offered or accepted; no time, no retries), so that the devices of the
 * same groups on the same rollout share one set: only a failed or
 * timed-out update (a retry to decide) or a declined one (when to ask
 * again) makes a device's set its own. */
static void
marks_put(unsigned char *dst, const struct store_update_mark *marks, size_t n)
{
	struct store_update_mark m;

	for (size_t i = 0; i < n; i++) {
		m = marks[i];
		if (!update_state_bad((enum update_state)m.status) &&
		    m.status != UPDATE_DECLINED) {
			m.outcome_at = 0;
			m.retries = 0;
			m.status = update_state_consent_given(
			               (enum update_state)m.status)
			               ? UPDATE_ACCEPTED
			               : UPDATE_OFFERED;
		}
		memcpy(dst + i * sizeof(m), &m, sizeof(m));
	}
}

/* Interns the facts f into v[4] (hardware, reported hardware, version,
 * the set: stamp, bits and groups): all or none.  0, OTA_ETOOBIG (a table is
 * full), OTA_ENOMEM. Write lock held. */
static int
facts_intern(struct devcache *dc, const struct devcache_facts *f, uint16_t v[4])
{
	unsigned char
	    set[sizeof(struct dc_set_head) +
	        STORE_UPDATE_MARKS_MAX * sizeof(struct store_update_mark) +
	        DEVCACHE_GROUPS_MAX * sizeof(int64_t)];
	struct dc_set_head head;
	size_t gn = f->group_count * sizeof(int64_t);
	size_t mn = f->mark_count * sizeof(struct store_update_mark);
	int rc, i = 0;

	/* Padding included: equal sets must hash and compare equal. */
	memset(&head, 0, sizeof(head));

	if ((rc = str_put(dc, f->hardware, &v[i])) != 0)
		goto out;
	i++;
	if ((rc = str_put(dc, f->reported_hardware, &v[i])) != 0)
		goto out;
	i++;
	if ((rc = str_put(dc, f->version, &v[i])) != 0)
		goto out;
	i++;
	head.stamp = f->stamp;
	head.bits = f->bits;
	head.nmarks = (uint32_t)f->mark_count;
	memcpy(set, &head, sizeof(head));
	marks_put(set + sizeof(head), f->marks, f->mark_count);
	if (gn > 0)
		memcpy(set + sizeof(head) + mn, f->group_ids, gn);
	gn += sizeof(head) + mn;
	rc = intern_put(dc->sets, set, gn, dc_hash(dc, set, gn), &v[i]);
out:
	while (rc != 0 && i-- > 0)
		intern_unref(dc->strs, v[i]);
	return rc;
}

/* Sets the facts of the record of the packed id (new when needed).
 * Write lock held. */
static void
facts_set(struct devcache *dc, const unsigned char *id, size_t size, uint32_t h,
    const struct devcache_facts *f)
{
	struct dc_rec *rec;
	uint16_t v[4];
	uint32_t r;

	/* Interned first: a device whose facts do not fit is not cached. */
	if (facts_intern(dc, f, v) != 0)
		return;
	if (rec_get(dc, id, size, h, &r) != 0) {
		for (int i = 0; i < 3; i++)
			intern_unref(dc->strs, v[i]);
		intern_unref(dc->sets, v[3]);
		return;
	}
	rec = rec_at(dc, r);
	if (rec->flags & DC_FACTS)
		facts_unref(dc, rec);
	rec->hw = v[0];
	rec->rhw = v[1];
	rec->ver = v[2];
	rec->groups = v[3];
	rec->flags |= DC_FACTS;
	dc->nfacts++;
}

void
devcache_facts_insert(struct devcache *dc, uint64_t gen, const char *id,
    const struct devcache_facts *f)
{
	unsigned char packed[DC_ID_LONG];
	size_t size;
	uint32_t h;

	if (f->group_count > DEVCACHE_GROUPS_MAX ||
	    f->mark_count > STORE_UPDATE_MARKS_MAX ||
	    (f->mark_count > 0 && f->marks == NULL) ||
	    strlen(f->hardware) > STORE_HARDWARE_MAX ||
	    strlen(f->reported_hardware) > STORE_HARDWARE_MAX ||
	    strlen(f->version) > STORE_VERSION_MAX ||
	    (size = id_pack(id, strlen(id), packed)) == 0)
		return;
	h = dc_hash(dc, packed, size);
	if (!insert_begin(dc, gen))
		return;
	facts_set(dc, packed, size, h, f);
	pthread_rwlock_unlock(&dc->lock);
}

/* Forgets the device of the len characters at id.  Write lock held. */
static void
forget_device(struct devcache *dc, const char *id, size_t len)
{
	unsigned char packed[DC_ID_LONG];
	size_t size = id_pack(id, len, packed);
	uint32_t r;

	if (size != 0 &&
	    (r = rec_find(dc, packed, size, dc_hash(dc, packed, size))) != 0)
		rec_remove(dc, r - 1);
}

void
devcache_invalidate(struct devcache *dc, const char *ids)
{
	const char *p = ids;

	if (dc == NULL || ids == NULL)
		return;
	pthread_rwlock_wrlock(&dc->lock);
	atomic_fetch_add(&dc->gen, 1);
	if (strcmp(ids, "*") == 0)
		dc_clear(dc);
	else
		while (*p != '\0') {
			size_t n = strcspn(p, " ");

			if (n > 0)
				forget_device(dc, p, n);
			p += n;
			p += strspn(p, " ");
		}
	/* Under the lock: a listener sees the changes in this order. */
	for (size_t i = 0; i < DEVCACHE_LISTENERS; i++)
		if (dc->listener[i].invalidate != NULL)
			dc->listener[i].invalidate(dc->listener[i].arg, ids);
	pthread_rwlock_unlock(&dc->lock);
}

void
devcache_set_serving(struct devcache *dc, int on)
{
	if (dc == NULL)
		return;
	pthread_rwlock_wrlock(&dc->lock);
	atomic_fetch_add(&dc->gen, 1);
	atomic_store(&dc->serving, on ? 1 : 0);
	dc_clear(dc);
	for (size_t i = 0; i < DEVCACHE_LISTENERS; i++)
		if (dc->listener[i].set_serving != NULL)
			dc->listener[i].set_serving(dc->listener[i].arg, on);
	pthread_rwlock_unlock(&dc->lock);
}

void
devcache_set_listener_at(
    struct devcache *dc, size_t slot, const struct devcache_listener *l)
{
	if (dc == NULL || slot >= DEVCACHE_LISTENERS)
		return;
	pthread_rwlock_wrlock(&dc->lock);
	dc->listener[slot] = *l;
	if (l->set_serving != NULL)
		l->set_serving(l->arg, atomic_load(&dc->serving));
	pthread_rwlock_unlock(&dc->lock);
}

void
devcache_set_listener(struct devcache *dc, const struct devcache_listener *l)
{
	devcache_set_listener_at(dc, 0, l);
}

int
devcache_credential_get(struct devcache *dc, struct store_conn *c,
    const char *token_id, const unsigned char hash[CRYPTO_HASH_LEN],
    struct store_credential *out)
{
	uint64_t gen;
	int rc;

	if (dc == NULL)
		return store_credential_get(c, token_id, out);
	if (devcache_cred_lookup(dc, token_id, hash, out) == 0)
		return 0;
	gen = devcache_generation(dc);
	rc = store_credential_get(c, token_id, out);
	if (rc == 0)
		devcache_cred_insert(dc, gen, token_id, out);
	return rc;
}

int
devcache_poll_facts(struct devcache *dc, struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count)
{
	return devcache_poll_facts_match(dc, c, id, out_hardware,
	    out_reported_hardware, out_version, out_group_ids, max_groups,
	    out_group_count, NULL, NULL, NULL);
}

/* The facts from the database, with the labels' bits when m has
 * selectors. */
static int
facts_read_db(struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *groups, size_t *n,
    const struct devcache_match *m, uint32_t *bits,
    struct devcache_marks *marks)
{
	struct store_labels *labels = NULL;
	int rc;

	*bits = 0;
	if (m != NULL && m->stamp != 0 &&
	    (labels = malloc(sizeof(*labels))) == NULL)
		return OTA_ENOMEM;
	rc = store_device_poll_facts_labels(c, id, out_hardware,
	    out_reported_hardware, out_version, groups, DEVCACHE_GROUPS_MAX, n,
	    labels);
	if (rc == 0)
		rc = store_telemetry_device_marks(c, id, marks->m, &marks->n);
	if (rc == 0 && labels != NULL)
		*bits = m->bits(m->arg, labels->flat, labels->len);
	free(labels);
	return rc;
}

int
devcache_poll_facts_match(struct devcache *dc, struct store_conn *c,
    const char *id, char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count, const struct devcache_match *m,
    uint32_t *out_bits, struct devcache_marks *out_marks)
{
	struct devcache_facts f;
	struct devcache_marks marks_buf, *marks;
	int64_t groups[DEVCACHE_GROUPS_MAX];
	uint64_t stamp = m != NULL ? m->stamp : 0;
	size_t n = 0;
	uint32_t bits, dummy;
	uint64_t gen = 0;
	int rc;

	if (out_bits == NULL)
		out_bits = &dummy;
	marks = out_marks != NULL ? out_marks : &marks_buf;
	if (dc != NULL &&
	    facts_lookup(dc, id, stamp, out_hardware, out_reported_hardware,
	        out_version, out_group_ids, max_groups, out_group_count,
	        out_bits, marks) == 0)
		return 0;
	if (dc != NULL)
		gen = devcache_generation(dc);
	rc = facts_read_db(c, id, out_hardware, out_reported_hardware,
	    out_version, groups, &n, m, &bits, marks);
	if (rc != 0)
		return rc;
	/* Full: the device may be in more groups than were read. */
	if (dc != NULL && n < DEVCACHE_GROUPS_MAX) {
		f.hardware = out_hardware;
		f.reported_hardware = out_reported_hardware;
		f.version = out_version;
		f.group_ids = groups;
		f.group_count = n;
		f.stamp = stamp;
		f.bits = bits;
		f.marks = marks->m;
		f.mark_count = marks->n;
		devcache_facts_insert(dc, gen, id, &f);
	}
	*out_group_count = n < max_groups ? n : max_groups;
	memcpy(out_group_ids, groups, *out_group_count * sizeof(int64_t));
	*out_bits = bits;
	return 0;
}

void
devcache_get_stats(struct devcache *dc, struct devcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (dc == NULL)
		return;
	out->hits = atomic_load(&dc->hits);
	out->misses = atomic_load(&dc->misses);
	out->evictions = atomic_load(&dc->evictions);
	pthread_rwlock_rdlock(&dc->lock);
	out->credentials = dc->ncred;
	out->devices = dc->nfacts;
	out->bytes = sizeof(*dc) + slab_bytes(&dc->recs) +
	             slab_bytes(&dc->longs) + slab_bytes(&dc->ovf) +
	             (dc->by_id.n + (size_t)dc->by_tok.n) * sizeof(uint32_t) +
	             intern_bytes(dc->strs) + intern_bytes(dc->sets);
	pthread_rwlock_unlock(&dc->lock);
}

void
devcache_hook(void *arg, const char *ids)
{
	devcache_invalidate(arg, ids);
}
