package gue

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/gue-go/gue/core/adapter"
)

// work runs j through the Client's Work hooks and the worker's own run, in
// a context of its own that a shutdown cancels after the grace period, and a
// hard stop at once.
func (w *Worker) work(ctx context.Context, j *Job) {
	// The job's context keeps ctx's values but not its cancellation: ctx
	// ending starts a graceful shutdown, which lets the job finish.
	jobCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stop := w.stopOnShutdown(ctx, cancel)
	defer stop()
	w.workIn(jobCtx, cancel, j)
}

// stopOnShutdown cancels with ErrWorkerStopped once the grace period has
// passed after ctx is done, or at a hard stop. The returned func stops it.
func (w *Worker) stopOnShutdown(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	hardStop := func() { cancel(ErrWorkerStopped) }
	stopGrace := cancelAfterGrace(ctx, w.grace, hardStop)
	stopHard := context.AfterFunc(w.hardStopped(), hardStop)
	return func() {
		stopGrace()
		stopHard()
	}
}

// workIn runs j in jobCtx, whose cancel the caller arranged to be called
// with ErrWorkerStopped at shutdown (see stopOnShutdown).
func (w *Worker) workIn(jobCtx context.Context, cancel context.CancelCauseFunc, j *Job) {
	w.inflight.add(j.ID, j.Queue, cancel) // for Client.Cancel and the pool registry
	defer w.inflight.remove(j.ID)
	if w.timeout > 0 {
		var cancelTimeout context.CancelFunc
		jobCtx, cancelTimeout = context.WithTimeoutCause(jobCtx, w.timeout, ErrJobTimeout)
		defer cancelTimeout()
	}
	w.count(j.Queue, OutcomeOf(w.runChain(jobCtx, j)))
	w.due.at(j.nextRun) // a failure or snooze: wake for its retry
}

// run is the innermost RunFunc: it runs j's WorkFunc with ctx as
// j.Context() and completes the job according to the outcome.
func (w *Worker) run(ctx context.Context, j *Job) error {
	j.mu.Lock()
	j.ctx = ctx
	j.mu.Unlock()
	log := &jobLog{base: w.logger, j: j}
	// Completion must reach the database even when the job's context is
	// cancelled.
	doneCtx := context.WithoutCancel(ctx)

	wf, ok := w.wm[j.Type]
	if !ok || wf == nil {
		err := fmt.Errorf("%w: %q", ErrUnknownJobType, j.Type)
		log.Error("unknown job type")
		return w.fail(doneCtx, log, j, err.Error(), err)
	}
	err := call(wf, j)
	if err != nil && errors.Is(context.Cause(ctx), ErrWorkerStopped) {
		// Stopped hard: the job did not finish through no fault of its own,
		// so it goes back to the queue untouched.
		if rbErr := j.rollback(doneCtx); rbErr != nil {
			log.Error("could not roll back job after hard stop", adapter.Err(rbErr))
		}
		log.Info("job returned to queue: worker stopped hard")
		return fmt.Errorf("%w: %w", ErrWorkerStopped, err)
	}
	if errors.Is(context.Cause(ctx), ErrCancelled) {
		if err == nil {
			defer w.cancelled(doneCtx, log, j, nil) //nolint:errcheck // it completes normally; the request is cleared
		} else {
			return w.cancelled(doneCtx, log, j, err)
		}
	}
	var panicErr *PanicError
	switch d, snooze := snoozed(err); {
	case snooze:
		if serr := j.snooze(doneCtx, d); serr != nil {
			log.Error("could not snooze job", adapter.Err(serr))
			return serr
		}
		log.Debug("job snoozed", adapter.F("for", d))
		return err
	case errors.Is(err, ErrDiscard):
		if derr := j.die(doneCtx, err.Error(), ReasonDiscarded); derr != nil {
			log.Error("could not move discarded job to the dead jobs", adapter.Err(derr))
			return derr
		}
		log.Info("job discarded: moved to the dead jobs", adapter.Err(err))
		return err
	case errors.As(err, &panicErr):
		log.Error("job panicked", adapter.F("panic", panicErr.Error()))
		return w.fail(doneCtx, log, j, panicErr.Error(), err)
	case err != nil:
		msg := err.Error()
		if errors.Is(context.Cause(ctx), ErrJobTimeout) {
			msg = fmt.Sprintf("%v after %s: %s", ErrJobTimeout, w.timeout, msg)
		}
		log.Error("job failed", adapter.Err(err))
		return w.fail(doneCtx, log, j, msg, err)
	}
	if err := j.Delete(doneCtx); err != nil {
		log.Error("could not delete finished job", adapter.Err(err))
		return w.fail(doneCtx, log, j, err.Error(), err)
	}
	if err := j.Done(doneCtx); err != nil {
		log.Error("could not commit finished job", adapter.Err(err))
		return err
	}
	log.Debug("job done")
	return nil
}

// fail records the run's failure, msg, on j, and returns the run's error
// for the Work hooks: wrapped with ErrMaxAttempts when the job died of it.
func (w *Worker) fail(ctx context.Context, log adapter.Logger, j *Job, msg string, err error) error {
	if ferr := j.Error(ctx, msg); ferr != nil {
		log.Error("could not record job error", adapter.Err(ferr))
	}
	if j.died == ReasonMaxAttempts {
		log.Error("job reached its maximum attempts: moved to the dead jobs", adapter.F("attempts", j.ErrorCount))
		return fmt.Errorf("%w: %w", ErrMaxAttempts, err)
	}
	return err
}

// call runs wf, turning a panic into a *PanicError with the stack.
func call(wf WorkFunc, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return wf(j)
}
