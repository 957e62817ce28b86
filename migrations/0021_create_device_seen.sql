-- 0021: a device's last poll in a narrow table of its own.  At 1M devices
-- polling every half minute, one poll in two refreshes last_seen_at (it
-- is written at most once a minute per device): rewriting the whole
-- devices row (id, hardware, version, labels, times: about 40 rows a
-- 4 KiB page) put a page into the WAL for every two or three refreshes,
-- and the commits, checkpoints and fsyncs of those pages were half of the
-- poll-report writer's time.  device_seen holds 100 rows a page; the
-- devices row is written only when a report changes hardware or version.
-- No foreign key (a check per row written): store_device_delete deletes
-- the row with its device, as it does tokens and memberships, and a
-- report flushed just after its device was deleted leaves a row no device
-- shows (readers join from devices), which provisioning the id again
-- deletes, so it never shows its predecessor's last poll.
CREATE TABLE device_seen (
	device_id    TEXT PRIMARY KEY,
	last_seen_at TEXT NOT NULL  -- RFC 3339 UTC, as devices' other times
) WITHOUT ROWID;
INSERT INTO device_seen (device_id, last_seen_at)
	SELECT id, last_seen_at FROM devices WHERE last_seen_at IS NOT NULL;
ALTER TABLE devices DROP COLUMN last_seen_at;
