package gue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
)

// soloTx finishes a job locked in a transaction of its own (the default
// mode, and Client.LockJob). With a pipelining adapter (pipe set) a Delete
// is held back and sent with the COMMIT, while the handler has not called
// Tx.
type soloTx struct {
	held
	pipe adapter.PipelineTx // nil unless the adapter pipelines
	// savepoint: Tx took one, which fail rolls back to.
	savepoint bool
	// asyncOK allows the DELETE to commit asynchronously while txUsed is
	// false; asyncSet records that it did, so a later Tx can undo it.
	asyncOK, txUsed, asyncSet bool
	// pendingDelete: the DELETE waits for done (pipelining).
	pendingDelete bool
	// deleted: del ran, which fail must undo.
	deleted bool
	// chain, when set, plans the next lock of the worker that locked the
	// job, which done sends with the commit (commitDelete); next is that
	// lock, which done returns to the worker's loop.
	chain *lockplan.Cursor
	next  *pendingLock
}

func newSoloTx(h held, asyncOK bool) *soloTx {
	s := &soloTx{held: h, asyncOK: asyncOK}
	s.pipe, _ = h.tx.(adapter.PipelineTx)
	return s
}

// lost: a transaction's lock goes with the transaction, which the job
// holds until it ends.
func (*soloTx) lost() error { return nil }

// end ends the job in its transaction (see hold.end).
func (s *soloTx) end(ctx context.Context, j *Job, e ending) (settled, error) {
	return endBy(ctx, s, j, e)
}

func (s *soloTx) tx(ctx context.Context, j *Job) adapter.Tx {
	s.txUsed = true
	if err := s.flushDelete(ctx, j); err != nil {
		return s.held.tx // the caller sees the aborted transaction
	}
	if s.asyncSet {
		// Writes may now join the deletion; they must be as durable as the
		// caller's own transactions.
		if _, err := s.held.tx.Exec(ctx, "SET LOCAL synchronous_commit TO DEFAULT"); err == nil {
			s.asyncSet = false
		}
	}
	if !s.savepoint {
		// An error leaves the transaction aborted, which the caller sees on
		// its first statement; fail then falls back to a fresh statement.
		if _, err := s.held.tx.Exec(ctx, "SAVEPOINT "+savepointName); err == nil {
			s.savepoint = true
		}
	}
	return s.held.tx
}

func (s *soloTx) del(ctx context.Context, j *Job) error {
	if err := s.releaseSavepoint(ctx); err != nil {
		return fmt.Errorf("gue: delete job %d: %w", j.ID, err)
	}
	if s.pipe != nil && !s.txUsed {
		s.pendingDelete, s.deleted = true, true
		return nil
	}
	stmt, async, err := s.deleteStmt(ctx)
	if err != nil {
		return fmt.Errorf("gue: delete job %d: %w", j.ID, err)
	}
	if _, err := s.held.tx.Exec(ctx, stmt, j.Queue, j.ID); err != nil {
		return fmt.Errorf("gue: delete job %d: %w", j.ID, err)
	}
	s.asyncSet = s.asyncSet || async
	s.deleted = true
	return nil
}

func (s *soloTx) done(ctx context.Context, j *Job) (settled, error) {
	if s.pendingDelete {
		s.pendingDelete = false
		stmt, _, err := s.deleteStmt(ctx)
		if err == nil {
			err = s.commitDelete(ctx, j, stmt)
		}
		if err != nil {
			err = fmt.Errorf("gue: delete and commit job %d: %w", j.ID, err)
			// As when a Delete of its own fails: the job stays, and the
			// failure is recorded on a fresh connection so that the job is
			// not retried at once with no trace of why. Harmless if the
			// commit went through after all: no row is left to update.
			recorded, _ := s.failFresh(ctx, j, sanitizeText(err.Error()), s.nextDelay(j))
			return recorded, err
		}
		return settled{next: s.next}, nil
	}
	if err := s.held.tx.Commit(ctx); err != nil {
		return settled{}, fmt.Errorf("gue: commit job %d: %w", j.ID, err)
	}
	return settled{}, nil
}

// commitDelete sends the held-back DELETE with the COMMIT: with the lock of
// the worker's next job too when the job has a chain cursor and the adapter
// can, which keeps the connection and saves the round trip that would begin
// the next transaction. That lock, s.next, goes back to the worker's loop
// with the job's ending, and its next lock attempt reads the reply. A job
// has no chain cursor where the lock reads a clock first (Citus, see
// lockJobOnce).
func (s *soloTx) commitDelete(ctx context.Context, j *Job, stmt string) error {
	ch, ok := s.pipe.(adapter.PipelineChainer)
	if s.chain == nil || !ok {
		return s.pipe.ExecCommit(ctx, stmt, j.Queue, j.ID)
	}
	step, sent := s.chain.First(j.Queue), time.Now()
	tx, row, err := ch.ExecCommitBeginQueryRow(ctx, stmt, []any{j.Queue, j.ID}, s.stmts.Lock.Of(step.Kind), step.Args...)
	if err != nil {
		return err
	}
	s.next = &pendingLock{tx: tx, row: row, step: step, sent: sent}
	return nil
}

