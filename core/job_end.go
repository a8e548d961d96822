package gue

import (
	"context"
	"database/sql"
)

// endRun ends the job as e says, in one call, and returns e as applied (see
// ending.as) with the error that kept it from being written, if any. The
// job's own fields take what the hold wrote.
func (j *Job) endRun(ctx context.Context, e ending) (ending, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.endLocked(ctx, e)
}

// endLocked is endRun for callers that hold mu.
func (j *Job) endLocked(ctx context.Context, e ending) (ending, error) {
	if err := j.usable(); err != nil {
		// Nothing was written; a job that ended before (its WorkFunc ended
		// it itself, say) keeps the ending it had.
		e = failure(err)
		if j.ended.outcome == "" {
			e.next = j.ended.next // sent by a Done of its own
			j.ended = e
		}
		return e, err
	}
	if e.outcome == OutcomeDone {
		if err := j.hold.del(ctx, j); err != nil {
			// The job stays, with the failure to delete it recorded.
			return j.endLocked(ctx, failure(err))
		}
	}
	j.finished = true
	s, err := j.hold.end(ctx, j, e)
	j.take(s)
	j.ended = e.as(s, err)
	return j.ended, err
}

// take records on the job what its hold wrote.
func (j *Job) take(s settled) {
	if s.failed {
		j.ErrorCount++
		j.LastError = sql.NullString{String: s.msg, Valid: true}
	}
}

// rollback ends the transaction without recording anything, returning the
// job to its queue as it was; used when a worker is stopped hard.
func (j *Job) rollback(ctx context.Context) error {
	_, err := j.endRun(ctx, ending{outcome: OutcomeReturned})
	return err
}

// runEnding is how the job's run ended; a job its Work hooks never ran is
// returned to the queue here, so that its transaction does not stay open.
func (j *Job) runEnding(ctx context.Context) (e ending, skipped bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.finished {
		// Written even when the job's context is cancelled: only its
		// values are passed on.
		e, _ = j.endLocked(context.WithoutCancel(ctx), ending{outcome: OutcomeReturned})
		return e, true
	}
	return j.ended, false
}

// handled calls the job's onHandled, once: its handler has returned, or
// will not run. The job's goroutine calls it, after the handler in run and
// again once the run is over, for a run its Work hooks left out.
func (j *Job) handled() {
	if f := j.onHandled; f != nil {
		j.onHandled = nil
		f()
	}
}
