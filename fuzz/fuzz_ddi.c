/*
 * fuzz_ddi: what a hawkBit DDI client sends, along otad's own path for a
 * lenient JSON body (server/http_server.c): json_util_repair_strings,
 * json_util_load, then the feedback (ddi_feedback_parse and
 * ddi_feedback_apply on every action status), the confirmation feedback
 * (ddi_confirmation_parse) and configData
 * (ddi_config_apply, ddi_attrs_device_facts) of server/ddi.c.
 * Invariants: the repair stays within 6 * len + 1 bytes, leaves a body
 * jansson already accepts unchanged and is idempotent; a parsed feedback
 * is within its bounds and its effects keep the action rules (a final
 * action never changes, progress 0..100); a parsed confirmation is
 * confirmed or denied with a code of 32 bits and bounded details, the
 * same body giving the same digest; an applied configData is within
 * the attribute limits and applying it again changes nothing.
 */
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "ddi.h"
#include "errors.h"
#include "fuzz.h"
#include "json_util.h"
#include "semver.h"

static void
check_repair(const uint8_t *data, size_t size, char **out, size_t *out_len)
{
	char *again = NULL, err[256];
	size_t again_len = 0;
	json_t *v = NULL;

	*out = NULL;
	FUZZ_CHECK(json_util_repair_strings(
	               (const char *)data, size, out, out_len) == 0);
	FUZZ_CHECK(*out != NULL && *out_len <= 6 * size);
	FUZZ_CHECK((*out)[*out_len] == '\0');
	if (json_util_load((const char *)data, size, JSON_UTIL_MAX_DEPTH, &v,
	        err, sizeof(err)) == 0) {
		FUZZ_CHECK(*out_len == size && memcmp(*out, data, size) == 0);
		json_decref(v);
	}
	FUZZ_CHECK(
	    json_util_repair_strings(*out, *out_len, &again, &again_len) == 0);
	FUZZ_CHECK(
	    again_len == *out_len && memcmp(again, *out, again_len) == 0);
	free(again);
}

static void
check_feedback(const json_t *body, int64_t expect_id)
{
	static const char hex[] = "0123456789abcdef";
	struct ddi_feedback fb;
	struct ddi_effect ef;
	char err[256];

	memset(err, 'x', sizeof(err));
	if (ddi_feedback_parse(body, expect_id, &fb, err, sizeof(err)) != 0) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		return;
	}
	FUZZ_CHECK(ddi_execution_name(fb.execution) != NULL);
	FUZZ_CHECK(ddi_finished_name(fb.finished) != NULL);
	FUZZ_CHECK(fb.execution != DDI_EXEC_CLOSED ||
	           fb.finished != DDI_FINISHED_NONE);
	FUZZ_CHECK(fb.progress_cnt >= -1 && fb.progress_cnt <= INT32_MAX);
	FUZZ_CHECK(fb.progress_of >= -1 && fb.progress_of <= INT32_MAX);
	FUZZ_CHECK(strnlen(fb.details, sizeof(fb.details)) <= DDI_DETAILS_MAX);
	/* Cut on a character boundary: still a JSON string. */
	{
		json_t *s = json_string(fb.details);

		FUZZ_CHECK(s != NULL);
		json_decref(s);
	}
	FUZZ_CHECK(strlen(fb.digest) == DDI_HASH_LEN - 1);
	FUZZ_CHECK(strspn(fb.digest, hex) == DDI_HASH_LEN - 1);
	for (int cur = DDI_OPEN; cur <= DDI_CANCELED; cur++) {
		for (int is_cancel = 0; is_cancel <= 1; is_cancel++) {
			FUZZ_CHECK(ddi_feedback_apply((enum ddi_status)cur,
			               is_cancel, &fb, &ef) == 0);
			FUZZ_CHECK(ddi_status_name(ef.status) != NULL);
			FUZZ_CHECK(ef.progress >= -1 && ef.progress <= 100);
			if (ddi_status_final((enum ddi_status)cur))
				FUZZ_CHECK(ef.status == (enum ddi_status)cur &&
				           !ef.telemetry);
			if (is_cancel)
				FUZZ_CHECK(!ef.telemetry);
			if (!ef.telemetry) {
				FUZZ_CHECK(ef.state == UPDATE_NONE);
				FUZZ_CHECK(
				    ef.progress == -1 && ef.result == -1);
				FUZZ_CHECK(!ef.sets_version);
			} else {
				FUZZ_CHECK(ef.state >= UPDATE_STARTED &&
				           ef.state <= UPDATE_FAILED);
				FUZZ_CHECK(ef.state != UPDATE_PROGRESS ||
				           ef.progress >= 0);
				FUZZ_CHECK((ef.state == UPDATE_FAILED) ==
				           (ef.result == DDI_FAILURE_RESULT));
				FUZZ_CHECK(!ef.sets_version ||
				           ef.state == UPDATE_COMPLETED);
			}
		}
	}
}

