/*
 * sigcache: a bounded cache of Ed25519 signatures keyed by a keyed digest
 * of the signed bytes.  Ed25519 is deterministic, so a cached signature is
 * exactly the one signing would produce: the cache changes nothing a
 * client can see, it only saves the 30 us a signature costs when the same
 * manifest bytes are served again (a device polling without If-None-Match
 * within one window).  It grows while it thrashes, between a least and a
 * most number of entries (80 bytes each).  Thread-safe, no I/O.
 */
#ifndef OTAD_SIGCACHE_H
#define OTAD_SIGCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "manifest.h"

#define SIGCACHE_ENTRIES_MIN 65536 /* 5.3 MiB at start */

struct sigcache;

/*
 * Creates a cache of min_entries signatures (rounded up to a multiple of
 * 8) that may grow to max_entries (1 <= min <= max <= 16M), for the
 * secret key sk (borrowed: it must outlive the cache).  Returns NULL
 * (logged) on failure.
 */
struct sigcache *sigcache_new(
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], size_t min_entries,
    size_t max_entries);

/* Frees the cache.  NULL-safe. */
void sigcache_free(struct sigcache *sc);

/*
 * The base64 Ed25519 signature of body[0..len) with the cache's key, as
 * manifest_sign writes it: from the cache when these exact bytes were
 * signed lately, else signed now and remembered.  since is when body's
 * content became current (unix seconds: a manifest's issued, its window;
 * 0: unknown): a signature made before it is of a past body, and
 * replacing it is not a sign that the cache is too small (at each new
 * window every offered device's manifest changes).  *out_hit (may be
 * NULL) tells which.  Thread-safe.
 */
void sigcache_sign(struct sigcache *sc, const char *body, size_t len,
    int64_t since, char out[MANIFEST_SIG_B64_LEN], int *out_hit);

/* What the cache holds and did since it was made. */
struct sigcache_stats {
	uint64_t hits, misses; /* signatures found, signatures made */
	uint64_t entries;      /* places it has now (full or not) */
	uint64_t bytes;        /* what they take */
};

/* Fills *out.  Thread-safe. */
void sigcache_get_stats(struct sigcache *sc, struct sigcache_stats *out);

#endif
