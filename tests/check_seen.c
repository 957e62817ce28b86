/*
 * check_seen: poll reports against a real store.  A report reaches the
 * devices row after a flush (hardware, version, last seen); unchanged
 * devices are written once a minute, changes always; reports of one device
 * coalesce; a full buffer drops the oldest last-seen-only reports first
 * and never blocks; the background thread writes on its own, and
 * seen_stop writes what is left.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "errors.h"
#include "seen.h"
#include "store.h"
#include "store_devices.h"
#include "testutil.h"

#define T0 1700000000 /* 2023-11-14T22:13:20Z */

static char tmpdir[PATH_MAX];
static struct store *st;

/* Provisions devices d0..d<n-1>, hardware "hw0", version "1.0.0". */
static void
provision(int n)
{
	struct store_device_new *v = calloc((size_t)n, sizeof(*v));
	char(*ids)[16] = calloc((size_t)n, 16);
	char(*tids)[CRYPTO_TOKEN_ID_LEN] =
	    calloc((size_t)n, CRYPTO_TOKEN_ID_LEN);
	unsigned char(*hashes)[CRYPTO_HASH_LEN] =
	    calloc((size_t)n, CRYPTO_HASH_LEN);
	char tok[CRYPTO_TOKEN_LEN];
	struct store_conn *c;

	ck_assert(v != NULL && ids != NULL && tids != NULL && hashes != NULL);
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "d%d", i);
		ck_assert_int_eq(crypto_token_new(tok, tids[i], hashes[i]), 0);
		v[i].id = ids[i];
		v[i].hardware = "hw0";
		v[i].version = "1.0.0";
		v[i].token_id = tids[i];
		v[i].token_hash = hashes[i];
	}
	c = store_acquire(st);
	ck_assert_int_eq(store_device_insert_batch(c, v, (size_t)n, NULL), 0);
	store_release(st, c);
	free(v);
	free(ids);
	free(tids);
	free(hashes);
}

static void
setup(void)
{
	char path[PATH_MAX + 16];

	ck_assert_int_eq(crypto_init(), 0);
	testutil_tmpdir_new("check_seen", tmpdir, sizeof(tmpdir));
	snprintf(path, sizeof(path), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(path, 4, &st), 0);
	provision(40);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Loads device id into *d (its groups freed here). */
static void
load(const char *id, struct store_device *d)
{
	struct store_conn *c = store_acquire(st);

	ck_assert_int_eq(store_device_get(c, id, d), 0);
	store_release(st, c);
	store_device_clear(d);
}

static struct seen_stats
stats(struct seen *s)
{
	struct seen_stats x;

	seen_get_stats(s, &x);
	return x;
}

START_TEST(test_report_written)
{
	struct seen *s = seen_start(st, 64, 0);
	struct store_device d;

	ck_assert_ptr_nonnull(s);
	load("d1", &d);
	ck_assert_str_eq(d.last_seen_at, "");
	/* Unchanged hardware and version: only last seen. */
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	/* A new version and hardware. */
	seen_note(s, "d2", "hw9", "1.1.0", "hw0", "1.0.0", T0 + 1);
	/* Nothing reported: last seen only. */
	seen_note(s, "d3", NULL, NULL, "hw0", "1.0.0", T0 + 2);
	ck_assert_uint_eq(stats(s).pending, 3);
	load("d1", &d);
	ck_assert_str_eq(d.last_seen_at, ""); /* not before the flush */
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_uint_eq(stats(s).pending, 0);
	ck_assert_uint_eq(stats(s).written, 3);
	load("d1", &d);
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:13:20Z");
	ck_assert_str_eq(d.version, "1.0.0");
	load("d2", &d);
	ck_assert_str_eq(d.hardware, "hw9");
	ck_assert_str_eq(d.version, "1.1.0");
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:13:21Z");
	load("d3", &d);
	ck_assert_str_eq(d.hardware, "hw0");
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:13:22Z");
	/* An unknown (deleted) device does not fail the batch. */
	seen_note(s, "gone", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	seen_note(s, "d4", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 5);
	ck_assert_int_eq(seen_flush(s), 0);
	load("d4", &d);
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:13:25Z");
	/* An empty flush is fine. */
	ck_assert_int_eq(seen_flush(s), 0);
	seen_stop(s);
}
END_TEST

START_TEST(test_refresh_once_a_minute)
{
	struct seen *s = seen_start(st, 64, 0);
	struct store_device d;

	ck_assert_ptr_nonnull(s);
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	ck_assert_int_eq(seen_flush(s), 0);
	/* Unchanged and recorded 59 s ago: skipped. */
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 30);
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 59);
	ck_assert_uint_eq(stats(s).skipped, 2);
	ck_assert_uint_eq(stats(s).pending, 0);
	/* A change is never skipped. */
	seen_note(s, "d1", "hw0", "1.0.1", "hw0", "1.0.0", T0 + 59);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	load("d1", &d);
	ck_assert_str_eq(d.version, "1.0.1");
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:14:19Z");
	/* A minute after the last record, unchanged is written again. */
	seen_note(s, "d1", "hw0", "1.0.1", "hw0", "1.0.1", T0 + 59 + 59);
	ck_assert_uint_eq(stats(s).pending, 0);
	seen_note(s, "d1", "hw0", "1.0.1", "hw0", "1.0.1", T0 + 59 + 60);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	load("d1", &d);
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:15:19Z");
	/* A clock that went backwards records rather than skips. */
	seen_note(s, "d1", "hw0", "1.0.1", "hw0", "1.0.1", T0);
	ck_assert_uint_eq(stats(s).pending, 1);
	seen_stop(s);
}
END_TEST

