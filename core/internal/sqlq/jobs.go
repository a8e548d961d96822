// Package sqlq holds the text of gue's statements, built once per
// schema and dialect so that the hot path never formats strings. Every
// statement that touches a job filters on queue as well as job_id, matching
// the (queue, job_id) primary key: on Citus, where the jobs tables are
// distributed by queue, each goes to one shard.
//
// The dialect is chosen once, by which Set a caller holds: a statement that
// differs on Citus differs in its text (or is empty where Citus has no
// form of it), never by a flag the caller tests.
package sqlq

import (
	"strings"

	"github.com/gue-go/gue/core/internal/lockplan"
	"github.com/gue-go/gue/core/internal/wake"
)

// Set is the text of gue's statements for one schema in one dialect.
// Most are the same in every dialect; those that are not say so, and
// TestOnlyDialectStatementsDiffer keeps that list honest.
type Set struct {
	Schema  string
	Dialect Dialect
	Enqueue string
	// NotifyMany sends one NOTIFY per payload of a JSON array.
	NotifyMany string
	Notify     string
	// NextDue is the run_at of queue $1's next future job (NULL: none), by
	// a loose scan of its priorities, and the database's clock.
	NextDue string
	// UniqueLive is the ID and RunAt of the live job of queue $1 with
	// unique key $2, after an enqueue that found it.
	UniqueLive string
	// Lock is the text of the lock queries, one per kind (lockplan.Kind).
	// Dialect: on Citus a SELECT's now() is the clock of the shard's
	// worker, while the INSERTs and modifications that write run_at take
	// the coordinator's, so there the lock queries compare run_at with
	// the coordinator's now(), read by ClockFirst and passed after the
	// query's own parameters ($5).
	Lock LockSQL
	// ClockFirst reads the clock the lock queries take as their last
	// parameter, in the lock's transaction before them; "" where they
	// read their own (PostgreSQL). Dialect.
	ClockFirst string
	// MayForget tells whether cancellation request table $1 exists and
	// the role may delete from it (see New's forget).
	MayForget string
	Delete    string
	// DeleteAsync deletes like Delete and also lets the transaction commit
	// without waiting for its WAL flush (see WithClientAsyncCompletion).
	// Dialect: "" on Citus, where set_config in the DELETE would run on
	// the coordinator and leave the worker committing synchronously; there
	// the transaction sends AsyncCommit, then Delete.
	DeleteAsync string
	// AsyncCommit are the commands that make the rest of a transaction
	// commit without waiting for its WAL flush, sent before its last
	// statement. Dialect: on Citus they also pass SET LOCAL on to the
	// worker that commits (citus.propagate_set_commands = local).
	AsyncCommit []string
	Fail        string
	// LockBatch locks up to $5 ready jobs of queue $1 (batch mode), past
	// the lock hints $2..$4 as Lock.Hinted does.
	LockBatch string
	// DeleteBatch and RescheduleBatch end a batch's jobs (see batch.finish).
	DeleteBatch, RescheduleBatch string
	// ReserveIDs, InsertRows and InsertRowsNotify enqueue a batch.
	ReserveIDs string
	InsertRows string
	// InsertRowsNotify is InsertRows plus the NOTIFY of each payload in the
	// JSON array $2, for a pipelined batch.
	InsertRowsNotify string

	Lifecycle
	Periodic
	Admin
	Session
}

// Dialect is where a schema's tables live.
type Dialect int

const (
	// PostgreSQL: plain tables.
	PostgreSQL Dialect = iota
	// Citus: gue_jobs, gue_jobs_dead and gue_jobs_cancel distributed by
	// queue (see gue.DistributeCitus).
	Citus
)

