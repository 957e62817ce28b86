/*
 * store_internal: what store.c shares with the store_*.c files and nobody
 * else: the per-connection cache of prepared statements and the one way
 * sqlite errors become OTA_EDB.  Each statement has a slot in enum
 * store_stmt; its SQL stays a static const char in the file that uses it
 * (a fragment two files share is a STORE_SQL_ macro here).
 */
#ifndef OTAD_STORE_INTERNAL_H
#define OTAD_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* The rollouts whose image does not list hardware ?2, as a subquery
 * (a rollout whose image was deleted is left out): what a device moved to
 * hardware ?2 can no longer install.  The one home of that rule for
 * store_telemetry_cancel_unfit and store_ddi_actions_cancel_unfit. */
#define STORE_SQL_ROLLOUTS_UNFIT                                               \
	"(SELECT r.id FROM rollouts r WHERE r.image_id IS NOT NULL"            \
	" AND NOT EXISTS (SELECT 1 FROM image_hardware ih"                     \
	" WHERE ih.image_id = r.image_id AND ih.hardware = ?2))"

enum store_stmt {
	/* store.c */
	STORE_STMT_BEGIN,
	STORE_STMT_BEGIN_READ,
	STORE_STMT_COMMIT,
	STORE_STMT_ROLLBACK,
	STORE_STMT_PING,
	STORE_STMT_SCHEMA_VERSION,
	STORE_STMT_MIGRATION_INSERT,
	/* store_images.c */
	STORE_STMT_IMAGE_FIND_SAME,
	STORE_STMT_IMAGE_INSERT,
	STORE_STMT_IMAGE_HW_INSERT,
	STORE_STMT_IMAGE_GET,
	STORE_STMT_IMAGE_LIST,
	STORE_STMT_IMAGE_SHA,
	STORE_STMT_IMAGE_DELETE,
	STORE_STMT_BLOB_REFERENCED,
	/* store_tokens.c */
	STORE_STMT_TOKEN_INSERT,
	STORE_STMT_TOKEN_GET,
	STORE_STMT_TOKEN_TOUCH,
	STORE_STMT_TOKEN_LIST,
	STORE_STMT_TOKEN_REVOKE_ID,
	STORE_STMT_TOKEN_REVOKE_NAME,
	/* store_devices.c */
	STORE_STMT_DEVICE_INSERT,
	STORE_STMT_DEVICE_TOKEN_INSERT,
	STORE_STMT_DEVICE_MEMBER_INSERT,
	STORE_STMT_DEVICE_GET,
	STORE_STMT_DEVICE_GROUPS,
	STORE_STMT_DEVICE_FACTS,
	STORE_STMT_DEVICE_LIST,
	STORE_STMT_DEVICE_LIST_GROUP,
	STORE_STMT_DEVICE_LIST_HARDWARE,
	STORE_STMT_DEVICE_SET_LABELS,
	STORE_STMT_DEVICE_DELETE,
	STORE_STMT_DEVICE_EXISTS,
	STORE_STMT_DEVICE_TOKEN_REVOKE,
	STORE_STMT_DEVICE_SEEN,
	STORE_STMT_DEVICE_LIST_MISMATCH,
	STORE_STMT_DEVICE_COUNT_MISMATCH,
	STORE_STMT_DEVICE_SET_HARDWARE,
	/* store_groups.c */
	STORE_STMT_GROUP_INSERT,
	STORE_STMT_GROUP_ID,
	STORE_STMT_GROUP_GET,
	STORE_STMT_GROUP_LIST,
	STORE_STMT_GROUP_IN_USE,
	STORE_STMT_GROUP_DELETE,
	STORE_STMT_GROUP_MEMBER_ADD,
	STORE_STMT_GROUP_MEMBER_REMOVE,
	STORE_STMT_GATEWAY_INSERT,
	STORE_STMT_GATEWAY_GROUP_ADD,
	STORE_STMT_GATEWAY_LIST,
	STORE_STMT_GATEWAY_GROUPS,
	STORE_STMT_GATEWAY_REVOKE_ID,
	STORE_STMT_GATEWAY_REVOKE_NAME,
	STORE_STMT_GATEWAY_COVERS,
	/* store_tokens.c: credentials of every kind */
	STORE_STMT_CREDENTIAL_GET,
	STORE_STMT_GATEWAY_TOUCH,
	/* store_rollouts.c (and store_images.c's delete guard) */
	STORE_STMT_ROLLOUT_INSERT,
	STORE_STMT_ROLLOUT_GROUP_INSERT,
	STORE_STMT_ROLLOUT_GET,
	STORE_STMT_ROLLOUT_GROUPS,
	STORE_STMT_ROLLOUT_LIST,
	STORE_STMT_ROLLOUT_UPDATE,
	STORE_STMT_ROLLOUT_EVENT_INSERT,
	STORE_STMT_ROLLOUT_EVENTS,
	STORE_STMT_ROLLOUT_IMAGE_IN_USE,
	STORE_STMT_ROLLOUT_MAY_FETCH,
	STORE_STMT_IMAGE_ROLLOUT_USER,
	/* store_telemetry.c: update events and statuses */
	STORE_STMT_TELEMETRY_ROLLOUT,
	STORE_STMT_TELEMETRY_EVENT_INSERT,
	STORE_STMT_TELEMETRY_UPDATE_GET,
	STORE_STMT_TELEMETRY_UPDATE_INSERT,
	STORE_STMT_TELEMETRY_UPDATE_SET,
	STORE_STMT_TELEMETRY_OFFER,
	STORE_STMT_TELEMETRY_COMPLETED,
	STORE_STMT_TELEMETRY_REVERT,
	STORE_STMT_TELEMETRY_ROLLOUT_EXISTS,
	STORE_STMT_TELEMETRY_COUNTS,
	STORE_STMT_TELEMETRY_DEVICE_EVENTS,
	STORE_STMT_TELEMETRY_FINISHED,
	STORE_STMT_TELEMETRY_TARGET,
	STORE_STMT_TELEMETRY_CANCEL,
	STORE_STMT_TELEMETRY_CANCEL_UNFIT,
	/* store_rollouts.c: health and metrics */
	STORE_STMT_ROLLOUT_MEMBERS,
	STORE_STMT_ROLLOUT_STAGE_STARTS,
	STORE_STMT_ROLLOUT_COUNT_BY_STATE,
	/* store_images.c: SHA-1 and MD5 */
	STORE_STMT_IMAGE_DIGESTS_MISSING,
	STORE_STMT_IMAGE_DIGESTS_SET,
	/* store_ddi.c: DDI actions, feedback, attributes */
	STORE_STMT_DDI_ACTIONS_POLL,
	STORE_STMT_DDI_ATTRS_WANTED,
	STORE_STMT_DDI_INSTALLED,
	STORE_STMT_DDI_ACTION_INSERT,
	STORE_STMT_DDI_ACTION_FIND,
	STORE_STMT_DDI_ACTION_GET,
	STORE_STMT_DDI_ACTION_CANCEL,
	STORE_STMT_DDI_ACTION_SET,
	STORE_STMT_DDI_FEEDBACK_INSERT,
	STORE_STMT_DDI_DEVICE_VERSION,
	STORE_STMT_DDI_ACTIONS_LIST,
	STORE_STMT_DDI_FEEDBACK_LIST,
	STORE_STMT_DDI_ATTRS_GET,
	STORE_STMT_DDI_ATTRS_PUT,
	STORE_STMT_DDI_DEVICE_SET,
	STORE_STMT_DDI_ATTRS_REFRESH,
	STORE_STMT_DDI_ACTION_STATUS,
	STORE_STMT_DDI_ACTIONS_CANCEL_UNFIT,
	STORE_STMT_COUNT
};

