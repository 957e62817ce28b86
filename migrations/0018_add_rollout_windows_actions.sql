-- 0018: when and how hard a rollout installs (docs/rollouts.md
-- "Maintenance windows" and "Action types").  maintenance_windows is
-- mwindow_parse's canonical text ("mon-fri 22:00 4h Europe/Berlin"), ''
-- for always; on a group, every rollout honours it for the group's
-- members.  outside_window says what a device is told outside them;
-- action_type how hard it installs, and forced_at, for a time-forced
-- rollout only, when it becomes forced (the store's RFC 3339 form).
-- Existing rollouts and groups have no windows and install forced.
-- A device of a soft rollout may report 'deferred' (docs/telemetry.md):
-- an event state and a status, neither success nor failure.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN maintenance_windows TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN outside_window TEXT NOT NULL DEFAULT 'notify'
	CHECK (outside_window IN ('notify', 'silent'));
ALTER TABLE rollouts ADD COLUMN action_type TEXT NOT NULL DEFAULT 'forced'
	CHECK (action_type IN ('forced', 'soft', 'time-forced',
	    'download-only'));
ALTER TABLE rollouts ADD COLUMN forced_at TEXT;
ALTER TABLE device_groups ADD COLUMN maintenance_windows TEXT NOT NULL
	DEFAULT '';

-- 'deferred' among update_events' states and device_updates' statuses
-- (SQLite cannot change a CHECK constraint: both tables are rebuilt, their
-- rows, ids and indexes kept; on a large update_events this takes a while,
-- once).
CREATE TABLE update_events_0018 (
	id          INTEGER PRIMARY KEY,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	event_id    TEXT NOT NULL,   -- client-chosen, unique per device
	rollout_id  INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	version     TEXT NOT NULL,   -- the version being installed
	state       TEXT NOT NULL CHECK (state IN
	                ('started', 'progress', 'completed', 'failed', 'reverted',
	                 'deferred')),
	progress    INTEGER CHECK (progress BETWEEN 0 AND 100),
	result      INTEGER,         -- LwM2M /5 result code, for failed
	detail      TEXT NOT NULL DEFAULT '',
	device_ts   TEXT NOT NULL,   -- RFC 3339 as the device sent it
	device_ts_ms INTEGER NOT NULL, -- the same, as unix milliseconds
	received_at TEXT NOT NULL,   -- otad's receive time
	transport   TEXT NOT NULL CHECK (transport IN ('rest', 'mqtt', 'ddi', 'otad')),
	component   TEXT,            -- 0017: the part of a bundle it reports on
	UNIQUE (device_id, event_id)
);
INSERT INTO update_events_0018 (id, device_id, event_id, rollout_id, version,
	state, progress, result, detail, device_ts, device_ts_ms, received_at,
	transport, component)
	SELECT id, device_id, event_id, rollout_id, version, state, progress,
	result, detail, device_ts, device_ts_ms, received_at, transport,
	component
	FROM update_events;
DROP TABLE update_events;
ALTER TABLE update_events_0018 RENAME TO update_events;
CREATE INDEX update_events_rollout ON update_events (rollout_id, id);
CREATE INDEX update_events_device ON update_events (device_id, id);

CREATE TABLE device_updates_0018 (
	rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	version      TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('offered', 'started',
	                 'progress', 'completed', 'failed', 'reverted',
	                 'canceled', 'deferred')),
	stage_index  INTEGER NOT NULL,  -- the stage in force when first seen
	progress     INTEGER,
	result       INTEGER,
	status_ts_ms INTEGER,           -- device time of the event that set status
	offered_at   TEXT,
	started_at   TEXT,
	finished_at  TEXT,
	updated_at   TEXT NOT NULL,
	component    TEXT,              -- 0017: the part that decided it
	PRIMARY KEY (rollout_id, device_id)
) WITHOUT ROWID;
INSERT INTO device_updates_0018 (rollout_id, device_id, version, status,
	stage_index, progress, result, status_ts_ms, offered_at, started_at,
	finished_at, updated_at, component)
	SELECT rollout_id, device_id, version, status, stage_index, progress,
	result, status_ts_ms, offered_at, started_at, finished_at, updated_at,
	component
	FROM device_updates;
DROP TABLE device_updates;
ALTER TABLE device_updates_0018 RENAME TO device_updates;
CREATE INDEX device_updates_device ON device_updates (device_id);
CREATE INDEX device_updates_status ON device_updates (rollout_id, status);
