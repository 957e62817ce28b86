-- PostgreSQL text of migrations/0005_add_reported_hardware.sql (same tables, columns and
-- constraints), where SQLite's cannot run: BIGINT for SQLite's 64-bit
-- INTEGER, identity columns for INTEGER PRIMARY KEY, BYTEA for BLOB,
-- DOUBLE PRECISION for REAL, no WITHOUT ROWID.
-- Forward-only: never edit once landed.

ALTER TABLE devices ADD COLUMN reported_hardware TEXT;
CREATE INDEX devices_hardware_mismatch ON devices (id)
	WHERE reported_hardware IS NOT NULL AND reported_hardware <> hardware;

-- 'canceled' among the statuses: PostgreSQL changes the CHECK in place.
ALTER TABLE device_updates DROP CONSTRAINT device_updates_status_check;
ALTER TABLE device_updates ADD CONSTRAINT device_updates_status_check
	CHECK (status IN ('offered', 'started', 'progress', 'completed',
	    'failed', 'reverted', 'canceled'));
