/*
 * auth: bearer tokens.  A token is split into its public id (looked up)
 * and its secret, whose hash is compared in constant time with the stored
 * one, so neither timing nor the database reveal a usable token.
 */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "errors.h"
#include "log.h"

static const char *const role_names[] = {
    "none", "viewer", "release", "admin", "device", "download"};

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
	if ((int)role < 0 || role > AUTH_DOWNLOAD)
		return "none";
	return role_names[role];
}

int
auth_allows(const struct auth_identity *who, enum auth_role need)
{
	if (need == AUTH_NONE)
		return 1;
	if (need == AUTH_DEVICE || need == AUTH_DOWNLOAD)
		return who->kind == AUTH_KIND_DEVICE ||
		       who->kind == AUTH_KIND_GATEWAY;
	return who->kind == AUTH_KIND_API && who->role >= need;
}

int
auth_check(
    struct store_conn *c, const char *authorization, struct auth_identity *out)
{
	char id[CRYPTO_TOKEN_ID_LEN];
	unsigned char hash[CRYPTO_HASH_LEN];
	struct store_token tok;
	enum auth_role role;
	const char *p;
	int rc;

	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7))
		return OTA_EUNAUTH;
	p = authorization + 7;
	while (*p == ' ')
		p++;
	if (crypto_token_parse(p, id, hash) != 0)
		return OTA_EUNAUTH;
	rc = store_token_get(c, id, &tok);
	if (rc == OTA_ENOTFOUND)
		rc = OTA_EUNAUTH;
	if (rc != 0)
		goto out;
	if (!crypto_hash_equal(hash, tok.hash) || tok.revoked_at[0] != '\0' ||
	    auth_role_parse(tok.role, &role) != 0) {
		rc = OTA_EUNAUTH;
		goto out;
	}
	out->kind = AUTH_KIND_API;
	out->role = role;
	memcpy(out->token_id, tok.id, sizeof(out->token_id));
	snprintf(out->name, sizeof(out->name), "%s", tok.name);
	/* A failed last-used update must not refuse a valid caller. */
	if (store_token_touch(c, id) != 0)
		log_warn("msg=\"cannot record token use\" token_id=%s", id);
	rc = 0;
out:
	sodium_memzero(&tok, sizeof(tok));
	sodium_memzero(hash, sizeof(hash));
	return rc;
}
