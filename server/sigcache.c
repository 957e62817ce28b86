/*
 * sigcache: set-associative (WAYS places a set), each place a digest of
 * the signed bytes (BLAKE2b-128 keyed with a random per-process key, so
 * nobody can search offline for two bodies that collide), the raw
 * signature and when it was made.  A set starts with the tags of its
 * places (32 bits of each digest) in one cache line, then their times,
 * then 64 more bits of each digest and the signatures: a lookup reads
 * that line and, on a match, one place, not the whole set (16 places of
 * 80 bytes each).  A match compares 96 bits of the keyed digest (95: a
 * tag's low bit is set), at least 75 of them free of the set's choice
 * (sets_of takes the top bits of digest[0..8)'s two words: 15 of one at
 * the default size, 20 at the largest); a false match would serve a
 * signature its device rejects.
 * The table is anonymous memory from mmap: page-aligned, so that each
 * set (20 cache lines) starts on a line, and zero pages the
 * kernel gives as they are first written.  Sets are guarded by striped
 * mutexes; the signing itself happens outside any lock.
 *
 * A digest may go in either of two sets (two choices, drawn from two
 * words of it): a new signature goes to the one with more free places,
 * so the sets fill evenly.  With one set per digest, a fleet's manifests
 * fall in the sets as a Poisson spread: at 1.35 places a manifest one
 * set in ten has more than 16 of them, and in those, polls in cycles
 * replace entries still in use.  290,000 manifests asked for in cycles
 * (a 1M fleet's offered devices): one set a digest settled at 390,848
 * places (1.35 a manifest, 31 MB) with 3.7 % of lookups signing, and in
 * a lab grew on to 488,576 (39 MB); two choices settle at 312,672 (1.08
 * a manifest, 25 MB) with 0.02 % signing.  A lookup reads the tag lines
 * of both sets, both stripes held.
 * When both sets are full, the new signature takes the place of their
 * oldest entry when that one is old (made YOUNG_SEC ago or more, or for a
 * past window of its manifest: sigcache_sign's since), else of one of
 * their 32 drawn at random (randombytes_uniform): devices poll in cycles,
 * and replacing the oldest of a set that one manifest too many falls in
 * replaces the next one asked for, every time (38 % of lookups missed
 * with 1.1 places a manifest, against 12 % drawing at random).
 *
 * It starts small and grows by a quarter while it thrashes: over a window
 * of lookups (as many as it has entries, at most WINDOW_MAX), when more
 * than one in GROW_MISSES replaced a young entry (still in use: a device
 * polls again within minutes), and those were most of the entries
 * replaced, it grows, up to its most, and moves what it held into the
 * larger table (move_entries).  It once dropped them instead, and waited
 * for as many lookups as it had places before judging again: at 1M
 * devices each of its seven growths then signed again every offered
 * device's manifest (1.6M signatures, a minute of polls at two thirds of
 * their rate).  It settles at 1.1 to 1.25 places a manifest in use, nearly
 * every lookup a hit (one set a digest: 1.3 to 1.5, 3-6 % signing; 8 places a
 * set and the oldest replaced: 1.6 to 2.1).  A fleet where a third of a
 * million devices are offered an update holds a third of a million
 * manifests, each signed for its device: a cache sized for a hundred
 * thousand devices would sign (about 25 us) at nearly every one of their
 * polls.
 */
#include "sigcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define WAYS 16
#define STRIPES 64
#define DIGEST_BYTES 16
#define TAG_AT 12 /* the tag is digest[12..15] */
#define REST 8    /* a place keeps digest[0..8) */
#define ENTRIES_MAX (16u << 20)
#define GROW_MISSES 12 /* grow when > 1 lookup in 12 replaced ... */
#define YOUNG_SEC 600  /* ... an entry this young */
#define WINDOW_MAX 65536
#define RELEASE_BYTES (256u << 10) /* a growth frees the old table by this */

/* WAYS places: tag 0 is a free place (a tag has its low bit set). */
struct sigcache_set {
	uint32_t tag[WAYS];
	uint32_t at[WAYS]; /* unix seconds when made */
	struct {
		unsigned char rest[REST];
		unsigned char sig[crypto_sign_BYTES];
	} place[WAYS];
};
_Static_assert(sizeof(struct sigcache_set) == 80 * WAYS && WAYS == 16,
    "a place is 80 bytes, a set 20 cache lines");

