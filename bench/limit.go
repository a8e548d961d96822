package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// limit is the physical limit the bench reports gue-go against: no queue
// library, only the statements a mode needs to take a no-op job off the
// table, sent by `clients` connections as fast as the server answers, like
// pgbench with prepared statements. Each connection commits asynchronously
// (synchronous_commit = off for its session), as gue-go's completions do.
// It works the jobs gue-go's Enqueue inserted, in the same table.
type limit struct {
	name    string
	clients int
	// perStatement > 1: one DELETE of up to perStatement jobs per
	// transaction (batch mode's limit); 1: BEGIN, lock one job, DELETE it,
	// COMMIT (default mode's limit).
	perStatement int
	g            gueGo // schema and Enqueue
	pool         *pgxpool.Pool
}

// drainOnly marks a system measured on the work-down phase alone.
type drainOnly interface{ drainOnly() }

func (*limit) drainOnly() {}

func (l *limit) Name() string { return l.name }

func (l *limit) Setup(ctx context.Context, pool *pgxpool.Pool) error {
	l.pool = pool
	return l.g.Setup(ctx, pool)
}

func (l *limit) Enqueue(ctx context.Context, n int) error { return l.g.Enqueue(ctx, n) }

// The statements, on the default queue (”): the order is gue-go's (priority,
// run_at, job_id).
const (
	limitBatchSQL = `DELETE FROM gue_jobs WHERE (queue, job_id) IN (
  SELECT queue, job_id FROM gue_jobs WHERE queue = '' AND run_at <= now()
  ORDER BY priority, run_at, job_id LIMIT $1 FOR UPDATE SKIP LOCKED)`
	limitLockSQL = `SELECT job_id FROM gue_jobs WHERE queue = '' AND run_at <= now()
ORDER BY priority, run_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED`
	limitDeleteSQL = `DELETE FROM gue_jobs WHERE queue = '' AND job_id = $1`
)

func (l *limit) Start(ctx context.Context, done func()) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, l.clients)
	for range l.clients {
		conn, err := l.pool.Acquire(ctx)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		if _, err := conn.Exec(ctx, `SET synchronous_commit = off`); err != nil {
			conn.Release()
			cancel()
			wg.Wait()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Release()
			for ctx.Err() == nil {
				n, err := l.one(ctx, conn.Conn())
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				for range n {
					done()
				}
				if n == 0 {
					time.Sleep(time.Millisecond) // drained
				}
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
		select {
		case err := <-errs:
			fmt.Printf("%s: %v\n", l.name, err)
		default:
		}
	}, nil
}

// one takes up to perStatement jobs off the table and says how many.
func (l *limit) one(ctx context.Context, conn *pgx.Conn) (int64, error) {
	if l.perStatement > 1 {
		tag, err := conn.Exec(ctx, limitBatchSQL, l.perStatement)
		return tag.RowsAffected(), err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var id int64
	if err := tx.QueryRow(ctx, limitLockSQL).Scan(&id); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil
		}
		return 0, err
	}
	if _, err := tx.Exec(ctx, limitDeleteSQL, id); err != nil {
		return 0, err
	}
	return 1, tx.Commit(ctx)
}

// sweepResult is batch mode's work-down rate with one pool size.
type sweepResult struct {
	name string
	rate float64
}

// measureSweep works `jobs` jobs down with gue-go's batch mode at each pool
// size, and with the batch limit at 1 and 2 clients, each on a fresh
// database, and prints each against the best pool size and the best limit.
func measureSweep(ctx context.Context, w io.Writer, adminDSN string, sizes []int, batch, jobs int) error {
	var gue, lim []sweepResult
	for _, n := range sizes {
		s := &gueGo{name: fmt.Sprintf("gue-go %d workers × batch %d", n, batch), workers: n, batch: batch, poll: 100 * time.Millisecond}
		r, err := measure(ctx, adminDSN, drainer{s}, jobs, n, 0, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		gue = append(gue, sweepResult{s.Name(), r.drain})
	}
	for _, c := range []int{1, 2} {
		s := &limit{name: fmt.Sprintf("raw SQL limit, %d client(s), %d jobs a statement", c, batch), clients: c, perStatement: batch}
		r, err := measure(ctx, adminDSN, s, jobs, c, 0, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		lim = append(lim, sweepResult{s.Name(), r.drain})
	}
	best, bestLim := 0.0, 0.0
	for _, r := range gue {
		best = max(best, r.rate)
	}
	for _, r := range lim {
		bestLim = max(bestLim, r.rate)
	}
	fmt.Fprintf(w, "\nBatch mode by pool size, %d jobs worked down each; ratios against the best pool size and the best raw SQL limit of the same run\n\n", jobs)
	fmt.Fprintln(w, "| system | work down jobs/s | of best pool size | of raw SQL limit |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range gue {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.2f |\n", r.name, r.rate, r.rate/best, r.rate/bestLim)
	}
	for _, r := range lim {
		fmt.Fprintf(w, "| %s | %.0f | | %.2f |\n", r.name, r.rate, r.rate/bestLim)
	}
	return nil
}

// drainer measures a system on the work-down phase alone.
type drainer struct{ system }

func (drainer) drainOnly() {}
