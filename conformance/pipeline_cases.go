package conformance

import (
	"errors"
	"testing"

	"github.com/gue-go/gue/core/adapter"
)

// The optional adapter.Pipeliner: a transaction begun with its first query
// and ended with its last statement, as workers use it.
func testCapabilityPipeline(t *testing.T, e *env) {
	pl, ok := e.pool.(adapter.Pipeliner)
	if !ok {
		t.Skip("the adapter does not implement adapter.Pipeliner; workers send BEGIN and COMMIT on their own")
	}
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
