/*
 * check_devcache: the device cache alone (hits, misses, never a miss
 * cached, the bound and CLOCK's second chance, the generation rule, "*",
 * a device's tokens forgotten with it, not serving, several tokens of a
 * device and a wrong secret, long ids, the interning bounds, the bytes a
 * device costs at a million), then wired to a real
 * migrated store through its devices hook: what the store commits is
 * forgotten, what it rolls back is not.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "devcache.h"
#include "selector.h"
#include "errors.h"
#include "log.h"
#include "intern.h"
#include "store.h"
#include "store_devices.h"
#include "store_groups.h"
#include "store_tokens.h"
#include "testutil.h"
#include "update_state.h"

/* A device credential of subject with a hash of byte b. */
static struct store_credential
cred_of(const char *subject, unsigned char b)
{
	struct store_credential cr;

	memset(&cr, 0, sizeof(cr));
	cr.kind = STORE_CRED_DEVICE;
	snprintf(cr.subject, sizeof(cr.subject), "%s", subject);
	snprintf(cr.role, sizeof(cr.role), "device");
	memset(cr.hash, b, sizeof(cr.hash));
	return cr;
}

/* Inserts facts of id (hardware hw, one group gid) at the current
 * generation. */
static void
facts_put(struct devcache *dc, const char *id, const char *hw, int64_t gid)
{
	struct devcache_facts f = {hw, "", "1.0.0", &gid, 1, 0, 0, NULL, 0};

	devcache_facts_insert(dc, devcache_generation(dc), id, &f);
}

/* 0 when id's facts are cached, with its hardware into hw. */
static int
facts_get(struct devcache *dc, const char *id, char *hw)
{
	char rep[STORE_HARDWARE_MAX + 1], ver[STORE_VERSION_MAX + 1];
	int64_t groups[4];
	size_t n;

	return devcache_facts_lookup(dc, id, hw, rep, ver, groups, 4, &n);
}

START_TEST(test_hit_miss)
{
	struct devcache *dc = devcache_new(16, 1);
	struct store_credential in = cred_of("d1", 7), out, api;
	char hw[STORE_HARDWARE_MAX + 1], rep[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1];
	int64_t gids[3] = {3, 5, 9}, got[4];
	struct devcache_facts f = {
	    "hwA", "hwB", "2.1.0", gids, 3, 0, 0, NULL, 0};
	struct devcache_stats stats;
	size_t n;

	ck_assert_ptr_null(devcache_new(0, 1));
	ck_assert_ptr_nonnull(dc);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tok1", in.hash, &out), OTA_ENOTFOUND);
	devcache_cred_insert(dc, devcache_generation(dc), "tok1", &in);
	ck_assert_int_eq(devcache_cred_lookup(dc, "tok1", in.hash, &out), 0);
	ck_assert_int_eq(out.kind, STORE_CRED_DEVICE);
	ck_assert_str_eq(out.subject, "d1");
	ck_assert_int_eq(out.revoked, 0);
	ck_assert(memcmp(out.hash, in.hash, CRYPTO_HASH_LEN) == 0);
	/* API and gateway tokens are never remembered. */
	api = cred_of("admin", 1);
	api.kind = STORE_CRED_API;
	devcache_cred_insert(dc, devcache_generation(dc), "tok2", &api);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tok2", api.hash, &out), OTA_ENOTFOUND);
	api.kind = STORE_CRED_GATEWAY;
	devcache_cred_insert(dc, devcache_generation(dc), "tok2", &api);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tok2", api.hash, &out), OTA_ENOTFOUND);

	devcache_facts_insert(dc, devcache_generation(dc), "d1", &f);
	ck_assert_int_eq(
	    devcache_facts_lookup(dc, "d1", hw, rep, ver, got, 4, &n), 0);
	ck_assert_str_eq(hw, "hwA");
	ck_assert_str_eq(rep, "hwB");
	ck_assert_str_eq(ver, "2.1.0");
	ck_assert_uint_eq(n, 3);
	ck_assert(got[0] == 3 && got[1] == 5 && got[2] == 9);
	/* The caller's room bounds the groups copied. */
	ck_assert_int_eq(
	    devcache_facts_lookup(dc, "d1", hw, rep, ver, got, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(facts_get(dc, "d2", hw), OTA_ENOTFOUND);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.credentials, 1);
	ck_assert_uint_eq(stats.devices, 1);
	ck_assert_uint_gt(stats.hits, 2);
	ck_assert_uint_gt(stats.misses, 3);
	devcache_free(dc);
	devcache_free(NULL);
}
END_TEST

START_TEST(test_eviction)
{
	struct devcache *dc = devcache_new(4, 1);
	struct devcache_stats stats;
	struct store_credential cr, out;
	char id[16], tok[16], hw[STORE_HARDWARE_MAX + 1];

	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		facts_put(dc, id, "hw", i);
	}
	/* d0 used since: the hand gives it a second chance and takes d1. */
	ck_assert_int_eq(facts_get(dc, "d0", hw), 0);
	facts_put(dc, "d4", "hw", 4);
	ck_assert_int_eq(facts_get(dc, "d0", hw), 0);
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	/* A device's token and facts share its record: 4 devices, each
	 * with both. */
	for (int i = 5; i < 100; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		snprintf(tok, sizeof(tok), "t%d", i);
		cr = cred_of(id, (unsigned char)i);
		facts_put(dc, id, "hw", i);
		devcache_cred_insert(dc, devcache_generation(dc), tok, &cr);
	}
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 4);
	ck_assert_uint_eq(stats.credentials, 4);
	ck_assert_uint_ge(stats.evictions, 95);
	ck_assert_int_eq(facts_get(dc, "d99", hw), 0);
	ck_assert_int_eq(devcache_cred_lookup(dc, "t99", cr.hash, &out), 0);
	ck_assert_str_eq(out.subject, "d99");
	/* An evicted device's token went with it. */
	cr = cred_of("d5", 5);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "t5", cr.hash, &out), OTA_ENOTFOUND);
	devcache_free(dc);
}
END_TEST

