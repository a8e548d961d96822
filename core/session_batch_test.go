package gue

import (
	"context"
	"testing"

	"github.com/gue-go/gue/core/adapter"
)

// A lock connection that cannot batch, and one that can.
type plainSession struct{ adapter.SessionConn }

type batchingSession struct{ plainSession }

func (batchingSession) QueryBatch(context.Context, []adapter.BatchQuery) adapter.BatchResults {
	return nil
}

// The lock and load statements share a transaction only where the load
// then takes a snapshot of its own: READ COMMITTED, as the server names it
// in transaction_isolation.
func TestBatcherOnlyUnderReadCommitted(t *testing.T) {
	for _, c := range []struct {
		conn      adapter.SessionConn
		isolation string
		want      bool
	}{
		{batchingSession{}, "read committed", true},
		{batchingSession{}, "read uncommitted", true}, // run as READ COMMITTED
		{batchingSession{}, "repeatable read", false},
		{batchingSession{}, "serializable", false},
		{plainSession{}, "read committed", false},
	} {
		if got := batcher(c.conn, c.isolation) != nil; got != c.want {
			t.Errorf("%T under %s: batches %v, want %v", c.conn, c.isolation, got, c.want)
		}
	}
}
