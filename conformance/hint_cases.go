package conformance

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// lockHintsCases is the suite's LockHints group.
var lockHintsCases = []testCase{
	{"FindJobsBehindThem", testLockHintsFindJobsBehindThem},
	{"KeepPriorityOrder", testLockHintsKeepPriorityOrder},
	{"WakeFindsJobBehindThem", lockHintsWakeFindsJobBehindThem()},
	{"LateJobsAreNotStarved", lateJobsAreNotStarvedByHints()},
	{"BatchFindJobsBehindThem", lockHintsStepsFindJobsBehindThem([][]string{{"a", "b"}, {"c"}}, gue.WithPoolBatchSize(2))},
	{"BatchKeepPriorityOrder", testLockHintsBatchKeepPriorityOrder},
	{"BatchWakeFindsJobBehindThem", lockHintsWakeFindsJobBehindThem(gue.WithPoolBatchSize(2))},
	{"BatchLateJobsAreNotStarved", lateJobsAreNotStarvedByHints(gue.WithPoolBatchSize(10))},
	{"SessionFindJobsBehindThem", inSessionMode(lockHintsStepsFindJobsBehindThem([][]string{{"a"}, {"b"}, {"c"}}, gue.WithPoolSessionLocks(true)))},
	{"SessionKeepPriorityOrder", testLockHintsSessionKeepPriorityOrder},
	{"SessionWakeFindsJobBehindThem", inSessionMode(lockHintsWakeFindsJobBehindThem(gue.WithPoolSessionLocks(true)))},
	{"SessionLateJobsAreNotStarved", inSessionMode(lateJobsAreNotStarvedByHints(gue.WithPoolSessionLocks(true)))},
	{"SlowScansAreSpacedNotStarving", slowScansAreSpacedNotStarving()},
	{"BatchSlowScansAreSpacedNotStarving", slowScansAreSpacedNotStarving(gue.WithPoolBatchSize(5))},
}

// inSessionMode is test, skipped where session mode cannot run.
func inSessionMode(test func(*testing.T, *env)) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		needSessionMode(t, e)
		test(t, e)
	}
}

// A Worker remembers where its last job was and seeks past it (lock hints).
// These cases check that what the hints skip is still found, in order.

// orderWorker returns a Worker on c that records the Args of every job it
// works, and the func that returns them.
// The handlers of a batch run at once, each recording under mu.
func orderWorker(c *gue.Client, opts ...gue.WorkerOption) (*gue.Worker, func() []string) {
	var mu sync.Mutex
	var got []string
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(j.Args))
		return nil
	}}, opts...)
	return w, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// workAll works jobs one at a time until none is ready and returns how many.
func workAll(e *env, w *gue.Worker) int {
	n := 0
	for w.WorkOne(e.ctx) {
		n++
	}
	return n
}

// A job that lands behind the position a worker reached (its RunAt is in
// the past) is still worked.
func testLockHintsFindJobsBehindThem(t *testing.T, e *env) {
	c := e.client()
	w, got := orderWorker(c)
	e.enqueueArgs(c, "a", 0, time.Time{})
	e.enqueueArgs(c, "b", 0, time.Time{})
	if !w.WorkOne(e.ctx) {
		t.Fatal("no job worked")
	}
	e.enqueueArgs(c, "late", 0, time.Now().Add(-time.Hour))
	if n := workAll(e, w); n != 2 {
		t.Fatalf("worked %d more jobs, want 2 (got %v)", n, got())
	}
	if e.jobs() != 0 {
		t.Errorf("%d jobs left, want 0", e.jobs())
	}
}

