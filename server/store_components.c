/*
 * store_components: the device_components rows (store_components.h).  A
 * device's components are written as one multi-row INSERT and read by
 * the primary key (device_id, name), so they come back in name order.
 */
#include "store_components.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "store_internal.h"

static struct store_multi m_insert = STORE_MULTI_INIT(
    "INSERT INTO device_components (device_id, name, hardware, version)"
    " VALUES ",
    "(?, ?, ?, ?)", "", 4);
static const char sql_get[] =
    "SELECT name, hardware, version FROM device_components"
    " WHERE device_id = ?1 ORDER BY name";
static const char sql_delete[] =
    "DELETE FROM device_components WHERE device_id = ?1";
static const char sql_set_version[] =
    "UPDATE device_components SET version = ?3"
    " WHERE device_id = ?1 AND name = ?2";
static const char sql_device_exists[] = "SELECT 1 FROM devices WHERE id = ?1";

/* Inserts rows v[0..n) (n <= store__multi_rows' cap) of device_id. */
static int
insert_rows(struct store_conn *c, const char *device_id,
    const struct component *v, size_t n, size_t *out_done)
{
	struct db_stmt *s = NULL;
	size_t rows;
	int rc, step;

	if ((rc = store__multi_prepare(c, &m_insert, n, &s, &rows)) != 0)
		return rc;
	for (size_t r = 0; r < rows; r++) {
		int b = (int)r * 4;

		if (db_bind_text(s, b + 1, device_id) != 0 ||
		    db_bind_text(s, b + 2, v[r].name) != 0 ||
		    db_bind_text(s, b + 3, v[r].hardware) != 0 ||
		    store__bind_text_or_null(s, b + 4, v[r].version) != 0) {
			rc = store__dberr(c, "components_insert");
			goto out;
		}
	}
	step = db_step(s);
	if (step == DB_EUNIQUE)
		rc = OTA_EINVAL;
	else if (step != DB_DONE)
		rc = store__dberr(c, "components_insert");
	*out_done = rows;
out:
	store__done(s);
	return rc;
}

int
store_components_insert(struct store_conn *c, const char *device_id,
    const struct component *v, size_t n)
{
	size_t done = 0, rows = 0;
	int rc = 0;

	if (n > COMPONENTS_MAX)
		return OTA_EINVAL;
	while (rc == 0 && done < n) {
		rc = insert_rows(c, device_id, v + done, n - done, &rows);
		done += rows;
	}
	return rc;
}

/* A row of sql_get into a struct component. */
static int
component_row(struct db_stmt *s, void *elem, void *arg)
{
	struct component *p = elem;

	(void)arg;
	if (store__column_text(s, 0, p->name, sizeof(p->name)) != 0 ||
	    store__column_text(s, 1, p->hardware, sizeof(p->hardware)) != 0 ||
	    store__column_text(s, 2, p->version, sizeof(p->version)) != 0) {
		log_err("module=store op=components_get err=\"row out of "
		        "bounds\"");
		return OTA_EDB;
	}
	return 0;
}

int
store_components_get(struct store_conn *c, const char *device_id,
    struct component **out, size_t *out_n)
{
	struct db_stmt *s = NULL;
	int rc;

	*out = NULL;
	*out_n = 0;
	if ((rc = store__prepare(c, sql_get, &s)) != 0)
		goto out;
	if (db_bind_text(s, 1, device_id) != 0) {
		rc = store__dberr(c, "components_get");
		goto out;
	}
	rc = store__list(c, s, sizeof(**out), COMPONENTS_MAX, component_row,
	    NULL, NULL, out, out_n, "components_get");
out:
	store__done(s);
	return rc;
}

/* Runs sql (?1 device_id, no rows expected back but a DELETE's). */
static int
run_by_device(struct store_conn *c, const char *sql, const char *device_id,
    const char *op, int *out_row)
{
	struct db_stmt *s = NULL;
	int rc = 0, step;

	if ((rc = store__prepare(c, sql, &s)) != 0)
		return rc;
	if (db_bind_text(s, 1, device_id) != 0) {
		rc = store__dberr(c, op);
		goto out;
	}
	step = db_step(s);
	if (step < 0)
		rc = store__dberr(c, op);
	else if (out_row != NULL)
		*out_row = step == DB_ROW;
out:
	store__done(s);
	return rc;
}

int
store_components_delete(struct store_conn *c, const char *device_id)
{
	return run_by_device(
	    c, sql_delete, device_id, "components_delete", NULL);
}

int
store_components_replace(struct store_conn *c, const char *device_id,
    const struct component *v, size_t n)
{
	int rc, own = 0, exists = 0;

	if (n > COMPONENTS_MAX)
		return OTA_EINVAL;
	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own)) != 0)
		return rc;
	rc = run_by_device(
	    c, sql_device_exists, device_id, "components_replace", &exists);
	if (rc == 0 && !exists)
		rc = OTA_ENOTFOUND;
	if (rc == 0)
		rc = store_components_delete(c, device_id);
	if (rc == 0)
		rc = store_components_insert(c, device_id, v, n);
	/* What a bundle poll reads of the device (compcache.h). */
	if (rc == 0)
		rc = store_devices_changed(c, device_id);
	return store__tx_end(c, own, rc);
}

int
store_components_set_versions(struct store_conn *c, const char *device_id,
    const struct component *v, size_t n)
{
	struct db_stmt *s = NULL;
	int rc, own = 0;

	if ((rc = store__tx_join(c, DB_BEGIN_WRITE, &own)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((rc = store__prepare(c, sql_set_version, &s)) != 0)
			break;
		if (db_bind_text(s, 1, device_id) != 0 ||
		    db_bind_text(s, 2, v[i].name) != 0 ||
		    db_bind_text(s, 3, v[i].version) != 0 ||
		    db_step(s) != DB_DONE)
			rc = store__dberr(c, "components_set_versions");
		store__done(s);
		s = NULL;
	}
	if (rc == 0)
		rc = store_devices_changed(c, device_id);
	return store__tx_end(c, own, rc);
}
