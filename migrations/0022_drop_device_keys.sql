-- 0022: device_tokens.device_id and group_members.device_id lose their
-- foreign keys on SQLite too, as they did on PostgreSQL in 0011.  Checking
-- one is a B-tree probe of devices per row, but provisioning writes a
-- token and a membership per device: at 1M devices the probes were about
-- a tenth of provisioning's time (bench/README.md).  What they guaranteed
-- still holds on both stores (postgresql/0011_device_rows_unchecked_keys
-- says how): every writer of these rows reads or inserts the device in
-- its own write transaction, and store_device_delete deletes a device's
-- tokens and memberships with it.  group_members.group_id keeps its key:
-- a group's delete cascades to its members.
--
-- SQLite cannot drop a constraint: each table is built again without it,
-- its rows copied, the old one dropped and the new one renamed (nothing
-- refers to either table), then its index made again.
CREATE TABLE device_tokens_0022 (
	id          TEXT PRIMARY KEY,   -- the public part of the token
	device_id   TEXT NOT NULL,
	secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
	created_at  TEXT NOT NULL,
	revoked_at  TEXT
) WITHOUT ROWID;
INSERT INTO device_tokens_0022 (id, device_id, secret_hash, created_at,
	revoked_at)
	SELECT id, device_id, secret_hash, created_at, revoked_at
	FROM device_tokens;
DROP TABLE device_tokens;
ALTER TABLE device_tokens_0022 RENAME TO device_tokens;
CREATE INDEX device_tokens_device ON device_tokens (device_id);

CREATE TABLE group_members_0022 (
	group_id  INTEGER NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
	device_id TEXT NOT NULL,
	PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;
INSERT INTO group_members_0022 (group_id, device_id)
	SELECT group_id, device_id FROM group_members;
DROP TABLE group_members;
ALTER TABLE group_members_0022 RENAME TO group_members;
CREATE INDEX group_members_device ON group_members (device_id, group_id);
