/*
 * check_offers: the offer snapshot.  Building it from rollout rows and
 * images (every fact a manifest needs, copied and immutable), choosing a
 * device's offer from it (groups, hardware, versions, stages, highest
 * version, many rollouts), and the cache over a real store: reloaded when
 * the rollouts generation moves, not before, and shared by concurrent
 * readers while it is swapped.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "errors.h"
#include "offers.h"
#include "rollout_service.h"
#include "store.h"
#include "store_groups.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "testutil.h"
#include "timeutil.h"
#include "update_state.h"

/* SHA-1 and MD5 of "abc": what an image row stores beside sha256. */
#define ABC_SHA1 "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
setup_crypto(void)
{
	ck_assert_int_eq(crypto_init(), 0);
}

/* An image with its descriptor bytes (not parsed: the facts are set). */
static struct store_image *
fake_image(int64_t id, const char *version, const char *min_version,
    const char *hw_csv, const char *sigs)
{
	struct store_image *img = calloc(1, sizeof(*img));
	char hw[256], *save = NULL, *tok;

	ck_assert_ptr_nonnull(img);
	img->id = id;
	snprintf(img->desc.name, sizeof(img->desc.name), "fw");
	snprintf(img->desc.version, sizeof(img->desc.version), "%s", version);
	snprintf(img->desc.min_version, sizeof(img->desc.min_version), "%s",
	    min_version);
	snprintf(hw, sizeof(hw), "%s", hw_csv);
	for (tok = strtok_r(hw, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save))
		snprintf(img->desc.hardware[img->desc.hardware_count++],
		    sizeof(img->desc.hardware[0]), "%s", tok);
	img->desc.size = 1000 + (uint64_t)id;
	snprintf(img->desc.sha256_hex, sizeof(img->desc.sha256_hex), "%064lld",
	    (long long)id);
	img->descriptor = (unsigned char *)strdup("{\"exact\":\"bytes\"}");
	img->descriptor_len = strlen((char *)img->descriptor);
	img->signatures = strdup(sigs);
	return img;
}

/* A running rollout row at stage_bp, targeting groups[0..n). */
static void
fake_rollout(struct store_rollout *r, int64_t id, int64_t image_id,
    uint16_t stage_bp, const int64_t *groups, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->image_id = image_id;
	r->state = ROLLOUT_RUNNING;
	r->stage_count = 2;
	r->stage_index = 0;
	r->stages_bp[0] = stage_bp;
	r->stages_bp[1] = 10000;
	for (int i = 0; i < ROLLOUT_SALT_BYTES; i++)
		r->salt[i] = (unsigned char)(id * 31 + i);
	for (size_t g = 0; g < n; g++)
		r->groups[g].id = groups[g];
	r->group_count = n;
}

/* A snapshot of n rollouts; images freed here. */
static struct offers_snapshot *
snapshot_of(struct store_rollout *rows, struct store_image **imgs, size_t n)
{
	struct offers_snapshot *s = NULL;

	ck_assert_int_eq(offers_snapshot_build(rows, imgs, n, &s), 0);
	for (size_t i = 0; i < n; i++)
		store_image_free(imgs[i]);
	return s;
}

START_TEST(test_snapshot_build)
{
	static const int64_t groups[] = {9, 2, 5};
	const char *sigs = "[{\"keyid\":\"k\",\"sig\":\"c2ln\"}]";
	struct store_rollout row;
	struct store_image *img = fake_image(7, "1.2.0", "1.0.0", "a,b", sigs);
	unsigned char dec[64], digest[MANIFEST_DIGEST_BYTES];
	struct offers_snapshot *s = NULL;
	const struct offer_rollout *r;
	size_t declen = 0;
	char *text;

	fake_rollout(&row, 3, 7, 500, groups, NELEM(groups));
	manifest_image_digest(
	    img->descriptor, img->descriptor_len, img->signatures, digest);
	s = snapshot_of(&row, &img, 1);
	ck_assert_uint_eq(s->count, 1);
	r = &s->rollouts[0];
	ck_assert_int_eq(r->id, 3);
	ck_assert_int_eq(r->stage_bp, 500);
	ck_assert_mem_eq(r->salt, row.salt, ROLLOUT_SALT_BYTES);
	ck_assert_uint_eq(r->group_count, 3);
	ck_assert(r->group_ids[0] == 2 && r->group_ids[1] == 5 &&
	          r->group_ids[2] == 9);
	ck_assert_int_eq(r->image.id, 7);
	ck_assert_str_eq(r->image.version, "1.2.0");
	ck_assert_str_eq(r->image.min_version, "1.0.0");
	ck_assert_uint_eq(r->image.hardware_count, 2);
	ck_assert_str_eq(r->image.hardware_ptrs[1], "b");
	ck_assert_uint_eq(r->image.size, 1007);
	ck_assert_int_eq(
	    sodium_base642bin(dec, sizeof(dec), r->image.descriptor_b64,
	        strlen(r->image.descriptor_b64), NULL, &declen, NULL,
	        sodium_base64_VARIANT_ORIGINAL),
	    0);
	ck_assert_uint_eq(declen, strlen("{\"exact\":\"bytes\"}"));
	ck_assert_mem_eq(dec, "{\"exact\":\"bytes\"}", declen);
	text = json_dumps(r->image.signatures, JSON_COMPACT);
	ck_assert_str_eq(text, sigs);
	free(text);
	ck_assert_mem_eq(r->image.digest, digest, sizeof(digest));
	/* Not backfilled: no SHA-1 or MD5; no descriptor filename. */
	ck_assert_str_eq(r->image.sha1_hex, "");
	ck_assert_str_eq(r->image.md5_hex, "");
	ck_assert_str_eq(r->image.filename, "fw-1.2.0.bin");
	/* Its manifest's fixed text is made once, here. */
	ck_assert_ptr_nonnull(r->text);
	offers_snapshot_unref(s);
}
END_TEST

