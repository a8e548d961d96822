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
// (synchronous_commit = off), as gue-go's completions do.
// It works the jobs gue-go's Enqueue inserted, in the same table.
type limit struct {
	name    string
	clients int
	// perStatement > 1: one DELETE of up to perStatement jobs per
	// transaction (batch mode's limit); 1: BEGIN, lock one job, DELETE it,
	// COMMIT (default mode's limit).
	perStatement int
	// chain: the DELETE and COMMIT of one job go in the same round trip
	// as the BEGIN and lock of the next, as a gue-go worker of one queue
	// sends them with the pgx v5 driver (adapter.PipelineChainer).
	chain bool
	g     gueGo // schema and Enqueue
	pool  *pgxpool.Pool
	pos   limitPos
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
const limitBatchSQL = `DELETE FROM gue_jobs WHERE (queue, job_id) IN (
  SELECT queue, job_id FROM gue_jobs WHERE queue = '' AND run_at <= now()
  ORDER BY priority, run_at, job_id LIMIT $1 FOR UPDATE SKIP LOCKED)`

// The default mode's statements as gue-go sends them for a queue of one
// priority (core/internal/sqlq): the seek past the position of the last job
// locked (sqlq.LockSQL.Seek), the full query when it finds nothing (sqlq.LockSQL.Hinted
// without hints, which walks the dead entries), and the DELETE that makes
// the commit asynchronous (DeleteAsync). BEGIN goes with the lock and
// COMMIT with the DELETE, in one round trip each, as the pgx v5 driver
// pipelines them; chained, a job's DELETE and COMMIT go with the next
// one's BEGIN and lock, in one round trip per job.
const (
	limitSeekSQL = `SELECT c.job_id, c.run_at
FROM gue_jobs c
WHERE c.queue = '' AND c.priority = 0 AND c.run_at <= now() AND (c.run_at, c.job_id) > ($1, $2)
  AND (SELECT n.priority FROM gue_jobs n WHERE n.queue = '' AND n.priority < 0 ORDER BY n.priority DESC LIMIT 1) IS NULL
ORDER BY c.run_at, c.job_id
LIMIT 1
FOR UPDATE SKIP LOCKED`
	limitFullSQL = `SELECT c.job_id, c.run_at FROM gue_jobs c WHERE c.queue = '' AND c.priority = 0 AND c.run_at <= now()
ORDER BY c.run_at, c.job_id LIMIT 1 FOR UPDATE SKIP LOCKED`
	limitDeleteSQL = `DELETE FROM gue_jobs WHERE queue = '' AND job_id = $1
  AND set_config('synchronous_commit', 'off', true) IS NOT NULL`
)

// limitPos is the position of the last job the default-mode limit's
// clients locked, which they share as a pool's workers share their hints.
type limitPos struct {
	mu    sync.Mutex
	runAt time.Time
	id    int64
}

func (p *limitPos) get() (time.Time, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runAt, p.id
}

func (p *limitPos) set(runAt time.Time, id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if runAt.After(p.runAt) || (runAt.Equal(p.runAt) && id > p.id) {
		p.runAt, p.id = runAt, id
	}
}

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
			var held int64
			for ctx.Err() == nil {
				var n int64
				var err error
				if l.chain {
					n, held, err = l.chained(ctx, conn.Conn(), held)
				} else {
					n, err = l.one(ctx, conn.Conn())
				}
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
	runAt, id := l.pos.get()
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(limitSeekSQL, runAt, id)
	br := conn.SendBatch(ctx, b)
	_, err := br.Exec()
	var got time.Time
	if err == nil {
		err = br.QueryRow().Scan(&id, &got)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) { // behind the position, or none: the full query
		err = conn.QueryRow(ctx, limitFullSQL).Scan(&id, &got)
	}
	if err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "rollback")
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil
		}
		return 0, err
	}
	l.pos.set(got, id)
	b = &pgx.Batch{}
	b.Queue(limitDeleteSQL, id)
	b.Queue("commit")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return 0, err
	}
	return 1, nil
}

// chained finishes the job held (0: none) and locks the next in one round
// trip: DELETE, COMMIT, BEGIN, lock.
func (l *limit) chained(ctx context.Context, conn *pgx.Conn, held int64) (int64, int64, error) {
	runAt, id := l.pos.get()
	b := &pgx.Batch{}
	if held != 0 {
		b.Queue(limitDeleteSQL, held)
		b.Queue("commit")
	}
	b.Queue("begin")
	b.Queue(limitSeekSQL, runAt, id)
	br := conn.SendBatch(ctx, b)
	var err error
	var done int64
	if held != 0 {
		if _, err = br.Exec(); err == nil {
			_, err = br.Exec()
		}
		if err == nil {
			done = 1
		}
	}
	if err == nil {
		_, err = br.Exec()
	}
	var got time.Time
	if err == nil {
		err = br.QueryRow().Scan(&id, &got)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = conn.QueryRow(ctx, limitFullSQL).Scan(&id, &got)
	}
	if err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "rollback")
		if errors.Is(err, pgx.ErrNoRows) {
			return done, 0, nil
		}
		return done, 0, err
	}
	l.pos.set(got, id)
	return done, id, nil
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
