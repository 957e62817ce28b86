/*
 * device_service: the device changes and views that span store files.
 * A hardware change and what it cancels are one transaction owned here;
 * the store files only read and write their rows.
 */
#include "device_service.h"

#include <stdlib.h>
#include <string.h>

#include "ddi.h"
#include "errors.h"
#include "store.h"
#include "store_ddi.h"
#include "store_components.h"
#include "store_devices.h"
#include "store_telemetry.h"

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
	struct device_service_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.hardware = hardware;
	ch.labels_json = labels_json;
	return device_service_change(
	    st, id, &ch, now, out_updates_canceled, out_actions_canceled);
}

int
device_service_change(struct store *st, const char *id,
    const struct device_service_change *ch, const char *now,
    size_t *out_updates_canceled, size_t *out_actions_canceled)
{
	struct store_conn *c;
	size_t nu = 0, na = 0;
	int rc = 0;

	*out_updates_canceled = 0;
	*out_actions_canceled = 0;
	if (ch->hardware == NULL && ch->labels_json == NULL &&
	    ch->components == NULL)
		return OTA_EINVAL;
	c = store_acquire(st);
	if ((rc = store_begin(c)) != 0)
		goto out;
	if (ch->hardware != NULL || ch->labels_json != NULL)
		rc = store_device_patch(c, id, ch->hardware, ch->labels_json);
	if (rc == 0 && ch->components != NULL)
		rc = store_components_replace(
		    c, id, ch->components, ch->component_count);
	/* What was offered for the old hardware and does not fit the new
	 * one ends here, in the same transaction. */
	if (rc == 0 && ch->hardware != NULL)
		rc =
		    store_telemetry_cancel_unfit(c, id, ch->hardware, now, &nu);
	if (rc == 0 && ch->hardware != NULL)
		rc = store_ddi_actions_cancel_unfit(
		    c, id, ch->hardware, now, &na);
	if (rc == 0)
		rc = store_commit(c);
	else
		store_rollback(c);
out:
	store_release(st, c);
	if (rc != 0)
		return rc;
	/* The caller logs the change, with who made it. */
	*out_updates_canceled = nu;
	*out_actions_canceled = na;
	return 0;
}