/* An image whose text cannot be made (not UTF-8: jansson refuses it)
 * still loads: no fixed text, the whole manifest built at a poll, which
 * fails for that rollout alone; the other rollouts keep theirs. */
START_TEST(test_snapshot_text_not_made)
{
	struct store_rollout rows[2];
	struct store_image *imgs[2];
	struct offers_snapshot *s;
	int64_t g = 1;

	imgs[0] = fake_image(1, "1.0.0", "", "a", "[]");
	imgs[1] = fake_image(2, "1.1.0", "", "a", "[]");
	snprintf(imgs[1]->desc.name, sizeof(imgs[1]->desc.name), "bad\xff");
	fake_rollout(&rows[0], 1, 1, 10000, &g, 1);
	fake_rollout(&rows[1], 2, 2, 10000, &g, 1);
	s = snapshot_of(rows, imgs, 2);
	ck_assert_uint_eq(s->count, 2);
	ck_assert_ptr_nonnull(s->rollouts[0].text);
	ck_assert_ptr_null(s->rollouts[1].text);
	offers_snapshot_unref(s);
}
END_TEST

/* The DDI facts: SHA-1, MD5 and the artifact filename, copied. */
START_TEST(test_snapshot_ddi_fields)
{
	struct store_rollout row;
	struct store_image *img = fake_image(7, "1.2.0", "", "a", "[]");
	struct offers_snapshot *s;
	int64_t g = 1;

	snprintf(img->sha1_hex, sizeof(img->sha1_hex), "%s", ABC_SHA1);
	snprintf(img->md5_hex, sizeof(img->md5_hex), "%s", ABC_MD5);
	snprintf(img->desc.filename, sizeof(img->desc.filename), "os.swu");
	fake_rollout(&row, 3, 7, 10000, &g, 1);
	s = snapshot_of(&row, &img, 1);
	ck_assert_str_eq(s->rollouts[0].image.sha1_hex, ABC_SHA1);
	ck_assert_str_eq(s->rollouts[0].image.md5_hex, ABC_MD5);
	ck_assert_str_eq(s->rollouts[0].image.filename, "os.swu");
	offers_snapshot_unref(s);
}
END_TEST

START_TEST(test_snapshot_bad_signatures)
{
	struct store_rollout rows[2];
	struct store_image *imgs[2];
	struct offers_snapshot *s = NULL;
	int64_t g = 1;

	imgs[0] = fake_image(1, "1.0.0", "", "a", "[]");
	imgs[1] = fake_image(2, "1.0.0", "", "a", "not json");
	fake_rollout(&rows[0], 1, 1, 10000, &g, 1);
	fake_rollout(&rows[1], 2, 2, 10000, &g, 1);
	ck_assert_int_eq(offers_snapshot_build(rows, imgs, 2, &s), OTA_EINVAL);
	ck_assert_ptr_null(s);
	store_image_free(imgs[0]);
	store_image_free(imgs[1]);
	/* An empty snapshot is fine and offers nothing. */
	ck_assert_int_eq(offers_snapshot_build(NULL, NULL, 0, &s), 0);
	ck_assert_uint_eq(s->count, 0);
	offers_snapshot_unref(s);
}
END_TEST

/* The index (in s) of the offer for the device, or -1 for none. */
static int
pick(const struct offers_snapshot *s, const char *dev, const char *hw,
    const char *ver, const int64_t *groups, size_t n)
{
	const struct offer_rollout *r = NULL;
	int rc = offers_pick(s, dev, hw, ver, groups, n, &r);

	if (rc == OTA_ENOTFOUND)
		return -1;
	ck_assert_int_eq(rc, 0);
	return (int)(r - s->rollouts);
}

