package pgxv4_test

import (
	"context"
	"os"
	"testing"

	"github.com/gue-go/gue/conformance"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv4"
	"github.com/jackc/pgx/v4/pgxpool"
)

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// open connects a pgxpool and adapts it, closing it when t ends.
func open(t *testing.T, dsn string) adapter.ConnPool {
	t.Helper()
	pool, err := pgxpool.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pgxv4.NewConnPool(pool)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, open)
}
