/*
 * auth: who is calling.  Checks "Authorization: Bearer <token>" against
 * the stored token hashes (constant-time) and answers whether the caller's
 * role allows an action.  Never logs a token.
 */
#ifndef OTAD_AUTH_H
#define OTAD_AUTH_H

#include "store.h"
#include "store_tokens.h"

/* Roles, ordered: each includes the rights of those below it. */
enum auth_role {
	AUTH_NONE = 0,    /* no token needed (health checks) */
	AUTH_VIEWER = 1,  /* read-only: dashboards */
	AUTH_RELEASE = 2, /* upload images, manage rollouts */
	AUTH_ADMIN = 3,   /* everything */
};

struct auth_identity {
	enum auth_role role;
	char token_id[CRYPTO_TOKEN_ID_LEN];
	char name[STORE_TOKEN_NAME_MAX + 1];
};

/* Parses "admin", "release", "viewer"; returns 0 or OTA_EINVAL. */
int auth_role_parse(const char *s, enum auth_role *out_role);

/* The name of a role ("admin"...). */
const char *auth_role_name(enum auth_role role);

/*
 * Authenticates the value of an Authorization header (NULL when absent).
 * Returns 0 and fills *out, or OTA_EUNAUTH (absent, malformed, unknown,
 * revoked or wrong secret) or OTA_EDB.  Records the use (last_used_at).
 */
int auth_check(
    struct store_conn *c, const char *authorization, struct auth_identity *out);

/* 1 when an identity with role `have` may do what needs role `need`. */
int auth_allows(enum auth_role have, enum auth_role need);

#endif
