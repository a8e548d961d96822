package conformance

import (
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// The statements that end many jobs at once, batch mode's delete of a
// batch and session mode's grouped delete, find each job by its key,
// whatever the table's statistics say. With none yet (a new table, which
// the planner takes for a few hundred rows, a queue for 0.5% of them),
// each must not scan the whole queue (2,000 jobs) to find the few it
// ends. Measured on the server: the entries of the lock index read while
// a pool works 200 jobs; the lock statements read at most the locks they
// want plus a slack of rows each, and no ending reads the lock index.
// Control: with the jobs matched as queue = $1 AND job_id = ANY(...),
// the planner scans the queue through the lock index for every ending.

func testBatchEndsProbeTheirJobsOnly(t *testing.T, e *env) {
	if Citus() {
		t.Skip("on Citus the lock index's reads are counted on the workers' shards")
	}
	e.endsProbeTheirJobsOnly(t, func(c *gue.Client, wm gue.WorkMap) *gue.WorkerPool {
		return gue.NewWorkerPool(c, wm, 2, gue.WithPoolQueue("probe"), gue.WithPoolBatchSize(8),
			gue.WithPoolPollInterval(20*time.Millisecond))
	})
}

func testSessionEndsProbeTheirJobsOnly(t *testing.T, e *env) {
	needSessionMode(t, e)
	e.endsProbeTheirJobsOnly(t, func(c *gue.Client, wm gue.WorkMap) *gue.WorkerPool {
		return sessionPool(c, wm, 8, "probe")
	})
}

// endsProbeTheirJobsOnly runs the check above with the pool newPool
// builds, whose handlers write nothing, on connections of its own: once
// it has stopped they are closed, and their backends' counts reach the
// statistics as they end.
func (e *env) endsProbeTheirJobsOnly(t *testing.T, newPool func(*gue.Client, gue.WorkMap) *gue.WorkerPool) {
	const app = "gue_ends_probe"
	own := e.namedPool(t, app)
	c := gue.NewClient(own)
	const backlog, worked = probeBacklog, probeWorked
	e.enqueueProbes(t, c)
	var done atomic.Int64
	enough := make(chan struct{})
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		if done.Add(1) == worked {
			close(enough)
		}
		return nil
	}}
	reads := func() int64 {
		return e.count(`SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE indexrelname = 'gue_jobs_lock_idx'`)
	}
	if e.backendsNamed(app) == 0 {
		t.Fatalf("control: no backend named %s while the pool's connections are open", app)
	}
	before := reads()
	runPoolUntil(t, newPool(c, wm), enough)
	e.closeNamed(t, own, app)
	n := done.Load()
	if n < worked {
		t.Fatalf("%d jobs worked, want %d", n, worked)
	}
	checkLockIndexReads(t, reads()-before, n, backlog, "an ending scans the queue")
}

// probeBacklog jobs of queue "probe" are enqueued by enqueueProbes on a
// new table; probeWorked of them are worked.
const probeBacklog, probeWorked = 2000, 200

// enqueueProbes enqueues probeBacklog jobs of type "t" in queue "probe"
// through c, in one batch.
func (e *env) enqueueProbes(t *testing.T, c *gue.Client) {
	t.Helper()
	jobs := make([]*gue.Job, probeBacklog)
	for i := range jobs {
		jobs[i] = &gue.Job{Type: "t", Queue: "probe"}
	}
	if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
		t.Fatal(err)
	}
}

// checkLockIndexReads fails t when the entries of the lock index read
// while n jobs of a queue of backlog were worked are more than 100 a job
// (why says what did it then), or fewer than one a job: the lock
// statements' own reads have not reached the statistics.
func checkLockIndexReads(t *testing.T, read, n int64, backlog int, why string) {
	t.Helper()
	if read < n {
		t.Fatalf("%d entries of the lock index read for %d jobs: the lock statements' reads have not reached the statistics", read, n)
	}
	if perJob := read / n; perJob > 100 {
		t.Errorf("%d entries of the lock index read for %d jobs (%d a job) of a queue of %d: %s", read, n, perJob, backlog, why)
	}
	t.Logf("%d entries of the lock index read for %d jobs", read, n)
}

// namedPool opens a connection pool of its own, whose server backends
// carry application_name app: a test closes it once its pool has stopped,
// waits for those backends to end, and then reads their counts in the
// server's statistics. Skipped behind a transaction-mode pooler, where the
// server's backends outlive the pool's connections.
func (e *env) namedPool(t *testing.T, app string) adapter.ConnPool {
	t.Helper()
	e.needSession(t, "the count waits for the pool's backends to end")
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Skipf("the test DSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return e.open(t, u.String())
}

// backendsNamed counts the server backends of the test's database named
// app.
func (e *env) backendsNamed(app string) int64 {
	return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, app)
}

// closeNamed closes own, opened by namedPool with app, and waits until its
// server backends have ended, and so reported their counts.
func (e *env) closeNamed(t *testing.T, own adapter.ConnPool, app string) {
	t.Helper()
	if err := own.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pool's backends gone", func() bool { return e.backendsNamed(app) == 0 })
}
