package sqlq

import (
	"strconv"
	"strings"
)

// Session are the statements of session mode (gue.WithPoolSessionLocks):
// a running job is held by a session-level advisory lock, keyed by its
// job_id (the one-bigint form), that the pool's lock connection takes, and
// by no transaction and no row lock.
type Session struct {
	// SessionLock takes the advisory locks of up to $5 ready jobs of queue
	// $1, past the lock hints $2..$4 as Lock.Hinted reads them (empty:
	// from the front), skipping the jobs in $6 (a text array of IDs: the
	// ones the lock connection holds already that the walk can come to,
	// which pg_try_advisory_lock would grant it again; the caller drops
	// any held job granted all the same) and the jobs whose lock another session
	// holds, and returns their IDs. It goes in the queue's order and
	// tries a row's lock only when it still wants one, so it never takes
	// a lock it does not return; in each priority it reads at most the
	// locks still wanted plus sessionWalkSlack rows. $7 is the process ID the lock connection's backend had when
	// it opened: on any other backend (the connection goes through a
	// pooler in transaction mode, which hands each statement to any
	// server session) the statement takes no lock and returns the ID -1.
	// Each row has a second column, 0; but first the statement gives back
	// the locks of the jobs $8 (a text array of IDs: jobs ended since the
	// last statement) and returns how many it held in a row of job ID 0
	// (none on another backend), which saves the unlocks a round trip of
	// their own while the pool is busy. It also leaves the IDs it
	// returns, comma-separated, in the setting lockedSetting until its
	// transaction ends, for SessionLoadLocked.
	SessionLock string
	// SessionLoad reads the jobs $2 (a text array of IDs) of queue $1 that
	// are still ready. Run after their locks are taken, in a statement of
	// its own, it sees every commit of the session that held a lock
	// before: a job another pool ended (deleted, rescheduled) between the
	// walk's snapshot and the lock is left out, and its lock given back.
	SessionLoad string
	// SessionLoadLocked is SessionLoad of the jobs of queue $1 whose IDs
	// SessionLock left in lockedSetting: run after it in the same
	// transaction (one round trip for both, adapter.QueryBatcher), it sees
	// what SessionLoad would under READ COMMITTED, which takes a snapshot
	// for each statement. In another transaction it reads no job.
	SessionLoadLocked string
	// SessionUnlock gives back the advisory locks of the jobs $1 (a text
	// array of IDs) and returns how many were held; -1, and nothing given
	// back, on another backend than $2 (see SessionLock).
	SessionUnlock string
	// The endings of a session-held job: Delete, DeleteAsync, Fail,
	// Snooze and Die with one more parameter, the lock connection as
	// SessionHolder names it, and a condition that this server session
	// still lives, and so holds the job's lock (see holderAlive). A lock
	// lost meanwhile (the connection dropped, another pool may run the job
	// already) leaves the job as it is: the statement changes no row.
	// DeleteAsync is "" where Delete's is (Citus).
	SessionDelete, SessionDeleteAsync, SessionFail, SessionSnooze, SessionDie string
	// SessionDeleteMany deletes the jobs $2 (a text array of IDs) of queue
	// $1 held by the lock connection $3 (as SessionHolder names it), if it
	// still lives, and returns the IDs deleted, comma-separated (NULL:
	// none): the completions of many jobs in one statement.
	// SessionDeleteManyAsync also lets the statement commit without
	// waiting for its WAL flush; "" where DeleteAsync is (Citus).
	SessionDeleteMany, SessionDeleteManyAsync string
	// SessionHolder, run on the lock connection when it opens, names it
	// for the endings: "pid backend_start".
	SessionHolder string
	// SessionHolderVisible reports, run on another connection, whether the
	// endings' condition sees the lock connection $1 (SessionHolder) alive.
	// Not when the roles differ: pg_stat_activity shows another role's
	// backend_start only to members of pg_read_all_stats.
	SessionHolderVisible string
}

// sessionWalkSlack is how many rows whose lock another session holds a
// SessionLock scan of one priority reads, beyond the locks it still wants,
// before it goes on to the next priority: rows locked by other pools,
// which the scan cannot skip in the index.
const sessionWalkSlack = 64