func (s *soloTx) fail(ctx context.Context, j *Job, msg string) (settled, error) {
	if s.lastAttempt(j) {
		return s.die(ctx, j, msg, ReasonMaxAttempts)
	}
	delay := s.nextDelay(j)
	if err := s.endWith(ctx, j, false, s.stmts.Fail, j.Queue, j.ID, delay.Microseconds(), msg); err != nil {
		return settled{}, fmt.Errorf("gue: record error of job %d: %w", j.ID, err)
	}
	return failedWith(msg, delay), nil
}

func (s *soloTx) die(ctx context.Context, j *Job, msg, reason string) (settled, error) {
	if err := s.endWith(ctx, j, false, s.stmts.Die, j.Queue, j.ID, 1, msg, reason); err != nil {
		return settled{}, fmt.Errorf("gue: move job %d to the dead jobs (%s): %w", j.ID, reason, err)
	}
	return settled{failed: true, msg: msg, died: reason}, nil
}

func (s *soloTx) snooze(ctx context.Context, j *Job, d time.Duration) (settled, error) {
	if err := s.endWith(ctx, j, true, s.stmts.Snooze, j.Queue, j.ID, d.Microseconds()); err != nil {
		return settled{}, fmt.Errorf("gue: snooze job %d: %w", j.ID, err)
	}
	return settled{retryAt: time.Now().Add(d)}, nil
}

// endWith ends the job with stmt in its transaction, after rolling back the
// handler's writes (or keeping them, keepWrites), and commits. When the
// transaction cannot take it (a failed statement of the WorkFunc aborted it,
// its connection is gone) or holds a Delete, which stmt must not follow,
// it rolls the transaction back, which releases the lock, and runs stmt in
// a statement of its own, so that the job's end is recorded all the same.
func (s *soloTx) endWith(ctx context.Context, j *Job, keepWrites bool, stmt string, args ...any) error {
	var err error
	if !s.deleted {
		if err = s.inTx(ctx, keepWrites, stmt, args); err == nil {
			if err = s.held.tx.Commit(ctx); err == nil {
				return nil
			}
		}
	}
	// Error after Delete lands here too: the rollback undoes the Delete,
	// with the handler's writes, and the job stays.
	s.pendingDelete = false
	_ = s.held.tx.Rollback(context.WithoutCancel(ctx))
	if s.pool == nil {
		return errors.Join(err, errors.New("no pool to record it through"))
	}
	if _, err2 := s.pool.Exec(ctx, stmt, args...); err2 != nil {
		return errors.Join(err, err2)
	}
	return nil
}

// inTx runs stmt in the job's transaction, after its savepoint is rolled
// back (the handler's writes undone) or released (kept).
func (s *soloTx) inTx(ctx context.Context, keepWrites bool, stmt string, args []any) error {
	if s.savepoint && !keepWrites {
		if _, err := s.held.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepointName); err != nil {
			return err
		}
	}
	if err := s.releaseSavepoint(ctx); err != nil {
		return err
	}
	_, err := s.held.tx.Exec(ctx, stmt, args...)
	return err
}

func (s *soloTx) rollback(ctx context.Context, _ *Job) error {
	return s.held.tx.Rollback(ctx)
}

// deleteStmt is the DELETE of the job, and whether the transaction now
// commits asynchronously: it does while that is allowed and the
// transaction holds no writes through Tx. Where the dialect has no DELETE
// that does so itself (sqlq.Set.DeleteAsync), the transaction's own
// commands (AsyncCommit) go first, and the plain DELETE follows.
func (s *soloTx) deleteStmt(ctx context.Context) (stmt string, async bool, err error) {
	if !s.asyncOK || s.txUsed {
		return s.stmts.Delete, false, nil
	}
	if s.stmts.DeleteAsync != "" {
		return s.stmts.DeleteAsync, true, nil
	}
	for _, set := range s.stmts.AsyncCommit {
		if _, err := s.held.tx.Exec(ctx, set); err != nil {
			return "", false, err
		}
	}
	return s.stmts.Delete, true, nil
}

// flushDelete runs a Delete that was held back for done, for callers that
// use the transaction before that.
func (s *soloTx) flushDelete(ctx context.Context, j *Job) error {
	if !s.pendingDelete {
		return nil
	}
	s.pendingDelete = false
	_, err := s.held.tx.Exec(ctx, s.stmts.Delete, j.Queue, j.ID)
	return err
}

// releaseSavepoint ends the savepoint Tx took, if any, so the job's row is
// changed by the transaction that locked it. Changing it from inside the
// savepoint's subtransaction would make PostgreSQL record the lock and the
// change as a MultiXact, whose SLRU contention cuts throughput several times
// over with many workers.
func (s *soloTx) releaseSavepoint(ctx context.Context) error {
	if !s.savepoint {
		return nil
	}
	if _, err := s.held.tx.Exec(ctx, "RELEASE SAVEPOINT "+savepointName); err != nil {
		return err
	}
	s.savepoint = false
	return nil
}
