package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// runPool runs p until the test ends, then stops it and fails the test if
// Run returned an error.
func runPool(t *testing.T, p *gue.WorkerPool) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
	})
}

// runPoolUntil runs p until done is closed (or a minute passes), then stops
// it and waits for Run to return.
func runPoolUntil(t *testing.T, p *gue.WorkerPool, done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Error("timed out waiting for the jobs")
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func testBatchCompletesEachJobByOutcome(t *testing.T, e *env) {
	e.exec(`CREATE TABLE results (job_id bigint NOT NULL, kind text NOT NULL)`)
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	types := []string{"ok", "ok-tx", "fails-tx", "panics", "unknown"}
	const perType = 6
	for i := 0; i < perType; i++ {
		for _, typ := range types {
			e.enqueue(c, &gue.Job{Type: typ, Args: []byte(`{ "i" :  1 }`), Metadata: map[string]string{"m": typ}})
		}
	}
	var (
		mu   sync.Mutex
		runs int
		all  = make(chan struct{})
	)
	ran := func() {
		mu.Lock()
		defer mu.Unlock()
		if runs++; runs == perType*(len(types)-1) {
			close(all)
		}
	}
	write := func(j *gue.Job, kind string) error {
		_, err := j.Tx().Exec(j.Context(), `INSERT INTO results VALUES ($1, $2)`, j.ID, kind)
		return err
	}
	p := gue.NewWorkerPool(c, gue.WorkMap{
		"ok":    func(j *gue.Job) error { ran(); return nil },
		"ok-tx": func(j *gue.Job) error { defer ran(); return write(j, "ok") },
		"fails-tx": func(j *gue.Job) error {
			defer ran()
			if err := write(j, "failed"); err != nil {
				return err
			}
			return errors.New("failed after writing")
		},
		"panics": func(j *gue.Job) error { ran(); panic("boom") },
	}, 2, gue.WithPoolBatchSize(7), gue.WithPoolPollInterval(10*time.Millisecond))
	runPoolUntil(t, p, all)
	// Unknown types are not counted by the handlers; wait for them in the table.
	deadline := time.Now().Add(10 * time.Second)
	for e.count(`SELECT count(*) FROM gue_jobs WHERE job_type = 'unknown' AND error_count = 1`) < perType && time.Now().Before(deadline) {
		gue.NewWorker(c, gue.WorkMap{}, gue.WithWorkerBatchSize(7)).WorkOne(e.ctx)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_type IN ('ok', 'ok-tx')`); n != 0 {
		t.Errorf("%d successful jobs left, want 0", n)
	}
	for _, typ := range []string{"fails-tx", "panics", "unknown"} {
		n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_type = $1 AND error_count = 1 AND last_error <> ''
			AND run_at > now() + interval '50 minutes' AND args::text = '{ "i" :  1 }' AND metadata->>'m' = $1`, typ)
		if n != perType {
			t.Errorf("%s: %d of %d jobs rescheduled with their error, args and metadata", typ, n, perType)
		}
	}
	if n := e.count(`SELECT count(*) FROM results WHERE kind = 'ok'`); n != perType {
		t.Errorf("%d writes of successful jobs committed, want %d", n, perType)
	}
	if n := e.count(`SELECT count(*) FROM results WHERE kind = 'failed'`); n != 0 {
		t.Errorf("%d writes of failed jobs committed, want 0", n)
	}
}

func testBatchExactlyOnce(t *testing.T, e *env) {
	e.exec(`CREATE TABLE results (job_id bigint NOT NULL)`)
	c := e.client()
	const jobs = 500
	for i := 0; i < jobs; i++ {
		e.enqueue(c, &gue.Job{Type: "t"})
	}
	var (
		mu   sync.Mutex
		runs = map[int64]int{}
		all  = make(chan struct{})
	)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		if j.ID%2 == 0 { // half write through the shared transaction
			if _, err := j.Tx().Exec(j.Context(), `INSERT INTO results VALUES ($1)`, j.ID); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if runs[j.ID]++; len(runs) == jobs && runs[j.ID] == 1 {
			close(all)
		}
		return nil
	}}, 4, gue.WithPoolBatchSize(25), gue.WithPoolPollInterval(10*time.Millisecond))
	runPoolUntil(t, p, all)
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", id, n)
		}
	}
	if n := e.count(`SELECT count(DISTINCT job_id) FROM results`); n != jobs/2 || e.count(`SELECT count(*) FROM results`) != jobs/2 {
		t.Errorf("%d distinct results, want %d exactly once", n, jobs/2)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs left, want 0", n)
	}
}

func testBatchHardStopReturnsJobs(t *testing.T, e *env) {
	c := e.client()
	for i := 0; i < 3; i++ {
		e.enqueue(c, &gue.Job{Type: "t", Priority: int16(i), Metadata: map[string]string{"k": "v"}})
	}
	var started sync.WaitGroup
	started.Add(3)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		started.Done()
		<-j.Context().Done()
		return j.Context().Err()
	}}, 1, gue.WithPoolBatchSize(10), gue.WithPoolPollInterval(10*time.Millisecond), gue.WithPoolGracePeriod(time.Hour))
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	started.Wait()
	cancel()
	p.HardStop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE error_count = 0 AND run_at <= now() AND metadata->>'k' = 'v'`); n != 3 {
		t.Errorf("%d of 3 jobs back in the queue untouched", n)
	}
}
