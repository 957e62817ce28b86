/*
 * sigcache: a bounded cache of Ed25519 signatures keyed by a keyed digest
 * of the signed bytes.  Ed25519 is deterministic, so a cached signature is
 * exactly the one signing would produce: the cache changes nothing a
 * client can see, it only saves the 30 us a signature costs when the same
 * manifest bytes are served again (a device polling without If-None-Match
 * within one window).  Thread-safe, fixed memory, no I/O.
 */
#ifndef OTAD_SIGCACHE_H
#define OTAD_SIGCACHE_H

#include <stddef.h>

#include <sodium.h>

#include "manifest.h"

#define SIGCACHE_ENTRIES_DEFAULT 65536 /* about 5 MiB */

struct sigcache;

/*
 * Creates a cache of about `entries` signatures (rounded up to a power of
 * two, 16..16M), for the secret key sk (borrowed: it must outlive the
 * cache).  Returns NULL (logged) on failure.
 */
struct sigcache *sigcache_new(
    const unsigned char sk[crypto_sign_SECRETKEYBYTES], size_t entries);

/* Frees the cache.  NULL-safe. */
void sigcache_free(struct sigcache *sc);

/*
 * The base64 Ed25519 signature of body[0..len) with the cache's key, as
 * manifest_sign writes it: from the cache when these exact bytes were
 * signed lately, else signed now and remembered.  *out_hit (may be NULL)
 * tells which.  Thread-safe.
 */
void sigcache_sign(struct sigcache *sc, const char *body, size_t len,
    char out[MANIFEST_SIG_B64_LEN], int *out_hit);

#endif
