package conformance

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// A pool in session mode that stops while its lock connection gives back
// the lock of a job that ended lets that statement finish: it does not
// cut it off, take the cut for a lost lock connection and log it as an
// error (a graceful stop is not a loss). The unlock is held in the lock
// connection until its context ends or a second passed: while the pool
// stops, a second job still runs, and it ends after. Control: with the
// releaser's statements bound to the pool's stop, the held unlock is cut
// off by the stop and "lost the lock connection" is logged.
func testSessionStopCutsNoStatement(t *testing.T, e *env) {
	needSessionMode(t, e)
	log := &errorLog{}
	c := gue.NewClient(e.pool, gue.WithClientLogger(log))
	a := e.enqueue(c, &gue.Job{Type: "t", Queue: "stopping", Priority: 1})
	e.enqueue(c, &gue.Job{Type: "t", Queue: "stopping", Priority: 2})
	started := make(chan int64, 2)
	release := map[int64]chan struct{}{}
	var mu sync.Mutex
	gate := func(id int64) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if release[id] == nil {
			release[id] = make(chan struct{})
		}
		return release[id]
	}
	wm := gue.WorkMap{"t": func(j *gue.Job) error {
		started <- j.ID
		<-gate(j.ID)
		return nil
	}}
	pool := &heldUnlocks{ConnPool: e.pool, unlocking: make(chan struct{})}
	stop := startPool(t, sessionPool(gue.NewClient(pool, gue.WithClientLogger(log)), wm, 2, "stopping",
		gue.WithPoolPollInterval(time.Hour)))
	ids := []int64{<-started, <-started}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }() // waits for both jobs
	// The first job ends while the pool stops: no lock statement goes out
	// any more, so its lock goes back by an unlock statement of its own.
	close(gate(a.ID))
	select {
	case <-pool.unlocking:
	case <-time.After(time.Minute):
		t.Fatal("no unlock statement for the first job within a minute")
	}
	for _, id := range ids {
		if id != a.ID {
			close(gate(id))
		}
	}
	<-stopped
	if log.has("lost the lock connection") {
		t.Errorf("a graceful stop logged a lost lock connection: %v", log.msgs)
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = 'stopping'`); n != 0 {
		t.Errorf("%d jobs left, want both done", n)
	}
	waitFor(t, "every advisory lock given back", func() bool { return e.advisoryLocks() == 0 })
}

// heldUnlocks is a pool whose lock connection holds its first unlock
// statement (one that gives locks back and takes none) until the
// statement's context ends or a second passed, and closes unlocking when
// it begins to.
type heldUnlocks struct {
	adapter.ConnPool
	unlocking chan struct{}
	once      sync.Once
}

func (h *heldUnlocks) Session(ctx context.Context) (adapter.SessionConn, error) {
	c, err := h.ConnPool.(adapter.Sessioner).Session(ctx)
	if err != nil {
		return nil, err
	}
	return &heldUnlock{SessionConn: c, h: h}, nil
}

type heldUnlock struct {
	adapter.SessionConn
	h *heldUnlocks
}

func (c *heldUnlock) QueryRow(ctx context.Context, sql string, args ...any) adapter.Row {
	if strings.Contains(sql, "pg_advisory_unlock") && !strings.Contains(sql, "pg_try_advisory_lock") {
		first := false
		c.h.once.Do(func() { first = true })
		if first {
			close(c.h.unlocking)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return c.SessionConn.QueryRow(ctx, sql, args...)
}
