package gue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// Defaults of Worker and WorkerPool options.
const (
	// DefaultPollInterval is how long an idle worker waits before it looks
	// for a ready job again.
	DefaultPollInterval = 5 * time.Second
	// DefaultGracePeriod is how long in-flight jobs may keep running after
	// the worker's context is cancelled before their contexts are cancelled.
	DefaultGracePeriod = 30 * time.Second
)

// WorkFunc runs one job. Returning nil deletes the job; returning an error
// records it on the job and reschedules the job with the Client's Backoff. A
// panic is recovered and recorded like an error, with its stack.
//
// j.Context() is cancelled when the worker stops hard; j.Tx() gives the
// job's transaction for writes that must commit atomically with the job.
type WorkFunc func(j *Job) error

// WorkMap maps job types to the WorkFunc that runs them.
type WorkMap map[string]WorkFunc

// Worker locks and works jobs of one queue, one at a time.
type Worker struct {
	// workerConfig is shared with the other workers of a WorkerPool.
	*workerConfig
	id     string
	logger adapter.Logger // the configured one, with this worker's ID
	// wake, shared by the workers of a pool, is fired by its listener.
	wake *wakeup
	// cursor finds the next job; its hints are shared by a pool's workers.
	cursor   *lockCursor
	runChain RunFunc // the Client's Work hooks around run
	running  sync.Mutex

	hardMu     sync.Mutex
	hard       context.Context // cancelled by HardStop; renewed by each Run
	hardCancel context.CancelFunc
}

// NewWorker returns a Worker that runs the jobs of c's database through wm.
func NewWorker(c *Client, wm WorkMap, options ...WorkerOption) *Worker {
	w := &Worker{workerConfig: newWorkerConfig(c, wm), id: newID("worker")}
	for _, o := range options {
		o(w)
	}
	w.init("worker " + w.id)
	return w.start(newLockCursor(newLockHints(0)))
}

// start completes a Worker whose configuration is resolved.
func (w *Worker) start(cursor *lockCursor) *Worker {
	w.cursor = cursor
	w.logger = w.logTo.With(adapter.F("worker-id", w.id), adapter.F("queue", w.queue))
	if w.c != nil {
		w.runChain = w.c.wrapRun(w.run)
	}
	return w
}

// ID returns the worker's ID.
func (w *Worker) ID() string { return w.id }

// Run works jobs until ctx is cancelled, then waits for the job in flight
// (see WithWorkerGracePeriod) and returns nil. It returns an error at once if
// the worker is already running or is misconfigured.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.acquire(); err != nil {
		return err
	}
	defer w.running.Unlock()
	w.watchedLoop(ctx)
	return nil
}

// Start runs the worker in a new goroutine, as Run does, and returns at once.
// Cancel ctx to stop it. It returns an error if the worker is already running
// or is misconfigured.
func (w *Worker) Start(ctx context.Context) error {
	if err := w.acquire(); err != nil {
		return err
	}
	go func() {
		defer w.running.Unlock()
		w.watchedLoop(ctx)
	}()
	return nil
}

func (w *Worker) acquire() error {
	if w.err != nil {
		return w.err
	}
	if !w.running.TryLock() {
		return fmt.Errorf("gue: worker %s: %w", w.id, ErrAlreadyStarted)
	}
	w.renewHardStop()
	return nil
}

// renewHardStop gives a starting run a fresh HardStop context.
func (w *Worker) renewHardStop() {
	w.hardMu.Lock()
	defer w.hardMu.Unlock()
	w.hard, w.hardCancel = context.WithCancel(context.Background())
}

// HardStop stops a running worker at once, without a grace period: the
// worker locks no more jobs, the context of the job in flight is cancelled,
// and if its WorkFunc then returns an error the job's transaction is rolled
// back, returning the job to the queue untouched. Meant for a second shutdown
// signal, after Run's context was cancelled. A later Run starts afresh.
func (w *Worker) HardStop() {
	w.hardMu.Lock()
	defer w.hardMu.Unlock()
	if w.hardCancel != nil {
		w.hardCancel()
	}
}

// hardStopped returns the context HardStop cancels for the current run; a
// worker used only through WorkOne is never hard-stopped.
func (w *Worker) hardStopped() context.Context {
	w.hardMu.Lock()
	defer w.hardMu.Unlock()
	if w.hard == nil {
		return context.Background()
	}
	return w.hard
}

// watchedLoop is loop for a Worker of its own, with its jobs watched for
// Client.Cancel.
func (w *Worker) watchedLoop(ctx context.Context) {
	stop := w.watch(ctx, nil, w.logger)
	defer stop()
	w.loop(ctx)
}

