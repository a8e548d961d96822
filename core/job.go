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
	// MaxAttempts is how many failed runs the job may have: the failure
	// that reaches it moves the job to the dead table (gue_jobs_dead, reason
	// max_attempts) instead of rescheduling it. 0 means the Client's
	// (WithClientMaxAttempts), whose default 0 means no limit.
	MaxAttempts int32
	// UniqueKey, when not empty, makes the job unique in its queue: while a
	// live job (queued, running, or waiting to retry) of the queue has the
	// key, enqueueing another writes nothing and returns an error wrapping
	// ErrDuplicateJob, with ID set to the live job's. A job that is done or
	// dead frees its key. At most MaxUniqueKeyLen bytes of UTF-8.
	UniqueKey string

	// filledRunAt is the RunAt that Enqueue filled in for a zero RunAt: the
	// same struct enqueued again gets a fresh one, not the old time.
	filledRunAt time.Time

	mu       sync.Mutex
	ctx      context.Context
	finished bool
	// ended is how the job's run ended, as applied (see endRun): the
	// worker reads it after the Work hooks, which pass on only an error.
	ended ending
	// hold is how the job is held until it ends, chosen when it was
	// locked; nil for a job that was not locked.
	hold hold
	// onHandled, when set, is called once the job's handler has returned
	// (or will not run), before its ending is written (see handled).
	onHandled func()
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
// with Delete+Done and are rolled back by Error or by a crash.
//
// It returns nil for a job that was not locked (built by hand or enqueued)
// and, as in gue v2, once the job's transaction has ended: after Done, and
// after Error (which ends it too), so j.Tx() == nil tells a finished job.
//
// The first call takes a savepoint in the transaction, which is what lets
// Error undo the WorkFunc's writes while still recording the failure.
func (j *Job) Tx() adapter.Tx {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.hold == nil || j.finished {
		return nil
	}
	return j.hold.tx(j.context(), j)
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
// With some adapters (those that pipeline: see the capability table in
// docs/modules.md) the deletion is sent with Done's COMMIT unless Tx is
// called in between, and an error of the deletion is then returned by Done.
func (j *Job) Delete(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.usable(); err != nil {
		return err
	}
	return j.hold.del(ctx, j)
}

// Done commits the job's transaction, releasing its lock and making Delete
// (and anything written through Tx) permanent. It is safe to call more than
// once: later calls, and calls after Error, return nil. If a deletion sent
// with the commit fails (see Delete), the job stays and the failure is
// recorded on it as Error would, so that it is retried after its backoff.
func (j *Job) Done(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.hold == nil || j.finished {
		return nil
	}
	j.finished = true
	s, err := j.hold.end(ctx, j, ending{outcome: OutcomeDone})
	j.take(s)
	j.ended.next = s.next // a WorkFunc that ended its job itself: its worker still reads the lock sent ahead
	return err
}

// Error records a failure and ends the job's transaction: msg is stored as
// LastError, ErrorCount is incremented and RunAt moves to the time of the
// failure plus the Client's Backoff for the new error count. Writes made
// through Tx are rolled back (to the savepoint Tx took), the rest commits.
// Calling Done afterwards is not needed and returns nil.
//
// Error after Delete (and before Done) undoes the Delete: the whole
// transaction is rolled back, with every write made through Tx, and the
// failure is recorded on the job, which stays in the queue.
func (j *Job) Error(ctx context.Context, msg string) error {
	_, err := j.endRun(ctx, ending{outcome: OutcomeError, cause: errors.New(msg), msg: msg})
	return err
}

// usable reports whether the job still holds an open transaction; callers
// hold mu.
func (j *Job) usable() error {
	if j.hold == nil {
		return fmt.Errorf("gue: job %d was not locked: %w", j.ID, adapter.ErrTxClosed)
	}
	if j.finished {
		return fmt.Errorf("gue: job %d: %w: %w", j.ID, ErrJobFinished, adapter.ErrTxClosed)
	}
	return nil
}

// sanitizeText makes s storable as PostgreSQL text, which rejects NUL bytes
// and invalid UTF-8; an error message must never be lost to its own bytes.
func sanitizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\\0")
}
