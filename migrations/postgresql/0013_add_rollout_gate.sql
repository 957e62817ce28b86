-- PostgreSQL text of migrations/0013_add_rollout_gate.sql (same columns
-- and constraints): DOUBLE PRECISION for SQLite's REAL.
-- Forward-only: never edit once landed.
ALTER TABLE rollouts ADD COLUMN gate TEXT NOT NULL DEFAULT 'simple'
	CHECK (gate IN ('simple', 'wilson'));
ALTER TABLE rollouts ADD COLUMN gate_confidence DOUBLE PRECISION NOT NULL
	DEFAULT 0.95;
