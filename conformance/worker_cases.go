package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// workerCases is the suite's Worker group.
var workerCases = []testCase{
	{"DeletesDoneJob", testWorkerDeletesDoneJob},
	{"RecordsHandlerError", testWorkerRecordsHandlerError},
	{"RecordsPanic", testWorkerRecordsPanic},
	{"RecordsUnknownType", testWorkerRecordsUnknownType},
	{"RecoversAbortedTx", testWorkerRecoversAbortedTx},
	{"CommitsHandlerWrites", testWorkerCommitsHandlerWrites},
	{"PoolStartTwice", testWorkerPoolStartTwice},
	{"GracefulShutdownFinishesJob", testGracefulShutdownFinishesJob},
	{"HardStopReturnsJob", testHardStopReturnsJob},
	{"GraceEndsWithWorkerStopped", graceEndsWithWorkerStopped()},
	{"BatchGraceEndsWithWorkerStopped", graceEndsWithWorkerStopped(gue.WithPoolBatchSize(10))},
	{"SessionGraceEndsWithWorkerStopped", inSessionMode(graceEndsWithWorkerStopped(gue.WithPoolSessionLocks(true)))},
	{"StopAfterJobLeavesNextUnlocked", testStopAfterJobLeavesNextUnlocked},
	{"ClosedPool", testClosedPool},
	{"ConcurrentWorkersExactlyOnce", testConcurrentWorkersExactlyOnce},
	{"BackoffCountsFromFailure", testBackoffCountsFromFailure},
}

func testWorkerDeletesDoneJob(t *testing.T, e *env) {
	c := e.client()
	var ran atomic.Int32
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		ran.Add(1)
		return nil
	}})
	e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	if w.WorkOne(e.ctx) {
		t.Error("WorkOne worked a job twice")
	}
	if ran.Load() != 1 || e.jobs() != 0 {
		t.Errorf("handler ran %d times, %d jobs left; want 1, 0", ran.Load(), e.jobs())
	}
}

func testWorkerRecordsHandlerError(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error { return errors.New("handler said no") }})
	e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	if n, msg := e.lastError(); n != 1 || msg != "handler said no" {
		t.Errorf("error_count %d, last_error %q; want 1, handler said no", n, msg)
	}
	if w.WorkOne(e.ctx) {
		t.Error("failed job retried before its backoff")
	}
}

func testWorkerRecordsPanic(t *testing.T, e *env) {
	c := e.client()
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error { panic("kaboom") }})
	e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	n, msg := e.lastError()
	if n != 1 || !strings.Contains(msg, "kaboom") || !strings.Contains(msg, "goroutine") {
		t.Errorf("error_count %d, last_error %q; want 1 and the panic value with a stack", n, msg)
	}
}

func testWorkerRecordsUnknownType(t *testing.T, e *env) {
	c := e.client()
	w := gue.NewWorker(c, gue.WorkMap{"known": func(j *gue.Job) error { return nil }})
	e.enqueue(c, &gue.Job{Type: "mystery"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	if n, msg := e.lastError(); n != 1 || !strings.Contains(msg, "mystery") {
		t.Errorf("error_count %d, last_error %q; want 1 and the unknown type named", n, msg)
	}
}

func testWorkerRecoversAbortedTx(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		// A failing statement aborts the transaction; the handler ignores it.
		_, _ = j.Tx().Exec(j.Context(), `SELECT 1/0`)
		return nil
	}})
	e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	if n, msg := e.lastError(); n != 1 || msg == "" {
		t.Errorf("error_count %d, last_error %q; want the aborted transaction recorded as an error", n, msg)
	}
}

func testWorkerCommitsHandlerWrites(t *testing.T, e *env) {
	e.exec(`CREATE TABLE results (job_id bigint)`)
	c := e.client()
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		_, err := j.Tx().Exec(j.Context(), `INSERT INTO results VALUES ($1)`, j.ID)
		return err
	}})
	j := e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	if n := e.count(`SELECT count(*) FROM results WHERE job_id = $1`, j.ID); n != 1 || e.jobs() != 0 {
		t.Errorf("%d result rows and %d jobs; want 1 and 0", n, e.jobs())
	}
}

func testWorkerPoolStartTwice(t *testing.T, e *env) {
	c := e.client()
	ctx, cancel := context.WithCancel(e.ctx)
	p := gue.NewWorkerPool(c, gue.WorkMap{}, 2, gue.WithPoolPollInterval(10*time.Millisecond))
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); !errors.Is(err, gue.ErrAlreadyStarted) {
		t.Errorf("second Start: %v, want ErrAlreadyStarted", err)
	}
	if err := p.Run(ctx); !errors.Is(err, gue.ErrAlreadyStarted) {
		t.Errorf("Run of a started pool: %v, want ErrAlreadyStarted", err)
	}
	cancel()
	w := gue.NewWorker(c, gue.WorkMap{})
	wctx, wcancel := context.WithCancel(e.ctx)
	defer wcancel()
	if err := w.Start(wctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(wctx); !errors.Is(err, gue.ErrAlreadyStarted) {
		t.Errorf("Run of a started worker: %v, want ErrAlreadyStarted", err)
	}
}

