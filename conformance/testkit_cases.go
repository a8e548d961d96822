package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/guetest"
)

// testKitCases is the suite's TestKit group: core/guetest as an
// application's tests call it, on this adapter.
var testKitCases = []testCase{
	{"RequireEnqueuedMatchesEveryField", testKitRequireEnqueued},
	{"FailureShowsClosestJobs", testKitFailureShowsClosest},
	{"WorkOneReportsOutcome", testKitWorkOne},
	{"DrainWorksQueueDown", testKitDrain},
	{"WorkerHooksInsideClientHooks", testKitWorkerHooksOrder},
}

// fakeT runs a guetest call as a test would, and records its failure
// instead of failing the real test: Fatalf ends the call's goroutine, as
// testing.T's does.
type fakeT struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	f.mu.Unlock()
}

// try runs fn with a fakeT and returns whether it failed, and its message.
func try(t *testing.T, fn func(tb testing.TB)) (failed bool, msg string) {
	f := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed, f.msg
}

type mailArgs struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Retries int    `json:"retries"`
}

func testKitRequireEnqueued(t *testing.T, e *env) {
	c := e.client()
	runAt := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	args, _ := json.Marshal(mailArgs{To: "a@example.com", Subject: "hi", Retries: 3})
	want := e.enqueue(c, &gue.Job{Queue: "mail", Type: "send", Args: args, Priority: 2, RunAt: runAt,
		UniqueKey: "signup-7", Metadata: map[string]string{"tenant": "7", "trace": "abc"}})
	e.enqueue(c, &gue.Job{Queue: "mail", Type: "send", Args: []byte(`{"to":"b@example.com"}`)})
	e.enqueue(c, &gue.Job{Queue: "other", Type: "send", Args: args})

	full := guetest.Match{Queue: "mail", Type: "send", Args: mailArgs{To: "a@example.com", Subject: "hi", Retries: 3},
		Priority: 2, PrioritySet: true, RunAfter: runAt.Add(-time.Second), RunBefore: runAt.Add(time.Second),
		UniqueKey: "signup-7", Metadata: map[string]string{"tenant": "7"}, State: gue.StateScheduled}
	got := guetest.RequireEnqueued(t, e.pool, full)
	if got.ID != want.ID || !jsonSame(got.Args, args) {
		t.Fatalf("RequireEnqueued returned job %d args %s; want job %d args %s", got.ID, got.Args, want.ID, args)
	}
	guetest.RequireEnqueued(t, e.pool, guetest.Match{Queue: "mail", ArgsSubset: map[string]any{"to": "b@example.com"}})
	guetest.RequireEnqueuedN(t, e.pool, guetest.Match{Type: "send"}, 3)
	guetest.RequireEnqueuedN(t, e.pool, guetest.Match{Queue: "mail", Type: "send"}, 2)
	guetest.RequireNotEnqueued(t, e.pool, guetest.Match{Type: "sms"})
	guetest.RequireNotEnqueued(t, e.pool, guetest.Match{Type: "send", State: gue.StateDead})

	// Control: each field, set wrong, fails the same check.
	for name, m := range map[string]func(*guetest.Match){
		"queue":     func(m *guetest.Match) { m.Queue = "other" },
		"args":      func(m *guetest.Match) { m.Args = `{"to":"a@example.com"}` },
		"subset":    func(m *guetest.Match) { m.ArgsSubset = map[string]any{"retries": 4} },
		"priority":  func(m *guetest.Match) { m.Priority = 0 },
		"window":    func(m *guetest.Match) { m.RunBefore = runAt.Add(-time.Second) },
		"key":       func(m *guetest.Match) { m.UniqueKey = "signup-8" },
		"metadata":  func(m *guetest.Match) { m.Metadata = map[string]string{"tenant": "8"} },
		"state":     func(m *guetest.Match) { m.State = gue.StateReady },
		"type":      func(m *guetest.Match) { m.Type = "sms" },
		"two found": func(m *guetest.Match) { *m = guetest.Match{Queue: "mail"} },
	} {
		bad := full
		m(&bad)
		if failed, _ := try(t, func(tb testing.TB) { guetest.RequireEnqueued(tb, e.pool, bad) }); !failed {
			t.Errorf("RequireEnqueued passed with a wrong %s", name)
		}
	}
	if failed, _ := try(t, func(tb testing.TB) { guetest.RequireNotEnqueued(tb, e.pool, guetest.Match{UniqueKey: "signup-7"}) }); !failed {
		t.Error("RequireNotEnqueued passed with the job there")
	}
	if failed, _ := try(t, func(tb testing.TB) { guetest.RequireEnqueuedN(tb, e.pool, guetest.Match{Type: "send"}, 2) }); !failed {
		t.Error("RequireEnqueuedN passed with 3 jobs for 2")
	}
	if failed, msg := try(t, func(tb testing.TB) { guetest.RequireEnqueued(tb, e.pool, guetest.Match{Args: `{"to":`}) }); !failed || !strings.Contains(msg, "not JSON") {
		t.Errorf("a Match with bad JSON args: failed %v, %q", failed, msg)
	}
}

