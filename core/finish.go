package gue

import (
	"context"
	"errors"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/sqlq"
)

// hold is how a locked job is held until it ends. It is chosen once, when
// the job is locked: soloTx (finish_solo.go) for a job in a transaction of
// its own, plain or pipelined; batchMember (batch_member.go) for a job that
// shares a batch's transaction. Job only says which ending applies; how it
// is written is the hold's.
//
// Job calls each method with its mu held: tx and del while the job is
// unfinished, and end once, as the job's last call. A hold writes to the
// database only: it reports what it wrote (settled), and the Job records
// that on itself.
type hold interface {
	// tx readies the transaction for the handler's own writes and
	// returns it.
	tx(ctx context.Context, j *Job) adapter.Tx
	// del deletes the job inside its transaction, or notes the deletion
	// for end to send.
	del(ctx context.Context, j *Job) error
	// end ends the job as e says: OutcomeDone commits the deletion (if del
	// ran) and the handler's writes; OutcomeReturned lets the job go as
	// it was locked; OutcomeSnoozed keeps the handler's writes and
	// reschedules the job after e.delay, counting nothing; an ending with
	// a reason rolls back the handler's writes and moves the job to the
	// dead jobs, counting a failure with e.msg; any other rolls them back,
	// records the failure and reschedules the job after its Backoff (or
	// moves it to the dead jobs at its maximum attempts).
	end(ctx context.Context, j *Job, e ending) (settled, error)
	// lost reports a lock the job lost before it started: the slot asks
	// once the job is in flight (from then on, a loss cancels it), and
	// cancels it with the error.
	lost() error
}

// txEnds are the ways a job held by a transaction ends, one per kind of
// ending, which endBy chooses among.
type txEnds interface {
	done(ctx context.Context, j *Job) (settled, error)
	fail(ctx context.Context, j *Job, msg string) (settled, error)
	rollback(ctx context.Context, j *Job) error
	die(ctx context.Context, j *Job, msg, reason string) (settled, error)
	snooze(ctx context.Context, j *Job, d time.Duration) (settled, error)
}

// endBy ends j as e says through the ending of h that e names (see
// hold.end).
func endBy(ctx context.Context, h txEnds, j *Job, e ending) (settled, error) {
	switch {
	case e.outcome == OutcomeDone:
		return h.done(ctx, j)
	case e.outcome == OutcomeReturned:
		return settled{}, h.rollback(ctx, j)
	case e.outcome == OutcomeSnoozed:
		return h.snooze(ctx, j, e.delay)
	case e.reason != "":
		return h.die(ctx, j, sanitizeText(e.msg), e.reason)
	default:
		return h.fail(ctx, j, sanitizeText(e.msg))
	}
}

// held is what every hold of a transaction has: the job's transaction and what it takes
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
