package pgxv4test

import (
	"context"
	"os"
	"testing"

	"github.com/gue-go/gue/conformance"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv4"
	"github.com/jackc/pgx/v4/pgxpool"
)

// features are the optional capabilities the adapter declares: the suite
// fails if one of them goes missing.
var features = conformance.WithFeatures(conformance.Features{CopyFrom: true, Listen: true, Sizer: true, Session: true, QueryBatch: true})

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
		cfg.ConnConfig.PreferSimpleProtocol = simple
		pool, err := pgxpool.ConnectConfig(context.Background(), cfg)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		t.Cleanup(pool.Close)
		return pgxv4.NewConnPool(pool)
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, opener(false), features)
}

func TestConformanceSimpleProtocol(t *testing.T) {
	conformance.Run(t, opener(true), features)
}

func TestUnwrap(t *testing.T) {
	ctx := context.Background()
	pool := opener(false)(t, conformance.NewDatabase(t, opener(false)))
	raw, ok := pgxv4.UnwrapPool(pool)
	if !ok || raw == nil {
		t.Fatal("UnwrapPool failed on a pool from NewConnPool")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ptx, ok := pgxv4.UnwrapTx(tx)
	if !ok {
		t.Fatal("UnwrapTx failed on a Tx from the adapter")
	}
	var n int
	if err := ptx.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Errorf("query through the unwrapped pgx.Tx = %d, %v", n, err)
	}
	if _, ok := pgxv4.UnwrapTx(nil); ok {
		t.Error("UnwrapTx(nil) reported success")
	}
}
