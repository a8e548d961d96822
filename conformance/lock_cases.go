package conformance

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// lockCases is the suite's Lock group.
var lockCases = []testCase{
	{"JobEmptyQueue", testLockJobEmptyQueue},
	{"JobReturnsEveryField", testLockJobReturnsEveryField},
	{"JobSkipsLocked", testLockJobSkipsLocked},
	{"QueuesAreIsolated", testQueuesAreIsolated},
	{"HostileQueueNames", testHostileQueueNames},
	{"PriorityOrder", testPriorityOrder},
	{"DelayedJobWaitsForRunAt", testDelayedJobWaitsForRunAt},
	{"ErrorRecordsAndReschedules", testErrorRecordsAndReschedules},
	{"ErrorRollsBackHandlerWrites", testErrorRollsBackHandlerWrites},
	{"DeleteAndDoneRemoveJob", testDeleteAndDoneRemoveJob},
	{"DoneWithoutDeleteKeepsJob", testDoneWithoutDeleteKeepsJob},
	{"UndecodableRowChargedToJob", testUndecodableRowChargedToJob},
	{"UndecodableRowChargedAtShutdown", testUndecodableRowChargedAtShutdown},
	{"UndecodableRowChargedWhenReleaseFails", testUndecodableRowChargedWhenReleaseFails},
	{"ErrorAfterDeleteRestoresJob", testErrorAfterDeleteRestoresJob},
	{"TxNilAfterDoneOrError", testTxNilAfterDoneOrError},
}

func testLockJobEmptyQueue(t *testing.T, e *env) {
	c := e.client()
	j, err := c.LockJob(e.ctx, "")
	if j != nil || err != nil {
		t.Fatalf("LockJob on empty queue = %v, %v; want nil, nil", j, err)
	}
}

func testLockJobReturnsEveryField(t *testing.T, e *env) {
	c := e.client()
	runAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	want := e.enqueue(c, &gue.Job{Type: "Full", Queue: "fields", Priority: 3, RunAt: runAt, Args: []byte(`[1,"two"]`)})
	e.exec(`UPDATE gue_jobs SET error_count = 2, last_error = 'earlier' WHERE queue = $1 AND job_id = $2`, "fields", want.ID)
	got := e.lock(c, "fields")
	if got == nil {
		t.Fatal("no job locked")
	}
	defer got.Done(e.ctx)
	if got.ID != want.ID || got.Queue != "fields" || got.Priority != 3 || !got.RunAt.Equal(runAt) ||
		got.Type != "Full" || string(got.Args) != `[1,"two"]` || got.ErrorCount != 2 ||
		got.LastError != (sql.NullString{String: "earlier", Valid: true}) {
		t.Errorf("locked job = %+v\nwant ID %d, queue fields, priority 3, run_at %v, type Full, args [1,\"two\"], 2 errors, last error 'earlier'",
			got, want.ID, runAt)
	}
	if got.Tx() == nil {
		t.Error("locked job has no Tx")
	}
}

func testLockJobSkipsLocked(t *testing.T, e *env) {
	c := e.client()
	first := e.enqueue(c, &gue.Job{Type: "t"})
	j1 := e.lock(c, "")
	if j1 == nil || j1.ID != first.ID {
		t.Fatalf("first LockJob = %+v, want job %d", j1, first.ID)
	}
	if j2 := e.lock(c, ""); j2 != nil {
		j2.Done(e.ctx)
		t.Fatalf("second LockJob locked job %d while job %d is locked; want nil (SKIP LOCKED)", j2.ID, j1.ID)
	}
	second := e.enqueue(c, &gue.Job{Type: "t"})
	j2 := e.lock(c, "")
	if j2 == nil || j2.ID != second.ID {
		t.Fatalf("LockJob with one job locked = %+v, want the other job %d", j2, second.ID)
	}
	if err := j1.Done(e.ctx); err != nil { // released, not deleted
		t.Fatal(err)
	}
	j3 := e.lock(c, "")
	if j3 == nil || j3.ID != first.ID {
		t.Fatalf("after Done, LockJob = %+v, want released job %d again", j3, first.ID)
	}
	e.done(j2)
	e.done(j3)
}