/* The connection's sqlite handle, borrowed for as long as c is held. */
sqlite3 *store__db(struct store_conn *c);

/*
 * Returns in *out the cached statement for slot id, preparing sql on first
 * use (sql must be the same text for a given id on every call).  The
 * statement is borrowed: finish with store__done.  Returns 0 or OTA_EDB.
 */
int store__prepare(struct store_conn *c, enum store_stmt id, const char *sql,
    sqlite3_stmt **out);

/* Resets s and clears its bindings so it is ready for the next use.
 * NULL-safe. */
void store__done(sqlite3_stmt *s);

/*
 * Copies text column col of s's current row into dst[dstsize], "" for
 * NULL.  Returns 0, or -1 when it does not fit (the row breaks an
 * invariant of its table; the caller logs and returns OTA_EDB).
 */
int store__column_text(sqlite3_stmt *s, int col, char *dst, size_t dstsize);

/* Binds v at parameter i as text, or as NULL when v is NULL or "" (an
 * optional column).  Returns sqlite's code. */
int store__bind_text_or_null(sqlite3_stmt *s, int i, const char *v);

/* Binds v at parameter i, or NULL when v < 0 (an optional count, id or
 * percentage).  Returns sqlite's code. */
int store__bind_int64_or_null(sqlite3_stmt *s, int i, int64_t v);

