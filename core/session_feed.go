package gue

import (
	"context"

	"github.com/gue-go/gue/core/internal/lockplan"
)

// feedSession is how the locker of a pool in session mode locks (see
// sessionLocks): it waits for an idle slot, takes every other slot idle
// by then, locks a job for each in one statement and runs each job in its
// slot, on a goroutine of its own, through cur (the loop's own way
// through l's lock hints). It reports whether a job was found.
func (lk *locker) feedSession(ctx context.Context, l *lane, cur *lockplan.Cursor) bool {
	f, hard := lk.feed, lk.hardStopped()
	var first *slot
	select {
	case first = <-f.idle:
	case <-ctx.Done():
		return false
	case <-hard.Done():
		return false
	}
	slots := []*slot{first}
more:
	for len(slots) < sessionLockMax {
		select {
		case s := <-f.idle:
			slots = append(slots, s)
		default:
			break more
		}
	}
	giveBack := func(ss []*slot) {
		for _, s := range ss {
			f.idle <- s
		}
	}
	// The wait can outlast the pause check that led here (see feedBatch).
	if l.pause.isPaused(ctx, lk.c, lk.stmts, l.queue) {
		giveBack(slots)
		return false
	}
	jobs, err := lk.sess.lock(ctx, lk.c, l.queue, len(slots), cur, newSessionHold(lk.sess))
	if len(lk.c.hooks) > 0 {
		if len(jobs) == 0 {
			lk.c.runLockedHooks(ctx, l.queue, nil, err)
		}
		for _, j := range jobs {
			lk.c.runLockedHooks(ctx, l.queue, j, nil)
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			lk.c.outage.Failed(lk.logger, err)
		}
		giveBack(slots)
		return false
	}
	lk.c.outage.Succeeded(lk.logger)
	giveBack(slots[len(jobs):])
	for i, j := range jobs {
		s := slots[i]
		if ctx.Err() != nil || hard.Err() != nil {
			// Shutdown began while the lock statement ran: leave the
			// job to others, behind the hints' positions now.
			_ = j.rollback(context.WithoutCancel(ctx))
			cur.RescanSoon()
			f.idle <- s
			continue
		}
		f.inflight.Add(1)
		// On a goroutine that ran a job before, whose stack has grown
		// already (see goroutines).
		lk.goroutines.run(func() {
			defer f.inflight.Done()
			s.work(ctx, j)
			f.idle <- s
		})
	}
	return len(jobs) > 0
}