START_TEST(test_pick_rules)
{
	static const int64_t g_a[] = {10}, g_b[] = {20, 30};
	struct store_rollout rows[3];
	struct store_image *imgs[3];
	struct offers_snapshot *s;
	int64_t mine[3];

	/* 0: 1.2.0 for hw a,b to group 10; 1: 1.3.0 hw a to groups 20,30,
	 * min 1.1.0; 2: 1.3.0 hw a to group 10 (a newer rollout). */
	imgs[0] = fake_image(1, "1.2.0", "", "a,b", "[]");
	imgs[1] = fake_image(2, "1.3.0", "1.1.0", "a", "[]");
	imgs[2] = fake_image(3, "1.3.0", "", "a", "[]");
	fake_rollout(&rows[0], 1, 1, 10000, g_a, 1);
	fake_rollout(&rows[1], 2, 2, 10000, g_b, 2);
	fake_rollout(&rows[2], 3, 3, 10000, g_a, 1);
	s = snapshot_of(rows, imgs, 3);

	/* Groups: none, others, one of several. */
	ck_assert_int_eq(pick(s, "d", "a", "1.0.0", NULL, 0), -1);
	mine[0] = 11;
	ck_assert_int_eq(pick(s, "d", "a", "1.0.0", mine, 1), -1);
	mine[0] = 5;
	mine[1] = 30;
	ck_assert_int_eq(pick(s, "d", "a", "1.1.0", mine, 2), 1);
	/* min_version 1.1.0 refuses 1.0.0. */
	ck_assert_int_eq(pick(s, "d", "a", "1.0.0", mine, 2), -1);
	/* Hardware b only in image 1. */
	mine[0] = 10;
	ck_assert_int_eq(pick(s, "d", "b", "1.0.0", mine, 1), 0);
	ck_assert_int_eq(pick(s, "d", "c", "1.0.0", mine, 1), -1);
	/* Equal precedence 1.3.0 in rollouts 2 and 3: the newer wins; and
	 * 1.3.0 beats 1.2.0. */
	ck_assert_int_eq(pick(s, "d", "a", "1.0.0", mine, 1), 2);
	mine[1] = 20;
	ck_assert_int_eq(pick(s, "d", "a", "1.1.0", mine, 2), 2);
	/* No downgrade, no reinstall. */
	ck_assert_int_eq(pick(s, "d", "a", "1.3.0", mine, 2), -1);
	ck_assert_int_eq(pick(s, "d", "b", "1.2.0", mine, 1), -1);
	/* Bad arguments. */
	ck_assert_int_eq(
	    offers_pick(s, "d", "a", "x", mine, 1, NULL), OTA_EINVAL);
	{
		const struct offer_rollout *r;

		ck_assert_int_eq(
		    offers_pick(s, "d", "a", "not semver", mine, 1, &r),
		    OTA_EINVAL);
		ck_assert_int_eq(
		    offers_pick(s, "d", "a", "1.0.0", NULL, 1, &r), OTA_EINVAL);
	}
	offers_snapshot_unref(s);
}
END_TEST

/* As pick, skipping the rollout ids except[0..n_except). */
static int
pick_except(const struct offers_snapshot *s, const char *ver,
    const int64_t *groups, size_t n, const int64_t *except, size_t n_except)
{
	const struct offer_rollout *r = NULL;
	int rc = offers_pick_except(
	    s, "d", "a", ver, groups, n, except, n_except, &r);

	if (rc == OTA_ENOTFOUND)
		return -1;
	ck_assert_int_eq(rc, 0);
	return (int)(r - s->rollouts);
}

START_TEST(test_pick_except)
{
	static const int64_t g_a[] = {10};
	struct store_rollout rows[3];
	struct store_image *imgs[3];
	struct offers_snapshot *s;
	const struct offer_rollout *r;
	int64_t ex[3];

	/* Rollout 1: 1.2.0; rollout 2: 1.1.0; rollout 3: 1.3.0 (the best);
	 * all to group 10, hardware a. */
	imgs[0] = fake_image(1, "1.2.0", "", "a", "[]");
	imgs[1] = fake_image(2, "1.1.0", "", "a", "[]");
	imgs[2] = fake_image(3, "1.3.0", "", "a", "[]");
	fake_rollout(&rows[0], 1, 1, 10000, g_a, 1);
	fake_rollout(&rows[1], 2, 2, 10000, g_a, 1);
	fake_rollout(&rows[2], 3, 3, 10000, g_a, 1);
	s = snapshot_of(rows, imgs, 3);

	ck_assert_int_eq(pick_except(s, "1.0.0", g_a, 1, NULL, 0), 2);
	/* An id not running changes nothing. */
	ex[0] = 99;
	ck_assert_int_eq(pick_except(s, "1.0.0", g_a, 1, ex, 1), 2);
	/* The best excepted: the second best wins, then the third. */
	ex[0] = 3;
	ck_assert_int_eq(pick_except(s, "1.0.0", g_a, 1, ex, 1), 0);
	ex[1] = 1;
	ck_assert_int_eq(pick_except(s, "1.0.0", g_a, 1, ex, 2), 1);
	/* Excepting the second best only: the best still wins. */
	ck_assert_int_eq(pick_except(s, "1.0.0", g_a, 1, &ex[1], 1), 2);
	/* All excepted, in any order: nothing. */
	ex[0] = 2;
	ex[1] = 3;
	ex[2] = 1;
	ck_assert_int_eq(pick_except(s, "1.0.0", g_a, 1, ex, 3), -1);
	r = NULL;
	ck_assert_int_eq(
	    offers_pick_except(s, "d", "a", "1.0.0", g_a, 1, ex, 3, &r),
	    OTA_ENOTFOUND);
	ck_assert_ptr_null(r);
	/* Rules still apply to what remains: 1.2.0 is no upgrade of 1.2.0,
	 * once 1.3.0 is excepted. */
	ex[0] = 3;
	ck_assert_int_eq(pick_except(s, "1.2.0", g_a, 1, ex, 1), -1);
	/* offers_pick is offers_pick_except with nothing excepted. */
	ck_assert_int_eq(pick(s, "d", "a", "1.0.0", g_a, 1), 2);
	/* A count without a list. */
	ck_assert_int_eq(
	    offers_pick_except(s, "d", "a", "1.0.0", g_a, 1, NULL, 1, &r),
	    OTA_EINVAL);
	offers_snapshot_unref(s);
}
END_TEST

