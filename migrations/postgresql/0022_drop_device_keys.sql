-- PostgreSQL text of migrations/0022_drop_device_keys.sql: nothing to do,
-- 0011 dropped these keys here.
SELECT 1;
