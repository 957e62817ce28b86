/*
 * devcache: two hash tables under one reader-writer lock (lookups share
 * it; inserts and invalidations take it alone), each with a CLOCK ring of
 * its entries for eviction.  Credentials are also chained by their
 * device, so that forgetting a device finds its tokens without a scan.
 * The generation is the fill rule: a reader takes it before reading the
 * database and inserts only while it has not moved; an invalidation moves
 * it, under the lock, before removing entries.
 */
#include "devcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "errors.h"
#include "log.h"

/*
 * One entry.  data holds the key, NUL-terminated, then for a credential
 * the subject (its device id) and the hash, for facts the hardware, the
 * reported hardware and the version, NUL-terminated, then the group ids
 * (aligned).
 */
struct dc_entry {
	struct dc_entry *next;     /* chain of the key's bucket */
	struct dc_entry *next_dev; /* credentials: chain of the device's */
	uint64_t h;                /* hash of the key */
	uint64_t h_dev;            /* credentials: hash of the subject */
	uint32_t slot;             /* index in the table's ring */
	atomic_uchar ref;          /* used since the hand last passed */
	unsigned char revoked;
	uint16_t ngroups;
	size_t size; /* of the whole allocation */
	char data[];
};

struct dc_table {
	struct dc_entry **bucket; /* mask + 1 chains */
	struct dc_entry **ring;   /* cap; the first n are in use */
	size_t mask, cap, n, hand;
};

struct devcache {
	pthread_rwlock_t lock;
	atomic_uint_fast64_t gen; /* moved under the write lock */
	atomic_int serving;
	struct dc_table cred, facts;
	struct dc_entry **by_dev; /* credentials by device: cred.mask + 1 */
	size_t bytes;             /* under the write lock */
	atomic_uint_fast64_t hits, misses, evictions;
};

/* FNV-1a and MurmurHash3's finaliser (as seen.c): similar ids spread. */
static uint64_t
dc_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static int
table_init(struct dc_table *t, size_t cap)
{
	size_t nb = 16;

	while (nb < cap)
		nb *= 2;
	t->mask = nb - 1;
	t->cap = cap;
	t->bucket = calloc(nb, sizeof(*t->bucket));
	t->ring = calloc(cap, sizeof(*t->ring));
	return t->bucket != NULL && t->ring != NULL ? 0 : OTA_ENOMEM;
}

/* The subject of a credential entry (its device id). */
static const char *
cred_subject(const struct dc_entry *e)
{
	return e->data + strlen(e->data) + 1;
}

static const unsigned char *
cred_hash(const struct dc_entry *e)
{
	const char *s = cred_subject(e);

	return (const unsigned char *)s + strlen(s) + 1;
}

/* Wipes (hashes are secrets' kin) and frees e. */
static void
entry_free(struct devcache *dc, struct dc_entry *e)
{
	dc->bytes -= e->size;
	sodium_memzero(e, e->size);
	free(e);
}

/* Unlinks e from the chain starting at *head via its next field at
 * offset off. */
static void
chain_unlink(struct dc_entry **head, struct dc_entry *e, int dev)
{
	struct dc_entry **pp = head;

	while (*pp != NULL && *pp != e)
		pp = dev ? &(*pp)->next_dev : &(*pp)->next;
	if (*pp == e)
		*pp = dev ? e->next_dev : e->next;
}

/* Removes e from table t (and from by_dev when a credential) and frees
 * it.  Write lock held. */
static void
entry_remove(struct devcache *dc, struct dc_table *t, struct dc_entry *e)
{
	chain_unlink(&t->bucket[e->h & t->mask], e, 0);
	if (t == &dc->cred)
		chain_unlink(&dc->by_dev[e->h_dev & t->mask], e, 1);
	t->n--;
	if (e->slot != t->n) {
		t->ring[e->slot] = t->ring[t->n];
		t->ring[e->slot]->slot = e->slot;
	}
	t->ring[t->n] = NULL;
	if (t->hand >= t->n)
		t->hand = 0;
	entry_free(dc, e);
}

