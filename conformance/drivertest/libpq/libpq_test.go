package libpqtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"

	"github.com/gue-go/gue/conformance"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-libpq"
	_ "github.com/jackc/pgx/v5/stdlib" // registers database/sql driver "pgx"
	_ "github.com/lib/pq"              // registers database/sql driver "postgres"
)

// features are the optional capabilities the adapter declares: the suite
// fails if one of them goes missing.
var features = conformance.WithFeatures(conformance.Features{Sizer: true, Session: true})

// TestMain stops the test server's container at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// opener returns a conformance.OpenFunc opening a *sql.DB with the named
// database/sql driver.
func opener(driver string) conformance.OpenFunc {
	return func(t *testing.T, dsn string) adapter.ConnPool {
		t.Helper()
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if err := db.PingContext(context.Background()); err != nil {
			t.Fatalf("ping: %v", err)
		}
		// As driver-libpq's documentation asks: database/sql's default of 2
		// idle connections opens a server session for most statements.
		db.SetMaxIdleConns(100)
		t.Cleanup(func() { _ = db.Close() })
		return libpq.NewConnPool(db)
	}
}

func TestConformanceLibPQ(t *testing.T) {
	conformance.Run(t, opener("postgres"), features)
}

// The suite through PgBouncer in transaction pooling mode. lib/pq must be
// told binary_parameters=yes there: otherwise it prepares a statement with
// parameters in one round trip and runs it in the next, which the pooler
// may send to another server connection, where the statement does not
// exist. The adapter has no LISTEN, so its pools poll.
func TestConformanceLibPQPgBouncer(t *testing.T) {
	open := opener("postgres")
	conformance.Run(t, conformance.ThroughPgBouncer(t, func(t *testing.T, dsn string) adapter.ConnPool {
		return open(t, withParam(dsn, "binary_parameters", "yes"))
	}), conformance.BehindPooler(), features)
}

// withParam is the URL dsn with the query parameter key=value.
func withParam(dsn, key, value string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformancePgxStdlib(t *testing.T) {
	conformance.Run(t, opener("pgx"), features)
}

func TestUnwrap(t *testing.T) {
	ctx := context.Background()
	open := opener("postgres")
	pool := open(t, conformance.NewDatabase(t, open))
	if db, ok := libpq.UnwrapPool(pool); !ok || db == nil {
		t.Fatal("UnwrapPool failed on a pool from NewConnPool")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	stx, ok := libpq.UnwrapTx(tx)
	if !ok {
		t.Fatal("UnwrapTx failed on a Tx from the adapter")
	}
	var n int
	if err := stx.QueryRowContext(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Errorf("query through the unwrapped *sql.Tx = %d, %v", n, err)
	}
}
