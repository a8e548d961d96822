-- Defaults for every column the engine does not always write. A table made
-- by version 1 has them already; a gue v2 table (the same columns, created
-- by v2's schema.sql without defaults) gets them here, so that Migrate
-- adopts it in place.
ALTER TABLE {{schema}}.gue_jobs
    ALTER COLUMN priority SET DEFAULT 0,
    ALTER COLUMN run_at SET DEFAULT now(),
    ALTER COLUMN args SET DEFAULT '[]',
    ALTER COLUMN queue SET DEFAULT '',
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
