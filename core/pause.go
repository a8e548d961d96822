package gue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// pauseRefresh is how often the workers of a pool look up whether their
// queue is paused. A pause takes effect within it, everywhere, with no
// leader and no LISTEN (so behind PgBouncer too); the lock query itself
// never looks.
const pauseRefresh = 500 * time.Millisecond

// PauseQueue pauses queue: within a second every Worker and WorkerPool on
// it, in any process on any host, stops locking its jobs (jobs in flight
// finish). Enqueueing goes on. The state is kept in the database, so it
// survives restarts and a worker started later starts paused. Pausing a
// paused queue is not an error. Client.LockJob, the caller's own explicit
// lock, is not affected.
func (c *Client) PauseQueue(ctx context.Context, queue string) error {
	if c.err != nil {
		return c.err
	}
	if err := checkText("pause queue", queue); err != nil {
		return err
	}
	if _, err := c.pool.Exec(ctx, c.stmts.Pause, queue); err != nil {
		return fmt.Errorf("gue: pause queue %q: %w", queue, notMigrated(c.schema, err))
	}
	return nil
}

// ResumeQueue resumes a paused queue (see PauseQueue) and wakes its
// listening pools; polling ones notice within a second. Resuming a queue
// that is not paused is not an error.
func (c *Client) ResumeQueue(ctx context.Context, queue string) error {
	if c.err != nil {
		return c.err
	}
	if err := checkText("resume queue", queue); err != nil {
		return err
	}
	if _, err := c.pool.Exec(ctx, c.stmts.Resume, queue); err != nil {
		return fmt.Errorf("gue: resume queue %q: %w", queue, notMigrated(c.schema, err))
	}
	if _, err := c.pool.Exec(ctx, c.stmts.Notify, wake.Payload(c.schema, queue)); err != nil {
		c.logger.Error("could not wake the resumed queue's pools; they notice by polling", adapter.Err(err))
	}
	return nil
}

// pauseCache is the paused state of one queue as the workers of a pool last
// looked it up, shared by them: one of them looks at most every
// pauseRefresh, the others read the answer.
type pauseCache struct {
	paused  atomic.Bool
	checked atomic.Int64 // UnixNano of the last look
	looking sync.Mutex
}

// isPaused reports whether queue is paused, looking it up when the cached
// answer is older than pauseRefresh. A failed look keeps the last answer
// (the lock query fails the same way and reports it). A worker that finds
// the answer stale while another looks waits for that look rather than
// take the stale answer: after a pause it would start one more job.
func (p *pauseCache) isPaused(ctx context.Context, c *Client, stmts *queries, queue string) bool {
	if p.fresh() {
		return p.paused.Load()
	}
	p.looking.Lock()
	defer p.looking.Unlock()
	if p.fresh() { // looked up while this worker waited
		return p.paused.Load()
	}
	var n int64
	if err := c.pool.QueryRow(ctx, stmts.Paused, queue).Scan(&n); err == nil {
		p.paused.Store(n > 0)
	}
	p.checked.Store(time.Now().UnixNano())
	return p.paused.Load()
}

// fresh reports whether the cached answer is younger than pauseRefresh.
func (p *pauseCache) fresh() bool {
	checked := p.checked.Load()
	return checked != 0 && time.Since(time.Unix(0, checked)) < pauseRefresh
}
