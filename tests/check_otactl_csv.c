/*
 * check_otactl_csv: specification of tools/otactl_csv.c, the device CSV
 * of `otactl devices import`: RFC 4180 records (quotes, doubled quotes,
 * line breaks inside quotes, CRLF, blank lines, a byte order mark), the
 * line each record starts on, recovery after a malformed record, and the
 * device schema with one reason per bad row.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "otactl_csv.h"
#include "testutil.h"

/* Reads every record of text into "LINE:f1|f2|...\n" lines (errors as
 * "LINE:!reason\n") and returns them (free()). */
static char *
records(const char *text, size_t len)
{
	struct otactl_csv p;
	char err[256], *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	int rc;

	ck_assert_ptr_nonnull(f);
	otactl_csv_init(&p, text, len);
	while ((rc = otactl_csv_next(&p, err, sizeof(err))) != 0) {
		if (rc == OTA_EINVAL) {
			fprintf(f, "%zu:!%s\n", p.rec_line, err);
			continue;
		}
		ck_assert_int_eq(rc, 1);
		fprintf(f, "%zu:", p.rec_line);
		for (size_t i = 0; i < p.nfields; i++)
			fprintf(f, "%s%s", i ? "|" : "", p.fields[i]);
		fputc('\n', f);
	}
	otactl_csv_free(&p);
	fclose(f);
	return out;
}

/* Asserts that the records of the NUL-terminated text are want. */
static void
want_records(const char *text, const char *want)
{
	char *got = records(text, strlen(text));

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_next_plain)
{
	want_records("a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n");
	/* No final line break; CRLF; a lone CR. */
	want_records("a,b\r\n1,2\r3,4", "1:a|b\n2:1|2\n3:3|4\n");
	/* Empty fields, a trailing comma is one more (empty) field. */
	want_records(",x,\n", "1:|x|\n");
	/* Spaces are data (the schema trims, the reader does not). */
	want_records(" a , b \n", "1: a | b \n");
	want_records("", "");
}
END_TEST

START_TEST(test_next_quoted)
{
	want_records(
	    "\"a,b\",\"say \"\"hi\"\"\",\"\"\n", "1:a,b|say \"hi\"|\n");
	/* A line break inside quotes: the record starts on line 1, the
	 * next one on line 3. */
	want_records("\"two\nlines\",x\ny,z\n", "1:two\nlines|x\n3:y|z\n");
	want_records(
	    "\"crlf\r\ninside\",x\r\ny\r\n", "1:crlf\r\ninside|x\n3:y\n");
	/* A quote only means quoting at the start of a field. */
	want_records("\"\"\"\",b\n", "1:\"|b\n");
}
END_TEST

START_TEST(test_next_blank_and_bom)
{
	want_records(
	    "\xef\xbb\xbfid,hw\n\n  \t\n\r\nx,y\n\n", "1:id|hw\n5:x|y\n");
	/* A quoted empty field is a record, not a blank line. */
	want_records("\"\"\n", "1:\n");
	/* A byte order mark only counts at the very start. */
	want_records("a\n\xef\xbb\xbf"
	             "b\n",
	    "1:a\n2:\xef\xbb\xbf"
	    "b\n");
}
END_TEST

START_TEST(test_next_errors_recover)
{
	want_records("a,b\"c,d\ne,f\n",
	    "1:!quote inside an unquoted field (quote the whole field and "
	    "write the quote as \"\")\n2:e|f\n");
	want_records("\"a\"b,c\nd\n",
	    "1:!text after a closing quote (write a quote inside a quoted "
	    "field as \"\")\n2:d\n");
	want_records("x\n\"open,\nnever\nclosed\n",
	    "1:x\n2:!quoted field opened on line 2 never closed\n");
}
END_TEST

