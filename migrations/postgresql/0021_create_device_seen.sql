-- PostgreSQL text of migrations/0021_create_device_seen.sql.  A fill
-- factor of 50 leaves room on each page for the new version of a row, so
-- that a refresh is a HOT update (no index entry written); autovacuum
-- prunes the old versions.
CREATE TABLE device_seen (
	device_id    TEXT PRIMARY KEY,
	last_seen_at TEXT NOT NULL
) WITH (fillfactor = 50);
INSERT INTO device_seen (device_id, last_seen_at)
	SELECT id, last_seen_at FROM devices WHERE last_seen_at IS NOT NULL;
ALTER TABLE devices DROP COLUMN last_seen_at;