START_TEST(test_pick_stage)
{
	int64_t g = 1;
	struct store_rollout row;
	struct store_image *img = fake_image(1, "2.0.0", "", "a", "[]");
	struct offers_snapshot *s;
	char dev[32];
	int in = 0;

	fake_rollout(&row, 4, 1, 2500, &g, 1);
	s = snapshot_of(&row, &img, 1);
	for (int i = 0; i < 2000; i++) {
		int want, got;

		snprintf(dev, sizeof(dev), "dev-%05d", i);
		want = rollout_bucket(s->rollouts[0].salt, dev) < 2500 ? 0 : -1;
		got = pick(s, dev, "a", "1.0.0", &g, 1);
		ck_assert_int_eq(got, want);
		in += got == 0;
	}
	ck_assert_int_gt(in, 400);
	ck_assert_int_lt(in, 600);
	offers_snapshot_unref(s);
}
END_TEST

START_TEST(test_pick_many_rollouts)
{
	enum { N = 40 };
	struct store_rollout *rows = calloc(N, sizeof(*rows));
	struct store_image *imgs[N];
	struct offers_snapshot *s;
	char ver[16];
	int64_t g = 7;

	ck_assert_ptr_nonnull(rows);
	for (int i = 0; i < N; i++) {
		/* Versions 1.0.<i>, shuffled across rollout ids. */
		snprintf(ver, sizeof(ver), "1.0.%d", (i * 17) % N);
		imgs[i] = fake_image(i + 1, ver, "", "a", "[]");
		fake_rollout(&rows[i], i + 1, i + 1, 10000, &g, 1);
	}
	s = snapshot_of(rows, imgs, N);
	free(rows);
	{
		int idx = pick(s, "d", "a", "0.9.0", &g, 1);

		ck_assert_int_ge(idx, 0);
		ck_assert_str_eq(s->rollouts[idx].image.version, "1.0.39");
	}
	ck_assert_int_eq(pick(s, "d", "a", "1.0.39", &g, 1), -1);
	{
		/* More rollouts than the stack holds: except the best two
		 * (1.0.39 and 1.0.38), 1.0.37 wins. */
		int64_t ex[2];
		int n = 0, idx;

		for (int i = 0; i < N; i++)
			if (strcmp(s->rollouts[i].image.version, "1.0.39") ==
			        0 ||
			    strcmp(s->rollouts[i].image.version, "1.0.38") == 0)
				ex[n++] = s->rollouts[i].id;
		ck_assert_int_eq(n, 2);
		idx = pick_except(s, "0.9.0", &g, 1, ex, 2);
		ck_assert_int_ge(idx, 0);
		ck_assert_str_eq(s->rollouts[idx].image.version, "1.0.37");
	}
	offers_snapshot_unref(s);
}
END_TEST

/* The labels' bits: one bit per rollout with a selector, in row order,
 * the 33rd and later (and an unparsable one) matching nobody; the stamp
 * names the selectors and is 0 without any; a pick needs the bit. */