START_TEST(test_generation_race)
{
	struct devcache *dc = devcache_new(16, 1);
	struct store_credential cr = cred_of("d1", 1), out;
	struct devcache_facts f = {"hwA", "", "1.0.0", NULL, 0, 0, 0, NULL, 0};
	char hw[STORE_HARDWARE_MAX + 1];
	uint64_t gen;

	/* A reader took the generation and read the database; the device
	 * changed and was invalidated before it inserts: dropped. */
	gen = devcache_generation(dc);
	devcache_invalidate(dc, "d1");
	devcache_cred_insert(dc, gen, "tok1", &cr);
	devcache_facts_insert(dc, gen, "d1", &f);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tok1", cr.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	/* Read after the invalidation: kept. */
	gen = devcache_generation(dc);
	devcache_facts_insert(dc, gen, "d1", &f);
	ck_assert_int_eq(facts_get(dc, "d1", hw), 0);
	/* Inserted before the invalidation: removed by it. */
	devcache_invalidate(dc, "d1");
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	devcache_free(dc);
}
END_TEST

START_TEST(test_invalidate)
{
	struct devcache *dc = devcache_new(64, 1);
	struct store_credential a = cred_of("d1", 1), b = cred_of("d1", 2);
	struct store_credential o = cred_of("d2", 3), out;
	char hw[STORE_HARDWARE_MAX + 1];

	devcache_cred_insert(dc, devcache_generation(dc), "ta", &a);
	devcache_cred_insert(dc, devcache_generation(dc), "tb", &b);
	devcache_cred_insert(dc, devcache_generation(dc), "to", &o);
	facts_put(dc, "d1", "hw", 1);
	facts_put(dc, "d2", "hw", 1);
	facts_put(dc, "d3", "hw", 1);
	/* A device goes with every token of it; others stay. */
	devcache_invalidate(dc, "d1 d3");
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "ta", a.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tb", b.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	ck_assert_int_eq(facts_get(dc, "d3", hw), OTA_ENOTFOUND);
	ck_assert_int_eq(devcache_cred_lookup(dc, "to", o.hash, &out), 0);
	ck_assert_int_eq(facts_get(dc, "d2", hw), 0);
	/* A prefix of an id is another id. */
	devcache_invalidate(dc, "d");
	ck_assert_int_eq(facts_get(dc, "d2", hw), 0);
	/* "*": everything. */
	devcache_invalidate(dc, "*");
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "to", o.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(facts_get(dc, "d2", hw), OTA_ENOTFOUND);
	devcache_invalidate(NULL, "*");
	devcache_free(dc);
}
END_TEST

