package gue

import (
	"container/heap"
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dueTimer wakes a worker when a job it knows of becomes due: one timer per
// Worker or WorkerPool, not one per job. It learns run_at times from the
// pool's own failures and snoozes (ending.retryAt), from listeners (an enqueue
// of a job due soon NOTIFYs with its run_at) and from the pool's look-ups
// of the next due job after a poll finds nothing ready. Without it, such a
// job waits for the next poll: up to the poll interval late.
type dueTimer struct {
	mu    sync.Mutex
	times dueHeap // pending due times, earliest first
	timer *time.Timer
	armed time.Time // when timer fires; zero when stopped
	c     chan struct{}
	// firedFor is the due time of the last firing, for missed.
	firedFor time.Time
}

// Due timer bounds.
const (
	// dueMargin is added to a due time before firing: the database's
	// clock decides readiness, and a wake a hair early finds nothing.
	dueMargin = 2 * time.Millisecond
	// dueRetry is how soon a wake that found nothing looks again, for a
	// while after the due time (clocks a little apart).
	dueRetry = 20 * time.Millisecond
	// dueRetryFor bounds those retries.
	dueRetryFor = time.Second
	// maxDue bounds the times remembered; later ones are found by polling.
	maxDue = 4096
)

func newDueTimer() *dueTimer { return &dueTimer{c: make(chan struct{}, 1)} }

// C returns the channel a worker receives a due wake from.
func (d *dueTimer) C() <-chan struct{} { return d.c }

// at notes a job due at t.
func (d *dueTimer) at(t time.Time) {
	if d == nil || t.IsZero() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.times.Len() >= maxDue && !t.Before(d.times[0]) {
		return // full, and not the earliest: the poll finds it
	}
	heap.Push(&d.times, t)
	d.arm()
}

// arm sets the timer for the earliest pending time; callers hold mu.
func (d *dueTimer) arm() {
	if d.times.Len() == 0 {
		return
	}
	next := d.times[0].Add(dueMargin)
	if !d.armed.IsZero() && !next.Before(d.armed) {
		return
	}
	d.armed = next
	if d.timer == nil {
		d.timer = time.AfterFunc(time.Until(next), d.fire)
		return
	}
	d.timer.Reset(time.Until(next))
}

// fire wakes a worker for every time that has come, and re-arms for the
// next.
func (d *dueTimer) fire() {
	d.mu.Lock()
	now := time.Now()
	d.armed = time.Time{}
	for d.times.Len() > 0 && !d.times[0].After(now) {
		d.firedFor = heap.Pop(&d.times).(time.Time)
	}
	d.arm()
	d.mu.Unlock()
	d.wake()
}

// missed is told by a worker whose due wake found nothing: within
// dueRetryFor of the due time it wakes a worker again dueRetry later (the
// job's transaction may not have committed yet, or the database's clock is
// a little behind). Retries do not move firedFor, so they end.
func (d *dueTimer) missed() {
	d.mu.Lock()
	due := d.firedFor
	d.mu.Unlock()
	if !due.IsZero() && time.Since(due) < dueRetryFor {
		time.AfterFunc(dueRetry, d.wake)
	}
}

// wake wakes one idle worker, unless a wake is pending.
func (d *dueTimer) wake() {
	select {
	case d.c <- struct{}{}:
	default:
	}
}

// stop stops the timer.
func (d *dueTimer) stop() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.armed = time.Time{}
}

// dueHeap is a min-heap of times.
type dueHeap []time.Time

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

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
	w.due.at(next.Time.Add(now.Sub(dbNow)))
}

// aheadPace is a Worker's or WorkerPool's pace of look-aheads, shared by
// its workers.
type aheadPace struct {
	last atomic.Int64  // UnixNano of the last look-ahead
	turn atomic.Uint64 // the lane looked at next, modulo the lanes
}

// dueSuffix marks a NOTIFY payload that announces a job due soon, not now:
// the queue's payload, then this, then the run_at in Unix microseconds.
const dueSuffix = "\x1fdue\x1f"

// parseDue returns the run_at of a due-soon payload of one of the ready
// payloads.
func parseDue(got string, ready map[string]*lane) (time.Time, bool) {
	i := strings.LastIndex(got, dueSuffix)
	if i < 0 || ready[got[:i]] == nil {
		return time.Time{}, false
	}
	us, err := strconv.ParseInt(got[i+len(dueSuffix):], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(us), true
}
