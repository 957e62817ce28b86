/*
 * check_auth: auth.c against a real migrated database: every kind of
 * token (API, device, gateway) through auth_check, what each may call
 * (auth_allows) and for which device it may act (auth_device_access).
 * PRAGMA data_version on a second connection tells whether a check wrote.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "auth.h"
#include "crypto.h"
#include "errors.h"
#include "log.h"
#include "store.h"
#include "store_devices.h"
#include "store_groups.h"
#include "store_tokens.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;
static struct store_conn *c;
static sqlite3 *raw;

/* Tokens made by setup: an admin, device "dev-1" (in group "field"),
 * device "dev-2" (no group), and a gateway scoped to "field". */
static char admin_tok[CRYPTO_TOKEN_LEN], dev1_tok[CRYPTO_TOKEN_LEN];
static char dev2_tok[CRYPTO_TOKEN_LEN], gw_tok[CRYPTO_TOKEN_LEN];

static void
provision(const char *id, const char *const *groups, size_t ngroups,
    char out_tok[CRYPTO_TOKEN_LEN])
{
	struct store_device_new d;
	char tid[CRYPTO_TOKEN_ID_LEN];
	unsigned char h[CRYPTO_HASH_LEN];

	ck_assert_int_eq(crypto_token_new(out_tok, tid, h), 0);
	memset(&d, 0, sizeof(d));
	d.id = id;
	d.hardware = "revA";
	d.groups = groups;
	d.group_count = ngroups;
	d.token_id = tid;
	d.token_hash = h;
	ck_assert_int_eq(store_device_insert_batch(c, &d, 1, NULL), 0);
}

