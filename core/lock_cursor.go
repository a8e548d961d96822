package gue

import (
	"context"
	"sync/atomic"

	"github.com/gue-go/gue/core/adapter"
)

// The lock queries, in one vocabulary:
//
//   - seek: the hints name a single priority; an index seek past its
//     position, guarded by a probe for smaller priorities
//     (queries.lockSeek).
//   - hinted: the general query, stepping through the queue's priorities
//     and seeking each from its hinted position (queries.lockHinted).
//   - full: the general query without hints, from the front of every
//     priority; it finds the jobs behind the hints.
type lockKind uint8

const (
	lockSeek lockKind = iota
	lockHinted
	lockFull
)

// lockStep is one lock query to run.
type lockStep struct {
	kind lockKind
	sql  string
	args []any
	plan lockPlan
	// afterSeek: a hinted query run because the seek found nothing.
	afterSeek bool
}

// lockCursor is one worker's way to its next job. It owns the logic of the
// lock hints, which the workers of a pool share: which query to run first,
// which after a miss, and what to remember of the job found. A nil
// *lockCursor always locks from the front (Client.LockJob).
type lockCursor struct {
	hints *lockHints
	// fromJob: the worker comes straight from a job rather than from a
	// wake-up or a poll (see lockHints.rescanAfterMiss).
	fromJob bool
	// chain: the cursor is a worker loop's own, and the loop will look in
	// this queue next (its only one, or the others are quiet), so a job it
	// locked may send the lock of the worker's next job with its commit
	// (adapter.PipelineChainer; see soloTx.done).
	chain bool
	// pending is that lock, begun with the last job's commit; the next
	// lock attempt reads its reply instead of beginning a transaction.
	pending atomic.Pointer[pendingLock]
}

// pendingLock is a lock query sent ahead, in a transaction of its own.
type pendingLock struct {
	tx   adapter.PipelineTx
	row  adapter.Row
	step lockStep
}

// take returns the pending lock, if any, and forgets it.
func (c *lockCursor) take() *pendingLock {
	if c == nil {
		return nil
	}
	return c.pending.Swap(nil)
}

// drop ends the pending lock's transaction, if any, which leaves its job to
// the next worker: the worker stops, or will not lock from this queue now.
func (c *lockCursor) drop(ctx context.Context) { c.giveBack(ctx, c.take()) }

// giveBack rolls back pending lock p (nil: none), which leaves its job, if
// it locked one, to the next worker. Other workers may have moved the
// hints' position past that job meanwhile, and behind it only a scan from
// the front finds it: the pool's next lock scans from the front, rather than
// the job waiting for the once-a-second one with the backlog going first.
func (c *lockCursor) giveBack(ctx context.Context, p *pendingLock) {
	if p.end(ctx) && c != nil {
		c.hints.rescanSoon()
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

func newLockCursor(hints *lockHints) *lockCursor { return &lockCursor{hints: hints} }

// first returns the query to start with.
func (c *lockCursor) first(stmts *queries, queue string) lockStep {
	if c == nil {
		return fullStep(lockPlan{full: true, args: noHints}, stmts, queue)
	}
	return c.step(c.hints.plan(), stmts, queue)
}

func (c *lockCursor) step(plan lockPlan, stmts *queries, queue string) lockStep {
	switch {
	case plan.one:
		return lockStep{kind: lockSeek, sql: stmts.lockSeek, args: []any{queue, plan.prio, plan.pos.runAt, plan.pos.id}, plan: plan}
	case plan.full:
		return fullStep(plan, stmts, queue)
	}
	a := plan.args
	return lockStep{kind: lockHinted, sql: stmts.lockHinted, args: []any{queue, a.prios, a.runAts, a.ids}, plan: plan}
}

func fullStep(plan lockPlan, stmts *queries, queue string) lockStep {
	plan.full, plan.args = true, noHints
	return lockStep{kind: lockFull, sql: stmts.lockHinted, args: []any{queue, noHints.prios, noHints.runAts, noHints.ids}, plan: plan}
}

// afterMiss returns the query to run when prev found nothing, if any: a
// missed seek (stopped by rows at a smaller priority) is followed by the
// hinted query, which steps over them when they are not ready yet; a missed
// hinted query by a full one, unless the hints say one ran empty just now.
func (c *lockCursor) afterMiss(prev lockStep, stmts *queries, queue string) (lockStep, bool) {
	if c == nil {
		return lockStep{}, false
	}
	switch prev.kind {
	case lockSeek:
		s := c.step(c.hints.general(), stmts, queue)
		s.afterSeek = true
		return s, true
	case lockHinted:
		if c.hints.rescanAfterMiss(c.fromJob) {
			return fullStep(prev.plan, stmts, queue), true
		}
	}
	return lockStep{}, false
}

// outcome tells the hints how a query run after a miss went.
func (c *lockCursor) outcome(s lockStep, found bool) {
	switch {
	case c == nil:
	case s.afterSeek && found:
		c.hints.fastMissed()
	case s.kind == lockFull:
		c.hints.rescanned(found)
	}
}

// found records the position of the job that s locked.
func (c *lockCursor) found(s lockStep, prio int16, pos lockPos) {
	if c != nil {
		c.hints.record(prio, pos, s.plan)
	}
}