START_TEST(test_next_limits)
{
	char *text, *got, want[128];
	size_t n, i;

	/* A NUL byte cannot be a C string: refused, line skipped. */
	got = records("a\nb\0c\nd\n", 8);
	ck_assert_str_eq(got, "1:a\n2:!NUL byte in the file\n3:d\n");
	free(got);
	/* OTACTL_CSV_FIELDS_MAX fields pass, one more does not. */
	n = 2 * (OTACTL_CSV_FIELDS_MAX + 1) + 3;
	text = calloc(1, n);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < OTACTL_CSV_FIELDS_MAX; i++)
		strcat(text, i ? ",x" : "x");
	strcat(text, "\n");
	got = records(text, strlen(text));
	ck_assert_uint_eq(strlen(got), 2 + 2 * OTACTL_CSV_FIELDS_MAX);
	free(got);
	text[strlen(text) - 1] = '\0';
	strcat(text, ",x\ny\n");
	got = records(text, strlen(text));
	snprintf(want, sizeof(want), "1:!over %d fields\n2:y\n",
	    OTACTL_CSV_FIELDS_MAX);
	ck_assert_str_eq(got, want);
	free(got);
	free(text);
	/* A field of OTACTL_CSV_FIELD_MAX bytes passes, one more not. */
	text = malloc(OTACTL_CSV_FIELD_MAX + 8);
	ck_assert_ptr_nonnull(text);
	memset(text, 'a', OTACTL_CSV_FIELD_MAX);
	memcpy(text + OTACTL_CSV_FIELD_MAX, "\nb\n", 4);
	got = records(text, strlen(text));
	ck_assert_uint_eq(strlen(got), OTACTL_CSV_FIELD_MAX + 3 + 4);
	free(got);
	memcpy(text + OTACTL_CSV_FIELD_MAX, "a\nb\n", 5);
	got = records(text, strlen(text));
	snprintf(want, sizeof(want), "1:!a field over %d bytes\n2:b\n",
	    OTACTL_CSV_FIELD_MAX);
	ck_assert_str_eq(got, want);
	free(got);
	free(text);
}
END_TEST

/* Collects bad-row reports as "LINE: reason\n". */
struct bad_log {
	char buf[8192];
};

static void
collect(void *arg, size_t line, const char *reason)
{
	struct bad_log *b = arg;
	size_t len = strlen(b->buf);

	snprintf(b->buf + len, sizeof(b->buf) - len, "%zu: %s\n", line, reason);
}

/*
 * Parses the NUL-terminated text as a device CSV, asserts the return
 * code and the reports, and returns the devices as one compact JSON
 * array of [line, device] pairs, keys sorted (free()).
 */
static char *
devices(const char *text, int want_rc, const char *want_bad)
{
	struct otactl_csv_devices d;
	struct bad_log log;
	json_t *arr = json_array();
	char *s;

	memset(&log, 0, sizeof(log));
	ck_assert_int_eq(
	    otactl_csv_devices_parse(text, strlen(text), collect, &log, &d),
	    want_rc);
	ck_assert_str_eq(log.buf, want_bad);
	for (size_t i = 0; i < d.n; i++) {
		json_array_append_new(arr,
		    json_pack("[I,O]", (json_int_t)d.v[i].line, d.v[i].obj));
	}
	otactl_csv_devices_free(&d);
	s = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(arr);
	return s;
}

/* Asserts that the one good row of "id,hardware,version,groups,labels"
 * + row gives the device object want (compact, sorted keys, no line), or
 * only that it is accepted when want is NULL. */
static void
want_device(const char *row, const char *want)
{
	char text[16384], *got, full[4096];

	snprintf(
	    text, sizeof(text), "id,hardware,version,groups,labels\n%s\n", row);
	got = devices(text, 0, "");
	if (want == NULL) { /* only: accepted */
		free(got);
		return;
	}
	snprintf(full, sizeof(full), "[[2,%s]]", want);
	ck_assert_str_eq(got, full);
	free(got);
}

/* Asserts that the row (after the five-column header) is refused with
 * the reason want. */
static void
want_bad_row(const char *row, const char *want)
{
	char text[16384], log[1024], *got;

	snprintf(
	    text, sizeof(text), "id,hardware,version,groups,labels\n%s\n", row);
	snprintf(log, sizeof(log), "2: %s\n", want);
	got = devices(text, OTA_EINVAL, log);
	ck_assert_str_eq(got, "[]");
	free(got);
}

