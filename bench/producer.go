package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
	pool, f, err := feedOnNewDatabase(ctx, adminDSN, s, workers+4, depth)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	if err := f.wait(warmup); err != nil {
		return r, err
	}
	w0, i0, t0 := f.worked.Load(), f.inserted.Load(), time.Now()
	if err := f.wait(window); err != nil {
		return r, err
	}
	el := time.Since(t0).Seconds()
	r.rate = float64(f.worked.Load()-w0) / el
	r.enq = float64(f.inserted.Load()-i0) / el
	return r, f.finish()
}

// feeder runs a system while a producer keeps its backlog (inserted minus
// worked) at a depth, with inserts of up to chunk jobs.
type feeder struct {
	worked, inserted atomic.Int64
	pickup           pickups
	kick             chan struct{}
	produced         chan error // the producer's end: its error, or nil
	cancel           context.CancelFunc
	stop             func() // stops the system
	ctx, pctx        context.Context
	ended            bool // wait saw the producer end, and stopped the system
}

// feedOnNewDatabase sets s up on a database of its own with a pool of
// conns connections and starts it with a feeder of depth; the caller
// closes the pool after the feeder's finish.
func feedOnNewDatabase(ctx context.Context, adminDSN string, s system, conns, depth int) (*pgxpool.Pool, *feeder, error) {
	pool, err := newDatabase(ctx, adminDSN, conns)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Setup(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	f, err := startFeeder(ctx, s, depth)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, f, nil
}

// startFeeder prefills depth jobs, starts s and its producer.
func startFeeder(ctx context.Context, s system, depth int) (*feeder, error) {
	if err := s.Enqueue(ctx, depth); err != nil {
		return nil, err
	}
	f := &feeder{kick: make(chan struct{}, 1), produced: make(chan error, 1), ctx: ctx}
	f.inserted.Store(int64(depth))
	worked := func() {
		f.worked.Add(1)
		select {
		case f.kick <- struct{}{}:
		default:
		}
	}
	var stop func()
	var err error
	if ts, ok := s.(timedSystem); ok {
		f.pickup.timed = true
		stop, err = ts.StartTimed(ctx, func(enqueued time.Time) {
			f.pickup.add(time.Since(enqueued))
			worked()
		})
	} else {
		stop, err = s.Start(ctx, worked)
	}
	if err != nil {
		return nil, err
	}
	f.stop = stop
	f.pctx, f.cancel = context.WithCancel(ctx)
	go func() {
		for {
			if backlog := f.inserted.Load() - f.worked.Load(); backlog < int64(depth) {
				k := min(int(int64(depth)-backlog), chunk)
				if err := s.Enqueue(f.pctx, k); err != nil {
					f.produced <- err
					return
				}
				f.inserted.Add(int64(k))
				continue
			}
			select {
			case <-f.kick: // a job was worked: look at the backlog again
			case <-f.pctx.Done():
				f.produced <- nil
				return
			}
		}
	}()
	return f, nil
}

// wait waits d, or stops the system and returns the producer's error if it
// ends first.
func (f *feeder) wait(d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case err := <-f.produced:
		f.stop()
		f.ended = true
		return fmt.Errorf("producer: %w", err)
	}
}

// finish stops the producer and the system, unless wait did.
func (f *feeder) finish() error {
	if f.ended {
		return nil
	}
	f.cancel()
	err := <-f.produced
	f.stop()
	if f.pctx.Err() != nil && f.ctx.Err() == nil {
		err = nil // the producer's insert cut short by the end of the run
	}
	return err
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
