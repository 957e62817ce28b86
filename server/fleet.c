/*
 * fleet: the fleet summary, scanned by the store, ranked and cut here,
 * kept as JSON text when the scan was slow.  The lock guards the slots
 * and the one-scan-at-a-time flag; a scan runs without it.  A slot stays
 * after its time: it is then given only while a scan runs.
 */
#include "fleet.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "log.h"
#include "store.h"
#include "store_fleet.h"
#include "timeutil.h"

/* Answers kept: one per stale_days asked recently. */
#define FLEET_SLOTS 4

struct fleet_slot {
	int stale_days;   /* 0: empty */
	int64_t until_ms; /* monotonic: reused until then */
	char *text;
	size_t len;
};

struct fleet {
	struct store *store;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int scanning;
	unsigned next; /* the slot the next answer replaces */
	struct fleet_slot slot[FLEET_SLOTS];
};

struct fleet *
fleet_new(struct store *st)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		log_err("msg=\"fleet: out of memory\"");
		return NULL;
	}
	f->store = st;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	return f;
}

void
fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	for (int i = 0; i < FLEET_SLOTS; i++)
		free(f->slot[i].text);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* One list of the summary being built: counts keyed by name (the key ""
 * stands for "none reported", since no stored version is empty). */
struct tally {
	json_t *map; /* name -> [devices, stale] */
};

static int
tally_add(struct tally *t, const char *key, int64_t n, int64_t stale)
{
	json_t *e = json_object_get(t->map, key);

	if (e == NULL)
		return json_object_set_new(t->map, key,
		           json_pack(
		               "[I, I]", (json_int_t)n, (json_int_t)stale)) == 0
		           ? 0
		           : OTA_ENOMEM;
	json_array_set_new(
	    e, 0, json_integer(json_integer_value(json_array_get(e, 0)) + n));
	json_array_set_new(e, 1,
	    json_integer(json_integer_value(json_array_get(e, 1)) + stale));
	return 0;
}

/* The last-seen distribution: the store's seen index names its entry. */
static const char *const seen_names[] = {
    "hour", "day", "week", "older", "never"};
#define SEEN_N (sizeof(seen_names) / sizeof(seen_names[0]))

struct summary {
	struct tally version, hardware;
	int64_t devices, stale;
	int64_t seen[SEEN_N];
};

static int
summary_row(const char *version, const char *hardware, int seen, int64_t n,
    int64_t stale, void *arg)
{
	struct summary *s = arg;
	int rc;

	if (seen < 0 || (size_t)seen >= SEEN_N)
		return OTA_EDB;
	s->seen[seen] += n;
	s->devices += n;
	s->stale += stale;
	if ((rc = tally_add(
	         &s->version, version != NULL ? version : "", n, stale)) != 0)
		return rc;
	return tally_add(
	    &s->hardware, hardware != NULL ? hardware : "", n, stale);
}

struct ranked {
	const char *key;
	json_int_t n, stale;
};

static int
ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Sets field (an array, largest first, cut) and field_other in out from
 * t; name is each entry's key field.  0 or OTA_ENOMEM. */
static int
tally_json(json_t *out, const char *field, const char *name, struct tally *t)
{
	size_t n = json_object_size(t->map), i = 0;
	struct ranked *r = calloc(n > 0 ? n : 1, sizeof(*r));
	json_int_t other_n = 0, other_stale = 0;
	json_t *arr = json_array(), *v;
	const char *k;
	char other[64];

	if (r == NULL || arr == NULL) {
		free(r);
		json_decref(arr);
		return OTA_ENOMEM;
	}
	json_object_foreach(t->map, k, v) {
		r[i].key = k;
		r[i].n = json_integer_value(json_array_get(v, 0));
		r[i++].stale = json_integer_value(json_array_get(v, 1));
	}
	qsort(r, n, sizeof(*r), ranked_cmp);
	for (i = 0; i < n; i++) {
		if (i >= FLEET_TOP) {
			other_n += r[i].n;
			other_stale += r[i].stale;
			continue;
		}
		json_array_append_new(
		    arr, json_pack("{s:o, s:I, s:I}", name,
		             r[i].key[0] != '\0' ? json_string(r[i].key)
		                                 : json_null(),
		             "devices", r[i].n, "stale", r[i].stale));
	}
	free(r);
	snprintf(other, sizeof(other), "%s_other", field);
	json_object_set_new(out, field, arr);
	json_object_set_new(out, other,
	    json_pack("{s:I, s:I, s:I}", "entries",
	        (json_int_t)(n > FLEET_TOP ? n - FLEET_TOP : 0), "devices",
	        other_n, "stale", other_stale));
	return 0;
}

/* {"hour": n, "day": n, ...}: devices last seen within the last hour, a
 * day (but not the hour), a week, before that, never; or NULL. */
