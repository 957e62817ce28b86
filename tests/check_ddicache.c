/*
 * check_ddicache: the DDI poll facts cache alone (hits, misses, what an
 * entry gives back, the generation rule, the rollouts generation, "*",
 * ids, not serving, a slot taken by another device, a full set, the
 * bound), then
 * wired to a device cache through its listener: what the device cache
 * forgets, and whether it serves, the DDI cache follows.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddi.h"
#include "ddicache.h"
#include "devcache.h"
#include "errors.h"
#include "log.h"
#include "testutil.h"

/* Facts of n actions: action i has id base + i, rollout 10 + i,
 * image 100 + i, status running; the last one's rollout aborted. */
static void
facts_of(struct store_ddi_poll *f, size_t n, int64_t base)
{
	memset(f, 0, sizeof(*f));
	f->action_count = n;
	f->attributes_wanted = 1;
	f->installed_action_id = base - 1;
	for (size_t i = 0; i < n; i++) {
		struct store_ddi_action *a = &f->actions[i];

		a->id = base + (int64_t)i;
		a->rollout_id = 10 + (int64_t)i;
		a->image_id = 100 + (int64_t)i;
		a->status = DDI_RUNNING;
		a->targeted = (int)(i % 2);
		snprintf(a->rollout_state, sizeof(a->rollout_state), "%s",
		    i + 1 == n ? "aborted" : "running");
		snprintf(a->image_version, sizeof(a->image_version), "9.9.9");
	}
}

/* Inserts f for id with a ticket taken now. */
static void
put(struct ddicache *dc, const char *id, const struct store_ddi_poll *f)
{
	struct ddicache_ticket t;

	ddicache_ticket(dc, &t);
	ddicache_insert(dc, &t, id, f);
}

static int
get(struct ddicache *dc, const char *id)
{
	struct store_ddi_poll out;

	return ddicache_lookup(dc, id, &out);
}

START_TEST(test_hit_miss)
{
	atomic_uint_fast64_t rgen = 1;
	struct ddicache *dc = ddicache_new(16, &rgen, 1);
	struct store_ddi_poll f, out;
	struct ddicache_stats stats;

	ck_assert_ptr_null(ddicache_new(0, &rgen, 1));
	ck_assert_ptr_nonnull(dc);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	facts_of(&f, 3, 40);
	put(dc, "d1", &f);
	memset(&out, 0xff, sizeof(out));
	ck_assert_int_eq(ddicache_lookup(dc, "d1", &out), 0);
	ck_assert_uint_eq(out.action_count, 3);
	ck_assert_int_eq(out.attributes_wanted, 1);
	ck_assert_int_eq(out.installed_action_id, 39);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(out.actions[i].id, 40 + (int64_t)i);
		ck_assert_int_eq(out.actions[i].rollout_id, 10 + (int64_t)i);
		ck_assert_int_eq(out.actions[i].image_id, 100 + (int64_t)i);
		ck_assert_int_eq(out.actions[i].status, DDI_RUNNING);
		ck_assert_int_eq(out.actions[i].targeted, (int)(i % 2));
		/* Only what a poll decides on: the rest is zero. */
		ck_assert_str_eq(out.actions[i].image_version, "");
	}
	ck_assert_str_eq(out.actions[0].rollout_state, "");
	ck_assert_str_eq(out.actions[2].rollout_state, "aborted");
	/* A device without actions is cached too. */
	facts_of(&f, 0, 1);
	f.attributes_wanted = 0;
	put(dc, "d2", &f);
	ck_assert_int_eq(ddicache_lookup(dc, "d2", &out), 0);
	ck_assert_uint_eq(out.action_count, 0);
	ck_assert_int_eq(out.attributes_wanted, 0);
	/* A prefix or an extension of an id is another id. */
	ck_assert_int_eq(get(dc, "d"), OTA_ENOTFOUND);
	ck_assert_int_eq(get(dc, "d10"), OTA_ENOTFOUND);
	ddicache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 2);
	ck_assert_uint_eq(stats.hits, 2);
	ck_assert_uint_eq(stats.misses, 3);
	ddicache_free(dc);
	ddicache_free(NULL);
	/* No cache: nothing cached, nothing fails. */
	ck_assert_int_eq(get(NULL, "d1"), OTA_ENOTFOUND);
	put(NULL, "d1", &f);
	ddicache_invalidate(NULL, "*");
}
END_TEST

