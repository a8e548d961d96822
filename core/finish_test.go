package gue

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/sqlq"
)

// The finishing paths, against a fake transaction that records what it is
// sent: which statements end a job is pure logic of the engine. What
// PostgreSQL makes of them is the conformance suite's business.

type fakeTx struct {
	log      []string
	failOn   string // the next Exec whose SQL starts with it fails, once
	ended    string // "commit" or "rollback"
	pipeline bool
}

type fakeTag struct{}

func (fakeTag) RowsAffected() int64 { return 1 }

func (f *fakeTx) Exec(_ context.Context, sql string, _ ...any) (adapter.CommandTag, error) {
	f.log = append(f.log, firstWord(sql))
	if f.failOn != "" && strings.HasPrefix(sql, f.failOn) {
		what := f.failOn
		f.failOn = ""
		return nil, errors.New("fake failure of " + what)
	}
	return fakeTag{}, nil
}
func (f *fakeTx) QueryRow(context.Context, string, ...any) adapter.Row { return nil }
func (f *fakeTx) Query(context.Context, string, ...any) (adapter.Rows, error) {
	return nil, errors.New("not used")
}
func (f *fakeTx) Commit(context.Context) error   { f.ended = "commit"; return nil }
func (f *fakeTx) Rollback(context.Context) error { f.ended = "rollback"; return nil }

// fakePipeTx is a fakeTx of a pipelining adapter.
type fakePipeTx struct{ fakeTx }

func (f *fakePipeTx) ExecCommit(ctx context.Context, sql string, args ...any) error {
	f.log = append(f.log, firstWord(sql)+"+COMMIT")
	f.ended = "commit"
	return nil
}

// fakePool records the statements sent outside the job's transaction.
type fakePool struct{ fakeTx }

func (p *fakePool) Begin(context.Context) (adapter.Tx, error)     { return nil, errors.New("not used") }
func (p *fakePool) Acquire(context.Context) (adapter.Conn, error) { return nil, errors.New("not used") }
func (p *fakePool) Close() error                                  { return nil }

// firstWord names a statement by its first words, enough to tell them apart.
func firstWord(sql string) string {
	// The statements that end a job forget its cancellation request in a
	// leading CTE: name them by the statement that follows it.
	if strings.HasPrefix(sql, "WITH c AS (DELETE FROM ") && strings.Contains(sql, "gue_jobs_cancel") {
		if _, rest, ok := strings.Cut(sql, ")\n"); ok && strings.HasPrefix(rest, "DELETE") {
			sql = rest
		}
	}
	f := strings.Fields(sql)
	switch {
	case len(f) == 0:
		return ""
	case f[0] == "SAVEPOINT", f[0] == "RELEASE", f[0] == "ROLLBACK", f[0] == "SET":
		return strings.Join(f[:min(len(f), 3)], " ")
	case f[0] == "DELETE" && strings.Contains(sql, "synchronous_commit"):
		return "DELETE async"
	}
	return f[0]
}

func soloJob(tx adapter.Tx, pool adapter.ConnPool, asyncOK bool) *Job {
	return soloJobOn(tx, pool, asyncOK, sqlq.PostgreSQL)
}

func soloJobOn(tx adapter.Tx, pool adapter.ConnPool, asyncOK bool, d sqlq.Dialect) *Job {
	h := held{tx: tx, pool: pool, stmts: sqlq.New("public", d, true), backoff: ConstantBackoff(time.Minute)}
	return &Job{ID: 7, hold: newSoloTx(h, asyncOK)}
}

