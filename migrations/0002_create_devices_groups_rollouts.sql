-- 0002: devices and their tokens, groups, gateway tokens, staged rollouts.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

CREATE TABLE devices (
	id           TEXT PRIMARY KEY,  -- 1..128 of [A-Za-z0-9._:-]
	hardware     TEXT NOT NULL,     -- as provisioned, then as last reported
	version      TEXT,              -- installed version as last reported
	labels       TEXT NOT NULL DEFAULT '{}',  -- JSON object of strings
	created_at   TEXT NOT NULL,
	last_seen_at TEXT
) WITHOUT ROWID;
CREATE INDEX devices_hardware ON devices (hardware, id);
CREATE INDEX devices_last_seen ON devices (last_seen_at);

-- A device's credentials: rotation inserts a new row and revokes the old.
CREATE TABLE device_tokens (
	id          TEXT PRIMARY KEY,   -- the public part of the token
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
	created_at  TEXT NOT NULL,
	revoked_at  TEXT
) WITHOUT ROWID;
CREATE INDEX device_tokens_device ON device_tokens (device_id);

CREATE TABLE device_groups (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,  -- 1..64 of [A-Za-z0-9._-]
	description TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL
);

CREATE TABLE group_members (
	group_id  INTEGER NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
	device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;
CREATE INDEX group_members_device ON group_members (device_id, group_id);

-- Companion-app tokens, each scoped to groups: may act for their devices.
CREATE TABLE gateway_tokens (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	secret_hash  BLOB NOT NULL CHECK (length(secret_hash) = 32),
	created_at   TEXT NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
) WITHOUT ROWID;
CREATE UNIQUE INDEX gateway_tokens_active_name ON gateway_tokens (name)
	WHERE revoked_at IS NULL;

CREATE TABLE gateway_token_groups (
	token_id TEXT NOT NULL REFERENCES gateway_tokens (id) ON DELETE CASCADE,
	group_id INTEGER NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
	PRIMARY KEY (token_id, group_id)
) WITHOUT ROWID;
CREATE INDEX gateway_token_groups_group ON gateway_token_groups (group_id);

CREATE TABLE rollouts (
	id                INTEGER PRIMARY KEY,
	name              TEXT NOT NULL DEFAULT '',
	-- NULL once the image is deleted (allowed only after the rollout ended)
	image_id          INTEGER REFERENCES images (id) ON DELETE SET NULL,
	image_name        TEXT NOT NULL,
	image_version     TEXT NOT NULL,
	state             TEXT NOT NULL CHECK (state IN
	                      ('draft', 'running', 'paused', 'completed', 'aborted')),
	stage_index       INTEGER NOT NULL DEFAULT 0 CHECK (stage_index >= 0),
	stages_bp         TEXT NOT NULL,  -- JSON array of basis points
	salt              BLOB NOT NULL CHECK (length(salt) = 32),
	failure_threshold REAL NOT NULL,
	min_reports       INTEGER NOT NULL,
	advance_after_sec INTEGER NOT NULL DEFAULT 0,
	reason            TEXT NOT NULL DEFAULT '',  -- why it last paused/aborted
	created_at        TEXT NOT NULL,
	created_by        TEXT NOT NULL,
	started_at        TEXT,
	stage_started_at  TEXT,
	finished_at       TEXT,
	updated_at        TEXT NOT NULL
);
CREATE INDEX rollouts_state ON rollouts (state);
CREATE INDEX rollouts_image ON rollouts (image_id);

CREATE TABLE rollout_groups (
	rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	group_id   INTEGER NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
	PRIMARY KEY (rollout_id, group_id)
) WITHOUT ROWID;
CREATE INDEX rollout_groups_group ON rollout_groups (group_id);

-- Audit trail: every transition, by whom and why.
CREATE TABLE rollout_events (
	id          INTEGER PRIMARY KEY,
	rollout_id  INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	at          TEXT NOT NULL,
	action      TEXT NOT NULL,  -- create, start, pause, resume, advance, abort
	actor       TEXT NOT NULL,  -- token name, or "otad" for automatic ones
	from_state  TEXT,
	to_state    TEXT NOT NULL,
	stage_index INTEGER NOT NULL,
	reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rollout_events_rollout ON rollout_events (rollout_id, id);