START_TEST(test_generation_race)
{
	atomic_uint_fast64_t rgen = 1;
	struct ddicache *dc = ddicache_new(16, &rgen, 1);
	struct store_ddi_poll f;
	struct ddicache_ticket t;

	facts_of(&f, 1, 7);
	/* A reader took its ticket and read the database; the device
	 * changed and was invalidated before it inserts: dropped. */
	ddicache_ticket(dc, &t);
	ddicache_invalidate(dc, "d1");
	ddicache_insert(dc, &t, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	/* Another device's invalidation drops it too (one generation). */
	ddicache_ticket(dc, &t);
	ddicache_invalidate(dc, "other");
	ddicache_insert(dc, &t, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	/* Read after the invalidation: kept; removed by the next one. */
	put(dc, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), 0);
	ddicache_invalidate(dc, "d1");
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);

	/* A rollout change committed (the generation moved) after the
	 * reader's ticket: what it read is never served. */
	ddicache_ticket(dc, &t);
	atomic_fetch_add(&rgen, 1);
	ddicache_insert(dc, &t, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	/* Read after it: served until the next rollout change. */
	put(dc, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), 0);
	atomic_fetch_add(&rgen, 1);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ddicache_free(dc);
}
END_TEST

START_TEST(test_invalidate)
{
	atomic_uint_fast64_t rgen = 1;
	struct ddicache *dc = ddicache_new(64, &rgen, 1);
	struct store_ddi_poll f;
	char longid[STORE_DEVICE_ID_MAX + 40];

	facts_of(&f, 2, 1);
	put(dc, "d1", &f);
	put(dc, "d2", &f);
	put(dc, "d3", &f);
	ddicache_invalidate(dc, "d1 d3");
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ck_assert_int_eq(get(dc, "d3"), OTA_ENOTFOUND);
	ck_assert_int_eq(get(dc, "d2"), 0);
	ddicache_invalidate(dc, "d");
	ddicache_invalidate(dc, "");
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ddicache_invalidate(dc, longid);
	ck_assert_int_eq(get(dc, "d2"), 0);
	/* "*": everything, and what is inserted after it is served. */
	ddicache_invalidate(dc, "*");
	ck_assert_int_eq(get(dc, "d2"), OTA_ENOTFOUND);
	put(dc, "d2", &f);
	ck_assert_int_eq(get(dc, "d2"), 0);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ddicache_free(dc);
}
END_TEST

START_TEST(test_serving)
{
	atomic_uint_fast64_t rgen = 1;
	struct ddicache *dc = ddicache_new(16, &rgen, 0);
	struct store_ddi_poll f;
	struct ddicache_ticket t;

	facts_of(&f, 1, 1);
	put(dc, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ddicache_set_serving(dc, 1);
	/* A ticket taken before it stops serving is stale after. */
	ddicache_ticket(dc, &t);
	put(dc, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), 0);
	ddicache_set_serving(dc, 0);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ddicache_set_serving(dc, 1);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ddicache_insert(dc, &t, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ddicache_free(dc);
}
END_TEST

/* Two devices whose ids take the same slot: the later replaces the
 * earlier, and an invalidation of the one not held leaves the other. */
START_TEST(test_slots)
{
	atomic_uint_fast64_t rgen = 1;
	struct ddicache *dc = ddicache_new(4, &rgen, 1);
	struct store_ddi_poll f, out;
	struct ddicache_stats stats;
	char id[32];
	int hits = 0;

	facts_of(&f, 1, 5);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		put(dc, id, &f);
	}
	ddicache_get_stats(dc, &stats);
	ck_assert_uint_le(stats.devices, 4);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "dev-%d", i);
		if (ddicache_lookup(dc, id, &out) == 0) {
			hits++;
			ck_assert_int_eq(out.actions[0].id, 5);
			/* Only this one: the others of its slot are gone. */
			ddicache_invalidate(dc, "dev-1000");
			ck_assert_int_eq(get(dc, id), 0);
			ddicache_invalidate(dc, id);
			ck_assert_int_eq(get(dc, id), OTA_ENOTFOUND);
		}
	}
	ck_assert_int_ge(hits, 1);
	ck_assert_int_le(hits, 4);
	ddicache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 0);
	ddicache_free(dc);
}
END_TEST