START_TEST(test_devices_good)
{
	char *got;

	want_device("d1,revA,1.4.0,eu;beta,env=prod;site=ber",
	    "{\"groups\":[\"eu\",\"beta\"],\"hardware\":\"revA\",\"id\":"
	    "\"d1\",\"labels\":{\"env\":\"prod\",\"site\":\"ber\"},"
	    "\"version\":\"1.4.0\"}");
	/* Optional columns empty: left out, not sent as "". */
	want_device("d:2.x_y-z,rev:B,,,",
	    "{\"hardware\":\"rev:B\",\"id\":\"d:2.x_y-z\"}");
	/* Trimmed fields and items; empty items skipped; '=' in values;
	 * an empty value; quoted fields with ',' and '"'. */
	want_device(" d3 , revA , 2.0.0-rc.1+b.7 , eu ; ;beta; ,"
	            "\" note = a,b \"\"c\"\" ; url=x=y;empty= \"",
	    "{\"groups\":[\"eu\",\"beta\"],\"hardware\":\"revA\",\"id\":"
	    "\"d3\",\"labels\":{\"empty\":\"\",\"note\":\"a,b \\\"c\\\"\","
	    "\"url\":\"x=y\"},\"version\":\"2.0.0-rc.1+b.7\"}");
	/* Non-ASCII label text is fine (valid UTF-8). */
	want_device("d4,revA,,,city=K\xc3\xb6ln",
	    "{\"hardware\":\"revA\",\"id\":\"d4\",\"labels\":{\"city\":"
	    "\"K\xc3\xb6ln\"}}");
	/* Columns in any order and case; only id and hardware needed;
	 * each device remembers its line. */
	got =
	    devices("\r\nHardware, ID\r\n\r\nrevA,a\r\n\"revB\",b\r\n", 0, "");
	ck_assert_str_eq(got, "[[4,{\"hardware\":\"revA\",\"id\":\"a\"}],"
	                      "[5,{\"hardware\":\"revB\",\"id\":\"b\"}]]");
	free(got);
}
END_TEST

/* The components column: name=hardware[@version] entries separated by
 * ';', checked as otad checks the JSON form. */
START_TEST(test_devices_components)
{
	char *got;

	got = devices("id,hardware,components\n"
	              "d1,board,ncp=esp32c6@1.2.0; mcu=nrf52840 ;\n"
	              "d2,board,\n",
	    0, "");
	ck_assert_str_eq(got,
	    "[[2,{\"components\":[{\"hardware\":\"esp32c6\",\"name\":"
	    "\"ncp\",\"version\":\"1.2.0\"},{\"hardware\":\"nrf52840\","
	    "\"name\":\"mcu\",\"version\":null}],\"hardware\":\"board\","
	    "\"id\":\"d1\"}],[3,{\"hardware\":\"board\",\"id\":\"d2\"}]]");
	free(got);
	got = devices("id,hardware,components\n"
	              "d1,b,ncp=x;ncp=y\n"
	              "d2,b,NCP=x\n"
	              "d3,b,ncp\n"
	              "d4,b,ncp=x@v1\n"
	              "d5,b,ncp=bad hw\n",
	    OTA_EINVAL,
	    "2: components[1].name: 'ncp' named twice\n"
	    "3: components[0].name: must be 1..32 characters of "
	    "[a-z0-9._-]\n"
	    "4: components[0]: 'ncp' is not name=hardware[@version]\n"
	    "5: components[0].version: must be a SemVer 2.0 version\n"
	    "6: components[0].hardware: must be 1..64 characters of "
	    "[A-Za-z0-9._:-]\n");
	ck_assert_str_eq(got, "[]");
	free(got);
}
END_TEST

