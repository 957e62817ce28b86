/*
 * update_state: the merge of one event into a device's status within a
 * rollout.  The order is a rank (offered < started < progress < finals)
 * plus three rules between finals: completed and failed by device time,
 * reverted over completed, failed over reverted; canceled (otad's) ends
 * what is unfinished until a final replaces it, and so does timed_out;
 * accepted and declined answer an offer, by device time.  Pure:
 * no I/O, no globals.
 */
#include "update_state.h"

#include <stddef.h>
#include <string.h>

#include "errors.h"

static const char *const update_state_names[UPDATE_STATE_COUNT] = {
    [UPDATE_OFFERED] = "offered",
    [UPDATE_STARTED] = "started",
    [UPDATE_PROGRESS] = "progress",
    [UPDATE_COMPLETED] = "completed",
    [UPDATE_FAILED] = "failed",
    [UPDATE_REVERTED] = "reverted",
    [UPDATE_CANCELED] = "canceled",
    [UPDATE_DEFERRED] = "deferred",
    [UPDATE_TIMED_OUT] = "timed_out",
    [UPDATE_ACCEPTED] = "accepted",
    [UPDATE_DECLINED] = "declined",
};

const char *
update_state_name(enum update_state s)
{
	if ((size_t)s >= UPDATE_STATE_COUNT || s == UPDATE_NONE)
		return NULL;
	return update_state_names[s];
}

int
update_state_parse(const char *name, enum update_state *out)
{
	if (name == NULL)
		return OTA_EINVAL;
	for (size_t i = UPDATE_OFFERED; i < UPDATE_STATE_COUNT; i++) {
		if (strcmp(name, update_state_names[i]) == 0) {
			*out = (enum update_state)i;
			return 0;
		}
	}
	return OTA_EINVAL;
}

int
update_state_finished(enum update_state s)
{
	return s == UPDATE_COMPLETED || s == UPDATE_FAILED ||
	       s == UPDATE_REVERTED;
}

int
update_state_bad(enum update_state s)
{
	return s == UPDATE_FAILED || s == UPDATE_TIMED_OUT;
}

int
update_state_consent_given(enum update_state s)
{
	return s == UPDATE_ACCEPTED || s == UPDATE_STARTED ||
	       s == UPDATE_PROGRESS;
}

int
update_state_mark_class(enum update_state s)
{
	if (update_state_bad(s))
		return 4;
	if (s == UPDATE_DECLINED)
		return 3;
	if (update_state_consent_given(s))
		return 2;
	return s == UPDATE_OFFERED ? 1 : 0;
}

/* The status when a consent answer ev (accepted or declined) at ev_ts_ms
 * meets cur set at cur_ts_ms; *refresh is 1 for a declined after a
 * declined at a later device time. */
static enum update_state
merge_consent(enum update_state cur, int64_t cur_ts_ms, enum update_state ev,
    int64_t ev_ts_ms, int *refresh)
{
	*refresh = 0;
	switch (cur) {
	case UPDATE_NONE:
	case UPDATE_OFFERED:
	case UPDATE_DEFERRED:
		return ev;
	case UPDATE_ACCEPTED:
	case UPDATE_DECLINED:
		/* A change of mind: the later answer wins (a tie: ev, the
		 * one received last). */
		if (ev_ts_ms < cur_ts_ms)
			return cur;
		*refresh =
		    ev == cur && ev == UPDATE_DECLINED && ev_ts_ms > cur_ts_ms;
		return ev;
	default:
		return cur; /* installing, ended: too late to answer */
	}
}

/* The status when a final event ev (completed, failed or reverted) meets
 * the final status cur. */
static enum update_state
merge_finals(enum update_state cur, int64_t cur_ts_ms, enum update_state ev,
    int64_t ev_ts_ms)
{
	/* reverted is the last word on a completion that was undone; a
	 * failed update never becomes reverted (it never completed). */
	if (cur == UPDATE_REVERTED)
		return ev == UPDATE_FAILED ? UPDATE_REVERTED : cur;
	if (ev == UPDATE_REVERTED)
		return cur == UPDATE_COMPLETED ? UPDATE_REVERTED : cur;
	/* completed vs failed: the later device time wins; on a tie the
	 * event received last, which is ev. */
	if (ev != cur && ev_ts_ms >= cur_ts_ms)
		return ev;
	return cur;
}

enum update_state
update_state_merge(enum update_state cur, int64_t cur_ts_ms,
    enum update_state ev, int64_t ev_ts_ms, int *out_changed)
{
	enum update_state next = cur;
	int progress_update = 0;

	switch (ev) {
	case UPDATE_OFFERED:
		if (cur == UPDATE_NONE)
			next = UPDATE_OFFERED;
		break;
	case UPDATE_DEFERRED:
		if (cur == UPDATE_NONE || cur == UPDATE_OFFERED)
			next = UPDATE_DEFERRED;
		break;
	case UPDATE_ACCEPTED:
	case UPDATE_DECLINED:
		next = merge_consent(
		    cur, cur_ts_ms, ev, ev_ts_ms, &progress_update);
		break;
	case UPDATE_STARTED:
		if (cur == UPDATE_NONE || cur == UPDATE_OFFERED ||
		    cur == UPDATE_DEFERRED || cur == UPDATE_ACCEPTED ||
		    cur == UPDATE_DECLINED)
			next = UPDATE_STARTED;
		break;
	case UPDATE_PROGRESS:
		if (cur == UPDATE_NONE || cur == UPDATE_OFFERED ||
		    cur == UPDATE_DEFERRED || cur == UPDATE_STARTED ||
		    cur == UPDATE_ACCEPTED || cur == UPDATE_DECLINED)
			next = UPDATE_PROGRESS;
		else if (cur == UPDATE_PROGRESS)
			progress_update = 1;
		break;
	case UPDATE_CANCELED:
		if (cur == UPDATE_OFFERED || cur == UPDATE_DEFERRED ||
		    cur == UPDATE_STARTED || cur == UPDATE_PROGRESS ||
		    cur == UPDATE_ACCEPTED)
			next = UPDATE_CANCELED;
		break;
	case UPDATE_TIMED_OUT:
		/* A deferred update waits for its user, a declined one for
		 * the re-ask: not stuck. */
		if (cur == UPDATE_OFFERED || cur == UPDATE_STARTED ||
		    cur == UPDATE_PROGRESS || cur == UPDATE_ACCEPTED)
			next = ev;
		break;
	case UPDATE_COMPLETED:
	case UPDATE_FAILED:
	case UPDATE_REVERTED:
		/* Over canceled too: the device finished after all. */
		if (update_state_finished(cur))
			next = merge_finals(cur, cur_ts_ms, ev, ev_ts_ms);
		else
			next = ev;
		break;
	case UPDATE_NONE:
	default:
		break;
	}
	if (out_changed != NULL)
		*out_changed = next != cur || progress_update;
	return next;
}
