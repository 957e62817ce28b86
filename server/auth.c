/*
 * auth: bearer tokens.  A token is split into its public id (looked up in
 * every credential table at once: API, device, gateway) and its secret,
 * whose hash is compared in constant time with the stored one, so neither
 * timing nor the database reveal a usable token.
 */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "errors.h"
#include "log.h"
#include "store_groups.h"

/* Indexed by enum auth_role: the ladder, then the route classes. */
static const char *const role_names[] = {"none", "viewer", "release", "admin",
    "device", "download", "metrics", "ddi"};

int
auth_role_parse(const char *s, enum auth_role *out_role)
{
	for (int r = AUTH_VIEWER; r <= AUTH_ADMIN; r++) {
		if (strcmp(s, role_names[r]) == 0) {
			*out_role = (enum auth_role)r;
			return 0;
		}
	}
	return OTA_EINVAL;
}

const char *
auth_role_name(enum auth_role role)
{
	if ((int)role < 0 ||
	    (size_t)role >= sizeof(role_names) / sizeof(role_names[0]))
		return "none";
	return role_names[role];
}

int
auth_allows(const struct auth_identity *who, enum auth_role need)
{
	if (need == AUTH_NONE)
		return 1;
	if (need == AUTH_DEVICE || need == AUTH_DOWNLOAD || need == AUTH_DDI)
		return who->kind == AUTH_KIND_DEVICE ||
		       who->kind == AUTH_KIND_GATEWAY;
	return who->kind == AUTH_KIND_API && who->role >= need;
}

/* Authorization schemes: Bearer takes every kind of token; hawkBit's
 * TargetToken only a device's, GatewayToken only a gateway's. */
static const struct {
	const char *name; /* with its separating space */
	int any;          /* 1: any kind */
	enum store_credential_kind kind;
} auth_schemes[] = {
    {"Bearer ", 1, STORE_CRED_API},
    {"TargetToken ", 0, STORE_CRED_DEVICE},
    {"GatewayToken ", 0, STORE_CRED_GATEWAY},
};

int
auth_check(struct store_conn *c, struct devcache *devices,
    const char *authorization, struct auth_identity *out)
{
	char id[CRYPTO_TOKEN_ID_LEN];
	unsigned char hash[CRYPTO_HASH_LEN];
	struct store_credential cred;
	enum auth_role role = AUTH_DEVICE;
	const char *p = NULL;
	size_t s, nschemes = sizeof(auth_schemes) / sizeof(auth_schemes[0]);
	int rc;

	memset(&cred, 0, sizeof(cred));
	if (authorization == NULL)
		return OTA_EUNAUTH;
	for (s = 0; s < nschemes; s++) {
		size_t n = strlen(auth_schemes[s].name);

		if (strncasecmp(authorization, auth_schemes[s].name, n) == 0) {
			p = authorization + n;
			break;
		}
	}
	if (p == NULL)
		return OTA_EUNAUTH;
	while (*p == ' ')
		p++;
	if (crypto_token_parse(p, id, hash) != 0)
		return OTA_EUNAUTH;
	rc = devcache_credential_get(devices, c, id, hash, &cred);
	if (rc == OTA_ENOTFOUND)
		rc = OTA_EUNAUTH;
	if (rc != 0)
		goto out;
	if (!crypto_hash_equal(hash, cred.hash) || cred.revoked ||
	    (!auth_schemes[s].any && cred.kind != auth_schemes[s].kind) ||
	    (cred.kind == STORE_CRED_API &&
	        auth_role_parse(cred.role, &role) != 0)) {
		rc = OTA_EUNAUTH;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	switch (cred.kind) {
	case STORE_CRED_API:
		out->kind = AUTH_KIND_API;
		break;
	case STORE_CRED_DEVICE:
		out->kind = AUTH_KIND_DEVICE;
		break;
	case STORE_CRED_GATEWAY:
		out->kind = AUTH_KIND_GATEWAY;
		break;
	}
	out->role = role;
	memcpy(out->token_id, id, sizeof(out->token_id));
	snprintf(out->name, sizeof(out->name), "%s", cred.subject);
	/* A failed last-used update must not refuse a valid caller.  Device
	 * tokens are not touched: a fleet polling would turn every read into
	 * a write; their last seen is recorded in batches (seen.c). */
	if (cred.kind == STORE_CRED_API && store_token_touch(c, id) != 0)
		log_warn("msg=\"cannot record token use\" token_id=%s", id);
	if (cred.kind == STORE_CRED_GATEWAY && store_gateway_touch(c, id) != 0)
		log_warn("msg=\"cannot record gateway token use\" "
		         "token_id=%s",
		    id);
	rc = 0;
out:
	sodium_memzero(&cred, sizeof(cred));
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int
auth_device_access(struct store_conn *c, const struct auth_identity *who,
    const char *device_id)
{
	int rc;

	switch (who->kind) {
	case AUTH_KIND_DEVICE:
		return strcmp(who->name, device_id) == 0 ? 0 : OTA_EFORBID;
	case AUTH_KIND_GATEWAY:
		if (c == NULL)
			return OTA_EINVAL;
		rc = store_gateway_covers(c, who->token_id, device_id);
		if (rc < 0)
			return rc;
		return rc == 1 ? 0 : OTA_EFORBID;
	default:
		return OTA_EFORBID;
	}
}
