package gue

import (
	"context"
	"errors"
	"fmt"
)

// EnqueueFunc adds one validated job; Hooks.Enqueue wraps it.
type EnqueueFunc func(ctx context.Context, j *Job) error

// RunFunc runs one locked job to its end: the WorkFunc, then the job's
// completion (delete and commit, or the error recorded). ctx becomes
// j.Context() for the WorkFunc. It returns nil when the job was done and
// deleted, otherwise an error that OutcomeOf classifies.
type RunFunc func(ctx context.Context, j *Job) error

// Hooks is the extension point for observability (tracing, metrics,
// logging) and other cross-cutting concerns. Every field is optional. Give
// them to a Client with WithClientHooks; its Workers and WorkerPools use the
// Client's hooks. When several Hooks are given, the first given is the
// outermost wrapper.
type Hooks struct {
	// Enqueue wraps Enqueue and EnqueueTx after the job passed validation.
	// A hook may add to j.Metadata before calling next, which stores it with
	// the job; after next returns without error, j.ID is set.
	Enqueue func(next EnqueueFunc) EnqueueFunc
	// Work wraps every run of a job by a Worker. A hook may call next with a
	// derived context (carrying a span, say), which the WorkFunc sees as
	// j.Context().
	Work func(next RunFunc) RunFunc
	// Locked is called after every lock attempt by LockJob or a Worker: with
	// the locked job, or with j == nil and err == nil when no job was ready,
	// or with the error. It must not block.
	Locked func(ctx context.Context, queue string, j *Job, err error)
}

// WithClientHooks adds hooks to the Client and to the Workers built on it.
func WithClientHooks(h Hooks) ClientOption {
	return func(c *Client) { c.hooks = append(c.hooks, h) }
}

// wrapEnqueue applies the Enqueue hooks around inner.
func (c *Client) wrapEnqueue(inner EnqueueFunc) EnqueueFunc {
	for i := len(c.hooks) - 1; i >= 0; i-- {
		if h := c.hooks[i].Enqueue; h != nil {
			inner = h(inner)
		}
	}
	return inner
}

// wrapRun applies the Work hooks around inner.
func (c *Client) wrapRun(inner RunFunc) RunFunc {
	for i := len(c.hooks) - 1; i >= 0; i-- {
		if h := c.hooks[i].Work; h != nil {
			inner = h(inner)
		}
	}
	return inner
}

// runLockedHooks reports a lock attempt to the Locked hooks.
func (c *Client) runLockedHooks(ctx context.Context, queue string, j *Job, err error) {
	for _, h := range c.hooks {
		if h.Locked != nil {
			h.Locked(ctx, queue, j, err)
		}
	}
}

// Outcome classifies how a run of a job ended, as RunFunc's error tells.
type Outcome string

// The outcomes of a job run.
const (
	// OutcomeDone: the WorkFunc succeeded and the job was deleted.
	OutcomeDone Outcome = "done"
	// OutcomeError: the WorkFunc (or the job's completion) failed; the
	// error was recorded and the job rescheduled.
	OutcomeError Outcome = "error"
	// OutcomePanic: the WorkFunc panicked; recorded like an error.
	OutcomePanic Outcome = "panic"
	// OutcomeUnknownType: no WorkFunc is registered for the job's type;
	// recorded like an error.
	OutcomeUnknownType Outcome = "unknown_type"
	// OutcomeReturned: the worker stopped hard; the job went back to the
	// queue untouched.
	OutcomeReturned Outcome = "returned"
	// OutcomeSnoozed: the WorkFunc returned Snooze; the job runs again
	// later, with no failure counted.
	OutcomeSnoozed Outcome = "snoozed"
	// OutcomeDiscarded: the WorkFunc returned an error wrapping ErrDiscard;
	// the job went to the dead jobs.
	OutcomeDiscarded Outcome = "discarded"
	// OutcomeDead: the run failed for the job's last allowed attempt
	// (MaxAttempts); the job went to the dead jobs.
	OutcomeDead Outcome = "dead"
	// OutcomeCancelled: Client.Cancel cancelled the running job and its
	// WorkFunc returned an error; the job went to the dead jobs.
	OutcomeCancelled Outcome = "cancelled"
)

// OutcomeOf classifies the error a RunFunc returned.
func OutcomeOf(err error) Outcome {
	var p *PanicError
	switch {
	case err == nil:
		return OutcomeDone
	case errors.Is(err, ErrWorkerStopped):
		return OutcomeReturned
	case errors.Is(err, ErrMaxAttempts):
		return OutcomeDead
	case errors.Is(err, ErrCancelled):
		return OutcomeCancelled
	case errors.Is(err, ErrDiscard):
		return OutcomeDiscarded
	}
	if _, ok := snoozed(err); ok {
		return OutcomeSnoozed
	}
	switch {
	case errors.Is(err, ErrUnknownJobType):
		return OutcomeUnknownType
	case errors.As(err, &p):
		return OutcomePanic
	}
	return OutcomeError
}

// PanicError is the error of a WorkFunc that panicked.
type PanicError struct {
	// Value is what the WorkFunc panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error returns the panic value and the stack, as recorded in LastError.
func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v\n\n%s", p.Value, p.Stack) }