struct sigcache {
	const unsigned char *sk;
	unsigned char key[crypto_generichash_KEYBYTES];
	struct sigcache_set *set; /* sets of them (every stripe held) */
	_Atomic size_t sets;      /* written with every stripe held */
	size_t max_sets;
	/* The window's counts (relaxed atomics: a heuristic). */
	atomic_size_t lookups, replaced, replaced_young;
	_Atomic uint64_t hits_total, misses_total;
	atomic_int growing; /* one grower at a time */
	pthread_mutex_t stripe[STRIPES];
};

static size_t
sets_for(size_t entries)
{
	size_t sets = (entries + WAYS - 1) / WAYS;

	return sets < 1 ? 1 : sets;
}

/* Unix seconds, as a place's time. */
static uint32_t
now_sec(void)
{
	return (uint32_t)time(NULL);
}

/* Whether a signature made at `at` is still in use at now: made within
 * YOUNG_SEC, for a body of the current window (since). */
static int
young(uint32_t at, uint32_t now, int64_t since)
{
	return (int64_t)at >= since && now - at < YOUNG_SEC;
}

/* A table of sets sets, zeroed, or NULL. */
static struct sigcache_set *
table_new(size_t sets)
{
	void *p = mmap(NULL, sets * sizeof(struct sigcache_set),
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p != MAP_FAILED ? p : NULL;
}

static void
table_free(struct sigcache_set *t, size_t sets)
{
	if (t != NULL)
		munmap(t, sets * sizeof(*t));
}

struct sigcache *
sigcache_new(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
    size_t min_entries, size_t max_entries)
{
	struct sigcache *sc;
	size_t sets;

	if (min_entries < 1 || max_entries < min_entries ||
	    max_entries > ENTRIES_MAX) {
		log_err("msg=\"sigcache: bad size\" min=%zu max=%zu",
		    min_entries, max_entries);
		return NULL;
	}
	sets = sets_for(min_entries);
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	if ((sc->set = table_new(sets)) == NULL) {
		log_err(
		    "msg=\"sigcache: out of memory\" entries=%zu", sets * WAYS);
		free(sc);
		return NULL;
	}
	atomic_init(&sc->sets, sets);
	sc->max_sets = sets_for(max_entries);
	sc->sk = sk;
	randombytes_buf(sc->key, sizeof(sc->key));
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&sc->stripe[i], NULL);
	return sc;
}

void
sigcache_free(struct sigcache *sc)
{
	if (sc == NULL)
		return;
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&sc->stripe[i]);
	table_free(sc->set, atomic_load(&sc->sets));
	sodium_memzero(sc->key, sizeof(sc->key));
	free(sc);
}

/* The two sets digest may be in among sets (the same one when there is
 * one set): from two independent 32-bit words of it, neither the tag. */
static void
sets_of(const unsigned char *digest, size_t sets, size_t k[2])
{
	uint32_t w[2];

	memcpy(w, digest, sizeof(w));
	for (int i = 0; i < 2; i++)
		k[i] = (size_t)(((uint64_t)w[i] * sets) >> 32);
}

/* The first free place of set, WAYS when it is full. */
static int
first_free(const struct sigcache_set *set)
{
	int w = 0;

	while (w < WAYS && set->tag[w] != 0)
		w++;
	return w;
}

/*
 * Moves the entries of from (from_sets sets) into to (to_sets > from_sets
 * sets, zeroed), each into the set of the same choice it was in: sets_of
 * maps a digest word to a set in order, so the entries of from's set i go
 * to sets at or after those of set i - 1, and from's pages are released
 * behind the move (madvise) as to's are first written: the two tables
 * never hold much more than to's pages at once.  An entry whose set in to
 * is full is dropped (signed again at its next poll).  Returns the
 * entries kept.
 */
static size_t
move_entries(struct sigcache_set *from, size_t from_sets,
    struct sigcache_set *to, size_t to_sets)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), released = 0, kept = 0;

	for (size_t i = 0; i < from_sets; i++) {
		const struct sigcache_set *s = &from[i];
		size_t end = (i + 1) * sizeof(*from) / page * page;

		for (int v = 0; v < WAYS; v++) {
			size_t k[2], nk[2];
			struct sigcache_set *t;
			int w;

			if (s->tag[v] == 0)
				continue;
			sets_of(s->place[v].rest, from_sets, k);
			sets_of(s->place[v].rest, to_sets, nk);
			t = &to[nk[k[0] == i ? 0 : 1]];
			if ((w = first_free(t)) == WAYS)
				continue;
			t->tag[w] = s->tag[v];
			t->at[w] = s->at[v];
			memcpy(&t->place[w], &s->place[v], sizeof(t->place[w]));
			kept++;
		}
		/* A failure only keeps those pages until the munmap. */
		if (end - released >= RELEASE_BYTES) {
			(void)madvise((char *)from + released, end - released,
			    MADV_DONTNEED);
			released = end;
		}
	}
	return kept;
}

