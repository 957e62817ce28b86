-- 0004: hawkBit DDI compatibility (issue 5): the other digests DDI
-- clients check, device attributes sent as configData, DDI actions (one
-- per rollout and device) and every feedback they sent.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

-- SHA-1 and MD5 of the image bytes (lowercase hex), computed once at
-- upload; NULL only for images stored before this migration, until otad
-- fills them in at its next start (images_backfill_digests).
ALTER TABLE images ADD COLUMN sha1 TEXT CHECK (sha1 IS NULL OR length(sha1) = 40);
ALTER TABLE images ADD COLUMN md5 TEXT CHECK (md5 IS NULL OR length(md5) = 32);

-- The attributes a device sent in its last DDI configData (a JSON object
-- of strings), kept apart from devices so the poll path reads no more.
-- A row means "received": otad stops asking for configData.
CREATE TABLE device_attributes (
	device_id   TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	attributes  TEXT NOT NULL,   -- JSON object of strings
	received_at TEXT NOT NULL,   -- RFC 3339 UTC
	refresh     INTEGER NOT NULL DEFAULT 0 CHECK (refresh IN (0, 1))
	                             -- 1: ask the device again
) WITHOUT ROWID;

-- A DDI action: rollout x device, created the first time a poll offers
-- the rollout to the device.  Its id is what DDI clients see (SWUpdate
-- keeps it in a C int: AUTOINCREMENT never reuses one, and 2^31 actions
-- is beyond any fleet's history).
--   open            offered, no feedback yet
--   running         the device reported it is working on it
--   canceling       the rollout was aborted or the device left it: the
--                   device is told cancelAction until it answers
--   cancel_rejected the device refused the cancel: it goes on
--   closed          finished (result success or failure): never offered
--                   again
--   canceled        the device confirmed (or reported) the cancel
CREATE TABLE ddi_actions (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	rollout_id     INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id      TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	status         TEXT NOT NULL CHECK (status IN ('open', 'running',
	                   'canceling', 'cancel_rejected', 'closed', 'canceled')),
	result         TEXT CHECK (result IN ('success', 'failure')),
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	closed_at      TEXT,           -- when it became closed or canceled
	UNIQUE (rollout_id, device_id)
);
CREATE INDEX ddi_actions_device ON ddi_actions (device_id, status);

-- Every feedback a device sent on an action (deployment or cancel), as
-- parsed: the record of canceled and rejected ones, and of the details
-- (logs) a failure came with.
CREATE TABLE ddi_feedback (
	id          INTEGER PRIMARY KEY,
	action_id   INTEGER NOT NULL REFERENCES ddi_actions (id) ON DELETE CASCADE,
	kind        TEXT NOT NULL CHECK (kind IN ('deployment', 'cancel')),
	execution   TEXT NOT NULL,   -- closed, proceeding, canceled, ...
	finished    TEXT NOT NULL,   -- success, failure, none
	progress_cnt INTEGER,
	progress_of  INTEGER,
	details     TEXT NOT NULL DEFAULT '',  -- lines joined by "\n", bounded
	status_after TEXT NOT NULL,  -- the action's status once applied
	received_at TEXT NOT NULL
);
CREATE INDEX ddi_feedback_action ON ddi_feedback (action_id, id);

-- A device's events in order without sorting them (left open by 0003).
CREATE INDEX update_events_device ON update_events (device_id, id);