// lockedSetting is the custom setting by which SessionLock hands the IDs
// it locked to SessionLoadLocked, set for its transaction only: a lock
// statement that failed, or ran in another transaction, leaves none.
const lockedSetting = "gue.session_locked"

// jobMatch is the condition every ending of a single job has on the jobs
// table (and on the cancellation requests it forgets with it).
const jobMatch = "WHERE queue = $1 AND job_id = $2"

// holderAlive is the condition that the lock connection named by the
// text parameter p, "pid backend_start" (its backend's process ID and
// start, as Session.SessionHolder reads them), is still the server
// session it was. That proves the locks of the jobs it took that have not
// ended: the lock connection gives a job's lock back only after the job's
// end has committed, and the server releases a session's locks only when
// the session ends. One backend's entry is read (pg_stat_get_activity with
// a process ID), where pg_locks copies the whole lock table: 5.4 ms per
// statement with 2,000 jobs held, against 0.15 ms, on PostgreSQL 15. The
// server keeps what it read of the backends until the transaction ends,
// which in a job's transaction (Job.Tx) can be long before its ending:
// pg_stat_clear_snapshot drops it first (an argument of the call, so it
// runs before). The start tells a backend from a later one that was given
// the same process ID.
func holderAlive(p string) string {
	pid := `split_part(` + p + `, ' ', 1)::int`
	return `EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(CASE WHEN pg_catalog.pg_stat_clear_snapshot() IS NOT NULL THEN ` + pid + ` END) a
    WHERE a.pid = ` + pid + ` AND a.backend_start = substr(` + p + `, strpos(` + p + `, ' ') + 1)::timestamptz)`
}

// guarded is stmt, an ending of one job whose last parameter is $n-1,
// with the condition that the lock connection named by $n is alive
// wherever it matches the job.
func guarded(stmt string, n string) string {
	if stmt == "" {
		return ""
	}
	if !strings.Contains(stmt, jobMatch) {
		panic("sqlq: an ending without the job's match: " + stmt)
	}
	return strings.ReplaceAll(stmt, jobMatch, jobMatch+" AND "+holderAlive("$"+n+"::text"))
}

// deleteMany is SessionDeleteMany, forgetting the jobs' cancellation
// requests too with forget, committing asynchronously with async. Each
// job is a probe of the key (byKeys).
func deleteMany(schema string, forget, async bool) string {
	t := Ident(schema) + ".gue_jobs"
	asyncCond := ""
	if async {
		asyncCond = `
    AND set_config('synchronous_commit', 'off', true) IS NOT NULL`
	}
	forgetting := ""
	if forget {
		forgetting = `, c AS (DELETE FROM ` + Ident(schema) + `.gue_jobs_cancel r USING d WHERE r.queue = $1 AND r.job_id = d.job_id)`
	}
	return `WITH d AS (
  DELETE FROM ` + t + ` t USING ` + byKeys + `
  WHERE ` + byKeysMatch + `
    AND ` + holderAlive("$3::text") + asyncCond + `
  RETURNING t.job_id
)` + forgetting + `
SELECT string_agg(job_id::text, ',') FROM d`
}

// sessionLoad is SessionLoad, reading the IDs of the bigint[] ids.
func sessionLoad(t, ids string) string {
	return `SELECT c.job_id, c.queue, c.priority, c.run_at, c.job_type, c.args, c.error_count, c.last_error, c.metadata, c.max_attempts, c.unique_key
FROM unnest(` + ids + `) AS i(id) CROSS JOIN LATERAL (
  SELECT c.job_id, c.queue, c.priority, c.run_at, c.job_type, c.args, c.error_count, c.last_error, c.metadata, c.max_attempts, c.unique_key
  FROM ` + t + ` c WHERE c.queue = $1 AND c.job_id = i.id AND c.run_at <= now()
  LIMIT 1) c`
}

