package conformance

import (
	"net/url"
	"sync/atomic"
	"testing"

	gue "github.com/gue-go/gue/core"
)

// A pool in session mode whose first round of jobs all end at once (500
// workers, released together) deletes them in groups of hundreds, on
// connections that have just opened, where the server plans a prepared
// statement's first runs with the values of its parameters. Each group
// still finds its jobs by their key: no statement of the pool reads the
// jobs table whole (sequential scans, counted on the server once the
// pool's backends end). Control: with the grouped deletion's array of IDs
// visible to the planner, a group of 500 hashes the table of 5,500 rows.
func testSessionBurstOfEndsProbes(t *testing.T, e *env) {
	needSessionMode(t, e)
	e.needSession(t, "the count waits for the pool's backends to end")
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Skipf("the test DSN is not a URL: %v", err)
	}
	const app = "gue_burst_probe"
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	own := e.open(t, u.String())
	c := gue.NewClient(own)
	const workers, backlog = 500, 5000
	for _, queue := range []string{"burst", "other"} {
		n := workers
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
		if running.Add(1) == workers {
			close(release)
		}
		<-release
		if done.Add(1) == workers {
			close(all)
		}
		return nil
	}}
	backends := func() int64 {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, app)
	}
	scanned := func() int64 {
		return e.count(`SELECT COALESCE(sum(seq_tup_read), 0) FROM pg_stat_user_tables WHERE relname = 'gue_jobs'`)
	}
	before := scanned()
	runPoolUntil(t, sessionPool(c, wm, workers, "burst"), all)
	if err := own.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pool's backends gone", func() bool { return backends() == 0 })
	if n := scanned() - before; n >= backlog {
		t.Errorf("%d rows of the jobs table read by sequential scans while %d jobs ended at once: a grouped ending read the table whole", n, workers)
	}
	// Counted after the scans: this count may scan the table itself.
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'burst'`); n != 0 {
		t.Errorf("%d jobs of the burst left, want none", n)
	}
}
