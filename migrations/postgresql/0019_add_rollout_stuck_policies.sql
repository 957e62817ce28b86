-- PostgreSQL text of migrations/0019_add_rollout_stuck_policies.sql (same
-- columns, constraints and indexes): BIGINT for SQLite's 64-bit INTEGER;
-- the CHECK of device_updates.status changes in place.
-- Forward-only: never edit once landed.
ALTER TABLE rollouts ADD COLUMN device_timeout BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN max_retries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN retry_backoff BIGINT NOT NULL DEFAULT 300;
ALTER TABLE rollouts ADD COLUMN abort_on TEXT NOT NULL
	DEFAULT 'failed,timed_out,reverted';
ALTER TABLE rollouts ADD COLUMN ignore_results TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN breach_action TEXT NOT NULL DEFAULT 'pause'
	CHECK (breach_action IN ('pause', 'abort'));
ALTER TABLE rollouts ADD COLUMN max_offers_per_minute BIGINT NOT NULL
	DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN rate_ramp_minutes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN rate_ramp_max BIGINT NOT NULL DEFAULT 0;

ALTER TABLE device_updates DROP CONSTRAINT device_updates_status_check;
ALTER TABLE device_updates ADD CONSTRAINT device_updates_status_check
	CHECK (status IN ('offered', 'started', 'progress', 'completed',
	    'failed', 'reverted', 'canceled', 'deferred', 'timed_out'));
ALTER TABLE device_updates ADD COLUMN retries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE device_updates ADD COLUMN attempt_at BIGINT;
UPDATE device_updates SET attempt_at = CAST(EXTRACT(EPOCH FROM
	CAST(COALESCE(offered_at, started_at, updated_at) AS TIMESTAMPTZ))
	AS BIGINT);
DROP INDEX device_updates_status;
CREATE INDEX device_updates_status ON device_updates (rollout_id, status,
	result);
CREATE INDEX device_updates_pending ON device_updates (rollout_id, attempt_at)
	WHERE status IN ('offered', 'started', 'progress');
