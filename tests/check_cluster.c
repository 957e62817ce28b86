/*
 * check_cluster: what keeps several nodes on one database in agreement,
 * on a real, migrated database: the server key check (the first node
 * records its key, the same key passes, another is refused, a bad key
 * row too) and the listener.  On PostgreSQL the listener moves the
 * generation when it starts listening, on each committed notification
 * and not on a rolled-back one, and again after its connection is cut
 * and it is back; on SQLite (one process: nothing to hear) it does not
 * start and notifying does nothing.  The device cache it is given serves
 * only while it listens, and forgets the devices another node's committed
 * change names.
 */
#include <check.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster.h"
#include "devcache.h"
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
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
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
	ck_assert_int_eq(store_open(testutil_db(dbpath), 1, &other), 0);
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

/* Waits up to ms for *gen to reach want; returns its value. */
static uint64_t
gen_wait(atomic_uint_fast64_t *gen, uint64_t want, int ms)
{
	for (int i = 0; i < ms / 10 && atomic_load(gen) < want; i++)
		usleep(10000);
	return atomic_load(gen);
}

/* Puts facts of device "n1" into dc (when it serves) and waits up to ms
 * for them to be there (want 1) or refused (want 0); returns which. */
static int
cached_wait(struct devcache *dc, int want, int ms)
{
	struct devcache_facts f = {"hw", "", "1.0.0", NULL, 0, 0, 0, NULL, 0};
	char hw[STORE_HARDWARE_MAX + 1], rep[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1];
	int64_t groups[1];
	size_t n;
	int got = 0;

	for (int i = 0; i <= ms / 10; i++) {
		devcache_facts_insert(dc, devcache_generation(dc), "n1", &f);
		got = devcache_facts_lookup(
		          dc, "n1", hw, rep, ver, groups, 1, &n) == 0;
		if (got == want)
			break;
		usleep(10000);
	}
	return got;
}

/* Another node's committed change of n1 (on c) empties n1's entry of dc
 * within a second; a rolled back one does not. */
static void
devices_heard(struct store_conn *c, struct devcache *dc)
{
	char hw[STORE_HARDWARE_MAX + 1], rep[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1];
	int64_t groups[1];
	size_t n;
	int i;

	ck_assert_int_eq(cached_wait(dc, 1, 1000), 1);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_devices_changed(c, "n1"), 0);
	store_rollback(c);
	usleep(200000);
	ck_assert_int_eq(
	    devcache_facts_lookup(dc, "n1", hw, rep, ver, groups, 1, &n), 0);
	/* Named after more ids than one notification carries. */
	ck_assert_int_eq(store_begin(c), 0);
	for (i = 0; i < 3000; i++)
		ck_assert_int_eq(store_devices_changed(c, "n0"), 0);
	ck_assert_int_eq(store_devices_changed(c, "n1"), 0);
	ck_assert_int_eq(store_commit(c), 0);
	for (i = 0; i < 100; i++) {
		if (devcache_facts_lookup(
		        dc, "n1", hw, rep, ver, groups, 1, &n) != 0)
			break;
		usleep(10000);
	}
	ck_assert_int_lt(i, 100);
}

START_TEST(test_listener)
{
	atomic_uint_fast64_t gen;
	struct cluster *cl = (struct cluster *)1;
	struct devcache *dc = devcache_new(16, 0);
	char hw[STORE_HARDWARE_MAX + 1], rep[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1];
	struct store_conn *c;
	int64_t groups[1];
	uint64_t dgen;
	size_t n;

	atomic_init(&gen, 0);
	ck_assert_int_eq(cluster_new(st, testutil_db(dbpath), NULL, &cl), 0);
	c = store_acquire(st);
	if (!testutil_db_is_postgres()) {
		ck_assert_ptr_null(cl);
		ck_assert_int_eq(store_notify_shared(c), 0);
		ck_assert_int_eq(store_notify_rollouts(c), 0);
		store_release(st, c);
		ck_assert_int_eq(cluster_start(NULL, &gen, NULL), 0);
		cluster_stop(NULL);
		ck_assert_uint_eq(atomic_load(&gen), 0);
		devcache_free(dc);
		return;
	}
	ck_assert_ptr_nonnull(cl);
	ck_assert_int_eq(store_notify_shared(c), 1);
	ck_assert_int_eq(cluster_start(cl, &gen, dc), 0);
	/* Listening: what was missed before is reloaded. */
	ck_assert_uint_eq(gen_wait(&gen, 1, 5000), 1);
	ck_assert_int_eq(cached_wait(dc, 1, 5000), 1);
	/* A notification outside a transaction is sent at once; one in a
	 * transaction at its commit, and never after a rollback. */
	ck_assert_int_eq(store_notify_rollouts(c), 0);
	ck_assert_uint_eq(gen_wait(&gen, 2, 1000), 2);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_notify_rollouts(c), 0);
	store_rollback(c);
	ck_assert_uint_eq(gen_wait(&gen, 3, 500), 2);
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_notify_rollouts(c), 0);
	usleep(200000);
	ck_assert_uint_eq(atomic_load(&gen), 2);
	ck_assert_int_eq(store_commit(c), 0);
	ck_assert_uint_eq(gen_wait(&gen, 3, 1000), 3);
	devices_heard(c, dc);
	store_release(st, c);
	/* Its connection cut: back within the backoff, and the generation
	 * moves for what it may have missed; the device cache stops serving
	 * and serves again, emptied each time (two moves of its generation),
	 * so an entry cached before the cut is gone.  Watching for the
	 * moment it serves nothing raced with a fast reconnect on a loaded
	 * machine. */
	ck_assert_int_eq(cached_wait(dc, 1, 5000), 1);
	dgen = devcache_generation(dc);
	ck_assert_int_eq(testutil_sql_query(dbpath,
	                     "SELECT count(pg_terminate_backend(pid))"
	                     " FROM pg_stat_activity"
	                     " WHERE datname = current_database()"
	                     " AND query LIKE 'LISTEN %'"
	                     " AND pid <> pg_backend_pid()",
	                     NULL, 0),
	    1);
	for (int i = 0; i < 500 && devcache_generation(dc) < dgen + 2; i++)
		usleep(10000);
	ck_assert_uint_ge(devcache_generation(dc), dgen + 2);
	ck_assert_int_ne(
	    devcache_facts_lookup(dc, "n1", hw, rep, ver, groups, 1, &n), 0);
	ck_assert_uint_eq(gen_wait(&gen, 4, 5000), 4);
	ck_assert_int_eq(cached_wait(dc, 1, 5000), 1);
	c = store_acquire(st);
	ck_assert_int_eq(store_notify_rollouts(c), 0);
	store_release(st, c);
	ck_assert_uint_eq(gen_wait(&gen, 5, 1000), 5);
	cluster_stop(cl);
	devcache_free(dc);
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
	tcase_add_test(tc, test_listener);
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
