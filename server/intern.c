/*
 * intern: an array of entries (an id is an index; free ones are chained
 * through next) and a power-of-two array of bucket chains, both grown by
 * doubling as values come, never past the bounds given to intern_new.
 */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

struct intern_entry {
	unsigned char *data; /* NULL: free */
	uint32_t len;
	uint32_t hash;
	uint32_t refs;
	uint32_t next; /* id + 1 of the next in the bucket (or free), 0 end */
};

struct intern {
	struct intern_entry *e;
	uint32_t *bucket; /* id + 1 of a chain's first, 0 empty */
	uint32_t cap, top, count, nbucket, free_head, max_entries;
	size_t data_bytes, max_bytes;
};

struct intern *
intern_new(uint32_t max_entries, size_t max_bytes)
{
	struct intern *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if (max_entries < 1)
		max_entries = 1;
	if (max_entries > INTERN_ENTRIES_MAX)
		max_entries = INTERN_ENTRIES_MAX;
	t->max_entries = max_entries;
	t->max_bytes = max_bytes;
	return t;
}

void
intern_clear(struct intern *t)
{
	for (uint32_t i = 0; i < t->top; i++)
		free(t->e[i].data);
	if (t->bucket != NULL)
		memset(t->bucket, 0, t->nbucket * sizeof(*t->bucket));
	t->top = t->count = t->free_head = 0;
	t->data_bytes = 0;
}

void
intern_free(struct intern *t)
{
	if (t == NULL)
		return;
	intern_clear(t);
	free(t->e);
	free(t->bucket);
	free(t);
}

/* Doubles the buckets (at least 64) and rechains every value. */
static int
intern_rehash(struct intern *t)
{
	uint32_t nb = t->nbucket == 0 ? 64 : t->nbucket * 2;
	uint32_t *b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return OTA_ENOMEM;
	for (uint32_t i = 0; i < t->top; i++) {
		struct intern_entry *x = &t->e[i];

		if (x->data == NULL)
			continue;
		x->next = b[x->hash & (nb - 1)];
		b[x->hash & (nb - 1)] = i + 1;
	}
	free(t->bucket);
	t->bucket = b;
	t->nbucket = nb;
	return 0;
}

/* A free entry's index into *out (the array grown when needed). */
static int
intern_slot(struct intern *t, uint32_t *out)
{
	struct intern_entry *e;
	uint32_t cap;

	if (t->free_head != 0) {
		*out = t->free_head - 1;
		t->free_head = t->e[*out].next;
		return 0;
	}
	if (t->top == t->cap) {
		cap = t->cap == 0 ? 16 : t->cap * 2;
		if (cap > t->max_entries)
			cap = t->max_entries;
		if ((e = realloc(t->e, cap * sizeof(*e))) == NULL)
			return OTA_ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	*out = t->top++;
	return 0;
}

int
intern_put(struct intern *t, const void *data, size_t len, uint32_t hash,
    uint16_t *out_id)
{
	struct intern_entry *x;
	uint32_t i;
	int rc;

	if (t->nbucket > 0)
		for (i = t->bucket[hash & (t->nbucket - 1)]; i != 0;
		     i = t->e[i - 1].next) {
			x = &t->e[i - 1];
			if (x->hash == hash && x->len == len &&
			    memcmp(x->data, data, len) == 0) {
				x->refs++;
				*out_id = (uint16_t)(i - 1);
				return 0;
			}
		}
	if (t->count >= t->max_entries || len >= t->max_bytes - t->data_bytes ||
	    len > UINT32_MAX - 1)
		return OTA_ETOOBIG;
	if (t->count >= t->nbucket && (rc = intern_rehash(t)) != 0)
		return rc;
	if ((rc = intern_slot(t, &i)) != 0)
		return rc;
	x = &t->e[i];
	/* One byte more: a zero-length value still has storage. */
	if ((x->data = malloc(len + 1)) == NULL) {
		x->next = t->free_head;
		t->free_head = i + 1;
		return OTA_ENOMEM;
	}
	memcpy(x->data, data, len);
	x->len = (uint32_t)len;
	x->hash = hash;
	x->refs = 1;
	x->next = t->bucket[hash & (t->nbucket - 1)];
	t->bucket[hash & (t->nbucket - 1)] = i + 1;
	t->count++;
	t->data_bytes += len + 1;
	*out_id = (uint16_t)i;
	return 0;
}

const void *
intern_get(const struct intern *t, uint16_t id, size_t *out_len)
{
	*out_len = t->e[id].len;
	return t->e[id].data;
}

void
intern_unref(struct intern *t, uint16_t id)
{
	struct intern_entry *x = &t->e[id];
	uint32_t *pp;

	if (--x->refs > 0)
		return;
	pp = &t->bucket[x->hash & (t->nbucket - 1)];
	while (*pp != (uint32_t)id + 1)
		pp = &t->e[*pp - 1].next;
	*pp = x->next;
	t->data_bytes -= x->len + 1;
	free(x->data);
	x->data = NULL;
	x->next = t->free_head;
	t->free_head = (uint32_t)id + 1;
	t->count--;
}

uint32_t
intern_count(const struct intern *t)
{
	return t->count;
}

size_t
intern_bytes(const struct intern *t)
{
	return sizeof(*t) + t->cap * sizeof(struct intern_entry) +
	       t->nbucket * sizeof(uint32_t) + t->data_bytes;
}
