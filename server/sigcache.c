/*
 * sigcache: 4-way set-associative, each set a digest of the signed bytes
 * (BLAKE2b-128 keyed with a random per-process key, so nobody can search
 * offline for two bodies that collide) and the raw signature, replaced
 * round-robin.  Sets are guarded by a small array of striped mutexes; the
 * signing itself happens outside any lock.
 */
#include "sigcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define WAYS 4
#define STRIPES 64
#define DIGEST_BYTES 16
#define ENTRIES_MIN 16
#define ENTRIES_MAX (16u << 20)

struct sigcache_entry {
	unsigned char digest[DIGEST_BYTES];
	unsigned char sig[crypto_sign_BYTES];
	unsigned char used;
};

struct sigcache {
	const unsigned char *sk;
	unsigned char key[crypto_generichash_KEYBYTES];
	struct sigcache_entry *entries;
	unsigned char *next_way; /* per set: the way replaced next */
	size_t set_mask;
	pthread_mutex_t stripe[STRIPES];
};

struct sigcache *
sigcache_new(const unsigned char sk[crypto_sign_SECRETKEYBYTES], size_t entries)
{
	struct sigcache *sc;
	size_t n = ENTRIES_MIN;

	if (entries > ENTRIES_MAX) {
		log_err(
		    "msg=\"sigcache: too many entries\" entries=%zu", entries);
		return NULL;
	}
	while (n < entries)
		n <<= 1;
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return NULL;
	sc->entries = calloc(n, sizeof(*sc->entries));
	sc->next_way = calloc(n / WAYS, 1);
	if (sc->entries == NULL || sc->next_way == NULL) {
		log_err("msg=\"sigcache: out of memory\" entries=%zu", n);
		sigcache_free(sc);
		return NULL;
	}
	sc->sk = sk;
	sc->set_mask = n / WAYS - 1;
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
	if (sc->entries != NULL)
		for (int i = 0; i < STRIPES; i++)
			pthread_mutex_destroy(&sc->stripe[i]);
	free(sc->entries);
	free(sc->next_way);
	sodium_memzero(sc->key, sizeof(sc->key));
	free(sc);
}

void
sigcache_sign(struct sigcache *sc, const char *body, size_t len,
    char out[MANIFEST_SIG_B64_LEN], int *out_hit)
{
	unsigned char digest[DIGEST_BYTES], sig[crypto_sign_BYTES];
	struct sigcache_entry *set;
	pthread_mutex_t *mu;
	size_t s;
	int hit = 0;

	crypto_generichash(digest, sizeof(digest), (const unsigned char *)body,
	    len, sc->key, sizeof(sc->key));
	memcpy(&s, digest, sizeof(s));
	s &= sc->set_mask;
	set = &sc->entries[s * WAYS];
	mu = &sc->stripe[s % STRIPES];

	pthread_mutex_lock(mu);
	for (int w = 0; w < WAYS; w++) {
		if (set[w].used &&
		    memcmp(set[w].digest, digest, sizeof(digest)) == 0) {
			memcpy(sig, set[w].sig, sizeof(sig));
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(mu);
	if (!hit) {
		crypto_sign_detached(
		    sig, NULL, (const unsigned char *)body, len, sc->sk);
		pthread_mutex_lock(mu);
		struct sigcache_entry *e = &set[sc->next_way[s]];

		sc->next_way[s] = (unsigned char)((sc->next_way[s] + 1) % WAYS);
		memcpy(e->digest, digest, sizeof(digest));
		memcpy(e->sig, sig, sizeof(sig));
		e->used = 1;
		pthread_mutex_unlock(mu);
	}
	sodium_bin2base64(out, MANIFEST_SIG_B64_LEN, sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	if (out_hit != NULL)
		*out_hit = hit;
}
