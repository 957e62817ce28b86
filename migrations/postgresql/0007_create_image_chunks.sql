-- 0007 for PostgreSQL: migrations/0007_create_image_chunks.sql with BYTEA
-- (PostgreSQL has no BLOB type); keep the two in step.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

CREATE TABLE image_chunks (
	image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
	seq      INTEGER NOT NULL CHECK (seq >= 0),
	data     BYTEA NOT NULL,
	PRIMARY KEY (image_id, seq)
);
