-- PostgreSQL text of migrations/0020_add_rollout_consent.sql (same
-- columns, constraints and indexes): BIGINT for SQLite's 64-bit INTEGER;
-- the CHECK and UNIQUE constraints change in place.
-- Forward-only: never edit once landed.
ALTER TABLE rollouts ADD COLUMN require_consent BIGINT NOT NULL DEFAULT 0
	CHECK (require_consent IN (0, 1));
ALTER TABLE rollouts ADD COLUMN consent_retry BIGINT NOT NULL DEFAULT 0;

ALTER TABLE update_events DROP CONSTRAINT update_events_state_check;
ALTER TABLE update_events ADD CONSTRAINT update_events_state_check
	CHECK (state IN ('started', 'progress', 'completed', 'failed',
	    'reverted', 'deferred', 'accepted', 'declined'));
ALTER TABLE device_updates DROP CONSTRAINT device_updates_status_check;
ALTER TABLE device_updates ADD CONSTRAINT device_updates_status_check
	CHECK (status IN ('offered', 'started', 'progress', 'completed',
	    'failed', 'reverted', 'canceled', 'deferred', 'timed_out',
	    'accepted', 'declined'));
DROP INDEX device_updates_pending;
CREATE INDEX device_updates_pending ON device_updates (rollout_id, attempt_at)
	WHERE status IN ('offered', 'started', 'progress', 'accepted');

ALTER TABLE ddi_actions ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ddi_actions DROP CONSTRAINT ddi_actions_rollout_id_device_id_key;
ALTER TABLE ddi_actions ADD CONSTRAINT ddi_actions_rollout_id_device_id_attempt_key
	UNIQUE (rollout_id, device_id, attempt);
ALTER TABLE ddi_feedback DROP CONSTRAINT ddi_feedback_kind_check;
ALTER TABLE ddi_feedback ADD CONSTRAINT ddi_feedback_kind_check
	CHECK (kind IN ('deployment', 'cancel', 'confirmation'));