static void
check_confirmation(const json_t *body)
{
	static const char hex[] = "0123456789abcdef";
	struct ddi_confirmation cf, again;
	char err[256];
	json_t *s;

	memset(err, 'x', sizeof(err));
	if (ddi_confirmation_parse(body, &cf, err, sizeof(err)) != 0) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		return;
	}
	FUZZ_CHECK(cf.confirmed == 0 || cf.confirmed == 1);
	FUZZ_CHECK(
	    cf.code >= DDI_CONFIRM_CODE_MIN && cf.code <= DDI_CONFIRM_CODE_MAX);
	FUZZ_CHECK(strnlen(cf.details, sizeof(cf.details)) <= DDI_DETAILS_MAX);
	s = json_string(cf.details); /* cut on a character boundary */
	FUZZ_CHECK(s != NULL);
	json_decref(s);
	FUZZ_CHECK(strlen(cf.digest) == DDI_HASH_LEN - 1);
	FUZZ_CHECK(strspn(cf.digest, hex) == DDI_HASH_LEN - 1);
	FUZZ_CHECK(ddi_confirmation_parse(body, &again, err, sizeof(err)) == 0);
	FUZZ_CHECK(strcmp(again.digest, cf.digest) == 0);
}

/* The attributes are within the configData limits. */
static void
check_attrs(const json_t *attrs)
{
	const char *key;
	json_t *v;

	FUZZ_CHECK(json_is_object(attrs));
	FUZZ_CHECK(json_object_size(attrs) <= DDI_ATTR_MAX);
	json_object_foreach((json_t *)attrs, key, v) {
		size_t klen = strlen(key);

		FUZZ_CHECK(klen >= 1 && klen <= DDI_ATTR_KEY_MAX);
		FUZZ_CHECK(json_is_string(v));
		FUZZ_CHECK(json_string_length(v) <= DDI_ATTR_VALUE_MAX);
		FUZZ_CHECK(
		    json_string_length(v) == strlen(json_string_value(v)));
	}
}

static void
check_config(const json_t *body, const json_t *cur)
{
	char hw[DESCRIPTOR_HW_LEN_MAX + 1], ver[SEMVER_MAX_LEN + 1], err[256];
	json_t *attrs = NULL, *again = NULL;

	memset(err, 'x', sizeof(err));
	if (ddi_config_apply(body, cur, &attrs, err, sizeof(err)) != 0) {
		FUZZ_CHECK(attrs == NULL);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0] != '\0');
		return;
	}
	check_attrs(attrs);
	/* What a device reports twice is stored once. */
	FUZZ_CHECK(
	    ddi_config_apply(body, attrs, &again, err, sizeof(err)) == 0);
	FUZZ_CHECK(json_equal(attrs, again));
	if (ddi_attrs_device_facts(attrs, "hw_revision", "sw_version", hw, ver,
	        err, sizeof(err)) == 0) {
		FUZZ_CHECK(hw[0] == '\0' || descriptor_hardware_valid(hw));
		FUZZ_CHECK(
		    ver[0] == '\0' || semver_check(ver, strlen(ver)) == 0);
	} else {
		FUZZ_CHECK(hw[0] == '\0' && ver[0] == '\0');
	}
	json_decref(attrs);
	json_decref(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char *fixed = NULL, err[256];
	size_t fixed_len = 0;
	json_t *body = NULL, *cur;

	if (!ready) {
		FUZZ_CHECK(crypto_init() == 0);
		ready = 1;
	}
	check_repair(data, size, &fixed, &fixed_len);
	if (json_util_load(fixed, fixed_len, JSON_UTIL_MAX_DEPTH, &body, err,
	        sizeof(err)) != 0)
		goto out;
	check_feedback(body, 0);
	check_feedback(body, 7);
	check_confirmation(body);
	check_config(body, NULL);
	cur = json_pack("{ss ss ss}", "hw_revision", "revA", "sw_version",
	    "1.0.0", "serial", "42");
	FUZZ_CHECK(cur != NULL);
	check_config(body, cur);
	json_decref(cur);
out:
	json_decref(body);
	free(fixed);
	return 0;
}
