/*
 * intern: a bounded table of byte strings, each kept once and named by a
 * small id, counted by references and freed at the last one.  Pure: no
 * locks (the caller serialises), no I/O; the caller hashes each value
 * (with a keyed hash when values come from outside).
 */
#ifndef OTAD_INTERN_H
#define OTAD_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* Ids fit a uint16_t. */
#define INTERN_ENTRIES_MAX 65535

struct intern;

/*
 * Creates a table of at most max_entries values (1..INTERN_ENTRIES_MAX)
 * holding at most max_bytes of values in all.  Returns NULL when out of
 * memory.  Nothing is allocated for values until they are put.
 */
struct intern *intern_new(uint32_t max_entries, size_t max_bytes);

/* Frees t and every value.  NULL-safe. */
void intern_free(struct intern *t);

/*
 * The id of the len bytes at data (hash: the caller's hash of them),
 * added when new; takes one reference either way.  Returns 0,
 * OTA_ETOOBIG when a new value would pass either bound, OTA_ENOMEM.
 */
int intern_put(struct intern *t, const void *data, size_t len, uint32_t hash,
    uint16_t *out_id);

/* The value of id (a reference held) and its length into *out_len;
 * borrowed until its last reference goes. */
const void *intern_get(const struct intern *t, uint16_t id, size_t *out_len);

/* Drops one reference of id; the last one frees the value. */
void intern_unref(struct intern *t, uint16_t id);

/* Drops every value (their references with them). */
void intern_clear(struct intern *t);

/* Values now, and bytes allocated by t (its arrays and values). */
uint32_t intern_count(const struct intern *t);
size_t intern_bytes(const struct intern *t);

#endif
