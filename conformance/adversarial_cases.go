package conformance

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// Cases of hostile but ordinary use: each failed before its fix.

// waitFor polls cond (the database is the only signal of other workers'
// progress) until it holds, failing after a minute of no success.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after a minute waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
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

// A job whose RunAt is ready by the time its transaction commits is
// announced, even when the transaction began before that RunAt.
func testNotifyReadyAtCommit(t *testing.T, e *env) {
	if _, ok := e.pool.(adapter.Listener); !ok {
		t.Skip("the adapter does not implement adapter.Listener; worker pools poll")
	}
	c := e.client()
	picked := make(chan struct{}, 2)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error { picked <- struct{}{}; return nil }}, 1,
		gue.WithPoolQueue("late-tx"), gue.WithPoolPollInterval(time.Hour))
	runPool(t, p)
	e.enqueue(c, &gue.Job{Type: "t", Queue: "late-tx"}) // proves the pool listens
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("first job not picked up within 20s")
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	if _, err := tx.Exec(e.ctx, `SELECT pg_sleep(0.2)`); err != nil { // now() stays at the start
		t.Fatal(err)
	}
	if err := c.EnqueueTx(e.ctx, &gue.Job{Type: "t", Queue: "late-tx", RunAt: time.Now()}, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("a job ready at commit was not announced: not picked up within 20s (the poll interval is an hour)")
	}
	// A client clock 300 ms ahead of the server's: the job is announced and
	// the woken worker looks again when it is due.
	e.enqueue(c, &gue.Job{Type: "t", Queue: "late-tx", RunAt: time.Now().Add(300 * time.Millisecond)})
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("a job due 300 ms after its enqueue was not picked up within 20s (the poll interval is an hour)")
	}
}

// A RunAt outside the years 1 to 9999 (Go's year 0 is 1 BC) is refused at
// enqueue, single or batch, and nothing is written: some drivers send it as
// text PostgreSQL rejects, and once stored it broke the hinted lock query.
func testRunAtOutOfRange(t *testing.T, e *env) {
	c := e.client()
	for _, at := range []time.Time{time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if err := c.Enqueue(e.ctx, &gue.Job{Type: "t", RunAt: at}); !errors.Is(err, gue.ErrInvalidRunAt) {
			t.Errorf("Enqueue with RunAt %v = %v; want ErrInvalidRunAt", at, err)
		}
		if err := c.EnqueueBatch(e.ctx, []*gue.Job{{Type: "t"}, {Type: "t", RunAt: at}}); !errors.Is(err, gue.ErrInvalidRunAt) {
			t.Errorf("EnqueueBatch with RunAt %v = %v; want ErrInvalidRunAt", at, err)
		}
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs written", n)
	}
}

// A queue name longer than a NOTIFY payload, in multi-byte characters.
func testLongQueueName(t *testing.T, e *env) {
	c := e.client()
	queue := "x" + strings.Repeat("é", 4000)
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
	if err := c.EnqueueBatch(e.ctx, []*gue.Job{{Type: "t", Queue: queue}}); err != nil {
		t.Fatalf("EnqueueBatch to a 8001-byte queue name: %v", err)
	}
	got := e.lock(c, queue)
	if got == nil || got.ID != j.ID {
		t.Fatalf("LockJob(long queue) = %v; want job %d", got, j.ID)
	}
	e.done(got)
}

