/*
 * compcache: a direct-mapped table of slots under one reader-writer lock
 * (lookups share it; inserts and invalidations take it alone), each slot
 * one allocation: the device id and its components packed as strings.
 * The generation is the fill rule, as devcache's and ddicache's: a reader
 * notes it before reading the database and inserts only while it has not
 * moved; an invalidation moves it, under the lock, before removing
 * entries.  "*" moves the epoch instead of walking the table.
 */
#include "compcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "devcache.h"
#include "errors.h"
#include "log.h"
#include "store_devices.h"

/* One device: its id then, per component, "name\0hardware\0version\0". */
struct cc_entry {
	uint64_t hash;
	uint64_t epoch;
	unsigned char n; /* components */
	char text[];
};

struct compcache {
	pthread_rwlock_t lock;
	atomic_uint_fast64_t gen; /* moved under the write lock */
	atomic_int serving;
	uint64_t epoch; /* under the lock */
	struct cc_entry **slot;
	size_t mask;
	size_t count;
	atomic_uint_fast64_t hits, misses;
};

/* FNV-1a: device ids are the operator's, not a caller's choice. */
static uint64_t
cc_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

struct compcache *
compcache_new(size_t max_entries, int serving)
{
	struct compcache *cc;
	pthread_rwlockattr_t attr;
	size_t n = 1;

	if (max_entries == 0)
		return NULL;
	if (max_entries > DEVCACHE_ENTRIES_MAX)
		max_entries = DEVCACHE_ENTRIES_MAX;
	while (n < max_entries)
		n *= 2;
	if ((cc = calloc(1, sizeof(*cc))) == NULL ||
	    (cc->slot = calloc(n, sizeof(*cc->slot))) == NULL) {
		free(cc);
		log_err("msg=\"cannot create the components cache\" "
		        "err=\"out of memory\" entries=%zu",
		    max_entries);
		return NULL;
	}
	cc->mask = n - 1;
	/* Inserts and invalidations must not starve behind lookups. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(
	    &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&cc->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	atomic_init(&cc->gen, 1);
	atomic_init(&cc->serving, serving ? 1 : 0);
	return cc;
}

/* Frees every entry.  Write lock held (or alone).  An empty slot is not
 * written: untouched pages of the table stay unresident. */
static void
cc_clear(struct compcache *cc)
{
	for (size_t i = 0; i <= cc->mask; i++)
		if (cc->slot[i] != NULL) {
			free(cc->slot[i]);
			cc->slot[i] = NULL;
		}
	cc->count = 0;
}

void
compcache_free(struct compcache *cc)
{
	if (cc == NULL)
		return;
	cc_clear(cc);
	free(cc->slot);
	pthread_rwlock_destroy(&cc->lock);
	free(cc);
}

uint64_t
compcache_ticket(struct compcache *cc)
{
	return cc != NULL ? atomic_load(&cc->gen) : 0;
}

/* The entry of id in its slot (any epoch), or NULL.  Lock held. */
static struct cc_entry *
cc_find(const struct compcache *cc, const char *id, uint64_t h)
{
	struct cc_entry *e = cc->slot[h & cc->mask];

	if (e == NULL || e->hash != h || strcmp(e->text, id) != 0)
		return NULL;
	return e;
}

/* Copies the next string of an entry at *p into dst (size dstsize). */
static void
cc_take(const char **p, char *dst, size_t dstsize)
{
	size_t n = strlen(*p);

	if (n >= dstsize)
		n = dstsize - 1; /* never: inserted from such fields */
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p += strlen(*p) + 1;
}

int
compcache_lookup(struct compcache *cc, const char *id, struct component *out,
    size_t max, size_t *out_n)
{
	const struct cc_entry *e;
	const char *p;
	int rc = OTA_ENOTFOUND;

	if (cc == NULL)
		return OTA_ENOTFOUND;
	if (atomic_load(&cc->serving)) {
		uint64_t h = cc_hash(id);

		pthread_rwlock_rdlock(&cc->lock);
		e = cc_find(cc, id, h);
		if (e != NULL && e->epoch == cc->epoch && e->n <= max) {
			p = e->text + strlen(e->text) + 1;
			for (size_t i = 0; i < e->n; i++) {
				cc_take(&p, out[i].name, sizeof(out[i].name));
				cc_take(&p, out[i].hardware,
				    sizeof(out[i].hardware));
				cc_take(
				    &p, out[i].version, sizeof(out[i].version));
			}
			*out_n = e->n;
			rc = 0;
		}
		pthread_rwlock_unlock(&cc->lock);
	}
	atomic_fetch_add(rc == 0 ? &cc->hits : &cc->misses, 1);
	return rc;
}

/* A new entry of v[0..n) for id (hash h), or NULL. */
static struct cc_entry *
cc_entry_new(const char *id, uint64_t h, const struct component *v, size_t n)
{
	size_t len = strlen(id) + 1, at;
	struct cc_entry *e;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i].name) + strlen(v[i].hardware) +
		       strlen(v[i].version) + 3;
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return NULL;
	e->hash = h;
	e->n = (unsigned char)n;
	at = strlen(id) + 1;
	memcpy(e->text, id, at);
	for (size_t i = 0; i < n; i++) {
		const char *f[3] = {v[i].name, v[i].hardware, v[i].version};

		for (int k = 0; k < 3; k++) {
			size_t l = strlen(f[k]) + 1;

			memcpy(e->text + at, f[k], l);
			at += l;
		}
	}
	return e;
}

