-- PostgreSQL text of migrations/0018_add_rollout_windows_actions.sql (same
-- columns and constraints), where SQLite's table rebuilds cannot run:
-- PostgreSQL changes the CHECK constraints in place.
-- Forward-only: never edit once landed.
ALTER TABLE rollouts ADD COLUMN maintenance_windows TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN outside_window TEXT NOT NULL DEFAULT 'notify'
	CHECK (outside_window IN ('notify', 'silent'));
ALTER TABLE rollouts ADD COLUMN action_type TEXT NOT NULL DEFAULT 'forced'
	CHECK (action_type IN ('forced', 'soft', 'time-forced',
	    'download-only'));
ALTER TABLE rollouts ADD COLUMN forced_at TEXT;
ALTER TABLE device_groups ADD COLUMN maintenance_windows TEXT NOT NULL
	DEFAULT '';

ALTER TABLE update_events DROP CONSTRAINT update_events_state_check;
ALTER TABLE update_events ADD CONSTRAINT update_events_state_check
	CHECK (state IN ('started', 'progress', 'completed', 'failed',
	    'reverted', 'deferred'));
ALTER TABLE device_updates DROP CONSTRAINT device_updates_status_check;
ALTER TABLE device_updates ADD CONSTRAINT device_updates_status_check
	CHECK (status IN ('offered', 'started', 'progress', 'completed',
	    'failed', 'reverted', 'canceled', 'deferred'));
