package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// batchCases is the suite's Batch group.
var batchCases = []testCase{
	{"CompletesEachJobByOutcome", testBatchCompletesEachJobByOutcome},
	{"ExactlyOnce", testBatchExactlyOnce},
	{"HardStopReturnsJobs", testBatchHardStopReturnsJobs},
	{"StopRunsNoNewBatch", testBatchStopRunsNoNewBatch},
	{"SwallowedTxErrorChargesJob", testBatchSwallowedTxErrorChargesJob},
	{"TimeoutInTxChargesJob", testBatchTimeoutInTxChargesJob},
	{"HardStopAbandonsStuckHandler", testBatchHardStopAbandonsStuckHandler},
	{"PauseStopsWaitingLockers", testBatchPauseStopsWaitingLockers},
	{"LoneWorkerRunsBatches", testBatchLoneWorkerRunsBatches},
	{"EndsProbeTheirJobsOnly", testBatchEndsProbeTheirJobsOnly},
	{"BurstOfEndsProbes", testBatchBurstOfEndsProbes},
}

// A lone Worker in batch mode runs as a pool of one: it locks a batch of
// jobs and runs them together, then commits them all. Checked by the rows:
// while the handlers wait, every job of the batch is locked; control: a
// lone Worker of the default mode holds one job at a time.
func testBatchLoneWorkerRunsBatches(t *testing.T, e *env) {
	c := e.client()
	for _, batch := range []int{4, 0} {
		queue := fmt.Sprintf("lone-batch-%d", batch)
		const total = 4
		for range total {
			e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
		}
		var mu sync.Mutex
		started, runs := 0, map[int64]int{}
		release := make(chan struct{})
		w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
			mu.Lock()
			started++
			runs[j.ID]++
			mu.Unlock()
			<-release
			return nil
		}}, gue.WithWorkerQueue(queue), gue.WithWorkerBatchSize(batch), gue.WithWorkerPollInterval(10*time.Millisecond))
		ctx, cancel := context.WithCancel(e.ctx)
		stopped := make(chan error)
		go func() { stopped <- w.Run(ctx) }()
		held := total // jobs running at once
		if batch == 0 {
			held = 1
		}
		waitFor(t, fmt.Sprintf("%d jobs started", held), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return started == held
		})
		unlocked := e.count(`SELECT count(*) FROM (SELECT 1 FROM gue_jobs WHERE queue = $1 FOR UPDATE SKIP LOCKED) x`, queue)
		if unlocked != int64(total-held) {
			t.Errorf("batch %d: %d of %d jobs unlocked while %d run; want %d", batch, unlocked, total, held, total-held)
		}
		close(release)
		waitFor(t, "the queue worked down", func() bool {
			return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue) == 0
		})
		cancel()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(runs) != total {
			t.Errorf("batch %d: %d jobs ran, want %d", batch, len(runs), total)
		}
		for id, n := range runs {
			if n != 1 {
				t.Errorf("batch %d: job %d ran %d times", batch, id, n)
			}
		}
		mu.Unlock()
	}
}