/*
 * Grows the table by a quarter (at most max_sets), every stripe held, and
 * moves what it held into the new one (move_entries): the new table is
 * zero pages the kernel has not yet given (mmap), written in order as the
 * old one's are released, so that a growth never holds both tables in
 * memory, and no signature it held is made again.  Out of memory: it
 * stays as it is.
 */
static void
grow(struct sigcache *sc, size_t lookups, size_t replaced, size_t young)
{
	size_t old = atomic_load(&sc->sets), sets = old + old / 4 + 1, kept;
	struct sigcache_set *tab, *was;

	if (sets > sc->max_sets)
		sets = sc->max_sets;
	if (sets <= old)
		return;
	if ((tab = table_new(sets)) == NULL) {
		log_warn(
		    "msg=\"sigcache: cannot grow\" entries=%zu", sets * WAYS);
		sc->max_sets = old;
		return;
	}
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_lock(&sc->stripe[i]);
	was = sc->set;
	kept = move_entries(was, old, tab, sets);
	sc->set = tab;
	atomic_store(&sc->sets, sets);
	for (int i = STRIPES - 1; i >= 0; i--)
		pthread_mutex_unlock(&sc->stripe[i]);
	table_free(was, old);
	log_info("msg=\"signature cache grown\" entries=%zu kept=%zu "
	         "lookups=%zu replaced=%zu young=%zu",
	    sets * WAYS, kept, lookups, replaced, young);
}

/* Closes a window of lookups once it saw as many as there are entries:
 * grows when it thrashed, and starts the next window. */
static void
window_check(struct sigcache *sc)
{
	size_t sets = atomic_load(&sc->sets), lookups, replaced, young;
	size_t window = sets * WAYS < WINDOW_MAX ? sets * WAYS : WINDOW_MAX;
	int idle = 0;

	lookups = atomic_load_explicit(&sc->lookups, memory_order_relaxed);
	if (lookups < window ||
	    !atomic_compare_exchange_strong(&sc->growing, &idle, 1))
		return;
	replaced = atomic_exchange(&sc->replaced, 0);
	young = atomic_exchange(&sc->replaced_young, 0);
	atomic_store(&sc->lookups, 0);
	if (sets < sc->max_sets && young * GROW_MISSES > lookups &&
	    young * 2 > replaced)
		grow(sc, lookups, replaced, young);
	atomic_store(&sc->growing, 0);
}

/* The tag of digest in its set: never 0 (a free place). */
static uint32_t
tag_of(const unsigned char *digest)
{
	uint32_t t;

	memcpy(&t, digest + TAG_AT, sizeof(t));
	return t | 1;
}

/* Releases what lock_sets holds. */
static void
unlock_sets(pthread_mutex_t *mu[2])
{
	if (mu[1] != NULL)
		pthread_mutex_unlock(mu[1]);
	pthread_mutex_unlock(mu[0]);
}

/*
 * Holds the stripes of digest's two sets in the table as it is now (in
 * stripe order, as grow takes them all): their indexes go to k[], the
 * stripes to mu[] (mu[1] NULL when one stripe guards both).
 */
static void
lock_sets(struct sigcache *sc, const unsigned char *digest, size_t k[2],
    pthread_mutex_t *mu[2])
{
	for (;;) {
		size_t sets = atomic_load(&sc->sets), a, b;

		sets_of(digest, sets, k);
		a = k[0] % STRIPES;
		b = k[1] % STRIPES;
		mu[0] = &sc->stripe[a < b ? a : b];
		mu[1] = a == b ? NULL : &sc->stripe[a < b ? b : a];
		pthread_mutex_lock(mu[0]);
		if (mu[1] != NULL)
			pthread_mutex_lock(mu[1]);
		if (atomic_load(&sc->sets) == sets)
			return;
		unlock_sets(mu); /* grown meanwhile */
	}
}

/* Looks digest up in set (its stripe held): a copy of the signature into
 * sig and 1, or 0. */
static int
find(const struct sigcache_set *set, const unsigned char *digest,
    unsigned char sig[crypto_sign_BYTES])
{
	uint32_t tag = tag_of(digest);

	for (int i = 0; i < WAYS; i++)
		if (set->tag[i] == tag &&
		    memcmp(set->place[i].rest, digest, REST) == 0) {
			memcpy(sig, set->place[i].sig, crypto_sign_BYTES);
			return 1;
		}
	return 0;
}

