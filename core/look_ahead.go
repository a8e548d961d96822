package gue

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

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

// aheadPace is a Worker's or WorkerPool's pace of look-aheads, shared by
// its workers.
type aheadPace struct {
	last atomic.Int64  // UnixNano of the last look-ahead
	turn atomic.Uint64 // the lane looked at next, modulo the lanes
}
