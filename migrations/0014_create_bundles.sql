-- 0014: multi-image devices and release bundles (docs/bundles.md).  A device's components (docs/devices.md
-- "Components"): each its own hardware revision and installed version.
-- A device with no row here has one implicit component, itself.
-- device_id has no foreign key, as device_tokens and group_members on
-- PostgreSQL (migration 0011): provisioning inserts the rows with their
-- device in one transaction and store_device_delete deletes them with it.
CREATE TABLE device_components (
	device_id TEXT NOT NULL,
	name      TEXT NOT NULL,
	hardware  TEXT NOT NULL,
	version   TEXT,
	PRIMARY KEY (device_id, name)
);

-- A release bundle: its signed descriptor verbatim, and one row per part
-- naming the stored image whose sha256 the part names (an image a bundle
-- names cannot be deleted: the key refuses it).  The parts' order, via
-- and hardware are read from the descriptor itself, the signed truth.
CREATE TABLE bundles (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	version    TEXT NOT NULL,
	descriptor BLOB NOT NULL,  -- the exact signed bytes
	signatures TEXT NOT NULL,  -- JSON [{"keyid": "...", "sig": "<base64>"}]
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	UNIQUE (name, version)
);
CREATE TABLE bundle_parts (
	bundle_id INTEGER NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
	component TEXT NOT NULL,
	image_id  INTEGER NOT NULL REFERENCES images (id),
	PRIMARY KEY (bundle_id, component)
);
CREATE INDEX bundle_parts_image ON bundle_parts (image_id);
-- A rollout of a bundle names it instead of an image (image_id NULL,
-- image_name and image_version the bundle's).  A bundle an unfinished
-- rollout names cannot be deleted (store_bundle_delete checks); an ended
-- rollout keeps its row, without the bundle.
ALTER TABLE rollouts ADD COLUMN bundle_id INTEGER REFERENCES bundles (id)
	ON DELETE SET NULL;
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
