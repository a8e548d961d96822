package gue

import (
	"context"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
)

// lockCursor is one worker's way to its next job in one lane: the plan of
// its lock queries (lockplan.Cursor, through the lock hints its pool
// shares). A nil *lockCursor always locks from the front (Client.LockJob).
type lockCursor struct {
	plan lockplan.Cursor
	// chain: the cursor is a worker loop's own, and the loop will look in
	// this queue next (its only one, or the others are quiet), so a job it
	// locked may send the lock of the worker's next job with its commit
	// (adapter.PipelineChainer; see soloTx.commitDelete). The job's ending
	// returns that lock to the loop, which passes it to its next lockJob.
	chain bool
}

func newLockCursor(hints *lockplan.Hints) *lockCursor {
	return &lockCursor{plan: lockplan.NewCursor(hints)}
}

// planner returns the cursor's plan; nil for a nil cursor, which plans
// every lock from the front.
func (c *lockCursor) planner() *lockplan.Cursor {
	if c == nil {
		return nil
	}
	return &c.plan
}

// pendingLock is a lock query sent ahead, in a transaction of its own.
type pendingLock struct {
	tx   adapter.PipelineTx
	row  adapter.Row
	step lockplan.Step
	// sent is when it went out, with the commit: its cost counts from
	// then (lockplan.Cursor.Ran).
	sent time.Time
}

// giveBack rolls back pending lock p (nil: none), which leaves its job, if
// it locked one, to the next worker. Other workers may have moved the
// hints' position past that job meanwhile, and behind it only a scan from
// the front finds it: the pool's next lock scans from the front, rather than
// the job waiting for the once-a-second one with the backlog going first.
func (c *lockCursor) giveBack(ctx context.Context, p *pendingLock) {
	if p.end(ctx) {
		c.planner().RescanSoon()
	}
}

// end rolls back a pending lock that will not be used (nil: none) and
// reports whether it may have locked a job.
func (p *pendingLock) end(ctx context.Context) (hadJob bool) {
	if p == nil {
		return false
	}
	err := p.row.Scan() // its reply is read before the transaction ends
	_ = p.tx.Rollback(context.WithoutCancel(ctx))
	return !adapterNoRows(err)
}
