package conformance

import (
	"context"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// Optional capability: adapter.Listener, skipped where not implemented.
func testCapabilityListen(t *testing.T, e *env) {
	l, ok := e.pool.(adapter.Listener)
	if !ok {
		t.Skip("the adapter does not implement adapter.Listener; worker pools poll")
	}
	conn, err := l.Listen(e.ctx, "gue_conformance")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(e.ctx)
	e.exec(`SELECT pg_notify('gue_conformance', 'hello')`)
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	payload, err := conn.WaitForNotification(ctx)
	if err != nil || payload != "hello" {
		t.Fatalf("WaitForNotification = %q, %v; want hello", payload, err)
	}
}

// With LISTEN, an idle pool picks a new job up long before its next poll.
func testListenWakesIdlePool(t *testing.T, e *env) {
	if _, ok := e.pool.(adapter.Listener); !ok {
		t.Skip("the adapter does not implement adapter.Listener; worker pools poll")
	}
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