void
compcache_insert(struct compcache *cc, uint64_t ticket, const char *id,
    const struct component *v, size_t n)
{
	struct cc_entry *e, **slot;
	uint64_t h;

	_Static_assert(COMPONENTS_MAX <= 255, "n fits");
	if (cc == NULL || !atomic_load(&cc->serving) ||
	    atomic_load(&cc->gen) != ticket || n > COMPONENTS_MAX ||
	    strlen(id) > STORE_DEVICE_ID_MAX)
		return;
	h = cc_hash(id);
	if ((e = cc_entry_new(id, h, v, n)) == NULL)
		return; /* a cache: the next poll reads again */
	pthread_rwlock_wrlock(&cc->lock);
	if (atomic_load(&cc->serving) && atomic_load(&cc->gen) == ticket) {
		slot = &cc->slot[h & cc->mask];
		e->epoch = cc->epoch;
		if (*slot == NULL)
			cc->count++;
		free(*slot);
		*slot = e;
		e = NULL;
	}
	pthread_rwlock_unlock(&cc->lock);
	free(e);
}

/* Forgets the n bytes of an id at p.  Write lock held. */
static void
cc_forget(struct compcache *cc, const char *p, size_t n)
{
	char id[STORE_DEVICE_ID_MAX + 1];
	struct cc_entry **slot;
	uint64_t h;

	if (n > STORE_DEVICE_ID_MAX)
		return; /* never cached: not a device id */
	memcpy(id, p, n);
	id[n] = '\0';
	h = cc_hash(id);
	slot = &cc->slot[h & cc->mask];
	if (cc_find(cc, id, h) != NULL) {
		free(*slot);
		*slot = NULL;
		cc->count--;
	}
}

void
compcache_invalidate(struct compcache *cc, const char *ids)
{
	const char *p = ids;

	if (cc == NULL || ids == NULL)
		return;
	pthread_rwlock_wrlock(&cc->lock);
	atomic_fetch_add(&cc->gen, 1);
	if (strcmp(ids, "*") == 0)
		cc->epoch++;
	else
		while (*p != '\0') {
			size_t n = strcspn(p, " ");

			if (n > 0)
				cc_forget(cc, p, n);
			p += n;
			p += strspn(p, " ");
		}
	pthread_rwlock_unlock(&cc->lock);
}

void
compcache_set_serving(struct compcache *cc, int on)
{
	if (cc == NULL)
		return;
	pthread_rwlock_wrlock(&cc->lock);
	atomic_fetch_add(&cc->gen, 1);
	atomic_store(&cc->serving, on ? 1 : 0);
	cc_clear(cc);
	pthread_rwlock_unlock(&cc->lock);
}

void
compcache_hook(void *arg, const char *ids)
{
	compcache_invalidate(arg, ids);
}

void
compcache_serving_hook(void *arg, int on)
{
	compcache_set_serving(arg, on);
}

void
compcache_get_stats(struct compcache *cc, struct compcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (cc == NULL)
		return;
	out->hits = atomic_load(&cc->hits);
	out->misses = atomic_load(&cc->misses);
	pthread_rwlock_rdlock(&cc->lock);
	out->devices = cc->count;
	pthread_rwlock_unlock(&cc->lock);
}
