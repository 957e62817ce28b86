/*
 * check_store_bundles: the bundles and bundle_parts rows through the store
 * API, on every database: the image a part names found by sha256 (and
 * hardware), a bundle stored with its parts' images and read back from its
 * own bytes, the same bytes again, other bytes under the same name and
 * version, list and cursor, an image a bundle names kept, and a bundle's
 * rollout (bundle_id) keeping the bundle until the rollout ends.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "errors.h"
#include "rollout.h"
#include "store.h"
#include "store_bundles.h"
#include "store_groups.h"
#include "store_images.h"
#include "store_rollouts.h"
#include "testutil.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define DUAL                                                                   \
	"{\"name\":\"thermo\",\"version\":\"2.0.0\",\"parts\":["               \
	"{\"component\":\"mcu\",\"sha256\":\"" H2 "\",\"order\":2},"           \
	"{\"component\":\"ncp\",\"sha256\":\"" H1 "\",\"order\":1,"            \
	"\"hardware\":\"revA\"}]}"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static int64_t img1, img2;

static void
setup(void)
{
	testutil_tmpdir_new("check_store_bundles", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 2, &st), 0);
	img1 =
	    testutil_image_insert(st, "ncp-fw", "1.0.0", 10, 0x11, "ci", NULL);
	img2 =
	    testutil_image_insert(st, "mcu-fw", "1.0.0", 10, 0x22, "ci", NULL);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* Stores the bundle of text with the images its parts name; returns the
 * store's code, the id in *id and the flag in *existed. */
static int
insert(struct store_conn *c, const char *text, int64_t *id, int *existed)
{
	struct bundle_descriptor b;
	int64_t ids[BUNDLE_PARTS_MAX];
	char err[200];

	ck_assert_int_eq(bundle_parse((const unsigned char *)text, strlen(text),
	                     &b, err, sizeof(err)),
	    0);
	for (size_t i = 0; i < b.part_count; i++)
		ids[i] = strcmp(b.parts[i].sha256_hex, H1) == 0 ? img1 : img2;
	return store_bundle_insert(c, &b, ids, (const unsigned char *)text,
	    strlen(text), "[]", "ci", id, existed);
}

START_TEST(test_find_image)
{
	struct store_conn *c = store_acquire(st);
	struct store_bundle_image img;

	ck_assert_int_eq(store_bundle_find_image(c, H1, NULL, &img), 0);
	ck_assert_int_eq(img.id, img1);
	ck_assert_str_eq(img.name, "ncp-fw");
	ck_assert_str_eq(img.version, "1.0.0");
	ck_assert_int_eq(store_bundle_find_image(c, H1, "revA", &img), 0);
	ck_assert_int_eq(
	    store_bundle_find_image(c, H1, "revB", &img), OTA_ENOTFOUND);
	ck_assert_int_eq(store_bundle_find_image(c,
	                     "3333333333333333333333333333333333333333333333333"
	                     "333333333333333",
	                     NULL, &img),
	    OTA_ENOTFOUND);
	store_release(st, c);
}
END_TEST

