package gue

import (
	"errors"
	"fmt"
	"time"
)

// ending is how one run of a job ends. The worker decides it once, from
// what the WorkFunc returned and why its context ended (decide); the job
// applies it in one call (Job.endRun), which returns it as applied; and the
// Work hooks see it as the error a RunFunc returns (err), which OutcomeOf
// classifies back to the same outcome. Nothing decodes an outcome from an
// error inside the engine.
type ending struct {
	outcome Outcome
	// cause is what the WorkFunc returned, or what kept the ending from
	// being written; nil for a job that is done.
	cause error
	// msg is the failure recorded on the job as its LastError, for the
	// outcomes that record one.
	msg string
	// reason is the dead table's reason, for a job that goes there.
	reason string
	// delay is how long a snoozed job waits.
	delay time.Duration
	// retryAt is when the job runs again by this process's clock, once a
	// failure or a snooze is written; zero otherwise. The worker's due timer
	// wakes for it.
	retryAt time.Time
	// cancelIgnored: the job was cancelled but its WorkFunc returned nil,
	// so it completes normally.
	cancelIgnored bool
	// next is the lock of the worker's next job, sent with this job's
	// commit (see soloTx.commitDelete), for the worker's loop to read; nil
	// when none was sent.
	next *pendingLock
}

// decide is the ending of a run whose WorkFunc returned err, in a context
// that ended for cause (nil while it runs), under a worker whose jobs time
// out after timeout.
func decide(err, cause error, timeout time.Duration) ending {
	stopped, cancelled := errors.Is(cause, ErrWorkerStopped), errors.Is(cause, ErrCancelled)
	switch d, snooze := snoozed(err); {
	case errors.Is(cause, ErrLockLost):
		// Whatever the WorkFunc returned: with the lock gone, no ending
		// may be written (see ErrLockLost).
		return ending{outcome: OutcomeReturned, cause: cause}
	case err == nil:
		return ending{outcome: OutcomeDone, cancelIgnored: cancelled}
	case stopped:
		// Stopped hard: the job did not finish through no fault of its
		// own, so it goes back to the queue untouched.
		return ending{outcome: OutcomeReturned, cause: err}
	case cancelled:
		return ending{outcome: OutcomeCancelled, cause: err, msg: err.Error(), reason: ReasonCancelled}
	case snooze:
		return ending{outcome: OutcomeSnoozed, cause: err, delay: d}
	case errors.Is(err, ErrDiscard):
		return ending{outcome: OutcomeDiscarded, cause: err, msg: err.Error(), reason: ReasonDiscarded}
	}
	if p := asPanic(err); p != nil {
		return ending{outcome: OutcomePanic, cause: err, msg: p.Error()}
	}
	if errors.Is(cause, ErrJobTimeout) {
		return ending{outcome: OutcomeError, cause: err, msg: fmt.Sprintf("%v after %s: %s", ErrJobTimeout, timeout, err)}
	}
	return failure(err)
}

// asPanic is the *PanicError (call's) in err's chain, or nil. A function
// of its own: errors.As's target escapes to the heap, and declared in
// decide it cost every run an allocation, a job done or not.
func asPanic(err error) *PanicError {
	var p *PanicError
	if errors.As(err, &p) {
		return p
	}
	return nil
}

// failure is the ending of a run that failed with err.
func failure(err error) ending {
	return ending{outcome: OutcomeError, cause: err, msg: err.Error()}
}

// unknownType is the ending of a job no WorkFunc is registered for.
func unknownType(typ string) ending {
	err := fmt.Errorf("%w: %q", ErrUnknownJobType, typ)
	return ending{outcome: OutcomeUnknownType, cause: err, msg: err.Error()}
}

// recordsFailure reports whether e ends the job with a failure recorded
// and the job rescheduled (or dead, when the failure reaches MaxAttempts).
func (e ending) recordsFailure() bool {
	switch e.outcome {
	case OutcomeError, OutcomePanic, OutcomeUnknownType, OutcomeDead:
		return true
	}
	return false
}

// as is e as it was applied: the hold wrote s, and err kept it from
// writing all of it. A failure that reached MaxAttempts made the job dead;
// a completion, snooze or death that could not be written is a failure of
// its own (the job stays as it was, or has its failure recorded: see the
// holds).
func (e ending) as(s settled, err error) ending {
	e.retryAt, e.next = s.retryAt, s.next
	switch {
	case s.died == ReasonMaxAttempts:
		e.outcome, e.reason = OutcomeDead, ReasonMaxAttempts
	case errors.Is(err, ErrLockLost):
		// Refused, nothing written: the job is as it was locked.
		retryAt, next := e.retryAt, e.next
		e = ending{outcome: OutcomeReturned, cause: err, retryAt: retryAt, next: next}
	case err != nil && !e.recordsFailure() && e.outcome != OutcomeReturned:
		retryAt, next := e.retryAt, e.next
		e = failure(err)
		e.retryAt, e.next = retryAt, next
	}
	return e
}

// err is the error a RunFunc returns for e, for the Work hooks: nil for a
// job that is done, otherwise the cause, marked with ErrWorkerStopped,
// ErrMaxAttempts or ErrCancelled where the cause alone would not say it.
func (e ending) err() error {
	var mark error
	switch e.outcome {
	case OutcomeDone:
		return nil
	case OutcomeReturned:
		if errors.Is(e.cause, ErrLockLost) {
			return e.cause
		}
		mark = ErrWorkerStopped
	case OutcomeDead:
		mark = ErrMaxAttempts
	case OutcomeCancelled:
		mark = ErrCancelled
	default:
		return e.cause
	}
	if e.cause == nil {
		return mark
	}
	return fmt.Errorf("%w: %w", mark, e.cause)
}

// settled is what a hold wrote to end a job, for the Job to take into
// its own fields (Job.take): a failure recorded with msg, the dead table's
// reason, when the job runs again, and the worker's next lock if the commit
// carried one.
type settled struct {
	failed  bool
	msg     string
	died    string
	retryAt time.Time
	// next is the worker's next lock, sent with the commit.
	next *pendingLock
}

// failedWith is a failure recorded with msg; the job runs again after
// delay, or never when it died.
func failedWith(msg string, delay time.Duration) settled {
	return settled{failed: true, msg: msg, retryAt: time.Now().Add(delay)}
}
