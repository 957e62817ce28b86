-- 0012: images.embedded, what the image's own bytes say about it (an
-- MCUboot header, an ESP-IDF application descriptor, a Blynk tag), as the
-- JSON object otad read at upload (docs/images.md); NULL for an image of
-- no recognized format, and for images uploaded before this migration.
-- Written in the transaction of the image row; never changed after.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.

ALTER TABLE images ADD COLUMN embedded TEXT;
