package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gue-go/gue/core/adapter"
)

// adapterCases is the suite's Adapter group.
var adapterCases = []testCase{
	{"NoRows", testAdapterNoRows},
	{"TxClosed", testAdapterTxClosed},
	{"TxOutlivesBeginContext", testAdapterTxOutlivesBeginContext},
	{"QueryRows", testAdapterQueryRows},
	{"Acquire", testAdapterAcquire},
}

// The port contracts of package adapter, checked on the adapter directly.

func testAdapterNoRows(t *testing.T, e *env) {
	var n int64
	err := e.pool.QueryRow(e.ctx, `SELECT 1::bigint WHERE false`).Scan(&n)
	if !errors.Is(err, adapter.ErrNoRows) {
		t.Errorf("Scan of an empty result: %v, want adapter.ErrNoRows", err)
	}
	// gue v2 users compare with ==: a bare "no rows" is the sentinel itself.
	if err != adapter.ErrNoRows { //nolint:errorlint // the point of the check
		t.Errorf("Scan of an empty result: %#v; want adapter.ErrNoRows itself", err)
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	if err := tx.QueryRow(e.ctx, `SELECT 1::bigint WHERE false`).Scan(&n); err != adapter.ErrNoRows { //nolint:errorlint
		t.Errorf("Scan of an empty result in a transaction: %#v; want adapter.ErrNoRows itself", err)
	}
}

func testAdapterTxClosed(t *testing.T, e *env) {
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(e.ctx, `SELECT 1`); !errors.Is(err, adapter.ErrTxClosed) {
		t.Errorf("Exec after Commit: %v, want adapter.ErrTxClosed", err)
	} else if msg := err.Error(); strings.Count(msg, "closed")+strings.Count(msg, "done") > 1 {
		t.Errorf("Exec after Commit says it twice: %q", msg)
	}
	if err := tx.Rollback(e.ctx); !errors.Is(err, adapter.ErrTxClosed) {
		t.Errorf("Rollback after Commit: %v, want adapter.ErrTxClosed", err)
	}
}

func testAdapterTxOutlivesBeginContext(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(e.ctx)
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	var n int64
	if err := tx.QueryRow(e.ctx, `SELECT 1::bigint`).Scan(&n); err != nil || n != 1 {
		t.Errorf("transaction unusable after its Begin context was cancelled: %d, %v", n, err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Errorf("commit: %v", err)
	}
}

func testAdapterQueryRows(t *testing.T, e *env) {
	rows, err := e.pool.Query(e.ctx, `SELECT g::bigint FROM generate_series(1, 3) g`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sum int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	if err := rows.Err(); err != nil || sum != 6 {
		t.Errorf("sum of rows = %d, %v; want 6", sum, err)
	}
	e.exec(`CREATE TABLE t2 (v int)`)
	ct, err := e.pool.Exec(e.ctx, `INSERT INTO t2 SELECT generate_series(1, 4)`)
	if err != nil || ct.RowsAffected() != 4 {
		t.Errorf("RowsAffected = %v, %v; want 4", ct, err)
	}
}

func testAdapterAcquire(t *testing.T, e *env) {
	conn, err := e.pool.Acquire(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// Session state stays on an acquired connection.
	if _, err := conn.Exec(e.ctx, `SET application_name = 'gue-conformance'`); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := conn.QueryRow(e.ctx, `SELECT current_setting('application_name')`).Scan(&name); err != nil || name != "gue-conformance" {
		t.Errorf("application_name on the same connection = %q, %v", name, err)
	}
	tx, err := conn.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(e.ctx); err != nil {
		t.Errorf("rollback: %v", err)
	}
}
