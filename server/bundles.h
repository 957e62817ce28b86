/*
 * bundles: the signed bundle descriptor, the release of a multi-image
 * product as one unit: a name, a SemVer version and, per component of
 * the device, the image to install (by the sha256 its own signed image
 * descriptor names, so the bundle's signature covers every part's
 * bytes), its install order and, for a chain update, the component that
 * relays it.  Pure: parsing and the rules of parts, no I/O, no globals.
 *
 *   {"name":"thermo","version":"2.1.0","parts":[
 *     {"component":"ncp","sha256":"<64 hex>","order":1,"hardware":"c6-r1"},
 *     {"component":"mcu","sha256":"<64 hex>","order":2},
 *     {"component":"hub","sha256":"<64 hex>","order":3,"via":"mcu"}]}
 */
#ifndef OTAD_BUNDLES_H
#define OTAD_BUNDLES_H

#include <stddef.h>

#include "components.h"
#include "descriptor.h"
#include "semver.h"

/* The same bound as an image descriptor: what an HSM signs in one call
 * (docs/signing.md), and what `otactl sign` reads. */
#define BUNDLE_MAX_BYTES DESCRIPTOR_MAX_BYTES
#define BUNDLE_PARTS_MAX 8    /* parts of one bundle */
#define BUNDLE_ORDER_MAX 1000 /* order is 1..BUNDLE_ORDER_MAX */

struct bundle_part {
	char component[COMPONENT_NAME_MAX + 1];
	char sha256_hex[65]; /* lowercase, of the image's bytes */
	int order;           /* install order, unique in the bundle */
	char via[COMPONENT_NAME_MAX + 1]; /* relaying component, or "" */
	/* The hardware revision the part targets, "" for every revision its
	 * image lists. */
	char hardware[DESCRIPTOR_HW_LEN_MAX + 1];
};

struct bundle_descriptor {
	char name[DESCRIPTOR_NAME_MAX + 1];
	char version[SEMVER_MAX_LEN + 1];
	struct bundle_part parts[BUNDLE_PARTS_MAX]; /* in install order */
	size_t part_count;                          /* 1..BUNDLE_PARTS_MAX */
};

/*
 * Parses and validates buf[0..len): one JSON object of at most
 * BUNDLE_MAX_BYTES (no duplicate keys; unknown top-level keys are kept
 * in the signed bytes and ignored) with name (as an image's: 1..64 of
 * [A-Za-z0-9._-], starting with a letter or digit), version (SemVer) and
 * parts (1..BUNDLE_PARTS_MAX objects of exactly component, sha256, order
 * and optionally via and hardware).  A component named twice, an order
 * repeated, a via naming no part of the bundle or itself, or vias that
 * form a cycle are refused.  On success *out holds the parts sorted by
 * order.  Returns 0, OTA_EINVAL or OTA_ETOOBIG with a reason naming the
 * part ("parts[2].via: ...") in err.  Thread-safe.
 */
int bundle_parse(const unsigned char *buf, size_t len,
    struct bundle_descriptor *out, char *err, size_t errlen);

/*
 * 1 when part p may go to a component of hardware hw, given the hardware
 * revisions image_hw[0..n) its image's descriptor lists: hw must be one
 * of them and, when p names a hardware, that one.
 */
int bundle_part_fits(const struct bundle_part *p,
    const char (*image_hw)[DESCRIPTOR_HW_LEN_MAX + 1], size_t n,
    const char *hw);

/* The part of b for component name, or NULL. */
const struct bundle_part *bundle_part_find(
    const struct bundle_descriptor *b, const char *component);

/* What a part's image says, for the decision below (borrowed). */
struct bundle_image_facts {
	const char *version;     /* the image descriptor's version */
	const char *min_version; /* "" or NULL: none */
	const char (*hardware)[DESCRIPTOR_HW_LEN_MAX + 1]; /* it lists */
	size_t hardware_count;
};

/* What a device gets of a bundle. */
enum bundle_verdict {
	BUNDLE_OFFER,   /* some part is newer than its component: offer */
	BUNDLE_CURRENT, /* every component runs its part's version */
	BUNDLE_UNFIT    /* not for this device (plan->reason says why) */
};

struct bundle_plan {
	enum bundle_verdict verdict;
	/* Per part (b->parts order): 1 to install, 0 to skip (current). */
	int install[BUNDLE_PARTS_MAX];
	int part; /* the part that made it unfit, or -1 */
	char reason[160];
};

/*
 * Decides what a device with components comps[0..n) gets of bundle b,
 * whose part i has the image facts img[i].  A part is installed when its
 * component's version is unknown ("") or older than the image's, and
 * skipped when equal.  The bundle is unfit as a whole, and never offered,
 * when the device lacks a component it names, a part does not fit the
 * component's hardware (bundle_part_fits), the component is newer than
 * the part (never a downgrade of any part: the parts are released
 * together), or older than the image's min_version.  Pure.
 */
void bundle_plan(const struct bundle_descriptor *b,
    const struct bundle_image_facts *img, const struct component *comps,
    size_t n, struct bundle_plan *out);

#endif
