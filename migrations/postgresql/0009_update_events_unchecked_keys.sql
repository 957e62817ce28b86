-- PostgreSQL text of migrations/0009_update_events_unchecked_keys.sql.
-- Each event inserted fired two referential-integrity trigger queries
-- (SELECT ... FOR KEY SHARE of its device and of its rollout), a third of
-- the cost of an event: the keys go.  What they guaranteed still holds:
--  * an event names an existing device and rollout: the telemetry writer
--    reads both in the same write transaction (one write lock for every
--    writer of every node), and the silent-revert check writes events only
--    for device_updates rows (whose keys stay);
--  * a deleted device's events go with it: store_device_delete deletes
--    them in its transaction (rollouts are never deleted).
ALTER TABLE update_events DROP CONSTRAINT IF EXISTS update_events_device_id_fkey;
ALTER TABLE update_events DROP CONSTRAINT IF EXISTS update_events_rollout_id_fkey;