static struct dc_entry *
table_find(const struct dc_table *t, const char *key, uint64_t h)
{
	struct dc_entry *e = t->bucket[h & t->mask];

	while (e != NULL && (e->h != h || strcmp(e->data, key) != 0))
		e = e->next;
	return e;
}

/* Makes room for one entry: CLOCK, a second chance for each entry used
 * since the hand last passed it.  Write lock held. */
static void
table_evict(struct devcache *dc, struct dc_table *t)
{
	while (t->n >= t->cap) {
		struct dc_entry *e = t->ring[t->hand];

		if (atomic_exchange(&e->ref, 0)) {
			t->hand = (t->hand + 1) % t->n;
			continue;
		}
		entry_remove(dc, t, e);
		atomic_fetch_add(&dc->evictions, 1);
	}
}

/* Adds e (its key not present) to t.  Write lock held. */
static void
table_add(struct devcache *dc, struct dc_table *t, struct dc_entry *e)
{
	struct dc_entry **b = &t->bucket[e->h & t->mask];

	table_evict(dc, t);
	e->next = *b;
	*b = e;
	e->slot = (uint32_t)t->n;
	t->ring[t->n++] = e;
	dc->bytes += e->size;
}

/* Removes every entry of t.  Write lock held. */
static void
table_clear(struct devcache *dc, struct dc_table *t)
{
	while (t->n > 0)
		entry_remove(dc, t, t->ring[t->n - 1]);
	t->hand = 0;
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
	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		goto nomem;
	if (table_init(&dc->cred, max_entries) != 0 ||
	    table_init(&dc->facts, max_entries) != 0 ||
	    (dc->by_dev = calloc(dc->cred.mask + 1, sizeof(*dc->by_dev))) ==
	        NULL) {
		devcache_free(dc);
		goto nomem;
	}
	dc->bytes = sizeof(*dc) +
	            (dc->cred.mask + 1) * 2 * sizeof(struct dc_entry *) +
	            (dc->facts.mask + 1) * sizeof(struct dc_entry *) +
	            max_entries * 2 * sizeof(struct dc_entry *);
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
	if (dc->cred.ring != NULL && dc->facts.ring != NULL && dc->by_dev) {
		table_clear(dc, &dc->cred);
		table_clear(dc, &dc->facts);
		pthread_rwlock_destroy(&dc->lock);
	}
	free(dc->cred.bucket);
	free(dc->cred.ring);
	free(dc->facts.bucket);
	free(dc->facts.ring);
	free(dc->by_dev);
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

/* Marks e used, writing only when the bit is clear (no line bouncing). */
static void
entry_touch(struct dc_entry *e)
{
	if (!atomic_load_explicit(&e->ref, memory_order_relaxed))
		atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
}

int
devcache_cred_lookup(
    struct devcache *dc, const char *token_id, struct store_credential *out)
{
	struct dc_entry *e;
	uint64_t h = dc_hash(token_id, strlen(token_id));
	int rc = OTA_ENOTFOUND;

	if (!atomic_load(&dc->serving))
		return dc_count(dc, rc);
	pthread_rwlock_rdlock(&dc->lock);
	if ((e = table_find(&dc->cred, token_id, h)) != NULL) {
		memset(out, 0, sizeof(*out));
		out->kind = STORE_CRED_DEVICE;
		snprintf(
		    out->subject, sizeof(out->subject), "%s", cred_subject(e));
		snprintf(out->role, sizeof(out->role), "device");
		memcpy(out->hash, cred_hash(e), CRYPTO_HASH_LEN);
		out->revoked = e->revoked;
		entry_touch(e);
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

void
devcache_cred_insert(struct devcache *dc, uint64_t gen, const char *token_id,
    const struct store_credential *cred)
{
	size_t klen = strlen(token_id), slen = strlen(cred->subject);
	size_t size =
	    sizeof(struct dc_entry) + klen + 1 + slen + 1 + CRYPTO_HASH_LEN;
	struct dc_entry *e, *old;

	if (cred->kind != STORE_CRED_DEVICE || (e = calloc(1, size)) == NULL)
		return;
	e->size = size;
	e->h = dc_hash(token_id, klen);
	e->h_dev = dc_hash(cred->subject, slen);
	e->revoked = cred->revoked ? 1 : 0;
	memcpy(e->data, token_id, klen + 1);
	memcpy(e->data + klen + 1, cred->subject, slen + 1);
	memcpy(e->data + klen + 1 + slen + 1, cred->hash, CRYPTO_HASH_LEN);
	if (!insert_begin(dc, gen)) {
		sodium_memzero(e, size);
		free(e);
		return;
	}
	if ((old = table_find(&dc->cred, token_id, e->h)) != NULL)
		entry_remove(dc, &dc->cred, old);
	table_add(dc, &dc->cred, e);
	e->next_dev = dc->by_dev[e->h_dev & dc->cred.mask];
	dc->by_dev[e->h_dev & dc->cred.mask] = e;
	pthread_rwlock_unlock(&dc->lock);
}

/* Where the group ids of a facts entry start: after the four strings,
 * aligned. */
static size_t
facts_groups_at(const char *data)
{
	size_t off = 0;

	for (int i = 0; i < 4; i++)
		off += strlen(data + off) + 1;
	return (off + sizeof(int64_t) - 1) / sizeof(int64_t) * sizeof(int64_t);
}

/* Copies src into dst of cap bytes; -1 when it does not fit. */
static int
copy_fit(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
devcache_facts_lookup(struct devcache *dc, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count)
{
	struct dc_entry *e;
	const char *p;
	uint64_t h = dc_hash(id, strlen(id));
	int rc = OTA_ENOTFOUND;

	if (!atomic_load(&dc->serving))
		return dc_count(dc, rc);
	pthread_rwlock_rdlock(&dc->lock);
	if ((e = table_find(&dc->facts, id, h)) != NULL) {
		p = e->data + strlen(e->data) + 1;
		(void)copy_fit(out_hardware, STORE_HARDWARE_MAX + 1, p);
		p += strlen(p) + 1;
		(void)copy_fit(
		    out_reported_hardware, STORE_HARDWARE_MAX + 1, p);
		p += strlen(p) + 1;
		(void)copy_fit(out_version, STORE_VERSION_MAX + 1, p);
		*out_group_count =
		    e->ngroups < max_groups ? e->ngroups : max_groups;
		memcpy(out_group_ids, e->data + facts_groups_at(e->data),
		    *out_group_count * sizeof(int64_t));
		entry_touch(e);
		rc = 0;
	}
	pthread_rwlock_unlock(&dc->lock);
	return dc_count(dc, rc);
}

void
devcache_facts_insert(struct devcache *dc, uint64_t gen, const char *id,
    const struct devcache_facts *f)
{
	const char *s[4] = {id, f->hardware, f->reported_hardware, f->version};
	size_t len[4], off = 0, size;
	struct dc_entry *e, *old;

	if (f->group_count > DEVCACHE_GROUPS_MAX ||
	    strlen(f->hardware) > STORE_HARDWARE_MAX ||
	    strlen(f->reported_hardware) > STORE_HARDWARE_MAX ||
	    strlen(f->version) > STORE_VERSION_MAX)
		return;
	for (int i = 0; i < 4; i++)
		off += (len[i] = strlen(s[i])) + 1;
	off = (off + sizeof(int64_t) - 1) / sizeof(int64_t) * sizeof(int64_t);
	size = sizeof(struct dc_entry) + off + f->group_count * sizeof(int64_t);
	if ((e = calloc(1, size)) == NULL)
		return;
	e->size = size;
	e->h = dc_hash(id, len[0]);
	e->ngroups = (uint16_t)f->group_count;
	off = 0;
	for (int i = 0; i < 4; i++) {
		memcpy(e->data + off, s[i], len[i] + 1);
		off += len[i] + 1;
	}
	if (f->group_count > 0)
		memcpy(e->data + facts_groups_at(e->data), f->group_ids,
		    f->group_count * sizeof(int64_t));
	if (!insert_begin(dc, gen)) {
		free(e);
		return;
	}
	if ((old = table_find(&dc->facts, id, e->h)) != NULL)
		entry_remove(dc, &dc->facts, old);
	table_add(dc, &dc->facts, e);
	pthread_rwlock_unlock(&dc->lock);
}

/* Forgets one device: its facts and every credential of it.  Write lock
 * held. */
static void
forget_device(struct devcache *dc, const char *id, size_t len)
{
	uint64_t h = dc_hash(id, len);
	struct dc_entry *e, *next;

	e = dc->facts.bucket[h & dc->facts.mask];
	for (; e != NULL; e = next) {
		next = e->next;
		if (e->h == h && strlen(e->data) == len &&
		    memcmp(e->data, id, len) == 0)
			entry_remove(dc, &dc->facts, e);
	}
	e = dc->by_dev[h & dc->cred.mask];
	for (; e != NULL; e = next) {
		const char *subject = cred_subject(e);

		next = e->next_dev;
		if (e->h_dev == h && strlen(subject) == len &&
		    memcmp(subject, id, len) == 0)
			entry_remove(dc, &dc->cred, e);
	}
}

void
devcache_invalidate(struct devcache *dc, const char *ids)
{
	const char *p = ids;

	if (dc == NULL || ids == NULL)
		return;
	pthread_rwlock_wrlock(&dc->lock);
	atomic_fetch_add(&dc->gen, 1);
	if (strcmp(ids, "*") == 0) {
		table_clear(dc, &dc->cred);
		table_clear(dc, &dc->facts);
	} else {
		while (*p != '\0') {
			size_t n = strcspn(p, " ");

			if (n > 0)
				forget_device(dc, p, n);
			p += n;
			p += strspn(p, " ");
		}
	}
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
	table_clear(dc, &dc->cred);
	table_clear(dc, &dc->facts);
	pthread_rwlock_unlock(&dc->lock);
}

int
devcache_credential_get(struct devcache *dc, struct store_conn *c,
    const char *token_id, struct store_credential *out)
{
	uint64_t gen;
	int rc;

	if (dc == NULL)
		return store_credential_get(c, token_id, out);
	if (devcache_cred_lookup(dc, token_id, out) == 0)
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
	struct devcache_facts f;
	int64_t groups[DEVCACHE_GROUPS_MAX];
	size_t n = 0;
	uint64_t gen;
	int rc;

	if (dc == NULL)
		return store_device_poll_facts(c, id, out_hardware,
		    out_reported_hardware, out_version, out_group_ids,
		    max_groups, out_group_count);
	if (devcache_facts_lookup(dc, id, out_hardware, out_reported_hardware,
	        out_version, out_group_ids, max_groups, out_group_count) == 0)
		return 0;
	gen = devcache_generation(dc);
	rc = store_device_poll_facts(c, id, out_hardware, out_reported_hardware,
	    out_version, groups, DEVCACHE_GROUPS_MAX, &n);
	if (rc != 0)
		return rc;
	/* Full: the device may be in more groups than were read. */
	if (n < DEVCACHE_GROUPS_MAX) {
		f.hardware = out_hardware;
		f.reported_hardware = out_reported_hardware;
		f.version = out_version;
		f.group_ids = groups;
		f.group_count = n;
		devcache_facts_insert(dc, gen, id, &f);
	}
	*out_group_count = n < max_groups ? n : max_groups;
	memcpy(out_group_ids, groups, *out_group_count * sizeof(int64_t));
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
	out->credentials = dc->cred.n;
	out->devices = dc->facts.n;
	out->bytes = dc->bytes;
	pthread_rwlock_unlock(&dc->lock);
}

void
devcache_hook(void *arg, const char *ids)
{
	devcache_invalidate(arg, ids);
}
