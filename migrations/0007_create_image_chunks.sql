-- 0007: the bytes of each image in the database, in chunks of at most
-- 1 MiB (seq 0, 1, ... in order), for blob_storage = database: written in
-- the transaction that writes the images row, so every node sharing the
-- database can fill its local blob cache, and deleted with the row.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
-- migrations/postgresql/0007_create_image_chunks.sql is this file with
-- BYTEA for the byte column.

CREATE TABLE image_chunks (
	image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
	seq      INTEGER NOT NULL CHECK (seq >= 0),
	data     BLOB NOT NULL,
	PRIMARY KEY (image_id, seq)
);
