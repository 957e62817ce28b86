-- PostgreSQL text of migrations/0011_device_rows_unchecked_keys.sql.
-- Each token and each membership inserted by provisioning fired a
-- referential-integrity trigger query (SELECT ... FOR KEY SHARE of its
-- device), about a quarter of provisioning's cost at 1M devices: the keys
-- to devices go.  What they guaranteed still holds:
--  * a token or a membership names an existing device: provisioning
--    inserts them with their device in one transaction, and the other
--    writers (token rotation, adding members to a group) read the device
--    in the same write transaction (one write lock for every writer of
--    every node);
--  * a deleted device's tokens and memberships go with it:
--    store_device_delete deletes them in its transaction.
-- group_members.group_id keeps its key (a group's delete cascades).
ALTER TABLE device_tokens DROP CONSTRAINT IF EXISTS device_tokens_device_id_fkey;
ALTER TABLE group_members DROP CONSTRAINT IF EXISTS group_members_device_id_fkey;
