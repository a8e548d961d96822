package main

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A database under someone else's pressure (issue 32): while a producer
// keeps the queue at a depth and a pool works it, another client of the
// same database either holds a transaction with an ID open and idle
// (holder), or runs four REPEATABLE READ readers that scan the queue's
// table, each holding its snapshot a second (readers). Both hold back the
// cleanup horizon, so the rows of worked jobs stay as dead tuples that the
// lock statements must step over. Measured: the rate before, during and
// after, the dead tuples of the jobs' table (gue_jobs, River's river_job:
// each system has a database of its own) at the end of the pressure, and how
// long after it the rate is back at 0.9 of the rate before.

// pressureKinds are the kinds of pressure.
var pressureKinds = map[string]func(ctx context.Context, pool *pgxpool.Pool) (release func() error, err error){
	"holder":  holdTransaction,
	"readers": repeatableReaders,
}

// holdTransaction opens a transaction that takes a transaction ID and then
// stays idle until release.
func holdTransaction(ctx context.Context, pool *pgxpool.Pool) (func() error, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SELECT txid_current()`); err != nil {
		_ = tx.Rollback(ctx)
		return nil, err
	}
	return func() error { return tx.Rollback(context.WithoutCancel(ctx)) }, nil
}

// repeatableReaders runs four readers until release, each in a loop of a
// REPEATABLE READ transaction that counts the queue's rows (gue_jobs, or
// River's river_job) and holds its snapshot for a second, started a
// quarter second apart.
func repeatableReaders(ctx context.Context, pool *pgxpool.Pool) (func() error, error) {
	// The system's jobs' table: gue_jobs, or River's river_job.
	var table string
	if err := pool.QueryRow(ctx, `SELECT CASE WHEN to_regclass('gue_jobs') IS NOT NULL THEN 'gue_jobs' ELSE 'river_job' END`).Scan(&table); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(time.Duration(i) * 250 * time.Millisecond):
			case <-rctx.Done():
				return
			}
			for rctx.Err() == nil {
				if err := readOnce(rctx, pool, table); err != nil && rctx.Err() == nil {
					errs <- err
					return
				}
			}
		}()
	}
	return func() error {
		cancel()
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}, nil
}

func readOnce(ctx context.Context, pool *pgxpool.Pool, table string) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		return err
	}
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	return nil
}

// pressureResult is one system's figures under one kind of pressure.
type pressureResult struct {
	name, kind            string
	before, during, after float64 // jobs/s
	dead                  int64   // n_dead_tup of the jobs' table at the end of the pressure
	recovered             time.Duration
	recoveredOK           bool // the rate came back within the after window
	// pickup is the 99th percentile of the jobs' pickup latency before,
	// during and after (enqueue to handler: with the queue kept at a depth,
	// mostly the wait behind it); timed is false for a system that does not
	// tell its jobs' enqueue times.
	pickup [3]time.Duration
	timed  bool
	// lock is the lock statements' execution in each phase, as
	// pg_stat_statements counts it (see lockcost.go); lockErr says why
	// there is none.
	lock    [3]lockPhase
	lockErr error
}

// measurePressure works s with a producer beside it for window, then under
// the pressure of kind for hold, then for window again.
func measurePressure(ctx context.Context, adminDSN string, s system, kind string, workers, depth int, window, hold time.Duration) (pressureResult, error) {
	r := pressureResult{name: s.Name(), kind: kind}
	apply, ok := pressureKinds[kind]
	if !ok {
		return r, fmt.Errorf("unknown pressure %q", kind)
	}
	pool, f, err := feedOnNewDatabase(ctx, adminDSN, s, workers+10, depth)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	r.lockErr = enableLockStats(ctx, pool)
	// lockFrom starts a phase's lock figures; its result ends them in
	// r.lock[phase].
	lockFrom := func(phase int) (end func() error) {
		if r.lockErr != nil {
			return func() error { return nil }
		}
		l0, err := readLockTotals(ctx, pool)
		w0 := f.worked.Load()
		return func() error {
			l, err2 := readLockTotals(ctx, pool)
			if err = cmp.Or(err, err2); err != nil {
				return fmt.Errorf("lock statements' figures: %w", err)
			}
			r.lock[phase] = l.since(l0, f.worked.Load()-w0)
			return nil
		}
	}
	// rate measures a phase of d: its jobs/s, the p99 of its pickups in
	// r.pickup[phase], and its lock statements in r.lock[phase].
	rate := func(phase int, d time.Duration) (float64, error) {
		lockEnd := lockFrom(phase)
		w0, t0 := f.worked.Load(), time.Now()
		f.pickup.take()
		if err := f.wait(d); err != nil {
			return 0, err
		}
		r.pickup[phase], r.timed = f.pickup.take()
		jobs, el := f.worked.Load()-w0, time.Since(t0)
		return float64(jobs) / el.Seconds(), lockEnd()
	}
	if err := f.wait(window / 5); err != nil { // warm-up
		return r, err
	}
	if r.before, err = rate(0, window); err != nil {
		return r, err
	}
	release, err := apply(ctx, pool)
	if err != nil {
		_ = f.finish()
		return r, err
	}
	r.during, err = rate(1, hold)
	if err == nil {
		err = pool.QueryRow(ctx, `SELECT COALESCE(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname IN ('gue_jobs', 'river_job')`).Scan(&r.dead)
	}
	if rerr := release(); err == nil {
		err = rerr
	}
	if err != nil {
		_ = f.finish()
		return r, err
	}
	// After: the rate of each 100 ms step over the last second, until it is
	// back at 0.9 of the rate before; then the rest of the window.
	lockEnd := lockFrom(2)
	start, w0 := time.Now(), f.worked.Load()
	f.pickup.take()
	type sample struct {
		at     time.Time
		worked int64
	}
	samples := []sample{{start, w0}}
	for time.Since(start) < window {
		if err := f.wait(100 * time.Millisecond); err != nil {
			return r, err
		}
		now := sample{time.Now(), f.worked.Load()}
		samples = append(samples, now)
		if r.recoveredOK {
			continue
		}
		for _, old := range samples {
			if el := now.at.Sub(old.at); el <= time.Second+50*time.Millisecond && el >= 950*time.Millisecond {
				if float64(now.worked-old.worked)/el.Seconds() >= 0.9*r.before {
					r.recovered, r.recoveredOK = now.at.Sub(start), true
				}
				break
			}
		}
	}
	r.after = float64(f.worked.Load()-w0) / time.Since(start).Seconds()
	r.pickup[2], _ = f.pickup.take()
	if err := lockEnd(); err != nil {
		_ = f.finish()
		return r, err
	}
	return r, f.finish()
}
