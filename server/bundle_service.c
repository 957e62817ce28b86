/*
 * bundle_service: accepting release bundles (bundle_service.h).  The
 * image of every part is looked up in the transaction that stores the
 * bundle, so the bundle never names an image deleted in between.
 */
#include "bundle_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundles.h"
#include "errors.h"
#include "images.h"
#include "log.h"
#include "store.h"
#include "store_bundles.h"

/* Finds the image of each part of b into ids[]: OTA_EMISMATCH naming the
 * part when there is none, or it does not list the part's hardware. */
static int
parts_images(struct store_conn *c, const struct bundle_descriptor *b,
    int64_t *ids, char *err, size_t errlen)
{
	struct store_bundle_image img;
	int rc;

	for (size_t i = 0; i < b->part_count; i++) {
		const struct bundle_part *p = &b->parts[i];

		rc = store_bundle_find_image(c, p->sha256_hex, NULL, &img);
		if (rc == OTA_ENOTFOUND) {
			snprintf(err, errlen,
			    "part '%s': no stored image has sha256 %s (upload "
			    "the image first)",
			    p->component, p->sha256_hex);
			return OTA_EMISMATCH;
		}
		if (rc == 0 && p->hardware[0] != '\0') {
			struct store_bundle_image fit;

			rc = store_bundle_find_image(
			    c, p->sha256_hex, p->hardware, &fit);
			img.id = fit.id;
			if (rc == OTA_ENOTFOUND) {
				snprintf(err, errlen,
				    "part '%s': image %s %s does not list "
				    "hardware '%s'",
				    p->component, img.name, img.version,
				    p->hardware);
				return OTA_EMISMATCH;
			}
		}
		if (rc != 0)
			return rc;
		ids[i] = img.id;
	}
	return 0;
}

int
bundle_service_accept(struct store *st, const struct crypto_keyring *kr,
    int required, const unsigned char *desc, size_t len, const json_t *sigs,
    const char *created_by, int64_t *out_id, int *out_existed, char *err,
    size_t errlen)
{
	struct bundle_descriptor b;
	int64_t ids[BUNDLE_PARTS_MAX];
	struct store_conn *c;
	char *sigs_text;
	int rc;

	*out_id = 0;
	*out_existed = 0;
	if ((rc = bundle_parse(desc, len, &b, err, errlen)) != 0)
		return rc == OTA_ETOOBIG ? OTA_EINVAL : rc;
	if ((rc = images_verify_signatures(
	         kr, required, desc, len, sigs, err, errlen)) != 0)
		return rc;
	sigs_text = json_dumps(sigs, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (sigs_text == NULL)
		return OTA_ENOMEM;
	c = store_acquire(st);
	if ((rc = store_begin(c)) != 0)
		goto out;
	rc = parts_images(c, &b, ids, err, errlen);
	if (rc == 0)
		rc = store_bundle_insert(c, &b, ids, desc, len, sigs_text,
		    created_by, out_id, out_existed);
	if (rc == OTA_ECONFLICT)
		snprintf(err, errlen,
		    "bundle %s %s exists with other descriptor bytes", b.name,
		    b.version);
	if (rc == 0)
		rc = store_commit(c);
	else
		store_rollback(c);
out:
	store_release(st, c);
	free(sigs_text);
	if (rc == 0)
		log_info("msg=\"bundle stored\" id=%lld name=%s version=%s "
		         "parts=%zu existed=%d",
		    (long long)*out_id, b.name, b.version, b.part_count,
		    *out_existed);
	return rc;
}