func testGracefulShutdownFinishesJob(t *testing.T, e *env) {
	c := e.client()
	started, release := make(chan *gue.Job), make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		started <- j
		<-release
		return j.Context().Err()
	}}, 2, gue.WithPoolPollInterval(10*time.Millisecond), gue.WithPoolGracePeriod(time.Minute))
	e.enqueue(c, &gue.Job{Type: "t"})
	ctx, cancel := context.WithCancel(e.ctx)
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	j := <-started
	cancel()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a job was in flight", err)
	default:
	}
	if err := j.Context().Err(); err != nil {
		t.Errorf("job context cancelled (%v) within the grace period", err)
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Errorf("Run returned %v after shutdown, want nil", err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs left; the in-flight job should have completed", n)
	}
}

// A pool's shutdown cancels a running job's context with cause
// ErrWorkerStopped once the grace period has passed, not before; its
// HardStop during the grace period cancels at once. Either way the job
// goes back to the queue unchanged. For a pool of opts' mode.
func graceEndsWithWorkerStopped(opts ...gue.WorkerPoolOption) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		c := e.client()
		for _, hard := range []bool{false, true} {
			queue := fmt.Sprintf("grace-hard-%v", hard)
			want := e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
			started, cause, release := make(chan struct{}), make(chan error, 1), make(chan struct{})
			grace := 300 * time.Millisecond
			if hard {
				grace = time.Hour
			}
			p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
				close(started)
				select {
				case <-j.Context().Done():
				case <-release: // the test failed: let the pool stop
					return nil
				}
				cause <- context.Cause(j.Context())
				return j.Context().Err()
			}}, 2, append([]gue.WorkerPoolOption{gue.WithPoolQueue(queue), gue.WithPoolPollInterval(10 * time.Millisecond),
				gue.WithPoolGracePeriod(grace)}, opts...)...)
			ctx, cancel := context.WithCancel(e.ctx)
			stopped := make(chan error, 1)
			go func() { stopped <- p.Run(ctx) }()
			<-started
			begun := time.Now()
			cancel()
			if hard {
				p.HardStop()
			}
			var err error
			select {
			case err = <-cause:
			case <-time.After(time.Minute + min(grace, time.Second)):
				close(release)
				t.Fatalf("hard %v: the job's context not cancelled a minute after the grace period", hard)
			}
			waited := time.Since(begun)
			if !errors.Is(err, gue.ErrWorkerStopped) {
				t.Errorf("hard %v: the job's context ended with cause %v, want ErrWorkerStopped", hard, err)
			}
			if !hard && waited < grace {
				t.Errorf("the job's context ended %v after the shutdown began, before the grace period (%v)", waited, grace)
			}
			if err := <-stopped; err != nil {
				t.Errorf("hard %v: Run: %v", hard, err)
			}
			// A lock statement cut off client-side by the hard stop lets go of
			// the job once its server session notices (see
			// testHardStopMethodReturnsJob).
			var j *gue.Job
			for deadline := time.Now().Add(5 * time.Second); j == nil && time.Now().Before(deadline); {
				if j = e.lock(c, queue); j == nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if j == nil || j.ID != want.ID || j.ErrorCount != 0 {
				t.Fatalf("hard %v: after the shutdown LockJob = %+v, want job %d back, unchanged", hard, j, want.ID)
			}
			e.done(j)
		}
	}
}

func testHardStopReturnsJob(t *testing.T, e *env) {
	c := e.client()
	started := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		close(started)
		<-j.Context().Done()
		return j.Context().Err()
	}}, 1, gue.WithPoolPollInterval(10*time.Millisecond), gue.WithPoolGracePeriod(0))
	want := e.enqueue(c, &gue.Job{Type: "t"})
	ctx, cancel := context.WithCancel(e.ctx)
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	<-started
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
	j := e.lock(c, "")
	if j == nil || j.ID != want.ID || j.ErrorCount != 0 {
		t.Fatalf("after hard stop LockJob = %+v, want job %d back, unchanged", j, want.ID)
	}
	e.done(j)
}

