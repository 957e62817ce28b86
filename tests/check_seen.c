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
static char dbpath[PATH_MAX + 16];
static struct store *st;

/* Provisions devices <prefix>0..<prefix><n-1>, hardware "hw0", version
 * "1.0.0". */
static void
provision_named(const char *prefix, int n)
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
		snprintf(ids[i], sizeof(ids[i]), "%s%d", prefix, i);
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
provision(int n)
{
	provision_named("d", n);
}

static void
setup(void)
{
	ck_assert_int_eq(crypto_init(), 0);
	testutil_tmpdir_new("check_seen", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 4, &st), 0);
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

/* Runs sql on a raw connection; returns the first column of its first
 * row as an integer (0 when no row), text into out when not NULL. */
static long long
raw(const char *sql, char *out, size_t outlen)
{
	char text[512];
	long long v;

	/* One row at most: column 0 of every row, joined. */
	testutil_sql_join(dbpath, sql, "\n", text, sizeof(text));
	ck_assert_msg(strchr(text, '\n') == NULL, "%s: several rows", sql);
	v = strtoll(text, NULL, 10);
	if (out != NULL)
		snprintf(out, outlen, "%s", text);
	return v;
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
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
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
	/* A report never changes the provisioned hardware. */
	ck_assert_str_eq(d.hardware, "hw0");
	ck_assert_str_eq(d.reported_hardware, "hw9");
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
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
	struct store_device d;

	ck_assert_ptr_nonnull(s);
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	ck_assert_int_eq(seen_flush(s), 0);
	/* Unchanged and recorded less than 45 s ago: skipped. */
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 30);
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 44);
	ck_assert_uint_eq(stats(s).skipped, 2);
	ck_assert_uint_eq(stats(s).pending, 0);
	/* A change is never skipped. */
	seen_note(s, "d1", "hw0", "1.0.1", "hw0", "1.0.0", T0 + 44);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	load("d1", &d);
	ck_assert_str_eq(d.version, "1.0.1");
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:14:04Z");
	/* 75 s after the last record at most, unchanged is written again. */
	seen_note(s, "d1", "hw0", "1.0.1", "hw0", "1.0.1", T0 + 44 + 44);
	ck_assert_uint_eq(stats(s).pending, 0);
	seen_note(s, "d1", "hw0", "1.0.1", "hw0", "1.0.1", T0 + 44 + 75);
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

/* The memory of recent records keeps times modulo 2^16 s: the writer's
 * sweep forgets devices recorded 150 s ago or more, so that one back 18.2
 * hours (plus a few seconds) later is written, not taken for a device
 * recorded a few seconds ago; a device recorded lately stays
 * remembered. */
START_TEST(test_recent_sweep_wrap)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
	struct store_device d;

	ck_assert_ptr_nonnull(s);
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	seen_note(s, "d2", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 100);
	ck_assert_int_eq(seen_flush(s), 0);
	/* A pass over the least memory (2^18 slots, 8,192 a call). */
	for (int i = 0; i < 32; i++)
		seen_sweep(s, T0 + 200);
	/* d2, recorded 100 s before the sweep, is still remembered. */
	seen_note(s, "d2", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 130);
	ck_assert_uint_eq(stats(s).skipped, 1);
	ck_assert_uint_eq(stats(s).pending, 0);
	/* d1 was forgotten: 65,566 s on, written. */
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 65536 + 30);
	ck_assert_uint_eq(stats(s).skipped, 1);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	load("d1", &d);
	ck_assert_str_eq(d.last_seen_at, "2023-11-15T16:26:06Z");
	seen_stop(s);
}
END_TEST

/* A fleet recorded all at once (a start, a burst of devices back after an
 * outage), every device polling each second: each is written again 45 to
 * 75 s later, spread over those seconds rather than all at once every
 * minute. */
