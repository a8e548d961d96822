package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// lockHintsCases is the suite's LockHints group.
var lockHintsCases = []testCase{
	{"FindJobsBehindThem", testLockHintsFindJobsBehindThem},
	{"KeepPriorityOrder", testLockHintsKeepPriorityOrder},
	{"WakeFindsJobBehindThem", testLockHintsWakeFindsJobBehindThem},
	{"LateJobsAreNotStarved", testLateJobsAreNotStarvedByHints},
}

// A Worker remembers where its last job was and seeks past it (lock hints).
// These cases check that what the hints skip is still found, in order.

// orderWorker returns a Worker on c that records the Args of every job it
// works, and the func that returns them.
func orderWorker(c *gue.Client) (*gue.Worker, func() []string) {
	var got []string
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		got = append(got, string(j.Args))
		return nil
	}})
	return w, func() []string { return got }
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
// empty; the poll interval here is an hour.
func testLockHintsWakeFindsJobBehindThem(t *testing.T, e *env) {
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
		gue.WithPoolPollInterval(time.Hour))
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
func testLateJobsAreNotStarvedByHints(t *testing.T, e *env) {
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
	}}, 4, gue.WithPoolPollInterval(10*time.Millisecond))
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
