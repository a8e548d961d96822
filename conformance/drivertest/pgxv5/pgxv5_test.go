package pgxv5test

import (
	"context"
	"os"
	"testing"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestMain stops the test server's container at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// opener returns a conformance.OpenFunc connecting a pgxpool, in the simple
// query protocol (as behind PgBouncer in transaction mode) when simple is set.
func opener(simple bool) conformance.OpenFunc {
	return func(t *testing.T, dsn string) adapter.ConnPool {
		t.Helper()
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatalf("parse %s: %v", dsn, err)
		}
		if simple {
			cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		}
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		t.Cleanup(pool.Close)
		return pgxv5.NewConnPool(pool)
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, opener(false))
}

func TestConformanceSimpleProtocol(t *testing.T) {
	conformance.Run(t, opener(true))
}

func TestUnwrap(t *testing.T) {
	ctx := context.Background()
	pool := opener(false)(t, conformance.NewDatabase(t, opener(false)))
	raw, ok := pgxv5.UnwrapPool(pool)
	if !ok || raw == nil {
		t.Fatal("UnwrapPool failed on a pool from NewConnPool")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ptx, ok := pgxv5.UnwrapTx(tx)
	if !ok {
		t.Fatal("UnwrapTx failed on a Tx from the adapter")
	}
	var n int
	if err := ptx.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Errorf("query through the unwrapped pgx.Tx = %d, %v", n, err)
	}
	if _, ok := pgxv5.UnwrapTx(nil); ok {
		t.Error("UnwrapTx(nil) reported success")
	}
}

// A job's transaction comes from the pipelining path; its pgx.Tx must still
// be the job's transaction, with pgx's savepoints, and end with the job.
func TestUnwrapJobTx(t *testing.T) {
	ctx := context.Background()
	pool := opener(false)(t, conformance.NewDatabase(t, opener(false)))
	if err := gue.Migrate(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE written (v int)`); err != nil {
		t.Fatal(err)
	}
	c := gue.NewClient(pool)
	if err := c.Enqueue(ctx, &gue.Job{Type: "t"}); err != nil {
		t.Fatal(err)
	}
	j, err := c.LockJob(ctx, "")
	if err != nil || j == nil {
		t.Fatalf("LockJob = %v, %v", j, err)
	}
	ptx, ok := pgxv5.UnwrapTx(j.Tx())
	if !ok {
		t.Fatal("UnwrapTx failed on a job's Tx")
	}
	if _, err := ptx.Exec(ctx, `INSERT INTO written VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	nested, err := ptx.Begin(ctx) // a savepoint
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nested.Exec(ctx, `INSERT INTO written VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	if err := nested.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var seen int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM written`).Scan(&seen); err != nil || seen != 0 {
		t.Fatalf("rows seen outside the job's transaction before Done: %d, %v; want 0", seen, err)
	}
	if err := j.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.Done(ctx); err != nil {
		t.Fatal(err)
	}
	var rows, jobs int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM written WHERE v = 1), (SELECT count(*) FROM gue_jobs)`).Scan(&rows, &jobs); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || jobs != 0 {
		t.Errorf("after Done: %d rows written, %d jobs; want 1, 0", rows, jobs)
	}
	if _, err := ptx.Exec(ctx, `SELECT 1`); err == nil {
		t.Error("the job's pgx.Tx still runs statements after Done")
	}
}
