package gue

import (
	"context"
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
		wait := jitter(lk.interval)
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

// jitter returns d ± 25% at random. Workers started together would otherwise
// poll in lockstep, all at once and then none for a whole interval, which
// makes pickup latency as bad as with a single worker.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
}
