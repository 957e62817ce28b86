/*
 * check_log: log_value writes any input as one key=value value, and a
 * logged line never contains a line break of its input.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

START_TEST(test_log_value)
{
	char buf[LOG_VALUE_MAX];
	char small[12];

	ck_assert_str_eq(
	    log_value(buf, sizeof(buf), "/api/v1/images"), "/api/v1/images");
	ck_assert_str_eq(log_value(buf, sizeof(buf), "a=b"), "a=b");
	ck_assert_str_eq(log_value(buf, sizeof(buf), NULL), "-");
	ck_assert_str_eq(log_value(buf, sizeof(buf), ""), "\"\"");
	ck_assert_str_eq(
	    log_value(buf, sizeof(buf), "two words"), "\"two words\"");
	/* The request that forged a line. */
	ck_assert_str_eq(log_value(buf, sizeof(buf),
	                     "/nope\r\nts=x level=info method=DELETE"),
	    "\"/nope\\r\\nts=x level=info method=DELETE\"");
	ck_assert_str_eq(log_value(buf, sizeof(buf), "say \"hi\"\\"),
	    "\"say \\\"hi\\\"\\\\\"");
	ck_assert_str_eq(
	    log_value(buf, sizeof(buf), "a\tb\x01\x7f"), "\"a\\tb\\x01\\x7f\"");
	ck_assert_str_eq(
	    log_value(buf, sizeof(buf), "caf\xc3\xa9"), "\"caf\\xc3\\xa9\"");
	/* Cut to fit, still quoted and terminated. */
	ck_assert_str_eq(log_value(small, sizeof(small), "abcdefghijklmnop"),
	    "\"abcdef...\"");
	ck_assert_str_eq(
	    log_value(small, sizeof(small), "abcdefghijk"), "abcdefghijk");
	ck_assert_str_eq(
	    log_value(small, sizeof(small), "\n\n\n\n\n"), "\"\\n\\n\\n...\"");
	ck_assert_str_eq(log_value(small, 3, "a b"), "\"\"");
	ck_assert_str_eq(log_value(small, 1, "a b"), "");
}
END_TEST

START_TEST(test_log_msg)
{
	char path[] = "/tmp/check_log.XXXXXX";
	char text[512];
	int fd, saved;
	ssize_t n;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	/* A value that missed log_value still cannot start a line. */
	log_info("path=%s", "/x\nts=forged level=info");
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	ck_assert_ptr_nonnull(strstr(text, "path=/x?ts=forged level=info\n"));
	ck_assert_ptr_eq(strchr(text, '\n'), text + n - 1);
}
END_TEST

/* log_enabled follows log_set_level. */
START_TEST(test_log_enabled)
{
	log_set_level(LOG_WARN);
	ck_assert_int_eq(log_enabled(LOG_ERR), 1);
	ck_assert_int_eq(log_enabled(LOG_WARN), 1);
	ck_assert_int_eq(log_enabled(LOG_INFO), 0);
	log_set_level(LOG_DEBUG);
	ck_assert_int_eq(log_enabled(LOG_DEBUG), 1);
	log_set_level(LOG_INFO);
	ck_assert_int_eq(log_enabled(LOG_INFO), 1);
	ck_assert_int_eq(log_enabled(LOG_DEBUG), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log_value");
	TCase *tm = tcase_create("log_msg");

	tcase_add_test(tc, test_log_value);
	tcase_add_test(tm, test_log_msg);
	tcase_add_test(tm, test_log_enabled);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tm);
	return testutil_run_suite(s);
}