static void
setup(void)
{
	static const char *const field[] = {"field"};
	char tid[CRYPTO_TOKEN_ID_LEN];
	unsigned char h[CRYPTO_HASH_LEN];

	ck_assert_int_eq(crypto_init(), 0);
	testutil_tmpdir_new("check_auth", tmpdir, sizeof(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/otad.db", tmpdir);
	ck_assert_int_eq(store_open(testutil_db(dbpath), 1, &st), 0);
	c = store_acquire(st);
	ck_assert_int_eq(crypto_token_new(admin_tok, tid, h), 0);
	ck_assert_int_eq(store_token_insert(c, tid, h, "ops", "admin"), 0);
	ck_assert_int_eq(store_group_create(c, "field", "", NULL), 0);
	provision("dev-1", field, 1, dev1_tok);
	provision("dev-2", NULL, 0, dev2_tok);
	ck_assert_int_eq(crypto_token_new(gw_tok, tid, h), 0);
	ck_assert_int_eq(
	    store_gateway_create(c, tid, h, "phone-app", field, 1, NULL), 0);
	if (!testutil_db_is_postgres())
		ck_assert_int_eq(sqlite3_open(dbpath, &raw), SQLITE_OK);
}

static void
teardown(void)
{
	sqlite3_close(raw);
	raw = NULL;
	store_release(st, c);
	store_close(st);
	st = NULL;
	testutil_tmpdir_remove(tmpdir);
}

/* PRAGMA data_version of the raw connection: it moves when another
 * connection commits a write (on SQLite). */
static long long
data_version(void)
{
	sqlite3_stmt *s = NULL;
	long long v;

	/* PostgreSQL has no such counter: the writes a check may do, counted
	 * from the columns they set. */
	if (testutil_db_is_postgres())
		return testutil_sql_query(dbpath,
		    "SELECT (SELECT count(last_used_at) FROM api_tokens)"
		    " + (SELECT count(last_used_at) FROM gateway_tokens)"
		    " + (SELECT count(*) FROM device_seen)",
		    NULL, 0);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(raw, "PRAGMA data_version", -1, &s, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int
check(const char *token, struct auth_identity *who)
{
	char hdr[CRYPTO_TOKEN_LEN + 16];

	snprintf(hdr, sizeof(hdr), "Bearer %s", token);
	memset(who, 0, sizeof(*who));
	return auth_check(c, NULL, hdr, who);
}

/* auth_check */

START_TEST(test_check_kinds)
{
	struct auth_identity who;
	long long v0;

	v0 = data_version();
	ck_assert_int_eq(check(admin_tok, &who), 0);
	ck_assert_int_eq(who.kind, AUTH_KIND_API);
	ck_assert_int_eq(who.role, AUTH_ADMIN);
	ck_assert_str_eq(who.name, "ops");
	ck_assert_int_eq(strncmp(who.token_id, admin_tok + 5, 16), 0);
	ck_assert(data_version() != v0); /* last_used_at written */

	v0 = data_version();
	ck_assert_int_eq(check(dev1_tok, &who), 0);
	ck_assert_int_eq(who.kind, AUTH_KIND_DEVICE);
	ck_assert_int_eq(who.role, AUTH_DEVICE);
	ck_assert_str_eq(who.name, "dev-1");
	ck_assert_int_eq(data_version(), v0); /* a poll stays a read */

	ck_assert_int_eq(check(gw_tok, &who), 0);
	ck_assert_int_eq(who.kind, AUTH_KIND_GATEWAY);
	ck_assert_int_eq(who.role, AUTH_DEVICE);
	ck_assert_str_eq(who.name, "phone-app");
	ck_assert_int_eq(data_version(), v0 + 1); /* last_used_at */
	ck_assert_int_eq(check(gw_tok, &who), 0);
	ck_assert_int_eq(data_version(), v0 + 1); /* not within a minute */
}
END_TEST

START_TEST(test_check_refused)
{
	struct auth_identity who;
	char forged[CRYPTO_TOKEN_LEN];
	char tid[CRYPTO_TOKEN_ID_LEN];
	unsigned char h[CRYPTO_HASH_LEN];
	const char *toks[] = {admin_tok, dev1_tok, gw_tok};

	for (size_t i = 0; i < 3; i++) {
		/* Right id, another secret. */
		snprintf(forged, sizeof(forged), "%s", toks[i]);
		forged[22] = forged[22] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(check(forged, &who), OTA_EUNAUTH);
	}
	ck_assert_int_eq(auth_check(c, NULL, NULL, &who), OTA_EUNAUTH);
	ck_assert_int_eq(auth_check(c, NULL, "Basic eDp5", &who), OTA_EUNAUTH);
	ck_assert_int_eq(check("otad_garbage", &who), OTA_EUNAUTH);
	ck_assert_int_eq(crypto_token_new(forged, tid, h), 0); /* unknown */
	ck_assert_int_eq(check(forged, &who), OTA_EUNAUTH);

	/* Revoked: a rotated device token, a revoked gateway. */
	ck_assert_int_eq(crypto_token_new(forged, tid, h), 0);
	ck_assert_int_eq(store_device_token_rotate(c, "dev-1", tid, h), 0);
	ck_assert_int_eq(check(dev1_tok, &who), OTA_EUNAUTH);
	ck_assert_int_eq(check(forged, &who), 0);
	ck_assert_str_eq(who.name, "dev-1");
	ck_assert_int_eq(
	    store_gateway_revoke(c, STORE_GATEWAY_BY_NAME, "phone-app"), 0);
	ck_assert_int_eq(check(gw_tok, &who), OTA_EUNAUTH);
	ck_assert_int_eq(store_token_revoke(c, "ops"), 0);
	ck_assert_int_eq(check(admin_tok, &who), OTA_EUNAUTH);
}
END_TEST

/* hawkBit's schemes: TargetToken takes only a device token, GatewayToken
 * only a gateway token; Bearer any (and the scheme is case-insensitive). */
START_TEST(test_check_ddi_schemes)
{
	struct auth_identity who;
	char hdr[CRYPTO_TOKEN_LEN + 32];

	snprintf(hdr, sizeof(hdr), "TargetToken %s", dev1_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), 0);
	ck_assert_int_eq(who.kind, AUTH_KIND_DEVICE);
	ck_assert_str_eq(who.name, "dev-1");
	snprintf(hdr, sizeof(hdr), "targettoken  %s", dev1_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), 0);
	snprintf(hdr, sizeof(hdr), "GatewayToken %s", gw_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), 0);
	ck_assert_int_eq(who.kind, AUTH_KIND_GATEWAY);
	ck_assert_str_eq(who.name, "phone-app");

	snprintf(hdr, sizeof(hdr), "TargetToken %s", gw_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), OTA_EUNAUTH);
	snprintf(hdr, sizeof(hdr), "TargetToken %s", admin_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), OTA_EUNAUTH);
	snprintf(hdr, sizeof(hdr), "GatewayToken %s", dev1_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), OTA_EUNAUTH);
	snprintf(hdr, sizeof(hdr), "GatewayToken %s", admin_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), OTA_EUNAUTH);
	snprintf(hdr, sizeof(hdr), "TargetToken%s", dev1_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), OTA_EUNAUTH);
	snprintf(hdr, sizeof(hdr), "Target %s", dev1_tok);
	ck_assert_int_eq(auth_check(c, NULL, hdr, &who), OTA_EUNAUTH);
}
END_TEST

/* auth_allows */

