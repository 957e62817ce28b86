-- devices_last_seen indexed last_seen_at for no query of otad (the device
-- list walks the primary key, the hardware index or a group's members and
-- filters last_seen_at on the way), yet every poll report moved an entry
-- of it: a delete at the old time, somewhere at random, and an insert.
-- Without it a batch of reports writes a third of the pages (measured at
-- 1M devices on SQLite, about 3x the reports per second), and on
-- PostgreSQL an update of last_seen_at alone can be HOT (no new index
-- entries at all).
DROP INDEX IF EXISTS devices_last_seen;
