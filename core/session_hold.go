package gue

import (
	"context"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// sessionHold holds a job by a session-level advisory lock of its pool's
// lock connection (session mode, WithPoolSessionLocks): no transaction is
// open while the job runs, until its handler calls Job.Tx. Each ending is
// one statement that proves the lock is still held by the connection that
// took it (sqlq.Session), in the job's transaction when Tx opened one,
// otherwise on its own; then the lock is given back.
type sessionHold struct {
	held  // tx is nil until Job.Tx opens it
	locks *sessionLocks
	gen   uint64 // the lock connection that holds the job
	// holder names its server session for the endings (sqlq's
	// SessionHolder), which prove the lock by it.
	holder string
	// deleted: del ran; sent: its DELETE ran in the job's transaction
	// (otherwise done sends it).
	deleted, sent bool
}

// newSessionHold returns a holdMaker for jobs of locks.
func newSessionHold(locks *sessionLocks) holdMaker {
	return func(h held, gen uint64, holder string) hold {
		return &sessionHold{held: h, locks: locks, gen: gen, holder: holder}
	}
}

// lost reports a lock connection lost between the lock statement and the
// job's start: the loss cancelled the jobs in flight, and this one was
// not yet.
func (h *sessionHold) lost() error {
	if h.locks.holds(h.gen) {
		return nil
	}
	return errLostEarly
}

// end ends the job as e says (see hold.end) and gives back its lock.
func (h *sessionHold) end(ctx context.Context, j *Job, e ending) (settled, error) {
	s, err := endBy(ctx, h, j, e)
	h.locks.release(j.ID, h.gen)
	return s, err
}

// tx opens the job's transaction on the first call: on a connection of the
// pool, held from then on until the job ends.
func (h *sessionHold) tx(ctx context.Context, _ *Job) adapter.Tx {
	if h.held.tx == nil {
		tx, err := h.pool.Begin(ctx)
		if err != nil {
			tx = failedTx{fmt.Errorf("gue: begin the job's transaction: %w", err)}
		}
		h.held.tx = tx
	}
	return h.held.tx
}

func (h *sessionHold) del(ctx context.Context, j *Job) error {
	h.deleted = true
	if h.held.tx == nil || h.sent {
		return nil // sent by done: on its own, or in a transaction Tx opens later
	}
	return h.sendDelete(ctx, j)
}

// sendDelete runs the job's DELETE in its transaction.
func (h *sessionHold) sendDelete(ctx context.Context, j *Job) error {
	if err := h.exec(ctx, h.held.tx, h.stmts.SessionDelete, j.Queue, j.ID, h.holder); err != nil {
		return fmt.Errorf("gue: delete job %d: %w", j.ID, err)
	}
	h.sent = true
	return nil
}

// exec runs stmt, an ending that proves the lock, on q: an error wrapping
// ErrLockLost when it changed no row, or when this process knows the lock
// is gone already (no statement is sent then).
func (h *sessionHold) exec(ctx context.Context, q adapter.Queryable, stmt string, args ...any) error {
	if !h.locks.holds(h.gen) {
		return errLost
	}
	tag, err := q.Exec(ctx, stmt, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errLost
	}
	return nil
}

func (h *sessionHold) done(ctx context.Context, j *Job) (settled, error) {
	if h.held.tx != nil {
		if h.deleted && !h.sent {
			if err := h.sendDelete(ctx, j); err != nil {
				h.rollbackTx(ctx)
				return settled{}, err
			}
		}
		if err := h.held.tx.Commit(ctx); err != nil {
			return settled{}, fmt.Errorf("gue: commit job %d: %w", j.ID, err)
		}
		return settled{}, nil
	}
	if !h.deleted {
		return settled{}, nil // Done without Delete: the job stays, unlocked
	}
	// Grouped with the other jobs done meanwhile (sessionCompleter).
	err := errLost
	if h.locks.holds(h.gen) {
		err = h.locks.completer.complete(j.Queue, j.ID, h.holder)
	}
	if err != nil {
		return settled{}, fmt.Errorf("gue: delete job %d: %w", j.ID, err)
	}
	return settled{}, nil
}

func (h *sessionHold) fail(ctx context.Context, j *Job, msg string) (settled, error) {
	if h.lastAttempt(j) {
		return h.die(ctx, j, msg, ReasonMaxAttempts)
	}
	h.rollbackTx(ctx)
	delay := h.nextDelay(j)
	if err := h.exec(ctx, h.pool, h.stmts.SessionFail, j.Queue, j.ID, delay.Microseconds(), msg, h.holder); err != nil {
		return settled{}, fmt.Errorf("gue: record error of job %d: %w", j.ID, err)
	}
	return failedWith(msg, delay), nil
}

func (h *sessionHold) die(ctx context.Context, j *Job, msg, reason string) (settled, error) {
	h.rollbackTx(ctx)
	if err := h.exec(ctx, h.pool, h.stmts.SessionDie, j.Queue, j.ID, 1, msg, reason, h.holder); err != nil {
		return settled{}, fmt.Errorf("gue: move job %d to the dead jobs (%s): %w", j.ID, reason, err)
	}
	return settled{failed: true, msg: msg, died: reason}, nil
}

// snooze keeps the job's writes: the rescheduling commits with them.
func (h *sessionHold) snooze(ctx context.Context, j *Job, d time.Duration) (settled, error) {
	if h.sent {
		// A Delete before the snooze: undone, with the writes it came with.
		h.rollbackTx(ctx)
		h.held.tx, h.sent = nil, false
	}
	q := adapter.Queryable(h.pool)
	if h.held.tx != nil {
		q = h.held.tx
	}
	err := h.exec(ctx, q, h.stmts.SessionSnooze, j.Queue, j.ID, d.Microseconds(), h.holder)
	if err == nil && h.held.tx != nil {
		err = h.held.tx.Commit(ctx)
	}
	if err != nil {
		h.rollbackTx(ctx)
		return settled{}, fmt.Errorf("gue: snooze job %d: %w", j.ID, err)
	}
	return settled{retryAt: time.Now().Add(d)}, nil
}

func (h *sessionHold) rollback(ctx context.Context, _ *Job) error {
	h.rollbackTx(ctx)
	return nil
}

// rollbackTx undoes the handler's writes, if it made any through Tx.
func (h *sessionHold) rollbackTx(ctx context.Context) {
	if h.held.tx != nil {
		_ = h.held.tx.Rollback(context.WithoutCancel(ctx))
	}
}

// failedTx is the transaction of a job whose BEGIN failed: every call
// returns that error.
type failedTx struct{ err error }

func (f failedTx) Exec(context.Context, string, ...any) (adapter.CommandTag, error) {
	return nil, f.err
}
func (f failedTx) QueryRow(context.Context, string, ...any) adapter.Row        { return errRow{f.err} }
func (f failedTx) Query(context.Context, string, ...any) (adapter.Rows, error) { return nil, f.err }
func (f failedTx) Commit(context.Context) error                                { return f.err }
func (f failedTx) Rollback(context.Context) error                              { return nil }

// errRow is a Row whose Scan returns err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
