/*
 * store_cluster: rows of cluster_keys, the public keys that every otad
 * node sharing the database must hold (the first node records them).  It
 * only records and reads: whether a node may start is its caller's rule.
 */
#ifndef OTAD_STORE_CLUSTER_H
#define OTAD_STORE_CLUSTER_H

#include "store.h"

/* Room for a public key as cluster_keys holds it (hex), NUL included. */
#define STORE_CLUSTER_KEY_HEX_MAX 129

/*
 * Records public_key_hex (lowercase hex, at most
 * STORE_CLUSTER_KEY_HEX_MAX - 1 characters) under name when no key has
 * that name yet, and returns in out_hex the key recorded under name: this
 * one when it was first, else the one recorded before.  One write
 * transaction (joins the caller's), so of two nodes starting at once one
 * records and the other reads it.  Returns 0, OTA_EINVAL (a key too long
 * or empty) or OTA_EDB.
 */
int store_cluster_key_claim(struct store_conn *c, const char *name,
    const char *public_key_hex, char out_hex[STORE_CLUSTER_KEY_HEX_MAX]);

#endif
