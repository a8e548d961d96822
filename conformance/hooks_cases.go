package conformance

import (
	"bytes"
	"context"
	"errors"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// hooksCases is the suite's Hooks group.
var hooksCases = []testCase{
	{"MetadataRoundTrip", testMetadataRoundTrip},
	{"MigrateAddsMetadataToOldTable", testMigrateAddsMetadataToOldTable},
	{"SeeEveryStage", testHooksSeeEveryStage},
	{"ClientLoggerServesWorkers", testClientLoggerServesWorkers},
	{"SkippedRunGoesBack", testSkippedRunGoesBack},
	{"PoolHooksWrapPeriodicEnqueues", testPoolHooksWrapPeriodicEnqueues},
}

func testMetadataRoundTrip(t *testing.T, e *env) {
	c := e.client()
	meta := map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "ü": `"quoted"`}
	with := e.enqueue(c, &gue.Job{Type: "t", Priority: 1, Metadata: meta})
	without := e.enqueue(c, &gue.Job{Type: "t", Priority: 2})
	for _, want := range []*gue.Job{with, without} {
		j := e.lock(c, "")
		if j == nil || j.ID != want.ID {
			t.Fatalf("locked %+v, want job %d", j, want.ID)
		}
		if len(j.Metadata) != len(want.Metadata) {
			t.Errorf("job %d metadata = %v, want %v", j.ID, j.Metadata, want.Metadata)
		}
		for k, v := range want.Metadata {
			if j.Metadata[k] != v {
				t.Errorf("job %d metadata[%q] = %q, want %q", j.ID, k, j.Metadata[k], v)
			}
		}
		e.done(j)
	}
}

// A table created before metadata existed gains the column through Migrate
// and keeps its jobs.
func testMigrateAddsMetadataToOldTable(t *testing.T, e *env) {
	if Citus() {
		t.Skip("an old gue table is migrated before it is distributed (DistributeCitus migrates first): Citus refuses to change the queue column's default")
	}
	e.exec(`ALTER TABLE gue_jobs DROP COLUMN metadata`)
	e.exec(`DELETE FROM gue_migrations WHERE version > 1`)
	e.exec(`INSERT INTO gue_jobs (job_type) VALUES ('old')`)
	if err := gue.Migrate(e.ctx, e.pool, ""); err != nil {
		t.Fatalf("Migrate of an old table: %v", err)
	}
	c := e.client()
	j := e.lock(c, "")
	if j == nil || j.Type != "old" || j.Metadata != nil {
		t.Fatalf("old job after migration = %+v", j)
	}
	e.done(j)
	e.enqueue(c, &gue.Job{Type: "new", Metadata: map[string]string{"k": "v"}})
	if j := e.lock(c, ""); j == nil || j.Metadata["k"] != "v" {
		t.Fatalf("new job after migration = %+v", j)
	} else {
		e.done(j)
	}
}

type ctxKey struct{}

