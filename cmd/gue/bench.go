package main

import (
	"context"
	"fmt"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
)

func (a *app) benchCommand() *cobra.Command {
	var jobs, workers, batch int
	c := &cobra.Command{
		Use:   "bench",
		Short: "Enqueue and work N no-op jobs in a scratch schema, and print jobs/s for both",
		Long: `Measure your own server: create a scratch schema (gue_bench_<time>), enqueue
--jobs no-op jobs through EnqueueBatch, work them with a pool of --workers
workers (--batch > 1: batch mode), print jobs/s for both, and drop the schema.
It needs the right to create a schema. Figures depend on the server, the
network and the load; compare runs on the same machine.`,
		Example: `  gue bench
  gue bench --jobs 100000 --workers 20 --batch 100`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if jobs < 1 || workers < 1 || batch < 0 {
				return usageError("--jobs and --workers must be positive, --batch not negative")
			}
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			return a.bench(c.Context(), jobs, workers, batch)
		},
	}
	c.Flags().IntVar(&jobs, "jobs", 20000, "jobs to enqueue and work")
	c.Flags().IntVar(&workers, "workers", 10, "workers in the pool")
	c.Flags().IntVar(&batch, "batch", 0, "jobs per transaction in batch mode (0 or 1: one job per transaction)")
	return c
}

func (a *app) bench(ctx context.Context, n, workers, batch int) error {
	schema := fmt.Sprintf("gue_bench_%d", time.Now().UnixNano())
	if err := gue.Migrate(ctx, a.pool, schema); err != nil {
		return fmt.Errorf("create the scratch schema: %v", cmdErr(err))
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := a.pgx.Exec(dctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintf(a.errOut, "could not drop the scratch schema %s: %v\n", schema, err)
		}
	}()
	client := gue.NewClient(a.pool, gue.WithClientSchema(schema), gue.WithClientLogger(adapter.NoOpLogger{}))
	fmt.Fprintf(a.out, "scratch schema %s: %d jobs, %d workers", schema, n, workers)
	if batch > 1 {
		fmt.Fprintf(a.out, " × batch %d", batch)
	}
	fmt.Fprintln(a.out)

	bar := newProgress(a.errOut, "enqueue", int64(n))
	start := time.Now()
	for done := 0; done < n; {
		k := min(1000, n-done)
		chunk := make([]*gue.Job, k)
		for i := range chunk {
			chunk[i] = &gue.Job{Type: "noop"}
		}
		if err := client.EnqueueBatch(ctx, chunk); err != nil {
			bar.done()
			return cmdErr(err)
		}
		done += k
		bar.add(int64(k))
	}
	bar.done()
	enq := time.Since(start)
	fmt.Fprintf(a.out, "enqueue: %d jobs in %s = %.0f jobs/s\n", n, enq.Round(time.Millisecond), float64(n)/enq.Seconds())

	// The pool needs a connection per worker and one to listen.
	cfg := a.pgx.Config().Copy()
	cfg.MaxConns = int32(workers + 2)
	pp, err := pgxPoolWith(ctx, cfg)
	if err != nil {
		return err
	}
	defer pp.close()
	wclient := gue.NewClient(pp.pool, gue.WithClientSchema(schema), gue.WithClientLogger(adapter.NoOpLogger{}))
	pool := gue.NewWorkerPool(wclient, gue.WorkMap{"noop": func(*gue.Job) error { return nil }}, workers,
		gue.WithPoolBatchSize(batch), gue.WithPoolRegistry(false))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	bar = newProgress(a.errOut, "work", int64(n))
	start = time.Now()
	if err := pool.Start(wctx); err != nil {
		return cmdErr(err)
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		var left int64
		if err := a.pgx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "gue_jobs"}.Sanitize()).Scan(&left); err != nil {
			bar.done()
			return cmdErr(err)
		}
		bar.set(int64(n) - left)
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			bar.done()
			return fmt.Errorf("interrupted with %d jobs left", left)
		case <-t.C:
		}
	}
	work := time.Since(start)
	bar.done()
	stop()
	fmt.Fprintf(a.out, "work:    %d jobs in %s = %.0f jobs/s\n", n, work.Round(time.Millisecond), float64(n)/work.Seconds())
	return nil
}
