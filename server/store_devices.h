/*
 * store_devices: rows of devices and device_tokens.  A device's token
 * secret never reaches this file, only its hash.  Poll reports (reported
 * hardware, version, last seen) arrive in batches from seen.c, never one
 * write per poll; the hardware itself is set by provisioning and the
 * admin API only.
 */
#ifndef OTAD_STORE_DEVICES_H
#define OTAD_STORE_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "components.h"
#include "crypto.h"
#include "descriptor.h"
#include "semver.h"
#include "store.h"

#define STORE_DEVICE_ID_MAX 128 /* [A-Za-z0-9._:-], 1..128 */
#define STORE_HARDWARE_MAX DESCRIPTOR_HW_LEN_MAX
#define STORE_VERSION_MAX SEMVER_MAX_LEN
#define STORE_LABELS_MAX 4096        /* JSON text of the labels object */
#define STORE_DEVICE_BATCH_MAX 10000 /* devices per provisioning call */

/* 1 when id is 1..STORE_DEVICE_ID_MAX of [A-Za-z0-9._:-]. */
int store_device_id_valid(const char *id);

struct store_device {
	char id[STORE_DEVICE_ID_MAX + 1];
	char hardware[STORE_HARDWARE_MAX + 1];
	char version[STORE_VERSION_MAX + 1]; /* "" when never reported */
	char labels[STORE_LABELS_MAX + 1];   /* JSON object text */
	char created_at[21];
	char last_seen_at[21]; /* "" when never seen */
	/* The hardware the device last reported (REST ?hardware=, DDI
	 * configData), "" when never: never used for offers; differing
	 * from hardware (the provisioned one) is a mismatch. */
	char reported_hardware[STORE_HARDWARE_MAX + 1];
	/* Group names, sorted; filled by store_device_get and the list. */
	char **groups;
	size_t group_count;
	/* Its components in name order (store_components), NULL and 0
	 * when it declared none; filled with the groups. */
	struct component *components;
	size_t component_count;
};

/* Frees the groups and components of d (not d itself).  NULL-safe. */
void store_device_clear(struct store_device *d);
/* Frees an array from store_device_list (each cleared).  NULL-safe. */
void store_device_list_free(struct store_device *v, size_t n);

/* A device to provision: id, hardware, optional version/labels/groups. */
struct store_device_new {
	const char *id;
	const char *hardware;
	const char *version;       /* NULL when not known */
	const char *labels_json;   /* JSON object text, or NULL for {} */
	const char *const *groups; /* existing group names */
	size_t group_count;
	const struct component *components; /* valid, names unique */
	size_t component_count;             /* 0..COMPONENTS_MAX */
	/* The token: its id and hash (the caller made it with
	 * crypto_token_new and shows the token to the caller once). */
	const char *token_id;
	const unsigned char *token_hash; /* CRYPTO_HASH_LEN */
};

/*
 * Provisions devices v[0..n) (1..STORE_DEVICE_BATCH_MAX) in one
 * transaction: all are stored or none.  Values must have been validated
 * by the caller (SemVer, labels); an invalid id, a missing field or a text
 * longer than its STORE_*_MAX is OTA_EINVAL here.  Returns 0;
 * OTA_ECONFLICT when an id already exists or repeats within v (the first
 * such id is copied to conflict_id, which may be NULL); OTA_ENOTFOUND
 * when a group does not exist (its name copied to conflict_id); OTA_EINVAL
 * for n out of range; OTA_EDB.
 */
int store_device_insert_batch(struct store_conn *c,
    const struct store_device_new *v, size_t n,
    char conflict_id[STORE_DEVICE_ID_MAX + 1]);

/* Loads one device with its groups.  0, OTA_ENOTFOUND or OTA_EDB. */
int store_device_get(
    struct store_conn *c, const char *id, struct store_device *out);

/*
 * The facts the manifest path needs, in one cheap read: the device's
 * stored hardware and version and the ids of its groups (ascending, at
 * most max_groups are written; *out_group_count is the number written).
 * Returns 0, OTA_ENOTFOUND or OTA_EDB.
 */
int store_device_facts(struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count);

/*
 * store_device_facts and the hardware the device last reported ("" when
 * never), for the poll paths: a report that differs from the provisioned
 * hardware gets no offer.
 */
int store_device_poll_facts(struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count);

/* A device's labels flat: "key\0value\0" pairs (selector_labels_split),
 * len bytes of flat. */
struct store_labels {
	char flat[STORE_LABELS_MAX];
	size_t len;
};

/*
 * Flattens a labels JSON object text (NULL: {}) of string values into
 * *out.  Returns 0, or OTA_EINVAL (not such an object, or too long: out
 * then holds no labels).
 */