func testHooksSeeEveryStage(t *testing.T, e *env) {
	var (
		mu       sync.Mutex
		enqueued []int64
		outcomes = map[string]gue.Outcome{}
		empty    int
		seen     = map[string]string{}
	)
	hooks := gue.Hooks{
		Enqueue: func(next gue.EnqueueFunc) gue.EnqueueFunc {
			return func(ctx context.Context, j *gue.Job) error {
				if j.Metadata == nil {
					j.Metadata = map[string]string{}
				}
				j.Metadata["hooked"] = "yes"
				err := next(ctx, j)
				mu.Lock()
				enqueued = append(enqueued, j.ID)
				mu.Unlock()
				return err
			}
		},
		Work: func(next gue.RunFunc) gue.RunFunc {
			return func(ctx context.Context, j *gue.Job) error {
				err := next(context.WithValue(ctx, ctxKey{}, "from hook"), j)
				mu.Lock()
				outcomes[j.Type] = gue.OutcomeOf(err)
				mu.Unlock()
				return err
			}
		},
		Locked: func(_ context.Context, _ string, j *gue.Job, err error) {
			if j == nil && err == nil {
				mu.Lock()
				empty++
				mu.Unlock()
			}
		},
	}
	c := e.client(gue.WithClientHooks(hooks), gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	record := func(j *gue.Job) {
		v, _ := j.Context().Value(ctxKey{}).(string)
		seen[j.Type] = v + "/" + j.Metadata["hooked"]
	}
	w := gue.NewWorker(c, gue.WorkMap{
		"ok":     func(j *gue.Job) error { record(j); return nil },
		"fails":  func(j *gue.Job) error { record(j); return errors.New("no") },
		"panics": func(j *gue.Job) error { record(j); panic("boom") },
	})
	for i, typ := range []string{"ok", "fails", "panics", "unknown"} {
		e.enqueue(c, &gue.Job{Type: typ, Priority: int16(i)})
	}
	for w.WorkOne(e.ctx) {
	}
	want := map[string]gue.Outcome{"ok": gue.OutcomeDone, "fails": gue.OutcomeError, "panics": gue.OutcomePanic, "unknown": gue.OutcomeUnknownType}
	for typ, o := range want {
		if outcomes[typ] != o {
			t.Errorf("outcome of %s = %q, want %q", typ, outcomes[typ], o)
		}
	}
	for _, typ := range []string{"ok", "fails", "panics"} {
		if seen[typ] != "from hook/yes" {
			t.Errorf("%s saw context value and metadata %q, want from hook/yes", typ, seen[typ])
		}
	}
	if len(enqueued) != 4 || enqueued[0] == 0 {
		t.Errorf("Enqueue hook saw IDs %v, want 4 set IDs", enqueued)
	}
	if empty != 1 {
		t.Errorf("Locked hook saw %d empty lock attempts, want 1", empty)
	}
}

// The client's logger also serves the workers built on it.
func testClientLoggerServesWorkers(t *testing.T, e *env) {
	var buf lockedBuffer
	c := e.client(gue.WithClientLogger(adapter.NewStdLogger(log.New(&buf, "", 0))), gue.WithClientID("client-under-test"))
	e.enqueue(c, &gue.Job{Type: "mystery"})
	if !gue.NewWorker(c, gue.WorkMap{}).WorkOne(e.ctx) {
		t.Fatal("no job worked")
	}
	out := buf.String()
	for _, want := range []string{"job enqueued", "unknown job type", "client-id=client-under-test"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// A Work hook that returns without calling next has not run the job: the
// job goes back to the queue untouched, and is not held by a transaction
// nobody will end (the next WorkOne could not lock it then).
func testSkippedRunGoesBack(t *testing.T, e *env) {
	var skip atomic.Bool
	skip.Store(true)
	hooks := gue.Hooks{Work: func(next gue.RunFunc) gue.RunFunc {
		return func(ctx context.Context, j *gue.Job) error {
			if skip.Load() {
				return nil
			}
			return next(ctx, j)
		}
	}}
	var buf lockedBuffer
	c := e.client(gue.WithClientHooks(hooks), gue.WithClientLogger(adapter.NewStdLogger(log.New(&buf, "", 0))))
	var ran atomic.Int32
	w := gue.NewWorker(c, gue.WorkMap{"t": func(*gue.Job) error { ran.Add(1); return nil }})
	job := e.enqueue(c, &gue.Job{Type: "t"})
	if !w.WorkOne(e.ctx) {
		t.Fatal("no job locked")
	}
	if ran.Load() != 0 {
		t.Fatal("control: the hook let the job run")
	}
	if !strings.Contains(buf.String(), "without running the job") {
		t.Errorf("the skipped run was not logged:\n%s", buf.String())
	}
	skip.Store(false)
	if !w.WorkOne(e.ctx) || ran.Load() != 1 {
		t.Fatalf("job %d was not worked after the skipped run (ran %d times)", job.ID, ran.Load())
	}
	var n int
	if err := e.pool.QueryRow(e.ctx, "SELECT count(*) FROM gue_jobs WHERE queue = $1 AND job_id = $2", "", job.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("job %d still queued (%d rows, %v) after it was worked", job.ID, n, err)
	}
}

// A pool's own Enqueue hooks wrap the enqueues of its periodic jobs, and
// its Work hooks their runs; the Client's hooks stay outside them.
func testPoolHooksWrapPeriodicEnqueues(t *testing.T, e *env) {
	var mu sync.Mutex
	var seen []string
	note := func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }
	hooks := func(name string) gue.Hooks {
		return gue.Hooks{
			Enqueue: func(next gue.EnqueueFunc) gue.EnqueueFunc {
				return func(ctx context.Context, j *gue.Job) error { note(name + " enqueue"); return next(ctx, j) }
			},
			Work: func(next gue.RunFunc) gue.RunFunc {
				return func(ctx context.Context, j *gue.Job) error { note(name + " work"); return next(ctx, j) }
			},
		}
	}
	c := e.client(gue.WithClientHooks(hooks("client")))
	ran := make(chan struct{}, 1)
	p := gue.NewWorkerPool(c, gue.WorkMap{"tick": func(*gue.Job) error {
		select {
		case ran <- struct{}{}:
		default:
		}
		return nil
	}}, 1, gue.WithPoolQueue("periodic-hooks"), gue.WithPoolPollInterval(50*time.Millisecond), gue.WithPoolHooks(hooks("pool")),
		gue.WithPoolPeriodic("hooked", gue.Every(100*time.Millisecond), func() *gue.Job { return &gue.Job{Type: "tick"} }))
	runPoolUntilRan(t, p, ran, 30*time.Second, "no periodic job ran within 30s")
	mu.Lock()
	got := strings.Join(seen, ",")
	seen = nil
	mu.Unlock()
	if !strings.HasPrefix(got, "client enqueue,pool enqueue,") || !strings.Contains(got, "client work,pool work") {
		t.Errorf("hooks seen %s; want the client's then the pool's, for the periodic enqueue and its run", got)
	}
	// Control: an enqueue through the Client alone passes its hooks only.
	e.enqueue(c, &gue.Job{Type: "tick", Queue: "elsewhere"})
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(seen, ","); got != "client enqueue" {
		t.Errorf("a Client's own enqueue ran hooks %s; want client enqueue", got)
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
