-- Periodic jobs (WithPoolPeriodic): one row per schedule name with its next
-- run, by the database's clock. Every pool declaring a name locks its row to
-- decide a tick, so any number of processes enqueue one job per tick with no
-- leader. A name no pool declares any more leaves its row behind, harmless:
-- Client.ListPeriodic shows it and Client.DeletePeriodic removes it.
CREATE TABLE IF NOT EXISTS {{schema}}.gue_periodic
(
    name        TEXT        NOT NULL PRIMARY KEY,
    next_run_at TIMESTAMPTZ NOT NULL,
    last_run_at TIMESTAMPTZ,
    last_job_id BIGINT,
    last_queue  TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
