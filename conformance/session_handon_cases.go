package conformance

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// A pool that locks ahead (512 workers or more) gives a worker its next
// job as soon as the handler of its last one returns, while that job's
// ending is written, and lets a worker have one ending in flight at most.
// The test holds the rows of the quick jobs in a transaction of its own,
// so that their deletions wait: 511 workers wait in their handlers, the
// last one runs quick job A, and while A's deletion waits (A is still
// queued) that worker starts a second quick job, and no third, whose
// ending would have to wait behind A's. Controls: on the code before, the
// worker waits for A's deletion and starts no second quick job; without
// the bound of one ending, it starts all of them.
func testSessionHandOn(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	const workers, quick = 512, 40
	enqueue := func(typ string, prio int16, n int) []*gue.Job {
		t.Helper()
		jobs := make([]*gue.Job, n)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: typ, Queue: "handon", Priority: prio}
		}
		if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
			t.Fatal(err)
		}
		return jobs
	}
	// The lock statement goes by priority: A first, then the waiting
	// jobs, and the other quick ones last, locked ahead.
	a := enqueue("quick", 1, 1)[0]
	enqueue("wait", 2, workers-1)
	enqueue("quick", 3, quick-1)
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(e.ctx) }()
	if _, err := tx.Exec(e.ctx, `SELECT job_id FROM gue_jobs WHERE queue = 'handon' AND job_type = 'quick' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	runs := map[int64]int{}
	var waiting, quickRan atomic.Int32
	release := make(chan struct{})
	ran := func(j *gue.Job) {
		mu.Lock()
		runs[j.ID]++
		mu.Unlock()
	}
	wm := gue.WorkMap{
		"wait": func(j *gue.Job) error {
			ran(j)
			waiting.Add(1)
			select {
			case <-release:
			case <-j.Context().Done():
			}
			return nil
		},
		"quick": func(j *gue.Job) error {
			ran(j)
			quickRan.Add(1)
			return nil
		},
	}
	stop := startPool(t, sessionPool(c, wm, workers, "handon"))
	waitFor(t, "every other worker waiting in its job", func() bool { return waiting.Load() == workers-1 })
	waitFor(t, "a second quick job started while A's deletion waits", func() bool { return quickRan.Load() >= 2 })
	// Read in the test's transaction: the pool's waiting deletions may
	// hold every other connection of a small pool (the control without
	// the bound has two grouped deletions wait, beside the lock
	// connection).
	var left int64
	if err := tx.QueryRow(e.ctx, `SELECT count(*) FROM gue_jobs WHERE queue = 'handon' AND job_id = $1`, a.ID).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 1 {
		t.Fatalf("job A is gone before the transaction holding its row ended")
	}
	// No signal says that a job does not start: a third one would start
	// within milliseconds of the second (the control without the bound).
	time.Sleep(300 * time.Millisecond)
	if n := quickRan.Load(); n != 2 {
		t.Errorf("%d quick jobs started while A's deletion waits, want 2: one ending in flight per worker", n)
	}
	if n := waiting.Load(); n != workers-1 {
		t.Errorf("%d waiting jobs started, want %d", n, workers-1)
	}

	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the quick jobs done", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'handon' AND job_type = 'quick'`) == 0
	})
	close(release)
	waitFor(t, "the queue worked down", func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'handon'`) == 0
	})
	stop()
	mu.Lock()
	defer mu.Unlock()
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", id, n)
		}
	}
	if len(runs) != workers+quick-1 {
		t.Errorf("%d jobs ran, want %d", len(runs), workers+quick-1)
	}
	if got := e.advisoryLocks(); got != 0 {
		t.Errorf("%d advisory locks held after the pool stopped, want 0", got)
	}
}
