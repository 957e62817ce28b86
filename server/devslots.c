/*
 * devslots: the slots of a per-device cache (devslots.h).  An entry is
 * its header, the blob (first, so it keeps 8-byte alignment) and the
 * device id.  A set's entries are packed at its start (the first empty
 * slot ends it; a removal moves the set's last entry into the hole).
 * "*" moves the epoch instead of walking the table: an entry of an older
 * epoch is never served, and is the first replaced in a full set.
 */
#include "devslots.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "devcache.h"
#include "errors.h"
#include "log.h"
#include "store_devices.h"

#define DS_WAYS 8 /* slots of a set: 64 bytes of pointers */

struct ds_entry {
	uint64_t hash;
	uint64_t epoch;
	size_t len;      /* of the blob; the id follows it, padded */
	uint64_t data[]; /* the blob, then the id */
};

struct devslots {
	pthread_rwlock_t lock;
	atomic_uint_fast64_t gen; /* moved under the write lock */
	atomic_int serving;
	uint64_t epoch; /* under the lock */
	struct ds_entry **slot;
	size_t mask;
	size_t ways;   /* DS_WAYS, or fewer in a smaller table */
	size_t victim; /* a full set's next replaced slot (under the lock) */
	size_t count;
	atomic_uint_fast64_t hits, misses;
};

/* FNV-1a: device ids are the operator's, not a caller's choice. */
static uint64_t
ds_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* The blob's length rounded up to whole words: where the id starts. */
static size_t
ds_words(size_t len)
{
	return (len + sizeof(uint64_t) - 1) / sizeof(uint64_t);
}

static const char *
ds_id(const struct ds_entry *e)
{
	return (const char *)(e->data + ds_words(e->len));
}

struct devslots *
devslots_new(size_t max_entries, int serving, const char *what)
{
	struct devslots *t;
	pthread_rwlockattr_t attr;
	size_t n = 1;

	if (max_entries == 0)
		return NULL;
	if (max_entries > DEVCACHE_ENTRIES_MAX)
		max_entries = DEVCACHE_ENTRIES_MAX;
	while (n < max_entries)
		n *= 2;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->slot = calloc(n, sizeof(*t->slot))) == NULL) {
		free(t);
		log_err("msg=\"cannot create the %s\" err=\"out of memory\" "
		        "entries=%zu",
		    what, max_entries);
		return NULL;
	}
	t->mask = n - 1;
	t->ways = n < DS_WAYS ? n : DS_WAYS;
	/* Inserts and invalidations must not starve behind lookups. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(
	    &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	atomic_init(&t->gen, 1);
	atomic_init(&t->serving, serving ? 1 : 0);
	return t;
}

/* Frees every entry.  Write lock held (or alone).  An empty slot is not
 * written: the table's untouched pages stay shared zero pages, not
 * resident. */
static void
ds_clear(struct devslots *t)
{
	for (size_t i = 0; i <= t->mask; i++)
		if (t->slot[i] != NULL) {
			free(t->slot[i]);
			t->slot[i] = NULL;
		}
	t->count = 0;
}