START_TEST(test_devices_header)
{
	char *got;

	got = devices("id,hardware,label\nd1,revA,x=y\n", OTA_EINVAL,
	    "1: header: unknown column 'label' (want id, hardware, version, "
	    "groups, labels, components)\n");
	ck_assert_str_eq(got, "[]");
	free(got);
	got = devices(
	    "id,hardware,ID\n", OTA_EINVAL, "1: header: column 'id' twice\n");
	free(got);
	/* A file without a header starts with a device: refused. */
	got = devices("d1,revA\n", OTA_EINVAL,
	    "1: header: unknown column 'd1' (want id, hardware, version, "
	    "groups, labels, components)\n");
	free(got);
	got = devices("id,version\n", OTA_EINVAL,
	    "1: header: want a header row naming at least the columns id "
	    "and hardware (then any of version, groups, labels, "
	    "components)\n");
	free(got);
	got = devices("\n\n", OTA_EINVAL,
	    "0: empty file: want a header row (id,hardware,...) and one "
	    "device per line\n");
	free(got);
	got = devices("id,hardware\n\n", OTA_EINVAL,
	    "0: no devices after the header row\n");
	free(got);
}
END_TEST

START_TEST(test_devices_bad_rows)
{
	char row[8192];
	size_t i;

	want_bad_row("d1,revA,1.0.0,eu", "4 fields, the header has 5");
	want_bad_row("d1", "1 field, the header has 5");
	want_bad_row(",revA,,,", "id '': want 1..128 of [A-Za-z0-9._:-]");
	want_bad_row(
	    "dev 1,revA,,,", "id 'dev 1': want 1..128 of [A-Za-z0-9._:-]");
	memset(row, 'x', 129);
	strcpy(row + 129, ",revA,,,");
	want_bad_row(row, "id 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': "
	                  "want 1..128 of [A-Za-z0-9._:-]");
	want_bad_row(
	    "d1,rev/A,,,", "hardware 'rev/A': want 1..64 of [A-Za-z0-9._:-]");
	want_bad_row("d1,,,,", "hardware '': want 1..64 of [A-Za-z0-9._:-]");
	want_bad_row("d1,revA,1.0,,",
	    "version '1.0': not a SemVer version (1.4.0, 2.0.0-rc.1)");
	want_bad_row("d1,revA,v1.0.0,,",
	    "version 'v1.0.0': not a SemVer version (1.4.0, 2.0.0-rc.1)");
	want_bad_row("d1,revA,,eu;no:colon,",
	    "groups: 'no:colon' is not a group name (1..64 of [A-Za-z0-9._-])");
	want_bad_row("d1,revA,,eu;beta;eu,", "groups: 'eu' listed twice");
	want_bad_row("d1,revA,,,env", "labels: 'env' is not key=value");
	want_bad_row("d1,revA,,,=x", "labels: key '' must be 1..64 characters");
	want_bad_row("d1,revA,,,a=1;a=2", "labels: key 'a' twice");
	want_bad_row(
	    "d1,revA,,,a=\xff", "labels: value of 'a' not valid UTF-8");
	want_bad_row("d1,revA,,,\xc3=1", "labels: key '\xc3' not valid UTF-8");
	/* Lengths count characters, as otad does: 256 two-byte
	 * characters pass, 257 do not; so do 64-character keys. */
	strcpy(row, "d1,revA,,,k=");
	for (i = 0; i < 257; i++)
		strcat(row, "\xc3\xb6");
	want_bad_row(row, "labels: value of 'k' over 256 characters");
	row[strlen(row) - 2] = '\0';
	want_device(row, NULL);
	strcpy(row, "d1,revA,,,");
	for (i = 0; i < 65; i++)
		strcat(row, "\xc3\xb6");
	strcat(row, "=v");
	want_bad_row(row,
	    "labels: key '\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6...' must be 1..64 characters");
	memmove(row + 10, row + 12, strlen(row + 12) + 1);
	want_device(row, NULL);
	/* A value quoted in a reason is cut before a character, not in
	 * the middle of one. */
	strcpy(row, "d1,revA,,,a");
	for (i = 0; i < 65; i++)
		strcat(row, "\xc3\xb6");
	strcat(row, "=v");
	want_bad_row(row,
	    "labels: key 'a\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6...' must be 1..64 characters");
	/* 64 groups pass, 65 do not. */
	strcpy(row, "d1,revA,,");
	for (i = 0; i < 65; i++)
		snprintf(row + strlen(row), sizeof(row) - strlen(row), "%sg%zu",
		    i ? ";" : "", i);
	strcat(row, ",");
	want_bad_row(row, "groups: over 64 groups");
	*strrchr(row, ';') = '\0';
	strcat(row, ",");
	want_device(row, NULL);
	/* 64 keys pass, 65 do not. */
	strcpy(row, "d1,revA,,,");
	for (i = 0; i < 65; i++)
		snprintf(row + strlen(row), sizeof(row) - strlen(row),
		    "%sk%zu=v", i ? ";" : "", i);
	want_bad_row(row, "labels: over 64 keys");
	*strrchr(row, ';') = '\0';
	want_device(row, NULL);
	/* Under every per-key limit, over 4096 bytes as JSON. */
	strcpy(row, "d1,revA,,,");
	for (i = 0; i < 20; i++) {
		size_t n = strlen(row);
		snprintf(
		    row + n, sizeof(row) - n, "%sk%02zu=", i ? ";" : "", i);
		n = strlen(row);
		memset(row + n, 'v', 200);
		row[n + 200] = '\0';
	}
	want_bad_row(row, "labels: 4181 bytes as JSON, over 4096");
}
END_TEST

