package gue

import (
	"context"
	"errors"
	"testing"
	"time"
)

// These cases need no database: bad input and bad configuration are refused
// before any statement is sent.

func TestEnqueueRejectsBadInputBeforeTheDatabase(t *testing.T) {
	c := NewClient(nil)
	ctx := context.Background()
	if err := c.Enqueue(ctx, nil); !errors.Is(err, ErrNilJob) {
		t.Errorf("nil job: %v", err)
	}
	if err := c.Enqueue(ctx, &Job{}); err != ErrMissingType { //nolint:errorlint // seed contract: the sentinel itself
		t.Errorf("missing type: %v", err)
	}
	if err := c.Enqueue(ctx, &Job{Type: "t", Args: []byte("{")}); !errors.Is(err, ErrInvalidArgs) {
		t.Errorf("invalid args: %v", err)
	}
	if err := c.Enqueue(ctx, &Job{Type: "t"}); !errors.Is(err, ErrNilPool) {
		t.Errorf("nil pool: %v", err)
	}
	if _, err := c.LockJob(ctx, ""); !errors.Is(err, ErrNilPool) {
		t.Errorf("LockJob on nil pool: %v", err)
	}
	if err := Migrate(ctx, nil, ""); !errors.Is(err, ErrNilPool) {
		t.Errorf("Migrate on nil pool: %v", err)
	}
}

func TestClientOptions(t *testing.T) {
	b := ConstantBackoff(time.Minute)
	c := NewClient(nil, WithClientID("c1"), WithClientBackoff(b), WithClientSchema(`s"1`), WithClientLogger(nil))
	if c.id != "c1" || c.schema != `s"1` || c.backoff(1) != time.Minute || c.logger == nil {
		t.Errorf("options not applied: %+v", c)
	}
	bad := NewClient(nil, WithClientSchema("a\x00"))
	if err := bad.Enqueue(context.Background(), &Job{Type: "t"}); !errors.Is(err, ErrInvalidSchema) {
		t.Errorf("bad schema: %v, want ErrInvalidSchema", err)
	}
	if d := NewClient(nil, WithClientBackoff(nil)); d.backoff == nil || d.schema != "public" {
		t.Errorf("defaults not kept: %+v", d)
	}
}

func TestWorkerAndPoolOptions(t *testing.T) {
	c := NewClient(nil)
	w := NewWorker(c, WorkMap{}, WithWorkerID("w"), WithWorkerQueue("q"), WithWorkerPollInterval(time.Second),
		WithWorkerSchema("other"), WithWorkerGracePeriod(-1), WithWorkerLogger(nil))
	if w.ID() != "w" || w.lanes[0].queue != "q" || w.interval != time.Second || w.stmts.Schema != "other" || w.grace != -1 {
		t.Errorf("worker options not applied: %+v", w)
	}
	if d := NewWorker(c, WorkMap{}); d.interval != DefaultPollInterval || d.stmts.Schema != "public" || d.grace != DefaultGracePeriod {
		t.Errorf("worker defaults: %+v", d)
	}
	p := NewWorkerPool(c, WorkMap{}, 3, WithPoolID("p"), WithPoolQueue("q"), WithPoolSchema("s"),
		WithPoolPollInterval(time.Millisecond), WithPoolGracePeriod(time.Second), WithPoolLogger(nil))
	if p.ID() != "p" || len(p.r.slots) != 3 || len(p.r.lockers) != 3 {
		t.Fatalf("pool: %+v", p)
	}
	for i, w := range p.r.slots {
		if w.id != "p/"+string(rune('0'+i)) || w.lanes[0].queue != "q" || w.stmts.Schema != "s" || w.interval != time.Millisecond || w.grace != time.Second {
			t.Errorf("pool worker %d: %+v", i, w)
		}
	}
	if n := len(NewWorkerPool(c, WorkMap{}, 0).r.slots); n != 1 {
		t.Errorf("pool size 0 made %d workers, want 1", n)
	}
}

func TestWorkerWithoutClientRefusesToRun(t *testing.T) {
	w := NewWorker(nil, WorkMap{})
	if err := w.Run(context.Background()); !errors.Is(err, ErrNilClient) {
		t.Errorf("Run: %v, want ErrNilClient", err)
	}
	if w.WorkOne(context.Background()) {
		t.Error("WorkOne reported work without a client")
	}
	p := NewWorkerPool(nil, WorkMap{}, 2)
	if err := p.Start(context.Background()); !errors.Is(err, ErrNilClient) {
		t.Errorf("pool Start: %v, want ErrNilClient", err)
	}
}

func TestRunReturnsNilOnCancel(t *testing.T) {
	// A cancelled context stops the loop before any statement is sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewWorkerPool(NewClient(nil), WorkMap{}, 2).Run(ctx); err != nil {
		t.Errorf("Run on cancelled context: %v, want nil", err)
	}
}

func TestCancelAfterGrace(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	jobCtx, jobCancel := context.WithCancel(context.Background())
	stop := cancelAfterGrace(ctx, 0, jobCancel)
	defer stop()
	cancel()
	select {
	case <-jobCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("grace 0 did not cancel the job context")
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	jobCtx2, jobCancel2 := context.WithCancel(context.Background())
	defer jobCancel2()
	stop2 := cancelAfterGrace(ctx2, -1, jobCancel2)
	cancel2()
	stop2()
	if jobCtx2.Err() != nil {
		t.Error("negative grace cancelled the job context")
	}
}

func TestSanitizeText(t *testing.T) {
	if got := sanitizeText("a\x00b\xffc"); got != "a\\0b\uFFFDc" {
		t.Errorf("sanitizeText = %q", got)
	}
}

func TestPoolQueuesAreChecked(t *testing.T) {
	c := NewClient(nil)
	for _, qs := range [][]string{{}, {"a", "b", "a"}} {
		p := NewWorkerPool(c, WorkMap{}, 1, WithPoolQueues(qs...))
		if err := p.Run(context.Background()); !errors.Is(err, ErrInvalidQueues) {
			t.Errorf("WithPoolQueues(%q): Run returned %v, want ErrInvalidQueues", qs, err)
		}
	}
	p := NewWorkerPool(c, WorkMap{}, 4, WithPoolQueue("x"), WithPoolQueues("a", "b", "c"))
	if got := queueNames(p.lanes); got != "a,b,c" {
		t.Errorf("lanes %q, want a,b,c", got)
	}
	for i, w := range p.r.lockers {
		if w.next != i%3 || len(w.cursors) != 3 {
			t.Errorf("worker %d starts at lane %d with %d cursors", i, w.next, len(w.cursors))
		}
	}
}
