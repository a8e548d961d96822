package wake

import (
	"container/heap"
	"sync"
	"time"
)

// DueTimer wakes a worker when a job it knows of becomes due: one timer per
// Worker or WorkerPool, not one per job. It learns run_at times from the
// pool's own failures and snoozes, from listeners (an enqueue
// of a job due soon NOTIFYs with its run_at) and from the pool's look-ups
// of the next due job after a poll finds nothing ready. Without it, such a
// job waits for the next poll: up to the poll interval late.
type DueTimer struct {
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

func NewDueTimer() *DueTimer { return &DueTimer{c: make(chan struct{}, 1)} }

// C returns the channel a worker receives a due wake from.
func (d *DueTimer) C() <-chan struct{} { return d.c }

// At notes a job due at t.
func (d *DueTimer) At(t time.Time) {
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
func (d *DueTimer) arm() {
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
func (d *DueTimer) fire() {
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

// Missed is told by a worker whose due wake found nothing: within
// dueRetryFor of the due time it wakes a worker again dueRetry later (the
// job's transaction may not have committed yet, or the database's clock is
// a little behind). Retries do not move firedFor, so they end.
func (d *DueTimer) Missed() {
	d.mu.Lock()
	due := d.firedFor
	d.mu.Unlock()
	if !due.IsZero() && time.Since(due) < dueRetryFor {
		time.AfterFunc(dueRetry, d.wake)
	}
}

// wake wakes one idle worker, unless a wake is pending.
func (d *DueTimer) wake() {
	select {
	case d.c <- struct{}{}:
	default:
	}
}

// Stop stops the timer.
func (d *DueTimer) Stop() {
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
