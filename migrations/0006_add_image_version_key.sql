-- 0006: images.version_key, the byte-sortable key of images.version
-- (semver_sort_key): comparing two keys by bytes orders the versions by
-- SemVer precedence, so version queries need no collation and read the
-- same on any database.  Rows written before this migration get their key
-- when the store opens (a backfill in C, semver.c being the one home of the
-- rule); every insert writes it.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

ALTER TABLE images ADD COLUMN version_key TEXT;
-- Precedence lookups and ranges within one image name.
CREATE INDEX images_name_version_key ON images (name, version_key);
