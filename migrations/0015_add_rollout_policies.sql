-- 0015: rollout policies beside the gate (docs/rollouts.md):
-- from_version, the installed versions a rollout targets (semver_range's
-- canonical text, ">=1.2.0 <1.4.0"), '' for every version; start_at, when
-- a draft starts by itself (the store's RFC 3339 form), NULL for never.
-- Existing rollouts target every version and are started by hand.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN from_version TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN start_at TEXT;