START_TEST(test_selectors)
{
	enum { N = 36 };
	struct store_rollout *rows = calloc(N, sizeof(*rows));
	struct store_image *imgs[N];
	struct offers_snapshot *s, *s2;
	const struct offer_rollout *o;
	static const char eu[] = "region\0eu\0model\0a";
	int64_t g = 7;
	uint32_t bits;

	ck_assert_ptr_nonnull(rows);
	for (int i = 0; i < N; i++) {
		imgs[i] = fake_image(i + 1, "2.0.0", "", "a", "[]");
		fake_rollout(&rows[i], i + 1, i + 1, 10000, &g, 1);
		/* Row 0: none; row 1: unparsable; then region=eu. */
		snprintf(rows[i].selector, sizeof(rows[i].selector), "%s",
		    i == 0   ? ""
		    : i == 1 ? "region="
		             : "region=eu");
	}
	snprintf(rows[3].selector, sizeof(rows[3].selector), "model=b");
	s = snapshot_of(rows, imgs, N);
	ck_assert_int_eq(s->rollouts[0].sel_bit, -1);
	ck_assert_int_eq(s->rollouts[1].sel_bit, OFFERS_SELECTORS_MAX);
	ck_assert_int_eq(s->rollouts[2].sel_bit, 0);
	ck_assert_int_eq(s->rollouts[3].sel_bit, 1);
	ck_assert_int_eq(s->rollouts[33].sel_bit, 31);
	ck_assert_int_eq(s->rollouts[34].sel_bit, OFFERS_SELECTORS_MAX);
	ck_assert_uint_ne(s->sel_stamp, 0);
	bits = offers_label_bits(s, eu, sizeof(eu));
	ck_assert_uint_eq(bits, 0xfffffffdu); /* all but model=b's */
	ck_assert_uint_eq(offers_label_bits(s, "", 0), 0);
	/* Rollout 3 (model=b) is not picked with eu's bits, rollout 1
	 * (none) always, rollout 2 (unparsable) never. */
	ck_assert_int_eq(offers_selected(s, 4, bits), 0);
	ck_assert_int_eq(offers_selected(s, 3, bits), 1);
	ck_assert_int_eq(offers_selected(s, 1, 0), 1);
	ck_assert_int_eq(offers_selected(s, 2, ~0u), 0);
	ck_assert_int_eq(offers_selected(s, 35, ~0u), 0);
	ck_assert_int_eq(offers_selected(s, 999, 0), 1);
	ck_assert_int_eq(
	    offers_pick_labels(s, "d", "a", "1.0.0", &g, 1, 0, NULL, 0, &o), 0);
	ck_assert_int_eq(o->id, 1);
	/* The same selectors: the same stamp; one edited: another. */
	for (int i = 0; i < N; i++)
		imgs[i] = fake_image(i + 1, "2.0.0", "", "a", "[]");
	s2 = snapshot_of(rows, imgs, N);
	ck_assert_uint_eq(s2->sel_stamp, s->sel_stamp);
	offers_snapshot_unref(s2);
	snprintf(rows[3].selector, sizeof(rows[3].selector), "model=c");
	for (int i = 0; i < N; i++)
		imgs[i] = fake_image(i + 1, "2.0.0", "", "a", "[]");
	s2 = snapshot_of(rows, imgs, N);
	ck_assert_uint_ne(s2->sel_stamp, s->sel_stamp);
	offers_snapshot_unref(s2);
	/* No selector at all: stamp 0. */
	for (int i = 0; i < N; i++) {
		rows[i].selector[0] = '\0';
		imgs[i] = fake_image(i + 1, "2.0.0", "", "a", "[]");
	}
	s2 = snapshot_of(rows, imgs, N);
	ck_assert_uint_eq(s2->sel_stamp, 0);
	offers_snapshot_unref(s2);
	offers_snapshot_unref(s);
	free(rows);
}
END_TEST

/* ---- the cache over a real store ---- */

static char tmpdir[PATH_MAX];
static struct store *st;

static void
setup_store(void)
{
	char path[PATH_MAX + 16];

	setup_crypto();
	testutil_tmpdir_new("check_offers", tmpdir, sizeof(tmpdir));
	snprintf(path, sizeof(path), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(path), 8, &st), 0);
}

static void
teardown_store(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Stores an image, a group and a draft rollout; returns the rollout id. */
static int64_t
store_draft(void)
{
	struct ota_descriptor d;
	struct store_rollout_new rn;
	struct store_conn *c;
	unsigned char *bytes = NULL, salt[ROLLOUT_SALT_BYTES] = {1};
	const char *groups[] = {"g"};
	uint16_t stages[] = {10000};
	char err[200];
	size_t len = 0;
	int64_t img = 0, gid = 0, rid = 0;
	int existed = 0;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "fw");
	snprintf(d.version, sizeof(d.version), "2.0.0");
	snprintf(d.hardware[0], sizeof(d.hardware[0]), "a");
	d.hardware_count = 1;
	d.size = 10;
	memset(d.sha256, 0xab, sizeof(d.sha256));
	for (int i = 0; i < 32; i++)
		snprintf(d.sha256_hex + 2 * i, 3, "ab");
	ck_assert_int_eq(
	    descriptor_build(&d, &bytes, &len, err, sizeof(err)), 0);
	c = store_acquire(st);
	ck_assert_int_eq(store_image_insert(c, &d, bytes, len,
	                     "[{\"keyid\":\"k\",\"sig\":\"c2ln\"}]", ABC_SHA1,
	                     ABC_MD5, "t", &img, &existed),
	    0);
	ck_assert_int_eq(store_group_create(c, "g", "", &gid), 0);
	memset(&rn, 0, sizeof(rn));
	rn.name = "r";
	rn.image_id = img;
	rn.groups = groups;
	rn.group_count = 1;
	rn.stages_bp = stages;
	rn.stage_count = 1;
	rn.salt = salt;
	rn.failure_threshold = 0.05;
	rn.min_reports = 10;
	rn.created_by = "t";
	ck_assert_int_eq(store_rollout_create(c, &rn, &rid, NULL), 0);
	store_release(st, c);
	free(bytes);
	return rid;
}