// The same *Job twice in one EnqueueBatch is refused clearly, and nothing
// is written; a struct enqueued again gets a fresh RunAt.
func testEnqueueSameStructTwice(t *testing.T, e *env) {
	c := e.client()
	j := &gue.Job{Type: "t"}
	err := c.EnqueueBatch(e.ctx, []*gue.Job{j, {Type: "t"}, j})
	if err == nil || !strings.Contains(err.Error(), "same *Job") || strings.Contains(err.Error(), "pkey") {
		t.Errorf("EnqueueBatch with one *Job twice = %v; want a clear error naming the repeated *Job", err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs written by a refused batch", n)
	}
	k := &gue.Job{Type: "t"}
	e.enqueue(c, k)
	first := k.RunAt
	e.enqueue(c, k)
	if !k.RunAt.After(first) {
		t.Errorf("enqueued again, the struct kept its old RunAt %v (now %v); want a fresh one", first, k.RunAt)
	}
	given := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	k.RunAt = given
	e.enqueue(c, k)
	if !k.RunAt.Equal(given) {
		t.Errorf("a RunAt set by the caller changed to %v", k.RunAt)
	}
}

// A row whose metadata cannot be decoded is charged to that job (its error
// recorded, retried later) and never stops the others, in both modes.
func testUndecodableRowChargedToJob(t *testing.T, e *env) {
	for _, batch := range []int{0, 5} {
		queue := "poison" + strings.Repeat("-batch", min(batch, 1))
		c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
		bad := e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
		e.exec(`UPDATE gue_jobs SET metadata = '{"traceparent": 1}' WHERE queue = $1 AND job_id = $2`, queue, bad.ID)
		for i := 0; i < 5; i++ {
			e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
		}
		var mu sync.Mutex
		runs := 0
		all := make(chan struct{})
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error {
			mu.Lock()
			defer mu.Unlock()
			if runs++; runs == 5 {
				close(all)
			}
			return nil
		}}, 2, gue.WithPoolQueue(queue), gue.WithPoolBatchSize(batch), gue.WithPoolPollInterval(10*time.Millisecond))
		runPoolUntil(t, p, all)
		if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue); n != 1 {
			t.Errorf("batch size %d: %d jobs left; want only the undecodable one", batch, n)
		}
		if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1 AND job_id = $2 AND error_count = 1
			AND last_error LIKE '%decode%' AND run_at > now() + interval '50 minutes' AND metadata::jsonb = '{"traceparent": 1}'::jsonb`, queue, bad.ID); n != 1 {
			t.Errorf("batch size %d: the undecodable job's failure is not recorded on it (or its metadata changed)", batch)
		}
	}
}

// Error after Delete restores the job, rolls back the writes made through
// Tx, and records the failure.
func testErrorAfterDeleteRestoresJob(t *testing.T, e *env) {
	e.exec(`CREATE TABLE written (v int)`)
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	j := e.enqueue(c, &gue.Job{Type: "t"})
	got := e.lock(c, "")
	if _, err := got.Tx().Exec(e.ctx, `INSERT INTO written VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if err := got.Delete(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := got.Error(e.ctx, "changed my mind"); err != nil {
		t.Fatalf("Error after Delete: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 1 AND last_error = 'changed my mind'`, j.ID); n != 1 {
		t.Error("Error after Delete lost the job or its failure")
	}
	if n := e.count(`SELECT count(*) FROM written`); n != 0 {
		t.Errorf("%d writes through Tx committed by Error after Delete; want them rolled back", n)
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
	mu.Lock()
	defer mu.Unlock()
	for id, n := range runs {
		if n > 2 {
			t.Errorf("job %d ran %d times; want at most twice (once in the batch that broke, once after)", id, n)
		}
	}
}

// Jobs that land behind the lock hints (a RunAt in the past) are worked in
// order, promptly, not one a second while a backlog runs ahead of them.
func testLateJobsAreNotStarvedByHints(t *testing.T, e *env) {
	c := e.client()
	backlog := make([]*gue.Job, 20_000)
	for i := range backlog {
		backlog[i] = &gue.Job{Type: "t"}
	}
	if err := c.EnqueueBatch(e.ctx, backlog); err != nil {
		t.Fatal(err)
	}
	const late = 200
	var (
		mu       sync.Mutex
		order    []bool // true: a late job
		lateRuns int
		started  = make(chan struct{})
		all      = make(chan struct{})
	)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		defer mu.Unlock()
		isLate := string(j.Args) == `"late"`
		order = append(order, isLate)
		if len(order) == 2000 {
			close(started)
		}
		if isLate {
			if lateRuns++; lateRuns == late {
				close(all)
			}
		}
		return nil
	}}, 4, gue.WithPoolPollInterval(10*time.Millisecond))
	go func() {
		<-started
		jobs := make([]*gue.Job, late)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "t", Args: []byte(`"late"`), RunAt: time.Now().Add(-time.Hour)}
		}
		if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
			t.Error(err)
		}
	}()
	runPoolUntil(t, p, all)
	mu.Lock()
	defer mu.Unlock()
	first, last := -1, -1
	for i, l := range order {
		if l {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		t.Fatal("no late job ran")
	}
	// In order, the late jobs come first: once found, they run together,
	// not one per full scan with the backlog in between.
	if between := last - first + 1 - late; between > 100 {
		t.Errorf("%d backlog jobs ran between the first and the last of %d late jobs; want them together", between, late)
	}
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
