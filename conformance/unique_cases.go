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

// uniqueCases is the suite's Unique group: Job.UniqueKey.
var uniqueCases = []testCase{
	{"DuplicateReturnsLiveJob", testUniqueDuplicateReturnsLiveJob},
	{"InTransaction", testUniqueInTransaction},
	{"BatchAllOrNothing", testUniqueBatchAllOrNothing},
	{"BatchTxKeepsCallerTx", testUniqueBatchTxKeepsCallerTx},
	{"FreedWhenDoneOrDead", testUniqueFreedWhenDoneOrDead},
	{"KeptByBatchModeRetry", testUniqueKeptByBatchModeRetry},
	{"ConcurrentEnqueues", testUniqueConcurrentEnqueues},
	{"BadKey", testUniqueBadKey},
	{"RunningJobRefusedAtOnce", testUniqueRunningJobRefusedAtOnce},
	{"RunningBatchJobRefusedAtOnce", testUniqueRunningBatchJobRefusedAtOnce},
}

func testUniqueDuplicateReturnsLiveJob(t *testing.T, e *env) {
	c := e.client()
	first := e.enqueue(c, &gue.Job{Type: "t", Queue: "q", UniqueKey: "order-1"})
	dup := &gue.Job{Type: "t", Queue: "q", UniqueKey: "order-1"}
	if err := c.Enqueue(e.ctx, dup); !errors.Is(err, gue.ErrDuplicateJob) || dup.ID != first.ID {
		t.Fatalf("duplicate Enqueue = %v, ID %d; want ErrDuplicateJob and the live job's ID %d", err, dup.ID, first.ID)
	}
	e.enqueue(c, &gue.Job{Type: "t", Queue: "other", UniqueKey: "order-1"}) // another queue: not a duplicate
	e.enqueue(c, &gue.Job{Type: "t", Queue: "q"})                           // no key: never a duplicate
	e.enqueue(c, &gue.Job{Type: "t", Queue: "q"})
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'q' AND unique_key = 'order-1'`); n != 1 {
		t.Errorf("%d jobs with the key; want 1", n)
	}
	if n := e.jobs(); n != 4 {
		t.Errorf("%d jobs; want 4", n)
	}
}

// The check sees the caller's own uncommitted jobs; a concurrent
// uncommitted duplicate makes the enqueue wait for that transaction: its
// commit makes the enqueue a duplicate, its rollback lets it insert.
func testUniqueInTransaction(t *testing.T, e *env) {
	c := e.client()
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := &gue.Job{Type: "t", UniqueKey: "k"}
	if err := c.EnqueueTx(e.ctx, first, tx); err != nil {
		t.Fatal(err)
	}
	again := &gue.Job{Type: "t", UniqueKey: "k"}
	if err := c.EnqueueTx(e.ctx, again, tx); !errors.Is(err, gue.ErrDuplicateJob) || again.ID != first.ID {
		t.Errorf("duplicate in the same transaction = %v, ID %d; want ErrDuplicateJob, ID %d", err, again.ID, first.ID)
	}
	// A concurrent enqueue of the key waits for tx.
	done := make(chan error, 1)
	concurrent := &gue.Job{Type: "t", UniqueKey: "k"}
	go func() { done <- c.Enqueue(e.ctx, concurrent) }()
	defer func() { _ = tx.Rollback(e.ctx) }() // a failed wait must not leave the enqueue blocked
	waitFor(t, "the concurrent enqueue to wait on the uncommitted job", e.lockWaits)
	if err := tx.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("enqueue after the concurrent duplicate rolled back = %v; want it inserted", err)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE unique_key = 'k'`); n != 1 {
		t.Errorf("%d jobs with the key; want 1", n)
	}
}