START_TEST(test_allows)
{
	struct auth_identity who;

	ck_assert_int_eq(check(dev1_tok, &who), 0);
	ck_assert(!auth_allows(&who, AUTH_VIEWER));
	ck_assert(!auth_allows(&who, AUTH_ADMIN));
	ck_assert(auth_allows(&who, AUTH_DEVICE));
	ck_assert(auth_allows(&who, AUTH_DOWNLOAD));
	ck_assert(auth_allows(&who, AUTH_DDI));
	ck_assert(auth_allows(&who, AUTH_NONE));
	ck_assert_int_eq(check(gw_tok, &who), 0);
	ck_assert(!auth_allows(&who, AUTH_VIEWER));
	ck_assert(auth_allows(&who, AUTH_DEVICE));
	ck_assert(auth_allows(&who, AUTH_DDI));
	ck_assert_int_eq(check(admin_tok, &who), 0);
	ck_assert(auth_allows(&who, AUTH_ADMIN));
	ck_assert(!auth_allows(&who, AUTH_DEVICE));
	ck_assert(!auth_allows(&who, AUTH_DOWNLOAD));
	ck_assert(!auth_allows(&who, AUTH_DDI));
	memset(&who, 0, sizeof(who));
	ck_assert(!auth_allows(&who, AUTH_VIEWER));
	ck_assert(!auth_allows(&who, AUTH_DEVICE));
	ck_assert(!auth_allows(&who, AUTH_DDI));
}
END_TEST

/* auth_role_name: every role and route class has its own name (otad
 * --routes prints them; test_authz.sh compares them with its matrix). */

START_TEST(test_role_name)
{
	enum auth_role r;

	ck_assert_str_eq(auth_role_name(AUTH_NONE), "none");
	ck_assert_str_eq(auth_role_name(AUTH_VIEWER), "viewer");
	ck_assert_str_eq(auth_role_name(AUTH_RELEASE), "release");
	ck_assert_str_eq(auth_role_name(AUTH_ADMIN), "admin");
	ck_assert_str_eq(auth_role_name(AUTH_DEVICE), "device");
	ck_assert_str_eq(auth_role_name(AUTH_DOWNLOAD), "download");
	ck_assert_str_eq(auth_role_name(AUTH_METRICS), "metrics");
	ck_assert_str_eq(auth_role_name(AUTH_DDI), "ddi");
	ck_assert_str_eq(auth_role_name((enum auth_role)99), "none");
	/* Only the ladder's names parse as a token's role. */
	ck_assert_int_eq(auth_role_parse("release", &r), 0);
	ck_assert_int_eq(r, AUTH_RELEASE);
	ck_assert_int_eq(auth_role_parse("ddi", &r), OTA_EINVAL);
	ck_assert_int_eq(auth_role_parse("device", &r), OTA_EINVAL);
}
END_TEST

/* auth_device_access */

START_TEST(test_device_access)
{
	struct auth_identity who;

	ck_assert_int_eq(check(dev1_tok, &who), 0);
	ck_assert_int_eq(auth_device_access(c, &who, "dev-1"), 0);
	ck_assert_int_eq(auth_device_access(c, &who, "dev-2"), OTA_EFORBID);
	ck_assert_int_eq(auth_device_access(c, &who, "dev-10"), OTA_EFORBID);
	ck_assert_int_eq(check(dev2_tok, &who), 0);
	ck_assert_int_eq(auth_device_access(c, &who, "dev-1"), OTA_EFORBID);

	ck_assert_int_eq(check(gw_tok, &who), 0);
	ck_assert_int_eq(auth_device_access(c, &who, "dev-1"), 0);
	ck_assert_int_eq(auth_device_access(c, &who, "dev-2"), OTA_EFORBID);
	ck_assert_int_eq(auth_device_access(c, &who, "ghost"), OTA_EFORBID);

	ck_assert_int_eq(check(admin_tok, &who), 0);
	ck_assert_int_eq(auth_device_access(c, &who, "dev-1"), OTA_EFORBID);
}
END_TEST

/* A device token needs no connection (the event POST takes none). */
START_TEST(test_device_access_without_conn)
{
	struct auth_identity who;

	ck_assert_int_eq(check(dev1_tok, &who), 0);
	ck_assert_int_eq(auth_device_access(NULL, &who, "dev-1"), 0);
	ck_assert_int_eq(auth_device_access(NULL, &who, "dev-2"), OTA_EFORBID);
	ck_assert_int_eq(check(admin_tok, &who), 0);
	ck_assert_int_eq(auth_device_access(NULL, &who, "dev-1"), OTA_EFORBID);
	ck_assert_int_eq(check(gw_tok, &who), 0);
	ck_assert_int_eq(auth_device_access(NULL, &who, "dev-1"), OTA_EINVAL);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;

	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_check_kinds);
	tcase_add_test(tc, test_check_refused);
	tcase_add_test(tc, test_check_ddi_schemes);
	suite_add_tcase(s, tc);
	tc = tcase_create("allows");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_allows);
	suite_add_tcase(s, tc);
	tc = tcase_create("role_name");
	tcase_add_test(tc, test_role_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("device_access");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_device_access);
	tcase_add_test(tc, test_device_access_without_conn);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	log_set_level(LOG_WARN);
	return testutil_run_suite(auth_suite());
}
