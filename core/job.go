package gue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// savepointName marks the state of a job's transaction right after the job
// was locked; Error rolls back to it so a failed handler's writes are undone.
const savepointName = "gue_job"

// Job is one unit of work. Fields are stored as columns of gue_jobs.
//
// A Job returned by LockJob (or passed to a WorkFunc) holds an open
// transaction that keeps its row locked; the methods end it. Job methods are
// safe for concurrent use.
type Job struct {
	// ID is the unique database ID of the job, set by Enqueue.
	ID int64
	// Queue is the name of the queue; "" (the default) is a queue too.
	Queue string
	// Priority orders ready jobs of one queue: lower runs first. Default 0.
	Priority int16
	// RunAt is the earliest time the job may run; zero means now (the
	// database's clock), and Enqueue fills it in.
	RunAt time.Time
	// Type selects the WorkFunc that runs the job. Required.
	Type string
	// Args is the job's argument as JSON; empty means [].
	Args []byte
	// ErrorCount is the number of times the job has failed.
	ErrorCount int32
	// LastError is the error message of the latest failure.
	LastError sql.NullString
	// Metadata travels with the job from enqueue to work, such as the trace
	// context that Hooks put there. Optional; nil when the job has none.
	Metadata map[string]string

	// filledRunAt is the RunAt that Enqueue filled in for a zero RunAt: the
	// same struct enqueued again gets a fresh one, not the old time.
	filledRunAt time.Time

	mu        sync.Mutex
	ctx       context.Context
	tx        adapter.Tx
	pool      adapter.ConnPool
	q         *queries
	backoff   Backoff
	savepoint bool
	finished  bool
	// asyncOK allows Delete to commit asynchronously while txUsed is
	// false; asyncSet records that it did, so a later Tx call can undo it.
	asyncOK  bool
	txUsed   bool
	asyncSet bool
	// pendingDelete defers Delete to Done, which then sends the DELETE with
	// the COMMIT (adapter.PipelineTx) while Tx is unused.
	pendingDelete bool
	// deleted records a Delete, which Error must undo (see Error).
	deleted bool

	// Set for jobs of a batch (WithPoolBatchSize) only.
	batch     *batch
	holdsTx   bool
	createdAt time.Time
}

// Context returns the job's context: for a job run by a Worker, the worker's
// context, which stays alive through a graceful shutdown and is cancelled
// when the shutdown grace period runs out (a WorkFunc should then return);
// for a job from LockJob, the context given to LockJob. Never nil.
func (j *Job) Context() context.Context {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ctx == nil {
		return context.Background()
	}
	return j.ctx
}

// Tx returns the transaction that holds the job's lock, so a WorkFunc can
// make its own writes atomic with the job's completion: they commit together
// with Delete+Done and are rolled back by Error or by a crash. Nil for a job
// that was not locked (built by hand or enqueued).
//
// The first call takes a savepoint in the transaction, which is what lets
// Error undo the WorkFunc's writes while still recording the failure.
func (j *Job) Tx() adapter.Tx {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.tx == nil || j.finished {
		return j.tx
	}
	if j.batch != nil {
		return j.batchTx()
	}
	j.txUsed = true
	if err := j.flushDelete(j.context()); err != nil {
		return j.tx // the caller sees the aborted transaction
	}
	if j.asyncSet {
		// Writes may now join the deletion; they must be as durable as the
		// caller's own transactions.
		if _, err := j.tx.Exec(j.context(), "SET LOCAL synchronous_commit TO DEFAULT"); err == nil {
			j.asyncSet = false
		}
	}
	if !j.savepoint {
		// An error leaves the transaction aborted, which the caller sees on
		// its first statement; Error then falls back to a fresh statement.
		if _, err := j.tx.Exec(j.context(), "SAVEPOINT "+savepointName); err == nil {
			j.savepoint = true
		}
	}
	return j.tx
}

// givenRunAt is the RunAt the caller asked for: zero when RunAt is still the
// time a previous Enqueue of this struct filled in.
func (j *Job) givenRunAt() time.Time {
	if !j.filledRunAt.IsZero() && j.RunAt.Equal(j.filledRunAt) {
		return time.Time{}
	}
	return j.RunAt
}

// context returns the context for the job's own statements; callers hold mu.
func (j *Job) context() context.Context {
	if j.ctx == nil {
		return context.Background()
	}
	return context.WithoutCancel(j.ctx)
}

