/*
 * check_sigcache: a cached signature is always the one manifest_sign
 * gives for the same bytes (hit or miss, after evictions, from many
 * threads), and repeated bytes are served from the cache.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "manifest.h"
#include "sigcache.h"
#include "testutil.h"

static unsigned char pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sk[crypto_sign_SECRETKEYBYTES];

static void
setup(void)
{
	ck_assert_int_eq(crypto_init(), 0);
	crypto_sign_keypair(pk, sk);
}

/* Asserts that the cache signs body as manifest_sign does; returns hit. */
static int
sign_checked(struct sigcache *sc, const char *body)
{
	char got[MANIFEST_SIG_B64_LEN], want[MANIFEST_SIG_B64_LEN];
	int hit = -1;

	sigcache_sign(sc, body, strlen(body), 0, got, &hit);
	manifest_sign(sk, body, strlen(body), want);
	ck_assert_str_eq(got, want);
	ck_assert(hit == 0 || hit == 1);
	return hit;
}

START_TEST(test_hit_and_miss)
{
	struct sigcache *sc = sigcache_new(sk, 1024, 1024);

	ck_assert_ptr_nonnull(sc);
	ck_assert_int_eq(sign_checked(sc, "{\"a\":1}"), 0);
	ck_assert_int_eq(sign_checked(sc, "{\"a\":1}"), 1);
	ck_assert_int_eq(sign_checked(sc, "{\"a\":2}"), 0);
	ck_assert_int_eq(sign_checked(sc, "{\"a\":1}"), 1);
	/* A prefix is other bytes. */
	ck_assert_int_eq(sign_checked(sc, "{\"a\":"), 0);
	sigcache_free(sc);
	sigcache_free(NULL);
}
END_TEST

START_TEST(test_eviction)
{
	struct sigcache *sc = sigcache_new(sk, 16, 16);
	char body[64];
	int hits = 0;

	ck_assert_ptr_nonnull(sc);
	/* Far more bodies than entries: old ones are evicted, and every
	 * answer is still the right signature. */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 200; i++) {
			snprintf(body, sizeof(body), "{\"n\":%d}", i);
			hits += sign_checked(sc, body);
		}
	ck_assert_int_lt(hits, 200);
	/* The most recent body of its set is still there. */
	ck_assert_int_eq(sign_checked(sc, body), 1);
	ck_assert_ptr_null(sigcache_new(sk, (size_t)1 << 30, (size_t)1 << 30));
	ck_assert_ptr_null(sigcache_new(sk, 64, 32));
	ck_assert_ptr_null(sigcache_new(sk, 0, 32));
	sigcache_free(sc);
}
END_TEST

/* Signs n distinct bodies in turn, rounds times; the hits of the last
 * round. */
static int
cycle(struct sigcache *sc, int n, int rounds)
{
	char body[64];
	int hits = 0;

	for (int r = 0; r < rounds; r++) {
		hits = 0;
		for (int i = 0; i < n; i++) {
			snprintf(body, sizeof(body), "{\"device\":%d}", i);
			hits += sign_checked(sc, body);
		}
	}
	return hits;
}

START_TEST(test_grows_when_thrashing)
{
	enum { N = 4000, ROUNDS = 12 };
	struct sigcache *sc = sigcache_new(sk, 64, 65536);
	struct sigcache_stats st;
	int last;

	ck_assert_ptr_nonnull(sc);
	/* N manifests asked for in turn (devices polling in cycles), 64
	 * places: nearly every poll signed until the cache grew to hold
	 * them; then it stops growing, at most 1.25 places a manifest, and
	 * every poll of the last round is a hit (4,624 places here, two
	 * sets a digest; with one set a digest 76 of the last round's 4,000
	 * polls signed, and with 8 places a set and the oldest replaced it
	 * grew to 2.1 places a manifest).  A growth keeps what the cache
	 * held: 13,541 signatures made in all here, where dropping them at
	 * each of the 21 growths made 34,781. */
	last = cycle(sc, N, ROUNDS);
	sigcache_get_stats(sc, &st);
	ck_assert_int_ge(last, N / 100 * 99);
	ck_assert_uint_ge(st.entries, N);
	ck_assert_uint_le(st.entries, N / 4 * 5);
	ck_assert_uint_eq(st.bytes, st.entries * 80);
	ck_assert_uint_eq(st.hits + st.misses, (uint64_t)N * ROUNDS);
	ck_assert_uint_le(st.misses, (uint64_t)N * 4);
	sigcache_free(sc);
}
END_TEST

/* At a new manifest window every offered device's body changes: the new
 * bodies replace the past window's (made seconds ago, yet dead) without
 * growing the cache. */
START_TEST(test_new_window_no_growth)
{
	struct sigcache *sc = sigcache_new(sk, 1024, 4096);
	struct sigcache_stats st;
	char body[64], got[MANIFEST_SIG_B64_LEN];
	int64_t since;

	ck_assert_ptr_nonnull(sc);
	for (int i = 0; i < 600; i++) {
		snprintf(body, sizeof(body), "{\"device\":%d,\"w\":1}", i);
		sigcache_sign(sc, body, strlen(body), 0, got, NULL);
	}
	sleep(1);
	since = (int64_t)time(NULL);
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 600; i++) {
			snprintf(
			    body, sizeof(body), "{\"device\":%d,\"w\":2}", i);
			sigcache_sign(sc, body, strlen(body), since, got, NULL);
		}
	sigcache_get_stats(sc, &st);
	ck_assert_uint_eq(st.entries, 1024);
	sigcache_free(sc);
}
END_TEST

START_TEST(test_no_growth_without_need)
{
	struct sigcache *sc = sigcache_new(sk, 64, 4096);
	struct sigcache_stats st;

	ck_assert_ptr_nonnull(sc);
	/* 8 manifests fit whatever sets they fall in (16 places a set): no
	 * growth, all hits after the first round. */
	ck_assert_int_eq(cycle(sc, 8, 30), 8);
	sigcache_get_stats(sc, &st);
	ck_assert_uint_eq(st.entries, 64);
	ck_assert_uint_eq(st.misses, 8);
	sigcache_free(sc);
	/* The most bounds it: 600 manifests, at most 128 places. */
	sc = sigcache_new(sk, 64, 128);
	ck_assert_ptr_nonnull(sc);
	ck_assert_int_lt(cycle(sc, 600, 6), 600);
	sigcache_get_stats(sc, &st);
	ck_assert_uint_eq(st.entries, 128);
	sigcache_free(sc);
}
END_TEST

static struct sigcache *shared;

static void *
signer(void *arg)
{
	char body[64];
	int base = *(int *)arg;

	for (int i = 0; i < 400; i++) {
		snprintf(body, sizeof(body), "{\"k\":%d}", (base + i) % 100);
		sign_checked(shared, body);
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[4];
	int base[4] = {0, 25, 50, 75};

	shared = sigcache_new(sk, 16, 256);
	ck_assert_ptr_nonnull(shared);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, signer, &base[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	sigcache_free(shared);
}
END_TEST

static Suite *
sigcache_suite(void)
{
	Suite *s = suite_create("sigcache");
	TCase *tc = tcase_create("sigcache_sign");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hit_and_miss);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_grows_when_thrashing);
	tcase_add_test(tc, test_new_window_no_growth);
	tcase_add_test(tc, test_no_growth_without_need);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(sigcache_suite());
}
