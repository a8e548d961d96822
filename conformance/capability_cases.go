package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// capabilitiesCases is the suite's Capabilities group.
var capabilitiesCases = []testCase{
	{"CopyFrom", testCapabilityCopyFrom},
	{"Listen", testCapabilityListen},
	{"Pipeline", testCapabilityPipeline},
	{"Sizer", testCapabilitySizer},
}

// Optional capability: adapter.CopyFromer (EnqueueBatch uses INSERT without it).
func testCapabilityCopyFrom(t *testing.T, e *env) {
	cf := need[adapter.CopyFromer](t, e, capCopyFrom)
	e.exec(`CREATE TABLE copied (id bigint, name text, at timestamptz, doc json, note text)`)
	now := time.Now().UTC().Truncate(time.Microsecond)
	n, err := cf.CopyFrom(e.ctx, []string{"public", "copied"}, []string{"id", "name", "at", "doc", "note"},
		[][]any{{int64(1), "one", now, `{"a":1}`, nil}, {int64(2), "two", now, `[]`, "x"}})
	if err != nil || n != 2 {
		t.Fatalf("CopyFrom = %d, %v; want 2", n, err)
	}
	if got := e.count(`SELECT count(*) FROM copied WHERE at = $1 AND (note IS NULL) = (id = 1) AND doc::text IN ('{"a":1}', '[]')`, now); got != 2 {
		t.Errorf("%d rows copied faithfully, want 2", got)
	}
}

// Optional capability: adapter.Listener (worker pools poll without it).
func testCapabilityListen(t *testing.T, e *env) {
	l := need[adapter.Listener](t, e, capListen)
	conn, err := l.Listen(e.ctx, "gue_conformance")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(e.ctx)
	e.exec(`SELECT pg_notify('gue_conformance', 'hello')`)
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	payload, err := conn.WaitForNotification(ctx)
	if err != nil || payload != "hello" {
		t.Fatalf("WaitForNotification = %q, %v; want hello", payload, err)
	}
}

// The optional adapter.Pipeliner: a transaction begun with its first query
// and ended with its last statement, as workers use it.
func testCapabilityPipeline(t *testing.T, e *env) {
	pl := need[adapter.Pipeliner](t, e, capPipeline)
	e.exec(`CREATE TABLE items (id int PRIMARY KEY)`)
	e.exec(`INSERT INTO items VALUES (1), (2)`)
	const lockFirst = `SELECT id FROM items ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`

	// The first query's row lock belongs to an open transaction.
	tx, row := pl.BeginQueryRow(e.ctx, lockFirst)
	var id int
	if err := row.Scan(&id); err != nil || id != 1 {
		t.Fatalf("BeginQueryRow: id %d, %v; want 1", id, err)
	}
	other, row2 := pl.BeginQueryRow(e.ctx, lockFirst)
	var id2 int
	if err := row2.Scan(&id2); err != nil || id2 != 2 {
		t.Fatalf("second BeginQueryRow: id %d, %v; want 2 (1 is locked)", id2, err)
	}
	if err := other.Rollback(e.ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	// Statements in between run in the same transaction.
	if _, err := tx.Exec(e.ctx, `INSERT INTO items VALUES (3)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.ExecCommit(e.ctx, `DELETE FROM items WHERE id = $1`, id); err != nil {
		t.Fatalf("ExecCommit: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM items WHERE id IN (1, 3)`); n != 1 {
		t.Errorf("after ExecCommit %d of rows {1 deleted, 3 inserted} wrong, want both applied", 2-n)
	}
	if err := tx.Commit(e.ctx); !errors.Is(err, adapter.ErrTxClosed) {
		t.Errorf("Commit after ExecCommit = %v, want ErrTxClosed", err)
	}

	// No row: the transaction is still open and ends with Rollback.
	empty, row3 := pl.BeginQueryRow(e.ctx, `SELECT id FROM items WHERE id < 0`)
	if err := row3.Scan(&id); !errors.Is(err, adapter.ErrNoRows) {
		t.Errorf("Scan of no row = %v, want ErrNoRows", err)
	}
	if err := empty.Rollback(e.ctx); err != nil {
		t.Errorf("Rollback after no row: %v", err)
	}

	// A failing last statement rolls everything back and says so.
	bad, row4 := pl.BeginQueryRow(e.ctx, lockFirst)
	if err := row4.Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Exec(e.ctx, `INSERT INTO items VALUES (4)`); err != nil {
		t.Fatal(err)
	}
	if err := bad.ExecCommit(e.ctx, `INSERT INTO items VALUES (2)`); err == nil {
		t.Error("ExecCommit of a duplicate key succeeded")
	}
	if n := e.count(`SELECT count(*) FROM items WHERE id = 4`); n != 0 {
		t.Error("a failed ExecCommit committed the transaction's earlier writes")
	}
	// The connections went back to the pool in a usable state.
	for range 3 {
		if n := e.count(`SELECT count(*) FROM items`); n != 2 {
			t.Fatalf("%d items, want 2", n)
		}
	}
}

// Optional capability: adapter.Sizer; a pool that opens connections without
// limit says 0.
func testCapabilitySizer(t *testing.T, e *env) {
	s := need[adapter.Sizer](t, e, capSizer)
	if n := s.MaxConns(); n < 0 {
		t.Errorf("MaxConns() = %d; want 0 (no limit) or more", n)
	}
}