START_TEST(test_refresh_spread)
{
	enum { N = 3100, SPAN = SEEN_REFRESH_MAX_SEC - SEEN_REFRESH_MIN_SEC };
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, N, 0);
	uint64_t written[SPAN + 1] = {0}, before = 0, most = 0, all = 0;
	char id[32];

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "burst-%05d", i);
		seen_note(s, id, NULL, "1.0.0", "hw0", "1.0.0", T0);
	}
	ck_assert_int_eq(seen_flush(s), 0);
	for (int t = 1; t <= SEEN_REFRESH_MAX_SEC; t++) {
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "burst-%05d", i);
			seen_note(s, id, NULL, "1.0.0", "hw0", "1.0.0", T0 + t);
		}
		if (t < SEEN_REFRESH_MIN_SEC)
			before += stats(s).pending;
		else
			written[t - SEEN_REFRESH_MIN_SEC] = stats(s).pending;
		ck_assert_int_eq(seen_flush(s), 0);
	}
	for (int k = 0; k <= SPAN; k++) {
		all += written[k];
		most = written[k] > most ? written[k] : most;
	}
	ck_assert_uint_eq(before, 0);
	ck_assert_uint_eq(all, N);
	/* 100 a second when even: at most twice that. */
	ck_assert_msg(most <= 2 * N / (SPAN + 1), "%llu in one second",
	    (unsigned long long)most);
	seen_stop(s);
}
END_TEST

/* A fleet larger than the least memory of recent records: the memory
 * grows with the fleet (it forgets what it held at each step, so the
 * devices recorded before the last step are written once more), and then
 * every device recorded is remembered, so that its unchanged polls within
 * the minute are skipped rather than written again (at 1M devices the
 * writer would otherwise rewrite most polls). */
START_TEST(test_recent_sized_for_fleet)
{
	enum { N = 300000, CHUNK = 50000 };
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, N, 0);
	uint64_t skipped;
	char id[32];

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(stats(s).recent_slots, 1u << 18);
	/* Pass 1 grows it once (2 to 3 MiB, 1.25 slots a device), pass 2
	 * records the devices that forgot, pass 3 finds them. */
	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "fleet-%07d", i);
			seen_note(
			    s, id, NULL, "1.0.0", "hw0", "1.0.0", T0 + pass);
			if (i % CHUNK == CHUNK - 1)
				ck_assert_int_eq(seen_flush(s), 0);
		}
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_uint_eq(stats(s).dropped, 0);
	/* 1.25 slots a device, in whole sets of 16. */
	ck_assert_uint_eq(stats(s).recent_slots, 375008);
	skipped = stats(s).skipped;
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "fleet-%07d", i);
		seen_note(s, id, NULL, "1.0.0", "hw0", "1.0.0", T0 + 30);
	}
	/* 1.25 slots a device in sets of 16, every device recorded within
	 * the minute (the worst case: the one forgotten is never due, so it
	 * is drawn at random): the sets that more than 16 fall in forget 6 %
	 * of the fleet (measured; 8 % replacing the oldest), the least table
	 * (262,144 slots) would forget at least 12 %. */
	ck_assert_msg(stats(s).skipped - skipped >= N / 100 * 93,
	    "%llu of %d unchanged polls skipped",
	    (unsigned long long)(stats(s).skipped - skipped), N);
	seen_stop(s);
}
END_TEST

/* A small fleet keeps the least memory of recent records, however large
 * a fleet it may grow to. */
START_TEST(test_recent_small_fleet)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 1000000, 0);
	char id[32];

	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 100000; i++) {
		snprintf(id, sizeof(id), "small-%07d", i);
		seen_note(s, id, NULL, "1.0.0", "hw0", "1.0.0", T0);
	}
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_uint_eq(stats(s).recent_slots, 1u << 18);
	seen_stop(s);
}
END_TEST

START_TEST(test_forget)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);

	ck_assert_ptr_nonnull(s);
	seen_note(s, "d1", NULL, "1.0.0", "hw0", "1.0.0", T0);
	ck_assert_int_eq(seen_flush(s), 0);
	seen_note(s, "d1", NULL, "1.0.0", "hw0", "1.0.0", T0 + 5);
	ck_assert_uint_eq(stats(s).skipped, 1);
	/* An update of d1 was recorded completed: its next poll is news
	 * (a silent revert to judge), even if unchanged. */
	seen_forget(s, "d1");
	seen_forget(s, "never-seen");
	seen_forget(NULL, "d1");
	seen_note(s, "d1", NULL, "1.0.0", "hw0", "1.0.0", T0 + 6);
	ck_assert_uint_eq(stats(s).skipped, 1);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	/* Recorded again: the one after is skipped as before. */
	seen_note(s, "d1", NULL, "1.0.0", "hw0", "1.0.0", T0 + 7);
	ck_assert_uint_eq(stats(s).skipped, 2);
	seen_stop(s);
}
END_TEST

