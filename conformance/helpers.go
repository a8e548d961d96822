package conformance

import (
	"context"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// The helpers every group of cases shares.

// env is one test's database: a pool opened by the adapter under test on a
// fresh database with the gue schema migrated into "public".
type env struct {
	t    *testing.T
	cfg  *config
	open OpenFunc
	dsn  string
	pool adapter.ConnPool
	ctx  context.Context
}

func newEnv(t *testing.T, open OpenFunc, cfg *config) *env {
	var dsn string
	if cfg.citusDBs != nil {
		dsn = cfg.citusDBs.take(t)
	} else {
		dsn = NewDatabase(t, open)
	}
	e := &env{t: t, cfg: cfg, open: open, dsn: dsn, pool: open(t, dsn), ctx: context.Background()}
	if err := gue.Migrate(e.ctx, e.pool, ""); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if Citus() {
		if err := gue.DistributeCitus(e.ctx, e.pool, ""); err != nil {
			t.Fatalf("distribute: %v", err)
		}
	}
	return e
}

// client returns a Client on the env's pool.
func (e *env) client(opts ...gue.ClientOption) *gue.Client {
	return gue.NewClient(e.pool, opts...)
}

// enqueue enqueues j or fails the test.
func (e *env) enqueue(c *gue.Client, j *gue.Job) *gue.Job {
	e.t.Helper()
	if err := c.Enqueue(e.ctx, j); err != nil {
		e.t.Fatalf("enqueue %+v: %v", j, err)
	}
	return j
}

// lock locks the next job of queue or fails the test; nil when none is ready.
func (e *env) lock(c *gue.Client, queue string) *gue.Job {
	e.t.Helper()
	j, err := c.LockJob(e.ctx, queue)
	if err != nil {
		e.t.Fatalf("lock job from %q: %v", queue, err)
	}
	return j
}

// count runs a SELECT count(*) query.
func (e *env) count(query string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// jobs counts the rows of public.gue_jobs.
func (e *env) jobs() int64 {
	return e.count(`SELECT count(*) FROM gue_jobs`)
}

// exec runs a statement or fails the test.
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(e.ctx, query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// done deletes and commits j, failing the test on error.
func (e *env) done(j *gue.Job) {
	e.t.Helper()
	if err := j.Delete(e.ctx); err != nil {
		e.t.Fatalf("delete job %d: %v", j.ID, err)
	}
	if err := j.Done(e.ctx); err != nil {
		e.t.Fatalf("done job %d: %v", j.ID, err)
	}
}

// within reports whether a and b are at most d apart.
func within(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && diff >= -d
}

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

// waitForDrain waits until left returns 0, for as long as it keeps
// falling: it fails when a minute passes without progress, and then says
// what why returns, the state that kept the rest back. A slow machine
// slows the drain; a job stuck stops it.
func waitForDrain(t *testing.T, what string, left func() int64, why func() string) {
	t.Helper()
	last, since := left(), time.Now()
	for last != 0 {
		time.Sleep(20 * time.Millisecond)
		if n := left(); n < last {
			last, since = n, time.Now()
		} else if time.Since(since) > time.Minute {
			t.Fatalf("gave up waiting for %s: %d left, none gone for a minute: %s", what, n, why())
		}
	}
}

// jobsLeft describes up to 5 jobs of queue, for a failure's message.
func (e *env) jobsLeft(queue string) string {
	var s string
	if err := e.pool.QueryRow(e.ctx, `SELECT (SELECT count(*) FROM gue_jobs WHERE queue = $1) || ' jobs, the first: ' || COALESCE(string_agg(d, '; '), '') FROM (
  SELECT format('job %s (run_at %s, now %s, errors %s, last error %s, locked %s)', job_id, run_at, now(), error_count,
    quote_nullable(left(last_error, 200)), EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted
      AND l.objid = j.job_id::bigint::oid AND l.objsubid = 1)) AS d
  FROM gue_jobs j WHERE queue = $1 ORDER BY priority, run_at, job_id LIMIT 5) x`, queue).Scan(&s); err != nil {
		return err.Error()
	}
	return s
}

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

// runPoolUntilRan runs p until ran receives (or is closed), and reports
// failure as an error when within passes first.
func runPoolUntilRan(t *testing.T, p *gue.WorkerPool, ran <-chan struct{}, within time.Duration, failure string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ran:
		case <-time.After(within):
			t.Error(failure)
		}
	}()
	runPoolUntil(t, p, done)
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

func (e *env) enqueueArgs(c *gue.Client, name string, prio int16, runAt time.Time) {
	e.t.Helper()
	e.enqueue(c, &gue.Job{Type: "t", Priority: prio, RunAt: runAt, Args: []byte(`"` + name + `"`)})
}

// lastError returns error_count and last_error of the only job in public.gue_jobs.
func (e *env) lastError() (int64, string) {
	e.t.Helper()
	var n int64
	var msg *string
	if err := e.pool.QueryRow(e.ctx, `SELECT error_count, last_error FROM gue_jobs`).Scan(&n, &msg); err != nil {
		e.t.Fatalf("read job error: %v", err)
	}
	if msg == nil {
		return n, ""
	}
	return n, *msg
}

// capability is an optional capability of adapters, as Features declares it.
type capability struct {
	name     string // the adapter interface
	declared func(Features) bool
}

var (
	capCopyFrom = capability{"CopyFromer", func(f Features) bool { return f.CopyFrom }}
	capListen   = capability{"Listener", func(f Features) bool { return f.Listen }}
	capPipeline = capability{"Pipeliner", func(f Features) bool { return f.Pipeline }}
	capSizer    = capability{"Sizer", func(f Features) bool { return f.Sizer }}
	capChain    = capability{"PipelineChainer", func(f Features) bool { return f.PipelineChain }}
	capSession  = capability{"Sessioner", func(f Features) bool { return f.Session }}
	capBatch    = capability{"QueryBatcher", func(f Features) bool { return f.QueryBatch }}
)

// need returns the env's pool as the capability's interface T. It skips t
// when the adapter does not declare the capability (or, with no Features
// declared, does not implement it), and fails t when the adapter declares
// it but its pool lacks it.
func need[T any](t *testing.T, e *env, c capability) T {
	t.Helper()
	impl, ok := any(e.pool).(T)
	switch {
	case e.cfg.features == nil && !ok:
		t.Skipf("the adapter does not implement adapter.%s", c.name)
	case e.cfg.features == nil:
	case !c.declared(*e.cfg.features):
		t.Skipf("the adapter does not declare adapter.%s (conformance.Features)", c.name)
	case !ok:
		t.Fatalf("the adapter declares adapter.%s (conformance.Features) but its pool, a %T, does not implement it", c.name, e.pool)
	}
	return impl
}

// needVia returns the env's pool as T, the capability (named via) through
// which capability c is reached: c is implemented on what T returns. It
// skips t when the pool is no T, and fails t when the adapter declares c.
func needVia[T any](t *testing.T, e *env, c capability, via string) T {
	t.Helper()
	impl, ok := any(e.pool).(T)
	if !ok {
		if e.cfg.features != nil && c.declared(*e.cfg.features) {
			t.Fatalf("the adapter declares adapter.%s (conformance.Features) but its pool, a %T, is not an adapter.%s", c.name, e.pool, via)
		}
		t.Skipf("the adapter does not implement adapter.%s", via)
	}
	return impl
}

// lockWaits reports whether a session of the test's database waits for a
// lock: on Citus the wait is on a worker node, which citus_lock_waits shows.
func (e *env) lockWaits() bool {
	if Citus() {
		return e.count(`SELECT count(*) FROM citus_lock_waits`) > 0
	}
	return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
}

// sized returns full, or short under go test -short (make check), and says
// so in the test's log. It is for cases whose size only adds confidence, not
// a different property: the short size must still prove what the case
// claims, and make test runs the full one.
func sized(t *testing.T, full, short int) int {
	t.Helper()
	if testing.Short() {
		t.Logf("-short: %d instead of %d", short, full)
		return short
	}
	return full
}
