package gue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

func TestDecide(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range []struct {
		name   string
		err    error
		cause  error
		want   Outcome
		msg    string
		reason string
	}{
		{"done", nil, nil, OutcomeDone, "", ""},
		{"failed", boom, nil, OutcomeError, "boom", ""},
		{"panicked", &PanicError{Value: "p"}, nil, OutcomePanic, (&PanicError{Value: "p"}).Error(), ""},
		{"snoozed", Snooze(time.Minute), nil, OutcomeSnoozed, "", ""},
		{"negative snooze fails", Snooze(-1), nil, OutcomeError, "gue: snooze -1ns: snooze duration must not be negative", ""},
		{"discarded", fmt.Errorf("no: %w", ErrDiscard), nil, OutcomeDiscarded, "no: job discarded", ReasonDiscarded},
		{"stopped hard", boom, ErrWorkerStopped, OutcomeReturned, "", ""},
		{"done despite a hard stop", nil, ErrWorkerStopped, OutcomeDone, "", ""},
		{"cancelled", boom, ErrCancelled, OutcomeCancelled, "boom", ReasonCancelled},
		{"cancelled but snoozing", Snooze(time.Minute), ErrCancelled, OutcomeCancelled, "gue: job snoozed for 1m0s", ReasonCancelled},
		{"timed out", boom, ErrJobTimeout, OutcomeError, ErrJobTimeout.Error() + " after 1s: boom", ""},
	} {
		e := decide(c.err, c.cause, time.Second)
		if e.outcome != c.want || e.msg != c.msg || e.reason != c.reason {
			t.Errorf("%s: decide = %s %q %q; want %s %q %q", c.name, e.outcome, e.msg, e.reason, c.want, c.msg, c.reason)
		}
	}
	if e := decide(nil, ErrCancelled, 0); !e.cancelIgnored {
		t.Error("a cancelled job whose WorkFunc returned nil is not marked as such")
	}
	if e := decide(Snooze(time.Minute), nil, 0); e.delay != time.Minute {
		t.Errorf("snooze delay %s; want 1m", e.delay)
	}
}

// TestEndingErrRoundTrips: the Work hooks classify the error a run returns
// back to the outcome the worker counted, for every outcome.
func TestEndingErrRoundTrips(t *testing.T) {
	boom := errors.New("boom")
	endings := []ending{
		{outcome: OutcomeDone},
		failure(boom),
		decide(&PanicError{Value: 1}, nil, 0),
		unknownType("t"),
		decide(boom, ErrWorkerStopped, 0),
		decide(Snooze(time.Second), nil, 0),
		decide(fmt.Errorf("x: %w", ErrDiscard), nil, 0),
		decide(boom, ErrCancelled, 0),
		decide(&PanicError{Value: 1}, nil, 0).as(settled{died: ReasonMaxAttempts}, nil),
		{outcome: OutcomeReturned}, // a job its Work hooks never ran
	}
	seen := map[Outcome]bool{}
	for _, e := range endings {
		seen[e.outcome] = true
		if got := OutcomeOf(e.err()); got != e.outcome {
			t.Errorf("OutcomeOf(%v) = %s; want %s", e.err(), got, e.outcome)
		}
	}
	if len(seen) != 9 {
		t.Errorf("%d outcomes covered; want all 9", len(seen))
	}
	// Control: the mark is what tells a death of max attempts from the
	// panic that caused it.
	dead := decide(&PanicError{Value: 1}, nil, 0).as(settled{died: ReasonMaxAttempts}, nil)
	if OutcomeOf(dead.cause) != OutcomePanic {
		t.Error("control: the cause alone should classify as a panic")
	}
}

