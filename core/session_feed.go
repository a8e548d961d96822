package gue

import (
	"context"

	"github.com/gue-go/gue/core/internal/lockplan"
)

// feedSession is how the locker of a pool in session mode locks (see
// sessionLocks): it waits for an idle slot (in a pool that locks jobs
// ahead, only while half of them are left), takes every other slot idle by then, gives
// each a job locked ahead if there is one, locks a job for each of the
// others and as many ahead as there is room for, in one statement, and
// runs each job in its slot, on a goroutine of its own, through cur (the
// loop's own way through l's lock hints). It reports whether a job was
// found.
func (lk *locker) feedSession(ctx context.Context, l *lane, cur *lockplan.Cursor) bool {
	f, hard := lk.feed, lk.hardStopped()
	var slots []*slot
	// A turn for the idle slots, or to fill ahead once half of it is gone
	// (not a statement per job taken from it).
wait:
	for len(f.ahead) >= cap(f.ahead)/2 {
		select {
		case s := <-f.idle:
			slots = append(slots, s)
			break wait
		case <-f.tookAhead:
		case <-ctx.Done():
			return false
		case <-hard.Done():
			return false
		}
	}
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
	if ctx.Err() != nil || hard.Err() != nil {
		// The pool stops: the select above may have taken an idle slot
		// over the stop. The jobs locked ahead stay for the loop's drop.
		giveBack(slots)
		return false
	}
	// A slot that found ahead empty as its job's handler returned went
	// idle; the jobs locked since are its first.
	started := 0
	for len(slots) > 0 {
		var j *Job
		select {
		case j = <-f.ahead:
		default:
		}
		if j == nil {
			break
		}
		lk.start(ctx, slots[0], j)
		slots, started = slots[1:], started+1
	}
	// The wait can outlast the pause check that led here (see feedBatch).
	if l.pause.isPaused(ctx, lk.c, lk.stmts, l.queue) {
		giveBack(slots)
		return started > 0
	}
	// Only this locker adds to ahead, and the slots only take from it: the
	// room counted here is there when the jobs are added.
	n := min(sessionLockMax, len(slots)+cap(f.ahead)-len(f.ahead))
	jobs, err := lk.sess.lock(ctx, lk.c, l.queue, n, cur, newSessionHold(lk.sess))
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
		return started > 0
	}
	lk.c.outage.Succeeded(lk.logger)
	if len(jobs) < len(slots) {
		giveBack(slots[len(jobs):])
	}
	for i, j := range jobs {
		if i >= len(slots) {
			f.ahead <- j
			continue
		}
		if ctx.Err() != nil || hard.Err() != nil {
			// Shutdown began while the lock statement ran: leave the
			// job to others, behind the hints' positions now.
			_ = j.rollback(context.WithoutCancel(ctx))
			cur.RescanSoon()
			f.idle <- slots[i]
			continue
		}
		lk.start(ctx, slots[i], j)
	}
	return len(jobs) > 0 || started > 0
}

// start runs j in slot s on a goroutine. In a pool that locks ahead, s
// goes on to its next job as soon as j's handler returns (handOn), while
// j's ending is written on this goroutine; in a smaller pool the goroutine
// writes j's ending and gives s back idle.
func (lk *locker) start(ctx context.Context, s *slot, j *Job) {
	f, hard := lk.feed, lk.hardStopped()
	f.inflight.Add(1)
	if s.ending == nil {
		// On a goroutine that ran a job before, whose stack has grown
		// already (see goroutines).
		lk.goroutines.run(func() {
			defer f.inflight.Done()
			s.work(ctx, j)
			f.idle <- s
		})
		return
	}
	j.onHandled = func() { lk.handOn(ctx, hard, s) }
	lk.goroutines.run(func() {
		defer f.inflight.Done()
		s.work(ctx, j)
		j.handled() // for a run its Work hooks left out
		<-s.ending
	})
}

// handOn gives slot s, whose job's handler has returned, its next job: the
// next one locked ahead, on a goroutine of its own, or none (s goes idle).
// It first waits for the ending of the job s ran before, if that is still
// being written: a slot has one ending in flight at most, so a pool's
// started jobs hold at most twice its size in locks, and a slot's short
// jobs cannot pile up endings faster than they are written. With 2,000
// workers and 50 ms jobs (bench -io 50ms, 2 cores) an ending took about
// 5 ms, mostly waiting for its grouped deletion, and the slot waited with it.
func (lk *locker) handOn(ctx, hard context.Context, s *slot) {
	s.ending <- struct{}{} // taken back once this job's run is over (start)
	if j := lk.feed.takeAhead(ctx, hard); j != nil {
		lk.start(ctx, s, j)
		return
	}
	lk.feed.idle <- s
}

// takeAhead returns the next job locked ahead to run, nil if there is
// none or the pool is stopping (the job's lock is then given back).
func (f *batchFeed) takeAhead(ctx, hard context.Context) *Job {
	select {
	case j := <-f.ahead:
		select {
		case f.tookAhead <- struct{}{}:
		default:
		}
		if ctx.Err() != nil || hard.Err() != nil {
			_ = j.rollback(context.WithoutCancel(ctx))
			return nil
		}
		return j
	default:
		return nil
	}
}

// dropAhead gives back the locks of the jobs locked ahead that no slot
// took: the pool has stopped.
func (f *batchFeed) dropAhead(ctx context.Context) {
	for {
		select {
		case j := <-f.ahead:
			_ = j.rollback(context.WithoutCancel(ctx))
		default:
			return
		}
	}
}
