package gue

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"time"

	"github.com/gue-go/gue/core/internal/wake"
)

// dropPending rolls back the lock sent ahead with the worker's last commit,
// if any, which leaves its job to the next worker: the worker stops, or
// will not lock from that queue now.
func (lk *locker) dropPending(ctx context.Context) {
	if lk.pending != nil {
		lk.cursors[lk.pendingLane].giveBack(ctx, lk.pending)
		lk.pending = nil
	}
}

// takePending returns the lock sent ahead in lane k, if any, and forgets it.
func (lk *locker) takePending(k int) *pendingLock {
	if lk.pending == nil || lk.pendingLane != k {
		return nil
	}
	p := lk.pending
	lk.pending = nil
	return p
}

// hasPending reports whether a lock was sent ahead in lane k.
func (lk *locker) hasPending(k int) bool { return lk.pending != nil && lk.pendingLane == k }

// loop polls: straight on after a job, PollInterval after finding none.
func (lk *locker) loop(ctx context.Context) {
	lk.logger.Debug("worker started")
	defer lk.logger.Debug("worker stopped")
	hard := lk.hardStopped()
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer lk.dropPending(ctx) // a lock sent with the last commit, if the loop stops before reading it
	if lk.feed != nil {
		// Jobs locked ahead that no slot took (session mode): only this
		// loop adds to them, and a slot that takes one now gives it back.
		defer lk.feed.dropAhead(ctx)
	}
	busy := false      // the last attempt worked a job
	wokenMiss := false // a wake-up found nothing ready: the job may be due within wake.Ahead
	for {
		if ctx.Err() != nil || hard.Err() != nil {
			return
		}
		if busy = lk.workOneOrBatch(ctx, busy); busy {
			continue
		}
		if l := lk.lookAhead(ctx); l != nil {
			// A job of l that came due between the miss above and the
			// look-ahead's statement was no future job to that statement,
			// and ready too late for the miss: it would wait for the next
			// poll (a whole interval) but for this second try.
			l.wake()
			if busy = lk.workOneOrBatch(ctx, false); busy {
				continue
			}
		}
		wait := jittered(lk.interval)
		if wokenMiss {
			wait = min(wait, wake.Ahead)
			wokenMiss = false
		}
		if anyPaused(lk.lanes) {
			wait = min(wait, pauseRefresh) // notice a resume soon
		}
		if d := lk.rescanDeferred(); d > 0 {
			wait = min(wait, d) // look behind the hints when the cost allows
		}
		timer.Reset(wait)
		var woken <-chan struct{}
		if lk.wake != nil {
			woken = lk.wake.C()
		}
		select {
		case <-ctx.Done():
			return
		case <-hard.Done():
			return
		case <-lk.due.C():
			if !timer.Stop() {
				<-timer.C
			}
			wakeLanes(lk.lanes) // a job came due: in which lane is not known
			if busy = lk.workOneOrBatch(ctx, false); !busy {
				lk.due.Missed()
			}
		case <-timer.C:
		case <-woken:
			if !timer.Stop() {
				<-timer.C
			}
			switch busy = lk.workOneOrBatch(ctx, false); {
			case !busy:
				wokenMiss = true
			case lk.feed == nil:
				lk.wake.Fire() // there may be more: wake another idle worker
			}
		}
	}
}

// rescanDeferred returns the shortest time, over the loop's lanes, until a
// scan from the front that its last attempt left out for its cost may
// start (lockplan.Cursor.Deferred); 0 when none was left out.
func (lk *locker) rescanDeferred() time.Duration {
	var d time.Duration
	for _, c := range lk.cursors {
		if w := c.plan.Deferred; w > 0 && (d == 0 || w < d) {
			d = w
		}
	}
	return d
}

// jittered returns d ± 25% at random. Workers started together would otherwise
// poll in lockstep, all at once and then none for a whole interval, which
// makes pickup latency as bad as with a single worker.
func jittered(d time.Duration) time.Duration {
	return d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
}

