-- 0015: a rollout's from-version range: the installed versions it targets
-- (semver_range's canonical text, ">=1.2.0 <1.4.0"), '' for every
-- version; see docs/rollouts.md "Targeting by installed version".
-- Existing rollouts target every version, as before.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN from_version TEXT NOT NULL DEFAULT '';