START_TEST(test_serving)
{
	struct devcache *dc = devcache_new(16, 0);
	char hw[STORE_HARDWARE_MAX + 1];

	/* Not serving: nothing remembered, nothing answered. */
	facts_put(dc, "d1", "hw", 1);
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	devcache_set_serving(dc, 1);
	facts_put(dc, "d1", "hw", 1);
	ck_assert_int_eq(facts_get(dc, "d1", hw), 0);
	/* Turned off (the listener lost its connection): emptied. */
	devcache_set_serving(dc, 0);
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	devcache_set_serving(dc, 1);
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	devcache_free(dc);
}
END_TEST

START_TEST(test_tokens)
{
	struct devcache *dc = devcache_new(16, 1);
	struct store_credential a = cred_of("d1", 1), b = cred_of("d1", 2);
	struct store_credential out;
	struct devcache_stats stats;
	char hw[STORE_HARDWARE_MAX + 1];

	/* Rotated: the old token is revoked, the new one is not; both are
	 * answered from memory, each with its own state. */
	a.revoked = 1;
	devcache_cred_insert(dc, devcache_generation(dc), "ta", &a);
	devcache_cred_insert(dc, devcache_generation(dc), "tb", &b);
	facts_put(dc, "d1", "hw", 1);
	ck_assert_int_eq(devcache_cred_lookup(dc, "ta", a.hash, &out), 0);
	ck_assert_str_eq(out.subject, "d1");
	ck_assert_int_eq(out.revoked, 1);
	ck_assert_int_eq(devcache_cred_lookup(dc, "tb", b.hash, &out), 0);
	ck_assert_str_eq(out.subject, "d1");
	ck_assert_int_eq(out.revoked, 0);
	ck_assert(memcmp(out.hash, b.hash, CRYPTO_HASH_LEN) == 0);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.credentials, 2);
	ck_assert_uint_eq(stats.devices, 1);
	/* A wrong secret is not answered from memory (the database
	 * decides), nor is another token's secret. */
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "ta", b.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tb", a.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tc", a.hash, &out), OTA_ENOTFOUND);
	/* Read again from the database: the same entry, its state
	 * refreshed, not a second one. */
	a.revoked = 0;
	devcache_cred_insert(dc, devcache_generation(dc), "ta", &a);
	ck_assert_int_eq(devcache_cred_lookup(dc, "ta", a.hash, &out), 0);
	ck_assert_int_eq(out.revoked, 0);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.credentials, 2);
	/* The device goes with all its tokens and its facts. */
	devcache_invalidate(dc, "d1");
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "ta", a.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "tb", b.hash, &out), OTA_ENOTFOUND);
	ck_assert_int_eq(facts_get(dc, "d1", hw), OTA_ENOTFOUND);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.credentials, 0);
	ck_assert_uint_eq(stats.devices, 0);
	devcache_free(dc);
}
END_TEST

START_TEST(test_tokens_bound)
{
	/* Two devices' room: a device's tokens past its first take the
	 * overflow, at most as many as the devices; the rest go to the
	 * database. */
	struct devcache *dc = devcache_new(2, 1);
	struct store_credential cr, out;
	struct devcache_stats stats;
	char tok[16];

	for (int i = 0; i < 5; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		cr = cred_of("d1", (unsigned char)i);
		devcache_cred_insert(dc, devcache_generation(dc), tok, &cr);
	}
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.credentials, 3);
	cr = cred_of("d1", 2);
	ck_assert_int_eq(devcache_cred_lookup(dc, "t2", cr.hash, &out), 0);
	cr = cred_of("d1", 3);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "t3", cr.hash, &out), OTA_ENOTFOUND);
	/* The device's eviction (d1 used: a second chance, so d2 goes
	 * first) frees its overflow entries too. */
	cr = cred_of("d2", 9);
	devcache_cred_insert(dc, devcache_generation(dc), "u2", &cr);
	cr = cred_of("d3", 9);
	devcache_cred_insert(dc, devcache_generation(dc), "u3", &cr);
	cr = cred_of("d4", 9);
	devcache_cred_insert(dc, devcache_generation(dc), "u4", &cr);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.credentials, 2);
	ck_assert_uint_eq(stats.evictions, 2);
	cr = cred_of("d1", 2);
	ck_assert_int_eq(
	    devcache_cred_lookup(dc, "t2", cr.hash, &out), OTA_ENOTFOUND);
	devcache_free(dc);
}
END_TEST