static void
apply(int64_t rid, enum rollout_action a)
{
	struct rollout_service *svc = rollout_service_new(st);

	ck_assert_ptr_nonnull(svc);
	ck_assert_int_eq(
	    rollout_service_act(svc, rid, a, -1, "t", "", NULL), 0);
	rollout_service_free(svc);
}

/* The number of rollouts in the snapshot offers_acquire returns now. */
static size_t
current_count(struct offers *o)
{
	struct store_conn *c = store_acquire(st);
	const struct offers_snapshot *s = offers_acquire(o, c);
	size_t n = s->count;

	store_release(st, c);
	offers_release(o, s);
	return n;
}

/* Unix seconds of an RFC 3339 time. */
static int64_t
T(const char *s)
{
	int64_t ms;

	ck_assert_int_eq(timeutil_parse_rfc3339(s, &ms), 0);
	return ms / 1000;
}

/* offers_when of s's rollout 0 for groups g[0..n) at `at`, as
 * "<action> <open> <next> <forced_at>" with times as unix seconds. */
static void
when_is(const struct offers_snapshot *s, const int64_t *g, size_t n,
    const char *at, const char *action, int open, const char *next)
{
	struct offers_when w;

	ck_assert_int_eq(offers_when(s, &s->rollouts[0], g, n, T(at), &w), 0);
	ck_assert_str_eq(rollout_action_type_name(w.action), action);
	ck_assert_int_eq(w.window_open, open);
	ck_assert_int_eq(w.window_next, next[0] != '\0' ? T(next) : 0);
}

START_TEST(test_when)
{
	static const int64_t groups[] = {5, 9};
	static const int64_t g5[] = {5}, g9[] = {9}, g59[] = {5, 9};
	const char *sigs = "[{\"keyid\":\"k\",\"sig\":\"c2ln\"}]";
	struct store_rollout row;
	struct store_image *img = fake_image(7, "1.2.0", "", "a", sigs);
	struct offer_group_windows *gw = calloc(1, sizeof(*gw));
	struct offers_snapshot *s;

	fake_rollout(&row, 3, 7, 10000, groups, NELEM(groups));
	snprintf(
	    row.windows, sizeof(row.windows), "mon-fri 22:00 4h Europe/Berlin");
	row.action_type = ROLLOUT_ACTION_TIME_FORCED;
	snprintf(row.forced_at, sizeof(row.forced_at), "2099-03-03T00:00:00Z");
	s = snapshot_of(&row, &img, 1);
	ck_assert_ptr_nonnull(gw);
	gw->group_id = 5;
	ck_assert_int_eq(
	    mwindow_parse("daily 00:00 2h UTC", &gw->set, NULL, 0), 0);
	/* Spans for Monday 2099-03-02 12:00Z; group 5 has windows. */
	ck_assert_int_eq(
	    offers_snapshot_windows(s, gw, 1, T("2099-03-02T12:00:00Z")), 0);
	ck_assert_ptr_nonnull(s->rollouts[0].spans);
	/* Berlin is CET: 22:00 is 21:00Z; group 9 has no windows. */
	when_is(s, g9, 1, "2099-03-02T12:00:00Z", "soft", 0,
	    "2099-03-02T21:00:00Z");
	/* Group 5 too: both must be open, 00:00Z..01:00Z. */
	when_is(s, g5, 1, "2099-03-02T12:00:00Z", "soft", 0,
	    "2099-03-03T00:00:00Z");
	when_is(s, g59, 2, "2099-03-02T21:30:00Z", "soft", 0,
	    "2099-03-03T00:00:00Z");
	when_is(s, g9, 1, "2099-03-02T21:30:00Z", "soft", 1,
	    "2099-03-03T01:00:00Z");
	/* forced_at passed: forced. */
	when_is(s, g5, 1, "2099-03-03T00:30:00Z", "forced", 1,
	    "2099-03-03T01:00:00Z");
	/* Far outside the cover (the clock moved): computed again.  April
	 * 1st, Berlin is CEST: 22:00 is 20:00Z, open until 00:00Z. */
	when_is(s, g9, 1, "2099-04-01T21:30:00Z", "forced", 1,
	    "2099-04-02T00:00:00Z");
	/* With group 5 (00:00Z-02:00Z) under CEST the rollout's 20:00Z-
	 * 00:00Z only touches it: never open within two weeks. */
	when_is(s, g5, 1, "2099-04-01T21:30:00Z", "forced", 0, "");
	offers_snapshot_unref(s);
	/* A rollout without windows, no group windows: always open, its
	 * own action type. */
	fake_rollout(&row, 4, 8, 10000, groups, NELEM(groups));
	row.action_type = ROLLOUT_ACTION_DOWNLOAD_ONLY;
	img = fake_image(8, "1.2.0", "", "a", sigs);
	s = snapshot_of(&row, &img, 1);
	ck_assert_ptr_null(s->rollouts[0].windows);
	when_is(s, g59, 2, "2099-03-02T12:00:00Z", "download-only", 1, "");
	offers_snapshot_unref(s);
}
END_TEST

