/*
 * cluster: what makes several otad nodes on one database one server.
 * The listener thread turns the other nodes' rollout changes (heard
 * through store_notify) into moves of this node's rollouts generation,
 * so its offer cache reloads within a second; and the key check keeps a
 * node whose manifest-signing key differs from the others' from serving.
 */
#ifndef OTAD_CLUSTER_H
#define OTAD_CLUSTER_H

#include <stdatomic.h>
#include <sodium.h>

#include "store.h"

/* How long a reconnect waits at most after the listening connection is
 * lost (it starts at 100 ms and doubles). */
#define CLUSTER_BACKOFF_MAX_MS 5000

struct cluster;
struct devcache;

/*
 * Prepares the listener when st's database may be shared by other nodes
 * (PostgreSQL): copies target and opt (as store_open_with took them; the
 * password into locked memory, wiped at cluster_stop), so the listener
 * can open, and reopen, a connection of its own.  Returns 0 with *out the
 * listener (not running yet: cluster_start), 0 with *out NULL when the
 * database is this process's alone (SQLite: nothing to hear), or
 * OTA_ENOMEM (logged).
 */
int cluster_new(struct store *st, const char *target,
    const struct store_options *opt, struct cluster **out);

/*
 * Starts c's thread: it bumps *gen (borrowed: must outlive the listener)
 * on every rollouts notification, and once each time it (re)starts
 * listening, since notifications may have been missed while it was not.
 * devices (borrowed, may be NULL; create it not serving) is made to serve
 * each time the thread starts listening, to stop serving when the
 * connection is lost, and forgets the devices each devices notification
 * names.  A lost
 * connection is reopened with a bounded backoff (CLUSTER_BACKOFF_MAX_MS);
 * a database that does not answer yet is not an error (the thread keeps
 * trying).  Returns 0 (also for c NULL: nothing to start) or OTA_EIO
 * (logged).  Call once, from the main thread after signals are blocked.
 */
int cluster_start(
    struct cluster *c, atomic_uint_fast64_t *gen, struct devcache *devices);

/* Stops the thread if it runs (within half a second) and frees c.
 * NULL-safe. */
void cluster_stop(struct cluster *c);

/*
 * Checks that pk is the manifest-signing key of every node on st's
 * database: the first node records it (cluster_keys); a later one with
 * another key gets OTA_ECONFLICT, logged with both fingerprints.  The
 * URL-token key is derived from the signing key, so it agrees too.
 * Returns 0, OTA_ECONFLICT or OTA_EDB.
 */
int cluster_key_check(
    struct store *st, const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);

#endif
