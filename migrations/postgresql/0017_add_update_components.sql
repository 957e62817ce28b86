-- PostgreSQL text of migrations/0017_add_update_components.sql (same
-- tables, columns and constraints): BIGINT for SQLite's 64-bit INTEGER,
-- no WITHOUT ROWID.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE update_events ADD COLUMN component TEXT;
ALTER TABLE device_updates ADD COLUMN component TEXT;
CREATE TABLE device_update_parts (
	rollout_id   BIGINT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	component    TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('started', 'progress',
	                 'completed', 'failed', 'reverted', 'deferred')),
	status_ts_ms BIGINT NOT NULL, -- device time of the event that set it
	result       BIGINT,          -- LwM2M /5 result, for failed
	updated_at   TEXT NOT NULL,
	PRIMARY KEY (rollout_id, device_id, component)
);
CREATE INDEX device_update_parts_device ON device_update_parts (device_id);
-- The parts a DDI action of a bundle rollout deploys (its chunks): the
-- components to install when the action was created, in install order,
-- comma-separated; NULL for an image rollout's action (docs/ddi.md).
ALTER TABLE ddi_actions ADD COLUMN parts TEXT;
