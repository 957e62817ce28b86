/*
 * rollout_patch: the pure rules of editing a rollout's policy after it was
 * created: which states allow it (draft and paused: a running rollout is
 * paused first, so nothing changes under a stage that is offering), how a
 * patch merges into the current policy, the validation of the merged
 * policy (rollout_policy_check, rollout_gate_check: a patch is judged as a
 * whole, never field by field) and the audit text naming each change.  No
 * I/O, no globals, no allocation.
 */
#ifndef OTAD_ROLLOUT_PATCH_H
#define OTAD_ROLLOUT_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mwindow.h"
#include "rollout.h"
#include "selector.h"
#include "semver_range.h"

/* The editable policy of a rollout. */
struct rollout_policy {
	double failure_threshold;
	uint64_t min_reports;
	int64_t advance_after_sec;
	enum rollout_gate gate;
	double gate_confidence;
	/* the installed versions targeted: semver_range text, "" for all */
	char from_version[SEMVER_RANGE_TEXT_MAX];
	/* when a draft starts by itself, "YYYY-MM-DDTHH:MM:SSZ"; "" never */
	char start_at[21];
	/* the labels targeted: selector_parse's canonical text, "" for all */
	char selector[SELECTOR_TEXT_MAX];
	/* When and how hard (docs/rollouts.md "Maintenance windows", "Action
	 * types"): mwindow_parse's canonical text, "" for always; what a
	 * device is told outside them; the action type and, for time-forced
	 * only, when it becomes forced ("YYYY-MM-DDTHH:MM:SSZ", else ""). */
	char windows[MWINDOW_TEXT_MAX];
	enum rollout_outside outside_window;
	enum rollout_action_type action_type;
	char forced_at[21];
	/* stuck and failing devices: timeout, retries, abort criteria */
	struct rollout_stuck_policy stuck;
};

/* Which fields of a patch apply (bits of struct rollout_patch.fields). */
enum rollout_patch_field {
	ROLLOUT_PATCH_THRESHOLD = 1u << 0,
	ROLLOUT_PATCH_MIN_REPORTS = 1u << 1,
	ROLLOUT_PATCH_ADVANCE_AFTER = 1u << 2,
	ROLLOUT_PATCH_GATE = 1u << 3,
	ROLLOUT_PATCH_CONFIDENCE = 1u << 4,
	ROLLOUT_PATCH_FROM_VERSION = 1u << 5,
	ROLLOUT_PATCH_START_AT = 1u << 6,
	ROLLOUT_PATCH_SELECTOR = 1u << 7,
	ROLLOUT_PATCH_WINDOWS = 1u << 8,
	ROLLOUT_PATCH_OUTSIDE = 1u << 9,
	ROLLOUT_PATCH_ACTION_TYPE = 1u << 10,
	ROLLOUT_PATCH_FORCED_AT = 1u << 11,
	/* stuck and failing devices (struct rollout_stuck_policy) */
	ROLLOUT_PATCH_DEVICE_TIMEOUT = 1u << 12,
	ROLLOUT_PATCH_MAX_RETRIES = 1u << 13,
	ROLLOUT_PATCH_RETRY_BACKOFF = 1u << 14,
	ROLLOUT_PATCH_ABORT_ON = 1u << 15,
	ROLLOUT_PATCH_IGNORE_RESULTS = 1u << 16,
	ROLLOUT_PATCH_BREACH_ACTION = 1u << 17,
	ROLLOUT_PATCH_MAX_OFFERS = 1u << 18,
	ROLLOUT_PATCH_RATE_RAMP_MIN = 1u << 19,
	ROLLOUT_PATCH_RATE_RAMP_MAX = 1u << 20,
	/* consent */
	ROLLOUT_PATCH_REQUIRE_CONSENT = 1u << 21,
	ROLLOUT_PATCH_CONSENT_RETRY = 1u << 22,
};
#define ROLLOUT_PATCH_ALL 0x7fffffu

/* A requested edit: the fields named by `fields` take their value from v;
 * the others keep the rollout's. */
struct rollout_patch {
	unsigned fields;
	struct rollout_policy v;
};

/* 1 when a rollout in state s may have its policy edited (draft, paused),
 * else 0.  Pure. */
int rollout_patch_allowed(enum rollout_state s);

/*
 * The rule of a patch that depends on the rollout's state s: only a
 * draft's start can be scheduled (start_at set, not ""): a paused rollout
 * is resumed by hand.  0, or OTA_EINVAL with the reason in err.  Pure.
 */
int rollout_patch_check_state(enum rollout_state s,
    const struct rollout_patch *p, char *err, size_t errlen);

/*
 * Merges patch p into the current policy cur: *out gets cur with p's
 * fields replaced, validated as a whole (rollout_policy_check, then
 * rollout_gate_check, then semver_range_parse of a patched from_version,
 * which *out holds in its canonical text, semver_range_format, and
 * selector_parse of a patched selector, held canonical too; a patched
 * start_at must be "" or the store's form, timeutil_is_canonical;
 * mwindow_parse of patched windows, held canonical; then
 * rollout_when_check of the merged policy, then rollout_stuck_check).
 * changes
 * (changes_len > 0) gets the audit text of the fields whose value differs,
 * "field old -> new" joined by "; " in the order of enum rollout_patch_field
 * (thresholds and confidences as percentages, rollout_percent_text), "" when
 * the patch changes nothing; it is truncated to changes_len - 1 bytes.  Returns
 * 0; OTA_EINVAL for a NULL argument, no field or an unknown bit in p->fields,
 * or a merged policy the rules refuse, with a one-line reason naming the field
 * in err (as rollout_stages_parse).  *out and changes are written only on
 * success.  Pure.
 */
/*
 * The rules of when and how hard, on a whole policy p: outside_window and
 * action_type inside their enums; forced_at "" or the store's form
 * (timeutil_is_canonical), set exactly for a time-forced rollout
 * ("forced_at: required for action_type time-forced", "forced_at: only
 * for action_type time-forced").  0, or OTA_EINVAL with the reason naming
 * the field in err.  Pure.
 */
int rollout_when_check(
    const struct rollout_policy *p, char *err, size_t errlen);

int rollout_patch_apply(const struct rollout_policy *cur,
    const struct rollout_patch *p, struct rollout_policy *out, char *changes,
    size_t changes_len, char *err, size_t errlen);

#endif
