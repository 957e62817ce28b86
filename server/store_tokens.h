/*
 * store_tokens: API tokens for people and tools (admin, release, viewer).
 * Only the hash of a token's secret is stored; see crypto.h for the shape.
 */
#ifndef OTAD_STORE_TOKENS_H
#define OTAD_STORE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "store.h"

#define STORE_TOKEN_NAME_MAX 64 /* [A-Za-z0-9._@-], 1..64 */

struct store_token {
	char id[CRYPTO_TOKEN_ID_LEN];
	char name[STORE_TOKEN_NAME_MAX + 1];
	char role[16]; /* "admin", "release", "viewer" */
	unsigned char hash[CRYPTO_HASH_LEN];
	char created_at[21];
	char last_used_at[21]; /* "" when never used */
	char revoked_at[21];   /* "" when active */
};

/*
 * Inserts a new token.  Returns 0, OTA_EINVAL (bad name or role),
 * OTA_ECONFLICT (an active token already has this name) or OTA_EDB.
 */
int store_token_insert(struct store_conn *c, const char *id,
    const unsigned char hash[CRYPTO_HASH_LEN], const char *name,
    const char *role);

/* Loads the token with this id (revoked ones too: check revoked_at).
 * Returns 0, OTA_ENOTFOUND or OTA_EDB. */
int store_token_get(
    struct store_conn *c, const char *id, struct store_token *out);

/* Records a use now, writing at most once a minute per token (so reads do
 * not turn into writes on every request).  Returns 0 or OTA_EDB. */
int store_token_touch(struct store_conn *c, const char *id);

/* All tokens, oldest first; *out is a new array (free()).  0 or OTA_EDB. */
int store_token_list(
    struct store_conn *c, struct store_token **out, size_t *out_n);

/* Revokes the active token whose id or name is id_or_name.  Returns 0,
 * OTA_ENOTFOUND or OTA_EDB. */
int store_token_revoke(struct store_conn *c, const char *id_or_name);

/* Which table a presented token id was found in. */
enum store_credential_kind {
	STORE_CRED_API,     /* api_tokens: admin, release, viewer */
	STORE_CRED_DEVICE,  /* device_tokens */
	STORE_CRED_GATEWAY, /* gateway_tokens */
};

/*
 * Any credential by token id, in one statement over api_tokens,
 * device_tokens and gateway_tokens (ids are random, so at most one
 * matches).  subject is the token name (API, gateway) or the device id;
 * role is the API role, "device" or "gateway".  Revoked ones are returned
 * too: check revoked.  Returns 0, OTA_ENOTFOUND or OTA_EDB.
 */
struct store_credential {
	enum store_credential_kind kind;
	char subject[128 + 1];
	char role[16];
	unsigned char hash[CRYPTO_HASH_LEN];
	int revoked;
};
int store_credential_get(
    struct store_conn *c, const char *id, struct store_credential *out);

/* Records a gateway token's use, at most once a minute (as
 * store_token_touch).  Returns 0 or OTA_EDB. */
int store_gateway_touch(struct store_conn *c, const char *id);

#endif