/* find in either of digest's sets k[] (lock_sets held). */
static int
find_either(const struct sigcache *sc, const size_t k[2],
    const unsigned char *digest, unsigned char sig[crypto_sign_BYTES])
{
	return find(&sc->set[k[0]], digest, sig) ||
	       (k[1] != k[0] && find(&sc->set[k[1]], digest, sig));
}

/* Looks digest up in its two sets: a copy of its signature into sig and
 * 1, or 0. */
static int
lookup(struct sigcache *sc, const unsigned char *digest,
    unsigned char sig[crypto_sign_BYTES])
{
	pthread_mutex_t *mu[2];
	size_t k[2];
	int hit;

	lock_sets(sc, digest, k, mu);
	hit = find_either(sc, k, digest, sig);
	unlock_sets(mu);
	return hit;
}

/* The free places of set. */
static int
free_places(const struct sigcache_set *set)
{
	int n = 0;

	for (int i = 0; i < WAYS; i++)
		n += set->tag[i] == 0;
	return n;
}

/* The place (set, way) of the oldest entry of the two full sets k[]. */
static void
oldest(
    const struct sigcache *sc, const size_t k[2], size_t *out_k, int *out_way)
{
	*out_k = k[0];
	*out_way = 0;
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < WAYS; i++)
			if (sc->set[k[s]].at[i] <
			    sc->set[*out_k].at[*out_way]) {
				*out_k = k[s];
				*out_way = i;
			}
}

/*
 * Remembers sig for digest (its sets found again after the signing: the
 * table may have grown meanwhile): in the set of the two with more free
 * places; when both are full, in place of the oldest entry of the two
 * when it is old, else of one of their 32 drawn at random.
 */
static void
remember(struct sigcache *sc, const unsigned char *digest,
    const unsigned char sig[crypto_sign_BYTES], int64_t since)
{
	unsigned char have[crypto_sign_BYTES];
	struct sigcache_set *set;
	pthread_mutex_t *mu[2];
	uint32_t now = now_sec();
	size_t k[2], at;
	int v = 0, f0, f1;

	lock_sets(sc, digest, k, mu);
	if (find_either(sc, k, digest, have)) {
		unlock_sets(mu); /* another thread put it there */
		return;
	}
	f0 = free_places(&sc->set[k[0]]);
	f1 = free_places(&sc->set[k[1]]);
	if (f0 > 0 || f1 > 0) {
		at = f1 > f0 ? k[1] : k[0];
		v = first_free(&sc->set[at]);
	} else {
		oldest(sc, k, &at, &v);
		if (young(sc->set[at].at[v], now, since)) {
			uint32_t r = randombytes_uniform(2 * WAYS);

			at = k[r / WAYS];
			v = (int)(r % WAYS);
		}
		atomic_fetch_add_explicit(
		    &sc->replaced, 1, memory_order_relaxed);
		if (young(sc->set[at].at[v], now, since))
			atomic_fetch_add_explicit(
			    &sc->replaced_young, 1, memory_order_relaxed);
	}
	set = &sc->set[at];
	set->tag[v] = tag_of(digest);
	set->at[v] = now;
	memcpy(set->place[v].rest, digest, REST);
	memcpy(set->place[v].sig, sig, crypto_sign_BYTES);
	unlock_sets(mu);
}

void
sigcache_sign(struct sigcache *sc, const char *body, size_t len, int64_t since,
    char out[MANIFEST_SIG_B64_LEN], int *out_hit)
{
	unsigned char digest[DIGEST_BYTES], sig[crypto_sign_BYTES];
	int hit;

	crypto_generichash(digest, sizeof(digest), (const unsigned char *)body,
	    len, sc->key, sizeof(sc->key));
	hit = lookup(sc, digest, sig);
	atomic_fetch_add_explicit(&sc->lookups, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    hit ? &sc->hits_total : &sc->misses_total, 1, memory_order_relaxed);
	if (!hit) {
		crypto_sign_detached(
		    sig, NULL, (const unsigned char *)body, len, sc->sk);
		remember(sc, digest, sig, since);
		window_check(sc);
	}
	sodium_bin2base64(out, MANIFEST_SIG_B64_LEN, sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	if (out_hit != NULL)
		*out_hit = hit;
}

void
sigcache_get_stats(struct sigcache *sc, struct sigcache_stats *out)
{
	size_t sets = atomic_load(&sc->sets);

	out->hits = atomic_load_explicit(&sc->hits_total, memory_order_relaxed);
	out->misses =
	    atomic_load_explicit(&sc->misses_total, memory_order_relaxed);
	out->entries = sets * WAYS;
	out->bytes = sets * sizeof(struct sigcache_set);
}
