package pgxv4test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv4"
	"github.com/jackc/pgx/v4/pgxpool"
)

// BenchmarkLockJob measures one job's cycle (LockJob, Delete, Done) with a
// backlog of ready jobs, plus as many scheduled an hour ahead at a higher
// priority, which the lock query must not walk. Run with a fixed -benchtime
// such as 2000x so that both sizes work the same number of jobs.
func BenchmarkLockJob(b *testing.B) {
	for _, backlog := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("ready=%d", backlog), func(b *testing.B) {
			ctx := context.Background()
			pool := benchPool(b)
			if err := gue.Migrate(ctx, pool, ""); err != nil {
				b.Fatal(err)
			}
			for _, q := range []string{
				fmt.Sprintf(`INSERT INTO gue_jobs (job_type, priority, run_at) SELECT 'b', 0, now() - interval '1 hour' FROM generate_series(1, %d)`, backlog+b.N),
				fmt.Sprintf(`INSERT INTO gue_jobs (job_type, priority, run_at) SELECT 'b', -1, now() + interval '1 hour' FROM generate_series(1, %d)`, backlog),
				`VACUUM ANALYZE gue_jobs`,
			} {
				if _, err := pool.Exec(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			c := gue.NewClient(pool)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j, err := c.LockJob(ctx, "")
				if err != nil || j == nil {
					b.Fatalf("LockJob = %v, %v", j, err)
				}
				if err := j.Delete(ctx); err != nil {
					b.Fatal(err)
				}
				if err := j.Done(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchPool opens an adapted pgxpool on a fresh database of the test server.
func benchPool(b *testing.B) adapter.ConnPool {
	b.Helper()
	adminDSN := conformance.ServerDSN(b)
	admin, err := pgxpool.Connect(context.Background(), adminDSN)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(admin.Close)
	dsn := conformance.CreateDatabase(b, pgxv4.NewConnPool(admin), adminDSN)
	pool, err := pgxpool.Connect(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pgxv4.NewConnPool(pool)
}
