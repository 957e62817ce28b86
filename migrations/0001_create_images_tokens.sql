-- 0001: signed firmware images and API tokens.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

CREATE TABLE images (
	id               INTEGER PRIMARY KEY,
	name             TEXT NOT NULL,
	version          TEXT NOT NULL,
	sha256           TEXT NOT NULL CHECK (length(sha256) = 64),
	size             INTEGER NOT NULL CHECK (size > 0),
	min_version      TEXT,
	security_counter INTEGER,
	filename         TEXT,
	descriptor       BLOB NOT NULL,  -- the exact signed bytes
	signatures       TEXT NOT NULL,  -- JSON [{"keyid": "...", "sig": "<base64>"}]
	created_at       TEXT NOT NULL,  -- RFC 3339 UTC
	created_by       TEXT NOT NULL,  -- name of the uploader's token
	UNIQUE (name, version)
);
CREATE INDEX images_sha256 ON images (sha256);

CREATE TABLE image_hardware (
	hardware TEXT NOT NULL,
	image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
	PRIMARY KEY (hardware, image_id)
) WITHOUT ROWID;
CREATE INDEX image_hardware_image ON image_hardware (image_id);

CREATE TABLE api_tokens (
	id           TEXT PRIMARY KEY,   -- the public part of the token
	name         TEXT NOT NULL,
	role         TEXT NOT NULL CHECK (role IN ('admin', 'release', 'viewer')),
	secret_hash  BLOB NOT NULL CHECK (length(secret_hash) = 32),
	created_at   TEXT NOT NULL,
	last_used_at TEXT,
	revoked_at   TEXT
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name)
	WHERE revoked_at IS NULL;