// EnqueueBatch is all or nothing: a duplicate in the batch, or of a live
// job, fails it with ErrDuplicateJob and writes nothing, on every write
// path (INSERT, pipelined INSERT, COPY).
func testUniqueBatchAllOrNothing(t *testing.T, e *env) {
	c := e.client()
	e.enqueue(c, &gue.Job{Type: "t", UniqueKey: "live"})
	inBatch := []*gue.Job{{Type: "t", UniqueKey: "a"}, {Type: "t"}, {Type: "t", UniqueKey: "a"}}
	if err := c.EnqueueBatch(e.ctx, inBatch); !errors.Is(err, gue.ErrDuplicateJob) || !strings.Contains(err.Error(), "jobs 0 and 2") {
		t.Errorf("a batch with a key twice = %v; want ErrDuplicateJob naming jobs 0 and 2", err)
	}
	for _, size := range []int{2, 1500} { // small: INSERT (pipelined with pgx v5); large: COPY where the adapter can
		jobs := make([]*gue.Job, size)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "t"}
		}
		jobs[size-1].UniqueKey = "live"
		if err := c.EnqueueBatch(e.ctx, jobs); !errors.Is(err, gue.ErrDuplicateJob) {
			t.Errorf("a batch of %d with a live job's key = %v; want ErrDuplicateJob", size, err)
		}
	}
	if n := e.jobs(); n != 1 {
		t.Errorf("%d jobs; want only the live one: refused batches write nothing", n)
	}
	ok := []*gue.Job{{Type: "t", UniqueKey: "b"}, {Type: "t", UniqueKey: "c"}}
	if err := c.EnqueueBatch(e.ctx, ok); err != nil {
		t.Fatalf("a batch with distinct new keys: %v", err)
	}
}

// A refused EnqueueBatchTx leaves the caller's transaction as it was: its
// earlier and later statements commit. EnqueueTx of the same duplicate is
// the control (its statement never fails on a key).
func testUniqueBatchTxKeepsCallerTx(t *testing.T, e *env) {
	c := e.client()
	e.enqueue(c, &gue.Job{Type: "t", UniqueKey: "live"})
	for _, size := range []int{2, 1500} { // small: INSERT; large: COPY where the adapter can
		queue := fmt.Sprintf("caller-%d", size)
		tx, err := e.pool.Begin(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.EnqueueTx(e.ctx, &gue.Job{Type: "t", Queue: queue}, tx); err != nil {
			t.Fatal(err)
		}
		jobs := make([]*gue.Job, size)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "t"}
		}
		jobs[size-1].UniqueKey = "live"
		if err := c.EnqueueBatchTx(e.ctx, jobs, tx); !errors.Is(err, gue.ErrDuplicateJob) {
			t.Errorf("EnqueueBatchTx of %d with a live job's key = %v; want ErrDuplicateJob", size, err)
		}
		if err := c.EnqueueTx(e.ctx, &gue.Job{Type: "t", UniqueKey: "live"}, tx); !errors.Is(err, gue.ErrDuplicateJob) {
			t.Errorf("EnqueueTx of the live job's key after it = %v; want ErrDuplicateJob", err)
		}
		if err := c.EnqueueTx(e.ctx, &gue.Job{Type: "t", Queue: queue}, tx); err != nil {
			t.Errorf("the caller's next statement after a refused EnqueueBatchTx of %d: %v", size, err)
		}
		if err := tx.Commit(e.ctx); err != nil {
			t.Errorf("the caller's commit after a refused EnqueueBatchTx of %d: %v", size, err)
		}
		if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, queue); n != 2 {
			t.Errorf("%d of the caller's 2 jobs committed around a refused EnqueueBatchTx of %d", n, size)
		}
	}
	if n := e.jobs(); n != 5 {
		t.Errorf("%d jobs; want the live one and the callers' 4: refused batches write nothing", n)
	}
	// A batch that succeeds in the caller's transaction still commits with it.
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueBatchTx(e.ctx, []*gue.Job{{Type: "t", Queue: "ok"}, {Type: "t", Queue: "ok"}}, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'ok'`); n != 2 {
		t.Errorf("%d of a committed EnqueueBatchTx's 2 jobs; want 2", n)
	}
}

func testUniqueFreedWhenDoneOrDead(t *testing.T, e *env) {
	c := e.client()
	e.enqueue(c, &gue.Job{Type: "ok", UniqueKey: "k"})
	workUntilIdle(e, gue.NewWorker(c, gue.WorkMap{"ok": func(*gue.Job) error { return nil }}))
	dead := e.enqueue(c, &gue.Job{Type: "discard", UniqueKey: "k"}) // done: the key is free
	workUntilIdle(e, gue.NewWorker(c, gue.WorkMap{"discard": func(*gue.Job) error { return gue.ErrDiscard }}))
	live := e.enqueue(c, &gue.Job{Type: "ok", UniqueKey: "k"}) // dead: free too
	if err := c.RetryDead(e.ctx, "", dead.ID); !errors.Is(err, gue.ErrDuplicateJob) {
		t.Errorf("RetryDead while a live job has the key = %v; want ErrDuplicateJob", err)
	}
	e.done(e.lock(c, ""))
	if err := c.RetryDead(e.ctx, "", dead.ID); err != nil {
		t.Errorf("RetryDead once the key is free: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE unique_key = 'k' AND job_id = $1`, dead.ID); n != 1 || live.ID == dead.ID {
		t.Error("the retried job did not get its key back")
	}
}

