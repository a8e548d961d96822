package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// timeoutCases is the suite's Timeout group.
var timeoutCases = []testCase{
	{"HardStopMethodReturnsJob", testHardStopMethodReturnsJob},
	{"JobTimeoutRecordsError", testJobTimeoutRecordsError},
	{"IdleInTransactionTimeout", testIdleInTransactionTimeout},
	{"PoolJobTimeout", testPoolJobTimeout},
}

func testJobTimeoutRecordsError(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	var cause error
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		<-j.Context().Done()
		cause = context.Cause(j.Context())
		return j.Context().Err()
	}}, gue.WithWorkerJobTimeout(100*time.Millisecond))
	e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	if !errors.Is(cause, gue.ErrJobTimeout) {
		t.Errorf("job context cause = %v, want ErrJobTimeout", cause)
	}
	if n, msg := e.lastError(); n != 1 || !strings.HasPrefix(msg, gue.ErrJobTimeout.Error()) {
		t.Errorf("error_count %d, last_error %q; want 1 and a timeout message", n, msg)
	}
}

func testHardStopMethodReturnsJob(t *testing.T, e *env) {
	c := e.client()
	started := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		close(started)
		<-j.Context().Done()
		return j.Context().Err()
	}}, 2, gue.WithPoolPollInterval(10*time.Millisecond), gue.WithPoolGracePeriod(time.Hour))
	want := e.enqueue(c, &gue.Job{Type: "t"})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stopped := make(chan error)
	go func() { stopped <- p.Run(ctx) }()
	<-started
	cancel() // graceful: the job keeps running within its hour of grace
	p.HardStop()
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
	// A lock query that was in flight when the pool stopped may have been
	// cut off client-side, and its server session lets go of the job only
	// when it notices: give it a moment, as the next process would.
	var j *gue.Job
	for deadline := time.Now().Add(5 * time.Second); j == nil && time.Now().Before(deadline); {
		if j = e.lock(c, ""); j == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if j == nil || j.ID != want.ID || j.ErrorCount != 0 {
		t.Fatalf("after HardStop LockJob = %+v, want job %d back, unchanged", j, want.ID)
	}
	e.done(j)
}

// A job that idles in its transaction past idle_in_transaction_session_timeout
// loses its connection; the worker records the failure and keeps working.
func testIdleInTransactionTimeout(t *testing.T, e *env) {
	if Citus() {
		t.Skip("on Citus a database-wide 300ms idle_in_transaction_session_timeout also ends Citus's own connections between the nodes")
	}
	e.needSession(t, "a database's setting reaches new server sessions only, and the pooler keeps reusing its own")
	e.exec(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '300ms'); END $$`)
	pool := e.open(t, e.dsn) // new connections pick the setting up
	c := gue.NewClient(pool, gue.WithClientBackoff(gue.ConstantBackoff(0)))
	attempts := 0
	w := gue.NewWorker(c, gue.WorkMap{"t": func(j *gue.Job) error {
		attempts++
		if attempts == 1 {
			time.Sleep(time.Second) // idle in the job's transaction; nothing to wait on
		}
		return nil
	}})
	e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("WorkOne found no job")
	}
	if n, msg := e.lastError(); n != 1 || msg == "" {
		t.Fatalf("after the timeout: error_count %d, last_error %q; want the lost transaction recorded", n, msg)
	} else {
		t.Logf("recorded: %s", msg)
	}
	// The worker goes on: the retry succeeds on a fresh connection.
	deadline := time.Now().Add(10 * time.Second)
	for e.jobs() != 0 && time.Now().Before(deadline) {
		w.WorkOne(e.ctx)
	}
	// A retry can lose its connection too when the machine stalls past the
	// short timeout; what must hold is that the worker goes on until done.
	if attempts < 2 || e.jobs() != 0 {
		t.Errorf("attempts %d, jobs left %d; want the job retried until done", attempts, e.jobs())
	}
}

// WithPoolJobTimeout gives each job of a pool its timeout.
func testPoolJobTimeout(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	e.enqueue(c, &gue.Job{Type: "t"})
	causes := make(chan error, 1)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
		<-j.Context().Done()
		causes <- context.Cause(j.Context())
		return j.Context().Err()
	}}, 1, gue.WithPoolJobTimeout(100*time.Millisecond), gue.WithPoolPollInterval(10*time.Millisecond))
	done := make(chan struct{})
	go func() {
		waitFor(t, "the timeout's failure", func() bool { n, _ := e.lastError(); return n == 1 })
		close(done)
	}()
	runPoolUntil(t, p, done)
	if cause := <-causes; !errors.Is(cause, gue.ErrJobTimeout) {
		t.Errorf("job context cause = %v; want ErrJobTimeout", cause)
	}
	if _, msg := e.lastError(); !strings.HasPrefix(msg, gue.ErrJobTimeout.Error()) {
		t.Errorf("last_error %q; want a timeout message", msg)
	}
}