START_TEST(test_coalesce)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
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
	ck_assert_str_eq(d.reported_hardware, "hw1");
	ck_assert_str_eq(d.hardware, "hw0");
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

/* Notes refresh-only reports of unknown ids "<prefix>N" (version
 * `version`, stored 1.0.0) until one is dropped; returns how many were
 * noted before, the buffer's room at its largest. */
static size_t
fill(struct seen *s, const char *prefix, const char *version)
{
	uint64_t dropped = stats(s).dropped;
	size_t before = stats(s).pending, i;
	char id[32];

	for (i = 0; stats(s).dropped == dropped; i++) {
		ck_assert_uint_lt(i, 100000);
		snprintf(id, sizeof(id), "%s%zu", prefix, i);
		seen_note(s, id, "hw0", version, "hw0", "1.0.0", T0 + 50);
	}
	ck_assert_uint_eq(stats(s).pending, before + i - 1);
	return before + i - 1;
}

START_TEST(test_full_buffer)
{
	struct seen *s = seen_start(st, SEEN_BYTES_MIN, 0, 0);
	struct store_device d;
	size_t full;
	char id[16];

	ck_assert_ptr_nonnull(s);
	/* d0..d7 change their version, d8..d15 only refresh last seen. */
	for (int i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		seen_note(s, id, "hw0", i < 8 ? "3.0.0" : "1.0.0", "hw0",
		    "1.0.0", T0 + i);
	}
	/* The buffer grows past its first 16 reports, within the cap, and
	 * then drops a new refresh: the oldest ones stay. */
	full = fill(s, "x", "1.0.0");
	ck_assert_uint_gt(full, 32);
	ck_assert_uint_le(stats(s).bytes, SEEN_BYTES_MIN);
	ck_assert_uint_le(stats(s).bytes_peak, SEEN_BYTES_MIN);
	ck_assert_uint_eq(stats(s).dropped, 1);
	/* A change takes the place of the oldest refresh (d8, then d9). */
	seen_note(s, "d30", "hw0", "4.0.0", "hw0", "1.0.0", T0 + 30);
	seen_note(s, "d31", "hw0", "4.0.0", "hw0", "1.0.0", T0 + 30);
	ck_assert_uint_eq(stats(s).dropped, 3);
	ck_assert_uint_eq(stats(s).pending, full);
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_uint_eq(stats(s).pending, 0);
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		load(id, &d);
		ck_assert_str_eq(d.version, "3.0.0");
	}
	load("d30", &d);
	ck_assert_str_eq(d.version, "4.0.0");
	load("d8", &d);
	ck_assert_str_eq(d.last_seen_at, ""); /* dropped */
	load("d10", &d);
	ck_assert_str_ne(d.last_seen_at, "");
	/* A dropped device is recorded at its next poll, not skipped. */
	seen_note(s, "d8", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 31);
	ck_assert_uint_eq(stats(s).pending, 1);
	/* A buffer full of changes drops the newcomer. */
	ck_assert_uint_eq(fill(s, "y", "5.0.0"), full);
	seen_note(s, "d39", "hw0", "5.0.0", "hw0", "1.0.0", T0 + 41);
	ck_assert_uint_eq(stats(s).pending, full);
	ck_assert_uint_eq(stats(s).dropped, 5);
	/* Written, the buffer goes back to its first size. */
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_uint_lt(stats(s).bytes, stats(s).bytes_peak);
	seen_stop(s);
}
END_TEST

/* What a report costs: 1 MiB holds more than 14,000 reports of ids of
 * about 11 characters (32 bytes each, 8 to 16 of index, its id; both
 * buffers grow by half, not double, so one may come near the cap). */
START_TEST(test_buffer_holds)
{
	struct seen *s = seen_start(st, 1u << 20, 0, 0);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_gt(fill(s, "dev-000", "1.0.0"), 14000);
	ck_assert_uint_le(stats(s).bytes_peak, 1u << 20);
	seen_stop(s);
}
END_TEST

START_TEST(test_thread_and_stop)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 50);
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
	ck_assert_ptr_null(seen_start(st, 4, 0, 0)); /* cap too small */
}
END_TEST

/* A batch larger than a transaction's chunk, noted out of id order, with
 * many distinct versions: every report reaches its row. */