// A job of a higher priority (smaller number) enqueued while a worker is
// on a lower one is worked next, whether its priority is new to the worker
// or one it worked before, and whether it sorts before or between the
// priorities it knows.
func testLockHintsKeepPriorityOrder(t *testing.T, e *env) {
	c := e.client()
	w, got := orderWorker(c)
	for i := range 3 {
		e.enqueueArgs(c, fmt.Sprint("p5-", i), 5, time.Time{})
	}
	e.enqueueArgs(c, "p-10-future", -10, time.Now().Add(time.Hour))
	step := func(want string) {
		t.Helper()
		if !w.WorkOne(e.ctx) {
			t.Fatalf("no job worked, want %s (so far %v)", want, got())
		}
		if g := got(); g[len(g)-1] != `"`+want+`"` {
			t.Fatalf("worked %s, want %s (so far %v)", g[len(g)-1], want, g)
		}
	}
	step("p5-0")
	e.enqueueArgs(c, "p1", 1, time.Time{})
	step("p1") // new priority, below the only one known
	step("p5-1")
	e.enqueueArgs(c, "p3", 3, time.Time{})
	step("p3") // new priority, between two known ones
	e.enqueueArgs(c, "p1-again", 1, time.Time{})
	step("p1-again") // known priority, after its position
	step("p5-2")
	if w.WorkOne(e.ctx) {
		t.Fatalf("worked %v, want the future job left alone", got())
	}
	if e.jobs() != 1 {
		t.Errorf("%d jobs left, want the future one", e.jobs())
	}
}

// An idle pool woken for a job that sorts behind its hints (RunAt in the
// past) works it at once, even right after its workers found the queue
// empty; the poll interval here is an hour. opts: the pool's mode.
func lockHintsWakeFindsJobBehindThem(opts ...gue.WorkerPoolOption) func(*testing.T, *env) {
	return func(t *testing.T, e *env) { testLockHintsWakeFindsJobBehindThem(t, e, opts) }
}

func testLockHintsWakeFindsJobBehindThem(t *testing.T, e *env, opts []gue.WorkerPoolOption) {
	need[adapter.Listener](t, e, capListen)
	// Empty lock attempts are reported, so that the second job goes in right
	// after the pool looked again and found nothing.
	empty := make(chan struct{}, 64)
	c := e.client(gue.WithClientHooks(gue.Hooks{Locked: func(_ context.Context, _ string, j *gue.Job, err error) {
		if j == nil && err == nil {
			select {
			case empty <- struct{}{}:
			default:
			}
		}
	}}))
	picked := make(chan string, 2)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error { picked <- string(j.Args); return nil }}, 2,
		append([]gue.WorkerPoolOption{gue.WithPoolPollInterval(time.Hour)}, opts...)...)
	runPool(t, p)
	waitPicked := func(want string) {
		t.Helper()
		select {
		case got := <-picked:
			if got != `"`+want+`"` {
				t.Fatalf("worked %s, want %s", got, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("job %s not picked up within 20s; the poll interval is an hour", want)
		}
	}
	<-empty // both workers have looked and found nothing
	<-empty
	e.enqueueArgs(c, "now", 0, time.Time{})
	waitPicked("now")
	<-empty // a worker looked again after it and found nothing
	e.enqueueArgs(c, "an-hour-ago", 0, time.Now().Add(-time.Hour))
	waitPicked("an-hour-ago")
}

// Jobs that land behind the lock hints (a RunAt in the past) are found
// within about a second (the hints' scan from the front), not after the
// backlog ahead of them, and then worked together, not one a second.
// opts: the pool's mode.
func lateJobsAreNotStarvedByHints(opts ...gue.WorkerPoolOption) func(*testing.T, *env) {
	return func(t *testing.T, e *env) { testLateJobsAreNotStarvedByHints(t, e, opts) }
}

func testLateJobsAreNotStarvedByHints(t *testing.T, e *env, opts []gue.WorkerPoolOption) {
	// The late jobs arrive after a tenth of the backlog has run. The pool's
	// jobs end one at a time, at least 0.3 ms apart, so 5,000 of them take
	// 1.5 s or more on any machine, and the backlog left (7,200 with -short)
	// outlasts the second the hints may keep a job behind them. The pace is
	// kept after each job's commit, where a worker that sends its next lock
	// with the commit spends its time; the handlers return at once.
	var pace sync.Mutex
	c := e.client(gue.WithClientHooks(gue.Hooks{Work: func(next gue.RunFunc) gue.RunFunc {
		return func(ctx context.Context, j *gue.Job) error {
			err := next(ctx, j)
			pace.Lock()
			time.Sleep(300 * time.Microsecond) // a pace, not a wait
			pace.Unlock()
			return err
		}
	}}))
	size := sized(t, 20_000, 8_000)
	backlog := make([]*gue.Job, size)
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
		enqueued = make(chan struct{})
		all      = make(chan struct{})
	)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		mu.Lock()
		defer mu.Unlock()
		isLate := string(j.Args) == `"late"`
		order = append(order, isLate)
		if len(order) == size/10 {
			// The pool waits here, every handler behind mu, until the late
			// jobs are committed: they arrive with nine tenths of the
			// backlog ahead of them however fast the machine works.
			close(started)
			<-enqueued
		}
		if isLate {
			if lateRuns++; lateRuns == late {
				close(all)
			}
		}
		return nil
	}}, 4, append([]gue.WorkerPoolOption{gue.WithPoolPollInterval(10 * time.Millisecond)}, opts...)...)
	// The late jobs come from a pool of their own, as from another process:
	// the workers' pool may have no connection to spare.
	other := gue.NewClient(e.open(t, e.dsn))
	go func() {
		defer close(enqueued)
		<-started
		jobs := make([]*gue.Job, late)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "t", Args: []byte(`"late"`), RunAt: time.Now().Add(-time.Hour)}
		}
		if err := other.EnqueueBatch(e.ctx, jobs); err != nil {
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
	// Found by the scan from the front that runs once a second, not by the
	// one that runs when the backlog is used up: at the pace above, 5,000
	// jobs take 1.5 s or more.
	if waited := first - size/10; waited > 5_000 {
		t.Errorf("%d backlog jobs ran after the late jobs arrived and before the first of them (%d of %d in all); want them found within a second", waited, first, size)
	}
	// In order, the late jobs come first: once found, they run together,
	// not one per full scan with the backlog in between.
	between := last - first + 1 - late
	if between > 100 {
		t.Errorf("%d backlog jobs ran between the first and the last of %d late jobs; want them together", between, late)
	}
	t.Logf("%d late jobs found after %d backlog jobs had run (they arrived after %d); %d backlog jobs ran among them", late, first, size/10, between)
}

