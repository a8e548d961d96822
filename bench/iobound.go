package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// ioConns is the connection budget every system gets for I/O-bound jobs.
const ioConns = 20

// ioResult is one system's rate on jobs that each wait `sleep`.
type ioResult struct {
	name  string
	sleep time.Duration
	slots int // jobs the system can have in flight at once
	jobs  int // jobs worked down
	took  time.Duration
}

// rate is the jobs worked down a second.
func (r ioResult) rate() float64 { return float64(r.jobs) / r.took.Seconds() }

// limit is the most jobs/s the system's slots allow: slots ÷ job time.
func (r ioResult) limit() float64 { return float64(r.slots) / r.sleep.Seconds() }

// ioSystems are the systems of the I/O-bound comparison, each at the
// settings a user would pick for such jobs on a budget of ioConns
// connections: River at its own bench setting (MaxWorkers 2,000); gue-go's
// default mode with a worker per connection but two (the LISTEN connection
// and one spare); batch mode with as many workers; session mode with a pool
// of 2,000.
func ioSystems(sleep time.Duration, batch int) map[string]ioSystem {
	poll := 100 * time.Millisecond
	return map[string]ioSystem{
		"river-own":      {&riverSystem{workers: 2000, own: true, cooldown: 2 * time.Millisecond, pollEvery: 20 * time.Millisecond, sleep: sleep}, 2000},
		"gue-go":         {&gueGo{name: "gue-go default, 18 workers", workers: ioConns - 2, poll: poll, sleep: sleep}, ioConns - 2},
		"gue-go-batch":   {&gueGo{name: fmt.Sprintf("gue-go batch=%d, 18 workers", batch), workers: ioConns - 2, batch: batch, poll: poll, sleep: sleep}, (ioConns - 2) * batch},
		"gue-go-session": {&gueGo{name: "gue-go session, pool of 2000", workers: 2000, session: true, poll: poll, sleep: sleep}, 2000},
	}
}

// ioSystem is a system of the I/O-bound comparison and how many jobs it
// can have in flight.
type ioSystem struct {
	s     system
	slots int
}

// ioJobCount is how many jobs a system of slots works for each job time
// sleep: perSystem when seconds is 0; otherwise enough to keep it busy for
// seconds at its limit (slots ÷ job time, at least 10 rounds of its
// slots), at most perSystem. One count for all systems lets the faster ones
// finish in a few job times, where the ramp at the start and the tail at
// the end weigh on the rate, or keeps the slowest busy for minutes (the
// default mode works 360 jobs/s at 50 ms).
func ioJobCount(slots int, sleep time.Duration, seconds float64, perSystem int) int {
	if seconds <= 0 {
		return perSystem
	}
	n := int(float64(slots) / sleep.Seconds() * seconds)
	return min(max(n, 10*slots), perSystem)
}

// measureIO works n jobs that each wait sleep down on a database of its
// own with a pool of ioConns connections, and returns the rate.
func measureIO(ctx context.Context, adminDSN string, s system, slots, n int, sleep time.Duration) (ioResult, error) {
	r := ioResult{name: s.Name(), sleep: sleep, slots: slots, jobs: n}
	pool, err := newDatabase(ctx, adminDSN, ioConns)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	if err := s.Setup(ctx, pool); err != nil {
		return r, err
	}
	if err := s.Enqueue(ctx, n); err != nil {
		return r, err
	}
	var worked atomic.Int64
	all := make(chan struct{})
	start := time.Now()
	stop, err := s.Start(ctx, func() {
		if worked.Add(1) == int64(n) {
			close(all)
		}
	})
	if err != nil {
		return r, err
	}
	select {
	case <-all:
	case <-ctx.Done():
		stop()
		return r, ctx.Err()
	}
	r.took = time.Since(start)
	stop()
	return r, nil
}

func reportIO(w io.Writer, rs []ioResult) {
	fmt.Fprintf(w, "\nI/O-bound jobs: each handler waiting the given time, every system on a pool of %d connections; "+
		"limit = slots ÷ job time\n\n", ioConns)
	fmt.Fprintln(w, "| system | job time | slots | jobs | run | jobs/s | of its limit | vs River |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	river := map[time.Duration]float64{}
	for _, r := range rs {
		if r.name == riverOwnName {
			river[r.sleep] = r.rate()
		}
	}
	for _, r := range rs {
		vs := "—"
		if b := river[r.sleep]; b > 0 {
			vs = fmt.Sprintf("%.2f×", r.rate()/b)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.1f s | %.0f | %.2f | %s |\n",
			r.name, r.sleep, r.slots, r.jobs, r.took.Seconds(), r.rate(), r.rate()/r.limit(), vs)
	}
}