START_TEST(test_many)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
	struct store_device d;
	char id[16], ver[16];
	size_t first_bytes;
	int n = 3000;

	ck_assert_ptr_nonnull(s);
	provision_named("m", n);
	first_bytes = stats(s).bytes;
	for (int k = 0; k < n; k++) {
		int i = (k * 7) % n; /* 7 is prime to n: each device once */

		snprintf(id, sizeof(id), "m%d", i);
		snprintf(ver, sizeof(ver), "2.%d.0", i % 50);
		seen_note(s, id, i % 5 == 0 ? "hwX" : "hw0",
		    i % 3 == 0 ? ver : "1.0.0", "hw0", "1.0.0", T0 + k / 100);
	}
	ck_assert_uint_eq(stats(s).pending, (size_t)n);
	ck_assert_uint_gt(stats(s).bytes_peak, first_bytes);
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_uint_eq(stats(s).written, (uint64_t)n);
	ck_assert_uint_eq(stats(s).flushes, 1);
	ck_assert_uint_eq(stats(s).flush_reports_max, (uint64_t)n);
	ck_assert_uint_eq(stats(s).pending, 0);
	ck_assert_uint_eq(stats(s).bytes, first_bytes);
	ck_assert_int_eq(
	    raw("SELECT COUNT(*) FROM device_seen WHERE device_id LIKE 'm%'",
	        NULL, 0),
	    n);
	ck_assert_int_eq(raw("SELECT COUNT(*) FROM devices WHERE id LIKE 'm%'"
	                     " AND version <> '1.0.0'",
	                     NULL, 0),
	    n / 3);
	ck_assert_int_eq(raw("SELECT COUNT(*) FROM devices WHERE id LIKE 'm%'"
	                     " AND reported_hardware = 'hwX'",
	                     NULL, 0),
	    n / 5);
	load("m2997", &d);
	ck_assert_str_eq(d.version, "2.47.0");
	ck_assert_str_eq(d.reported_hardware, "");
	load("m10", &d);
	ck_assert_str_eq(d.version, "1.0.0");
	ck_assert_str_eq(d.reported_hardware, "hwX");
	seen_stop(s);
}
END_TEST

/* Rollout 1 (image 2.0.0, stage 1 of [10%, 100%]) for the offers. */
static void
plant_rollout(void)
{
	raw("INSERT INTO rollouts (id, image_name, image_version, state,"
	    " stage_index, stages_bp, salt, failure_threshold, min_reports,"
	    " created_at, created_by, updated_at) VALUES (1, 'fw', '2.0.0',"
	    " 'running', 1, '[1000,10000]', zeroblob(32), 0.05, 10, 'x', 'ci',"
	    " 'x'), (2, 'fw', '3.0.0', 'running', 0, '[10000]', zeroblob(32),"
	    " 0.05, 10, 'x', 'ci', 'x')",
	    NULL, 0);
}

/* The writer thread holds reports that only refresh last seen (denser
 * batches), and writes them with the next change or new offer. */
START_TEST(test_thread_lazy_refresh)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 20);
	struct store_device d;
	int waited = 0;

	ck_assert_ptr_nonnull(s);
	plant_rollout();
	seen_note(s, "d5", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	usleep(300000); /* fifteen ticks of the writer */
	ck_assert_uint_eq(stats(s).flushes, 0);
	ck_assert_uint_eq(stats(s).pending, 1);
	load("d5", &d);
	ck_assert_str_eq(d.last_seen_at, "");
	/* A new offer is news: written at the next tick, d5 with it. */
	seen_note_offer(s, "d6", "hw0", "1.0.0", "hw0", "1.0.0", 1, 0, T0);
	while (stats(s).written < 2 && waited < 200) {
		usleep(10000);
		waited++;
	}
	ck_assert_uint_eq(stats(s).written, 2);
	ck_assert_uint_eq(stats(s).flushes, 1);
	load("d5", &d);
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:13:20Z");
	/* A change is news too. */
	seen_note(s, "d9", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 1);
	seen_note(s, "d8", "hw0", "8.0.0", "hw0", "1.0.0", T0 + 1);
	waited = 0;
	while (stats(s).written < 4 && waited < 200) {
		usleep(10000);
		waited++;
	}
	ck_assert_uint_eq(stats(s).written, 4);
	load("d9", &d);
	ck_assert_str_eq(d.last_seen_at, "2023-11-14T22:13:21Z");
	seen_stop(s);
}
END_TEST

