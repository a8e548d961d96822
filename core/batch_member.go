package gue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// batchMember finishes a job that shares a batch's transaction
// (WithPoolBatchSize). Its ending is queued on the batch, which writes the
// endings of all its jobs before its single commit (see batch.finish); a
// job returned untouched needs nothing: the commit releases its lock.
type batchMember struct {
	held
	b *batch
	// holdsTx: the job called Tx and holds the shared transaction (b.txMu),
	// inside a savepoint of its own, until it finishes.
	holdsTx   bool
	savepoint bool
	// deleted: Delete was called; done queues the deletion.
	deleted   bool
	createdAt time.Time
}

// errTxFailed is the failure charged to a job of a batch whose statements
// through Job.Tx failed although its WorkFunc returned nil.
var errTxFailed = errors.New("a statement through Job.Tx failed; the job's writes were rolled back")

// lost: the batch's transaction holds the job until the batch ends.
func (*batchMember) lost() error { return nil }

// end queues the job's ending on its batch (see hold.end).
func (m *batchMember) end(ctx context.Context, j *Job, e ending) (settled, error) {
	return endBy(ctx, m, j, e)
}

// tx waits for the shared transaction and takes a savepoint of the job's own.
func (m *batchMember) tx(ctx context.Context, _ *Job) adapter.Tx {
	if !m.holdsTx {
		m.b.txMu.Lock()
		m.holdsTx = true
		m.b.txUsed.Store(true) // the job's writes wait for the flush (see batch.finish)
		if _, err := m.held.tx.Exec(ctx, "SAVEPOINT "+savepointName); err == nil {
			m.savepoint = true
		}
	}
	return m.held.tx
}

// del notes the deletion, which the batch sends once its jobs are done.
func (m *batchMember) del(context.Context, *Job) error {
	m.deleted = true
	return nil
}

// done keeps the job's writes. One whose statements through Tx failed is
// charged alone; one that broke the shared transaction is charged too (on a
// fresh connection, once the batch has failed: see batch.recordFailures).
func (m *batchMember) done(ctx context.Context, j *Job) (settled, error) {
	err := m.release(ctx, true)
	if err == nil {
		if m.deleted {
			m.b.addDeleted(j.ID)
		}
		return settled{}, nil
	}
	return m.charge(j, err)
}

// charge queues the failure of a job whose statements through Tx failed.
func (m *batchMember) charge(j *Job, err error) (settled, error) {
	msg := sanitizeText(err.Error())
	delay := m.nextDelay(j)
	m.b.addFailed(m.updateRow(j), msg, delay, err)
	return failedWith(msg, delay), fmt.Errorf("gue: job %d: %w", j.ID, err)
}

func (m *batchMember) fail(ctx context.Context, j *Job, msg string) (settled, error) {
	if m.lastAttempt(j) {
		return m.die(ctx, j, msg, ReasonMaxAttempts)
	}
	delay := m.nextDelay(j)
	err := m.release(ctx, false)
	m.b.addFailed(m.updateRow(j), msg, delay, err)
	return failedWith(msg, delay), err
}

// die queues the job for the dead table, which the batch writes before its
// commit.
func (m *batchMember) die(ctx context.Context, j *Job, msg, reason string) (settled, error) {
	err := m.release(ctx, false)
	m.b.addDead(m.deadRow(j, reason), msg, err)
	return settled{failed: true, msg: msg, died: reason}, err
}

// snooze keeps the job's writes and queues it to run again after d, its
// error count and last error as they were. A job whose statements through
// Tx failed cannot keep them: it is charged with that failure instead.
func (m *batchMember) snooze(ctx context.Context, j *Job, d time.Duration) (settled, error) {
	if err := m.release(ctx, true); err != nil {
		return m.charge(j, err)
	}
	r := m.updateRow(j)
	r.DelayUS = max(d, 0).Microseconds()
	m.b.addSnoozed(r)
	return settled{retryAt: time.Now().Add(d)}, nil
}

// rollback returns the job to the queue as it was locked: there is nothing
// to write, the batch's commit releases its lock.
func (m *batchMember) rollback(ctx context.Context, _ *Job) error {
	return m.release(ctx, false)
}

// release ends the job's use of the shared transaction: its savepoint is
// released (keep is true) or rolled back, and the transaction handed on.
//
// A savepoint that cannot be released because a statement of the job's
// failed (the handler ignored the error and returned nil) is rolled back
// instead, which heals the shared transaction: the job alone pays, with an
// error wrapping errTxFailed, and the rest of the batch commits.
func (m *batchMember) release(ctx context.Context, keep bool) error {
	var err error
	if m.savepoint {
		tx := m.held.tx
		if keep {
			if _, err = tx.Exec(ctx, "RELEASE SAVEPOINT "+savepointName); err != nil {
				cause := err
				if _, err = tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepointName); err == nil {
					_, err = tx.Exec(ctx, "RELEASE SAVEPOINT "+savepointName)
				}
				if err == nil {
					err = fmt.Errorf("%w: %w", errTxFailed, cause)
				}
			}
		} else if _, err = tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepointName); err == nil {
			_, err = tx.Exec(ctx, "RELEASE SAVEPOINT "+savepointName)
		}
		m.savepoint = false
	}
	if m.holdsTx {
		m.holdsTx = false
		m.b.txMu.Unlock()
	}
	return err
}

// updateRow returns the job's failures as they were locked, to reschedule.
func (m *batchMember) updateRow(j *Job) updateRow {
	r := updateRow{JobID: j.ID, ErrorCount: j.ErrorCount}
	if j.LastError.Valid {
		msg := j.LastError.String
		r.LastError = &msg
	}
	return r
}

// deadRow returns the job as it was locked, for the dead table.
func (m *batchMember) deadRow(j *Job, reason string) deadRow {
	r := deadRow{JobID: j.ID, Queue: j.Queue, Priority: j.Priority, RunAt: j.RunAt, JobType: j.Type,
		Args: string(j.Args), ErrorCount: j.ErrorCount, CreatedAt: m.createdAt, MaxAttempts: j.MaxAttempts, Reason: reason}
	if j.Metadata != nil {
		r.Metadata, _ = json.Marshal(j.Metadata) // a map of strings always marshals
	}
	if j.UniqueKey != "" {
		key := j.UniqueKey
		r.UniqueKey = &key
	}
	if j.LastError.Valid {
		msg := j.LastError.String
		r.LastError = &msg
	}
	return r
}

// abandon returns a job whose handler is still running to the queue, as
// rollback does, and reports whether it did: not for a finished job, nor for
// one whose handler holds the batch's transaction (it may be using the
// connection at this very moment) or is inside one of the job's methods.
func abandon(ctx context.Context, j *Job) bool {
	if !j.mu.TryLock() {
		return false
	}
	defer j.mu.Unlock()
	m, ok := j.hold.(*batchMember)
	if !ok || j.finished || m.holdsTx {
		return false
	}
	_, err := j.endLocked(ctx, ending{outcome: OutcomeReturned})
	return err == nil
}