// New builds the statements of schema in dialect d. With forget, the
// statements that end a job (Delete, DeleteAsync, DeleteBatch, Die) also
// forget its cancellation request, which a role granted DML on gue_jobs
// alone may not do.
func New(schema string, d Dialect, forget bool) *Set {
	t := Ident(schema) + ".gue_jobs"
	// forgetting is the CTE that deletes the requests of the jobs a
	// statement ends, job_id = ids of queue $1; "" without forget.
	forgetting := func(ids string) string {
		if !forget {
			return ""
		}
		return `WITH c AS (DELETE FROM ` + Ident(schema) + `.gue_jobs_cancel WHERE queue = $1 AND job_id = ` + ids + `)
`
	}
	s := &Set{
		Schema:      schema,
		Dialect:     d,
		MayForget:   `SELECT to_regclass($1) IS NOT NULL, COALESCE(has_table_privilege(to_regclass($1), 'DELETE'), false)`,
		AsyncCommit: []string{"SET LOCAL synchronous_commit TO off"},
		Lifecycle:   newLifecycle(schema, forget),
		Periodic:    newPeriodic(schema),
		Admin:       newAdmin(schema, d),
		// Inside a caller's transaction ($7 is the payload), a job ready now
		// is announced to listening pools in the same round trip (NOTIFY is
		// delivered at commit, and dropped with a rollback). Outside one ($7
		// NULL), nothing is sent: the Client announces the job after the
		// commit (see notifier), and the statement only says what to
		// announce, in the fourth column: 1 ready, 2 due within
		// wake.DueWithin (its run_at then goes with the announcement, for
		// the pools' due timers), 0 nothing (later jobs are found by the
		// pools' look-ahead). "Now" is the statement's clock, not the
		// transaction's start: a RunAt of time.Now() in a transaction that
		// began earlier is ready.
		Enqueue: `WITH ins AS (
  INSERT INTO ` + t + ` (queue, priority, run_at, job_type, args, metadata, max_attempts, unique_key)
  VALUES ($1, $2, COALESCE($3::timestamptz, now()), $4, $5::json, $6::json, $8, $9)
  ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL DO NOTHING
  RETURNING job_id, run_at
)
SELECT job_id, run_at, kind, CASE WHEN $7::text IS NULL THEN NULL
  WHEN kind = 1 THEN pg_notify('` + wake.Channel + `', $7)
  WHEN kind = 2 AND length($7) < 7950
  THEN pg_notify('` + wake.Channel + `', $7 || E'` + `\x1fdue\x1f` + `' || (extract(epoch FROM run_at) * 1000000)::bigint) END IS NULL
FROM (SELECT job_id, run_at, CASE WHEN run_at <= clock_timestamp() THEN 1
  WHEN run_at <= clock_timestamp() + interval '` + wake.DueWithin + `' THEN 2 ELSE 0 END::bigint AS kind FROM ins) x`,
		Notify: `SELECT pg_notify('` + wake.Channel + `', $1)`,
		// One statement for all the announcements a notifier has gathered.
		NotifyMany: `SELECT count(*) FROM (SELECT pg_notify('` + wake.Channel + `', p) FROM json_array_elements_text($1::json) p) x`,
		NextDue: `WITH RECURSIVE pr AS (
  (SELECT priority FROM ` + t + ` WHERE queue = $1 ORDER BY priority LIMIT 1)
  UNION ALL
  SELECT (SELECT j.priority FROM ` + t + ` j WHERE j.queue = $1 AND j.priority > pr.priority ORDER BY j.priority LIMIT 1)
  FROM pr WHERE pr.priority IS NOT NULL)
SELECT min((SELECT j.run_at FROM ` + t + ` j WHERE j.queue = $1 AND j.priority = pr.priority AND j.run_at > now() ORDER BY j.run_at LIMIT 1)),
  now()
FROM pr WHERE pr.priority IS NOT NULL`,
		UniqueLive: `SELECT job_id, run_at FROM ` + t + ` WHERE queue = $1 AND unique_key = $2`,
		// A loose index scan: the recursive part steps through the distinct
		// priorities of the queue and, for each in turn, the lateral part
		// seeks the ready range (run_at <= now()) of that priority. Future
		// jobs are never walked, whatever their priority, and nothing is
		// sorted. $2..$4 are the lock hints (see internal/lockplan): the
		// priorities they name are stepped to without a probe of the table
		// (a probe would walk the dead entries at their front), the others
		// are found by a probe bounded by the next hinted priority, and a
		// hinted priority's range is sought from its position onwards.
		Lock: LockSQL{Hinted: `WITH RECURSIVE prio(priority) AS (
  SELECT ` + nextPriority(t, "") + `
  UNION ALL
  SELECT ` + nextPriority(t, "prio.priority") + ` FROM prio WHERE prio.priority IS NOT NULL
)
SELECT j.job_id, j.queue, j.priority, j.run_at, j.job_type, j.args, j.error_count, j.last_error, j.metadata, j.max_attempts, j.unique_key
FROM prio CROSS JOIN LATERAL (
  SELECT * FROM ` + t + ` c
  WHERE c.queue = $1 AND c.priority = prio.priority AND c.run_at <= now()
    AND ` + pastHint + `
  ORDER BY c.run_at, c.job_id
  LIMIT 1
  FOR UPDATE SKIP LOCKED
) j
LIMIT 1`,
			Seek: `SELECT c.job_id, c.queue, c.priority, c.run_at, c.job_type, c.args, c.error_count, c.last_error, c.metadata, c.max_attempts, c.unique_key
FROM ` + t + ` c
WHERE c.queue = $1 AND c.priority = $2 AND c.run_at <= now() AND (c.run_at, c.job_id) > ($3, $4)
  AND (SELECT n.priority FROM ` + t + ` n WHERE n.queue = $1 AND n.priority < $2 ORDER BY n.priority DESC LIMIT 1) IS NULL
ORDER BY c.run_at, c.job_id
LIMIT 1
FOR UPDATE SKIP LOCKED`},
		// The batch's rows stay as they are, locked, until the batch
		// commits (see batch): deleteBatch and rescheduleBatch end them.
		// The lock query's walk with the lock hints in $2..$4 (empty: from
		// the front), taking up to $5 jobs: stepping to the hinted
		// priorities without a probe and seeking each from its position,
		// it walks none of the dead entries the batches before it left,
		// which an open transaction elsewhere keeps VACUUM from removing.
		LockBatch: `WITH RECURSIVE prio(priority) AS (
  SELECT ` + nextPriority(t, "") + `
  UNION ALL
  SELECT ` + nextPriority(t, "prio.priority") + ` FROM prio WHERE prio.priority IS NOT NULL
)
SELECT j.job_id, j.queue, j.priority, j.run_at, j.job_type, j.args, j.error_count, j.last_error, j.metadata, j.created_at, j.max_attempts, j.unique_key
FROM prio CROSS JOIN LATERAL (
  SELECT c.job_id, c.queue, c.priority, c.run_at, c.job_type, c.args, c.error_count, c.last_error, c.metadata, c.created_at, c.max_attempts, c.unique_key
  FROM ` + t + ` c
  WHERE c.queue = $1 AND c.priority = prio.priority AND c.run_at <= now()
    AND ` + pastHint + `
  ORDER BY c.run_at, c.job_id
  LIMIT $5
  FOR UPDATE SKIP LOCKED
) j
LIMIT $5`,
		// The cancellation requests of the batch's ended jobs go with them
		// (see Lifecycle.die); the dead ones' rows are among $2. Each job
		// is a probe of the key (byKeys). Dialect: Citus keeps = ANY, which
		// it routes to the queue's shard.
		DeleteBatch: forgetting(`ANY($2::text::bigint[])`) + `DELETE FROM ` + t + ` t USING ` + byKeys + ` WHERE ` + byKeysMatch,
		// The run-at is computed in the subquery: Citus refuses a stable
		// function applied to a column in an UPDATE's SET, and evaluates it
		// on the coordinator here. statement_timestamp() as in fail.
		RescheduleBatch: `UPDATE ` + t + ` t
SET error_count = x.error_count, last_error = x.last_error, run_at = x.run_at, updated_at = now()
FROM (SELECT r.job_id, r.error_count, r.last_error, statement_timestamp() + r.delay_us * interval '1 microsecond' AS run_at
      FROM json_to_recordset($2::json) AS r(job_id bigint, error_count integer, last_error text, delay_us bigint)) x
WHERE t.queue = $1 AND t.job_id = x.job_id`,
		// One row, not one per ID: the IDs come back as one comma-separated
		// text value, which every driver scans the same way. The sequence is
		// looked up once (OFFSET 0 keeps the planner from folding the lookup
		// into the per-ID call, which made reserving 7 times slower).
		ReserveIDs: `SELECT string_agg(nextval(s.seq)::text, ','), clock_timestamp()
FROM (SELECT pg_get_serial_sequence('` + escapeLiteral(t) + `', 'job_id')::regclass AS seq OFFSET 0) s, generate_series(1, $1::int)`,
		InsertRows: `INSERT INTO ` + t + ` (job_id, queue, priority, run_at, job_type, args, metadata, max_attempts, unique_key)
SELECT x.job_id, x.queue, x.priority, x.run_at, x.job_type, x.args::json, x.metadata::json, x.max_attempts, x.unique_key
FROM json_to_recordset($1::json) AS x(job_id bigint, queue text, priority smallint, run_at timestamptz, job_type text, args text, metadata text, max_attempts integer, unique_key text)`,
		InsertRowsNotify: `WITH ins AS (
  INSERT INTO ` + t + ` (job_id, queue, priority, run_at, job_type, args, metadata, max_attempts, unique_key)
  SELECT x.job_id, x.queue, x.priority, x.run_at, x.job_type, x.args::json, x.metadata::json, x.max_attempts, x.unique_key
  FROM json_to_recordset($1::json) AS x(job_id bigint, queue text, priority smallint, run_at timestamptz, job_type text, args text, metadata text, max_attempts integer, unique_key text)
  RETURNING 1
), notified AS (
  -- counted inside: Citus keeps a CTE's result, and a column of type
  -- void (pg_notify's) cannot be kept.
  SELECT count(*) AS n FROM (SELECT pg_notify('` + wake.Channel + `', p) FROM json_array_elements_text($2::json) p) x
)
SELECT (SELECT count(*) FROM ins), (SELECT n FROM notified)`,
		// The job's cancellation request goes with it (see
		// Lifecycle.die): one index probe of a table that is
		// nearly always empty.
		Delete: forgetting(`$2`) + `DELETE FROM ` + t + ` WHERE queue = $1 AND job_id = $2`,
		// set_config(..., true) is SET LOCAL: it ends with the transaction,
		// so it holds behind a transaction-mode pooler too, and it rides in
		// the DELETE to cost no round trip of its own. As a filter on the
		// job's row (volatile, so evaluated on that row, before the delete)
		// rather than a joined subquery, the plan is the plain DELETE's with
		// no join for the executor to start up on every job.
		DeleteAsync: forgetting(`$2`) + `DELETE FROM ` + t + ` WHERE queue = $1 AND job_id = $2
  AND set_config('synchronous_commit', 'off', true) IS NOT NULL`,
		// The backoff counts from the failure (statement_timestamp: when
		// this statement arrived), not from the start of the job's
		// transaction (now()): a job that ran longer than its backoff would
		// otherwise be retried at once. Not clock_timestamp(): Citus refuses
		// volatile functions in the modifications of distributed tables, and
		// evaluates stable ones on the coordinator.
		Fail: `UPDATE ` + t + `
SET error_count = error_count + 1,
    run_at = statement_timestamp() + $3::bigint * interval '1 microsecond',
    last_error = $4,
    updated_at = now()
WHERE queue = $1 AND job_id = $2`,
	}
	if d == Citus {
		s.DeleteBatch = forgetting(`ANY($2::text::bigint[])`) + `DELETE FROM ` + t + ` WHERE queue = $1 AND job_id = ANY($2::text::bigint[])`
		s.Lock = LockSQL{Hinted: onCitus(s.Lock.Hinted), Seek: onCitus(s.Lock.Seek)}
		s.ClockFirst = "SELECT now()"
		s.DeleteAsync = ""
		s.AsyncCommit = append([]string{"SET LOCAL citus.propagate_set_commands TO 'local'"}, s.AsyncCommit...)
	}
	s.Session = newSession(s, forget)
	return s
}

