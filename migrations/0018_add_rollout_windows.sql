-- 0018: when and how hard a rollout installs (docs/rollouts.md
-- "Maintenance windows" and "Action types").  maintenance_windows is
-- mwindow_parse's canonical text ("mon-fri 22:00 4h Europe/Berlin"), ''
-- for always; on a group, every rollout honours it for the group's
-- members.  outside_window says what a device is told outside them;
-- action_type how hard it installs, and forced_at, for a time-forced
-- rollout only, when it becomes forced (the store's RFC 3339 form).
-- Existing rollouts and groups have no windows and install forced.
-- The same text runs on PostgreSQL.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN maintenance_windows TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN outside_window TEXT NOT NULL DEFAULT 'notify'
	CHECK (outside_window IN ('notify', 'silent'));
ALTER TABLE rollouts ADD COLUMN action_type TEXT NOT NULL DEFAULT 'forced'
	CHECK (action_type IN ('forced', 'soft', 'time-forced',
	    'download-only'));
ALTER TABLE rollouts ADD COLUMN forced_at TEXT;
ALTER TABLE device_groups ADD COLUMN maintenance_windows TEXT NOT NULL
	DEFAULT '';
