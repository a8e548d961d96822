package conformance

import (
	"context"
	"strings"
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
	{"ConcurrentEnqueuesAllWake", testConcurrentEnqueuesAllWake},
	{"ClientNotifyOff", testClientNotifyOff},
}

// Enqueue announces its job after the commit, sharing one NOTIFY with the
// Enqueue calls that commit meanwhile: bursts of concurrent calls, each job
// of them, still reach an idle pool that only listens (its poll interval is
// an hour), however the announcements were gathered.
func testConcurrentEnqueuesAllWake(t *testing.T, e *env) {
	need[adapter.Listener](t, e, capListen)
	c := e.client()
	const callers, rounds = 16, 5
	picked := make(chan int64, callers)
	// Two workers: with the LISTEN connection they fit the suite's
	// connection pool, which a pool that does not fit gives up LISTEN for.
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error { picked <- j.ID; return nil }}, 2,
		gue.WithPoolQueue("burst"), gue.WithPoolPollInterval(time.Hour))
	runPool(t, p)
	e.enqueue(c, &gue.Job{Type: "t", Queue: "burst"}) // proves the pool listens
	select {
	case <-picked:
	case <-time.After(20 * time.Second):
		t.Fatal("first job not picked up within 20s; the poll interval is an hour")
	}
	for round := range rounds {
		errs := make(chan error, callers)
		for range callers {
			go func() { errs <- c.Enqueue(e.ctx, &gue.Job{Type: "t", Queue: "burst"}) }()
		}
		for range callers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		seen := map[int64]bool{}
		for len(seen) < callers {
			select {
			case id := <-picked:
				seen[id] = true
			case <-time.After(20 * time.Second):
				t.Fatalf("round %d: %d of %d concurrently enqueued jobs picked up within 20s; the poll interval is an hour", round, len(seen), callers)
			}
		}
	}
}

// WithClientNotify(false): enqueues send no NOTIFY at all (one Client),
// while another Client's are still heard on the same channel.
func testClientNotifyOff(t *testing.T, e *env) {
	l := need[adapter.Listener](t, e, capListen)
	conn, err := l.Listen(e.ctx, "gue_jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(e.ctx)
	quiet, loud := e.client(gue.WithClientNotify(false)), e.client()
	e.enqueue(quiet, &gue.Job{Type: "t", Queue: "quiet"})
	e.enqueue(quiet, &gue.Job{Type: "t", Queue: "quiet", RunAt: time.Now().Add(2 * time.Second)})
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := quiet.EnqueueTx(e.ctx, &gue.Job{Type: "t", Queue: "quiet"}, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := quiet.EnqueueBatch(e.ctx, []*gue.Job{{Type: "t", Queue: "quiet"}}); err != nil {
		t.Fatal(err)
	}
	e.enqueue(loud, &gue.Job{Type: "t", Queue: "loud"})
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	payload, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(payload, "\x1floud") {
		t.Errorf("first notification %q; want the loud client's (queue loud): the quiet one must send none", payload)
	}
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
