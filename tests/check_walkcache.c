/*
 * check_walkcache: which member walks of rollout health are kept and given
 * again (walkcache.h): slow ones for a while, fast ones never, one of
 * another policy never, an expired one while another caller walks, and
 * the least recently used one dropped when the table is full.
 */
#include <check.h>
#include <stdint.h>

#include "testutil.h"
#include "walkcache.h"

/* A walk whose figures say which it is. */
static struct walkcache_walk
walk_of(uint64_t targeted)
{
	struct walkcache_walk w = {{0}, 0, 0};

	w.entered[0] = targeted;
	w.targeted = targeted;
	w.computed_at_ms = (int64_t)targeted * 1000;
	return w;
}

/* A walk of 1 s is given for 10 s after it ended, then walked again. */
START_TEST(test_slow_walk_reused)
{
	struct walkcache *wc = walkcache_new();
	struct walkcache_walk w = walk_of(1000000), got;

	ck_assert_ptr_nonnull(wc);
	ck_assert_int_eq(walkcache_get(wc, 7, 42, 1000, &got), 0);
	walkcache_put(wc, 7, 42, &w, 1000, 2000);
	ck_assert_int_eq(walkcache_get(wc, 7, 42, 2001, &got), 1);
	ck_assert_uint_eq(got.targeted, 1000000);
	ck_assert_uint_eq(got.entered[0], 1000000);
	ck_assert_int_eq(got.computed_at_ms, 1000000000LL);
	ck_assert_int_eq(walkcache_get(wc, 7, 42, 11999, &got), 1);
	/* Its time is up: this caller walks. */
	ck_assert_int_eq(walkcache_get(wc, 7, 42, 12000, &got), 0);
	/* Meanwhile another caller is given the expired walk at once. */
	got.targeted = 0;
	ck_assert_int_eq(walkcache_get(wc, 7, 42, 12500, &got), 1);
	ck_assert_uint_eq(got.targeted, 1000000);
	w = walk_of(999999);
	walkcache_put(wc, 7, 42, &w, 12000, 13000);
	ck_assert_int_eq(walkcache_get(wc, 7, 42, 13001, &got), 1);
	ck_assert_uint_eq(got.targeted, 999999);
	/* Another rollout has nothing kept. */
	ck_assert_int_eq(walkcache_get(wc, 8, 42, 13001, &got), 0);
	walkcache_abandon(wc, 8);
	walkcache_free(wc);
}
END_TEST

/* The reuse is capped at WALKCACHE_REUSE_MAX_MS. */
START_TEST(test_reuse_capped)
{
	struct walkcache *wc = walkcache_new();
	struct walkcache_walk w = walk_of(5), got;

	ck_assert_int_eq(walkcache_get(wc, 1, 1, 0, &got), 0);
	walkcache_put(wc, 1, 1, &w, 0, 10000);
	ck_assert_int_eq(
	    walkcache_get(wc, 1, 1, 10000 + WALKCACHE_REUSE_MAX_MS - 1, &got),
	    1);
	ck_assert_int_eq(
	    walkcache_get(wc, 1, 1, 10000 + WALKCACHE_REUSE_MAX_MS, &got), 0);
	walkcache_abandon(wc, 1);
	walkcache_free(wc);
}
END_TEST

/* A fast walk is never kept, and drops the slow one kept before. */
START_TEST(test_fast_walk_not_kept)
{
	struct walkcache *wc = walkcache_new();
	struct walkcache_walk w = walk_of(3), got;

	ck_assert_int_eq(walkcache_get(wc, 2, 9, 0, &got), 0);
	walkcache_put(wc, 2, 9, &w, 0, WALKCACHE_SLOW_MS - 1);
	ck_assert_int_eq(walkcache_get(wc, 2, 9, WALKCACHE_SLOW_MS, &got), 0);
	walkcache_put(wc, 2, 9, &w, 1000, 1000 + WALKCACHE_SLOW_MS);
	ck_assert_int_eq(walkcache_get(wc, 2, 9, 1300, &got), 1);
	ck_assert_int_eq(walkcache_get(wc, 2, 9, 5000, &got), 0);
	walkcache_put(wc, 2, 9, &w, 5000, 5001);
	ck_assert_int_eq(walkcache_get(wc, 2, 9, 5002, &got), 0);
	walkcache_abandon(wc, 2);
	walkcache_free(wc);
}
END_TEST

/* A walk kept under another key (the rollout was edited) is never given,
 * not even while someone walks; an abandoned walk lets the next caller
 * walk. */
START_TEST(test_key_and_abandon)
{
	struct walkcache *wc = walkcache_new();
	struct walkcache_walk w = walk_of(100), got;

	ck_assert_int_eq(walkcache_get(wc, 3, 1, 0, &got), 0);
	walkcache_put(wc, 3, 1, &w, 0, 1000);
	ck_assert_int_eq(walkcache_get(wc, 3, 2, 1001, &got), 0);
	ck_assert_int_eq(walkcache_get(wc, 3, 2, 1002, &got), 0);
	ck_assert_int_eq(walkcache_get(wc, 3, 1, 1003, &got), 0);
	walkcache_abandon(wc, 3);
	walkcache_abandon(wc, 3);
	walkcache_abandon(wc, 3);
	walkcache_abandon(wc, 3); /* one too many: harmless */
	w = walk_of(101);
	ck_assert_int_eq(walkcache_get(wc, 3, 2, 2000, &got), 0);
	walkcache_put(wc, 3, 2, &w, 2000, 3000);
	ck_assert_int_eq(walkcache_get(wc, 3, 2, 3001, &got), 1);
	ck_assert_uint_eq(got.targeted, 101);
	walkcache_free(wc);
}
END_TEST

/* A full table drops the walk asked for least recently. */
START_TEST(test_eviction)
{
	struct walkcache *wc = walkcache_new();
	struct walkcache_walk w, got;
	int64_t t = 0;

	for (int64_t id = 1; id <= WALKCACHE_ENTRIES; id++) {
		w = walk_of((uint64_t)id);
		ck_assert_int_eq(walkcache_get(wc, id, 5, t, &got), 0);
		walkcache_put(wc, id, 5, &w, t, t + 1000);
		t += 10;
	}
	t = 2000; /* after every walk ended (the last at 1630) */
	/* Rollout 1 asked again: rollout 2 is now the least recent. */
	ck_assert_int_eq(walkcache_get(wc, 1, 5, t, &got), 1);
	ck_assert_int_eq(walkcache_get(wc, 999, 5, t + 1, &got), 0);
	walkcache_abandon(wc, 999);
	ck_assert_int_eq(walkcache_get(wc, 1, 5, t + 2, &got), 1);
	ck_assert_int_eq(walkcache_get(wc, 3, 5, t + 2, &got), 1);
	ck_assert_int_eq(walkcache_get(wc, 2, 5, t + 3, &got), 0);
	walkcache_abandon(wc, 2);
	walkcache_free(wc);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("walkcache");
	TCase *tc = tcase_create("walkcache");

	tcase_add_test(tc, test_slow_walk_reused);
	tcase_add_test(tc, test_reuse_capped);
	tcase_add_test(tc, test_fast_walk_not_kept);
	tcase_add_test(tc, test_key_and_abandon);
	tcase_add_test(tc, test_eviction);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
