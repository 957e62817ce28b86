-- 0005: the hardware a device reports, kept apart from the hardware it was
-- provisioned with (set only by provisioning and the admin API), and the
-- update status "canceled" (a DDI action canceled, or a hardware change
-- the rollout's image no longer fits).
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

-- What the device last reported (REST ?hardware=, DDI configData); NULL
-- until it reports one.  It never changes what is offered: a device whose
-- report differs from devices.hardware is a mismatch and gets no offer.
ALTER TABLE devices ADD COLUMN reported_hardware TEXT;
-- The mismatched devices only: the /metrics gauge and the list filter.
CREATE INDEX devices_hardware_mismatch ON devices (id)
	WHERE reported_hardware IS NOT NULL AND reported_hardware <> hardware;

-- device_updates with 'canceled' among the statuses (SQLite cannot change
-- a CHECK constraint: the table is rebuilt, its rows and indexes kept).
CREATE TABLE device_updates_0005 (
	rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	version      TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('offered', 'started',
	                 'progress', 'completed', 'failed', 'reverted',
	                 'canceled')),
	stage_index  INTEGER NOT NULL,  -- the stage in force when first seen
	progress     INTEGER,
	result       INTEGER,
	status_ts_ms INTEGER,           -- device time of the event that set status
	offered_at   TEXT,
	started_at   TEXT,
	finished_at  TEXT,
	updated_at   TEXT NOT NULL,
	PRIMARY KEY (rollout_id, device_id)
) WITHOUT ROWID;
INSERT INTO device_updates_0005 (rollout_id, device_id, version, status,
	stage_index, progress, result, status_ts_ms, offered_at, started_at,
	finished_at, updated_at)
	SELECT rollout_id, device_id, version, status, stage_index, progress,
	result, status_ts_ms, offered_at, started_at, finished_at, updated_at
	FROM device_updates;
DROP TABLE device_updates;
ALTER TABLE device_updates_0005 RENAME TO device_updates;
CREATE INDEX device_updates_device ON device_updates (device_id);
CREATE INDEX device_updates_status ON device_updates (rollout_id, status);
