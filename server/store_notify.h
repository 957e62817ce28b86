/*
 * store_notify: the news that the rollouts changed, or devices did
 * (store_devices_changed), between the otad processes sharing one
 * database.  A change queues a notification in its own transaction (sent
 * only if it commits); each node holds one dedicated listening
 * connection, outside the pool, that hears both.
 * With SQLite there is one process and nothing to hear: notifying does
 * nothing and a node does not listen.
 */
#ifndef OTAD_STORE_NOTIFY_H
#define OTAD_STORE_NOTIFY_H

#include "store.h"

struct store_notify_listener;

/*
 * Queues "the rollouts changed" on c: sent when the transaction open on c
 * commits (at once outside one), dropped on rollback.  Returns 0 or
 * OTA_EDB (logged).  The one notification of otad, called by every store
 * function that writes a rollouts row.
 */
int store_notify_rollouts(struct store_conn *c);

/* 1 when other processes may share c's database and tell it of changes
 * (PostgreSQL), 0 when it is one process's alone (SQLite). */
int store_notify_shared(struct store_conn *c);

/*
 * Opens a dedicated connection to target with opt (both as
 * store_open_with takes them; opt may be NULL) that hears the rollouts
 * and devices notifications from now on.  Returns 0 and *out (free with
 * store_notify_close), or OTA_EDB (logged with the database's text; *out
 * NULL).  One thread uses a listener at a time.
 */
int store_notify_listen(const char *target, const struct store_options *opt,
    struct store_notify_listener **out);

/* What store_notify_wait heard. */
enum store_notify_kind {
	STORE_NOTIFY_ROLLOUTS = 1, /* the rollouts changed */
	STORE_NOTIFY_DEVICES = 2   /* devices changed: ids in devices_out */
};

/*
 * Waits up to timeout_ms for a notification on l: STORE_NOTIFY_ROLLOUTS,
 * STORE_NOTIFY_DEVICES with the device ids (as store_devices_changed
 * reports them: ids separated by spaces, or "*") copied into
 * devices_out[n] ("*" when they do not fit), 0 at the timeout, or OTA_EDB
 * (logged) when the connection is lost: close l, listen again, and assume
 * that notifications were missed.
 */
int store_notify_wait(struct store_notify_listener *l, int timeout_ms,
    char *devices_out, size_t n);

/* Closes l.  NULL-safe. */
void store_notify_close(struct store_notify_listener *l);

#endif
