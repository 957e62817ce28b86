/*
 * store_groups: device groups, their members, and gateway tokens (the
 * companion-app credentials scoped to groups).  Groups are named by the
 * API; their integer ids stay inside the store and the offer cache.
 */
#ifndef OTAD_STORE_GROUPS_H
#define OTAD_STORE_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "mwindow.h"
#include "store.h"
#include "store_devices.h"

#define STORE_GROUP_NAME_MAX 64     /* [A-Za-z0-9._-], 1..64 */
#define STORE_GROUP_DESC_MAX 256    /* free text */
#define STORE_GATEWAY_GROUPS_MAX 64 /* groups one gateway token may cover */

/* 1 when name is 1..STORE_GROUP_NAME_MAX of [A-Za-z0-9._-]. */
int store_group_name_valid(const char *name);

struct store_group {
	int64_t id;
	char name[STORE_GROUP_NAME_MAX + 1];
	char description[STORE_GROUP_DESC_MAX + 1];
	char created_at[21];
	int64_t member_count;
	/* mwindow_parse's canonical text, "" none: every rollout honours
	 * them for the group's members (docs/rollouts.md) */
	char windows[MWINDOW_TEXT_MAX];
};

/*
 * Sets a group's maintenance windows (mwindow_parse's canonical text,
 * checked by the caller; "" removes them) and queues the rollouts
 * notification (the offer snapshots hold them), in one transaction.
 * Returns 0, OTA_ENOTFOUND, OTA_EINVAL (NULL or too long) or OTA_EDB.
 */
int store_group_set_windows(
    struct store_conn *c, const char *name, const char *windows);

/* A group that has windows, for the offer snapshot. */
struct store_group_windows {
	int64_t id;
	char windows[MWINDOW_TEXT_MAX];
};

/* Every group with windows, by id; *out a new array (free()).  0 or
 * OTA_EDB. */
int store_group_windows(
    struct store_conn *c, struct store_group_windows **out, size_t *out_n);

/* Creates a group.  0 (and *out_id), OTA_ECONFLICT (name taken), EDB. */
int store_group_create(struct store_conn *c, const char *name,
    const char *description, int64_t *out_id);

/* Loads one group with its member count.  0, OTA_ENOTFOUND, OTA_EDB. */
int store_group_get(
    struct store_conn *c, const char *name, struct store_group *out);

/* All groups by name; *out is a new array (free()).  0 or OTA_EDB. */
int store_group_list(
    struct store_conn *c, struct store_group **out, size_t *out_n);

/*
 * Deletes a group (memberships and gateway scopes go with it).  Refused
 * with OTA_ECONFLICT while a rollout that is not completed or aborted
 * targets it.  Returns 0, OTA_ENOTFOUND, OTA_ECONFLICT or OTA_EDB.
 */
int store_group_delete(struct store_conn *c, const char *name);

/*
 * Adds the devices add[0..nadd) to and removes remove[0..nremove) from a
 * group, in one transaction (each count 0..STORE_DEVICE_BATCH_MAX).
 * Adding a member twice or removing a non-member is not an error.
 * Returns 0 with *out_added / *out_removed (rows actually changed);
 * OTA_ENOTFOUND when the group or a device to add does not exist (the
 * first unknown name is copied to missing, which may be NULL; nothing is
 * changed); OTA_EDB.
 */
int store_group_members_change(struct store_conn *c, const char *group,
    const char *const *add, size_t nadd, const char *const *remove,
    size_t nremove, char missing[STORE_DEVICE_ID_MAX + 1], int64_t *out_added,
    int64_t *out_removed);

/* A gateway token, as listed (never its secret). */
struct store_gateway {
	char id[CRYPTO_TOKEN_ID_LEN];
	char name[STORE_GROUP_NAME_MAX + 1]; /* same alphabet as groups */
	char created_at[21];
	char last_used_at[21]; /* "" when never used */
	char revoked_at[21];   /* "" when active */
	char **groups;         /* group names, sorted */
	size_t group_count;
};

/* Frees an array from store_gateway_list.  NULL-safe. */
void store_gateway_list_free(struct store_gateway *v, size_t n);

/*
 * Creates a gateway token scoped to groups[0..ngroups) (1..
 * STORE_GATEWAY_GROUPS_MAX existing names).  Returns 0; OTA_ECONFLICT when
 * an active gateway token has this name; OTA_ENOTFOUND for an unknown
 * group (its name copied to missing, may be NULL); OTA_EDB.
 */
int store_gateway_create(struct store_conn *c, const char *token_id,
    const unsigned char hash[CRYPTO_HASH_LEN], const char *name,
    const char *const *groups, size_t ngroups,
    char missing[STORE_GROUP_NAME_MAX + 1]);

/* Every gateway token, oldest first, with its groups.  0 or OTA_EDB. */
int store_gateway_list(
    struct store_conn *c, struct store_gateway **out, size_t *out_n);

enum store_gateway_key { STORE_GATEWAY_BY_ID, STORE_GATEWAY_BY_NAME };

/* Revokes the active gateway token whose id (or name, as by says) is key;
 * only that column is looked at.  Returns 0, OTA_ENOTFOUND or OTA_EDB. */
int store_gateway_revoke(
    struct store_conn *c, enum store_gateway_key by, const char *key);

/*
 * 1 when device_id is a member of a group the gateway token token_id is
 * scoped to, 0 when not (or no such device), OTA_EDB on error.
 */
int store_gateway_covers(
    struct store_conn *c, const char *token_id, const char *device_id);

#endif
