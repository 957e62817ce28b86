/*
 * device_service: the device changes and views that span store files.
 * A hardware change and what it cancels are one transaction owned here;
 * the store files only read and write their rows.
 */
#include "device_service.h"

#include <stdlib.h>

#include "ddi.h"
#include "errors.h"
#include "store.h"
#include "store_ddi.h"
#include "store_devices.h"

int
device_service_get(struct store *st, const char *id, struct store_device *out,
    json_t **out_attrs)
{
	struct store_conn *c;
	char *text = NULL;
	int rc;

	*out_attrs = NULL;
	c = store_acquire(st);
	rc = store_device_get(c, id, out);
	if (rc == 0) {
		rc = store_ddi_attributes_get(c, id, &text, NULL);
		if (rc != 0)
			store_device_clear(out);
	}
	store_release(st, c);
	if (rc != 0)
		return rc;
	*out_attrs = ddi_attributes_json(text);
	free(text);
	return 0;
}

int
device_service_patch(struct store *st, const char *id, const char *hardware,
    const char *labels_json, const char *now, size_t *out_updates_canceled,
    size_t *out_actions_canceled)
{
	struct store_conn *c;
	int rc;

	c = store_acquire(st);
	rc = store_device_patch(c, id, hardware, labels_json, now,
	    out_updates_canceled, out_actions_canceled);
	store_release(st, c);
	return rc;
}
