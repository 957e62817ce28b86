/*
 * ddi: the pure part of the hawkBit DDI API (see ddi.h).
 */
#include "ddi.h"

#include <stdio.h>
#include <string.h>

void
ddi_artifact_filename(
    const struct ota_descriptor *d, char out[DESCRIPTOR_FILENAME_MAX + 1])
{
	if (d->filename[0] != '\0') {
		snprintf(out, DESCRIPTOR_FILENAME_MAX + 1, "%s", d->filename);
		return;
	}
	/* name and version are [A-Za-z0-9._+-]: a safe file name, cut to
	 * the limit when a long version makes it longer. */
	snprintf(out, DESCRIPTOR_FILENAME_MAX + 1, "%.*s-%.*s.bin",
	    DESCRIPTOR_NAME_MAX, d->name,
	    DESCRIPTOR_FILENAME_MAX - 4 - DESCRIPTOR_NAME_MAX - 1, d->version);
}