/* An id of n characters from the id alphabet, varied by seed. */
static void
long_id(char *out, size_t n, unsigned seed)
{
	static const char abc[] = "ABCXYZabcxyz0189._:-";

	for (size_t i = 0; i < n; i++)
		out[i] = abc[(i * 7 + seed) % (sizeof(abc) - 1)];
	/* The seed's digits first: different seeds, different ids. */
	for (size_t i = 0; i < n && i < 6; i++, seed /= 10)
		out[i] = (char)('0' + seed % 10);
	out[n] = '\0';
}

START_TEST(test_long_ids)
{
	struct devcache *dc = devcache_new(100, 1);
	char id[STORE_DEVICE_ID_MAX + 2], hw[STORE_HARDWARE_MAX + 1];
	struct store_credential cr, out;
	struct devcache_stats stats;
	const size_t lens[] = {1, 24, 25, 26, 36, 127, 128};

	/* Each length, inline or spilled, keeps its exact id. */
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		long_id(id, lens[i], (unsigned)i);
		cr = cred_of(id, (unsigned char)i);
		devcache_cred_insert(dc, devcache_generation(dc), "tok", &cr);
		facts_put(dc, id, "hwL", 1);
		ck_assert_int_eq(facts_get(dc, id, hw), 0);
		ck_assert_int_eq(
		    devcache_cred_lookup(dc, "tok", cr.hash, &out), 0);
		ck_assert_str_eq(out.subject, id);
		/* One character fewer is another device. */
		if (lens[i] > 1) {
			id[lens[i] - 1] = '\0';
			ck_assert_int_eq(facts_get(dc, id, hw), OTA_ENOTFOUND);
			long_id(id, lens[i], (unsigned)i);
		}
		devcache_invalidate(dc, id);
		ck_assert_int_eq(facts_get(dc, id, hw), OTA_ENOTFOUND);
	}
	/* Past the longest id: not cached. */
	long_id(id, 129, 1);
	facts_put(dc, id, "hw", 1);
	ck_assert_int_eq(facts_get(dc, id, hw), OTA_ENOTFOUND);
	/* Spilled ids are bounded (a quarter of the devices, and 16). */
	for (unsigned i = 0; i < 60; i++) {
		long_id(id, 30, i);
		facts_put(dc, id, "hw", 1);
	}
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 100 / 4 + 16);
	ck_assert_uint_eq(stats.evictions, 0);
	/* Short ids still fit. */
	facts_put(dc, "short", "hw", 1);
	ck_assert_int_eq(facts_get(dc, "short", hw), 0);
	devcache_free(dc);
}
END_TEST

START_TEST(test_intern_limits)
{
	struct devcache *dc = devcache_new(70000, 1);
	struct devcache_facts f = {"hw", "", NULL, NULL, 0, 0, 0, NULL, 0};
	struct devcache_stats stats;
	char id[32], ver[32], hw[STORE_HARDWARE_MAX + 1];
	unsigned n = INTERN_ENTRIES_MAX + 10;

	/* Every device reports its own version: the string table holds
	 * 65535 values, "hw" and "" among them; the devices past it are
	 * not cached rather than the table grown. */
	for (unsigned i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "d%u", i);
		snprintf(ver, sizeof(ver), "1.0.%u", i);
		f.version = ver;
		devcache_facts_insert(dc, devcache_generation(dc), id, &f);
	}
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, INTERN_ENTRIES_MAX - 2);
	snprintf(id, sizeof(id), "d%u", n - 1);
	ck_assert_int_eq(facts_get(dc, id, hw), OTA_ENOTFOUND);
	/* A forgotten device frees its version for another. */
	devcache_invalidate(dc, "d0");
	snprintf(ver, sizeof(ver), "1.0.%u", n - 1);
	f.version = ver;
	devcache_facts_insert(dc, devcache_generation(dc), id, &f);
	ck_assert_int_eq(facts_get(dc, id, hw), 0);
	/* A value many devices share is kept once and stays while one of
	 * them does. */
	f.version = "1.0.5";
	devcache_facts_insert(dc, devcache_generation(dc), "d1", &f);
	devcache_invalidate(dc, "d5");
	ck_assert_int_eq(facts_get(dc, "d1", hw), 0);
	devcache_free(dc);
}
END_TEST

