package libpq_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain refuses to run the runnable examples without a server: they are
// checked against real PostgreSQL, never skipped. make test provides
// DATABASE_URL (scripts/example-db.sh); the driver's database tests and the
// conformance suite live in the conformance/drivertest module.
func TestMain(m *testing.M) {
	if os.Getenv("DATABASE_URL") == "" {
		fmt.Fprintln(os.Stderr, "driver-libpq examples need DATABASE_URL, a PostgreSQL server where they may create a schema (make test provides one)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}
