-- device_tokens.device_id and group_members.device_id stay foreign keys on
-- SQLite, where checking one is a B-tree probe.  PostgreSQL drops them (see
-- postgresql/0011_device_rows_unchecked_keys.sql): there provisioning fired
-- a trigger query per token and per membership inserted.  Nothing to do
-- here.
SELECT 1;