// Delete deletes the job's row inside its transaction. The deletion takes
// effect when Done commits; until then nothing else can see or lock the job.
// With an adapter that implements adapter.Pipeliner, the DELETE statement is
// sent together with Done's COMMIT (one round trip instead of two) unless Tx
// is called in between; an error of the deletion is then Done's.
func (j *Job) Delete(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	if j.batch != nil {
		return nil // deleted by the statement that locked the batch
	}
	if err := j.releaseSavepoint(ctx); err != nil {
		return fmt.Errorf("gue: delete job %d: %w", j.ID, err)
	}
	if _, ok := j.tx.(adapter.PipelineTx); ok && !j.txUsed {
		j.pendingDelete, j.deleted = true, true
		return nil
	}
	stmt := j.deleteStmt()
	if _, err := j.tx.Exec(ctx, stmt, j.Queue, j.ID); err != nil {
		return fmt.Errorf("gue: delete job %d: %w", j.ID, err)
	}
	j.asyncSet = stmt == j.q.deleteAsync
	j.deleted = true
	return nil
}

// Done commits the job's transaction, releasing its lock and making Delete
// (and anything written through Tx) permanent. It is safe to call more than
// once: later calls, and calls after Error, return nil. If a deletion sent
// with the commit fails (see Delete), the job stays and the failure is
// recorded on it as Error would, so that it is retried after its backoff.
func (j *Job) Done(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.tx == nil || j.finished {
		return nil
	}
	j.finished = true
	if j.batch != nil { // the batch commits once all its jobs are finished
		err := j.batchFinish(ctx, true)
		if err != nil {
			// Charged to this job: its statement through Tx failed (the
			// batch goes on) or broke the shared transaction (the batch
			// fails, and this failure is recorded on a fresh connection).
			msg := sanitizeText(err.Error())
			j.batch.addFailed(j.row(), msg, j.backoff(int(j.ErrorCount)+1), err)
			j.recordFailure(msg)
			return fmt.Errorf("gue: job %d: %w", j.ID, err)
		}
		return nil
	}
	if j.pendingDelete {
		j.pendingDelete = false
		if err := j.tx.(adapter.PipelineTx).ExecCommit(ctx, j.deleteStmt(), j.Queue, j.ID); err != nil {
			err = fmt.Errorf("gue: delete and commit job %d: %w", j.ID, err)
			// As when a Delete of its own fails: the job stays, and the
			// failure is recorded on a fresh connection so that the job is
			// not retried at once with no trace of why. Harmless if the
			// commit went through after all: no row is left to update.
			_ = j.failFresh(ctx, sanitizeText(err.Error()), max(j.backoff(int(j.ErrorCount)+1), 0))
			return err
		}
		return nil
	}
	if err := j.tx.Commit(ctx); err != nil {
		return fmt.Errorf("gue: commit job %d: %w", j.ID, err)
	}
	return nil
}

// Error records a failure and ends the job's transaction: msg is stored as
// LastError, ErrorCount is incremented and RunAt moves to now plus the
// Client's Backoff for the new error count. Writes made through Tx are
// rolled back (to the savepoint Tx took), the rest commits. Calling Done
// afterwards is not needed and returns nil.
//
// Error after Delete (and before Done) undoes the Delete: the whole
// transaction is rolled back, with every write made through Tx, and the
// failure is recorded on the job, which stays in the queue.
func (j *Job) Error(ctx context.Context, msg string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	if j.deleted && j.batch == nil {
		j.finished, j.pendingDelete = true, false
		msg = sanitizeText(msg)
		_ = j.tx.Rollback(context.WithoutCancel(ctx))
		if err := j.failFresh(ctx, msg, max(j.backoff(int(j.ErrorCount)+1), 0)); err != nil {
			return fmt.Errorf("gue: record error of job %d: %w", j.ID, err)
		}
		return nil
	}
	// A failed flush leaves the transaction aborted, which the fallback
	// below handles like any other.
	_ = j.flushDelete(ctx)
	j.finished = true
	msg = sanitizeText(msg)
	delay := j.backoff(int(j.ErrorCount) + 1)
	if delay < 0 {
		delay = 0
	}
	if j.batch != nil {
		err := j.batchFinish(ctx, false)
		j.batch.addFailed(j.row(), msg, delay, err)
		j.recordFailure(msg)
		return err
	}
	err := j.failInTx(ctx, msg, delay)
	if err == nil {
		if err = j.tx.Commit(ctx); err == nil {
			j.recordFailure(msg)
			return nil
		}
	}
	// The transaction is unusable (aborted by a failed statement of the
	// WorkFunc, or its connection is gone). Roll it back, which releases the
	// lock, and record the failure in a statement of its own so the job is
	// not retried at once with no trace of why.
	_ = j.tx.Rollback(context.WithoutCancel(ctx))
	if err2 := j.failFresh(ctx, msg, delay); err2 != nil {
		return fmt.Errorf("gue: record error of job %d: %w", j.ID, errors.Join(err, err2))
	}
	return nil
}