// A batch member that fails goes back with its key, which stays taken.
func testUniqueKeptByBatchModeRetry(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	j := e.enqueue(c, &gue.Job{Type: "fails", UniqueKey: "k"})
	failed := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{"fails": func(*gue.Job) error { close(failed); return errors.New("boom") }}, 1,
		gue.WithPoolBatchSize(5), gue.WithPoolPollInterval(10*time.Millisecond))
	runPoolUntil(t, p, failed)
	waitFor(t, "the failure", func() bool { return e.count(`SELECT count(*) FROM gue_jobs WHERE error_count = 1`) == 1 })
	dup := &gue.Job{Type: "fails", UniqueKey: "k"}
	if err := c.Enqueue(e.ctx, dup); !errors.Is(err, gue.ErrDuplicateJob) || dup.ID != j.ID {
		t.Errorf("enqueue while the failed job waits to retry = %v, ID %d; want ErrDuplicateJob, ID %d", err, dup.ID, j.ID)
	}
}

// 16 enqueues of one key at once, on 16 connections: one job.
func testUniqueConcurrentEnqueues(t *testing.T, e *env) {
	const n = 16
	clients := make([]*gue.Client, n)
	for i := range clients {
		clients[i] = gue.NewClient(e.open(t, e.dsn))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	jobs := make([]*gue.Job, n)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs[i] = &gue.Job{Type: "t", UniqueKey: "once"}
			<-start
			errs[i] = clients[i].Enqueue(e.ctx, jobs[i])
		}()
	}
	close(start)
	wg.Wait()
	inserted, dups := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			inserted++
		case errors.Is(err, gue.ErrDuplicateJob):
			dups++
		default:
			t.Errorf("enqueue %d: %v", i, err)
		}
	}
	if inserted != 1 || dups != n-1 {
		t.Errorf("%d inserted, %d duplicates; want 1 and %d", inserted, dups, n-1)
	}
	for i := range jobs {
		if jobs[i].ID != jobs[0].ID {
			t.Errorf("job %d has ID %d, job 0 has %d: every caller must get the one live job's ID", i, jobs[i].ID, jobs[0].ID)
		}
	}
	if got := e.jobs(); got != 1 {
		t.Errorf("%d jobs; want 1", got)
	}
}

func testUniqueBadKey(t *testing.T, e *env) {
	c := e.client()
	for _, key := range []string{strings.Repeat("k", gue.MaxUniqueKeyLen+1), "a\x00b", "\xff"} {
		if err := c.Enqueue(e.ctx, &gue.Job{Type: "t", UniqueKey: key}); !errors.Is(err, gue.ErrInvalidUniqueKey) {
			t.Errorf("key of %d bytes: %v; want ErrInvalidUniqueKey", len(key), err)
		}
	}
	if err := c.Enqueue(e.ctx, &gue.Job{Type: "t", UniqueKey: strings.Repeat("k", gue.MaxUniqueKeyLen)}); err != nil {
		t.Errorf("a key of the maximum length: %v", err)
	}
}

// typedCases is the suite's Typed group: NewJob and WorkFor.
var typedCases = []testCase{
	{"ArgsRoundTrip", testTypedArgsRoundTrip},
}

type typedArgs struct {
	Order int64    `json:"order"`
	Tags  []string `json:"tags"`
}

