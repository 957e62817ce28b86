/*
 * bundle_service: the rules for accepting a release bundle.  A bundle is
 * stored only when its descriptor parses (bundles.c), its signatures meet
 * the same k-of-n rule over the same keyring as an image's, and every
 * part names a stored image (by sha256: the image's own signed
 * descriptor names the same bytes, so a tampered part cannot be served)
 * that lists the hardware the part targets.
 */
#ifndef OTAD_BUNDLE_SERVICE_H
#define OTAD_BUNDLE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;
struct crypto_keyring;

/*
 * Accepts the bundle descriptor desc[0..len) signed by sigs (a JSON array
 * of {"keyid","sig"}), needing `required` valid signatures of distinct
 * keys of kr, uploaded by created_by: the checks and the rows in one
 * write transaction of st.  *out_id is the bundle, *out_existed 1 when
 * the identical bundle was stored already.  Returns 0; OTA_EINVAL or
 * OTA_ETOOBIG (descriptor or signatures malformed); OTA_ESIG;
 * OTA_EMISMATCH (a part names no stored image, or one that does not list
 * its hardware: err names the part); OTA_ECONFLICT (same name and
 * version, other bytes); OTA_EDB.  err says why for the client.
 * Thread-safe.
 */
int bundle_service_accept(struct store *st, const struct crypto_keyring *kr,
    int required, const unsigned char *desc, size_t len, const json_t *sigs,
    const char *created_by, int64_t *out_id, int *out_existed, char *err,
    size_t errlen);

#endif
