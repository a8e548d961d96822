package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// enqueueCases is the suite's Enqueue group.
var enqueueCases = []testCase{
	{"Defaults", testEnqueueDefaults},
	{"KeepsArgsAndFields", testEnqueueKeepsArgsAndFields},
	{"MissingType", testEnqueueMissingType},
	{"BadInput", testEnqueueBadInput},
	{"CancelledContext", testEnqueueCancelledContext},
	{"TxCommit", testEnqueueTxCommit},
	{"TxRollback", testEnqueueTxRollback},
	{"RunAtOutOfRange", testRunAtOutOfRange},
	{"LongQueueName", testLongQueueName},
	{"SameStructTwice", testEnqueueSameStructTwice},
}

func testEnqueueDefaults(t *testing.T, e *env) {
	c := e.client()
	before := time.Now()
	j := e.enqueue(c, &gue.Job{Type: "MyJob"})
	if j.ID <= 0 {
		t.Fatalf("ID = %d, want > 0", j.ID)
	}
	if !within(j.RunAt, before, time.Minute) {
		t.Errorf("RunAt = %v, want about %v", j.RunAt, before)
	}
	if string(j.Args) != "[]" {
		t.Errorf("Args = %q, want []", j.Args)
	}
	got := e.lock(c, "")
	if got == nil {
		t.Fatal("LockJob found no job in queue \"\"")
	}
	defer got.Done(e.ctx)
	if got.ID != j.ID || got.Queue != "" || got.Priority != 0 || got.Type != "MyJob" ||
		string(got.Args) != "[]" || got.ErrorCount != 0 || got.LastError.Valid {
		t.Errorf("locked job = %+v, want defaults of job %d", got, j.ID)
	}
	if !within(got.RunAt, j.RunAt, time.Millisecond) {
		t.Errorf("locked RunAt = %v, enqueued %v", got.RunAt, j.RunAt)
	}
}

func testEnqueueKeepsArgsAndFields(t *testing.T, e *env) {
	c := e.client()
	args := []byte(`{"name": "Zoë", "n":[1, 2.5e3],  "nested":{"ok":true}}`)
	runAt := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "q", Priority: -7, RunAt: runAt, Args: args})
	if !j.RunAt.Equal(runAt) {
		t.Errorf("Enqueue changed RunAt to %v, want %v", j.RunAt, runAt)
	}
	got := e.lock(c, "q")
	if got == nil {
		t.Fatal("no job locked")
	}
	defer got.Done(e.ctx)
	if string(got.Args) != string(args) {
		t.Errorf("Args = %s, want byte-for-byte %s", got.Args, args)
	}
	if got.Priority != -7 || !got.RunAt.Equal(runAt) {
		t.Errorf("Priority, RunAt = %d, %v; want -7, %v", got.Priority, got.RunAt, runAt)
	}
}

func testEnqueueMissingType(t *testing.T, e *env) {
	c := e.client()
	err := c.Enqueue(e.ctx, &gue.Job{Args: []byte(`{}`)})
	if err != gue.ErrMissingType { //nolint:errorlint // the seed documents the sentinel itself
		t.Errorf("Enqueue without type: err = %v, want ErrMissingType", err)
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	if err := c.EnqueueTx(e.ctx, &gue.Job{}, tx); !errors.Is(err, gue.ErrMissingType) {
		t.Errorf("EnqueueTx without type: err = %v, want ErrMissingType", err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs stored, want 0", n)
	}
}

func testEnqueueBadInput(t *testing.T, e *env) {
	c := e.client()
	cases := []struct {
		name string
		job  *gue.Job
		want error
	}{
		{"nil job", nil, gue.ErrNilJob},
		{"invalid JSON", &gue.Job{Type: "t", Args: []byte(`{"a":`)}, gue.ErrInvalidArgs},
		{"not JSON", &gue.Job{Type: "t", Args: []byte("hello")}, gue.ErrInvalidArgs},
		{"NUL in type", &gue.Job{Type: "a\x00b"}, gue.ErrInvalidType},
		{"invalid UTF-8 queue", &gue.Job{Type: "t", Queue: "\xff"}, gue.ErrInvalidType},
	}
	for _, tc := range cases {
		if err := c.Enqueue(e.ctx, tc.job); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := c.EnqueueTx(e.ctx, &gue.Job{Type: "t"}, nil); !errors.Is(err, gue.ErrNilTx) {
		t.Errorf("nil tx: err = %v, want ErrNilTx", err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs stored after bad input, want 0", n)
	}
}

func testEnqueueCancelledContext(t *testing.T, e *env) {
	c := e.client()
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if err := c.Enqueue(ctx, &gue.Job{Type: "t"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with cancelled context: err = %v, want context.Canceled", err)
	}
	if j, err := c.LockJob(ctx, ""); j != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("LockJob with cancelled context = %v, %v; want nil, context.Canceled", j, err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs stored, want 0", n)
	}
}

func testEnqueueTxCommit(t *testing.T, e *env) {
	c := e.client()
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	j := &gue.Job{Type: "t", Queue: "tx"}
	if err := c.EnqueueTx(e.ctx, j, tx); err != nil {
		t.Fatalf("EnqueueTx: %v", err)
	}
	if got := e.lock(c, "tx"); got != nil {
		got.Done(e.ctx)
		t.Fatal("job visible to LockJob before its transaction committed")
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	got := e.lock(c, "tx")
	if got == nil || got.ID != j.ID {
		t.Fatalf("after commit LockJob = %+v, want job %d", got, j.ID)
	}
	e.done(got)
}

func testEnqueueTxRollback(t *testing.T, e *env) {
	c := e.client()
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueTx(e.ctx, &gue.Job{Type: "t"}, tx); err != nil {
		t.Fatalf("EnqueueTx: %v", err)
	}
	if err := tx.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs after rollback, want 0", n)
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
