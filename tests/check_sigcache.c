/*
 * check_sigcache: a cached signature is always the one manifest_sign
 * gives for the same bytes (hit or miss, after evictions, from many
 * threads), and repeated bytes are served from the cache.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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

	sigcache_sign(sc, body, strlen(body), got, &hit);
	manifest_sign(sk, body, strlen(body), want);
	ck_assert_str_eq(got, want);
	ck_assert(hit == 0 || hit == 1);
	return hit;
}

START_TEST(test_hit_and_miss)
{
	struct sigcache *sc = sigcache_new(sk, 1024);

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
	struct sigcache *sc = sigcache_new(sk, 16);
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
	ck_assert_ptr_null(sigcache_new(sk, (size_t)1 << 30));
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

	shared = sigcache_new(sk, 64);
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
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(sigcache_suite());
}
