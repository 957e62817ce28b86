/*
 * components: the parts of one device that take their own firmware (an
 * NCP beside the application MCU, a sensor hub behind it), as pure rules:
 * the name alphabet, the bound per device, and the two written forms (the
 * JSON array of the REST API and the "name=hardware@version;..." text of
 * a CSV column).  A device with none has one implicit component: itself.
 * No I/O, no globals.
 */
#ifndef OTAD_COMPONENTS_H
#define OTAD_COMPONENTS_H

#include <stddef.h>

#include <jansson.h>

#include "descriptor.h"
#include "semver.h"

#define COMPONENTS_MAX 16     /* components of one device */
#define COMPONENT_NAME_MAX 32 /* [a-z0-9._-] */

struct component {
	char name[COMPONENT_NAME_MAX + 1];
	char hardware[DESCRIPTOR_HW_LEN_MAX + 1]; /* its hardware revision */
	char version[SEMVER_MAX_LEN + 1];         /* installed; "" unknown */
};

/* 1 when s is 1..COMPONENT_NAME_MAX characters of [a-z0-9._-]. */
int components_name_valid(const char *s);

/*
 * Reads arr, a JSON array of at most COMPONENTS_MAX objects
 * {"name", "hardware", "version"?} (version a SemVer 2.0 string, or null
 * or absent when not known; no other key), names unique, into
 * out[0..COMPONENTS_MAX) and *out_n.  field names arr in errors
 * ("components" or "devices[3].components").  Returns 0, or OTA_EINVAL
 * with "<field>[i].<key>: reason" in err.
 */
int components_from_json(const json_t *arr, const char *field,
    struct component out[COMPONENTS_MAX], size_t *out_n, char *err,
    size_t errlen);

/* The JSON array of v[0..n): [{"name","hardware","version"}] with version
 * null when not known.  A new reference, NULL when out of memory. */
json_t *components_to_json(const struct component *v, size_t n);

/*
 * Reads the text form s[0..len): entries "name=hardware" or
 * "name=hardware@version" separated by ';' (spaces and tabs around an
 * entry ignored, empty entries skipped), with the rules of
 * components_from_json.  Returns 0, or OTA_EINVAL with
 * "components: reason" in err.
 */
int components_from_text(const char *s, size_t len,
    struct component out[COMPONENTS_MAX], size_t *out_n, char *err,
    size_t errlen);

/* The component named name in v[0..n), or NULL. */
const struct component *components_find(
    const struct component *v, size_t n, const char *name);

#endif
