/*
 * compcache: the components of a device as one blob of a devslots table:
 * per component "name\0hardware\0version\0", after a count byte.
 */
#include "compcache.h"

#include <stdlib.h>
#include <string.h>

#include "devslots.h"
#include "errors.h"
#include "store_components.h"

struct compcache {
	struct devslots *t;
};

struct compcache *
compcache_new(size_t max_entries, int serving)
{
	struct compcache *cc;

	if (max_entries == 0 || (cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	if ((cc->t = devslots_new(max_entries, serving, "components cache")) ==
	    NULL) {
		free(cc);
		return NULL;
	}
	return cc;
}

void
compcache_free(struct compcache *cc)
{
	if (cc == NULL)
		return;
	devslots_free(cc->t);
	free(cc);
}

uint64_t
compcache_ticket(struct compcache *cc)
{
	return cc != NULL ? devslots_ticket(cc->t) : 0;
}

/* What a lookup fills. */
struct cc_out {
	struct component *v;
	size_t max;
	size_t *n;
};

/* Copies the next string of a blob at *p (ending before end) into dst
 * (dstsize bytes).  0, or -1 when the blob is not what insert wrote. */
static int
cc_take(const char **p, const char *end, char *dst, size_t dstsize)
{
	const char *z = memchr(*p, '\0', (size_t)(end - *p));

	if (z == NULL || (size_t)(z - *p) >= dstsize)
		return -1;
	memcpy(dst, *p, (size_t)(z - *p) + 1);
	*p = z + 1;
	return 0;
}

/* Unpacks a blob into the lookup's out (devslots_lookup's read). */
static int
cc_read(void *arg, const void *blob, size_t len)
{
	const struct cc_out *o = arg;
	const char *p = blob, *end = p + len;
	size_t n;

	if (len < 1 || (n = (unsigned char)*p++) > o->max)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (cc_take(&p, end, o->v[i].name, sizeof(o->v[i].name)) != 0 ||
		    cc_take(&p, end, o->v[i].hardware,
		        sizeof(o->v[i].hardware)) != 0 ||
		    cc_take(
		        &p, end, o->v[i].version, sizeof(o->v[i].version)) != 0)
			return -1;
	*o->n = n;
	return 0;
}

int
compcache_lookup(struct compcache *cc, const char *id, struct component *out,
    size_t max, size_t *out_n)
{
	struct cc_out o = {out, max, out_n};

	return devslots_lookup(cc != NULL ? cc->t : NULL, id, cc_read, &o);
}

void
compcache_insert(struct compcache *cc, uint64_t ticket, const char *id,
    const struct component *v, size_t n)
{
	char blob[1 + COMPONENTS_MAX * sizeof(struct component)];
	size_t at = 1;

	_Static_assert(COMPONENTS_MAX <= 255, "n fits a byte");
	if (cc == NULL || n > COMPONENTS_MAX)
		return;
	blob[0] = (char)n;
	for (size_t i = 0; i < n; i++) {
		const char *f[3] = {v[i].name, v[i].hardware, v[i].version};

		for (int k = 0; k < 3; k++) {
			size_t l = strnlen(f[k], sizeof(struct component)) + 1;

			if (at + l > sizeof(blob))
				return; /* not from a struct component */
			memcpy(blob + at, f[k], l - 1);
			blob[at + l - 1] = '\0';
			at += l;
		}
	}
	devslots_insert(cc->t, ticket, id, blob, at);
}

void
compcache_invalidate(struct compcache *cc, const char *ids)
{
	if (cc != NULL)
		devslots_invalidate(cc->t, ids);
}

void
compcache_set_serving(struct compcache *cc, int on)
{
	if (cc != NULL)
		devslots_set_serving(cc->t, on);
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
	if (cc != NULL)
		devslots_stats(cc->t, &out->hits, &out->misses, &out->devices);
}

int
compcache_read(struct compcache *cc, struct store_conn *c, const char *id,
    struct component **out, size_t *out_n)
{
	uint64_t ticket;
	int rc;

	*out = NULL;
	*out_n = 0;
	if (cc != NULL) {
		if ((*out = malloc(COMPONENTS_MAX * sizeof(**out))) == NULL)
			return OTA_ENOMEM;
		if (compcache_lookup(cc, id, *out, COMPONENTS_MAX, out_n) == 0)
			return 0;
		free(*out);
		*out = NULL;
	}
	ticket = compcache_ticket(cc);
	if ((rc = store_components_get(c, id, out, out_n)) == 0)
		compcache_insert(cc, ticket, id, *out, *out_n);
	return rc;
}