START_TEST(test_insert_get_list)
{
	struct store_conn *c = store_acquire(st);
	struct store_bundle *b = NULL, **v = NULL;
	int64_t id = 0, id2 = 0;
	size_t n = 0;
	int existed = -1;
	const char *other = "{\"name\":\"thermo\",\"version\":\"2.0.0\","
	                    "\"parts\":[{\"component\":\"mcu\",\"sha256\":\"" H2
	                    "\",\"order\":1}]}";

	ck_assert_int_eq(insert(c, DUAL, &id, &existed), 0);
	ck_assert_int_eq(existed, 0);
	ck_assert_int_eq(store_bundle_get(c, id, &b), 0);
	ck_assert_str_eq(b->desc.name, "thermo");
	ck_assert_uint_eq(b->desc.part_count, 2);
	ck_assert_str_eq(b->desc.parts[0].component, "ncp");
	ck_assert_int_eq(b->image_ids[0], img1);
	ck_assert_int_eq(b->image_ids[1], img2);
	ck_assert_uint_eq(b->descriptor_len, strlen(DUAL));
	ck_assert_int_eq(memcmp(b->descriptor, DUAL, strlen(DUAL)), 0);
	ck_assert_str_eq(b->signatures, "[]");
	ck_assert_str_eq(b->created_by, "ci");
	store_bundle_free(b);
	/* The same bytes again: the same bundle; other bytes: a conflict. */
	ck_assert_int_eq(insert(c, DUAL, &id2, &existed), 0);
	ck_assert_int_eq(existed, 1);
	ck_assert_int_eq(id2, id);
	ck_assert_int_eq(insert(c, other, &id2, &existed), OTA_ECONFLICT);
	ck_assert_int_eq(
	    insert(c,
	        "{\"name\":\"other\",\"version\":\"1.0.0\",\"parts\":[{"
	        "\"component\":\"mcu\",\"sha256\":\"" H2 "\",\"order\":1}]}",
	        &id2, &existed),
	    0);
	ck_assert_int_eq(store_bundle_list(c, NULL, 0, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	store_bundle_list_free(v, n);
	ck_assert_int_eq(store_bundle_list(c, "other", 0, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0]->id, id2);
	store_bundle_list_free(v, n);
	ck_assert_int_eq(store_bundle_list(c, NULL, id2, 10, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_bundle_list(c, NULL, 0, 0, &v, &n), OTA_EINVAL);
	ck_assert_int_eq(store_bundle_get(c, id2 + 1, &b), OTA_ENOTFOUND);
	store_release(st, c);
}
END_TEST

START_TEST(test_delete_and_rollout)
{
	struct store_conn *c = store_acquire(st);
	const char *groups[] = {"g"};
	unsigned char salt[ROLLOUT_SALT_BYTES] = {1};
	char sha[65], missing[STORE_GROUP_NAME_MAX + 1];
	struct store_rollout_new q;
	struct store_rollout r;
	int64_t id = 0, gid = 0, rid = 0;
	int existed, unused;

	ck_assert_int_eq(insert(c, DUAL, &id, &existed), 0);
	/* An image a bundle names stays. */
	ck_assert_int_eq(
	    store_image_delete(c, img1, sha, &unused, NULL), OTA_ECONFLICT);
	ck_assert_int_eq(store_group_create(c, "g", NULL, &gid), 0);
	testutil_rollout_req(&q, 0, groups, 1);
	q.bundle_id = id;
	q.salt = salt;
	ck_assert_int_eq(store_rollout_create(c, &q, &rid, missing), 0);
	ck_assert_int_eq(store_rollout_get(c, rid, &r), 0);
	ck_assert_int_eq(r.bundle_id, id);
	ck_assert_int_eq(r.image_id, 0);
	ck_assert_str_eq(r.image_name, "thermo");
	ck_assert_str_eq(r.image_version, "2.0.0");
	/* A draft ships it: kept. */
	ck_assert_int_eq(store_bundle_delete(c, id), OTA_ECONFLICT);
	q.bundle_id = id + 100;
	ck_assert_int_eq(
	    store_rollout_create(c, &q, &rid, missing), OTA_ENOTFOUND);
	ck_assert_str_eq(missing, "");
	store_release(st, c);
}
END_TEST

START_TEST(test_delete)
{
	struct store_conn *c = store_acquire(st);
	int64_t id = 0;
	char sha[65];
	int existed, unused;

	ck_assert_int_eq(insert(c, DUAL, &id, &existed), 0);
	ck_assert_int_eq(store_bundle_delete(c, id), 0);
	ck_assert_int_eq(store_bundle_delete(c, id), OTA_ENOTFOUND);
	ck_assert_int_eq(store_image_delete(c, img1, sha, &unused, NULL), 0);
	store_release(st, c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_bundles");
	TCase *tc = tcase_create("store_bundles");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_find_image);
	tcase_add_test(tc, test_insert_get_list);
	tcase_add_test(tc, test_delete_and_rollout);
	tcase_add_test(tc, test_delete);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