START_TEST(test_index_model)
{
	/* Random fills and invalidations against a plain array: the
	 * indexes' deletions (moving keys back) never lose or keep one. */
	enum { POOL = 3000 };
	struct devcache *dc = devcache_new(4096, 1);
	static char in[POOL];
	struct store_credential cr, out;
	char id[32], tok[32], hw[STORE_HARDWARE_MAX + 1];
	unsigned x = 12345;

	memset(in, 0, sizeof(in));
	for (int op = 0; op < 40000; op++) {
		unsigned i;

		x = x * 1103515245u + 12345u;
		i = (x >> 8) % POOL;
		snprintf(id, sizeof(id), "dev-%u", i);
		snprintf(tok, sizeof(tok), "%016x", i);
		if ((x >> 4) % 3 != 0) {
			cr = cred_of(id, (unsigned char)i);
			facts_put(dc, id, "hw", i);
			devcache_cred_insert(
			    dc, devcache_generation(dc), tok, &cr);
			in[i] = 1;
		} else {
			devcache_invalidate(dc, id);
			in[i] = 0;
		}
	}
	for (unsigned i = 0; i < POOL; i++) {
		int want = in[i] ? 0 : OTA_ENOTFOUND;

		snprintf(id, sizeof(id), "dev-%u", i);
		snprintf(tok, sizeof(tok), "%016x", i);
		cr = cred_of(id, (unsigned char)i);
		ck_assert_int_eq(facts_get(dc, id, hw), want);
		ck_assert_int_eq(
		    devcache_cred_lookup(dc, tok, cr.hash, &out), want);
	}
	devcache_free(dc);
}
END_TEST

/* Resident memory of this process in KiB (0 when unknown). */
static long
rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

START_TEST(test_million)
{
	/* A million devices of 24-character ids, each with a token and
	 * facts (10 hardware, 5 versions, 100 groups): at most 64 bytes a
	 * device, all included (the cache's own count of what it
	 * allocated). */
	enum { N = 1000000 };
	struct devcache *dc = devcache_new(N, 1);
	struct store_credential cr = cred_of("x", 7), out;
	char id[32], tok[32], hwv[8], hw[STORE_HARDWARE_MAX + 1];
	const char *vers[5] = {"1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.0.1"};
	struct devcache_facts f = {NULL, "", NULL, NULL, 1, 0, 0, NULL, 0};
	struct devcache_stats stats;
	long rss0 = rss_kib();
	int64_t gid;

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "device-%017d", i);
		snprintf(tok, sizeof(tok), "%016x", (unsigned)i * 2654435761u);
		snprintf(hwv, sizeof(hwv), "hw-%d", i % 10);
		snprintf(cr.subject, sizeof(cr.subject), "%s", id);
		gid = i % 100;
		f.hardware = hwv;
		f.version = vers[i % 5];
		f.group_ids = &gid;
		devcache_facts_insert(dc, devcache_generation(dc), id, &f);
		devcache_cred_insert(dc, devcache_generation(dc), tok, &cr);
	}
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, N);
	ck_assert_uint_eq(stats.credentials, N);
	ck_assert_uint_eq(stats.evictions, 0);
	fprintf(stderr,
	    "devcache: %d devices (24-character ids): %zu bytes, %.1f a "
	    "device; RSS %+ld KiB (sanitizer build)\n",
	    N, stats.bytes, (double)stats.bytes / N, rss_kib() - rss0);
	ck_assert_uint_le(stats.bytes, (size_t)64 * N);
	snprintf(id, sizeof(id), "device-%017d", 777777);
	ck_assert_int_eq(facts_get(dc, id, hw), 0);
	ck_assert_str_eq(hw, "hw-7");
	snprintf(tok, sizeof(tok), "%016x", 777777u * 2654435761u);
	ck_assert_int_eq(devcache_cred_lookup(dc, tok, cr.hash, &out), 0);
	ck_assert_str_eq(out.subject, id);
	devcache_free(dc);
}
END_TEST

/* ---- wired to a store ---- */

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct devcache *dc;

