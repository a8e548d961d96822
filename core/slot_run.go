package gue

import (
	"context"
	"errors"
	"runtime/debug"

	"github.com/gue-go/gue/core/adapter"
)

// work runs j through the Client's Work hooks and the slot's own run, in
// a context of its own that a shutdown cancels after the grace period, and a
// hard stop at once (in a pool, its run's watchShutdown; in a Worker,
// stopOnShutdown for each job). It returns the lock of the locker's next job that j's
// commit carried, if any.
func (s *slot) work(ctx context.Context, j *Job) *pendingLock {
	// The job's context keeps ctx's values but not its cancellation: ctx
	// ending starts a graceful shutdown, which lets the job finish.
	jobCtx, cancel := context.WithCancelCause(s.uncancelled(ctx))
	defer cancel(nil)
	if !s.watched { // else the run cancels it (watchShutdown)
		stop := s.stopOnShutdown(ctx, cancel)
		defer stop()
	}
	return s.workIn(jobCtx, cancel, j)
}

// uncancelled is context.WithoutCancel(ctx), made once for the ctx of the
// slot's jobs (its run's, the same for each), not an allocation per job.
// A slot works one job at a time.
func (s *slot) uncancelled(ctx context.Context) context.Context {
	if s.uncancelledOf != ctx {
		s.uncancelledOf, s.uncancelledCtx = ctx, context.WithoutCancel(ctx)
	}
	return s.uncancelledCtx
}

// stopOnShutdown cancels with ErrWorkerStopped once the grace period has
// passed after ctx is done, or at a hard stop. The returned func stops it.
func (s *slot) stopOnShutdown(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	hardStop := func() { cancel(ErrWorkerStopped) }
	stopGrace := cancelAfterGrace(ctx, s.grace, hardStop)
	stopHard := context.AfterFunc(s.hardStopped(), hardStop)
	return func() {
		stopGrace()
		stopHard()
	}
}

// workIn runs j in jobCtx, whose cancel the caller arranged to be called
// with ErrWorkerStopped at shutdown (see stopOnShutdown), and returns the
// lock its commit sent ahead, if any.
func (s *slot) workIn(jobCtx context.Context, cancel context.CancelCauseFunc, j *Job) *pendingLock {
	s.inflight.add(j.ID, j.Queue, cancel) // for Client.Cancel and the pool registry
	defer s.inflight.remove(j.ID)
	// A loss of the job's lock cancels the jobs in flight; one lost before
	// the add above is cancelled here. (The loss counts as happened before
	// it cancels, so no loss falls between the two.)
	if err := j.hold.lost(); err != nil {
		cancel(err)
	}
	if s.timeout > 0 {
		var cancelTimeout context.CancelFunc
		jobCtx, cancelTimeout = context.WithTimeoutCause(jobCtx, s.timeout, ErrJobTimeout)
		defer cancelTimeout()
	}
	_ = s.runChain(jobCtx, j) // the Work hooks' view; the job knows its ending
	e, skipped := j.runEnding(jobCtx)
	if skipped {
		s.logger.Error("a Work hook returned without running the job: it goes back to the queue",
			adapter.F("job-id", j.ID), adapter.F("queue", j.Queue))
	}
	s.count(j.Queue, e.outcome)
	s.due.At(e.retryAt) // a failure or snooze: wake for its retry
	return e.next
}

// run is the innermost RunFunc: it runs j's WorkFunc with ctx as
// j.Context(), decides how the run ends, has the job apply that, and
// returns it as the Work hooks see it.
func (s *slot) run(ctx context.Context, j *Job) error {
	j.mu.Lock()
	j.ctx = ctx
	j.mu.Unlock()
	// A value, passed by pointer to functions that take it as such: it
	// does not escape, where an adapter.Logger would (an allocation per job).
	log := jobLog{base: s.logger, j: j}
	var e ending
	if wf, ok := s.wm[j.Type]; !ok || wf == nil {
		e = unknownType(j.Type)
	} else {
		e = decide(call(wf, j), context.Cause(ctx), s.timeout)
	}
	j.handled()
	logDecided(&log, e)
	// The ending must reach the database even when the job's context is
	// cancelled.
	applied, err := j.endRun(context.WithoutCancel(ctx), e)
	logApplied(&log, j, e, applied, err)
	return applied.err()
}

// logDecided logs what the WorkFunc did, before its ending is written.
func logDecided(log *jobLog, e ending) {
	switch e.outcome {
	case OutcomeUnknownType:
		log.Error("unknown job type")
	case OutcomePanic:
		log.Error("job panicked", adapter.F("panic", e.msg))
	case OutcomeError:
		log.Error("job failed", adapter.Err(e.cause))
	}
	if e.cancelIgnored {
		log.Info("job was cancelled but its WorkFunc returned nil: it completes normally")
	}
}

// logApplied logs how j ended: applied is e as written, err what kept it
// from being written.
func logApplied(log *jobLog, j *Job, e, applied ending, err error) {
	if !e.recordsFailure() && applied.recordsFailure() {
		log.Error("could not end job as "+string(e.outcome), adapter.Err(applied.cause))
	}
	if err != nil && err != applied.cause { //nolint:errorlint // the same value, logged once
		log.Error("could not record how the job ended", adapter.F("outcome", string(applied.outcome)), adapter.Err(err))
	}
	switch applied.outcome {
	case OutcomeDone:
		log.Debug("job done")
	case OutcomeReturned:
		if errors.Is(applied.cause, ErrLockLost) {
			log.Debug("job not ended: its session lock was lost, and the job runs again", adapter.Err(applied.cause))
			break
		}
		log.Info("job returned to queue: worker stopped hard")
	case OutcomeSnoozed:
		log.Debug("job snoozed", adapter.F("for", e.delay))
	case OutcomeDiscarded:
		log.Info("job discarded: moved to the dead jobs", adapter.Err(e.cause))
	case OutcomeCancelled:
		log.Info("job cancelled: moved to the dead jobs")
	case OutcomeDead:
		log.Error("job reached its maximum attempts: moved to the dead jobs", adapter.F("attempts", j.ErrorCount))
	}
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

// workOne locks a job of queue along cur, reading pending first (the lock
// sent with the last job's commit, nil: none), and works it. It returns the
// lock that job's commit sent ahead, if any.
func (s *slot) workOne(ctx context.Context, queue string, cur *lockCursor, pending *pendingLock) (didWork bool, next *pendingLock) {
	j, err := s.c.lockJob(ctx, s.stmts, queue, cur, pending)
	if err != nil {
		if ctx.Err() == nil {
			s.c.outage.Failed(s.logger, err)
		}
		return false, nil
	}
	s.c.outage.Succeeded(s.logger)
	if j == nil {
		return false, nil
	}
	if ctx.Err() != nil || s.hardStopped().Err() != nil {
		// Shutdown began while the lock query ran: leave the job to others.
		_ = j.rollback(context.WithoutCancel(ctx))
		return false, nil
	}
	return true, s.work(ctx, j)
}
