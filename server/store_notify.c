/*
 * store_notify: two channels.  otad_rollouts, with an empty payload: a
 * listener only learns that it must reload, never what changed, so a
 * lost or merged notification costs a reload and nothing else.
 * STORE_CHANNEL_DEVICES (queued by store.c at each commit that changed
 * devices) carries the ids of the devices.
 */
#include "store_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "errors.h"
#include "log.h"
#include "store_internal.h"

#define CHANNEL_ROLLOUTS "otad_rollouts"

struct store_notify_listener {
	struct db_conn *db;
};

int
store_notify_rollouts(struct store_conn *c)
{
	if (db_notify(store__db(c), CHANNEL_ROLLOUTS, "") != 0)
		return store__dberr(c, "notify_rollouts");
	return 0;
}

int
store_notify_shared(struct store_conn *c)
{
	return db_kind(store__db(c)) == DB_KIND_POSTGRES;
}

int
store_notify_listen(const char *target, const struct store_options *opt,
    struct store_notify_listener **out)
{
	struct store_notify_listener *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_err("module=store op=notify_listen err=\"out of memory\"");
		return OTA_EDB;
	}
	/* The driver logs its own failure. */
	if (store__db_open(target, opt, &l->db) != 0) {
		free(l);
		return OTA_EDB;
	}
	if (db_listen(l->db, CHANNEL_ROLLOUTS) != 0 ||
	    db_listen(l->db, STORE_CHANNEL_DEVICES) != 0) {
		log_err("module=store op=notify_listen db_rc=%d err=\"%s\"",
		    db_errcode(l->db), db_errmsg(l->db));
		store_notify_close(l);
		return OTA_EDB;
	}
	*out = l;
	return 0;
}

int
store_notify_wait(struct store_notify_listener *l, int timeout_ms,
    char *devices_out, size_t n)
{
	char channel[64], payload[STORE_CHANGES_BYTES + 8];
	int rc;

	rc = db_wait_notify(l->db, timeout_ms, channel, sizeof(channel),
	    payload, sizeof(payload));
	if (rc < 0) {
		log_warn("module=store op=notify_wait db_rc=%d err=\"%s\"",
		    db_errcode(l->db), db_errmsg(l->db));
		return OTA_EDB;
	}
	if (rc == 0)
		return 0;
	if (strcmp(channel, STORE_CHANNEL_DEVICES) != 0)
		return STORE_NOTIFY_ROLLOUTS;
	if (n > 0 && (size_t)snprintf(devices_out, n, "%s",
	                 payload[0] != '\0' ? payload : "*") >= n)
		snprintf(devices_out, n, "*");
	return STORE_NOTIFY_DEVICES;
}

void
store_notify_close(struct store_notify_listener *l)
{
	if (l == NULL)
		return;
	db_close(l->db);
	free(l);
}
