-- 0014: multi-image devices.  A device's components (docs/devices.md
-- "Components"): each its own hardware revision and installed version.
-- A device with no row here has one implicit component, itself.
-- device_id has no foreign key, as device_tokens and group_members on
-- PostgreSQL (migration 0011): provisioning inserts the rows with their
-- device in one transaction and store_device_delete deletes them with it.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
CREATE TABLE device_components (
	device_id TEXT NOT NULL,
	name      TEXT NOT NULL,
	hardware  TEXT NOT NULL,
	version   TEXT,
	PRIMARY KEY (device_id, name)
);