func newSession(s *Set, forget bool) Session {
	t := Ident(s.Schema) + ".gue_jobs"
	// The held IDs as an uncorrelated subquery: planned as a hashed
	// SubPlan, built once per statement. (<> ALL of the text parameter
	// cast per row parsed the whole list again on every row walked.)
	ready := `c.queue = $1 AND c.run_at <= now() AND c.job_id NOT IN (SELECT unnest($6::text::bigint[])) AND pg_backend_pid() = $7::int`
	out := Session{
		// The priorities are stepped through as the batch lock steps
		// through them (nextPriority); in each, one index scan from the
		// hint's position reads at most the locks still wanted plus
		// sessionWalkSlack rows, and the lock of each row it reads is tried
		// in a filter above that scan (a subquery with LIMIT is never
		// merged into its parent, and a volatile condition is never pushed
		// into it). The LIMITs above stop the scans as soon as enough locks
		// are taken, and a row is read, and its lock tried, only when one
		// is pulled: no lock is taken that is not returned. (The walk of
		// one row per step of a recursive query cost 20-40 us per row, the
		// scan about 1: 5-12 ms for 256 locks with 2,000 held against
		// 1.5-1.8 ms, EXPLAIN ANALYZE, PostgreSQL 15.) A row comparison over
		// (run_at, job_id) after the priority's equality is an index
		// condition.
		SessionLock: `WITH RECURSIVE u AS (
  SELECT count(*) FILTER (WHERE pg_advisory_unlock(x)) AS n FROM unnest($8::text::bigint[]) x WHERE pg_backend_pid() = $7::int
), prio(priority) AS (
  SELECT ` + nextPriority(t, "") + ` WHERE pg_backend_pid() = $7::int
  UNION ALL
  SELECT ` + nextPriority(t, "prio.priority") + ` FROM prio WHERE prio.priority IS NOT NULL
), w AS (
  SELECT j.job_id FROM prio CROSS JOIN LATERAL (
    SELECT f.job_id FROM (
      SELECT c.job_id FROM ` + t + ` c
      WHERE ` + ready + ` AND c.priority = prio.priority AND ` + pastHint + `
      ORDER BY c.run_at, c.job_id
      LIMIT $5::int + ` + strconv.Itoa(sessionWalkSlack) + `) f
    WHERE pg_try_advisory_lock(f.job_id)
    LIMIT $5::int) j
  LIMIT $5::int
)
SELECT job_id, 0::bigint FROM w
UNION ALL SELECT -1, 0 WHERE pg_backend_pid() <> $7::int
UNION ALL SELECT 0, n FROM u
UNION ALL SELECT -2, 0 WHERE set_config('` + lockedSetting + `', (SELECT coalesce(string_agg(job_id::text, ','), '') FROM w), true) IS NULL`,
		// The IDs drive the read, a primary key probe each, whatever the
		// table's statistics say: = ANY of the text parameter, on a table
		// without statistics, was a sequential scan that parsed the list
		// again on every row; a plain join of the IDs, with statistics
		// that put the queue at a few rows (none yet, or taken while it
		// was nearly empty), was a hash join over a scan of the whole
		// queue: 2-3 ms for 15 jobs of a queue of 5,000 (auto_explain,
		// bench -pressure, PostgreSQL 15). A subquery with LIMIT is never
		// merged into its parent, so each ID is a probe of its own.
		SessionLoad:          sessionLoad(t, `$2::text::bigint[]`),
		SessionLoadLocked:    sessionLoad(t, `('{' || coalesce(current_setting('`+lockedSetting+`', true), '') || '}')::bigint[]`),
		SessionUnlock:        `SELECT CASE WHEN pg_backend_pid() = $2::int THEN (SELECT count(*) FILTER (WHERE pg_advisory_unlock(x)) FROM unnest($1::text::bigint[]) x) ELSE -1 END`,
		SessionDelete:        guarded(s.Delete, "3"),
		SessionDeleteAsync:   guarded(s.DeleteAsync, "3"),
		SessionFail:          guarded(s.Fail, "5"),
		SessionSnooze:        guarded(s.Snooze, "4"),
		SessionDie:           guarded(s.Die, "6"),
		SessionDeleteMany:    deleteMany(s.Schema, forget, false),
		SessionHolder:        `SELECT pg_backend_pid()::text || ' ' || backend_start::text FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid()`,
		SessionHolderVisible: `SELECT ` + holderAlive("$1::text"),
	}
	if s.DeleteAsync != "" {
		out.SessionDeleteManyAsync = deleteMany(s.Schema, forget, true)
	}
	return out
}
