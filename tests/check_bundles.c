/*
 * check_bundles: the bundle descriptor.  What is accepted (parts put in
 * install order), and each refusal naming the part as the signed bytes
 * number it: a component twice, an order twice, a via to nothing or to
 * itself, a cycle of relays, bad fields, too many parts or bytes.
 */
#include <check.h>
#include <string.h>

#include "bundles.h"
#include "errors.h"
#include "testutil.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"

/* Parses text; returns the code and leaves the reason in err. */
static int
parse(const char *text, struct bundle_descriptor *b, char *err)
{
	return bundle_parse(
	    (const unsigned char *)text, strlen(text), b, err, 256);
}

START_TEST(test_parse_good)
{
	struct bundle_descriptor b;
	char err[256];

	ck_assert_int_eq(
	    parse("{\"name\":\"thermo\",\"version\":\"2.1.0\","
	          "\"note\":\"kept\",\"parts\":["
	          "{\"component\":\"hub\",\"sha256\":\"" H3
	          "\",\"order\":3,\"via\":\"mcu\"},"
	          "{\"component\":\"ncp\",\"sha256\":\"" H1
	          "\",\"order\":1,\"hardware\":\"c6-r1\"},"
	          "{\"component\":\"mcu\",\"sha256\":\"" H2 "\",\"order\":2}]}",
	        &b, err),
	    0);
	ck_assert_str_eq(b.name, "thermo");
	ck_assert_str_eq(b.version, "2.1.0");
	ck_assert_uint_eq(b.part_count, 3);
	/* install order */
	ck_assert_str_eq(b.parts[0].component, "ncp");
	ck_assert_str_eq(b.parts[0].hardware, "c6-r1");
	ck_assert_str_eq(b.parts[1].component, "mcu");
	ck_assert_str_eq(b.parts[1].sha256_hex, H2);
	ck_assert_str_eq(b.parts[2].component, "hub");
	ck_assert_str_eq(b.parts[2].via, "mcu");
	ck_assert_ptr_eq(bundle_part_find(&b, "mcu"), &b.parts[1]);
	ck_assert_ptr_null(bundle_part_find(&b, "nope"));
}
END_TEST

/* Asserts that the parts JSON p (inside a valid bundle) is refused with
 * reason want. */
static void
want_bad_parts(const char *p, const char *want)
{
	struct bundle_descriptor b;
	char text[2048], err[256];

	snprintf(text, sizeof(text),
	    "{\"name\":\"b\",\"version\":\"1.0.0\",\"parts\":%s}", p);
	ck_assert_int_eq(parse(text, &b, err), OTA_EINVAL);
	ck_assert_str_eq(err, want);
}

START_TEST(test_parse_bad)
{
	struct bundle_descriptor b;
	char err[256], big[2048];

	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1},{\"component\":\"a\",\"sha256\":\"" H2
	               "\",\"order\":2}]",
	    "parts[1].component: 'a' named twice (parts[0])");
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1},{\"component\":\"b\",\"sha256\":\"" H2
	               "\",\"order\":1}]",
	    "parts[1].order: 1 repeats parts[0].order");
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1,\"via\":\"x\"}]",
	    "parts[0].via: no part for component 'x'");
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1,\"via\":\"a\"}]",
	    "parts[0].via: 'a' relays back to 'a' (a cycle)");
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1,\"via\":\"b\"},{\"component\":\"b\","
	               "\"sha256\":\"" H2 "\",\"order\":2,\"via\":\"a\"}]",
	    "parts[0].via: 'b' relays back to 'a' (a cycle)");
	/* A via to a later part that itself relays to nothing. */
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1,\"via\":\"b\"},{\"component\":\"b\","
	               "\"sha256\":\"" H2 "\",\"order\":2,\"via\":\"zz\"}]",
	    "parts[1].via: no part for component 'zz'");
	want_bad_parts(
	    "[{\"component\":\"a\",\"sha256\":\"ABCD\",\"order\":1}]",
	    "parts[0].sha256: must be 64 lowercase hex digits");
	want_bad_parts("[{\"component\":\"A\",\"sha256\":\"" H1
	               "\",\"order\":1}]",
	    "parts[0].component: must be 1..32 characters of [a-z0-9._-]");
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":0}]",
	    "parts[0].order: must be an integer 1..1000");
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1,\"image\":3}]",
	    "parts[0]: unknown field 'image'");
	want_bad_parts("[{\"component\":\"a\",\"sha256\":\"" H1
	               "\",\"order\":1,\"hardware\":\"a b\"}]",
	    "parts[0].hardware: must be 1..64 characters of [A-Za-z0-9._:-]");
	want_bad_parts("[]", "field 'parts': must be an array of 1..8 parts");
	want_bad_parts("[1]", "parts[0]: must be an object");
	ck_assert_int_eq(parse("{\"name\":\"-b\",\"version\":\"1.0.0\","
	                       "\"parts\":[]}",
	                     &b, err),
	    OTA_EINVAL);
	ck_assert_int_eq(parse("{\"name\":\"b\",\"version\":\"1.0\","
	                       "\"parts\":[]}",
	                     &b, err),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "field 'version': must be a SemVer 2.0 version");
	ck_assert_int_eq(parse("[]", &b, err), OTA_EINVAL);
	ck_assert_int_eq(
	    parse("{\"name\":\"b\",\"name\":\"c\"}", &b, err), OTA_EINVAL);
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(parse(big, &b, err), OTA_ETOOBIG);
	ck_assert_int_eq(
	    bundle_parse(NULL, 0, &b, err, sizeof(err)), OTA_EINVAL);
}
END_TEST

