-- 0003: update telemetry: every event as received, and each device's
-- status per rollout (what rollout health is computed from).
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

CREATE TABLE update_events (
	id          INTEGER PRIMARY KEY,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	event_id    TEXT NOT NULL,   -- client-chosen, unique per device
	rollout_id  INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	version     TEXT NOT NULL,   -- the version being installed
	state       TEXT NOT NULL CHECK (state IN
	                ('started', 'progress', 'completed', 'failed', 'reverted')),
	progress    INTEGER CHECK (progress BETWEEN 0 AND 100),
	result      INTEGER,         -- LwM2M /5 result code, for failed
	detail      TEXT NOT NULL DEFAULT '',
	device_ts   TEXT NOT NULL,   -- RFC 3339 as the device sent it
	device_ts_ms INTEGER NOT NULL, -- the same, as unix milliseconds
	received_at TEXT NOT NULL,   -- otad's receive time
	transport   TEXT NOT NULL CHECK (transport IN ('rest', 'mqtt', 'ddi', 'otad')),
	UNIQUE (device_id, event_id)
);
CREATE INDEX update_events_rollout ON update_events (rollout_id, id);

-- One row per (rollout, device) that was offered the rollout's image or
-- reported on it.  status only moves forward (update_state.h).
CREATE TABLE device_updates (
	rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	version      TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('offered', 'started',
	                 'progress', 'completed', 'failed', 'reverted')),
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
CREATE INDEX device_updates_device ON device_updates (device_id);
CREATE INDEX device_updates_status ON device_updates (rollout_id, status);
