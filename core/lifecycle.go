package gue

import (
	"errors"
	"fmt"
	"time"
)

// The reasons a job is in the dead table (gue_jobs_dead.reason).
const (
	// ReasonMaxAttempts: its last failure reached its MaxAttempts.
	ReasonMaxAttempts = "max_attempts"
	// ReasonDiscarded: its WorkFunc returned an error wrapping ErrDiscard.
	ReasonDiscarded = "discarded"
	// ReasonCancelled: Client.Cancel cancelled it.
	ReasonCancelled = "cancelled"
)

// snoozeError is the error value of Snooze.
type snoozeError struct{ d time.Duration }

func (e *snoozeError) Error() string { return fmt.Sprintf("gue: job snoozed for %s", e.d) }

// Snooze returns the error value a WorkFunc returns to run its job again
// after d, without counting a failure: ErrorCount and LastError stay as they
// were, and the writes the WorkFunc made through Job.Tx are kept (it chose
// to stop for now; it did not fail, so nothing of its work is undone). The
// job's RunAt becomes the time of the snooze plus d. A negative d returns an
// error wrapping ErrInvalidSnooze, which the worker records as a failure.
func Snooze(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("gue: snooze %s: %w", d, ErrInvalidSnooze)
	}
	return &snoozeError{d: d}
}

// snoozed reports the duration of a Snooze error in err's chain.
func snoozed(err error) (time.Duration, bool) {
	if err == nil {
		return 0, false // before s, which errors.As makes a heap allocation
	}
	var s *snoozeError
	if errors.As(err, &s) {
		return s.d, true
	}
	return 0, false
}