func wantLog(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Errorf("statements\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

func TestSoloDoneDeletesAsynchronouslyWithoutTx(t *testing.T) {
	tx := &fakeTx{}
	j := soloJob(tx, nil, true)
	if err := j.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := j.Done(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLog(t, tx.log, "DELETE async")
	if tx.ended != "commit" || j.Tx() != nil {
		t.Errorf("ended %q, Tx() after Done = %v; want commit and nil", tx.ended, j.Tx())
	}
}

// On Citus the DELETE cannot make its own commit asynchronous: the
// transaction's commands go first, passed on to the worker, and a plain
// DELETE follows; a job that wrote through Tx commits synchronously there
// too. Control: the same calls on PostgreSQL send no SET.
func TestSoloCitusAsksAsynchronousCommitByCommands(t *testing.T) {
	sets := []string{"SET LOCAL citus.propagate_set_commands", "SET LOCAL synchronous_commit"}
	for _, pipe := range []bool{false, true} {
		var tx adapter.Tx
		var log func() []string
		if pipe {
			p := &fakePipeTx{}
			tx, log = p, func() []string { return p.log }
		} else {
			p := &fakeTx{}
			tx, log = p, func() []string { return p.log }
		}
		j := soloJobOn(tx, nil, true, sqlq.Citus)
		_ = j.Delete(context.Background())
		_ = j.Done(context.Background())
		if pipe {
			wantLog(t, log(), append(sets, "DELETE+COMMIT")...)
		} else {
			wantLog(t, log(), append(sets, "DELETE")...)
		}
	}
	tx := &fakeTx{}
	j := soloJobOn(tx, nil, true, sqlq.Citus)
	j.Tx()
	_ = j.Delete(context.Background())
	_ = j.Done(context.Background())
	wantLog(t, tx.log, "SAVEPOINT gue_job", "RELEASE SAVEPOINT gue_job", "DELETE")

	tx = &fakeTx{}
	j = soloJobOn(tx, nil, true, sqlq.PostgreSQL)
	_ = j.Delete(context.Background())
	_ = j.Done(context.Background())
	wantLog(t, tx.log, "DELETE async")
}

func TestSoloTxWritesCommitSynchronously(t *testing.T) {
	tx := &fakeTx{}
	j := soloJob(tx, nil, true)
	j.Tx()
	_ = j.Delete(context.Background())
	_ = j.Done(context.Background())
	wantLog(t, tx.log, "SAVEPOINT gue_job", "RELEASE SAVEPOINT gue_job", "DELETE")
}

func TestSoloErrorRollsBackToSavepoint(t *testing.T) {
	tx := &fakeTx{}
	j := soloJob(tx, nil, true)
	j.Tx()
	if err := j.Error(context.Background(), "boom"); err != nil {
		t.Fatal(err)
	}
	wantLog(t, tx.log, "SAVEPOINT gue_job", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT gue_job", "UPDATE")
	if tx.ended != "commit" || j.ErrorCount != 1 || j.LastError.String != "boom" {
		t.Errorf("ended %q, ErrorCount %d, LastError %q", tx.ended, j.ErrorCount, j.LastError.String)
	}
	if j.Tx() != nil {
		t.Error("Tx() after Error is not nil")
	}
	if err := j.Done(context.Background()); err != nil {
		t.Errorf("Done after Error: %v", err)
	}
	if err := j.Delete(context.Background()); !errors.Is(err, ErrJobFinished) {
		t.Errorf("Delete after Error = %v; want ErrJobFinished", err)
	}
}

func TestSoloErrorOnAbortedTxRecordsOnFreshConnection(t *testing.T) {
	tx := &fakeTx{failOn: "UPDATE"}
	pool := &fakePool{}
	j := soloJob(tx, pool, true)
	if err := j.Error(context.Background(), "boom"); err != nil {
		t.Fatal(err)
	}
	if tx.ended != "rollback" {
		t.Errorf("transaction ended with %q; want rollback", tx.ended)
	}
	wantLog(t, pool.log, "UPDATE")
}

func TestSoloErrorAfterDeleteRollsBackAndRecordsFresh(t *testing.T) {
	tx := &fakeTx{}
	pool := &fakePool{}
	j := soloJob(tx, pool, true)
	_ = j.Delete(context.Background())
	if err := j.Error(context.Background(), "changed my mind"); err != nil {
		t.Fatal(err)
	}
	if tx.ended != "rollback" {
		t.Errorf("transaction ended with %q; want rollback (the Delete undone)", tx.ended)
	}
	wantLog(t, pool.log, "UPDATE")
	if j.ErrorCount != 1 {
		t.Errorf("ErrorCount %d; want 1", j.ErrorCount)
	}
}

func TestSoloPipelinedDeleteGoesWithCommit(t *testing.T) {
	tx := &fakePipeTx{}
	j := soloJob(tx, nil, true)
	_ = j.Delete(context.Background())
	wantLog(t, tx.log)
	_ = j.Done(context.Background())
	wantLog(t, tx.log, "DELETE async+COMMIT")

	tx = &fakePipeTx{}
	j = soloJob(tx, nil, true)
	_ = j.Delete(context.Background())
	j.Tx() // the held-back DELETE goes out first, synchronous
	_ = j.Done(context.Background())
	wantLog(t, tx.log, "DELETE", "SAVEPOINT gue_job")
	if tx.ended != "commit" {
		t.Errorf("ended %q", tx.ended)
	}
}

func batchJob(b *batch) (*Job, *batchMember) {
	m := &batchMember{held: held{tx: b.tx, stmts: sqlq.New("public", sqlq.PostgreSQL, true), backoff: ConstantBackoff(time.Minute)}, b: b}
	return &Job{ID: 9, Queue: "q", hold: m}, m
}

func TestBatchMemberSwallowedTxErrorIsChargedAlone(t *testing.T) {
	tx := &fakeTx{}
	b := &batch{tx: tx}
	j, _ := batchJob(b)
	j.Tx()
	j.Tx()                // one savepoint, however many calls
	tx.failOn = "RELEASE" // as in an aborted transaction
	err := j.Done(context.Background())
	if !errors.Is(err, errTxFailed) {
		t.Fatalf("Done = %v; want errTxFailed", err)
	}
	if len(b.updated) != 1 || b.updated[0].LastError == nil || b.updated[0].ErrorCount != 1 || !b.updated[0].failed || b.broken {
		t.Fatalf("updated %+v, broken %v; want the job failed once, the batch not broken", b.updated, b.broken)
	}
	if len(b.deleted) != 0 {
		t.Fatalf("deleted %v; a job charged with its failure is not deleted", b.deleted)
	}
	wantLog(t, tx.log, "SAVEPOINT gue_job", "RELEASE SAVEPOINT gue_job", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT gue_job")
	if !b.txMu.TryLock() {
		t.Error("the shared transaction was not handed on")
	}
}

func TestBatchMemberFailAndRollbackQueueTheirEndings(t *testing.T) {
	tx := &fakeTx{}
	b := &batch{tx: tx}
	failed, _ := batchJob(b)
	returned, _ := batchJob(b)
	returned.RunAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failed.Tx()
	if err := failed.Error(context.Background(), "boom"); err != nil {
		t.Fatal(err)
	}
	if err := returned.rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLog(t, tx.log, "SAVEPOINT gue_job", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT gue_job")
	// The returned job needs no write: the commit releases its lock.
	if len(b.updated) != 1 || b.updated[0].DelayUS != time.Minute.Microseconds() || *b.updated[0].LastError != "boom" ||
		!b.updated[0].failed || len(b.deleted) != 0 || len(b.dead) != 0 {
		t.Errorf("updated %+v, deleted %v, dead %+v", b.updated, b.deleted, b.dead)
	}
	if tx.ended != "" {
		t.Errorf("a member ended the shared transaction: %q", tx.ended)
	}
}

func TestBatchMemberQueuesDeletionOnlyAfterDelete(t *testing.T) {
	b := &batch{tx: &fakeTx{}}
	deleted, _ := batchJob(b)
	kept, _ := batchJob(b)
	kept.ID = 10
	if err := deleted.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(b.deleted) != 0 {
		t.Fatal("Delete queued the deletion before Done")
	}
	_ = deleted.Done(context.Background())
	_ = kept.Done(context.Background()) // Done without Delete: the job stays, as in the default mode
	if len(b.deleted) != 1 || b.deleted[0] != deleted.ID || len(b.updated) != 0 || b.writes() {
		t.Errorf("deleted %v, updated %+v; want only job %d deleted", b.deleted, b.updated, deleted.ID)
	}
	snoozed, _ := batchJob(b)
	snoozed.LastError.String, snoozed.LastError.Valid = "old", true
	if _, err := snoozed.endRun(context.Background(), ending{outcome: OutcomeSnoozed, delay: time.Second}); err != nil {
		t.Fatal(err)
	}
	if len(b.updated) != 1 || b.updated[0].failed || *b.updated[0].LastError != "old" {
		t.Errorf("snoozed %+v; want its last error kept and no failure counted", b.updated)
	}
}
