package conformance

import (
	"cmp"
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
	{"PipelineChain", testCapabilityPipelineChain},
	{"Sizer", testCapabilitySizer},
	{"Session", testCapabilitySession},
	{"QueryBatch", testCapabilityQueryBatch},
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

// The optional adapter.PipelineChainer of a Pipeliner's transactions: a
// job's last statement and COMMIT sent with the next transaction's BEGIN
// and lock, as a worker of one queue uses it.
func testCapabilityPipelineChain(t *testing.T, e *env) {
	declared := e.cfg.features != nil && e.cfg.features.PipelineChain
	pl := needVia[adapter.Pipeliner](t, e, capChain, "Pipeliner")
	e.exec(`CREATE TABLE items (id int PRIMARY KEY)`)
	e.exec(`INSERT INTO items VALUES (1), (2), (3)`)
	const lockFirst = `SELECT id FROM items ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`
	begin := func(want int) (adapter.PipelineTx, adapter.PipelineChainer) {
		t.Helper()
		tx, row := pl.BeginQueryRow(e.ctx, lockFirst)
		var id int
		if err := row.Scan(&id); err != nil || id != want {
			t.Fatalf("BeginQueryRow: id %d, %v; want %d", id, err, want)
		}
		ch, ok := tx.(adapter.PipelineChainer)
		switch {
		case !ok && declared:
			t.Fatalf("the adapter declares adapter.%s (conformance.Features) but its PipelineTx, a %T, does not implement it", capChain.name, tx)
		case !ok:
			_ = tx.Rollback(e.ctx)
			t.Skipf("the adapter's PipelineTx does not implement adapter.%s", capChain.name)
		}
		return tx, ch
	}

	// The first transaction commits; the next one holds the lock of the
	// row its query found.
	tx, ch := begin(1)
	next, row, err := ch.ExecCommitBeginQueryRow(e.ctx, `DELETE FROM items WHERE id = $1`, []any{1}, lockFirst)
	if err != nil {
		t.Fatalf("ExecCommitBeginQueryRow: %v", err)
	}
	var id int
	if err := row.Scan(&id); err != nil || id != 2 {
		t.Fatalf("the chained lock: id %d, %v; want 2 (1 is deleted)", id, err)
	}
	if n := e.count(`SELECT count(*) FROM items WHERE id = 1`); n != 0 {
		t.Error("the first transaction's DELETE is not committed")
	}
	if err := tx.Commit(e.ctx); !errors.Is(err, adapter.ErrTxClosed) {
		t.Errorf("Commit of the chained-from transaction = %v, want ErrTxClosed", err)
	}
	other, row2 := pl.BeginQueryRow(e.ctx, lockFirst)
	if err := row2.Scan(&id); err != nil || id != 3 {
		t.Errorf("another transaction locked %d, %v; want 3 (2 is locked by the chained one)", id, err)
	}
	_ = other.Rollback(e.ctx)
	// The chained transaction is a PipelineTx like any: it takes
	// statements, and chains again; a query that finds nothing leaves it
	// open, to end with Rollback.
	if _, err := next.Exec(e.ctx, `INSERT INTO items VALUES (4)`); err != nil {
		t.Fatal(err)
	}
	ch2, ok := next.(adapter.PipelineChainer)
	if !ok {
		t.Fatalf("the chained transaction, a %T, does not chain", next)
	}
	empty, row3, err := ch2.ExecCommitBeginQueryRow(e.ctx, `DELETE FROM items WHERE id = $1`, []any{2}, `SELECT id FROM items WHERE id < 0`)
	if err != nil {
		t.Fatalf("second ExecCommitBeginQueryRow: %v", err)
	}
	if err := row3.Scan(&id); !errors.Is(err, adapter.ErrNoRows) {
		t.Errorf("Scan of no row = %v, want ErrNoRows", err)
	}
	if err := empty.Rollback(e.ctx); err != nil {
		t.Errorf("Rollback after no row: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM items WHERE id IN (2, 4)`); n != 1 {
		t.Errorf("after the second chain %d of rows {2 deleted, 4 inserted} wrong, want both applied", 2-n)
	}

	// A failing statement: an error, nothing committed, nothing begun.
	bad, chBad := begin(3)
	if _, err := bad.Exec(e.ctx, `INSERT INTO items VALUES (5)`); err != nil {
		t.Fatal(err)
	}
	if nt, r, err := chBad.ExecCommitBeginQueryRow(e.ctx, `INSERT INTO items VALUES (3)`, nil, lockFirst); err == nil || nt != nil || r != nil {
		t.Errorf("ExecCommitBeginQueryRow of a duplicate key = %v, %v, %v; want an error and nothing begun", nt, r, err)
	}
	if n := e.count(`SELECT count(*) FROM items WHERE id = 5`); n != 0 {
		t.Error("a failed ExecCommitBeginQueryRow committed the transaction's earlier writes")
	}

	// A next query that fails when it runs: the commit stands, the error
	// comes through Scan, and the new transaction ends with Rollback.
	_, ch4 := begin(3)
	nt, r, err := ch4.ExecCommitBeginQueryRow(e.ctx, `INSERT INTO items VALUES (6)`, nil, `SELECT 1 / $1::int`, 0)
	if err != nil {
		t.Fatalf("ExecCommitBeginQueryRow with a failing next query: %v; want the commit's outcome (nil)", err)
	}
	if err := r.Scan(&id); err == nil || errors.Is(err, adapter.ErrNoRows) {
		t.Errorf("Scan of a failing next query = %v, want its error", err)
	}
	_ = nt.Rollback(e.ctx)
	if n := e.count(`SELECT count(*) FROM items WHERE id = 6`); n != 1 {
		t.Error("the commit before a failing next query did not stand")
	}
	// The connections went back to the pool in a usable state.
	for range 4 {
		if n := e.count(`SELECT count(*) FROM items`); n != 3 {
			t.Fatalf("%d items, want 3 (3, 4 and 6)", n)
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

// The optional adapter.Sessioner: a connection that is one server session,
// whose session locks hold until its Close ends that session.
func testCapabilitySession(t *testing.T, e *env) {
	sr := need[adapter.Sessioner](t, e, capSession)
	e.needSession(t, "a session lock needs one server session")
	sc, err := sr.Session(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int32
	var got bool
	if err := sc.QueryRow(e.ctx, `SELECT pg_backend_pid(), pg_try_advisory_lock(4242)`).Scan(&pid, &got); err != nil || !got {
		t.Fatalf("lock on the session: %v, %v", got, err)
	}
	// Held across statements: the same backend, and other sessions are
	// refused the lock.
	var pid2 int32
	if err := sc.QueryRow(e.ctx, `SELECT pg_backend_pid()`).Scan(&pid2); err != nil || pid2 != pid {
		t.Fatalf("second statement on backend %d (%v), the first on %d", pid2, err, pid)
	}
	if n := e.count(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND pid = $1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, pid); n != 1 {
		t.Fatalf("%d advisory locks of the session's backend, want 1", n)
	}
	if err := sc.Close(e.ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_ = sc.Close(e.ctx) // harmless twice
	// Closed, not pooled: the server ended the session and its lock.
	waitFor(t, "the session's backend gone", func() bool {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid) == 0
	})
	if n := e.count(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`); n != 0 {
		t.Errorf("%d advisory locks left after Close, want 0", n)
	}
}

// The optional adapter.QueryBatcher of a Sessioner's connections: queries
// sent in one round trip, run in order in one transaction, each with a
// snapshot of its own under READ COMMITTED, as session mode's lock turn
// needs them.
func testCapabilityQueryBatch(t *testing.T, e *env) {
	declared := e.cfg.features != nil && e.cfg.features.QueryBatch
	sr := needVia[adapter.Sessioner](t, e, capBatch, "Sessioner")
	e.needSession(t, "a batch runs on a connection of its own")
	open := func() adapter.SessionConn {
		t.Helper()
		sc, err := sr.Session(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sc.Close(context.Background()) })
		return sc
	}
	sc := open()
	qb, ok := sc.(adapter.QueryBatcher)
	switch {
	case !ok && declared:
		t.Fatalf("the adapter declares adapter.%s (conformance.Features) but its SessionConn, a %T, does not implement it", capBatch.name, sc)
	case !ok:
		t.Skipf("the adapter's SessionConn does not implement adapter.%s", capBatch.name)
	}
	e.exec(`CREATE TABLE items (id int)`)

	// In order, in one transaction: the second query sees what the first
	// set for its transaction, and the same transaction ID.
	br := qb.QueryBatch(e.ctx, []adapter.BatchQuery{
		{SQL: `SELECT set_config('gue_conformance.v', $1, true), txid_current()`, Args: []any{"x"}},
		{SQL: `SELECT coalesce(current_setting('gue_conformance.v', true), ''), txid_current()`},
	})
	var set, seen string
	var tx1, tx2 int64
	for i, dest := range [][]any{{&set, &tx1}, {&seen, &tx2}} {
		if err := nextRows(br, dest...); err != nil {
			t.Fatalf("query %d: %v", i+1, err)
		}
	}
	if _, err := br.Query(); err == nil {
		t.Errorf("a third Query of a batch of two gave no error")
	}
	if err := br.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_ = br.Close() // harmless twice
	if set != "x" || seen != "x" || tx1 != tx2 {
		t.Fatalf("the second query saw setting %q in transaction %d, the first set %q in %d: want one transaction", seen, tx2, set, tx1)
	}
	var after string
	if err := sc.QueryRow(e.ctx, `SELECT coalesce(current_setting('gue_conformance.v', true), '')`).Scan(&after); err != nil || after != "" {
		t.Fatalf("after the batch the setting is %q (%v): its transaction did not end", after, err)
	}

	// Each query sees what committed before it began: a row inserted
	// while the first waits for a lock is seen by the second. Under
	// REPEATABLE READ (the control) it is not, which is why session mode
	// batches only on a READ COMMITTED connection.
	other := open()
	for _, c := range []struct {
		isolation string
		want      int64
	}{{"read committed", 1}, {"repeatable read", 0}} {
		e.exec(`TRUNCATE items`)
		if _, err := sc.Exec(e.ctx, `SET default_transaction_isolation = '`+c.isolation+`'`); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec(e.ctx, `SELECT pg_advisory_lock(4243)`); err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		var n int64
		go func() {
			br := qb.QueryBatch(e.ctx, []adapter.BatchQuery{
				{SQL: `SELECT pg_advisory_xact_lock(4243)::text`},
				{SQL: `SELECT count(*) FROM items`},
			})
			defer br.Close()
			err := nextRows(br)
			if err == nil {
				err = nextRows(br, &n)
			}
			got <- cmp.Or(err, br.Close())
		}()
		waitFor(t, "the batch's first query waiting for the lock", func() bool {
			return e.count(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4243 AND NOT granted`) == 1
		})
		e.exec(`INSERT INTO items VALUES (1)`)
		if _, err := other.Exec(e.ctx, `SELECT pg_advisory_unlock(4243)`); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatalf("%s: batch: %v", c.isolation, err)
		}
		if n != c.want {
			t.Errorf("%s: the second query counted %d rows, want %d", c.isolation, n, c.want)
		}
	}
	if _, err := sc.Exec(e.ctx, `RESET default_transaction_isolation`); err != nil {
		t.Fatal(err)
	}

	// A query that fails ends the batch: the ones after it do not run,
	// and the connection is usable after Close.
	e.exec(`TRUNCATE items`)
	br = qb.QueryBatch(e.ctx, []adapter.BatchQuery{
		{SQL: `SELECT 1 / $1::int`, Args: []any{0}},
		{SQL: `INSERT INTO items VALUES (2) RETURNING id`},
	})
	if err := nextRows(br); err == nil {
		t.Errorf("a division by zero gave no error")
	}
	_ = br.Close()
	var one int
	if err := sc.QueryRow(e.ctx, `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("the connection after a failed batch: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM items`); n != 0 {
		t.Errorf("the query after the failed one ran: %d rows", n)
	}
}

// nextRows reads the rows of br's next query, each scanned into dest
// (none: read and dropped), and closes them.
func nextRows(br adapter.BatchResults, dest ...any) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if len(dest) > 0 {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}
