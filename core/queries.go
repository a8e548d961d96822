package gue

import "strings"

// queries holds the SQL of one schema, built once per Client so that the hot
// path never formats strings. Every statement that touches a job filters on
// queue as well as job_id, matching the (queue, job_id) primary key.
type queries struct {
	schema  string
	enqueue string
	notify  string
	lock    string
	delete  string
	fail    string
	// batch mode
	lockBatch string
	reinsert  string
	// batch enqueue
	reserveIDs string
	insertRows string
}

func newQueries(schema string) *queries {
	t := quoteIdent(schema) + ".gue_jobs"
	return &queries{
		schema: schema,
		// A job ready now is announced to listening pools in the same round
		// trip (NOTIFY is delivered at commit, and dropped with a rollback).
		enqueue: `WITH ins AS (
  INSERT INTO ` + t + ` (queue, priority, run_at, job_type, args, metadata)
  VALUES ($1, $2, COALESCE($3::timestamptz, now()), $4, $5::json, $6::json)
  RETURNING job_id, run_at
)
SELECT job_id, run_at, CASE WHEN run_at <= now() THEN pg_notify('` + notifyChannel + `', $7) END IS NULL FROM ins`,
		notify: `SELECT pg_notify('` + notifyChannel + `', $1)`,
		// A loose index scan: the recursive part steps through the distinct
		// priorities of the queue (one index probe each) and, for each in
		// turn, the lateral part seeks the ready range (run_at <= now()) of
		// that priority. Future jobs are never walked, whatever their
		// priority, and nothing is sorted.
		lock: `WITH RECURSIVE prio AS (
  (SELECT priority FROM ` + t + ` WHERE queue = $1 ORDER BY priority LIMIT 1)
  UNION ALL
  SELECT (SELECT n.priority FROM ` + t + ` n WHERE n.queue = $1 AND n.priority > prio.priority ORDER BY n.priority LIMIT 1)
  FROM prio WHERE prio.priority IS NOT NULL
)
SELECT j.job_id, j.queue, j.priority, j.run_at, j.job_type, j.args, j.error_count, j.last_error, j.metadata
FROM prio CROSS JOIN LATERAL (
  SELECT * FROM ` + t + ` c
  WHERE c.queue = $1 AND c.priority = prio.priority AND c.run_at <= now()
  ORDER BY c.run_at, c.job_id
  LIMIT 1
  FOR UPDATE SKIP LOCKED
) j
LIMIT 1`,
		// Locks and deletes in one statement: the deletion stays
		// uncommitted, which keeps the rows locked, until the batch commits.
		lockBatch: `WITH RECURSIVE prio AS (
  (SELECT priority FROM ` + t + ` WHERE queue = $1 ORDER BY priority LIMIT 1)
  UNION ALL
  SELECT (SELECT n.priority FROM ` + t + ` n WHERE n.queue = $1 AND n.priority > prio.priority ORDER BY n.priority LIMIT 1)
  FROM prio WHERE prio.priority IS NOT NULL
), locked AS (
  SELECT j.job_id FROM prio CROSS JOIN LATERAL (
    SELECT c.job_id FROM ` + t + ` c
    WHERE c.queue = $1 AND c.priority = prio.priority AND c.run_at <= now()
    ORDER BY c.run_at, c.job_id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ) j
  LIMIT $2
)
DELETE FROM ` + t + ` d USING locked WHERE d.queue = $1 AND d.job_id = locked.job_id
RETURNING d.job_id, d.queue, d.priority, d.run_at, d.job_type, d.args, d.error_count, d.last_error, d.metadata, d.created_at`,
		reinsert: `INSERT INTO ` + t + ` (job_id, queue, priority, run_at, job_type, args, error_count, last_error, metadata, created_at, updated_at)
SELECT x.job_id, x.queue, x.priority, COALESCE(x.run_at, now() + x.delay_us * interval '1 microsecond'),
       x.job_type, x.args::json, x.error_count, x.last_error, x.metadata, x.created_at, now()
FROM json_to_recordset($1::json) AS x(job_id bigint, queue text, priority smallint, run_at timestamptz, delay_us bigint,
     job_type text, args text, error_count integer, last_error text, metadata json, created_at timestamptz)`,
		// One row, not one per ID: the IDs come back as one comma-separated
		// text value, which every driver scans the same way.
		reserveIDs: `SELECT string_agg(nextval(pg_get_serial_sequence('` + escapeLiteral(t) + `', 'job_id'))::text, ','), now() FROM generate_series(1, $1::int)`,
		insertRows: `INSERT INTO ` + t + ` (job_id, queue, priority, run_at, job_type, args, metadata)
SELECT x.job_id, x.queue, x.priority, x.run_at, x.job_type, x.args::json, x.metadata::json
FROM json_to_recordset($1::json) AS x(job_id bigint, queue text, priority smallint, run_at timestamptz, job_type text, args text, metadata text)`,
		delete: `DELETE FROM ` + t + ` WHERE queue = $1 AND job_id = $2`,
		fail: `UPDATE ` + t + `
SET error_count = error_count + 1,
    run_at = now() + $3::bigint * interval '1 microsecond',
    last_error = $4,
    updated_at = now()
WHERE queue = $1 AND job_id = $2`,
	}
}

// escapeLiteral doubles single quotes for use inside a SQL string literal.
func escapeLiteral(s string) string { return strings.ReplaceAll(s, "'", "''") }