static void
store_setup(void)
{
	ck_assert_int_eq(crypto_init(), 0);
	testutil_tmpdir_new("check_devcache", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	dc = devcache_new(64, 1);
	store_set_devices_hook(st, devcache_hook, dc);
}

static void
store_teardown(void)
{
	store_close(st);
	st = NULL;
	devcache_free(dc);
	dc = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Provisions device id (hardware hw, in group g when not NULL) with a
 * fresh token, whose id goes to token_id and the hash of its secret to
 * hash. */
static void
provision(struct store_conn *c, const char *id, const char *hw, const char *g,
    char token_id[CRYPTO_TOKEN_ID_LEN], unsigned char hash[CRYPTO_HASH_LEN])
{
	char token[CRYPTO_TOKEN_LEN];
	const char *groups[1] = {g};
	struct store_device_new d = {0};

	ck_assert_int_eq(crypto_token_new(token, token_id, hash), 0);
	d.id = id;
	d.hardware = hw;
	d.groups = groups;
	d.group_count = g != NULL ? 1 : 0;
	d.token_id = token_id;
	d.token_hash = hash;
	ck_assert_int_eq(store_device_insert_batch(c, &d, 1, NULL), 0);
}

/* The facts of id through the cache: its hardware and group count. */
static int
poll_facts(struct store_conn *c, const char *id, char *hw, size_t *ngroups)
{
	char rep[STORE_HARDWARE_MAX + 1], ver[STORE_VERSION_MAX + 1];
	int64_t groups[8];

	return devcache_poll_facts(dc, c, id, hw, rep, ver, groups, 8, ngroups);
}

START_TEST(test_store_changes)
{
	struct store_conn *c = store_acquire(st);
	char tok[CRYPTO_TOKEN_ID_LEN], hw[STORE_HARDWARE_MAX + 1];
	unsigned char hash[CRYPTO_HASH_LEN];
	const char *add[1] = {"s1"};
	struct store_credential cred;
	struct devcache_stats before, after;
	int64_t added, removed;
	size_t n;

	ck_assert_int_eq(store_group_create(c, "g1", NULL, NULL), 0);
	provision(c, "s1", "hwA", NULL, tok, hash);
	/* Miss, then hit: no database read the second time. */
	ck_assert_int_eq(devcache_credential_get(dc, c, tok, hash, &cred), 0);
	ck_assert_int_eq(poll_facts(c, "s1", hw, &n), 0);
	devcache_get_stats(dc, &before);
	ck_assert_int_eq(devcache_credential_get(dc, c, tok, hash, &cred), 0);
	ck_assert_int_eq(poll_facts(c, "s1", hw, &n), 0);
	devcache_get_stats(dc, &after);
	ck_assert_uint_eq(after.hits, before.hits + 2);
	ck_assert_str_eq(hw, "hwA");
	ck_assert_uint_eq(n, 0);
	/* A miss is never remembered. */
	ck_assert_int_eq(poll_facts(c, "nobody", hw, &n), OTA_ENOTFOUND);
	devcache_get_stats(dc, &before);
	ck_assert_uint_eq(before.devices, 1);

	/* Each committed change is seen by the next read. */
	ck_assert_int_eq(store_device_patch(c, "s1", "hwB", NULL), 0);
	ck_assert_int_eq(poll_facts(c, "s1", hw, &n), 0);
	ck_assert_str_eq(hw, "hwB");
	ck_assert_int_eq(store_group_members_change(
	                     c, "g1", add, 1, NULL, 0, NULL, &added, &removed),
	    0);
	ck_assert_int_eq(poll_facts(c, "s1", hw, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_group_delete(c, "g1"), 0);
	ck_assert_int_eq(poll_facts(c, "s1", hw, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_device_token_rotate(c, "s1", NULL, NULL), 0);
	ck_assert_int_eq(devcache_credential_get(dc, c, tok, hash, &cred), 0);
	ck_assert_int_eq(cred.revoked, 1);
	ck_assert_int_eq(store_device_delete(c, "s1"), 0);
	ck_assert_int_eq(
	    devcache_credential_get(dc, c, tok, hash, &cred), OTA_ENOTFOUND);
	ck_assert_int_eq(poll_facts(c, "s1", hw, &n), OTA_ENOTFOUND);
	store_release(st, c);
}
END_TEST

/* A devcache_match bits function: bit 0 when the labels hold
 * region=eu; counts its calls in *arg. */
static uint32_t
eu_bits(const void *arg, const char *flat, size_t len)
{
	const char *keys[SELECTOR_LABELS_MAX], *vals[SELECTOR_LABELS_MAX];
	size_t n =
	    selector_labels_split(flat, len, keys, vals, SELECTOR_LABELS_MAX);

	(*(int *)arg)++;
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], "region") == 0 &&
		    strcmp(vals[i], "eu") == 0)
			return 1;
	return 0;
}

/* The labels' bits of id through the cache under stamp. */
static uint32_t
poll_bits(struct store_conn *c, const char *id, uint64_t stamp, int *calls)
{
	char hw[STORE_HARDWARE_MAX + 1], rep[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1];
	int64_t groups[8];
	struct devcache_match m = {stamp, eu_bits, calls};
	uint32_t bits = 99;
	size_t n;

	ck_assert_int_eq(devcache_poll_facts_match(dc, c, id, hw, rep, ver,
	                     groups, 8, &n, &m, &bits, NULL),
	    0);
	return bits;
}

/* A device's update marks are kept with its facts: a hit gives them back,
 * an unfinished update reduced to its rollout (devices on one offer share
 * a set), a failed one whole; the marks are read from the store on a
 * miss (none for a device without updates). */
START_TEST(test_marks)
{
	struct store_conn *c = store_acquire(st);
	const struct store_update_mark in[4] = {{7, 1234, 0, UPDATE_STARTED},
	    {5, 99, 2, UPDATE_FAILED}, {4, 77, 0, UPDATE_DECLINED},
	    {3, 55, 0, UPDATE_OFFERED}};
	struct devcache_facts f = {"hwA", "", "1.0.0", NULL, 0, 0, 0, in, 4};
	char hw[STORE_HARDWARE_MAX + 1], rep[STORE_HARDWARE_MAX + 1];
	char ver[STORE_VERSION_MAX + 1], tok[CRYPTO_TOKEN_ID_LEN];
	unsigned char hash[CRYPTO_HASH_LEN];
	struct devcache_marks marks;
	struct devcache_stats a, b;
	int64_t groups[8];
	size_t n;

	devcache_facts_insert(dc, devcache_generation(dc), "mk1", &f);
	devcache_get_stats(dc, &a);
	ck_assert_int_eq(devcache_poll_facts_match(dc, c, "mk1", hw, rep, ver,
	                     groups, 8, &n, NULL, NULL, &marks),
	    0);
	devcache_get_stats(dc, &b);
	ck_assert_uint_eq(b.hits, a.hits + 1);
	ck_assert_uint_eq(marks.n, 4);
	/* An update under way keeps its consent only (started: given). */
	ck_assert_int_eq(marks.m[0].rollout_id, 7);
	ck_assert_uint_eq(marks.m[0].status, UPDATE_ACCEPTED);
	ck_assert_int_eq(marks.m[0].outcome_at, 0);
	/* A decline keeps its time (the re-ask counts from it). */
	ck_assert_uint_eq(marks.m[2].status, UPDATE_DECLINED);
	ck_assert_int_eq(marks.m[2].outcome_at, 77);
	ck_assert_uint_eq(marks.m[3].status, UPDATE_OFFERED);
	ck_assert_int_eq(marks.m[3].outcome_at, 0);
	ck_assert_int_eq(marks.m[1].rollout_id, 5);
	ck_assert_uint_eq(marks.m[1].status, UPDATE_FAILED);
	ck_assert_int_eq(marks.m[1].outcome_at, 99);
	ck_assert_uint_eq(marks.m[1].retries, 2);
	/* More marks than a device keeps: not cached. */
	f.mark_count = STORE_UPDATE_MARKS_MAX + 1;
	devcache_facts_insert(dc, devcache_generation(dc), "mk2", &f);
	ck_assert_int_eq(
	    devcache_facts_lookup(dc, "mk2", hw, rep, ver, groups, 8, &n),
	    OTA_ENOTFOUND);
	/* From the store: a device without updates has none. */
	provision(c, "mk3", "hwA", NULL, tok, hash);
	marks.n = 9;
	ck_assert_int_eq(devcache_poll_facts_match(dc, c, "mk3", hw, rep, ver,
	                     groups, 8, &n, NULL, NULL, &marks),
	    0);
	ck_assert_uint_eq(marks.n, 0);
	store_release(st, c);
}
END_TEST

/* The labels' bits are kept with the stamp they were computed for: the
 * same stamp hits, another one reads the labels again, a label change
 * is seen at the next read, stamp 0 never reads labels. */
START_TEST(test_label_bits)
{
	struct store_conn *c = store_acquire(st);
	char tok[CRYPTO_TOKEN_ID_LEN];
	unsigned char hash[CRYPTO_HASH_LEN];
	int calls = 0;

	provision(c, "l1", "hwA", NULL, tok, hash);
	ck_assert_int_eq(store_device_set_labels(
	                     c, "l1", "{\"tier\":\"a\",\"region\":\"eu\"}"),
	    0);
	ck_assert_uint_eq(poll_bits(c, "l1", 7, &calls), 1);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(poll_bits(c, "l1", 7, &calls), 1);
	ck_assert_int_eq(calls, 1); /* a hit */
	ck_assert_uint_eq(poll_bits(c, "l1", 8, &calls), 1);
	ck_assert_int_eq(calls, 2); /* another stamp: read again */
	ck_assert_uint_eq(poll_bits(c, "l1", 8, &calls), 1);
	ck_assert_int_eq(calls, 2);
	ck_assert_int_eq(
	    store_device_set_labels(c, "l1", "{\"region\":\"us\"}"), 0);
	ck_assert_uint_eq(poll_bits(c, "l1", 8, &calls), 0);
	ck_assert_int_eq(calls, 3);
	ck_assert_uint_eq(poll_bits(c, "l1", 0, &calls), 0);
	ck_assert_uint_eq(poll_bits(c, "l1", 0, &calls), 0);
	ck_assert_int_eq(calls, 3); /* no selectors: labels never read */
	store_release(st, c);
}
END_TEST

START_TEST(test_store_rollback)
{
	struct store_conn *c = store_acquire(st);
	char tok[CRYPTO_TOKEN_ID_LEN], hw[STORE_HARDWARE_MAX + 1];
	unsigned char hash[CRYPTO_HASH_LEN];
	struct devcache_stats stats;
	size_t n;

	provision(c, "r1", "hwA", NULL, tok, hash);
	provision(c, "r2", "hwA", NULL, tok, hash);
	ck_assert_int_eq(poll_facts(c, "r1", hw, &n), 0);
	ck_assert_int_eq(poll_facts(c, "r2", hw, &n), 0);
	/* Rolled back: nothing forgotten. */
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_devices_changed(c, "r1"), 0);
	store_rollback(c);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 2);
	/* Committed: only the one named. */
	ck_assert_int_eq(store_begin(c), 0);
	ck_assert_int_eq(store_devices_changed(c, "r1"), 0);
	ck_assert_int_eq(store_commit(c), 0);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 1);
	/* Autocommit: at once; NULL is every device. */
	ck_assert_int_eq(store_devices_changed(c, NULL), 0);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 0);
	/* A long list (several notifications on PostgreSQL): the hook
	 * gets all of it. */
	ck_assert_int_eq(poll_facts(c, "r1", hw, &n), 0);
	ck_assert_int_eq(poll_facts(c, "r2", hw, &n), 0);
	ck_assert_int_eq(store_begin(c), 0);
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(store_devices_changed(c, "other-device"), 0);
	ck_assert_int_eq(store_devices_changed(c, "r2"), 0);
	ck_assert_int_eq(store_commit(c), 0);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 1);
	/* Past what a transaction keeps: every device. */
	ck_assert_int_eq(store_begin(c), 0);
	for (int i = 0; i < 30000; i++)
		ck_assert_int_eq(store_devices_changed(c, "other-device"), 0);
	ck_assert_int_eq(store_commit(c), 0);
	devcache_get_stats(dc, &stats);
	ck_assert_uint_eq(stats.devices, 0);
	store_release(st, c);
}
END_TEST

static Suite *
devcache_suite(void)
{
	Suite *s = suite_create("devcache");
	TCase *tc = tcase_create("cache");
	TCase *ts = tcase_create("store");
	TCase *tm = tcase_create("million");

	tcase_add_test(tc, test_hit_miss);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_generation_race);
	tcase_add_test(tc, test_invalidate);
	tcase_add_test(tc, test_serving);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_tokens_bound);
	tcase_add_test(tc, test_long_ids);
	tcase_add_test(tc, test_intern_limits);
	tcase_add_test(tc, test_index_model);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(tm, test_million);
	tcase_set_timeout(tm, 300);
	suite_add_tcase(s, tm);
	tcase_add_checked_fixture(ts, store_setup, store_teardown);
	tcase_set_timeout(ts, 60);
	tcase_add_test(ts, test_store_changes);
	tcase_add_test(ts, test_label_bits);
	tcase_add_test(ts, test_marks);
	tcase_add_test(ts, test_store_rollback);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(devcache_suite());
}