START_TEST(test_reload_on_generation)
{
	atomic_uint_fast64_t gen = 0;
	struct offers *o;
	int64_t rid;

	o = offers_new(st, &gen);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(current_count(o), 0);
	rid = store_draft();
	ck_assert_uint_eq(current_count(o), 0); /* drafts are not offered */
	apply(rid, ROLLOUT_START);
	/* Until the generation moves, the snapshot stands... */
	ck_assert_uint_eq(current_count(o), 0);
	atomic_fetch_add(&gen, 1);
	/* ...then the next reader reloads it. */
	ck_assert_uint_eq(current_count(o), 1);
	apply(rid, ROLLOUT_PAUSE);
	atomic_fetch_add(&gen, 1);
	ck_assert_uint_eq(current_count(o), 0);
	apply(rid, ROLLOUT_RESUME);
	atomic_fetch_add(&gen, 1);
	ck_assert_uint_eq(current_count(o), 1);
	offers_free(o);
}
END_TEST

START_TEST(test_reload_safety_net)
{
	atomic_uint_fast64_t gen = 0;
	struct offers *o;
	int64_t rid;

	o = offers_new(st, &gen);
	ck_assert_ptr_nonnull(o);
	rid = store_draft();
	apply(rid, ROLLOUT_START);
	ck_assert_uint_eq(current_count(o), 0);
	/* Without a generation bump, the age limit reloads it. */
	sleep(OFFERS_MAX_AGE_SEC + 1);
	ck_assert_uint_eq(current_count(o), 1);
	offers_free(o);
}
END_TEST

struct reader_arg {
	struct offers *o;
	int offered;
};

static void *
reader(void *p)
{
	struct reader_arg *a = p;
	int64_t g = 0;

	for (int i = 0; i < 3000; i++) {
		struct store_conn *c = store_acquire(st);
		const struct offers_snapshot *s = offers_acquire(a->o, c);
		const struct offer_rollout *r = NULL;

		store_release(st, c);
		if (s->count > 0) {
			g = s->rollouts[0].group_ids[0];
			if (offers_pick(s, "dev", "a", "1.0.0", &g, 1, &r) == 0)
				a->offered++;
		}
		offers_release(a->o, s);
	}
	return NULL;
}

START_TEST(test_concurrent_readers)
{
	atomic_uint_fast64_t gen = 0;
	struct reader_arg args[4];
	pthread_t th[4];
	struct offers *o;
	int64_t rid;

	rid = store_draft();
	apply(rid, ROLLOUT_START);
	o = offers_new(st, &gen);
	ck_assert_ptr_nonnull(o);
	for (int i = 0; i < 4; i++) {
		args[i].o = o;
		args[i].offered = 0;
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, reader, &args[i]), 0);
	}
	/* Swap snapshots under the readers' feet. */
	for (int i = 0; i < 200; i++)
		atomic_fetch_add(&gen, 1);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].offered, 3000);
	}
	offers_free(o); /* ASan reports any snapshot leaked or freed twice */
}
END_TEST

/* Retries and in-flight updates from a device's marks, the rate limit
 * of new offers, a rollout of a selector alone. */
