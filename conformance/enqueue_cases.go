package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

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
