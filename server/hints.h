/*
 * hints: the MQTT update hints.  When a rollout starts or advances, each
 * device that the new stage takes in (its bucket was outside the previous
 * stage and is inside the new one) is told so on
 * {mqtt_prefix}/devices/{id}/update, so that devices may poll rarely and
 * still update promptly.  Callers only queue a job (never blocking on the
 * store or the broker); one thread of this module lists the devices and
 * hands them to mqtt_hint at mqtt_hints_per_sec at most.  A hint is only
 * a nudge: one that is lost (broker down, otad stopping) costs a device
 * its next regular poll, nothing more.
 */
#ifndef OTAD_HINTS_H
#define OTAD_HINTS_H

#include <stdint.h>

struct hints;
struct mqtt;
struct store;

/*
 * Starts the hints thread: it reads the devices a move takes in from st
 * and sends each a hint through mqtt (NULL: nothing is ever sent), at most
 * per_sec (1..100000, the config's mqtt_hints_per_sec) a second.  st and
 * mqtt are borrowed and must outlive the thread (hints_stop first).
 * Returns NULL (logged) when the thread cannot start.
 */
struct hints *hints_start(struct store *st, struct mqtt *mqtt, int per_sec);

/* Drops the jobs not done, waits for the thread (a store read in
 * progress) and frees h.  Call before mqtt_stop.  NULL-safe. */
void hints_stop(struct hints *h);

/*
 * Queues the hints of rollout_id, whose stage went from from_bp to to_bp
 * basis points (from_bp 0 for a start): the devices of its groups whose
 * bucket is in [from_bp, to_bp).  h is a struct hints, passed as a void
 * pointer so that this is the rollout service's moved hook
 * (rollout_service_set_moved_hook) as it is.  Returns at once; a job that
 * does not fit the queue is dropped and logged.  Thread-safe; NULL-safe.
 */
void hints_rollout_moved(
    void *h, int64_t rollout_id, uint16_t from_bp, uint16_t to_bp);

#endif