// onCitus is lock query sql comparing run_at with the coordinator's clock
// in $5 (see Set.Lock).
func onCitus(sql string) string {
	if strings.Count(sql, readyNow) != 1 {
		panic("gue: a lock query must compare run_at with now() exactly once")
	}
	return strings.Replace(sql, readyNow, "c.run_at <= $5::timestamptz", 1)
}

// byKeys is the IDs of the text array $2 with queue $1, as relation
// k(queue, id), for a statement that ends many jobs: joined to the jobs
// table by byKeysMatch, each ID is a probe of the primary key, whatever
// the table's statistics say. With queue = $1 as a condition of its own,
// a table without statistics (a new one: the planner takes a queue for
// 0.5% of the rows its pages could hold) or with statistics taken while
// the queue was nearly empty had the planner scan the whole queue
// through the lock index for every statement: 5.5 ms to delete one job
// of a queue of 5,000, against 0.4 (EXPLAIN ANALYZE, PostgreSQL 15).
// OFFSET 0 keeps the subquery apart, so the planner does not turn
// k.queue back into the constant $1. The array's length stays unknown to
// the planner, which takes it for 10: a nested loop of probes costs less
// than any scan of a table of more than a few pages. The array goes
// through a volatile CASE (always true) for that: a prepared statement's
// first five runs on each connection are planned with their parameters'
// values, and the planner then counts the array's elements (unnest's
// estimate). With 1,000 IDs it hashed the whole table instead: 157 ms
// against 3.2 ms to delete 1,000 jobs of a table of 200,000, with or
// without statistics (EXPLAIN ANALYZE, PostgreSQL 15). A pool in session
// mode sends such groups as it starts, when every job of its first round
// ends at once (bench -io 50ms with 2,000 workers: two deletions of about
// 900 jobs each took 160-200 ms, while the locks of those jobs were held).
const byKeys = `(SELECT $1::text AS queue, i.id FROM unnest(CASE WHEN pg_catalog.random() >= 0 THEN $2::text::bigint[] END) AS i(id) OFFSET 0) k`