// lookAhead asks the database when a lane's next future job is due, and
// arms the timer for it: a job enqueued for later by any process then
// starts on time, not at the next poll after its run_at. The database's
// clock is turned into this process's by the difference of the two, read
// around the same statement. A pool looks ahead at most once per half poll
// interval, in one lane at a time, the lanes in turn: its idle cost does
// not grow with its queues. A pool of many queues sees each lane's future
// jobs less often; a job that comes due in a lane the look-ahead has not
// reached is found by the lanes' probe or the next poll, as before the
// look-ahead. It returns the lane it looked in, nil when it did not look.
func (lk *locker) lookAhead(ctx context.Context) *lane {
	a := lk.ahead
	last := a.last.Load()
	now := time.Now()
	if now.UnixNano()-last < int64(lk.interval)/2 || !a.last.CompareAndSwap(last, now.UnixNano()) {
		return nil // looked lately, or another worker is looking
	}
	l := lk.lanes[(a.turn.Add(1)-1)%uint64(len(lk.lanes))]
	var next sql.NullTime
	var dbNow time.Time
	if err := lk.c.pool.QueryRow(ctx, lk.stmts.NextDue, l.queue).Scan(&next, &dbNow); err != nil {
		a.last.CompareAndSwap(now.UnixNano(), last) // not looked: the next idle round tries again
		return nil
	}
	if !next.Valid {
		return l
	}
	// The database's now() was read at some moment while the statement
	// ran: mapped with the local time after its reply, the due time can be
	// late by the statement's latency but never early. An early wake finds
	// nothing, and on a loaded server its retries (dueRetryFor) can all
	// come before the job is due, leaving it to the next poll.
	lk.due.At(next.Time.Add(time.Since(now) + now.Sub(dbNow)))
	return l
}

// workOneOrBatch works one job, or one batch in batch mode, from the first
// lane that has one, and reports whether there was any. Lanes are tried
// round robin: after a job from one lane the worker starts at the next, so
// a busy queue does not starve the others, and within a queue jobs come in
// its own order (Priority, then RunAt). fromJob says the worker comes
// straight from a job rather than from a wake-up or a poll (see
// lockplan.Hints.RescanAfterMiss).
func (lk *locker) workOneOrBatch(ctx context.Context, fromJob bool) bool {
	n := len(lk.lanes)
	lk.probe.refresh(ctx, lk.c.pool, lk.lanes, func() { lk.dropPending(ctx) })
	for i := range n {
		k := (lk.next + i) % n
		l := lk.lanes[k]
		if n > 1 && l.quiet.Load() && !lk.hasPending(k) {
			continue
		}
		seen := l.wakes.Load()
		if lk.workLane(ctx, k, fromJob) {
			lk.next = (k + 1) % n
			if lk.hasPending(k) {
				lk.next = k // its next lock went out with the commit: read it first
			}
			return true
		}
		if n > 1 && !l.pause.paused.Load() {
			l.markQuiet(seen)
		}
	}
	return false
}

// workLane works one job or batch of lane k with the loop's own cursor.
func (lk *locker) workLane(ctx context.Context, k int, fromJob bool) bool {
	l := lk.lanes[k]
	if !l.pause.fresh() {
		// A look-up takes a connection, and the lock sent with this
		// worker's last commit holds the worker's own: with every worker's
		// held, a pool no larger than its workers would have none left for
		// the look-up nor for the workers that wait for it. The job goes
		// back to the queue; it costs a lock every pauseRefresh.
		lk.dropPending(ctx)
	}
	if l.pause.isPaused(ctx, lk.c, lk.stmts, l.queue) {
		lk.dropPending(ctx) // paused since the last job's commit
		return false
	}
	cur := lk.cursors[k] // the loop's own: one goroutine
	cur.plan.FromJob = fromJob
	if lk.sess != nil {
		return lk.feedSession(ctx, l, cur.planner())
	}
	if lk.feed != nil {
		return lk.feedBatch(ctx, l, cur.planner())
	}
	if len(lk.lanes) > 1 {
		cur.chain = othersQuiet(lk.lanes, k)
	}
	if !lk.hasPending(k) {
		lk.dropPending(ctx) // another lane's, not read now: it would hold a connection
	}
	worked, next := lk.workOne(ctx, l.queue, cur, lk.takePending(k))
	if next != nil {
		lk.pending, lk.pendingLane = next, k
	}
	return worked
}