// failFresh records a failure on the job in a statement of its own, outside
// the job's transaction (which has ended or is unusable).
func (j *Job) failFresh(ctx context.Context, msg string, delay time.Duration) error {
	if j.pool == nil {
		return errors.New("no pool to record it through")
	}
	if _, err := j.pool.Exec(ctx, j.q.fail, j.Queue, j.ID, delay.Microseconds(), msg); err != nil {
		return err
	}
	j.recordFailure(msg)
	return nil
}

// deleteStmt is the DELETE of the job: one that commits asynchronously
// while that is allowed and the transaction holds no writes through Tx.
func (j *Job) deleteStmt() string {
	if j.asyncOK && !j.txUsed {
		return j.q.deleteAsync
	}
	return j.q.delete
}

func (j *Job) failInTx(ctx context.Context, msg string, delay time.Duration) error {
	if j.savepoint {
		if _, err := j.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepointName); err != nil {
			return err
		}
		if err := j.releaseSavepoint(ctx); err != nil {
			return err
		}
	}
	_, err := j.tx.Exec(ctx, j.q.fail, j.Queue, j.ID, delay.Microseconds(), msg)
	return err
}

// flushDelete runs a Delete that was deferred to Done, for callers that use
// the transaction before that. Callers hold mu.
func (j *Job) flushDelete(ctx context.Context) error {
	if !j.pendingDelete {
		return nil
	}
	j.pendingDelete = false
	_, err := j.tx.Exec(ctx, j.q.delete, j.Queue, j.ID)
	return err
}

// releaseSavepoint ends the savepoint Tx took, if any, so the job's row is
// changed by the transaction that locked it. Changing it from inside the
// savepoint's subtransaction would make PostgreSQL record the lock and the
// change as a MultiXact, whose SLRU contention cuts throughput several times
// over with many workers. Callers hold mu.
func (j *Job) releaseSavepoint(ctx context.Context) error {
	if !j.savepoint {
		return nil
	}
	if _, err := j.tx.Exec(ctx, "RELEASE SAVEPOINT "+savepointName); err != nil {
		return err
	}
	j.savepoint = false
	return nil
}

func (j *Job) recordFailure(msg string) {
	j.ErrorCount++
	j.LastError = sql.NullString{String: msg, Valid: true}
}

// usable reports whether the job still holds an open transaction; callers
// hold mu.
func (j *Job) usable() error {
	if j.tx == nil {
		return fmt.Errorf("gue: job %d was not locked: %w", j.ID, adapter.ErrTxClosed)
	}
	if j.finished {
		return fmt.Errorf("gue: job %d: %w: %w", j.ID, ErrJobFinished, adapter.ErrTxClosed)
	}
	return nil
}

// rollback ends the transaction without recording anything, returning the
// job to its queue as it was; used when a worker is stopped hard.
func (j *Job) rollback(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rollbackLocked(ctx)
}

// rollbackLocked is rollback for callers that hold mu.
func (j *Job) rollbackLocked(ctx context.Context) error {
	if j.tx == nil || j.finished {
		return nil
	}
	j.finished = true
	if j.batch != nil {
		err := j.batchFinish(ctx, false)
		r := j.row()
		runAt := j.RunAt
		r.RunAt = &runAt
		j.batch.add(r)
		return err
	}
	return j.tx.Rollback(ctx)
}

// abandon returns a batch job whose handler is still running to the queue,
// as rollback does, and reports whether it did: not for a finished job, nor
// for one whose handler holds the batch's transaction (it may be using the
// connection at this very moment) or is inside one of the job's methods.
func (j *Job) abandon(ctx context.Context) bool {
	if !j.mu.TryLock() {
		return false
	}
	defer j.mu.Unlock()
	if j.tx == nil || j.finished || j.holdsTx {
		return false
	}
	return j.rollbackLocked(ctx) == nil
}

// sanitizeText makes s storable as PostgreSQL text, which rejects NUL bytes
// and invalid UTF-8; an error message must never be lost to its own bytes.
func sanitizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\\0")
}
