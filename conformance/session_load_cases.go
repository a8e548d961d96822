package conformance

import (
	"sync/atomic"
	"testing"

	gue "github.com/gue-go/gue/core"
)

// A pool in session mode reads the jobs it locked by their keys, whatever
// the table's statistics say: with none yet (a new table, which the
// planner takes for a few hundred rows, a queue for 0.5% of them), the
// read after each lock statement must not scan the whole queue (2,000
// jobs) to find the few it took.
// Measured on the server: the entries of the lock index read while the
// pool works 200 jobs, once the lock connection's backend has ended (its
// counts reach the statistics by then). The lock walk reads at most the
// locks it wants plus a slack of 64 rows a statement; every job calls
// j.Tx(), so that it ends by its key alone, in its own transaction.
// Control: with the read as a plain join of the IDs, the planner scans the
// queue through the lock index for every read.
func testSessionLoadProbesItsJobsOnly(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	const backlog, worked = probeBacklog, probeWorked
	e.enqueueProbes(t, c)
	var done, lockPID atomic.Int64
	enough := make(chan struct{})
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		if lockPID.Load() == 0 {
			// The lock connection holds this job's lock now.
			lockPID.Store(e.count(`SELECT COALESCE(max(pid), 0) FROM pg_locks WHERE locktype = 'advisory' AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`))
		}
		j.Tx() // its end: a delete by its key, in its own transaction
		if done.Add(1) == worked {
			close(enough)
		}
		return nil
	}}
	reads := func() int64 {
		return e.count(`SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE indexrelname = 'gue_jobs_lock_idx'`)
	}
	before := reads()
	runPoolUntil(t, sessionPool(c, wm, 8, "probe"), enough)
	pid := lockPID.Load()
	if pid == 0 {
		t.Fatal("no advisory lock seen while a job ran")
	}
	// A backend's counts reach the statistics before it leaves
	// pg_stat_activity.
	waitFor(t, "the lock connection's backend gone", func() bool {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid) == 0
	})
	checkLockIndexReads(t, reads()-before, done.Load(), backlog, "the read after each lock scans the queue")
}
