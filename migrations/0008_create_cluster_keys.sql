-- 0008: the keys every otad node sharing this database must hold alike.
-- The first node to start records its public key; a node whose key differs
-- refuses to start (a manifest or download URL signed by one node must be
-- good on every other).  Portable: the same text on SQLite and PostgreSQL.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

CREATE TABLE cluster_keys (
	name        TEXT PRIMARY KEY,   -- 'server': the manifest-signing key
	public_key  TEXT NOT NULL,      -- lowercase hex of the public key
	recorded_at TEXT NOT NULL
);
