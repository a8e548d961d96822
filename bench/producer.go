package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Many workers with a producer beside them: a producer keeps the queue at
// a depth target with bulk inserts while a pool of n workers works it, for
// each mode and pool size. A worker of the default mode holds a connection
// and a backend of its own for each job, and they compete for the same
// CPU as the producer; batch and session mode hold few.

// producerResult is one system's rate at one pool size.
type producerResult struct {
	name    string
	workers int
	rate    float64 // jobs/s worked during the measured window
	enq     float64 // jobs/s the producer inserted meanwhile
}

// producerSystems are the systems of the producer comparison at pool size n,
// each given n+4 connections (the default mode needs one per worker).
func producerSystems(n, batch int) map[string]system {
	poll := 100 * time.Millisecond
	return map[string]system{
		"gue-go":         &gueGo{name: "gue-go default", workers: n, poll: poll},
		"gue-go-batch":   &gueGo{name: fmt.Sprintf("gue-go batch=%d", batch), workers: n, batch: batch, poll: poll},
		"gue-go-session": &gueGo{name: "gue-go session", workers: n, session: true, poll: poll},
		"river":          &riverSystem{workers: n, cooldown: 2 * time.Millisecond, pollEvery: 20 * time.Millisecond},
	}
}

// measureProducer prefills depth jobs, starts s, and keeps the backlog
// (inserted minus worked) at depth with inserts of up to chunk jobs while
// s works; it counts the jobs worked during window after a warm-up.
func measureProducer(ctx context.Context, adminDSN string, s system, workers, depth int, warmup, window time.Duration) (producerResult, error) {
	r := producerResult{name: s.Name(), workers: workers}
	pool, err := newDatabase(ctx, adminDSN, workers+4)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	if err := s.Setup(ctx, pool); err != nil {
		return r, err
	}
	if err := s.Enqueue(ctx, depth); err != nil {
		return r, err
	}
	var worked, inserted atomic.Int64
	inserted.Store(int64(depth))
	kick := make(chan struct{}, 1)
	stop, err := s.Start(ctx, func() {
		worked.Add(1)
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return r, err
	}
	pctx, cancel := context.WithCancel(ctx)
	produced := make(chan error, 1)
	go func() {
		for {
			if backlog := inserted.Load() - worked.Load(); backlog < int64(depth) {
				k := min(int(int64(depth)-backlog), chunk)
				if err := s.Enqueue(pctx, k); err != nil {
					produced <- err
					return
				}
				inserted.Add(int64(k))
				continue
			}
			select {
			case <-kick: // a job was worked: look at the backlog again
			case <-pctx.Done():
				produced <- nil
				return
			}
		}
	}()
	finish := func() error {
		cancel()
		err := <-produced
		stop()
		if pctx.Err() != nil && ctx.Err() == nil {
			err = nil // the producer's insert cut short by the end of the run
		}
		return err
	}
	select {
	case <-time.After(warmup):
	case err := <-produced:
		stop()
		return r, fmt.Errorf("producer: %w", err)
	}
	w0, i0, t0 := worked.Load(), inserted.Load(), time.Now()
	select {
	case <-time.After(window):
	case err := <-produced:
		stop()
		return r, fmt.Errorf("producer: %w", err)
	}
	el := time.Since(t0).Seconds()
	r.rate = float64(worked.Load()-w0) / el
	r.enq = float64(inserted.Load()-i0) / el
	return r, finish()
}

func reportProducer(w io.Writer, rs []producerResult, depth int, window time.Duration) {
	fmt.Fprintf(w, "\nMany workers with a producer: the queue kept at %d jobs by bulk inserts (up to %d a call) while the pool works it; "+
		"jobs/s worked over %s after a warm-up; each system on a pool of workers + 4 connections\n\n", depth, chunk, window)
	fmt.Fprintln(w, "| system | workers | jobs/s worked | jobs/s inserted |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f |\n", r.name, r.workers, r.rate, r.enq)
	}
}
