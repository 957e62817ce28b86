/*
 * check_cluster: what keeps several nodes on one database in agreement,
 * on a real, migrated database: the server key check (the first node
 * records its key, the same key passes, another is refused, a bad key
 * row too) and the listener, which on SQLite does not start (one
 * process: nothing to hear) and whose notification is a no-op there.
 */
#include <check.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster.h"
#include "errors.h"
#include "log.h"
#include "store.h"
#include "store_cluster.h"
#include "store_notify.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;

static void
setup(void)
{
	testutil_tmpdir_new("check_cluster", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(dbpath, 2, &st), 0);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

START_TEST(test_key_check)
{
	unsigned char pk1[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];
	unsigned char pk2[crypto_sign_PUBLICKEYBYTES];
	struct store *other = NULL;

	crypto_sign_keypair(pk1, sk);
	crypto_sign_keypair(pk2, sk);
	/* The first node records its key; it and any node with the same
	 * key pass, again and again. */
	ck_assert_int_eq(cluster_key_check(st, pk1), 0);
	ck_assert_int_eq(cluster_key_check(st, pk1), 0);
	ck_assert_int_eq(store_open(dbpath, 1, &other), 0);
	ck_assert_int_eq(cluster_key_check(other, pk1), 0);
	/* Another key is refused, on any node, and changes nothing. */
	ck_assert_int_eq(cluster_key_check(other, pk2), OTA_ECONFLICT);
	ck_assert_int_eq(cluster_key_check(st, pk2), OTA_ECONFLICT);
	ck_assert_int_eq(cluster_key_check(st, pk1), 0);
	store_close(other);
	/* A row that is not a key refuses every node (named "unreadable"). */
	testutil_sql_exec(dbpath, "UPDATE cluster_keys SET public_key = 'zz'");
	ck_assert_int_eq(cluster_key_check(st, pk1), OTA_ECONFLICT);
}
END_TEST

START_TEST(test_key_claim)
{
	char hex[STORE_CLUSTER_KEY_HEX_MAX], big[STORE_CLUSTER_KEY_HEX_MAX + 1];
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(store_cluster_key_claim(c, "server", "ab01", hex), 0);
	ck_assert_str_eq(hex, "ab01");
	ck_assert_int_eq(store_cluster_key_claim(c, "server", "cd02", hex), 0);
	ck_assert_str_eq(hex, "ab01");
	ck_assert_int_eq(store_cluster_key_claim(c, "other", "cd02", hex), 0);
	ck_assert_str_eq(hex, "cd02");
	ck_assert_int_eq(
	    store_cluster_key_claim(c, "server", "", hex), OTA_EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(
	    store_cluster_key_claim(c, "server", big, hex), OTA_EINVAL);
	store_release(st, c);
}
END_TEST

START_TEST(test_listener_sqlite)
{
	atomic_uint_fast64_t gen;
	struct cluster *cl = (struct cluster *)1;
	struct store_conn *c = store_acquire(st);

	atomic_init(&gen, 0);
	ck_assert_int_eq(store_notify_shared(c), 0);
	ck_assert_int_eq(store_notify_rollouts(c), 0);
	store_release(st, c);
	ck_assert_int_eq(cluster_start(st, dbpath, &gen, &cl), 0);
	ck_assert_ptr_null(cl);
	cluster_stop(NULL);
	ck_assert_uint_eq(atomic_load(&gen), 0);
}
END_TEST

static Suite *
cluster_suite(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_key_check);
	tcase_add_test(tc, test_key_claim);
	tcase_add_test(tc, test_listener_sqlite);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_ERR);
	if (sodium_init() < 0)
		return 1;
	return testutil_run_suite(cluster_suite());
}