START_TEST(test_offers)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
	char text[64];

	ck_assert_ptr_nonnull(s);
	plant_rollout();
	/* d1 recorded without an offer; 10 s later it is offered rollout 1:
	 * news, not skipped as unchanged. */
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	ck_assert_int_eq(seen_flush(s), 0);
	seen_note_offer(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", 1, 1, T0 + 10);
	ck_assert_uint_eq(stats(s).pending, 1);
	/* A buffered report takes the offer of a later poll, too. */
	seen_note(s, "d2", "hw0", "1.0.0", "hw0", "1.0.0", T0);
	seen_note_offer(s, "d2", "hw0", "1.0.0", "hw0", "1.0.0", 2, 0, T0 + 1);
	/* An offer for a rollout or device that is gone is skipped. */
	seen_note_offer(s, "d3", NULL, NULL, "hw0", "1.0.0", 99, 0, T0);
	seen_note_offer(s, "gone", NULL, NULL, "hw0", "1.0.0", 1, 1, T0);
	ck_assert_int_eq(seen_flush(s), 0);
	raw("SELECT status || ' ' || version || ' ' || stage_index || ' ' ||"
	    " offered_at FROM device_updates WHERE device_id = 'd1'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "offered 2.0.0 1 2023-11-14T22:13:30Z");
	raw("SELECT status || ' ' || version || ' ' || rollout_id FROM"
	    " device_updates WHERE device_id = 'd2'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "offered 3.0.0 2");
	ck_assert_int_eq(
	    raw("SELECT COUNT(*) FROM device_updates", NULL, 0), 2);
	/* Recorded with its offer: the next polls within the minute are
	 * skipped, offer or not. */
	seen_note_offer(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", 1, 1, T0 + 20);
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 30);
	ck_assert_uint_eq(stats(s).pending, 0);
	/* An offer never changes a row: d1 started meanwhile. */
	raw("UPDATE device_updates SET status = 'started' WHERE device_id ="
	    " 'd1'",
	    NULL, 0);
	seen_note_offer(s, "d1", "hw0", "1.0.0", "hw0", "1.0.0", 1, 1, T0 + 90);
	ck_assert_int_eq(seen_flush(s), 0);
	raw("SELECT status FROM device_updates WHERE device_id = 'd1'", text,
	    sizeof(text));
	ck_assert_str_eq(text, "started");
	seen_stop(s);
}
END_TEST

/* A rollout id past 32 bits (a report keeps 48) reaches the offer. */
START_TEST(test_offer_wide_rollout_id)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
	int64_t id = (INT64_C(1) << 40) + 7;
	char text[64], sql[512];

	ck_assert_ptr_nonnull(s);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO rollouts (id, image_name, image_version, state,"
	    " stage_index, stages_bp, salt, failure_threshold, min_reports,"
	    " created_at, created_by, updated_at) VALUES (%lld, 'fw',"
	    " '2.0.0', 'running', 0, '[10000]', zeroblob(32), 0.05, 10, 'x',"
	    " 'ci', 'x')",
	    (long long)id);
	raw(sql, NULL, 0);
	seen_note_offer(s, "d4", "hw0", "1.0.0", "hw0", "1.0.0", id, 0, T0);
	ck_assert_int_eq(seen_flush(s), 0);
	raw("SELECT status || ' ' || rollout_id FROM device_updates WHERE"
	    " device_id = 'd4'",
	    text, sizeof(text));
	ck_assert_str_eq(text, "offered 1099511627783");
	seen_stop(s);
}
END_TEST

/* What the touched hook was told. */
struct hook_log {
	int calls;
	int64_t ids[8];
	size_t n;
};

static void
hook(void *arg, const int64_t *ids, size_t n)
{
	struct hook_log *h = arg;

	h->calls++;
	h->n = n;
	for (size_t i = 0; i < n && i < 8; i++)
		h->ids[i] = ids[i];
}

START_TEST(test_silent_revert)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
	struct hook_log h;
	struct store_device d;
	char text[64];

	ck_assert_ptr_nonnull(s);
	memset(&h, 0, sizeof(h));
	seen_set_touched_hook(s, hook, &h);
	plant_rollout();
	/* d1 completed 2.0.0 (rollout 1) and reported it; d2 completed
	 * 2.0.0 but never polled with it. */
	raw("INSERT INTO device_updates (rollout_id, device_id, version,"
	    " status, stage_index, updated_at) VALUES"
	    " (1, 'd1', '2.0.0', 'completed', 1, '2020-01-01T00:00:00Z'),"
	    " (1, 'd2', '2.0.0', 'completed', 1, '2020-01-01T00:00:00Z'),"
	    " (1, 'd3', '2.0.0', 'completed', 1, '2020-01-01T00:00:00Z')",
	    NULL, 0);
	seen_note(s, "d1", "hw0", "2.0.0", "hw0", "1.0.0", T0);
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_int_eq(h.calls, 0);
	load("d1", &d);
	ck_assert_str_eq(d.version, "2.0.0");
	/* Back on 1.0.0: reverted by its bootloader. */
	seen_note(s, "d1", "hw0", "1.0.0", "hw0", "2.0.0", T0 + 5);
	/* d2 reports the version it always had: still a revert, since it
	 * completed 2.0.0; d3 runs 2.0.0; d4 has nothing to revert. */
	seen_note(s, "d2", "hw0", "1.0.0", "hw0", "1.0.0", T0 + 5);
	seen_note(s, "d3", "hw0", "2.0.0", "hw0", "1.0.0", T0 + 5);
	seen_note(s, "d4", "hw0", "0.9.0", "hw0", "1.0.0", T0 + 5);
	ck_assert_int_eq(seen_flush(s), 0);
	raw("SELECT group_concat(device_id || '=' || status, ' ') FROM"
	    " (SELECT * FROM device_updates ORDER BY device_id) t",
	    text, sizeof(text));
	ck_assert_str_eq(text, "d1=reverted d2=reverted d3=completed");
	ck_assert_int_eq(raw("SELECT COUNT(*) FROM update_events WHERE"
	                     " transport = 'otad' AND state = 'reverted'",
	                     NULL, 0),
	    2);
	ck_assert_int_eq(h.calls, 1);
	ck_assert_uint_eq(h.n, 1);
	ck_assert_int_eq(h.ids[0], 1);
	load("d1", &d);
	ck_assert_str_eq(d.version, "1.0.0");
	/* A poll without a version checks nothing. */
	seen_note(s, "d3", NULL, NULL, "hw0", "2.0.0", T0 + 100);
	ck_assert_int_eq(seen_flush(s), 0);
	ck_assert_int_eq(h.calls, 1);
	seen_stop(s);
}
END_TEST

