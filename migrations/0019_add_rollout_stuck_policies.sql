-- 0019: what a rollout does with stuck and failing devices
-- (docs/rollouts.md, "Stuck and failing devices", "Abort criteria"):
--  * device_timeout: seconds a device may stay offered, started or in
--    progress before the rollout timer marks its update timed_out (0: none);
--  * max_retries, retry_backoff: how often a failed or timed-out device is
--    offered again, the first retry retry_backoff seconds after its
--    outcome, each next one twice as long after;
--  * abort_on: the outcomes the health gate counts against the rollout
--    (rollout_outcomes_format's text, "failed,timed_out,reverted");
--    ignore_results: the LwM2M result codes of failures it does not count
--    ("4,9", "" none); breach_action: what a breach does, 'pause' or
--    'abort';
--  * max_offers_per_minute, rate_ramp_minutes, rate_ramp_max: rate control
--    of new offers (docs/rollouts.md, "Rate control").
-- Existing rollouts keep today's behaviour but one: no timeout, no retry
-- (a failed device is no longer offered the same image forever), the
-- failures and reverts counted, a breach pausing.
-- device_updates gains the status timed_out, the retries offered so far
-- and attempt_at, when the current attempt was offered (unix seconds: what
-- the timeout counts from), with the partial index the timer's sweep reads.
-- Forward-only: never edit once landed; add a new NNNN_verb_noun.sql.
ALTER TABLE rollouts ADD COLUMN device_timeout INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN max_retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN retry_backoff INTEGER NOT NULL DEFAULT 300;
ALTER TABLE rollouts ADD COLUMN abort_on TEXT NOT NULL
	DEFAULT 'failed,timed_out,reverted';
ALTER TABLE rollouts ADD COLUMN ignore_results TEXT NOT NULL DEFAULT '';
ALTER TABLE rollouts ADD COLUMN breach_action TEXT NOT NULL DEFAULT 'pause'
	CHECK (breach_action IN ('pause', 'abort'));
-- Rate control: new offers per minute (0: no limit), doubled every
-- rate_ramp_minutes the stage runs (0: no ramp) up to rate_ramp_max.
ALTER TABLE rollouts ADD COLUMN max_offers_per_minute INTEGER NOT NULL
	DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN rate_ramp_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN rate_ramp_max INTEGER NOT NULL DEFAULT 0;

-- SQLite cannot change a CHECK constraint: the table is rebuilt, its rows
-- and indexes kept.
CREATE TABLE device_updates_0019 (
	rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	version      TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('offered', 'started',
	                 'progress', 'completed', 'failed', 'reverted',
	                 'canceled', 'deferred', 'timed_out')),
	stage_index  INTEGER NOT NULL,  -- the stage in force when first seen
	progress     INTEGER,
	result       INTEGER,
	status_ts_ms INTEGER,           -- device time of the event that set status
	offered_at   TEXT,
	started_at   TEXT,
	finished_at  TEXT,
	updated_at   TEXT NOT NULL,
	retries      INTEGER NOT NULL DEFAULT 0, -- retries offered so far
	attempt_at   INTEGER,           -- unix s the current attempt began
	component    TEXT,              -- 0017: the part that decided it
	PRIMARY KEY (rollout_id, device_id)
) WITHOUT ROWID;
INSERT INTO device_updates_0019 (rollout_id, device_id, version, status,
	stage_index, progress, result, status_ts_ms, offered_at, started_at,
	finished_at, updated_at, retries, attempt_at, component)
	SELECT rollout_id, device_id, version, status, stage_index, progress,
	result, status_ts_ms, offered_at, started_at, finished_at, updated_at, 0,
	CAST(strftime('%s', COALESCE(offered_at, started_at, updated_at))
	    AS INTEGER), component
	FROM device_updates;
DROP TABLE device_updates;
ALTER TABLE device_updates_0019 RENAME TO device_updates;
CREATE INDEX device_updates_device ON device_updates (device_id);
-- With the result code: the gate's counts, filtered by result, read the
-- index alone.
CREATE INDEX device_updates_status ON device_updates (rollout_id, status,
	result);
-- The timer's sweep: the unfinished attempts of a rollout, oldest first.
CREATE INDEX device_updates_pending ON device_updates (rollout_id, attempt_at)
	WHERE status IN ('offered', 'started', 'progress');
