/*
 * check_components: a device's components, as the REST API and the CSV
 * column write them: the name alphabet, the bound, unique names, and the
 * same refusals with the same words from both forms.
 */
#include <check.h>
#include <string.h>

#include "components.h"
#include "errors.h"
#include "testutil.h"

START_TEST(test_name_valid)
{
	ck_assert_int_eq(components_name_valid("ncp"), 1);
	ck_assert_int_eq(components_name_valid("sensor-hub.v2_a"), 1);
	ck_assert_int_eq(components_name_valid("NCP"), 0);
	ck_assert_int_eq(components_name_valid(""), 0);
	ck_assert_int_eq(components_name_valid("a:b"), 0);
	ck_assert_int_eq(
	    components_name_valid("abcdefghijabcdefghijabcdefghijab"), 1);
	ck_assert_int_eq(
	    components_name_valid("abcdefghijabcdefghijabcdefghijabc"), 0);
	ck_assert_int_eq(components_name_valid(NULL), 0);
}
END_TEST

/* Parses the JSON text into v, returning the code; err holds why. */
static int
from_json(const char *text, struct component *v, size_t *n, char *err)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	ck_assert_ptr_nonnull(j);
	err[0] = '\0';
	rc = components_from_json(j, "components", v, n, err, 256);
	json_decref(j);
	return rc;
}

START_TEST(test_from_json)
{
	struct component v[COMPONENTS_MAX];
	char err[256], text[4096];
	size_t n, len;

	ck_assert_int_eq(from_json("[{\"name\":\"ncp\",\"hardware\":\"e\","
	                           "\"version\":\"1.2.0\"},{\"name\":\"mcu\","
	                           "\"hardware\":\"n\",\"version\":null}]",
	                     v, &n, err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].version, "1.2.0");
	ck_assert_str_eq(v[1].version, "");
	ck_assert_ptr_eq(components_find(v, n, "mcu"), &v[1]);
	ck_assert_ptr_null(components_find(v, n, "x"));
	ck_assert_int_eq(from_json("[]", v, &n, err), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(from_json("{}", v, &n, err), OTA_EINVAL);
	ck_assert_int_eq(from_json("[1]", v, &n, err), OTA_EINVAL);
	ck_assert_str_eq(err, "components[0]: must be an object");
	ck_assert_int_eq(
	    from_json("[{\"name\":\"a\",\"hardware\":7}]", v, &n, err),
	    OTA_EINVAL);
	ck_assert_int_eq(from_json("[{\"name\":\"a\",\"hardware\":\"h\"},"
	                           "{\"name\":\"a\",\"hardware\":\"h\"}]",
	                     v, &n, err),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "components[1].name: 'a' named twice");
	/* 16 fit, 17 do not. */
	len = (size_t)snprintf(text, sizeof(text), "[");
	for (int i = 0; i < COMPONENTS_MAX + 1; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s{\"name\":\"c%d\",\"hardware\":\"h\"}", i ? "," : "", i);
	snprintf(text + len, sizeof(text) - len, "]");
	ck_assert_int_eq(from_json(text, v, &n, err), OTA_EINVAL);
	ck_assert_str_eq(err, "components: at most 16 components");
}
END_TEST

START_TEST(test_from_text)
{
	struct component v[COMPONENTS_MAX];
	char err[256];
	size_t n;
	const char *s = " ncp = e@1.0.0 ;;mcu=n; ";

	/* Spaces around an entry go; inside it they are part of it. */
	ck_assert_int_eq(
	    components_from_text(s, strlen(s), v, &n, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(err, "components[0].name: must be 1..32 characters "
	                      "of [a-z0-9._-]");
	s = "ncp=e@1.0.0 ;;mcu=n; ";
	ck_assert_int_eq(
	    components_from_text(s, strlen(s), v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].name, "ncp");
	ck_assert_str_eq(v[0].hardware, "e");
	ck_assert_str_eq(v[0].version, "1.0.0");
	ck_assert_str_eq(v[1].version, "");
	s = "";
	ck_assert_int_eq(
	    components_from_text(s, 0, v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	s = "a=h@1.0.0@2";
	ck_assert_int_eq(
	    components_from_text(s, strlen(s), v, &n, err, sizeof(err)),
	    OTA_EINVAL);
	ck_assert_str_eq(
	    err, "components[0].version: must be a SemVer 2.0 version");
	/* The text is not NUL-terminated where len ends. */
	s = "a=h;b=h";
	ck_assert_int_eq(
	    components_from_text(s, 3, v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_to_json)
{
	struct component v[2];
	json_t *j;
	char *s;

	memset(v, 0, sizeof(v));
	strcpy(v[0].name, "ncp");
	strcpy(v[0].hardware, "e");
	strcpy(v[0].version, "1.0.0");
	strcpy(v[1].name, "mcu");
	strcpy(v[1].hardware, "n");
	j = components_to_json(v, 2);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "[{\"hardware\":\"e\",\"name\":\"ncp\",\"version\":"
	                    "\"1.0.0\"},{\"hardware\":\"n\",\"name\":\"mcu\","
	                    "\"version\":null}]");
	free(s);
	json_decref(j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("components");
	TCase *tc = tcase_create("components");

	tcase_add_test(tc, test_name_valid);
	tcase_add_test(tc, test_from_json);
	tcase_add_test(tc, test_from_text);
	tcase_add_test(tc, test_to_json);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
