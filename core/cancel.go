package gue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// ErrJobRunning is returned by Cancel for a job that a worker is running:
// the cancellation is asked of that worker, which cancels the job's context
// (cause ErrCancelled) within a second.
var ErrJobRunning = errors.New("job is running; its cancellation was requested")

// cancelCheck is how often the workers of a pool with jobs in flight look
// for cancellations asked of them (a NOTIFY wakes a listening pool sooner).
const cancelCheck = 500 * time.Millisecond

// Cancel cancels job id of queue. A queued job (not locked by any worker)
// goes to the dead jobs with reason cancelled and never runs: Cancel returns
// nil. A running job, locked by a WorkerPool or a running Worker in any
// process on any host, has its Job.Context cancelled with cause ErrCancelled
// within a second, and goes to the dead jobs when its WorkFunc then returns
// an error; a WorkFunc that ignores its context and returns nil completes
// normally. Cancel then returns an error wrapping ErrJobRunning. It returns
// an error wrapping ErrJobNotFound when queue has no job id.
//
// The request belongs to the job's current run and ends with it: a job that
// completes, or dies (of max_attempts, say) before its worker sees the
// request, takes the request along, and a dead job retried with RetryDead
// runs uncancelled. A job that fails and is retried keeps the request: its
// next attempt is cancelled.
//
// Jobs locked with Client.LockJob, or worked with Worker.WorkOne outside
// Run, are not watched: their cancellation takes effect if they are
// unlocked and locked again.
func (c *Client) Cancel(ctx context.Context, queue string, id int64) error {
	if c.err != nil {
		return c.err
	}
	if err := checkText("cancel job", queue); err != nil {
		return err
	}
	tag, err := c.pool.Exec(ctx, c.stmts.CancelQueued, queue, id)
	if err != nil {
		return fmt.Errorf("gue: cancel job %d: %w", id, notMigrated(c.schema, err))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	tag, err = c.pool.Exec(ctx, c.stmts.CancelRequest, queue, id)
	if err != nil {
		return fmt.Errorf("gue: cancel job %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		// Asked already, or no such job (any more).
		var n int64
		if err := c.pool.QueryRow(ctx, c.stmts.Exists, queue, id).Scan(&n); err != nil {
			return fmt.Errorf("gue: cancel job %d: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("gue: cancel job %d of queue %q: %w", id, queue, ErrJobNotFound)
		}
	}
	if _, err := c.pool.Exec(ctx, c.stmts.Notify, wake.CancelPayload(c.schema, queue)); err != nil {
		c.logger.Error("could not announce a cancellation; workers find it by polling", adapter.Err(err))
	}
	return fmt.Errorf("gue: cancel job %d of queue %q: %w", id, queue, ErrJobRunning)
}

// watchCancels looks for cancellations asked of the jobs in flight every
// cancelCheck, and at once when kick fires, until ctx is done.
func (cfg *workerConfig) watchCancels(ctx context.Context, kick <-chan struct{}, log adapter.Logger) {
	t := time.NewTicker(cancelCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		ids := cfg.inflight.ids()
		if ids == "" {
			continue
		}
		for _, l := range cfg.lanes { // one statement per queue (Citus)
			var list sql.NullString
			if err := cfg.c.pool.QueryRow(ctx, cfg.stmts.CancelRequested, l.queue, ids).Scan(&list); err != nil {
				if ctx.Err() == nil {
					log.Debug("could not look for cancelled jobs", adapter.Err(err))
				}
				continue
			}
			if list.Valid {
				cfg.inflight.cancel(list.String)
			}
		}
	}
}

// watch runs watchCancels until the returned stop is called: after the
// workers are done, since jobs in flight outlive the context of Run.
func (cfg *workerConfig) watch(ctx context.Context, kick <-chan struct{}, log adapter.Logger) (stop func()) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfg.watchCancels(wctx, kick, log)
	}()
	return func() {
		cancel()
		<-done
	}
}
