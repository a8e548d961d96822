package gue

import (
	"context"
	"errors"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/sqlq"
)

// finisher is how a locked job's transaction ends. It is chosen once, when
// the job is locked: soloTx (finish_solo.go) for a job in a transaction of
// its own, plain or pipelined; batchMember (batch.go) for a job that shares
// a batch's transaction. A way for a job to end is written once per
// finisher, and Job only says which one runs.
//
// Job calls each method with its mu held: tx and del while the job is
// unfinished, and one of the others once, as the job's last call. A
// finisher writes to the database only: it reports what it wrote (settled),
// and the Job records that on itself.
type finisher interface {
	// tx readies the transaction for the handler's own writes and
	// returns it.
	tx(ctx context.Context, j *Job) adapter.Tx
	// del deletes the job inside its transaction, or notes the deletion
	// for done to send.
	del(ctx context.Context, j *Job) error
	// done commits the deletion and the handler's writes.
	done(ctx context.Context, j *Job) (settled, error)
	// fail rolls back the handler's writes, records msg on the job,
	// reschedules it after its Backoff and ends the transaction.
	fail(ctx context.Context, j *Job, msg string) (settled, error)
	// rollback ends the transaction with the job as it was locked.
	rollback(ctx context.Context, j *Job) error
	// die rolls back the handler's writes and moves the job to the dead
	// table for reason, counting the run as a failure with msg.
	die(ctx context.Context, j *Job, msg, reason string) (settled, error)
	// snooze keeps the handler's writes and reschedules the job after d,
	// counting nothing.
	snooze(ctx context.Context, j *Job, d time.Duration) (settled, error)
}

// held is what every finisher holds: the job's transaction and what it takes
// to end it.
type held struct {
	tx      adapter.Tx
	pool    adapter.ConnPool // records a failure outside the transaction
	stmts   *sqlq.Set        // the endings (queries.endings), in the schema's dialect
	backoff Backoff
	// maxAttempts is the Client's, for jobs whose MaxAttempts is 0.
	maxAttempts int32
}

// lastAttempt reports whether the job's next failure reaches its limit.
func (h *held) lastAttempt(j *Job) bool {
	limit := j.MaxAttempts
	if limit == 0 {
		limit = h.maxAttempts
	}
	return limit > 0 && j.ErrorCount+1 >= limit
}

// nextDelay is how long the job waits after its next failure.
func (h *held) nextDelay(j *Job) time.Duration {
	return max(h.backoff(int(j.ErrorCount)+1), 0)
}

// failFresh records a failure on the job in a statement of its own, outside
// the job's transaction (which has ended or is unusable).
func (h *held) failFresh(ctx context.Context, j *Job, msg string, delay time.Duration) (settled, error) {
	if h.pool == nil {
		return settled{}, errors.New("no pool to record it through")
	}
	if _, err := h.pool.Exec(ctx, h.stmts.Fail, j.Queue, j.ID, delay.Microseconds(), msg); err != nil {
		return settled{}, err
	}
	return failedWith(msg, delay), nil
}

// savepointName marks the state of a job's transaction right after the job
// was locked; a failure rolls back to it so the handler's writes are undone.
const savepointName = "gue_job"
