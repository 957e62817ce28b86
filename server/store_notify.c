/*
 * store_notify: one channel, otad_rollouts, with an empty payload: a
 * listener only learns that it must reload, never what changed, so a
 * lost or merged notification costs a reload and nothing else.
 */
#include "store_notify.h"

#include <stdlib.h>

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
	if (db_listen(l->db, CHANNEL_ROLLOUTS) != 0) {
		log_err("module=store op=notify_listen db_rc=%d err=\"%s\"",
		    db_errcode(l->db), db_errmsg(l->db));
		store_notify_close(l);
		return OTA_EDB;
	}
	*out = l;
	return 0;
}

int
store_notify_wait(struct store_notify_listener *l, int timeout_ms)
{
	char channel[64];
	int rc;

	rc = db_wait_notify(l->db, timeout_ms, channel, sizeof(channel));
	if (rc < 0) {
		log_warn("module=store op=notify_wait db_rc=%d err=\"%s\"",
		    db_errcode(l->db), db_errmsg(l->db));
		return OTA_EDB;
	}
	return rc > 0 ? 1 : 0;
}

void
store_notify_close(struct store_notify_listener *l)
{
	if (l == NULL)
		return;
	db_close(l->db);
	free(l);
}
