/*
 * check_compcache: the components cache's contract: what is inserted is
 * looked up; nothing read before an invalidation is remembered; a device
 * invalidated, or every one ("*"), is forgotten; a cache that does not
 * serve answers nothing; NULL is "no cache".
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "compcache.h"
#include "devcache.h"
#include "errors.h"
#include "testutil.h"

static void
comp_set(struct component *c, const char *name, const char *hw, const char *ver)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, name);
	strcpy(c->hardware, hw);
	strcpy(c->version, ver);
}

START_TEST(test_insert_lookup)
{
	struct compcache *cc = compcache_new(16, 1);
	struct component v[2], out[COMPONENTS_MAX];
	struct compcache_stats st;
	size_t n = 99;

	ck_assert_ptr_nonnull(cc);
	comp_set(&v[0], "mcu", "nrf52840", "2.1.0");
	comp_set(&v[1], "ncp", "esp32c6-r1", "");
	ck_assert_int_eq(compcache_lookup(cc, "th-1", out, COMPONENTS_MAX, &n),
	    OTA_ENOTFOUND);
	compcache_insert(cc, compcache_ticket(cc), "th-1", v, 2);
	ck_assert_int_eq(
	    compcache_lookup(cc, "th-1", out, COMPONENTS_MAX, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0].name, "mcu");
	ck_assert_str_eq(out[0].hardware, "nrf52840");
	ck_assert_str_eq(out[0].version, "2.1.0");
	ck_assert_str_eq(out[1].name, "ncp");
	ck_assert_str_eq(out[1].version, "");
	/* Room for fewer than it holds: not served. */
	ck_assert_int_eq(
	    compcache_lookup(cc, "th-1", out, 1, &n), OTA_ENOTFOUND);
	/* Another id in the same slot or not: never the wrong device's. */
	ck_assert_int_eq(compcache_lookup(cc, "th-2", out, COMPONENTS_MAX, &n),
	    OTA_ENOTFOUND);
	/* A device without components is remembered as such. */
	compcache_insert(cc, compcache_ticket(cc), "plain", NULL, 0);
	n = 5;
	ck_assert_int_eq(
	    compcache_lookup(cc, "plain", out, COMPONENTS_MAX, &n), 0);
	ck_assert_uint_eq(n, 0);
	compcache_get_stats(cc, &st);
	ck_assert_uint_eq(st.hits, 2);
	ck_assert_uint_eq(st.misses, 3);
	compcache_free(cc);
}
END_TEST

