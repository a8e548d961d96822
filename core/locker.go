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
	busy := false             // the last attempt worked a job
	wokenMiss := false        // a wake-up found nothing ready: the job may be due within wake.Ahead
	for {
		if ctx.Err() != nil || hard.Err() != nil {
			return
		}
		if busy = lk.workOneOrBatch(ctx, busy); busy {
			continue
		}
		lk.lookAhead(ctx)
		wait := jittered(lk.interval)
		if wokenMiss {
			wait = min(wait, wake.Ahead)
			wokenMiss = false
		}
		if anyPaused(lk.lanes) {
			wait = min(wait, pauseRefresh) // notice a resume soon
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
// look-ahead.
func (lk *locker) lookAhead(ctx context.Context) {
	a := lk.ahead
	last := a.last.Load()
	now := time.Now()
	if now.UnixNano()-last < int64(lk.interval)/2 || !a.last.CompareAndSwap(last, now.UnixNano()) {
		return // looked lately, or another worker is looking
	}
	l := lk.lanes[(a.turn.Add(1)-1)%uint64(len(lk.lanes))]
	var next sql.NullTime
	var dbNow time.Time
	if err := lk.c.pool.QueryRow(ctx, lk.stmts.NextDue, l.queue).Scan(&next, &dbNow); err != nil {
		a.last.CompareAndSwap(now.UnixNano(), last) // not looked: the next idle round tries again
		return
	}
	if !next.Valid {
		return
	}
	// The database's now() was read at some moment while the statement
	// ran: mapped with the local time after its reply, the due time can be
	// late by the statement's latency but never early. An early wake finds
	// nothing, and on a loaded server its retries (dueRetryFor) can all
	// come before the job is due, leaving it to the next poll.
	lk.due.At(next.Time.Add(time.Since(now) + now.Sub(dbNow)))
}