int store_labels_flatten(const char *json, struct store_labels *out);

/* store_device_poll_facts and the device's labels into *labels (NULL: not
 * read). */
int store_device_poll_facts_labels(struct store_conn *c, const char *id,
    char out_hardware[STORE_HARDWARE_MAX + 1],
    char out_reported_hardware[STORE_HARDWARE_MAX + 1],
    char out_version[STORE_VERSION_MAX + 1], int64_t *out_group_ids,
    size_t max_groups, size_t *out_group_count, struct store_labels *labels);

struct store_device_filter {
	const char *group;      /* member of this group name, or NULL */
	const char *hardware;   /* exact, or NULL */
	const char *version;    /* exact installed version, or NULL */
	const char *seen_after; /* last_seen_at >= (RFC 3339), or NULL */
	const char
	    *seen_before;     /* last_seen_at < (never-seen match), or NULL */
	const char *after_id; /* cursor: ids > this, or NULL */
	/* 1: only devices whose reported hardware differs from their
	 * own; -1: only the others; 0: any. */
	int hardware_mismatch;
	int limit; /* 1..1000 */
};

/*
 * Lists devices matching f in ascending id order, at most f->limit, with
 * their groups.  *out is a new array (store_device_list_free), NULL when
 * none match.  Returns 0, OTA_EINVAL (bad limit), OTA_ENOTFOUND (no such
 * group), OTA_ENOMEM or OTA_EDB.
 */
int store_device_list(struct store_conn *c, const struct store_device_filter *f,
    struct store_device **out, size_t *out_n);

/* Replaces a device's labels (JSON object text, at most
 * STORE_LABELS_MAX bytes) as store_device_patch does (the poll facts of
 * the device are forgotten by every node's cache once committed).  0,
 * OTA_EINVAL, OTA_ENOTFOUND or OTA_EDB. */
int store_device_set_labels(
    struct store_conn *c, const char *id, const char *labels_json);

/*
 * Sets a device's hardware (NULL: unchanged; a valid identifier of at
 * most STORE_HARDWARE_MAX) and labels_json (NULL: unchanged; at most
 * STORE_LABELS_MAX); at least one is given.  Joins the caller's
 * transaction when one is open (device_service_patch: what no longer
 * fits a new hardware is canceled in the same one), else runs its own:
 * either both change or neither does.  Once committed, every node's
 * device cache forgets the device's poll facts (store_devices_changed:
 * hardware and labels are facts of a poll).  Returns 0, OTA_EINVAL,
 * OTA_ENOTFOUND or OTA_EDB; on failure the caller rolls back its own.
 */
int store_device_patch(struct store_conn *c, const char *id,
    const char *hardware, const char *labels_json);

/* The number of devices whose reported hardware differs from their own
 * (the partial index, not the table).  Returns 0 or OTA_EDB. */
int store_device_count_hardware_mismatch(struct store_conn *c, uint64_t *out);

/* Deletes a device, its tokens and memberships.  0, OTA_ENOTFOUND, EDB. */
int store_device_delete(struct store_conn *c, const char *id);

/*
 * Rotates a device's token in one transaction: revokes every active token
 * of the device and inserts (token_id, token_hash).  With token_id NULL
 * only revokes.  Returns 0, OTA_ENOTFOUND (no such device) or OTA_EDB.
 */
int store_device_token_rotate(struct store_conn *c, const char *device_id,
    const char *token_id, const unsigned char *token_hash);

/* One poll's report, batched by seen.c; the strings are borrowed. */
struct store_device_seen {
	const char *id;
	/* The hardware the device reported, "" keeps the stored report
	 * (never the provisioned hardware: reports do not change it). */
	const char *hardware;
	const char *version; /* "" keeps the stored one */
	/* Hardware or version differ from the stored ones: the devices row
	 * is written (else only the time, in device_seen). */
	int changes;
	char seen_at[21]; /* "" writes no time */
};

/*
 * Writes reports v[0..n) in one transaction (its own, or the caller's
 * when one is open on c): of those with changes, reported_hardware and
 * version when neither NULL nor ""; last_seen_at (device_seen) when later
 * than the stored one.  Rows in id order are written fastest (one sweep
 * of each B-tree).  Unknown ids (deleted since) change no device; their
 * time is kept apart, shown by no device, and deleted when the id is
 * provisioned again.  Returns 0 or
 * OTA_EDB (nothing written; the caller rolls its own transaction back).
 */
int store_device_record_seen(
    struct store_conn *c, const struct store_device_seen *v, size_t n);

#endif
