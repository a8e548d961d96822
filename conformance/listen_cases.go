package conformance

import (
	"context"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// listenCases is the suite's Listen group.
var listenCases = []testCase{
	{"WakesIdlePool", testListenWakesIdlePool},
	{"ReadyAtCommit", testNotifyReadyAtCommit},
	{"PoolWithoutListen", testPoolWithoutListen},
}

// With LISTEN, an idle pool picks a new job up long before its next poll.
func testListenWakesIdlePool(t *testing.T, e *env) {
	need[adapter.Listener](t, e, capListen)
	c := e.client()
	picked := make(chan struct{}, 2)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error { picked <- struct{}{}; return nil }}, 2,
		gue.WithPoolQueue("listen"), gue.WithPoolPollInterval(time.Hour))
	runPool(t, p)
	for i := 0; i < 2; i++ { // the second while the pool is idle and listening
		e.enqueue(c, &gue.Job{Type: "t", Queue: "listen"})
		select {
		case <-picked:
		case <-time.After(20 * time.Second):
			t.Fatalf("job %d not picked up within 20s; the poll interval is an hour", i+1)
		}
	}
	if err := c.EnqueueBatch(e.ctx, []*gue.Job{{Type: "t", Queue: "listen"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("batch-enqueued job not picked up within 20s")
	}
}

// A job whose RunAt is ready by the time its transaction commits is
// announced, even when the transaction began before that RunAt.
func testNotifyReadyAtCommit(t *testing.T, e *env) {
	need[adapter.Listener](t, e, capListen)
	c := e.client()
	picked := make(chan struct{}, 2)
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error { picked <- struct{}{}; return nil }}, 1,
		gue.WithPoolQueue("late-tx"), gue.WithPoolPollInterval(time.Hour))
	runPool(t, p)
	e.enqueue(c, &gue.Job{Type: "t", Queue: "late-tx"}) // proves the pool listens
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("first job not picked up within 20s")
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	if _, err := tx.Exec(e.ctx, `SELECT pg_sleep(0.2)`); err != nil { // now() stays at the start
		t.Fatal(err)
	}
	if err := c.EnqueueTx(e.ctx, &gue.Job{Type: "t", Queue: "late-tx", RunAt: time.Now()}, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("a job ready at commit was not announced: not picked up within 20s (the poll interval is an hour)")
	}
	// A client clock 300 ms ahead of the server's: the job is announced and
	// the woken worker looks again when it is due.
	e.enqueue(c, &gue.Job{Type: "t", Queue: "late-tx", RunAt: time.Now().Add(300 * time.Millisecond)})
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("a job due 300 ms after its enqueue was not picked up within 20s (the poll interval is an hour)")
	}
}

// WithPoolListen(false), the setting behind PgBouncer in transaction mode:
// the pool holds no LISTEN connection, and polling still works its jobs.
func testPoolWithoutListen(t *testing.T, e *env) {
	need[adapter.Listener](t, e, capListen)
	listening := func() int64 {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`)
	}
	c := e.client()
	for _, listen := range []bool{true, false} {
		queue := map[bool]string{true: "listening", false: "polling"}[listen]
		picked := make(chan struct{}, 1)
		ctx, cancel := context.WithCancel(e.ctx)
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error { picked <- struct{}{}; return nil }}, 1,
			gue.WithPoolQueue(queue), gue.WithPoolListen(listen), gue.WithPoolPollInterval(50*time.Millisecond))
		stopped := make(chan error, 1)
		go func() { stopped <- p.Run(ctx) }()
		e.enqueue(c, &gue.Job{Type: "t", Queue: queue})
		select {
		case <-picked:
		case <-time.After(20 * time.Second):
			t.Errorf("listen=%v: job not picked up within 20s", listen)
		}
		if listen {
			waitFor(t, "the pool's LISTEN connection", func() bool { return listening() > 0 })
		} else if n := listening(); n != 0 {
			t.Errorf("WithPoolListen(false): %d LISTEN connections", n)
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
	}
}