START_TEST(test_part_fits)
{
	struct bundle_part p;
	const char hw[2][DESCRIPTOR_HW_LEN_MAX + 1] = {"revA", "revB"};

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(bundle_part_fits(&p, hw, 2, "revB"), 1);
	ck_assert_int_eq(bundle_part_fits(&p, hw, 2, "revC"), 0);
	strcpy(p.hardware, "revA");
	ck_assert_int_eq(bundle_part_fits(&p, hw, 2, "revA"), 1);
	ck_assert_int_eq(bundle_part_fits(&p, hw, 2, "revB"), 0);
}
END_TEST

/* A dual-MCU bundle (ncp 1.2.0 for c6-r1 only, mcu 2.0.0 for any
 * revision its image lists) and a device with both components. */
static void
plan_fixture(struct bundle_descriptor *b, struct bundle_image_facts img[2],
    struct component c[2])
{
	static const char ncp_hw[1][DESCRIPTOR_HW_LEN_MAX + 1] = {"c6-r1"};
	static const char mcu_hw[2][DESCRIPTOR_HW_LEN_MAX + 1] = {
	    "nrf52840", "nrf5340"};
	char err[256];

	ck_assert_int_eq(
	    parse("{\"name\":\"t\",\"version\":\"2.0.0\",\"parts\":["
	          "{\"component\":\"ncp\",\"sha256\":\"" H1
	          "\",\"order\":1,\"hardware\":\"c6-r1\"},"
	          "{\"component\":\"mcu\",\"sha256\":\"" H2 "\",\"order\":2}]}",
	        b, err),
	    0);
	img[0] = (struct bundle_image_facts){"1.2.0", "", ncp_hw, 1};
	img[1] = (struct bundle_image_facts){"2.0.0", "1.0.0", mcu_hw, 2};
	memset(c, 0, 2 * sizeof(*c));
	strcpy(c[0].name, "mcu");
	strcpy(c[0].hardware, "nrf5340");
	strcpy(c[0].version, "1.5.0");
	strcpy(c[1].name, "ncp");
	strcpy(c[1].hardware, "c6-r1");
	strcpy(c[1].version, "1.2.0");
}

START_TEST(test_plan)
{
	struct bundle_descriptor b;
	struct bundle_image_facts img[2];
	struct component c[2];
	struct bundle_plan p;

	/* One part current (skipped), one outdated: offered. */
	plan_fixture(&b, img, c);
	bundle_plan(&b, img, c, 2, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_OFFER);
	ck_assert_int_eq(p.install[0], 0);
	ck_assert_int_eq(p.install[1], 1);
	ck_assert_int_eq(p.part, -1);
	/* Both current. */
	strcpy(c[0].version, "2.0.0+build.7");
	bundle_plan(&b, img, c, 2, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_CURRENT);
	/* A version not known: installed. */
	c[1].version[0] = '\0';
	bundle_plan(&b, img, c, 2, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_OFFER);
	ck_assert_int_eq(p.install[0], 1);
	ck_assert_int_eq(p.install[1], 0);
	/* Never a downgrade of any part: the whole bundle is unfit. */
	plan_fixture(&b, img, c);
	strcpy(c[1].version, "1.3.0");
	bundle_plan(&b, img, c, 2, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_UNFIT);
	ck_assert_int_eq(p.part, 0);
	ck_assert_str_eq(
	    p.reason, "component 'ncp' runs 1.3.0, newer than 1.2.0");
	/* Never a part for the wrong hardware: the part's own, then the
	 * image's list. */
	plan_fixture(&b, img, c);
	strcpy(c[1].hardware, "c6-r2");
	bundle_plan(&b, img, c, 2, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_UNFIT);
	ck_assert_str_eq(p.reason, "part 'ncp' is not for hardware 'c6-r2'");
	plan_fixture(&b, img, c);
	strcpy(c[0].hardware, "nrf52832");
	bundle_plan(&b, img, c, 2, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_UNFIT);
	ck_assert_int_eq(p.part, 1);
	/* Below the image's min_version. */
	plan_fixture(&b, img, c);
	strcpy(c[0].version, "0.9.0");
	bundle_plan(&b, img, c, 2, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_UNFIT);
	ck_assert_str_eq(p.reason, "component 'mcu' runs 0.9.0, below 1.0.0");
	/* A component the device does not have; a device with none. */
	plan_fixture(&b, img, c);
	bundle_plan(&b, img, c + 1, 1, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_UNFIT);
	ck_assert_str_eq(p.reason, "the device has no component 'mcu'");
	bundle_plan(&b, img, NULL, 0, &p);
	ck_assert_int_eq(p.verdict, BUNDLE_UNFIT);
	ck_assert_int_eq(p.part, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("bundles");
	TCase *tc = tcase_create("bundles");

	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_part_fits);
	tcase_add_test(tc, test_plan);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
