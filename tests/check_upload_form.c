/*
 * check_upload_form: the image upload's parts as libmicrohttpd's post
 * processor hands them over, including the NULL and empty arguments it
 * passes for malformed parts.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "upload_form.h"
#include "testutil.h"

struct sink_state {
	char buf[64];
	size_t len;
	int fail;
};

static int
sink(void *cls, const char *data, size_t size)
{
	struct sink_state *s = cls;

	if (s->fail)
		return OTA_EIO;
	ck_assert_uint_gt(size, 0);
	ck_assert_uint_le(s->len + size, sizeof(s->buf));
	memcpy(s->buf + s->len, data, size);
	s->len += size;
	return 0;
}

static enum MHD_Result
feed(struct upload_form *f, const char *key, const char *te, const char *data,
    uint64_t off, size_t size)
{
	return upload_form_iter(
	    f, MHD_POSTDATA_KIND, key, NULL, NULL, te, data, off, size);
}

START_TEST(test_upload_form_iter_parts)
{
	struct sink_state s = {0};
	struct upload_form *f = upload_form_new(10, sink, &s);
	const unsigned char *d;
	const char *sigs, *msg;
	size_t len;
	char err[128];

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(
	    upload_form_check_complete(f, err, sizeof(err)), OTA_EINVAL);
	ck_assert_str_eq(err, "missing part(s): descriptor signatures image");
	/* An empty first call at offset 0, then the bytes at offset 0. */
	ck_assert_int_eq(feed(f, "descriptor", NULL, "", 0, 0), MHD_YES);
	ck_assert_int_eq(feed(f, "descriptor", NULL, "{\"a\"", 0, 4), MHD_YES);
	ck_assert_int_eq(feed(f, "descriptor", "binary", ":1}", 4, 3), MHD_YES);
	ck_assert_int_eq(feed(f, "signatures", "8bit", "[]", 0, 2), MHD_YES);
	ck_assert_int_eq(feed(f, "image", NULL, "abcde", 0, 5), MHD_YES);
	ck_assert_int_eq(feed(f, "image", NULL, "fghij", 5, 5), MHD_YES);
	ck_assert_int_eq(upload_form_error(f, &msg), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(upload_form_check_complete(f, err, sizeof(err)), 0);
	d = upload_form_descriptor(f, &len);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(memcmp(d, "{\"a\":1}", 7), 0);
	sigs = upload_form_signatures(f, &len);
	ck_assert_str_eq(sigs, "[]");
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(upload_form_image_bytes(f), 10);
	ck_assert_uint_eq(s.len, 10);
	ck_assert_int_eq(memcmp(s.buf, "abcdefghij", 10), 0);
	/* One byte over max_image_bytes. */
	ck_assert_int_eq(feed(f, "image", NULL, "k", 10, 1), MHD_NO);
	ck_assert_int_eq(upload_form_error(f, &msg), OTA_ETOOBIG);
	/* The first error stays; every later call is refused. */
	ck_assert_int_eq(feed(f, NULL, NULL, NULL, 0, 0), MHD_NO);
	ck_assert_int_eq(upload_form_error(f, NULL), OTA_ETOOBIG);
	upload_form_free(f);
	upload_form_free(NULL);
}
END_TEST

/* Feeds one call to a new form and returns its error and message. */
static int
one_call(const char *key, const char *te, const char *data, uint64_t off,
    size_t size, char *msg, size_t msglen)
{
	struct sink_state s = {0};
	struct upload_form *f = upload_form_new(100, sink, &s);
	const char *m;
	int rc;

	ck_assert_int_eq(feed(f, key, te, data, off, size), MHD_NO);
	rc = upload_form_error(f, &m);
	snprintf(msg, msglen, "%s", m);
	upload_form_free(f);
	return rc;
}

START_TEST(test_upload_form_iter_refusals)
{
	char msg[256];

	ck_assert_int_eq(
	    one_call(NULL, NULL, "abc", 0, 3, msg, sizeof(msg)), OTA_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "form part without a name"));
	ck_assert_int_eq(
	    one_call(NULL, NULL, NULL, 0, 0, msg, sizeof(msg)), OTA_EINVAL);
	ck_assert_int_eq(
	    one_call("", NULL, "abc", 0, 3, msg, sizeof(msg)), OTA_EINVAL);
	ck_assert_int_eq(
	    one_call("descriptor", NULL, NULL, 0, 3, msg, sizeof(msg)),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    one_call("firmware", NULL, "abc", 0, 3, msg, sizeof(msg)),
	    OTA_EINVAL);
	ck_assert_str_eq(msg, "unknown form part 'firmware'; expected "
	                      "descriptor, signatures and image");
	ck_assert_int_eq(
	    one_call("image", "base64", "YWJj", 0, 4, msg, sizeof(msg)),
	    OTA_EINVAL);
	ck_assert_int_eq(
	    one_call("image", NULL, "abc", 7, 3, msg, sizeof(msg)), OTA_EINVAL);
	ck_assert_str_eq(msg, "part 'image' arrived out of order");
}
END_TEST

START_TEST(test_upload_form_iter_bounds)
{
	static char big[UPLOAD_FORM_SIGS_MAX_BYTES + 1];
	struct sink_state s = {0};
	struct upload_form *f;
	const char *msg;

	/* A repeated part, after bytes or after another part. */
	f = upload_form_new(100, sink, &s);
	ck_assert_int_eq(feed(f, "descriptor", NULL, "a", 0, 1), MHD_YES);
	ck_assert_int_eq(feed(f, "descriptor", NULL, "b", 0, 1), MHD_NO);
	ck_assert_int_eq(upload_form_error(f, &msg), OTA_EINVAL);
	ck_assert_str_eq(msg, "part 'descriptor' appears twice");
	upload_form_free(f);
	f = upload_form_new(100, sink, &s);
	ck_assert_int_eq(feed(f, "image", NULL, "", 0, 0), MHD_YES);
	ck_assert_int_eq(feed(f, "signatures", NULL, "[]", 0, 2), MHD_YES);
	ck_assert_int_eq(feed(f, "image", NULL, "", 0, 0), MHD_NO);
	upload_form_free(f);
	/* The signatures part's bound, exactly and one over. */
	memset(big, 'x', sizeof(big));
	f = upload_form_new(100, sink, &s);
	ck_assert_int_eq(
	    feed(f, "signatures", NULL, big, 0, sizeof(big) - 1), MHD_YES);
	ck_assert_int_eq(
	    feed(f, "signatures", NULL, big, sizeof(big) - 1, 1), MHD_NO);
	ck_assert_int_eq(upload_form_error(f, NULL), OTA_EINVAL);
	upload_form_free(f);
	/* A sink failure is the upload's error. */
	s.fail = 1;
	f = upload_form_new(100, sink, &s);
	ck_assert_int_eq(feed(f, "image", NULL, "abc", 0, 3), MHD_NO);
	ck_assert_int_eq(upload_form_error(f, &msg), OTA_EIO);
	ck_assert_str_eq(msg, "cannot write the image to disk");
	upload_form_free(f);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("upload_form");
	TCase *tc = tcase_create("upload_form_iter");

	tcase_add_test(tc, test_upload_form_iter_parts);
	tcase_add_test(tc, test_upload_form_iter_refusals);
	tcase_add_test(tc, test_upload_form_iter_bounds);
	suite_add_tcase(s, tc);
	return testutil_run_suite(s);
}
