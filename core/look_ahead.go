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
// clock is turned into this process's by the difference of the two, read in
// the same statement. A pool looks ahead at most once per half poll
// interval, in one lane at a time, the lanes in turn: its idle cost does
// not grow with its queues. A pool of many queues sees each lane's future
// jobs less often; a job that comes due in a lane the look-ahead has not
// reached is found by the lanes' probe or the next poll, as before the
// look-ahead.
func (w *Worker) lookAhead(ctx context.Context) {
	a := w.ahead
	last := a.last.Load()
	now := time.Now()
	if now.UnixNano()-last < int64(w.interval)/2 || !a.last.CompareAndSwap(last, now.UnixNano()) {
		return // looked lately, or another worker is looking
	}
	l := w.lanes[(a.turn.Add(1)-1)%uint64(len(w.lanes))]
	var next sql.NullTime
	var dbNow time.Time
	if err := w.c.pool.QueryRow(ctx, w.stmts.nextDue, l.queue).Scan(&next, &dbNow); err != nil || !next.Valid {
		return
	}
	w.due.At(next.Time.Add(now.Sub(dbNow)))
}

// aheadPace is a Worker's or WorkerPool's pace of look-aheads, shared by
// its workers.
type aheadPace struct {
	last atomic.Int64  // UnixNano of the last look-ahead
	turn atomic.Uint64 // the lane looked at next, modulo the lanes
}
