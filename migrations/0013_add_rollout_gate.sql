-- 0013: the health gate of a rollout: 'simple' (the observed failure rate
-- against failure_threshold) or 'wilson' (a score test at
-- gate_confidence), see docs/rollouts.md "Choosing a gate".  Existing
-- rollouts keep the simple gate.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN gate TEXT NOT NULL DEFAULT 'simple'
	CHECK (gate IN ('simple', 'wilson'));
ALTER TABLE rollouts ADD COLUMN gate_confidence REAL NOT NULL DEFAULT 0.95;
