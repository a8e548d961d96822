package main

import (
	"slices"
	"sync"
	"time"
)

// pickups collects the pickup latencies (from a job's enqueue to the start
// of its handler) of the jobs a feeder's system works, one phase at a time.
// Only a timedSystem reports them.
type pickups struct {
	mu    sync.Mutex
	timed bool
	d     []time.Duration
}

func (p *pickups) add(d time.Duration) {
	p.mu.Lock()
	p.d = append(p.d, d)
	p.mu.Unlock()
}

// take returns the 99th percentile of the latencies since the last take,
// and starts over; ok is false for a system that does not report them, or
// a phase with no job.
func (p *pickups) take() (p99 time.Duration, ok bool) {
	p.mu.Lock()
	d := p.d
	p.d = nil
	p.mu.Unlock()
	if !p.timed || len(d) == 0 {
		return 0, false
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*99/100)], true
}