/* Eight devices in a table of eight slots are all held, however their
 * ids hash (these eight took one slot when the table was direct-mapped);
 * a ninth replaces one of them; forgetting one leaves the others. */
START_TEST(test_set_full)
{
	static const char *const ids[] = {"dev-07", "dev-14", "dev-25",
	    "dev-32", "dev-43", "dev-50", "dev-58", "dev-61"};
	atomic_uint_fast64_t rgen = 1;
	struct ddicache *dc = ddicache_new(8, &rgen, 1);
	struct store_ddi_poll f;
	struct ddicache_stats stats;
	int held = 0;

	facts_of(&f, 1, 5);
	for (size_t i = 0; i < 8; i++)
		put(dc, ids[i], &f);
	for (size_t i = 0; i < 8; i++)
		ck_assert_int_eq(get(dc, ids[i]), 0);
	/* A middle one forgotten: the rest of its set still answers. */
	ddicache_invalidate(dc, "dev-25");
	ck_assert_int_eq(get(dc, "dev-25"), OTA_ENOTFOUND);
	for (size_t i = 0; i < 8; i++)
		if (i != 2)
			ck_assert_int_eq(get(dc, ids[i]), 0);
	put(dc, "dev-25", &f);
	put(dc, "dev-99", &f); /* the set is full: one is replaced */
	ck_assert_int_eq(get(dc, "dev-99"), 0);
	for (size_t i = 0; i < 8; i++)
		held += get(dc, ids[i]) == 0;
	ck_assert_int_eq(held, 7);
	ddicache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 8);
	/* "*": every entry stale, each replaced before any fresh one. */
	ddicache_invalidate(dc, "*");
	for (size_t i = 0; i < 8; i++) {
		ck_assert_int_eq(get(dc, ids[i]), OTA_ENOTFOUND);
		put(dc, ids[i], &f);
	}
	for (size_t i = 0; i < 8; i++)
		ck_assert_int_eq(get(dc, ids[i]), 0);
	ddicache_free(dc);
}
END_TEST

/* The wiring ddi_service makes: devcache's listener. */
START_TEST(test_devcache_listener)
{
	atomic_uint_fast64_t rgen = 1;
	struct devcache *devs = devcache_new(16, 0);
	struct ddicache *dc = ddicache_new(16, &rgen, 1);
	struct devcache_listener l = {ddicache_hook, ddicache_serving_hook, dc};
	static const struct devcache_listener none;
	struct store_ddi_poll f;

	facts_of(&f, 1, 1);
	/* Told at once that the device cache does not serve. */
	devcache_set_listener(devs, &l);
	put(dc, "d1", &f);
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	devcache_set_serving(devs, 1);
	put(dc, "d1", &f);
	put(dc, "d2", &f);
	ck_assert_int_eq(get(dc, "d1"), 0);
	/* A device change (store hook, another node) reaches it. */
	devcache_hook(devs, "d1");
	ck_assert_int_eq(get(dc, "d1"), OTA_ENOTFOUND);
	ck_assert_int_eq(get(dc, "d2"), 0);
	devcache_invalidate(devs, "*");
	ck_assert_int_eq(get(dc, "d2"), OTA_ENOTFOUND);
	/* The listener lost its connection: nothing served. */
	put(dc, "d2", &f);
	devcache_set_serving(devs, 0);
	ck_assert_int_eq(get(dc, "d2"), OTA_ENOTFOUND);
	devcache_set_serving(devs, 1);
	put(dc, "d2", &f);
	ck_assert_int_eq(get(dc, "d2"), 0);
	/* Unhooked (the service goes first at shutdown): not told. */
	devcache_set_listener(devs, &none);
	ddicache_free(dc);
	devcache_invalidate(devs, "d2");
	devcache_set_serving(devs, 0);
	devcache_free(devs);
}
END_TEST

static Suite *
ddicache_suite(void)
{
	Suite *s = suite_create("ddicache");
	TCase *tc = tcase_create("cache");

	tcase_add_test(tc, test_hit_miss);
	tcase_add_test(tc, test_generation_race);
	tcase_add_test(tc, test_invalidate);
	tcase_add_test(tc, test_serving);
	tcase_add_test(tc, test_slots);
	tcase_add_test(tc, test_set_full);
	tcase_add_test(tc, test_devcache_listener);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(ddicache_suite());
}