func TestEndingAsApplied(t *testing.T) {
	boom, lost := errors.New("boom"), errors.New("connection lost")
	at := time.Now().Add(time.Minute)
	for _, c := range []struct {
		name string
		e    ending
		s    settled
		err  error
		want Outcome
	}{
		{"failure rescheduled", failure(boom), failedWith("boom", time.Minute), nil, OutcomeError},
		{"failure reached max attempts", failure(boom), settled{failed: true, died: ReasonMaxAttempts}, nil, OutcomeDead},
		{"failure not recorded stays a failure", failure(boom), settled{}, lost, OutcomeError},
		{"snooze not written is a failure", decide(Snooze(time.Second), nil, 0), settled{}, lost, OutcomeError},
		{"discard not written is a failure", decide(ErrDiscard, nil, 0), settled{}, lost, OutcomeError},
		{"commit failed, failure recorded", ending{outcome: OutcomeDone}, settled{failed: true, retryAt: at}, lost, OutcomeError},
		{"returned stays returned", decide(boom, ErrWorkerStopped, 0), settled{}, lost, OutcomeReturned},
		{"cancelled", decide(boom, ErrCancelled, 0), settled{failed: true, died: ReasonCancelled}, nil, OutcomeCancelled},
	} {
		got := c.e.as(c.s, c.err)
		if got.outcome != c.want {
			t.Errorf("%s: outcome %s; want %s", c.name, got.outcome, c.want)
		}
		if !got.retryAt.Equal(c.s.retryAt) {
			t.Errorf("%s: retryAt %v; want %v", c.name, got.retryAt, c.s.retryAt)
		}
		if c.want == OutcomeError && c.e.outcome != OutcomeError && !errors.Is(got.err(), c.err) {
			t.Errorf("%s: error %v does not wrap what kept the ending from being written", c.name, got.err())
		}
	}
}

// TestEndRunAppliesOnce: the job takes what its hold wrote, once, and
// a second ending finds the job finished and changes nothing.
func TestEndRunAppliesOnce(t *testing.T) {
	tx := &fakeTx{}
	j := soloJob(tx, nil, false)
	j.MaxAttempts = 2
	e, err := j.endRun(context.Background(), failure(errors.New("boom")))
	if err != nil || e.outcome != OutcomeError || j.ErrorCount != 1 || j.LastError.String != "boom" {
		t.Fatalf("first failure: %s %v, count %d %q", e.outcome, err, j.ErrorCount, j.LastError.String)
	}
	if d := time.Until(e.retryAt); d < 50*time.Second || d > time.Minute {
		t.Errorf("retry in %s; want the backoff's minute", d)
	}
	again, err := j.endRun(context.Background(), failure(errors.New("again")))
	if !errors.Is(err, ErrJobFinished) || again.outcome != OutcomeError || j.ErrorCount != 1 {
		t.Errorf("second ending: %s %v, count %d; want refused, count unchanged", again.outcome, err, j.ErrorCount)
	}
	if j.ended.outcome != OutcomeError || !j.ended.retryAt.Equal(e.retryAt) {
		t.Errorf("job's ending %s at %v; want the first one kept", j.ended.outcome, j.ended.retryAt)
	}

	// The attempt that reaches MaxAttempts dies.
	j2 := soloJob(&fakeTx{}, nil, false)
	j2.MaxAttempts, j2.ErrorCount = 2, 1
	e, err = j2.endRun(context.Background(), failure(errors.New("boom")))
	if err != nil || e.outcome != OutcomeDead || j2.ErrorCount != 2 || !errors.Is(e.err(), ErrMaxAttempts) {
		t.Errorf("last attempt: %s %v, count %d; want dead, count 2", e.outcome, err, j2.ErrorCount)
	}
}

// TestEndRunDeleteFailureIsRecorded: a completion whose DELETE fails keeps
// the job, with that failure recorded on it.
func TestEndRunDeleteFailureIsRecorded(t *testing.T) {
	tx := &fakeTx{}
	j := soloJob(tx, nil, false)
	tx.failOn = j.hold.(*soloTx).stmts.Delete // as sent, with its leading CTE
	e, err := j.endRun(context.Background(), ending{outcome: OutcomeDone})
	if err != nil || e.outcome != OutcomeError || j.ErrorCount != 1 || !strings.Contains(j.LastError.String, "fake failure of") {
		t.Fatalf("got %s %v, count %d %q; want the delete's failure recorded", e.outcome, err, j.ErrorCount, j.LastError.String)
	}
	if e.retryAt.IsZero() {
		t.Error("no retry time for the recorded failure")
	}
}

// TestRunEndingReturnsASkippedJob: a job its Work hooks never ran goes back
// to the queue instead of holding its transaction open.
func TestRunEndingReturnsASkippedJob(t *testing.T) {
	tx := &fakeTx{}
	j := soloJob(tx, nil, false)
	e, skipped := j.runEnding(context.Background())
	if !skipped || e.outcome != OutcomeReturned || tx.ended != "rollback" {
		t.Errorf("skipped %v, outcome %s, tx %q; want returned by a rollback", skipped, e.outcome, tx.ended)
	}
	done := soloJob(&fakeTx{}, nil, false)
	if _, err := done.endRun(context.Background(), ending{outcome: OutcomeDone}); err != nil {
		t.Fatal(err)
	}
	if e, skipped := done.runEnding(context.Background()); skipped || e.outcome != OutcomeDone {
		t.Errorf("control: a job that ran reports %s (skipped %v); want done", e.outcome, skipped)
	}
}