START_TEST(test_invalidate)
{
	struct compcache *cc = compcache_new(1024, 1);
	struct component v, out[COMPONENTS_MAX];
	uint64_t t;
	size_t n;

	comp_set(&v, "hub", "stm32-a", "0.9.0");
	/* Read before an invalidation: not remembered. */
	t = compcache_ticket(cc);
	compcache_invalidate(cc, "someone-else");
	compcache_insert(cc, t, "d1", &v, 1);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d1", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	compcache_insert(cc, compcache_ticket(cc), "d1", &v, 1);
	compcache_insert(cc, compcache_ticket(cc), "d2", &v, 1);
	compcache_insert(cc, compcache_ticket(cc), "d3", &v, 1);
	/* The devices named (spaces between) are forgotten, others kept. */
	compcache_invalidate(cc, "d1 d3");
	ck_assert_int_eq(
	    compcache_lookup(cc, "d1", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d2", out, COMPONENTS_MAX, &n), 0);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d3", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	/* "*": every device. */
	compcache_invalidate(cc, "*");
	ck_assert_int_eq(
	    compcache_lookup(cc, "d2", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	compcache_insert(cc, compcache_ticket(cc), "d2", &v, 1);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d2", out, COMPONENTS_MAX, &n), 0);
	/* The hooks are the same calls. */
	compcache_hook(cc, "d2");
	ck_assert_int_eq(
	    compcache_lookup(cc, "d2", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	compcache_free(cc);
}
END_TEST

START_TEST(test_serving)
{
	struct compcache *cc = compcache_new(8, 0);
	struct component v, out[COMPONENTS_MAX];
	size_t n;

	comp_set(&v, "mcu", "nrf52840", "1.0.0");
	/* Not serving: nothing remembered, nothing answered. */
	compcache_insert(cc, compcache_ticket(cc), "d1", &v, 1);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d1", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	compcache_serving_hook(cc, 1);
	compcache_insert(cc, compcache_ticket(cc), "d1", &v, 1);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d1", out, COMPONENTS_MAX, &n), 0);
	/* Turned off (the cluster listener lost its connection): emptied. */
	compcache_set_serving(cc, 0);
	compcache_set_serving(cc, 1);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d1", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	compcache_free(cc);
}
END_TEST

START_TEST(test_null_and_bounds)
{
	struct component v[COMPONENTS_MAX + 1], out[COMPONENTS_MAX];
	struct compcache *cc;
	struct compcache_stats st;
	char id[200];
	size_t n;

	ck_assert_ptr_null(compcache_new(0, 1));
	ck_assert_int_eq(
	    compcache_lookup(NULL, "d", out, 1, &n), OTA_ENOTFOUND);
	compcache_insert(NULL, 0, "d", NULL, 0);
	compcache_invalidate(NULL, "*");
	compcache_set_serving(NULL, 1);
	compcache_get_stats(NULL, &st);
	ck_assert_uint_eq(st.hits, 0);
	compcache_free(NULL);
	ck_assert_uint_eq(compcache_ticket(NULL), 0);
	cc = compcache_new(4, 1);
	for (int i = 0; i <= COMPONENTS_MAX; i++)
		comp_set(&v[i], "c", "h", "1.0.0");
	/* More components than a device has, or an id longer than one:
	 * not remembered. */
	compcache_insert(cc, compcache_ticket(cc), "d", v, COMPONENTS_MAX + 1);
	ck_assert_int_eq(
	    compcache_lookup(cc, "d", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	compcache_insert(cc, compcache_ticket(cc), id, v, 1);
	ck_assert_int_eq(
	    compcache_lookup(cc, id, out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	compcache_invalidate(cc, id); /* too long: ignored, no overflow */
	/* The most components a device has: kept whole. */
	compcache_insert(cc, compcache_ticket(cc), "d", v, COMPONENTS_MAX);
	ck_assert_int_eq(compcache_lookup(cc, "d", out, COMPONENTS_MAX, &n), 0);
	ck_assert_uint_eq(n, COMPONENTS_MAX);
	/* Many devices in 4 slots: each answers its own or nothing. */
	for (int i = 0; i < 64; i++) {
		char d[16];

		snprintf(d, sizeof(d), "dev-%d", i);
		comp_set(&v[0], "c", d, "1.0.0");
		compcache_insert(cc, compcache_ticket(cc), d, v, 1);
	}
	for (int i = 0; i < 64; i++) {
		char d[16];

		snprintf(d, sizeof(d), "dev-%d", i);
		if (compcache_lookup(cc, d, out, COMPONENTS_MAX, &n) == 0)
			ck_assert_str_eq(out[0].hardware, d);
	}
	compcache_get_stats(cc, &st);
	ck_assert_uint_le(st.devices, 4);
	compcache_free(cc);
}
END_TEST

/* The wiring main makes: devcache's second listener, beside a first. */
START_TEST(test_devcache_listener)
{
	struct devcache *devs = devcache_new(16, 0);
	struct compcache *a = compcache_new(16, 1), *b = compcache_new(16, 1);
	struct devcache_listener la = {
	    compcache_hook, compcache_serving_hook, a};
	struct devcache_listener lb = {
	    compcache_hook, compcache_serving_hook, b};
	struct component v, out[COMPONENTS_MAX];
	size_t n;

	comp_set(&v, "mcu", "nrf52840", "1.0.0");
	devcache_set_listener(devs, &la);
	devcache_set_listener_at(devs, 1, &lb);
	devcache_set_listener_at(devs, 7, &lb); /* no such slot: ignored */
	/* Told at once that the device cache does not serve. */
	compcache_insert(b, compcache_ticket(b), "d1", &v, 1);
	ck_assert_int_eq(
	    compcache_lookup(b, "d1", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	devcache_set_serving(devs, 1);
	compcache_insert(a, compcache_ticket(a), "d1", &v, 1);
	compcache_insert(b, compcache_ticket(b), "d1", &v, 1);
	compcache_insert(b, compcache_ticket(b), "d2", &v, 1);
	/* A device change reaches both listeners. */
	devcache_hook(devs, "d1");
	ck_assert_int_eq(
	    compcache_lookup(a, "d1", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	ck_assert_int_eq(
	    compcache_lookup(b, "d1", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	ck_assert_int_eq(compcache_lookup(b, "d2", out, COMPONENTS_MAX, &n), 0);
	devcache_set_serving(devs, 0);
	ck_assert_int_eq(
	    compcache_lookup(b, "d2", out, COMPONENTS_MAX, &n), OTA_ENOTFOUND);
	devcache_free(devs);
	compcache_free(a);
	compcache_free(b);
}
END_TEST

static Suite *
compcache_suite(void)
{
	Suite *s = suite_create("compcache");
	TCase *tc = tcase_create("cache");

	tcase_add_test(tc, test_insert_lookup);
	tcase_add_test(tc, test_invalidate);
	tcase_add_test(tc, test_serving);
	tcase_add_test(tc, test_null_and_bounds);
	tcase_add_test(tc, test_devcache_listener);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(compcache_suite());
}