// A worker may lock its next job in the round trip that commits the last
// one (adapter.PipelineChainer): a worker of one queue, or of several whose
// other queues are quiet. Stopping right after a job must leave that next
// job in the queue, unlocked and unchanged, not held by a transaction nobody
// ends (which would also keep the test's pool from closing).
func testStopAfterJobLeavesNextUnlocked(t *testing.T, e *env) {
	for _, shape := range []struct {
		name   string
		queues []string
		listen bool
	}{
		{"one queue", []string{""}, true},
		// The quiet queue first: the worker finds it empty before it locks
		// the first job, so that job's commit carries the next lock. No
		// LISTEN: its start wakes every queue.
		{"a quiet queue besides", []string{"stop-quiet", ""}, false},
	} {
		c := e.client()
		started, release := make(chan struct{}), make(chan struct{})
		var ran atomic.Int32
		p := gue.NewWorkerPool(c, gue.WorkMap{
			"first": func(j *gue.Job) error {
				close(started)
				<-release
				return nil
			},
			"next": func(j *gue.Job) error {
				ran.Add(1)
				return nil
			},
		}, 1, gue.WithPoolQueues(shape.queues...), gue.WithPoolListen(shape.listen),
			gue.WithPoolPollInterval(10*time.Millisecond), gue.WithPoolGracePeriod(time.Minute))
		e.enqueue(c, &gue.Job{Type: "first", Priority: 1})
		next := e.enqueue(c, &gue.Job{Type: "next", Priority: 2})
		ctx, cancel := context.WithCancel(e.ctx)
		stopped := make(chan error)
		go func() { stopped <- p.Run(ctx) }()
		<-started
		cancel() // the job finishes within the grace period, then the pool stops
		close(release)
		if err := <-stopped; err != nil {
			t.Errorf("%s: Run: %v", shape.name, err)
		}
		if n := ran.Load(); n != 0 {
			t.Fatalf("%s: the next job ran %d times after shutdown began", shape.name, n)
		}
		if n := e.jobs(); n != 1 {
			t.Errorf("%s: %d jobs left, want 1 (the first one deleted, the next one untouched)", shape.name, n)
		}
		j := e.lock(c, "")
		if j == nil || j.ID != next.ID || j.ErrorCount != 0 {
			t.Fatalf("%s: after the stop LockJob = %+v, want job %d, unlocked and unchanged", shape.name, j, next.ID)
		}
		e.done(j)
	}
}

func testClosedPool(t *testing.T, e *env) {
	pool := e.open(t, e.dsn)
	c := gue.NewClient(pool)
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Enqueue(e.ctx, &gue.Job{Type: "t"}); !errors.Is(err, adapter.ErrPoolClosed) {
		t.Errorf("Enqueue on closed pool: %v, want adapter.ErrPoolClosed", err)
	}
	if j, err := c.LockJob(e.ctx, ""); j != nil || !errors.Is(err, adapter.ErrPoolClosed) {
		t.Errorf("LockJob on closed pool: %v, %v; want adapter.ErrPoolClosed", j, err)
	}
}

func testConcurrentWorkersExactlyOnce(t *testing.T, e *env) {
	workers, jobs := e.cfg.workers, e.cfg.jobs
	e.exec(`CREATE TABLE results (job_id bigint NOT NULL)`)
	c := e.client()
	for i := 0; i < jobs; i++ {
		e.enqueue(c, &gue.Job{Type: "t", Queue: "many"})
	}
	var (
		mu   sync.Mutex
		runs = map[int64]int{}
		all  = make(chan struct{})
	)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		if _, err := j.Tx().Exec(j.Context(), `INSERT INTO results VALUES ($1)`, j.ID); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		runs[j.ID]++
		if len(runs) == jobs && runs[j.ID] == 1 {
			close(all)
		}
		return nil
	}}, workers, gue.WithPoolQueue("many"), gue.WithPoolPollInterval(10*time.Millisecond))
	ctx, cancel := context.WithCancel(e.ctx)
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		t.Error("timed out waiting for every job to run")
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", id, n)
		}
	}
	if n := e.count(`SELECT count(DISTINCT job_id) FROM results`); n != int64(jobs) {
		t.Errorf("%d distinct results, want %d", n, jobs)
	}
	if n := e.count(`SELECT count(*) FROM results`); n != int64(jobs) {
		t.Errorf("%d results, want %d (no duplicates)", n, jobs)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs left, want 0", n)
	}
}

// A failed job's backoff counts from its failure, not from when it was
// locked: a job that ran longer than its backoff is not retried at once.
func testBackoffCountsFromFailure(t *testing.T, e *env) {
	e.exec(`CREATE TABLE failed_at (job_id bigint, at timestamptz)`)
	for _, batch := range []int{0, 2} {
		c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
		queue := "backoff" + strings.Repeat("-batch", min(batch, 1))
		j := e.enqueue(c, &gue.Job{Type: "slow", Queue: queue})
		failing := func(j *gue.Job) error {
			// The handler runs 300 ms past its lock, then notes the time.
			_, _ = e.pool.Exec(e.ctx, `SELECT pg_sleep(0.3)`)
			_, _ = e.pool.Exec(e.ctx, `INSERT INTO failed_at VALUES ($1, clock_timestamp())`, j.ID)
			return errors.New("slow failure")
		}
		p := gue.NewWorkerPool(c, gue.WorkMap{"slow": failing}, 1, gue.WithPoolQueue(queue),
			gue.WithPoolBatchSize(batch), gue.WithPoolPollInterval(10*time.Millisecond))
		done := make(chan struct{})
		go func() {
			waitFor(t, "the failure", func() bool {
				return e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 1`, j.ID) == 1
			})
			close(done)
		}()
		runPoolUntil(t, p, done)
		if n := e.count(`SELECT count(*) FROM gue_jobs g JOIN failed_at f USING (job_id)
			WHERE g.job_id = $1 AND g.run_at >= f.at + interval '1 hour'`, j.ID); n != 1 {
			t.Errorf("batch size %d: run_at is not at least an hour after the failure (counted from the lock instead)", batch)
		}
	}
}