void
devslots_free(struct devslots *t)
{
	if (t == NULL)
		return;
	ds_clear(t);
	free(t->slot);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

uint64_t
devslots_ticket(struct devslots *t)
{
	return t != NULL ? atomic_load(&t->gen) : 0;
}

/* The first slot of the set of hash h. */
static struct ds_entry **
ds_set(const struct devslots *t, uint64_t h)
{
	return &t->slot[h & t->mask & ~(t->ways - 1)];
}

/* The slot holding id's entry (any epoch), or NULL.  Lock held. */
static struct ds_entry **
ds_find(const struct devslots *t, const char *id, uint64_t h)
{
	struct ds_entry **set = ds_set(t, h);

	for (size_t i = 0; i < t->ways && set[i] != NULL; i++)
		if (set[i]->hash == h && strcmp(ds_id(set[i]), id) == 0)
			return &set[i];
	return NULL;
}

/* The slot for a new entry of hash h: the set's first empty one, else
 * one of an older epoch, else the next in turn.  Write lock held. */
static struct ds_entry **
ds_place(struct devslots *t, uint64_t h)
{
	struct ds_entry **set = ds_set(t, h);

	for (size_t i = 0; i < t->ways; i++)
		if (set[i] == NULL || set[i]->epoch != t->epoch)
			return &set[i];
	return &set[t->victim++ % t->ways];
}

int
devslots_lookup(struct devslots *t, const char *id,
    int (*read)(void *arg, const void *blob, size_t len), void *arg)
{
	struct ds_entry **ref;
	const struct ds_entry *e;
	int rc = OTA_ENOTFOUND;

	if (t == NULL)
		return OTA_ENOTFOUND;
	if (atomic_load(&t->serving)) {
		uint64_t h = ds_hash(id);

		pthread_rwlock_rdlock(&t->lock);
		ref = ds_find(t, id, h);
		e = ref != NULL ? *ref : NULL;
		if (e != NULL && e->epoch == t->epoch &&
		    read(arg, e->data, e->len) == 0)
			rc = 0;
		pthread_rwlock_unlock(&t->lock);
	}
	atomic_fetch_add(rc == 0 ? &t->hits : &t->misses, 1);
	return rc;
}

void
devslots_insert(struct devslots *t, uint64_t ticket, const char *id,
    const void *blob, size_t len)
{
	struct ds_entry *e, **slot;
	size_t idlen;
	uint64_t h;

	if (t == NULL || !atomic_load(&t->serving) ||
	    atomic_load(&t->gen) != ticket ||
	    (idlen = strlen(id)) > STORE_DEVICE_ID_MAX)
		return;
	h = ds_hash(id);
	e = malloc(sizeof(*e) + ds_words(len) * sizeof(uint64_t) + idlen + 1);
	if (e == NULL)
		return; /* a cache: the next poll reads again */
	e->hash = h;
	e->len = len;
	if (len > 0)
		memcpy(e->data, blob, len);
	memcpy((char *)(e->data + ds_words(len)), id, idlen + 1);
	pthread_rwlock_wrlock(&t->lock);
	if (atomic_load(&t->serving) && atomic_load(&t->gen) == ticket) {
		if ((slot = ds_find(t, id, h)) == NULL)
			slot = ds_place(t, h);
		e->epoch = t->epoch;
		if (*slot == NULL)
			t->count++;
		free(*slot);
		*slot = e;
		e = NULL;
	}
	pthread_rwlock_unlock(&t->lock);
	free(e);
}

/* Forgets the n bytes of an id at p.  Write lock held. */
static void
ds_forget(struct devslots *t, const char *p, size_t n)
{
	char id[STORE_DEVICE_ID_MAX + 1];
	struct ds_entry **set, **slot;
	size_t last = 0;
	uint64_t h;

	if (n > STORE_DEVICE_ID_MAX)
		return; /* never cached: not a device id */
	memcpy(id, p, n);
	id[n] = '\0';
	h = ds_hash(id);
	if ((slot = ds_find(t, id, h)) == NULL)
		return;
	/* The set stays packed: its last entry fills the hole. */
	set = ds_set(t, h);
	while (last + 1 < t->ways && set[last + 1] != NULL)
		last++;
	free(*slot);
	*slot = set[last];
	set[last] = NULL;
	t->count--;
}

void
devslots_invalidate(struct devslots *t, const char *ids)
{
	const char *p = ids;

	if (t == NULL || ids == NULL)
		return;
	pthread_rwlock_wrlock(&t->lock);
	atomic_fetch_add(&t->gen, 1);
	if (strcmp(ids, "*") == 0)
		t->epoch++;
	else
		while (*p != '\0') {
			size_t n = strcspn(p, " ");

			if (n > 0)
				ds_forget(t, p, n);
			p += n;
			p += strspn(p, " ");
		}
	pthread_rwlock_unlock(&t->lock);
}

void
devslots_set_serving(struct devslots *t, int on)
{
	if (t == NULL)
		return;
	pthread_rwlock_wrlock(&t->lock);
	atomic_fetch_add(&t->gen, 1);
	atomic_store(&t->serving, on ? 1 : 0);
	ds_clear(t);
	pthread_rwlock_unlock(&t->lock);
}

void
devslots_stats(
    struct devslots *t, uint64_t *hits, uint64_t *misses, size_t *entries)
{
	*hits = *misses = 0;
	*entries = 0;
	if (t == NULL)
		return;
	*hits = atomic_load(&t->hits);
	*misses = atomic_load(&t->misses);
	pthread_rwlock_rdlock(&t->lock);
	*entries = t->count;
	pthread_rwlock_unlock(&t->lock);
}
