-- Metadata travels with a job from enqueue to work: string keys and values,
-- such as W3C trace context. NULL for jobs that carry none.
ALTER TABLE {{schema}}.gue_jobs ADD COLUMN IF NOT EXISTS metadata JSON;