START_TEST(test_retries_rate_groupless)
{
	static const int64_t g_a[] = {10};
	struct store_rollout rows[3];
	struct store_image *imgs[3];
	struct offers_snapshot *s;
	const struct offer_rollout *r = NULL;
	struct store_update_mark m[3];
	int64_t ex[3];
	struct offers_note note;
	const int64_t t0 = 1000000;

	imgs[0] = fake_image(1, "1.1.0", "", "a", "[]");
	imgs[1] = fake_image(2, "1.2.0", "", "a", "[]");
	imgs[2] = fake_image(3, "1.3.0", "", "a", "[]");
	fake_rollout(&rows[0], 1, 1, 10000, g_a, 1);
	rows[0].stuck.max_retries = 1;
	rows[0].stuck.retry_backoff_sec = 100;
	fake_rollout(&rows[1], 2, 2, 10000, g_a, 1);
	rows[1].stuck.max_offers_per_minute = 2;
	fake_rollout(&rows[2], 3, 3, 10000, NULL, 0);
	snprintf(rows[2].selector, sizeof(rows[2].selector), "ring=canary");
	s = snapshot_of(rows, imgs, 3);
	ck_assert_uint_eq(s->groupless_count, 1);

	/* Rollout 1 failed at t0, no retry yet: within its backoff it is
	 * excepted, then due (a retry after 0 retries), then spent. */
	memset(m, 0, sizeof(m));
	m[0] = (struct store_update_mark){1, t0, 0, UPDATE_FAILED};
	m[1] = (struct store_update_mark){99, t0, 0, UPDATE_FAILED};
	ck_assert_uint_eq(offers_retry_except(s, m, 2, t0 + 99, ex, 3), 1);
	ck_assert_int_eq(ex[0], 1);
	ck_assert_uint_eq(offers_retry_except(s, m, 2, t0 + 100, ex, 3), 0);
	ck_assert_int_eq(offers_retry_of(m, 2, 1), 0);
	ck_assert_int_eq(offers_in_flight(m, 2, 1), 0);
	m[0].retries = 1;
	ck_assert_uint_eq(offers_retry_except(s, m, 2, t0 + 99999, ex, 3), 1);
	/* An update in flight: neither excepted nor a retry. */
	m[0] = (struct store_update_mark){1, t0, 1, UPDATE_STARTED};
	ck_assert_uint_eq(offers_retry_except(s, m, 1, t0, ex, 3), 0);
	ck_assert_int_eq(offers_retry_of(m, 1, 1), -1);
	ck_assert_int_eq(offers_in_flight(m, 1, 1), 1);
	ck_assert_int_eq(offers_in_flight(m, 1, 2), 0);
	/* Declined: its row stands (a new offer records nothing), no
	 * retry; failed: not in flight, a retry. */
	m[0].status = UPDATE_DECLINED;
	ck_assert_int_eq(offers_in_flight(m, 1, 1), 1);
	ck_assert_int_eq(offers_retry_of(m, 1, 1), -1);
	m[0].status = UPDATE_FAILED;
	ck_assert_int_eq(offers_in_flight(m, 1, 1), 0);
	ck_assert_int_eq(offers_retry_of(m, 1, 1), 1);
	/* What the report buffer is given: a retry of rollout 1; nothing
	 * for an update in flight or no offer; a first offer of 2. */
	offers_note_of(&s->rollouts[0], m, 1, &note);
	ck_assert_int_eq(note.rollout_id, 1);
	ck_assert_int_eq(note.stage_index, s->rollouts[0].stage_index);
	ck_assert_int_eq(note.retry, 1);
	m[0].status = UPDATE_STARTED;
	offers_note_of(&s->rollouts[0], m, 1, &note);
	ck_assert_int_eq(note.rollout_id, 0);
	ck_assert_int_eq(note.stage_index, -1);
	ck_assert_int_eq(note.retry, -1);
	offers_note_of(NULL, m, 1, &note);
	ck_assert_int_eq(note.rollout_id, 0);
	offers_note_of(&s->rollouts[1], m, 1, &note);
	ck_assert_int_eq(note.rollout_id, s->rollouts[1].id);
	ck_assert_int_eq(note.retry, -1);

	/* Rollout 2: two new offers a minute. */
	r = &s->rollouts[1];
	ck_assert_uint_eq(offers_rate_now(r, t0), 2);
	ck_assert_int_eq(offers_rate_take(r, t0 * 1000000), 1);
	ck_assert_int_eq(offers_rate_take(r, t0 * 1000000), 1);
	ck_assert_int_eq(offers_rate_take(r, t0 * 1000000 + 1), 0);
	ck_assert_int_eq(offers_rate_take(r, (t0 + 30) * 1000000), 1);
	ck_assert_uint_eq(atomic_load(&r->rate->admitted), 3);
	ck_assert_uint_eq(atomic_load(&r->rate->limited), 1);
	/* No limit: always. */
	ck_assert_int_eq(offers_rate_take(&s->rollouts[0], 0), 1);

	/* Rollout 3 has no group: a device in none is offered it when its
	 * labels match (bit 0), else nothing; one in group 10 too. */
	ck_assert_int_eq(
	    offers_pick_labels(s, "d", "a", "1.0.0", NULL, 0, 1, NULL, 0, &r),
	    0);
	ck_assert_int_eq(r->id, 3);
	ck_assert_int_eq(
	    offers_pick_labels(s, "d", "a", "1.0.0", NULL, 0, 0, NULL, 0, &r),
	    OTA_ENOTFOUND);
	ck_assert_int_eq(
	    offers_pick_labels(s, "d", "a", "1.0.0", g_a, 1, 1, NULL, 0, &r),
	    0);
	ck_assert_int_eq(r->id, 3);
	offers_snapshot_unref(s);
}
END_TEST

static Suite *
offers_suite(void)
{
	Suite *s = suite_create("offers");
	TCase *tc;

	tc = tcase_create("snapshot_build");
	tcase_add_checked_fixture(tc, setup_crypto, NULL);
	tcase_add_test(tc, test_snapshot_build);
	tcase_add_test(tc, test_snapshot_bad_signatures);
	tcase_add_test(tc, test_snapshot_text_not_made);
	tcase_add_test(tc, test_snapshot_ddi_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("pick");
	tcase_add_checked_fixture(tc, setup_crypto, NULL);
	tcase_add_test(tc, test_pick_rules);
	tcase_add_test(tc, test_pick_except);
	tcase_add_test(tc, test_pick_stage);
	tcase_add_test(tc, test_pick_many_rollouts);
	tcase_add_test(tc, test_selectors);
	tcase_add_test(tc, test_when);
	tcase_add_test(tc, test_retries_rate_groupless);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup_store, teardown_store);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_reload_on_generation);
	tcase_add_test(tc, test_reload_safety_net);
	tcase_add_test(tc, test_concurrent_readers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(offers_suite());
}
