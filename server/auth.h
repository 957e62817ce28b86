/*
 * auth: who is calling.  Checks "Authorization: Bearer <token>" (and
 * hawkBit's "TargetToken"/"GatewayToken" schemes) against the stored
 * token hashes (constant-time) and answers whether the caller's role
 * allows an action.  Never logs a token.
 */
#ifndef OTAD_AUTH_H
#define OTAD_AUTH_H

#include "devcache.h"
#include "store.h"
#include "store_devices.h"
#include "store_tokens.h"

/* Roles, ordered: each includes the rights of those below it. */
enum auth_role {
	AUTH_NONE = 0,    /* no token needed (health checks) */
	AUTH_VIEWER = 1,  /* read-only: dashboards */
	AUTH_RELEASE = 2, /* upload images, manage rollouts */
	AUTH_ADMIN = 3,   /* everything */
	/* Route requirements outside the ladder above: */
	AUTH_DEVICE = 4,   /* a device's own token or a gateway token */
	AUTH_DOWNLOAD = 5, /* as AUTH_DEVICE; without an Authorization header
	                    * the handler checks a signed URL token instead */
	AUTH_METRICS = 6,  /* GET /metrics: AUTH_VIEWER, or AUTH_NONE when
	                    * the config says metrics_auth = none */
	AUTH_DDI = 7,      /* hawkBit DDI: as AUTH_DEVICE, but every refusal
	                    * is a 401 (http_server.c), as hawkBit answers */
};

/* What kind of credential authenticated a request. */
enum auth_kind {
	AUTH_KIND_NONE,    /* no credentials (AUTH_NONE, AUTH_DOWNLOAD) */
	AUTH_KIND_API,     /* a person or tool: role viewer..admin */
	AUTH_KIND_DEVICE,  /* a device; name is its device id */
	AUTH_KIND_GATEWAY, /* a companion app; name is the gateway's name */
};

struct auth_identity {
	enum auth_kind kind;
	enum auth_role role; /* AUTH_DEVICE for devices and gateways */
	char token_id[CRYPTO_TOKEN_ID_LEN];
	char name[STORE_DEVICE_ID_MAX + 1]; /* token name or device id */
};

/* Parses "admin", "release", "viewer"; returns 0 or OTA_EINVAL. */
int auth_role_parse(const char *s, enum auth_role *out_role);

/* The name of a role or route class ("admin", ..., "device", "download",
 * "metrics", "ddi"); "none" for AUTH_NONE and any unknown value. */
const char *auth_role_name(enum auth_role role);

/*
 * Authenticates the value of an Authorization header (NULL when absent):
 * "Bearer <token>" for any kind of token, "TargetToken <token>" only for
 * a device's, "GatewayToken <token>" only for a gateway's (hawkBit DDI;
 * schemes are case-insensitive).  Returns 0 and fills *out, or
 * OTA_EUNAUTH (absent, malformed, unknown, revoked, wrong secret or
 * wrong kind for the scheme) or OTA_EDB.  Records the use (last_used_at).
 * Device tokens are looked up through devices (devcache; NULL: the
 * database), every other kind in the database.
 */
int auth_check(struct store_conn *c, struct devcache *devices,
    const char *authorization, struct auth_identity *out);

/*
 * 1 when who may call a route that needs `need`: API tokens by the role
 * ladder (viewer < release < admin) and never AUTH_DEVICE/AUTH_DOWNLOAD/
 * AUTH_DDI routes; device and gateway tokens only those routes (which
 * device they may act for is auth_device_access's job).
 */
int auth_allows(const struct auth_identity *who, enum auth_role need);

/*
 * Whether who may act for device_id: a device token only for its own id,
 * a gateway token for members of the groups it is scoped to.  Returns 0,
 * OTA_EFORBID (another device, out of scope, or an unknown device: the
 * answer does not reveal which) or OTA_EDB.  Only a gateway's scope is
 * read through c: c may be NULL for any other identity.
 */
int auth_device_access(struct store_conn *c, const struct auth_identity *who,
    const char *device_id);

#endif