// loop polls: straight on after a job, PollInterval after finding none.
func (w *Worker) loop(ctx context.Context) {
	w.logger.Debug("worker started")
	defer w.logger.Debug("worker stopped")
	hard := w.hardStopped()
	timer := time.NewTimer(0)
	defer timer.Stop()
	busy := false      // the last attempt worked a job
	wokenMiss := false // a wake-up found nothing ready: the job may be due within notifyAhead
	for {
		if ctx.Err() != nil || hard.Err() != nil {
			return
		}
		if busy = w.workOneOrBatch(ctx, busy); busy {
			continue
		}
		wait := jitter(w.interval)
		if wokenMiss {
			wait = min(wait, notifyAhead)
			wokenMiss = false
		}
		if w.pause.paused.Load() {
			wait = min(wait, pauseRefresh) // notice a resume soon
		}
		timer.Reset(wait)
		var woken <-chan struct{}
		if w.wake != nil {
			woken = w.wake.C()
		}
		select {
		case <-ctx.Done():
			return
		case <-hard.Done():
			return
		case <-timer.C:
		case <-woken:
			if !timer.Stop() {
				<-timer.C
			}
			if busy = w.workOneOrBatch(ctx, false); busy {
				w.wake.Fire() // there may be more: wake another idle worker
			} else {
				wokenMiss = true
			}
		}
	}
}

// workOneOrBatch works one job, or one batch in batch mode, and reports
// whether there was any. fromJob says the worker comes straight from a job
// rather than from a wake-up or a poll (see lockHints.rescanAfterMiss).
func (w *Worker) workOneOrBatch(ctx context.Context, fromJob bool) bool {
	if w.err == nil && w.pause.isPaused(ctx, w.c, w.stmts, w.queue) {
		return false
	}
	if w.batch > 1 {
		return w.workBatch(ctx, w.batch)
	}
	w.cursor.fromJob = fromJob // the loop's own cursor: one goroutine
	return w.workOne(ctx, w.cursor)
}

// jitter returns d ± 25% at random. Workers started together would otherwise
// poll in lockstep, all at once and then none for a whole interval, which
// makes pickup latency as bad as with a single worker.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
}

// WorkOne locks one ready job of the worker's queue, works it and ends its
// transaction. It reports whether a job was found; it never panics because of
// a WorkFunc, and errors are logged and recorded on the job.
func (w *Worker) WorkOne(ctx context.Context) (didWork bool) {
	if w.err == nil && w.pause.isPaused(ctx, w.c, w.stmts, w.queue) {
		return false
	}
	// A cursor of its own (sharing the hints): WorkOne may run beside Run.
	return w.workOne(ctx, newLockCursor(w.cursor.hints))
}

func (w *Worker) workOne(ctx context.Context, cur *lockCursor) (didWork bool) {
	if w.err != nil {
		w.logger.Error("worker misconfigured", adapter.Err(w.err))
		return false
	}
	j, err := w.c.lockJob(ctx, w.stmts, w.queue, cur)
	if err != nil {
		if ctx.Err() == nil {
			w.c.outage.failed(w.logger, err)
		}
		return false
	}
	w.c.outage.succeeded(w.logger)
	if j == nil {
		return false
	}
	if ctx.Err() != nil || w.hardStopped().Err() != nil {
		// Shutdown began while the lock query ran: leave the job to others.
		_ = j.rollback(context.WithoutCancel(ctx))
		return false
	}
	w.work(ctx, j)
	return true
}

// work runs j through the Client's Work hooks and the worker's own run.
func (w *Worker) work(ctx context.Context, j *Job) {
	// The job's context keeps ctx's values but not its cancellation: ctx
	// ending starts a graceful shutdown, which lets the job finish.
	jobCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	w.inflight.add(j.ID, cancel) // for Client.Cancel
	defer w.inflight.remove(j.ID)
	hardStop := func() { cancel(ErrWorkerStopped) }
	stopGrace := cancelAfterGrace(ctx, w.grace, hardStop)
	defer stopGrace()
	stopHard := context.AfterFunc(w.hardStopped(), hardStop)
	defer stopHard()
	if w.timeout > 0 {
		var cancelTimeout context.CancelFunc
		jobCtx, cancelTimeout = context.WithTimeoutCause(jobCtx, w.timeout, ErrJobTimeout)
		defer cancelTimeout()
	}
	_ = w.runChain(jobCtx, j)
}

// run is the innermost RunFunc: it runs j's WorkFunc with ctx as
// j.Context() and completes the job according to the outcome.
func (w *Worker) run(ctx context.Context, j *Job) error {
	j.mu.Lock()
	j.ctx = ctx
	j.mu.Unlock()
	log := w.logger.With(adapter.F("job-id", j.ID), adapter.F("job-type", j.Type))
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

// cancelAfterGrace calls cancel once grace has passed after ctx is done: at
// once for grace 0, never for a negative grace. The returned func stops it.
func cancelAfterGrace(ctx context.Context, grace time.Duration, cancel func()) (stop func()) {
	var (
		mu    sync.Mutex
		timer *time.Timer
		done  bool
	)
	stopAfter := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case done, grace < 0:
		case grace == 0:
			cancel()
		default:
			timer = time.AfterFunc(grace, cancel)
		}
	})
	return func() {
		stopAfter()
		mu.Lock()
		defer mu.Unlock()
		done = true
		if timer != nil {
			timer.Stop()
		}
	}
}