static json_t *
seen_json(const struct summary *s)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < SEEN_N; i++)
		if (json_object_set_new(o, seen_names[i],
		        json_integer((json_int_t)s->seen[i])) != 0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

/* Scans the store and writes the summary's JSON text into *out_text
 * (malloc'd).  0, OTA_ENOMEM or OTA_EDB. */
static int
fleet_scan(struct fleet *f, int stale_days, char **out_text, size_t *out_len)
{
	static const int64_t cut_s[STORE_FLEET_SEEN_CUTS] = {
	    3600, 86400, 7 * 86400};
	struct summary s = {{json_object()}, {json_object()}, 0, 0, {0}};
	char before[TIMEUTIL_RFC3339_LEN], now[TIMEUTIL_RFC3339_LEN];
	char cut[STORE_FLEET_SEEN_CUTS][TIMEUTIL_RFC3339_LEN];
	const char *const since[STORE_FLEET_SEEN_CUTS] = {
	    cut[0], cut[1], cut[2]};
	int64_t now_s = timeutil_now_ms() / 1000;
	struct store_conn *c;
	json_t *out = NULL;
	int rc;

	timeutil_format_rfc3339(now_s - (int64_t)stale_days * 86400, before);
	timeutil_format_rfc3339(now_s, now);
	for (int i = 0; i < STORE_FLEET_SEEN_CUTS; i++)
		timeutil_format_rfc3339(now_s - cut_s[i], cut[i]);
	c = store_acquire(f->store);
	rc = s.version.map == NULL || s.hardware.map == NULL
	         ? OTA_ENOMEM
	         : store_fleet_versions(c, before, since, summary_row, &s);
	store_release(f->store, c);
	if (rc != 0)
		goto out;
	out = json_pack("{s:I, s:I, s:i, s:s, s:s, s:o*}", "devices",
	    (json_int_t)s.devices, "stale", (json_int_t)s.stale, "stale_days",
	    stale_days, "seen_before", before, "computed_at", now, "last_seen",
	    seen_json(&s));
	rc = OTA_ENOMEM;
	if (out == NULL || json_object_get(out, "last_seen") == NULL ||
	    tally_json(out, "by_version", "version", &s.version) != 0 ||
	    tally_json(out, "by_hardware", "hardware", &s.hardware) != 0 ||
	    (*out_text = json_dumps(out, JSON_COMPACT)) == NULL)
		goto out;
	*out_len = strlen(*out_text);
	rc = 0;
out:
	json_decref(out);
	json_decref(s.version.map);
	json_decref(s.hardware.map);
	return rc;
}

/* A copy of the answer kept for stale_days, or NULL (none, or out of
 * memory): one still to be reused, or when expired is set one past its
 * time too (its computed_at says how old it is).  Caller holds f->mu. */
static char *
slot_copy(struct fleet *f, int stale_days, int64_t now_ms, int expired,
    size_t *out_len)
{
	for (int i = 0; i < FLEET_SLOTS; i++) {
		struct fleet_slot *sl = &f->slot[i];
		char *t;

		if (sl->stale_days != stale_days ||
		    (!expired && now_ms >= sl->until_ms))
			continue;
		if ((t = malloc(sl->len + 1)) != NULL) {
			memcpy(t, sl->text, sl->len + 1);
			*out_len = sl->len;
		}
		return t;
	}
	return NULL;
}

/* Keeps a copy of text for stale_days until until_ms (replacing that
 * stale_days' slot, else the oldest).  Caller holds f->mu. */
static void
slot_keep(struct fleet *f, int stale_days, int64_t until_ms, const char *text,
    size_t len)
{
	struct fleet_slot *sl = NULL;
	char *t = malloc(len + 1);

	if (t == NULL)
		return; /* not kept: the next call scans again */
	memcpy(t, text, len + 1);
	for (int i = 0; i < FLEET_SLOTS && sl == NULL; i++)
		if (f->slot[i].stale_days == stale_days)
			sl = &f->slot[i];
	if (sl == NULL)
		sl = &f->slot[f->next++ % FLEET_SLOTS];
	free(sl->text);
	*sl = (struct fleet_slot){stale_days, until_ms, t, len};
}

/* Forgets the answer kept for stale_days: a fast scan's answer is newer
 * than any a caller could be given during the next scan.  Caller holds
 * f->mu. */
static void
slot_drop(struct fleet *f, int stale_days)
{
	for (int i = 0; i < FLEET_SLOTS; i++)
		if (f->slot[i].stale_days == stale_days) {
			free(f->slot[i].text);
			f->slot[i] = (struct fleet_slot){0, 0, NULL, 0};
		}
}

int
fleet_summary(struct fleet *f, int stale_days, char **out_text, size_t *out_len)
{
	int64_t t0, took;
	int rc;

	*out_text = NULL;
	if (stale_days < 1 || stale_days > FLEET_STALE_DAYS_MAX)
		return OTA_EINVAL;
	/* While a scan runs, an answer kept for stale_days is given even
	 * if expired: a caller waits (holding an HTTP worker thread) only
	 * when there is nothing to give. */
	pthread_mutex_lock(&f->mu);
	for (;;) {
		*out_text = slot_copy(
		    f, stale_days, timeutil_mono_ms(), f->scanning, out_len);
		if (*out_text != NULL || !f->scanning)
			break;
		pthread_cond_wait(&f->cv, &f->mu);
	}
	if (*out_text != NULL) {
		pthread_mutex_unlock(&f->mu);
		return 0;
	}
	f->scanning = 1;
	pthread_mutex_unlock(&f->mu);
	t0 = timeutil_mono_ms();
	rc = fleet_scan(f, stale_days, out_text, out_len);
	took = timeutil_mono_ms() - t0;
	pthread_mutex_lock(&f->mu);
	if (rc == 0 && took >= FLEET_SLOW_MS) {
		int64_t keep = took * FLEET_REUSE_FACTOR;

		slot_keep(f, stale_days,
		    t0 + took +
		        (keep < FLEET_REUSE_MAX_MS ? keep : FLEET_REUSE_MAX_MS),
		    *out_text, *out_len);
		log_info("msg=\"fleet summary scanned\" stale_days=%d "
		         "duration_ms=%lld reused_ms=%lld",
		    stale_days, (long long)took,
		    (long long)(keep < FLEET_REUSE_MAX_MS
		                    ? keep
		                    : FLEET_REUSE_MAX_MS));
	} else if (rc == 0)
		slot_drop(f, stale_days);
	f->scanning = 0;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return rc;
}