// fakeChainTx is a pipelining transaction whose commit can carry the next
// BEGIN and lock.
type fakeChainTx struct {
	fakePipeTx
	next *fakePipeTx
}

type fakeRow struct{}

func (fakeRow) Scan(...any) error { return adapter.ErrNoRows }

func (f *fakeChainTx) ExecCommitBeginQueryRow(_ context.Context, sql string, _ []any, next string, _ ...any) (adapter.PipelineTx, adapter.Row, error) {
	f.log = append(f.log, firstWord(sql)+"+COMMIT+BEGIN+"+firstWord(next))
	f.ended = "commit"
	f.next = &fakePipeTx{}
	return f.next, fakeRow{}, nil
}

// The lock a job's commit sends ahead comes back in the job's ending, for
// the worker's loop: the hold plants it nowhere.
func TestChainedLockReturnsWithTheEnding(t *testing.T) {
	tx := &fakeChainTx{}
	j := soloJob(tx, nil, false)
	s := j.hold.(*soloTx)
	s.chain = newLockCursor(nil).planner()
	e, err := j.endRun(context.Background(), ending{outcome: OutcomeDone})
	if err != nil || e.outcome != OutcomeDone {
		t.Fatalf("ending %s, %v", e.outcome, err)
	}
	if e.next == nil || e.next.tx != tx.next {
		t.Fatalf("the chained lock did not come back with the ending: %+v", e.next)
	}
	if got, skipped := j.runEnding(context.Background()); skipped || got.next != e.next {
		t.Error("the job's ending, as the worker reads it, lacks the chained lock")
	}
	if !strings.HasSuffix(tx.log[len(tx.log)-1], "+COMMIT+BEGIN+WITH") {
		t.Errorf("statements %v; want the DELETE, COMMIT, BEGIN and lock in one", tx.log)
	}
	// Control: without a chain cursor the commit carries nothing.
	plain := soloJob(&fakeChainTx{}, nil, false)
	if e, _ := plain.endRun(context.Background(), ending{outcome: OutcomeDone}); e.next != nil {
		t.Error("a job locked outside a loop sent a lock ahead")
	}
}

// calls records which ending of a transaction hold endBy chose.
type calls struct{ got string }

func (c *calls) done(context.Context, *Job) (settled, error) { c.got = "done"; return settled{}, nil }
func (c *calls) fail(_ context.Context, _ *Job, msg string) (settled, error) {
	c.got = "fail " + msg
	return settled{}, nil
}
func (c *calls) rollback(context.Context, *Job) error { c.got = "rollback"; return nil }
func (c *calls) die(_ context.Context, _ *Job, msg, reason string) (settled, error) {
	c.got = "die " + reason + " " + msg
	return settled{}, nil
}
func (c *calls) snooze(_ context.Context, _ *Job, d time.Duration) (settled, error) {
	c.got = "snooze " + d.String()
	return settled{}, nil
}

// Each ending a run can decide reaches the one write of a transaction
// hold that applies it, with its message made storable.
func TestEndByChoosesTheEnding(t *testing.T) {
	for _, tc := range []struct {
		e    ending
		want string
	}{
		{decide(nil, nil, 0), "done"},
		{decide(errors.New("boom\x00"), nil, 0), "fail boom\\0"},
		{decide(errors.New("x"), ErrWorkerStopped, 0), "rollback"},
		{decide(Snooze(time.Minute), nil, 0), "snooze 1m0s"},
		{decide(fmt.Errorf("no: %w", ErrDiscard), nil, 0), "die " + ReasonDiscarded + " no: " + ErrDiscard.Error()},
		{decide(errors.New("c"), ErrCancelled, 0), "die " + ReasonCancelled + " c"},
		{unknownType("t"), "fail " + unknownType("t").msg},
	} {
		var c calls
		if _, err := endBy(context.Background(), &c, &Job{}, tc.e); err != nil {
			t.Fatal(err)
		}
		if c.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.e.outcome, c.got, tc.want)
		}
	}
}
