-- The jobs table. Every unique key includes queue, so the table can later be
-- distributed by queue (Citus). args is json, not jsonb: PostgreSQL validates it
-- and hands the bytes back exactly as enqueued.
CREATE TABLE IF NOT EXISTS {{schema}}.gue_jobs
(
    job_id      BIGSERIAL   NOT NULL,
    priority    SMALLINT    NOT NULL DEFAULT 0,
    run_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    job_type    TEXT        NOT NULL,
    args        JSON        NOT NULL DEFAULT '[]',
    error_count INTEGER     NOT NULL DEFAULT 0,
    last_error  TEXT,
    queue       TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, job_id)
);

-- The lock index. Ordered by priority first so that, for each priority, the
-- ready jobs (run_at <= now()) form one contiguous range that the lock query
-- seeks into: the cost of locking a job depends neither on how many jobs are
-- ready nor on how many are scheduled in the future.
CREATE INDEX IF NOT EXISTS gue_jobs_lock_idx
    ON {{schema}}.gue_jobs (queue, priority, run_at, job_id);
