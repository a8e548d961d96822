package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// The long-job VACUUM effect: one job runs for a whole window while the
// application updates a table of its own in the same database, at a fixed
// pace (vacuumRounds updates of every row, VACUUMed as they go, as
// autovacuum would); a last VACUUM of that table, with the job still
// running, then reports the dead rows it could not remove, and the table's
// size shows what they cost: space VACUUM cannot free is never reused. A running job whose system holds
// a transaction with an ID open (gue-go's default and batch modes) holds
// back the database's cleanup horizon for its whole run; one held by a
// session lock (session mode) or by a row's state (River) does not.

// vacuumRows is the application table's size; vacuumRounds the updates of
// every row in the window, with a VACUUM after every vacuumEvery of them.
const (
	vacuumRows   = 1000
	vacuumRounds = 40
	vacuumEvery  = 5
)

// jobHold is what the window's job does: it says it started, then waits
// for release (or its context).
type jobHold struct {
	started, release chan struct{}
}

func newJobHold() *jobHold {
	return &jobHold{started: make(chan struct{}), release: make(chan struct{})}
}

// run is the job's handler body.
func (h *jobHold) run(ctx context.Context) {
	select {
	case <-h.started:
	default:
		close(h.started)
	}
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

// vacuumSystems are the systems of the VACUUM measurement, each holding
// the job with h's handler.
func vacuumSystems(h *jobHold, batch int) map[string]system {
	poll := 100 * time.Millisecond
	return map[string]system{
		"river-own":      &riverSystem{workers: 2000, own: true, cooldown: 2 * time.Millisecond, pollEvery: 20 * time.Millisecond, hold: h.run},
		"gue-go":         &gueGo{name: "gue-go default, 4 workers", workers: 4, poll: poll, hold: h.run},
		"gue-go-batch":   &gueGo{name: fmt.Sprintf("gue-go batch=%d, 4 workers", batch), workers: 4, batch: batch, poll: poll, hold: h.run},
		"gue-go-session": &gueGo{name: "gue-go session, pool of 4", workers: 4, session: true, poll: poll, hold: h.run},
	}
}

// vacuumResult is one system's VACUUM figures.
type vacuumResult struct {
	name              string
	updated, deadLeft int64
	before, after     int64 // the application table's size, bytes
}

// measureVacuum runs one job of s for window on a database of its own
// while the application table is updated, then VACUUMs it with the job
// still running and reads what was left.
func measureVacuum(ctx context.Context, adminDSN string, s system, h *jobHold, window time.Duration) (vacuumResult, error) {
	r := vacuumResult{name: s.Name()}
	pool, err := newDatabase(ctx, adminDSN, 10)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	if err := s.Setup(ctx, pool); err != nil {
		return r, err
	}
	if _, err := pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE bench_app (id int PRIMARY KEY, n int) WITH (autovacuum_enabled = off);
INSERT INTO bench_app SELECT g, 0 FROM generate_series(1, %d) g`, vacuumRows)); err != nil {
		return r, err
	}
	if _, err := pool.Exec(ctx, `VACUUM bench_app`); err != nil {
		return r, err
	}
	if err := pool.QueryRow(ctx, `SELECT pg_relation_size('bench_app')`).Scan(&r.before); err != nil {
		return r, err
	}
	if err := s.Enqueue(ctx, 1); err != nil {
		return r, err
	}
	stop, err := s.Start(ctx, func() {})
	if err != nil {
		return r, err
	}
	defer stop()
	defer close(h.release)
	select {
	case <-h.started:
	case <-time.After(time.Minute):
		return r, fmt.Errorf("the job did not start within a minute")
	}
	tick := time.NewTicker(window / vacuumRounds)
	defer tick.Stop()
	for i := range vacuumRounds {
		tag, err := pool.Exec(ctx, `UPDATE bench_app SET n = n + 1`)
		if err != nil {
			return r, err
		}
		r.updated += tag.RowsAffected()
		if (i+1)%vacuumEvery == 0 {
			// As autovacuum would on a busy table: what it frees, the
			// next updates reuse instead of growing the table.
			if _, err := pool.Exec(ctx, `VACUUM bench_app`); err != nil {
				return r, err
			}
		}
		<-tick.C
	}
	// Up to three times, stopping at none left: a short statement of a
	// pool (a poll, a heartbeat) can hold a snapshot across one VACUUM,
	// never across three; a transaction open for the job holds across all.
	for range 3 {
		if _, err := pool.Exec(ctx, `VACUUM bench_app`); err != nil {
			return r, err
		}
		if err := pool.QueryRow(ctx, `SELECT n_dead_tup, pg_relation_size('bench_app') FROM pg_stat_user_tables WHERE relname = 'bench_app'`).
			Scan(&r.deadLeft, &r.after); err != nil {
			return r, err
		}
		if r.deadLeft == 0 {
			break
		}
	}
	return r, nil
}

func reportVacuum(w io.Writer, rs []vacuumResult, window time.Duration) {
	fmt.Fprintf(w, "\nLong-job VACUUM: one job runs %s while the application updates its own %d-row table %d times "+
		"(every row each time, VACUUM after every %d), then VACUUM of that table with the job still running\n\n", window, vacuumRows, vacuumRounds, vacuumEvery)
	fmt.Fprintln(w, "| system | rows updated | dead rows VACUUM could not remove | table size before → after |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %d kB → %d kB (%.1f×) |\n", r.name, r.updated, r.deadLeft,
			r.before/1024, r.after/1024, float64(r.after)/float64(max(r.before, 1)))
	}
}
