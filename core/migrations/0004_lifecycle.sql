-- A job's own limit of failed runs; 0 means the client's (WithClientMaxAttempts).
ALTER TABLE {{schema}}.gue_jobs ADD COLUMN IF NOT EXISTS max_attempts INTEGER NOT NULL DEFAULT 0;

-- Jobs that will not run again: given up after their last attempt
-- (max_attempts), discarded by their handler (discarded), or cancelled
-- (cancelled). A table of its own, so dead rows never slow the lock query;
-- Client.RetryDead moves one back, Client.PurgeDead deletes old ones.
CREATE TABLE IF NOT EXISTS {{schema}}.gue_jobs_dead
(
    job_id       BIGINT      NOT NULL,
    queue        TEXT        NOT NULL,
    priority     SMALLINT    NOT NULL,
    run_at       TIMESTAMPTZ NOT NULL,
    job_type     TEXT        NOT NULL,
    args         JSON        NOT NULL,
    error_count  INTEGER     NOT NULL,
    last_error   TEXT,
    metadata     JSON,
    max_attempts INTEGER     NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    reason       TEXT        NOT NULL,
    died_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, job_id)
);

CREATE INDEX IF NOT EXISTS gue_jobs_dead_died_at_idx ON {{schema}}.gue_jobs_dead (queue, died_at);

-- Paused queues, one row each: workers lock no job of a queue listed here.
CREATE TABLE IF NOT EXISTS {{schema}}.gue_queues_paused
(
    queue     TEXT        NOT NULL PRIMARY KEY,
    paused_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Cancellations asked of running jobs: the workers holding them look here
-- (and are woken by a NOTIFY where they listen) and cancel the job's context.
CREATE TABLE IF NOT EXISTS {{schema}}.gue_jobs_cancel
(
    queue        TEXT        NOT NULL,
    job_id       BIGINT      NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, job_id)
);