START_TEST(test_coalesce)
{
	struct seen *s = seen_start(st, 64, 0);
	struct store_device d;

	ck_assert_ptr_nonnull(s);
	seen_note(s, "d5", "hw1", "1.0.0", "hw0", "1.0.0", T0);
	seen_note(s, "d5", "hw0", "2.0.0", "hw0", "1.0.0", T0 + 1);
	seen_note(s, "d5", NULL, NULL, "hw0", "1.0.0", T0 + 2);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_uint_eq(stats(s).written, 1);
	load("d5", &d);
	/* The latest of each field, and the latest time. */
	ck_assert_str_eq(d.hardware, "hw1");
	ck_assert_str_eq(d.version, "2.0.0");
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:13:22Z");
	/* Values over the store's limits are refused, not cut. */
	{
		char big[STORE_VERSION_MAX + 8];

		memset(big, '1', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		seen_note(s, "d6", "hw0", big, "hw0", "1.0.0", T0);
		ck_assert_uint_eq(stats(s).pending, 0);
	}
	seen_stop(s);
}
END_TEST

START_TEST(test_full_buffer)
{
	struct seen *s = seen_start(st, 16, 0);
	struct store_device d;
	char id[16];

	ck_assert_ptr_nonnull(s);
	/* d0..d7 change their version, d8..d15 only refresh last seen. */
	for (int i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		seen_note(s, id, "hw0", i < 8 ? "3.0.0" : "1.0.0", "hw0",
		    "1.0.0", T0 + i);
	}
	ck_assert_uint_eq(stats(s).pending, 16);
	/* Full: each new report takes the place of the oldest
	 * last-seen-only one (d8, then d9...). */
	for (int i = 16; i < 24; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		seen_note(s, id, "hw0", "1.0.0", "hw0", "1.0.0", T0 + i);
	}
	ck_assert_uint_eq(stats(s).pending, 16);
	ck_assert_uint_eq(stats(s).dropped, 8);
	/* Now every entry is... d0..d7 changes and d16..d23: more drop the
	 * last-seen-only ones again, never a change. */
	seen_note(s, "d30", "hw0", "4.0.0", "hw0", "1.0.0", T0 + 30);
	ck_assert_uint_eq(stats(s).dropped, 9);
	ck_assert_int_eq(seen_flush(s), 0);
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		load(id, &d);
		ck_assert_str_eq(d.version, "3.0.0");
	}
	load("d30", &d);
	ck_assert_str_eq(d.version, "4.0.0");
	load("d8", &d);
	ck_assert_str_eq(d.last_seen_at, ""); /* dropped */
	/* A dropped device is recorded at its next poll, not skipped. */
	seen_note(s, "d8", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 31);
	ck_assert_uint_eq(stats(s).pending, 1);
	/* A buffer full of changes drops the newcomer. */
	for (int i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "d%d", i + 10);
		seen_note(s, id, "hw0", "5.0.0", "hw0", "1.0.0", T0 + 40);
	}
	seen_note(s, "d39", "hw0", "5.0.0", "hw0", "1.0.0", T0 + 41);
	ck_assert_uint_eq(stats(s).pending, 16);
	ck_assert_uint_eq(stats(s).dropped, 11);
	seen_stop(s);
}
END_TEST

START_TEST(test_thread_and_stop)
{
	struct seen *s = seen_start(st, 64, 50);
	struct store_device d;
	int waited = 0;

	ck_assert_ptr_nonnull(s);
	seen_note(s, "d7", "hw0", "7.0.0", "hw0", "1.0.0", T0);
	/* The writer thread flushes by itself within its interval. */
	while (stats(s).written == 0 && waited < 200) {
		usleep(10000);
		waited++;
	}
	ck_assert_uint_eq(stats(s).written, 1);
	load("d7", &d);
	ck_assert_str_eq(d.version, "7.0.0");
	/* What is noted just before the stop is written by seen_stop. */
	seen_note(s, "d8", "hw0", "8.0.0", "hw0", "1.0.0", T0);
	seen_stop(s);
	load("d8", &d);
	ck_assert_str_eq(d.version, "8.0.0");
	seen_stop(NULL);
	ck_assert_ptr_null(seen_start(st, 4, 0)); /* capacity too small */
}
END_TEST

static Suite *
seen_suite(void)
{
	Suite *s = suite_create("seen");
	TCase *tc = tcase_create("seen");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_report_written);
	tcase_add_test(tc, test_refresh_once_a_minute);
	tcase_add_test(tc, test_coalesce);
	tcase_add_test(tc, test_full_buffer);
	tcase_add_test(tc, test_thread_and_stop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(seen_suite());
}
