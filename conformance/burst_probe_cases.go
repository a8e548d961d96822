package conformance

import (
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// The statements that end many jobs at once find each job by its key also
// on connections that have just opened, where the server plans a prepared
// statement's first runs with the values of its parameters (and lib/pq's
// every run): no statement of the pool reads the jobs table whole
// (sequential scans, counted on the server once the pool's backends end),
// while burstJobs jobs, released together, end in groups of hundreds
// beside 5,000 others. Control: with the array of IDs visible to the
// planner, a group of 500 hashes the table of 5,500 rows.

// A pool in session mode of 500 workers, whose first round of jobs all
// end at once, deletes them by grouped statements.
func testSessionBurstOfEndsProbes(t *testing.T, e *env) {
	needSessionMode(t, e)
	e.burstOfEndsProbes(t, func(c *gue.Client, wm gue.WorkMap) *gue.WorkerPool {
		return sessionPool(c, wm, burstJobs, "burst")
	})
}

// A pool in batch mode of one worker runs the 500 jobs as one batch and
// deletes them in one statement.
func testBatchBurstOfEndsProbes(t *testing.T, e *env) {
	if Citus() {
		t.Skip("on Citus a batch's jobs are deleted by = ANY, and the scans are counted on the workers' shards")
	}
	e.burstOfEndsProbes(t, func(c *gue.Client, wm gue.WorkMap) *gue.WorkerPool {
		return gue.NewWorkerPool(c, wm, 1, gue.WithPoolQueue("burst"), gue.WithPoolBatchSize(burstJobs),
			gue.WithPoolPollInterval(20*time.Millisecond))
	})
}

// burstJobs is how many jobs burstOfEndsProbes releases at once.
const burstJobs = 500

// burstOfEndsProbes runs the check above with the pool newPool builds on
// queue "burst", on connections of its own.
func (e *env) burstOfEndsProbes(t *testing.T, newPool func(*gue.Client, gue.WorkMap) *gue.WorkerPool) {
	const app = "gue_burst_probe"
	own := e.namedPool(t, app)
	c := gue.NewClient(own)
	const backlog = 5000
	for _, queue := range []string{"burst", "other"} {
		n := burstJobs
		if queue == "other" {
			n = backlog // a table larger than the groups, never worked
		}
		jobs := make([]*gue.Job, n)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "t", Queue: queue}
		}
		if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
			t.Fatal(err)
		}
	}
	var running, done atomic.Int64
	release, all := make(chan struct{}), make(chan struct{})
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		if running.Add(1) == burstJobs {
			close(release)
		}
		<-release
		if done.Add(1) == burstJobs {
			close(all)
		}
		return nil
	}}
	scanned := func() int64 {
		return e.count(`SELECT COALESCE(sum(seq_tup_read), 0) FROM pg_stat_user_tables WHERE relname = 'gue_jobs'`)
	}
	before := scanned()
	runPoolUntil(t, newPool(c, wm), all)
	e.closeNamed(t, own, app)
	if n := scanned() - before; n >= backlog {
		t.Errorf("%d rows of the jobs table read by sequential scans while %d jobs ended at once: an ending read the table whole", n, burstJobs)
	}
	// Counted after the scans: this count may scan the table itself.
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'burst'`); n != 0 {
		t.Errorf("%d jobs of the burst left, want none", n)
	}
}