// Typed arguments through every driver, in both modes; args that do not
// decode are a failed attempt with a clear message, not a panic.
func testTypedArgsRoundTrip(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	for _, batch := range []int{0, 4} {
		queue := map[int]string{0: "typed", 4: "typed-batch"}[batch]
		j, err := gue.NewJob("order", typedArgs{Order: 42, Tags: []string{"a", "é"}})
		if err != nil {
			t.Fatal(err)
		}
		j.Queue = queue
		e.enqueue(c, j)
		bad := e.enqueue(c, &gue.Job{Type: "order", Queue: queue, Args: []byte(`{"order": "forty-two"}`)})
		got := make(chan typedArgs, 2)
		p := gue.NewWorkerPool(c, gue.WorkMap{"order": gue.WorkFor(func(_ *gue.Job, a typedArgs) error {
			got <- a
			return nil
		})}, 1, gue.WithPoolQueue(queue), gue.WithPoolBatchSize(batch), gue.WithPoolPollInterval(10*time.Millisecond))
		done := make(chan struct{})
		go func() {
			waitFor(t, "the bad job's failure", func() bool {
				return e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND error_count = 1`, bad.ID) == 1
			})
			close(done)
		}()
		runPoolUntil(t, p, done)
		select {
		case a := <-got:
			if a.Order != 42 || len(a.Tags) != 2 || a.Tags[1] != "é" {
				t.Errorf("batch %d: decoded %+v", batch, a)
			}
		default:
			t.Errorf("batch %d: the typed handler never ran", batch)
		}
		if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_id = $1 AND last_error LIKE '%decode args%'`, bad.ID); n != 1 {
			t.Errorf("batch %d: undecodable args not recorded as a failure naming the decoding", batch)
		}
	}
}

// The key of a running job is taken: its handler, and anyone else, gets
// ErrDuplicateJob with the running job's ID at once, on every enqueue path,
// in the default mode and in batch mode.
func testUniqueRunningJobRefusedAtOnce(t *testing.T, e *env) {
	uniqueWhileRunning(t, e)
}

func testUniqueRunningBatchJobRefusedAtOnce(t *testing.T, e *env) {
	uniqueWhileRunning(t, e, gue.WithPoolBatchSize(10))
}

// uniqueWhileRunning runs one keyed job in a pool built with opts. Its
// handler enqueues its own key, then blocks until every outside enqueue of
// the key (Enqueue, EnqueueTx, EnqueueBatch small and large: INSERT,
// pipelined or COPY depending on the adapter) has answered. An enqueue that
// waited for the running job's transaction would wait for ever (the
// handler is blocked until it answers), so each call has a deadline: a
// deadlock fails with "context deadline exceeded", not with a hang.
func uniqueWhileRunning(t *testing.T, e *env, opts ...gue.WorkerPoolOption) {
	c := e.client()
	running := e.enqueue(c, &gue.Job{Type: "keyed", UniqueKey: "k"})
	for range 3 {
		e.enqueue(c, &gue.Job{Type: "keyed"}) // batch mates without a key
	}
	const patience = 30 * time.Second
	inHandler := make(chan error, 1)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p := gue.NewWorkerPool(c, gue.WorkMap{"keyed": func(j *gue.Job) error {
		if j.UniqueKey == "" {
			return nil
		}
		ctx, cancel := context.WithTimeout(j.Context(), patience)
		defer cancel()
		own := &gue.Job{Type: "keyed", UniqueKey: "k"}
		err := c.Enqueue(ctx, own)
		if err == nil || own.ID != j.ID {
			err = fmt.Errorf("%w (ID %d, want %d)", err, own.ID, j.ID)
		}
		inHandler <- err
		once.Do(func() { close(started) })
		<-release
		return nil
	}}, 2, append([]gue.WorkerPoolOption{gue.WithPoolPollInterval(10 * time.Millisecond)}, opts...)...)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		runPoolUntil(t, p, release)
	}()
	defer func() { <-finished }()
	defer close(release)
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the keyed job did not start")
	}
	if err := <-inHandler; !errors.Is(err, gue.ErrDuplicateJob) {
		t.Errorf("the handler's enqueue of its own key = %v; want ErrDuplicateJob with its ID", err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, patience)
	defer cancel()
	check := func(path string, err error, j *gue.Job) {
		t.Helper()
		if !errors.Is(err, gue.ErrDuplicateJob) {
			t.Errorf("%s of a running job's key = %v; want ErrDuplicateJob", path, err)
		} else if j != nil && j.ID != running.ID {
			t.Errorf("%s of a running job's key: ID %d; want the running job's %d", path, j.ID, running.ID)
		}
	}
	dup := &gue.Job{Type: "keyed", UniqueKey: "k"}
	check("Enqueue", c.Enqueue(ctx, dup), dup)
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dupTx := &gue.Job{Type: "keyed", UniqueKey: "k"}
	check("EnqueueTx", c.EnqueueTx(ctx, dupTx, tx), dupTx)
	_ = tx.Rollback(e.ctx)
	for _, size := range []int{2, 1500} {
		jobs := make([]*gue.Job, size)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "none"}
		}
		jobs[size-1].UniqueKey = "k"
		check(fmt.Sprintf("EnqueueBatch of %d", size), c.EnqueueBatch(ctx, jobs), nil)
	}
	select {
	case <-finished:
		t.Fatal("the pool stopped while the keyed job was blocked")
	default:
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE job_type = 'none'`); n != 0 {
		t.Errorf("%d jobs of the refused batches were written; want 0", n)
	}
}
