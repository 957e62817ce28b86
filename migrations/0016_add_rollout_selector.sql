-- 0016: a rollout's label selector (docs/rollouts.md, "Targeting by
-- labels"): selector_parse's canonical text ("region=eu,model in (a,b),
-- !beta"), '' for every device of the target groups.  Existing rollouts
-- select every device of their groups.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN selector TEXT NOT NULL DEFAULT '';
