-- Jobs waiting to retry (failed at least once), by queue and run_at: a
-- partial index, so jobs that never fail cost it nothing, and counting a
-- queue's retrying jobs (gue stats, the dashboard) reads only them.
CREATE INDEX IF NOT EXISTS gue_jobs_retry_idx ON {{schema}}.gue_jobs (queue, run_at) WHERE error_count > 0;