// batchSteps is a pool of one worker in batch or session mode whose
// handlers wait for the test: the pool locks its next batch (in session
// mode, its next job) only once the worker is free, so what the test
// enqueues before release is there for that lock.
type batchSteps struct {
	ran  chan string
	mu   sync.Mutex
	gate chan struct{}
	open bool // the test has ended: handlers no longer wait
}

func startBatchSteps(t *testing.T, c *gue.Client, size int) *batchSteps {
	return startSteps(t, c, gue.WithPoolBatchSize(size))
}

// startSteps starts the batchSteps pool in the mode opts set.
func startSteps(t *testing.T, c *gue.Client, opts ...gue.WorkerPoolOption) *batchSteps {
	s := &batchSteps{ran: make(chan string, 64), gate: make(chan struct{})}
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		s.mu.Lock()
		gate, open := s.gate, s.open
		s.mu.Unlock()
		s.ran <- string(j.Args)
		if !open {
			<-gate
		}
		return nil
	}}, 1, append([]gue.WorkerPoolOption{gue.WithPoolPollInterval(time.Hour)}, opts...)...)
	runPool(t, p)
	t.Cleanup(func() { // before the pool stops (cleanups run last first)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.open = true
		close(s.gate)
	})
	return s
}

// batch waits for the jobs of the held batch and compares them with want
// as a set; the batch stays held.
func (s *batchSteps) batch(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	for range want {
		select {
		case a := <-s.ran:
			got = append(got, a)
		case <-time.After(20 * time.Second):
			t.Fatalf("batch worked %v within 20s, want %v; the poll interval is an hour", got, want)
		}
	}
	q := make([]string, len(want))
	for i, w := range want {
		q[i] = `"` + w + `"`
	}
	sort.Strings(got)
	sort.Strings(q)
	if !slices.Equal(got, q) {
		t.Fatalf("batch worked %v, want %v", got, q)
	}
}

// release lets the held batch's handlers return.
func (s *batchSteps) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.gate)
	s.gate = make(chan struct{})
}

