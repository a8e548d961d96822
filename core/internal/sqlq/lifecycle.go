package sqlq

// Lifecycle are the statements of a job's other endings (dead,
// snoozed, cancelled) and of paused queues, for one schema.
type Lifecycle struct {
	// Die moves a job to the dead table ($1 queue, $2 id, $3 failures to
	// add, $4 last error or NULL to keep it, $5 reason).
	Die string
	// DieRows inserts batch members into the dead table (they were deleted
	// by the statement that locked them), from a JSON array of records.
	DieRows string
	// Snooze reschedules a job $3 microseconds from now, counting nothing.
	Snooze string
	// CancelQueued moves a job that is not locked to the dead table.
	CancelQueued string
	// Exists tells a job that exists, locked or not.
	Exists string
	// RetryDead moves a dead job back to the queue, ready now.
	RetryDead string
	// PurgeDead deletes a queue's dead jobs that died before $2.
	PurgeDead string
	// Pause, Resume and paused keep and read a queue's paused state.
	Pause, Resume, Paused string
	// CancelRequest asks the worker running a job to cancel it;
	// CancelRequested lists which of the jobs $2 (a text array of IDs) are
	// asked to. The statements that end a job forget its request.
	CancelRequest, CancelRequested string
	// CancelPurge forgets the requests of jobs that no longer exist (they
	// finished before their worker noticed).
	CancelPurge string
}

func newLifecycle(schema string, forget bool) Lifecycle {
	q := Ident(schema)
	t, dead, paused, cancel := q+".gue_jobs", q+".gue_jobs_dead", q+".gue_queues_paused", q+".gue_jobs_cancel"
	deadCols := `job_id, queue, priority, run_at, job_type, args, error_count, last_error, metadata, max_attempts, created_at, reason, died_at, unique_key`
	return Lifecycle{
		// Every statement that ends a run of a job also forgets the job's
		// cancellation request, in the same statement so that no ending can
		// leave it behind: a request belongs to one run (see Cancel). The
		// worker's endings do so when the role may (see New).
		Die: dieStatement(t, dead, cancel, deadCols, forget),
		DieRows: `INSERT INTO ` + dead + ` (` + deadCols + `)
SELECT x.job_id, x.queue, x.priority, COALESCE(x.run_at, now()), x.job_type, x.args::json, x.error_count, x.last_error, x.metadata,
       x.max_attempts, x.created_at, x.reason, statement_timestamp(), x.unique_key
FROM json_to_recordset($1::json) AS x(job_id bigint, queue text, priority smallint, run_at timestamptz, job_type text, args text,
     error_count integer, last_error text, metadata json, max_attempts integer, created_at timestamptz, reason text, unique_key text)`,
		Snooze: `UPDATE ` + t + ` SET run_at = statement_timestamp() + $3::bigint * interval '1 microsecond', updated_at = now()
WHERE queue = $1 AND job_id = $2`,
		// SKIP LOCKED: a job a worker holds is running, not queued. So is
		// one whose advisory lock a pool in session mode holds: the
		// transaction-level lock on the same key is refused then, and
		// while this statement's transaction holds it, no such pool can
		// take the job.
		CancelQueued: `WITH j AS (SELECT job_id FROM ` + t + ` WHERE queue = $1 AND job_id = $2 AND pg_try_advisory_xact_lock(job_id) FOR UPDATE SKIP LOCKED),
c AS (DELETE FROM ` + cancel + ` r USING j WHERE r.queue = $1 AND r.job_id = j.job_id),
d AS (DELETE FROM ` + t + ` c USING j WHERE c.queue = $1 AND c.job_id = j.job_id RETURNING c.*)
INSERT INTO ` + dead + ` (` + deadCols + `)
SELECT job_id, queue, priority, run_at, job_type, args, error_count, last_error, metadata, max_attempts, created_at, 'cancelled', statement_timestamp(), unique_key
FROM d`,
		Exists: `SELECT count(*) FROM ` + t + ` WHERE queue = $1 AND job_id = $2`,
		// A request still on record belongs to a run that has ended (rows
		// written before the endings forgot them): the new run starts clean.
		RetryDead: `WITH c AS (DELETE FROM ` + cancel + ` WHERE queue = $1 AND job_id = $2),
d AS (DELETE FROM ` + dead + ` WHERE queue = $1 AND job_id = $2 RETURNING *)
INSERT INTO ` + t + ` (job_id, queue, priority, run_at, job_type, args, error_count, last_error, metadata, max_attempts, created_at, updated_at, unique_key)
SELECT job_id, queue, priority, now(), job_type, args, error_count, last_error, metadata, max_attempts, created_at, now(), unique_key FROM d`,
		PurgeDead: `DELETE FROM ` + dead + ` WHERE queue = $1 AND died_at < $2`,
		Pause:     `INSERT INTO ` + paused + ` (queue) VALUES ($1) ON CONFLICT (queue) DO NOTHING`,
		Resume:    `DELETE FROM ` + paused + ` WHERE queue = $1`,
		Paused:    `SELECT count(*) FROM ` + paused + ` WHERE queue = $1`,
		// Only for a job that exists: one that ended since Cancel looked
		// leaves no request behind (which ends with the run, see die).
		CancelRequest: `INSERT INTO ` + cancel + ` (queue, job_id)
SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM ` + t + ` WHERE queue = $1 AND job_id = $2)
ON CONFLICT (queue, job_id) DO NOTHING`,
		CancelRequested: `SELECT string_agg(job_id::text, ',') FROM ` + cancel + `
WHERE queue = $1 AND job_id = ANY($2::text::bigint[])`,
		CancelPurge: `DELETE FROM ` + cancel + ` c WHERE c.queue = $1
  AND NOT EXISTS (SELECT 1 FROM ` + t + ` j WHERE j.queue = $1 AND j.job_id = c.job_id)`,
	}
}

// dieStatement moves job $2 of queue $1 to the dead jobs; with forget, it
// also forgets the job's cancellation request.
func dieStatement(t, dead, cancel, deadCols string, forget bool) string {
	with := `WITH `
	if forget {
		with = `WITH c AS (DELETE FROM ` + cancel + ` WHERE queue = $1 AND job_id = $2),
`
	}
	return with + `d AS (DELETE FROM ` + t + ` WHERE queue = $1 AND job_id = $2 RETURNING *)
INSERT INTO ` + dead + ` (` + deadCols + `)
SELECT job_id, queue, priority, run_at, job_type, args, error_count + $3, COALESCE($4, last_error), metadata, max_attempts, created_at, $5, statement_timestamp(), unique_key
FROM d`
}