// A pause reaches a pool whose lockers wait for a free worker: once
// PauseQueue's second has passed, a worker that frees up gets no new job,
// in batch mode as in the default mode. The lockers of a batch-mode pool
// used to look at the pause before waiting for a worker and not again
// before locking; in both modes, a worker that found the cached answer
// stale while another worker looked it up took the stale answer.
func testBatchPauseStopsWaitingLockers(t *testing.T, e *env) {
	c := e.client()
	for _, batch := range []int{0, 2} {
		queue := fmt.Sprintf("pause-waiting-batch-%d", batch)
		const total = 20
		for i := 0; i < total; i++ {
			e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
		}
		started := make(chan int64, total)
		release := make(chan struct{})
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
			started <- j.ID
			<-release
			return nil
		}}, 2, gue.WithPoolQueue(queue), gue.WithPoolBatchSize(batch), gue.WithPoolPollInterval(20*time.Millisecond))
		ctx, cancel := context.WithCancel(e.ctx)
		stopped := make(chan error, 1)
		go func() { stopped <- p.Run(ctx) }()
		var releaseOnce sync.Once
		releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
		stop := func() {
			releaseAll()
			cancel()
			if err := <-stopped; err != nil {
				t.Error(err)
			}
		}
		select {
		case <-started:
		case <-time.After(time.Minute):
			stop()
			t.Fatalf("%s: no job started within a minute", queue)
		}
		if err := c.PauseQueue(e.ctx, queue); err != nil {
			t.Fatal(err)
		}
		// PauseQueue's promise: within a second every pool stops locking.
		// Meanwhile every worker is busy and the lockers wait for one.
		time.Sleep(time.Second)
		before := 1 + len(started)
		for len(started) > 0 {
			<-started
		}
		releaseAll()
		deadline := time.Now().Add(time.Minute)
		for left := int64(-1); left != int64(total-before); {
			if left = e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue); time.Now().After(deadline) {
				stop()
				t.Fatalf("%s: %d jobs left a minute after the release; want %d (%d ran, %d started since)", queue, left, total-before, before, len(started))
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The freed workers would take their next jobs at once: half a
		// second (a pause look-up's period) without one is the answer.
		time.Sleep(500 * time.Millisecond)
		if n := len(started); n > 0 {
			t.Errorf("%s: %d jobs started after the pause's second had passed (%d ran before)", queue, n, before)
		}
		stop()
		t.Logf("%s: %d jobs ran, none after the pause", queue, before)
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

// Batch mode, a pool of one worker: a graceful stop lets the running batch
// finish and commit, and starts no new batch; the jobs after it stay in the
// queue, unlocked and unrun.
func testBatchStopRunsNoNewBatch(t *testing.T, e *env) {
	c := e.client()
	for i := range 4 {
		typ := "first"
		if i >= 2 {
			typ = "next"
		}
		e.enqueue(c, &gue.Job{Type: typ, Priority: int16(i)})
	}
	var started sync.WaitGroup
	started.Add(2)
	release := make(chan struct{})
	var ranNext sync.Mutex
	nextRuns := 0
	p := gue.NewWorkerPool(c, gue.WorkMap{
		"first": func(j *gue.Job) error {
			started.Done()
			<-release
			return nil
		},
		"next": func(j *gue.Job) error {
			ranNext.Lock()
			defer ranNext.Unlock()
			nextRuns++
			return nil
		},
	}, 1, gue.WithPoolBatchSize(2), gue.WithPoolPollInterval(10*time.Millisecond), gue.WithPoolGracePeriod(time.Hour))
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	started.Wait()
	cancel()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	ranNext.Lock()
	defer ranNext.Unlock()
	if nextRuns != 0 {
		t.Errorf("jobs of the next batch ran %d times after shutdown began", nextRuns)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_type = 'first'`); n != 0 {
		t.Errorf("%d of the running batch's jobs left; they finished and should be committed", n)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_type = 'next' AND error_count = 0`); n != 2 {
		t.Errorf("%d of the 2 jobs of the next batch in the queue untouched", n)
	}
	for range 2 {
		j := e.lock(c, "")
		if j == nil || j.Type != "next" {
			t.Fatalf("LockJob after the stop = %+v, want a job of the next batch, unlocked", j)
		}
		e.done(j)
	}
}

// Batch mode: a job whose statement through Tx fails, but whose handler
// returns nil, pays alone; the batch's other jobs commit once.
func testBatchSwallowedTxErrorChargesJob(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	var mu sync.Mutex
	runs := map[int64]int{}
	for i := 0; i < 10; i++ {
		e.enqueue(c, &gue.Job{Type: "t", Args: []byte(`{"bad": ` + map[bool]string{true: "true", false: "false"}[i == 3] + `}`)})
	}
	all := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		if strings.Contains(string(j.Args), "true") {
			_, _ = j.Tx().Exec(j.Context(), `SELECT 1/0`) // error ignored
		}
		mu.Lock()
		defer mu.Unlock()
		if runs[j.ID]++; len(runs) == 10 {
			select {
			case <-all:
			default:
				close(all)
			}
		}
		return nil
	}}, 1, gue.WithPoolBatchSize(10), gue.WithPoolPollInterval(10*time.Millisecond))
	runPoolUntil(t, p, all)
	waitFor(t, "the batch's commit", func() bool { return e.jobs() <= 1 })
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE error_count = 1 AND last_error LIKE '%Job.Tx%'`); n != 1 {
		t.Errorf("%d jobs charged with the failed statement; want the one that ran it", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times; want once", id, n)
		}
	}
}

// Batch mode: a job timeout during a statement through Tx cuts the batch's
// connection; the job that caused it is charged, and the others run again
// at most once, not without limit.
func testBatchTimeoutInTxChargesJob(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	e.exec(`CREATE TABLE done_jobs (job_id bigint)`)
	var mu sync.Mutex
	runs := map[int64]int{}
	var slow int64
	for i := 0; i < 10; i++ {
		j := e.enqueue(c, &gue.Job{Type: "t"})
		if i == 3 {
			slow = j.ID
		}
	}
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		runs[j.ID]++
		mu.Unlock()
		if j.ID == slow {
			_, err := j.Tx().Exec(j.Context(), `SELECT pg_sleep(3)`)
			return err
		}
		_, err := j.Tx().Exec(j.Context(), `INSERT INTO done_jobs VALUES ($1)`, j.ID)
		return err
	}}, 1, gue.WithPoolBatchSize(10), gue.WithPoolJobTimeout(500*time.Millisecond),
		gue.WithPoolPollInterval(10*time.Millisecond))
	// The other jobs wait for the shared transaction inside their own
	// timeout, so some drivers time them out too: each must end done or
	// failed with its failure recorded, not run again and again.
	settled := func() bool {
		return e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count >= 1`, slow) == 1 &&
			e.count(`SELECT count(DISTINCT job_id) FROM done_jobs`)+
				e.count(`SELECT count(*) FROM gue_jobs WHERE job_id <> $1 AND error_count >= 1`, slow) == 9
	}
	done := make(chan struct{})
	go func() {
		waitFor(t, "the slow job's failure and every other job done or failed", settled)
		close(done)
	}()
	runPoolUntil(t, p, done)
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id <> $1 AND error_count = 0`, slow); n != 0 {
		t.Errorf("%d other jobs left with no failure recorded", n)
	}
	// Each batch that breaks charges the job whose timeout broke it, which
	// then backs off for an hour: a job runs at most once per charged job
	// and once more. Twice when only the slow job's timeout broke one; on a
	// loaded machine a second batch can break on another job's timeout
	// (2026-12-07: its nine jobs each waiting for the shared transaction).
	charged := int(e.count(`SELECT count(*) FROM gue_jobs WHERE error_count >= 1`))
	mu.Lock()
	defer mu.Unlock()
	most := 0
	for id, n := range runs {
		most = max(most, n)
		if n > 1+charged {
			t.Errorf("job %d ran %d times with %d jobs charged; want at most %d (once in each batch that broke, once after)", id, n, charged, 1+charged)
		}
	}
	t.Logf("a job timeout broke the batch's connection: %d jobs charged (the slow one among them), the others ran at most %d times", charged, most)
}

// Batch mode: a handler that ignores its context does not hold the batch's
// finished jobs uncommitted, nor Run, after a hard stop: its job goes back
// to the queue untouched and the others commit.
func testBatchHardStopAbandonsStuckHandler(t *testing.T, e *env) {
	c := e.client()
	stuck := e.enqueue(c, &gue.Job{Type: "stuck"})
	for i := 0; i < 9; i++ {
		e.enqueue(c, &gue.Job{Type: "quick"})
	}
	release := make(chan struct{})
	defer close(release)
	var mu sync.Mutex
	quick := 0
	nineDone := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{
		"stuck": func(*gue.Job) error { <-release; return nil }, // ignores its context
		"quick": func(*gue.Job) error {
			mu.Lock()
			defer mu.Unlock()
			if quick++; quick == 9 {
				close(nineDone)
			}
			return nil
		},
	}, 1, gue.WithPoolBatchSize(10), gue.WithPoolPollInterval(10*time.Millisecond), gue.WithPoolGracePeriod(time.Hour))
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- p.Run(ctx) }()
	select {
	case <-nineDone:
	case <-time.After(time.Minute):
		t.Fatal("the nine quick jobs did not run within a minute")
	}
	cancel()
	p.HardStop()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run had not returned a minute after cancel and HardStop")
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_type = 'quick'`); n != 0 {
		t.Errorf("%d finished jobs not committed", n)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 0`, stuck.ID); n != 1 {
		t.Error("the stuck job is not back in the queue untouched")
	}
}