START_TEST(test_devices_every_bad_row)
{
	char *got;

	/* Every bad row is reported with its line, in line order (a
	 * repeated id on each later line, among the other reports), and
	 * good rows are kept. */
	got = devices("id,hardware\n"
	              "a,revA\n"
	              "b c,revA\n"
	              "\n"
	              "a,revB\n"
	              "\"q\"x,revA\n"
	              "b,revA,extra\n"
	              "c,revA\n"
	              "a,revC\n"
	              "c,revA\n",
	    OTA_EINVAL,
	    "3: id 'b c': want 1..128 of [A-Za-z0-9._:-]\n"
	    "5: id 'a' already on line 2\n"
	    "6: text after a closing quote (write a quote inside a quoted "
	    "field as \"\")\n"
	    "7: 3 fields, the header has 2\n"
	    "9: id 'a' already on line 2\n"
	    "10: id 'c' already on line 8\n");
	ck_assert_str_eq(got, "[[2,{\"hardware\":\"revA\",\"id\":\"a\"}],"
	                      "[5,{\"hardware\":\"revB\",\"id\":\"a\"}],"
	                      "[8,{\"hardware\":\"revA\",\"id\":\"c\"}],"
	                      "[9,{\"hardware\":\"revC\",\"id\":\"a\"}],"
	                      "[10,{\"hardware\":\"revA\",\"id\":\"c\"}]]");
	free(got);
	/* A quoted id may span lines; the report names its first line. */
	got = devices("id,hardware\n\"x\ny\",revA\nz,revA\n", OTA_EINVAL,
	    "2: id 'x?y': want 1..128 of [A-Za-z0-9._:-]\n");
	free(got);
}
END_TEST

static Suite *
otactl_csv_suite(void)
{
	Suite *s = suite_create("otactl_csv");
	TCase *tc = tcase_create("otactl_csv_next");

	tcase_add_test(tc, test_next_plain);
	tcase_add_test(tc, test_next_quoted);
	tcase_add_test(tc, test_next_blank_and_bom);
	tcase_add_test(tc, test_next_errors_recover);
	tcase_add_test(tc, test_next_limits);
	suite_add_tcase(s, tc);
	tc = tcase_create("otactl_csv_devices_parse");
	tcase_add_test(tc, test_devices_good);
	tcase_add_test(tc, test_devices_header);
	tcase_add_test(tc, test_devices_components);
	tcase_add_test(tc, test_devices_bad_rows);
	tcase_add_test(tc, test_devices_every_bad_row);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testutil_run_suite(otactl_csv_suite());
}