/* Logs sqlite's message for the last failure on c, naming op, once.
 * Returns OTA_EDB so callers can write rc = store__dberr(c, "op"). */
int store__dberr(struct store_conn *c, const char *op);

/*
 * Steps s (prepared and bound) expecting at most one row: 0 when s is on
 * a row (read its columns, then store__done), OTA_ENOTFOUND when there is
 * none, or OTA_EDB logged naming op.
 */
int store__step_one(struct store_conn *c, sqlite3_stmt *s, const char *op);

/*
 * Runs sql (slot id) with ?1 bound to key expecting at most one row: 0
 * (with column 0 of the row as an integer in *out_v when out_v is not
 * NULL), OTA_ENOTFOUND when there is none, or OTA_EDB logged naming op.
 */
int store__find_text(struct store_conn *c, enum store_stmt id, const char *sql,
    const char *key, int64_t *out_v, const char *op);

/* store_devices.c: 0 when device id exists, OTA_ENOTFOUND, or OTA_EDB
 * logged naming op.  The one "does this device exist" of the store. */
int store__device_exists(struct store_conn *c, const char *id, const char *op);

/* store_groups.c: the id of group name into *out_id: 0, OTA_ENOTFOUND,
 * or OTA_EDB logged naming op.  The one group lookup by name. */
int store__group_id(
    struct store_conn *c, const char *name, int64_t *out_id, const char *op);

/*
 * Makes room for element n of a growing array: pv is the address of the
 * array pointer (NULL at first), *cap its capacity in elements of
 * elem_size bytes and n the count in use.  When n == *cap the array is
 * reallocated to twice the capacity (16 at first).  Returns 0, or
 * OTA_ENOMEM, logged once naming op, with the array and *cap unchanged
 * (still the caller's to free).
 */
int store__grow(
    void *pv, size_t *cap, size_t n, size_t elem_size, const char *op);

/*
 * Runs sql (slot id) with ?1 bound to key and collects the text of column
 * 0 of every row, in order, into a new array *out of *out_n strdup'd
 * strings (*out is NULL when there are none); the caller frees each and
 * the array.  Returns 0, OTA_ENOMEM or OTA_EDB (logged naming op; *out is
 * then NULL and *out_n 0).
 */
int store__text_list(struct store_conn *c, enum store_stmt id, const char *sql,
    const char *key, char ***out, size_t *out_n, const char *op);

/*
 * Revokes a credential by id, or else by name: sql_by_id and sql_by_name
 * (slots by_id and by_name) are UPDATEs of ?1 (the key) setting
 * revoked_at = ?2 on rows not yet revoked.  Trying the id first means a
 * name that looks like another token's id never revokes both.  Returns 0
 * (logged at info naming op), OTA_ENOTFOUND when no active row matched,
 * or OTA_EDB.
 */
int store__revoke(struct store_conn *c, enum store_stmt by_id,
    const char *sql_by_id, enum store_stmt by_name, const char *sql_by_name,
    const char *id_or_name, const char *op);

/* Revokes a credential with one such UPDATE (slot id): 0 (logged at info
 * naming op), OTA_ENOTFOUND when no active row matched, or OTA_EDB. */
int store__revoke_one(struct store_conn *c, enum store_stmt id, const char *sql,
    const char *key, const char *op);

#endif
