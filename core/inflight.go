package gue

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// inFlight is the jobs a worker or pool is running, with the functions that
// cancel their contexts.
type inFlight struct {
	mu   sync.Mutex
	jobs map[int64]flight
	// stopped is the cause every job in flight was cancelled with at a
	// pool's shutdown (watchShutdown), which cancels the jobs added later
	// too; nil until then, and again when the pool runs again.
	stopped error
}

// flight is one job in flight: its queue, and what cancels its context.
type flight struct {
	queue  string
	cancel context.CancelCauseFunc
}

func (f *inFlight) add(id int64, queue string, cancel context.CancelCauseFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jobs == nil {
		f.jobs = make(map[int64]flight)
	}
	f.jobs[id] = flight{queue: queue, cancel: cancel}
	if f.stopped != nil {
		cancel(f.stopped)
	}
}

// stopAll cancels every job in flight with cause, and every job added
// from now on, until reopen.
func (f *inFlight) stopAll(cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = cause
	for _, fl := range f.jobs {
		if fl.cancel != nil {
			fl.cancel(cause)
		}
	}
}

// reopen ends stopAll's effect on the jobs added from now on.
func (f *inFlight) reopen() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = nil
}

// list returns the jobs in flight, for the pool registry.
func (f *inFlight) list() []JobRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]JobRef, 0, len(f.jobs))
	for id, fl := range f.jobs {
		out = append(out, JobRef{Queue: fl.queue, ID: id})
	}
	return out
}

func (f *inFlight) remove(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.jobs, id)
}

// ids returns the IDs in flight as a PostgreSQL array literal, "" for none.
func (f *inFlight) ids() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.jobs) == 0 {
		return ""
	}
	return idArray(slices.Collect(maps.Keys(f.jobs)))
}

// cancel cancels the jobs whose IDs are listed, comma-separated.
func (f *inFlight) cancel(list string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range strings.Split(list, ",") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && f.jobs[id].cancel != nil {
			f.jobs[id].cancel(ErrCancelled)
		}
	}
}

// cancelWith cancels job id, if in flight, with cause.
func (f *inFlight) cancelWith(id int64, cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.jobs[id]; ok && fl.cancel != nil {
		fl.cancel(cause)
	}
}