func testQueuesAreIsolated(t *testing.T, e *env) {
	c := e.client()
	a := e.enqueue(c, &gue.Job{Type: "t", Queue: "a"})
	e.enqueue(c, &gue.Job{Type: "t", Queue: "b"})
	if j := e.lock(c, "c"); j != nil {
		t.Fatalf("queue c locked job %d of queue %q", j.ID, j.Queue)
	}
	if j := e.lock(c, ""); j != nil {
		t.Fatalf("queue \"\" locked job %d of queue %q", j.ID, j.Queue)
	}
	j := e.lock(c, "a")
	if j == nil || j.ID != a.ID || j.Queue != "a" {
		t.Fatalf("queue a: LockJob = %+v, want job %d", j, a.ID)
	}
	e.done(j)
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'b'`); n != 1 {
		t.Errorf("queue b has %d jobs after working queue a, want 1", n)
	}
}

func testHostileQueueNames(t *testing.T, e *env) {
	c := e.client()
	names := []string{`it's "quoted"`, `x'; DROP TABLE gue_jobs; --`, "ünïcødé 队列 🚀", `\`, " "}
	for _, q := range names {
		e.enqueue(c, &gue.Job{Type: "t", Queue: q})
	}
	for _, q := range names {
		j := e.lock(c, q)
		if j == nil || j.Queue != q {
			t.Fatalf("queue %q: LockJob = %+v", q, j)
		}
		e.done(j)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs left, want 0", n)
	}
}

func testPriorityOrder(t *testing.T, e *env) {
	c := e.client()
	now := time.Now()
	// Enqueued out of order: lower priority first, then earlier run_at.
	e.enqueue(c, &gue.Job{Type: "p5", Priority: 5})
	e.enqueue(c, &gue.Job{Type: "p0-late", Priority: 0, RunAt: now.Add(-time.Minute)})
	e.enqueue(c, &gue.Job{Type: "p-3", Priority: -3})
	e.enqueue(c, &gue.Job{Type: "p0-early", Priority: 0, RunAt: now.Add(-time.Hour)})
	e.enqueue(c, &gue.Job{Type: "p-10-future", Priority: -10, RunAt: now.Add(time.Hour)})
	want := []string{"p-3", "p0-early", "p0-late", "p5"}
	for _, typ := range want {
		j := e.lock(c, "")
		if j == nil || j.Type != typ {
			t.Fatalf("next job = %+v, want type %s (order %v)", j, typ, want)
		}
		e.done(j)
	}
	if j := e.lock(c, ""); j != nil {
		t.Fatalf("future job %s locked before its RunAt", j.Type)
	}
}

func testDelayedJobWaitsForRunAt(t *testing.T, e *env) {
	c := e.client()
	delay := time.Second
	start := time.Now()
	j := e.enqueue(c, &gue.Job{Type: "t", RunAt: start.Add(delay)})
	if got := e.lock(c, ""); got != nil {
		e.done(got) // ended, or the pool would wait for it when it closes
		took := time.Since(start)
		if took < delay {
			t.Fatalf("job %d locked %s after its enqueue began, before its RunAt (%s later)", got.ID, took, delay)
		}
		t.Skipf("the enqueue and the lock took %s, longer than the job's delay of %s (a loaded machine): nothing to check", took, delay)
	}
	// Time passing has no signal to wait on; poll until the job is ready.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := e.lock(c, ""); got != nil {
			if time.Now().Before(j.RunAt) {
				t.Errorf("job locked at %v, before its RunAt %v", time.Now(), j.RunAt)
			}
			e.done(got)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("delayed job never became ready")
}

func testErrorRecordsAndReschedules(t *testing.T, e *env) {
	var retries []int
	c := e.client(gue.WithClientBackoff(func(n int) time.Duration {
		retries = append(retries, n)
		return time.Duration(n) * time.Hour
	}))
	j := e.enqueue(c, &gue.Job{Type: "t"})
	for attempt := 1; attempt <= 2; attempt++ {
		locked := e.lock(c, "")
		if locked == nil {
			t.Fatalf("attempt %d: job not ready", attempt)
		}
		if err := locked.Error(e.ctx, "boom"); err != nil {
			t.Fatalf("Error: %v", err)
		}
		if err := locked.Done(e.ctx); err != nil {
			t.Errorf("Done after Error: %v, want nil", err)
		}
		var errorCount int64
		var lastError string
		var delay float64
		err := e.pool.QueryRow(e.ctx, `SELECT error_count, last_error, extract(epoch FROM run_at - now())::float8
			FROM gue_jobs WHERE queue = '' AND job_id = $1`, j.ID).Scan(&errorCount, &lastError, &delay)
		if err != nil {
			t.Fatal(err)
		}
		wantDelay := float64(attempt) * 3600
		if errorCount != int64(attempt) || lastError != "boom" || delay < wantDelay-60 || delay > wantDelay+1 {
			t.Errorf("after failure %d: error_count %d, last_error %q, run_at in %.0fs; want %d, boom, %.0fs",
				attempt, errorCount, lastError, delay, attempt, wantDelay)
		}
		if locked.ErrorCount != int32(attempt) || locked.LastError.String != "boom" {
			t.Errorf("job struct after Error: ErrorCount %d, LastError %v", locked.ErrorCount, locked.LastError)
		}
		if attempt == 1 { // make it ready again
			e.exec(`UPDATE gue_jobs SET run_at = now() - interval '1 second' WHERE queue = '' AND job_id = $1`, j.ID)
		}
	}
	if len(retries) != 2 || retries[0] != 1 || retries[1] != 2 {
		t.Errorf("backoff called with %v, want [1 2]", retries)
	}
	if got := e.lock(c, ""); got != nil {
		t.Errorf("failed job %d ready again before its backoff", got.ID)
	}
}

func testErrorRollsBackHandlerWrites(t *testing.T, e *env) {
	e.exec(`CREATE TABLE side_effects (job_id bigint)`)
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(0)))
	e.enqueue(c, &gue.Job{Type: "t"})
	j := e.lock(c, "")
	if _, err := j.Tx().Exec(e.ctx, `INSERT INTO side_effects VALUES ($1)`, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := j.Error(e.ctx, "failed after writing"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM side_effects`); n != 0 {
		t.Errorf("%d rows written by the failed job survived, want 0", n)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE error_count = 1`); n != 1 {
		t.Errorf("failure not recorded")
	}
}

func testDeleteAndDoneRemoveJob(t *testing.T, e *env) {
	c := e.client()
	e.enqueue(c, &gue.Job{Type: "t"})
	j := e.lock(c, "")
	if err := j.Delete(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.jobs(); n != 1 {
		t.Errorf("deleted job gone before Done: %d jobs visible, want 1", n)
	}
	if err := j.Done(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.Done(e.ctx); err != nil {
		t.Errorf("second Done: %v, want nil", err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs after Delete+Done, want 0", n)
	}
	if err := j.Delete(e.ctx); err == nil {
		t.Error("Delete after Done succeeded, want an error")
	}
}

func testDoneWithoutDeleteKeepsJob(t *testing.T, e *env) {
	c := e.client()
	want := e.enqueue(c, &gue.Job{Type: "t"})
	j := e.lock(c, "")
	if err := j.Done(e.ctx); err != nil {
		t.Fatal(err)
	}
	again := e.lock(c, "")
	if again == nil || again.ID != want.ID || again.ErrorCount != 0 {
		t.Fatalf("after Done without Delete, LockJob = %+v, want job %d unchanged", again, want.ID)
	}
	e.done(again)
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
		// The good jobs running is not enough to stop on: one worker can
		// run all five while the other's lock statement, which found the
		// undecodable row, has not returned; the stop then cuts that
		// statement off and the row goes back unlocked and uncharged
		// (nothing lost: the next lock charges it). So the pool runs until
		// the row's failure is recorded too.
		charged := make(chan struct{})
		go func() {
			defer close(charged)
			select {
			case <-all:
			case <-time.After(time.Minute):
				return // runPoolUntil reports it
			}
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				var n int64
				err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM gue_jobs WHERE queue = $1 AND job_id = $2 AND error_count > 0`, queue, bad.ID).Scan(&n)
				if err != nil || n > 0 {
					return // an error: the checks below say what is wrong
				}
			}
			t.Errorf("batch size %d: the undecodable job was not charged within a minute of the others' runs", batch)
		}()
		runPoolUntil(t, p, charged)
		if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue); n != 1 {
			t.Errorf("batch size %d: %d jobs left; want only the undecodable one", batch, n)
		}
		if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1 AND job_id = $2 AND error_count = 1
			AND last_error LIKE '%decode%' AND run_at > now() + interval '50 minutes' AND metadata::jsonb = '{"traceparent": 1}'::jsonb`, queue, bad.ID); n != 1 {
			var row string
			_ = e.pool.QueryRow(e.ctx, `SELECT format('error_count %s, last_error %s, run_at in %s, metadata %s', error_count, last_error, run_at - now(), metadata)
				FROM gue_jobs WHERE queue = $1 AND job_id = $2`, queue, bad.ID).Scan(&row)
			t.Errorf("batch size %d: the undecodable job's failure is not recorded on it (or its metadata changed): %s", batch, row)
		}
	}
}

// A pool that stops while its lock finds only an undecodable row still
// records that row's failure: the lock that found it is the one that
// charges it (a batch locked as shutdown begins is released unrun, and
// the failures it recorded go with that release). The Locked hook stops
// the pool right after the lock, before the pool looks at its context.
// One worker: with two, the other's lock can skip the row while the first
// holds it, find nothing and stop the pool while the first's lock is still
// running; that lock is cut off and the row goes back uncharged (nothing
// lost: the next lock charges it), which is not the case under test.
func testUndecodableRowChargedAtShutdown(t *testing.T, e *env) {
	for _, batch := range []int{0, 5} {
		queue := "poison-stop" + strings.Repeat("-batch", min(batch, 1))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var once sync.Once
		c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)), gue.WithClientHooks(gue.Hooks{
			Locked: func(_ context.Context, q string, j *gue.Job, err error) {
				if q == queue && j == nil && err == nil {
					once.Do(cancel)
				}
			},
		}))
		bad := e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
		e.exec(`UPDATE gue_jobs SET metadata = '{"traceparent": 1}' WHERE queue = $1 AND job_id = $2`, queue, bad.ID)
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error {
			t.Errorf("batch size %d: the undecodable job ran", batch)
			return nil
		}}, 1, gue.WithPoolQueue(queue), gue.WithPoolBatchSize(batch), gue.WithPoolPollInterval(10*time.Millisecond))
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		var row string
		if err := e.pool.QueryRow(e.ctx, `SELECT format('error_count %s, last_error %s', error_count, last_error)
			FROM gue_jobs WHERE queue = $1 AND job_id = $2`, queue, bad.ID).Scan(&row); err != nil {
			t.Fatalf("batch size %d: the undecodable job is gone: %v", batch, err)
		}
		if !strings.HasPrefix(row, "error_count 1, last_error ") || !strings.Contains(row, "decode") {
			t.Errorf("batch size %d: a pool stopping as it locked the undecodable job did not charge it: %s", batch, row)
		}
	}
}

// As UndecodableRowChargedAtShutdown in batch mode, with the batch's
// connection ended before its release commits: the failure is recorded on
// another connection all the same. The Locked hook ends the backends of
// the test's database that sit in a transaction (the batch's, which holds
// the row) and stops the pool.
func testUndecodableRowChargedWhenReleaseFails(t *testing.T, e *env) {
	e.needSession(t, "the batch's backend is ended by its process ID")
	queue := "poison-release"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	var ended int64
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)), gue.WithClientHooks(gue.Hooks{
		Locked: func(_ context.Context, q string, j *gue.Job, err error) {
			if q == queue && j == nil && err == nil {
				once.Do(func() {
					ended = e.count(`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
						WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%') x`)
					cancel()
				})
			}
		},
	}))
	bad := e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
	e.exec(`UPDATE gue_jobs SET metadata = '{"traceparent": 1}' WHERE queue = $1 AND job_id = $2`, queue, bad.ID)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error {
		t.Error("the undecodable job ran")
		return nil
	}}, 1, gue.WithPoolQueue(queue), gue.WithPoolBatchSize(5), gue.WithPoolPollInterval(10*time.Millisecond))
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ended == 0 {
		t.Fatal("no backend in a transaction when the batch was locked: the release did not fail")
	}
	var row string
	if err := e.pool.QueryRow(e.ctx, `SELECT format('error_count %s, last_error %s', error_count, last_error)
		FROM gue_jobs WHERE queue = $1 AND job_id = $2`, queue, bad.ID).Scan(&row); err != nil {
		t.Fatalf("the undecodable job is gone: %v", err)
	}
	// One worker, as in UndecodableRowChargedAtShutdown: with two, the
	// other's empty lock could stop the pool while the batch's statement
	// still runs (not idle in a transaction yet, so not ended).
	if strings.HasPrefix(row, "error_count 0,") || !strings.Contains(row, "decode") {
		t.Errorf("a batch released at shutdown whose commit failed did not charge the undecodable job: %s", row)
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

// As in gue v2, Tx returns nil once Done or Error has ended the job's
// transaction, so j.Tx() == nil tells a finished job.
func testTxNilAfterDoneOrError(t *testing.T, e *env) {
	c := e.client()
	e.enqueue(c, &gue.Job{Type: "t"})
	e.enqueue(c, &gue.Job{Type: "t"})
	done := e.lock(c, "")
	if done.Tx() == nil {
		t.Fatal("Tx() of a locked job is nil")
	}
	e.done(done)
	if tx := done.Tx(); tx != nil {
		t.Errorf("Tx() after Done = %v; want nil", tx)
	}
	failed := e.lock(c, "")
	if err := failed.Error(e.ctx, "boom"); err != nil {
		t.Fatal(err)
	}
	if tx := failed.Tx(); tx != nil {
		t.Errorf("Tx() after Error = %v; want nil", tx)
	}
	if (&gue.Job{Type: "t"}).Tx() != nil {
		t.Error("Tx() of a job that was never locked is not nil")
	}
}
