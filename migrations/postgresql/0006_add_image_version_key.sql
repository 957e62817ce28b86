-- PostgreSQL text of migrations/0006_add_image_version_key.sql: the same
-- column and index, under another index name (PostgreSQL already named
-- the UNIQUE (name, version) constraint's index images_name_version_key).
-- Forward-only: never edit once landed.

ALTER TABLE images ADD COLUMN version_key TEXT;
-- Precedence lookups and ranges within one image name.
CREATE INDEX images_name_vkey ON images (name, version_key);
