-- 0020: consent and DDI retries (docs/rollouts.md "Consent", "Retries").
--  * require_consent: the rollout asks each device (or its user) before
--    it installs; consent_retry: seconds after a decline before the device
--    is asked again (0: never again in this rollout).
--  * update_events' states and device_updates' statuses gain 'accepted'
--    and 'declined' (the device's answer); an accepted update may time
--    out, as an offered one (device_updates_pending).
--  * ddi_actions: a device may have several actions of one rollout, one
--    per attempt (attempt: the retries offered before it, 0 the first);
--    ddi_feedback records the confirmation feedback (kind 'confirmation').
-- SQLite cannot change a CHECK or UNIQUE constraint: the four tables are
-- rebuilt, their rows, ids and indexes kept.  ddi_feedback is copied
-- before ddi_actions is dropped (its foreign key cascades) and points at
-- the new table, renamed with it; the AUTOINCREMENT sequence of
-- ddi_actions is carried over (an id is never reused).
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN require_consent INTEGER NOT NULL DEFAULT 0
	CHECK (require_consent IN (0, 1));
ALTER TABLE rollouts ADD COLUMN consent_retry INTEGER NOT NULL DEFAULT 0;

CREATE TABLE update_events_0020 (
	id          INTEGER PRIMARY KEY,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	event_id    TEXT NOT NULL,   -- client-chosen, unique per device
	rollout_id  INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	version     TEXT NOT NULL,   -- the version being installed
	state       TEXT NOT NULL CHECK (state IN
	                ('started', 'progress', 'completed', 'failed', 'reverted',
	                 'deferred', 'accepted', 'declined')),
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
INSERT INTO update_events_0020 (id, device_id, event_id, rollout_id, version,
	state, progress, result, detail, device_ts, device_ts_ms, received_at,
	transport, component)
	SELECT id, device_id, event_id, rollout_id, version, state, progress,
	result, detail, device_ts, device_ts_ms, received_at, transport,
	component
	FROM update_events;
DROP TABLE update_events;
ALTER TABLE update_events_0020 RENAME TO update_events;
CREATE INDEX update_events_rollout ON update_events (rollout_id, id);
CREATE INDEX update_events_device ON update_events (device_id, id);

CREATE TABLE device_updates_0020 (
	rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	version      TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('offered', 'started',
	                 'progress', 'completed', 'failed', 'reverted',
	                 'canceled', 'deferred', 'timed_out', 'accepted',
	                 'declined')),
	stage_index  INTEGER NOT NULL,  -- the stage in force when first seen
	progress     INTEGER,
	result       INTEGER,
	status_ts_ms INTEGER,           -- device time of the event that set status
	offered_at   TEXT,
	started_at   TEXT,
	finished_at  TEXT,
	updated_at   TEXT NOT NULL,
	retries      INTEGER NOT NULL DEFAULT 0, -- retries offered so far
	attempt_at   INTEGER,           -- unix s the current attempt began
	component    TEXT,              -- 0017: the part that decided it
	PRIMARY KEY (rollout_id, device_id)
) WITHOUT ROWID;
INSERT INTO device_updates_0020 (rollout_id, device_id, version, status,
	stage_index, progress, result, status_ts_ms, offered_at, started_at,
	finished_at, updated_at, retries, attempt_at, component)
	SELECT rollout_id, device_id, version, status, stage_index, progress,
	result, status_ts_ms, offered_at, started_at, finished_at, updated_at,
	retries, attempt_at, component
	FROM device_updates;
DROP TABLE device_updates;
ALTER TABLE device_updates_0020 RENAME TO device_updates;
CREATE INDEX device_updates_device ON device_updates (device_id);
CREATE INDEX device_updates_status ON device_updates (rollout_id, status,
	result);
CREATE INDEX device_updates_pending ON device_updates (rollout_id, attempt_at)
	WHERE status IN ('offered', 'started', 'progress', 'accepted');

CREATE TABLE ddi_actions_0020 (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	rollout_id     INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id      TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	status         TEXT NOT NULL CHECK (status IN ('open', 'running',
	                   'canceling', 'cancel_rejected', 'closed', 'canceled')),
	result         TEXT CHECK (result IN ('success', 'failure')),
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	closed_at      TEXT,           -- when it became closed or canceled
	parts          TEXT,           -- 0017: the parts a bundle's deploys
	attempt        INTEGER NOT NULL DEFAULT 0, -- retries before it
	UNIQUE (rollout_id, device_id, attempt)
);
INSERT INTO ddi_actions_0020 (id, rollout_id, device_id, status, result,
	created_at, updated_at, closed_at, parts, attempt)
	SELECT id, rollout_id, device_id, status, result, created_at,
	updated_at, closed_at, parts, 0 FROM ddi_actions;
DELETE FROM sqlite_sequence WHERE name = 'ddi_actions_0020';
INSERT INTO sqlite_sequence (name, seq)
	SELECT 'ddi_actions_0020', seq FROM sqlite_sequence
	WHERE name = 'ddi_actions';
CREATE TABLE ddi_feedback_0020 (
	id          INTEGER PRIMARY KEY,
	action_id   INTEGER NOT NULL REFERENCES ddi_actions_0020 (id)
	                ON DELETE CASCADE,
	kind        TEXT NOT NULL CHECK (kind IN ('deployment', 'cancel',
	                'confirmation')),
	execution   TEXT NOT NULL,   -- closed, proceeding, canceled, ...
	finished    TEXT NOT NULL,   -- success, failure, none
	progress_cnt INTEGER,
	progress_of  INTEGER,
	details     TEXT NOT NULL DEFAULT '',  -- lines joined by "\n", bounded
	status_after TEXT NOT NULL,  -- the action's status once applied
	received_at TEXT NOT NULL
);
INSERT INTO ddi_feedback_0020 (id, action_id, kind, execution, finished,
	progress_cnt, progress_of, details, status_after, received_at)
	SELECT id, action_id, kind, execution, finished, progress_cnt,
	progress_of, details, status_after, received_at FROM ddi_feedback;
DROP TABLE ddi_feedback;
DROP TABLE ddi_actions;
ALTER TABLE ddi_actions_0020 RENAME TO ddi_actions;
ALTER TABLE ddi_feedback_0020 RENAME TO ddi_feedback;
CREATE INDEX ddi_actions_device ON ddi_actions (device_id, status);
CREATE INDEX ddi_feedback_action ON ddi_feedback (action_id, id);
