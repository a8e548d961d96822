package pgxv3test

import (
	"context"
	"os"
	"testing"

	"github.com/gue-go/gue/conformance"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv3"
	"github.com/jackc/pgx"
)

// TestMain stops the test server's container at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// open connects a pgx v3 pool and adapts it, closing it when t ends.
func open(t *testing.T, dsn string) adapter.ConnPool {
	t.Helper()
	cfg, err := pgx.ParseURI(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsn, err)
	}
	pool, err := pgx.NewConnPool(pgx.ConnPoolConfig{ConnConfig: cfg, MaxConnections: 20})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pgxv3.NewConnPool(pool)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, open, conformance.WithFeatures(conformance.Features{Sizer: true, Session: true}))
}

func TestUnwrap(t *testing.T) {
	ctx := context.Background()
	pool := open(t, conformance.NewDatabase(t, open))
	raw, ok := pgxv3.UnwrapPool(pool)
	if !ok || raw == nil {
		t.Fatal("UnwrapPool failed on a pool from NewConnPool")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ptx, ok := pgxv3.UnwrapTx(tx)
	if !ok {
		t.Fatal("UnwrapTx failed on a Tx from the adapter")
	}
	var n int
	if err := ptx.QueryRowEx(ctx, "SELECT 41 + 1", nil).Scan(&n); err != nil || n != 42 {
		t.Errorf("query through the unwrapped *pgx.Tx = %d, %v", n, err)
	}
	if _, ok := pgxv3.UnwrapTx(nil); ok {
		t.Error("UnwrapTx(nil) reported success")
	}
}