/* A report in the second its completion was recorded is not judged; the
 * next one is, even when unchanged (never skipped for a minute). */
START_TEST(test_revert_same_second)
{
	struct seen *s = seen_start(st, SEEN_BYTES_DEFAULT, 0, 0);
	char text[64];

	ck_assert_ptr_nonnull(s);
	plant_rollout();
	raw("INSERT INTO device_updates (rollout_id, device_id, version,"
	    " status, stage_index, updated_at) VALUES"
	    " (1, 'd1', '2.0.0', 'completed', 1, '2023-11-14T22:13:25Z')",
	    NULL, 0);
	seen_note(s, "d1", NULL, "1.0.0", "hw0", "1.0.0", T0);
	ck_assert_int_eq(seen_flush(s), 0);
	seen_forget(s, "d1"); /* as telemetry does at the completion */
	seen_note(s, "d1", NULL, "1.0.0", "hw0", "1.0.0", T0 + 5);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	raw("SELECT status FROM device_updates WHERE device_id = 'd1'", text,
	    sizeof(text));
	ck_assert_str_eq(text, "completed"); /* same second: undecided */
	seen_note(s, "d1", NULL, "1.0.0", "hw0", "1.0.0", T0 + 6);
	ck_assert_uint_eq(stats(s).pending, 1);
	ck_assert_int_eq(seen_flush(s), 0);
	raw("SELECT status FROM device_updates WHERE device_id = 'd1'", text,
	    sizeof(text));
	ck_assert_str_eq(text, "reverted");
	seen_stop(s);
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
	tcase_add_test(tc, test_recent_sweep_wrap);
	tcase_add_test(tc, test_refresh_spread);
	tcase_add_test(tc, test_recent_sized_for_fleet);
	tcase_add_test(tc, test_recent_small_fleet);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_coalesce);
	tcase_add_test(tc, test_full_buffer);
	tcase_add_test(tc, test_buffer_holds);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_thread_and_stop);
	tcase_add_test(tc, test_thread_lazy_refresh);
	tcase_add_test(tc, test_offers);
	tcase_add_test(tc, test_offer_wide_rollout_id);
	tcase_add_test(tc, test_silent_revert);
	tcase_add_test(tc, test_revert_same_second);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(seen_suite());
}