// byKeysMatch joins jobs table t to byKeys on the primary key.
const byKeysMatch = `t.queue = k.queue AND t.job_id = k.id`

// LockSQL is the text of the lock queries: Hinted is the general one,
// hinted with the hints in $2..$4 and full (from the front) with empty ones;
// Seek is the one for a queue whose hints name a single priority, a plain
// seek past the hint, valid while no row has a smaller priority (checked in
// the same statement, by an ordered probe: with NOT EXISTS the planner may
// pick a sequential scan).
type LockSQL struct{ Hinted, Seek string }

// Of returns the text of the lock query of kind k.
func (l LockSQL) Of(k lockplan.Kind) string {
	if k == lockplan.Seek {
		return l.Seek
	}
	return l.Hinted
}

// pastHint is the lock queries' condition that row c of priority
// prio.priority lies past that priority's lock hint, the (run_at, job_id)
// of the same index in $3 and $4 as the priority in $2 (see
// internal/lockplan); every row of a priority without one.
const pastHint = `(c.run_at, c.job_id) > (COALESCE(($3::text::timestamptz[])[array_position($2::text::smallint[], prio.priority)], '-infinity'),
                                COALESCE(($4::text::bigint[])[array_position($2::text::smallint[], prio.priority)], 0))`

// readyNow is the readiness condition of the lock queries.
const readyNow = "c.run_at <= now()"

// escapeLiteral doubles single quotes for use inside a SQL string literal.
func escapeLiteral(s string) string { return strings.ReplaceAll(s, "'", "''") }

// nextPriority is the scalar subquery giving the smallest priority above
// prev (an SQL expression; "" for no bound) that is hinted in $2 or has a row
// in queue $1, as smallint; NULL when there is none.
func nextPriority(table, prev string) string {
	hinted, probed := "", ""
	if prev != "" {
		hinted = " WHERE h > " + prev
		probed = " AND n.priority > " + prev
	}
	return `(SELECT LEAST(x.nh, (SELECT n.priority FROM ` + table + ` n
      WHERE n.queue = $1` + probed + ` AND n.priority < COALESCE(x.nh, 32768) ORDER BY n.priority LIMIT 1))::smallint
    FROM (SELECT min(h)::int AS nh FROM unnest($2::text::smallint[]) h` + hinted + `) x)`
}
