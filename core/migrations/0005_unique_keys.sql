-- Unique jobs: at most one live job (queued, running or waiting to retry)
-- per queue and key. The key's index includes queue, like every unique key
-- of the table (Citus distributes it by queue). Dead jobs keep their key,
-- which RetryDead brings back.
ALTER TABLE {{schema}}.gue_jobs ADD COLUMN IF NOT EXISTS unique_key TEXT;

CREATE UNIQUE INDEX IF NOT EXISTS gue_jobs_unique_idx
    ON {{schema}}.gue_jobs (queue, unique_key) WHERE unique_key IS NOT NULL;

ALTER TABLE {{schema}}.gue_jobs_dead ADD COLUMN IF NOT EXISTS unique_key TEXT;
