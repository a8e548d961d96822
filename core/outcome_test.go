package gue

import (
	"errors"
	"fmt"
	"testing"
)

func TestOutcomeOf(t *testing.T) {
	for err, want := range map[error]Outcome{
		nil:                                    OutcomeDone,
		errors.New("x"):                        OutcomeError,
		&PanicError{Value: 1}:                  OutcomePanic,
		fmt.Errorf("%w: t", ErrUnknownJobType): OutcomeUnknownType,
		fmt.Errorf("%w: x", ErrWorkerStopped):  OutcomeReturned,
		Snooze(0):                              OutcomeSnoozed,
		fmt.Errorf("bad: %w", ErrDiscard):      OutcomeDiscarded,
		fmt.Errorf("%w: %w", ErrMaxAttempts, &PanicError{Value: 1}): OutcomeDead,
		fmt.Errorf("%w: x", ErrCancelled):                           OutcomeCancelled,
		Snooze(-1):                                                  OutcomeError,
	} {
		if got := OutcomeOf(err); got != want {
			t.Errorf("OutcomeOf(%v) = %s, want %s", err, got, want)
		}
	}
}
