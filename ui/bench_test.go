package gueui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	pgxv5 "github.com/gue-go/gue/driver-pgxv5"
	gueui "github.com/gue-go/gue/ui"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkPages1M times the dashboard's pages, rendered by the handler,
// with 1,000,000 jobs in the table (4 queues; ready, scheduled and retrying)
// and 10,000 dead ones:
//
//	cd ui && go test -run '^$' -bench Pages1M -benchtime 20x
func BenchmarkPages1M(b *testing.B) {
	ctx := context.Background()
	adminDSN := conformance.ServerDSN(b)
	admin, err := pgxpool.New(ctx, adminDSN)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(admin.Close) // after the database's drop, registered later
	dsn := conformance.CreateDatabase(b, pgxv5.NewConnPool(admin), adminDSN)
	p, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	pool := pgxv5.NewConnPool(p)
	if err := gue.Migrate(ctx, pool, ""); err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{
		`INSERT INTO gue_jobs (queue, job_type, priority, run_at, error_count, last_error)
SELECT 'queue-' || (i % 4), 'Type' || (i % 10), (i % 3)::smallint,
       CASE WHEN i % 5 = 0 THEN now() + interval '1 hour' ELSE now() - (i || ' ms')::interval END,
       CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 10 = 0 THEN 'boom' END
FROM generate_series(1, 1000000) i`,
		`INSERT INTO gue_jobs_dead (job_id, queue, priority, run_at, job_type, args, error_count, last_error, max_attempts, created_at, reason)
SELECT 2000000 + i, 'queue-' || (i % 4), 0, now(), 'Type1', '[]', 25, 'gave up', 25, now(), 'max_attempts' FROM generate_series(1, 10000) i`,
		`ANALYZE gue_jobs`, `ANALYZE gue_jobs_dead`,
	} {
		if _, err := p.Exec(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	h := gueui.NewHandler(pool, gueui.WithActions(true))
	for _, page := range []struct{ name, path string }{
		{"Overview", "/"},
		{"Jobs", "/jobs"},
		{"JobsOfAQueue", "/jobs?queue=%3Dqueue-2"},
		{"RetryingOfAQueue", "/jobs?queue=%3Dqueue-2&state=retrying"},
		{"DeadJobs", "/jobs?state=dead"},
		{"NextPage", "/jobs?queue=%3Dqueue-1&after=eyJxdWV1ZSI6InF1ZXVlLTEiLCJpZCI6NTAwMDAxfQ"},
		{"Job", "/job?queue=queue-1&id=500001"},
	} {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, page.path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d\n%s", page.path, rec.Code, rec.Body)
				}
			}
		})
	}
}