// Batch mode: each batch takes the queue's first ready jobs in its order,
// whether their priority is new to the hints, sorts between known ones or
// is a known one past its position; a future job of the highest priority
// is left alone.
func testLockHintsBatchKeepPriorityOrder(t *testing.T, e *env) {
	c := e.client()
	for i := range 4 {
		e.enqueueArgs(c, fmt.Sprint("p5-", i), 5, time.Time{})
	}
	e.enqueueArgs(c, "p-10-future", -10, time.Now().Add(time.Hour))
	s := startBatchSteps(t, c, 2)
	s.batch(t, "p5-0", "p5-1")
	e.enqueueArgs(c, "p1", 1, time.Time{})
	s.release()
	s.batch(t, "p1", "p5-2") // a new priority, below the only one known
	e.enqueueArgs(c, "p3", 3, time.Time{})
	e.enqueueArgs(c, "p1-again", 1, time.Time{})
	s.release()
	s.batch(t, "p1-again", "p3") // a known priority past its position, a new one between
	s.release()
	s.batch(t, "p5-3")
	// Held, so still there: the last batch and the future job.
	if n := e.jobs(); n != 2 {
		t.Errorf("%d jobs left, want p5-3 (its batch held) and the future one", n)
	}
	s.release()
}

// Session mode: each turn takes the queue's first ready job in its order,
// whether its priority is new to the hints, sorts between known ones or is
// a known one past its position; a future job of the highest priority is
// left alone and does not stop the walk.
func testLockHintsSessionKeepPriorityOrder(t *testing.T, e *env) {
	needSessionMode(t, e)
	c := e.client()
	for i := range 3 {
		e.enqueueArgs(c, fmt.Sprint("p5-", i), 5, time.Time{})
	}
	e.enqueueArgs(c, "p-10-future", -10, time.Now().Add(time.Hour))
	e.enqueueArgs(c, "p3-future", 3, time.Now().Add(time.Hour))
	s := startSteps(t, c, gue.WithPoolSessionLocks(true))
	s.batch(t, "p5-0")
	e.enqueueArgs(c, "p1", 1, time.Time{})
	s.release()
	s.batch(t, "p1") // a new priority, below the only one known
	e.enqueueArgs(c, "p3", 3, time.Time{})
	e.enqueueArgs(c, "p1-again", 1, time.Time{})
	s.release()
	s.batch(t, "p1-again") // a known priority past its position
	s.release()
	s.batch(t, "p3") // a new one between known ones
	s.release()
	s.batch(t, "p5-1")
	s.release()
	s.batch(t, "p5-2")
	// Held, so still there: the last job and the future ones.
	if n := e.jobs(); n != 3 {
		t.Errorf("%d jobs left, want p5-2 (held) and the two future ones", n)
	}
	s.release()
}

// Batch and session mode (opts; one worker): a lock starts past the last
// job the lock before it took, and a job that lands behind that position
// (its RunAt in the past, enqueued once the first step is held) is still
// found, by the walk from the front that follows, in the same attempt, a
// hinted one that found nothing. steps are the jobs each lock takes, in
// order, before the late one: the order shows the hints at work (from the
// front, the late job would come right after the first step). Control:
// without the walk from the front after a miss, attempts find nothing and
// the late job waits for the poll, an hour.
func lockHintsStepsFindJobsBehindThem(steps [][]string, opts ...gue.WorkerPoolOption) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		var empty atomic.Int64 // lock attempts that found nothing
		c := e.client(gue.WithClientHooks(gue.Hooks{Locked: func(_ context.Context, _ string, j *gue.Job, err error) {
			if j == nil && err == nil {
				empty.Add(1)
			}
		}}))
		for _, step := range steps {
			for _, a := range step {
				e.enqueueArgs(c, a, 0, time.Time{})
			}
		}
		s := startSteps(t, c, opts...)
		for i, step := range steps {
			if i > 0 {
				s.release()
			}
			s.batch(t, step...)
			if i == 0 {
				e.enqueueArgs(c, "late", 0, time.Now().Add(-time.Hour))
			}
		}
		before := empty.Load()
		s.release()
		s.batch(t, "late")
		if n := empty.Load() - before; n != 0 {
			t.Errorf("%d lock attempts found nothing before the late job: it was left behind the hints", n)
		}
		s.release()
	}
}