// A failure says what was there instead: the closest jobs, escaped, each
// with how it differs.
func testKitFailureShowsClosest(t *testing.T, e *env) {
	c := e.client()
	near := e.enqueue(c, &gue.Job{Queue: "mail", Type: "send", Args: []byte(`{"to":"a@example.com","n":1}`)})
	e.enqueue(c, &gue.Job{Queue: "mail", Type: "other\x1b[2J", Args: []byte(`{"to":"z"}`)})
	failed, msg := try(t, func(tb testing.TB) {
		guetest.RequireEnqueued(tb, e.pool, guetest.Match{Queue: "mail", Type: "send", ArgsSubset: map[string]any{"n": 2}})
	})
	if !failed {
		t.Fatal("RequireEnqueued passed without a matching job")
	}
	t.Logf("the failure a user sees:\n%s", msg)
	for _, want := range []string{fmt.Sprintf("job %d ", near.ID), `"n":1`, "differs in: Args", `Type "other\x1b[2J"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "\x1b") {
		t.Errorf("failure message holds a raw terminal escape:\n%q", msg)
	}
	if strings.Index(msg, fmt.Sprintf("job %d ", near.ID)) > strings.Index(msg, "other") {
		t.Errorf("the job differing in args alone is not listed first:\n%s", msg)
	}
	// A dead job is named as one, not silently left out.
	dead := e.enqueue(c, &gue.Job{Queue: "gone", Type: "send"})
	if got := guetest.WorkOne(t, c, gue.WorkMap{"send": func(*gue.Job) error { return gue.ErrDiscard }}, "gone"); got != gue.OutcomeDiscarded {
		t.Fatalf("WorkOne = %s; want discarded", got)
	}
	failed, msg = try(t, func(tb testing.TB) { guetest.RequireEnqueued(tb, e.pool, guetest.Match{Queue: "gone"}) })
	if !failed || !strings.Contains(msg, fmt.Sprintf("job %d ", dead.ID)) || !strings.Contains(msg, "State dead") {
		t.Errorf("a dead job's miss: failed %v, message:\n%s", failed, msg)
	}
}

func testKitWorkOne(t *testing.T, e *env) {
	// A Client hook that hides every error: WorkOne reports the run's own
	// outcome all the same.
	hide := gue.Hooks{Work: func(next gue.RunFunc) gue.RunFunc {
		return func(ctx context.Context, j *gue.Job) error { _ = next(ctx, j); return nil }
	}}
	c := e.client(gue.WithClientHooks(hide), gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)), gue.WithClientMaxAttempts(2))
	wm := gue.WorkMap{
		"ok":      func(*gue.Job) error { return nil },
		"fails":   func(*gue.Job) error { return errors.New("no") },
		"snooze":  func(*gue.Job) error { return gue.Snooze(time.Hour) },
		"discard": func(*gue.Job) error { return fmt.Errorf("bad input: %w", gue.ErrDiscard) },
		"panics":  func(*gue.Job) error { panic("boom") },
	}
	for i, c2 := range []struct {
		typ  string
		errs int32
		want gue.Outcome
	}{
		{"ok", 0, gue.OutcomeDone},
		{"fails", 0, gue.OutcomeError},
		{"fails", 1, gue.OutcomeDead},
		{"snooze", 0, gue.OutcomeSnoozed},
		{"discard", 0, gue.OutcomeDiscarded},
		{"panics", 0, gue.OutcomePanic},
		{"mystery", 0, gue.OutcomeUnknownType},
	} {
		q := fmt.Sprintf("q%d", i)
		j := e.enqueue(c, &gue.Job{Queue: q, Type: c2.typ})
		if c2.errs > 0 {
			e.exec("UPDATE gue_jobs SET error_count = $3 WHERE queue = $1 AND job_id = $2", q, j.ID, c2.errs)
		}
		if got := guetest.WorkOne(t, c, wm, q); got != c2.want {
			t.Errorf("%s with %d errors: WorkOne = %s, want %s", c2.typ, c2.errs, got, c2.want)
		}
	}
	guetest.RequireEnqueued(t, e.pool, guetest.Match{Queue: "q2", State: gue.StateDead})
	guetest.RequireNotEnqueued(t, e.pool, guetest.Match{Queue: "q0"})
	failed, msg := try(t, func(tb testing.TB) { guetest.WorkOne(tb, c, wm, "empty") })
	if !failed || !strings.Contains(msg, "no job is ready") {
		t.Errorf("WorkOne on an empty queue: failed %v, %q", failed, msg)
	}
}

func testKitDrain(t *testing.T, e *env) {
	c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(time.Hour)))
	var mu sync.Mutex
	seen := map[string]bool{}
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		var a struct{ N int }
		if err := json.Unmarshal(j.Args, &a); err != nil {
			return err
		}
		mu.Lock()
		seen[string(j.Args)] = true
		mu.Unlock()
		if a.N%5 == 0 {
			return errors.New("every fifth fails")
		}
		return nil
	}}
	for n := 1; n <= 40; n++ {
		e.enqueue(c, &gue.Job{Queue: "d", Type: "t", Args: []byte(fmt.Sprintf(`{"N":%d}`, n))})
	}
	e.enqueue(c, &gue.Job{Queue: "d", Type: "t", RunAt: time.Now().Add(time.Hour)}) // not due: left alone
	got := guetest.Drain(t, c, wm, "d", 4)
	if got[gue.OutcomeDone] != 32 || got[gue.OutcomeError] != 8 || len(got) != 2 {
		t.Errorf("Drain outcomes %v; want 32 done and 8 errors", got)
	}
	if len(seen) != 40 {
		t.Errorf("%d distinct jobs ran; want 40", len(seen))
	}
	guetest.RequireEnqueuedN(t, e.pool, guetest.Match{Queue: "d", State: gue.StateRetrying}, 8)
	guetest.RequireEnqueuedN(t, e.pool, guetest.Match{Queue: "d", State: gue.StateScheduled}, 1)
	guetest.RequireNotEnqueued(t, e.pool, guetest.Match{Queue: "d", State: gue.StateReady})
	// Drain of an empty queue returns at once, with nothing run.
	if got := guetest.Drain(t, c, wm, "empty", 1); len(got) != 0 {
		t.Errorf("Drain of an empty queue ran %v", got)
	}
}

// A Worker's or pool's own hooks run inside the Client's: Work nested in
// it, Locked after it.
func testKitWorkerHooksOrder(t *testing.T, e *env) {
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	hooks := func(name string) gue.Hooks {
		return gue.Hooks{
			Work: func(next gue.RunFunc) gue.RunFunc {
				return func(ctx context.Context, j *gue.Job) error {
					note(name + ">")
					err := next(ctx, j)
					note("<" + name)
					return err
				}
			},
			Locked: func(_ context.Context, _ string, j *gue.Job, _ error) {
				if j != nil {
					note(name + " locked")
				}
			},
		}
	}
	c := e.client(gue.WithClientHooks(hooks("client")))
	e.enqueue(c, &gue.Job{Type: "t"})
	w := gue.NewWorker(c, gue.WorkMap{"t": func(*gue.Job) error { note("run"); return nil }}, gue.WithWorkerHooks(hooks("worker")))
	if !w.WorkOne(e.ctx) {
		t.Fatal("no job worked")
	}
	want := "client locked,worker locked,client>,worker>,run,<worker,<client"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("hook order %s; want %s", got, want)
	}
	// Control: a Worker without hooks of its own runs the Client's alone.
	order = nil
	e.enqueue(c, &gue.Job{Type: "t"})
	if !gue.NewWorker(c, gue.WorkMap{"t": func(*gue.Job) error { note("run"); return nil }}).WorkOne(e.ctx) {
		t.Fatal("no job worked")
	}
	if got := strings.Join(order, ","); got != "client locked,client>,run,<client" {
		t.Errorf("hook order without worker hooks: %s", got)
	}
}

// jsonSame reports whether two JSON texts hold the same value.
func jsonSame(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
