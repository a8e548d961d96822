package gue

import (
	"context"
	"fmt"
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

// Worker locks and works jobs of one queue, one at a time (or a batch at a
// time, see WithWorkerBatchSize).
type Worker struct {
	// A Worker is a pool of one: the runner of a WorkerPool, with a single
	// slot.

	// workerConfig is what the options set; the runner shares it.
	*workerConfig
	id      string
	r       *runner
	running sync.Mutex
}

// NewWorker returns a Worker that runs the jobs of c's database through wm.
func NewWorker(c *Client, wm WorkMap, options ...WorkerOption) *Worker {
	w := &Worker{workerConfig: newWorkerConfig(c, wm), id: newID("worker")}
	for _, o := range options {
		o(w)
	}
	w.init("worker "+w.id, 0)
	w.r = newRunner(w.workerConfig, []string{w.id})
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
	w.r.renewHardStop()
	return nil
}

// HardStop stops a running worker at once, without a grace period: the
// worker locks no more jobs, the context of the job in flight is cancelled,
// and if its WorkFunc then returns an error the job's transaction is rolled
// back, returning the job to the queue untouched. Meant for a second shutdown
// signal, after Run's context was cancelled. A later Run starts afresh.
func (w *Worker) HardStop() { w.r.hardStop() }

// watchedLoop runs the Worker's runner, with its jobs watched for
// Client.Cancel.
func (w *Worker) watchedLoop(ctx context.Context) {
	stop := w.watch(ctx, nil, w.r.slots[0].logger)
	defer stop()
	defer w.due.Stop()
	w.r.run(ctx)
}

// WorkOne locks one ready job of the worker's queue, works it and ends its
// transaction. It reports whether a job was found; it never panics because of
// a WorkFunc, and errors are logged and recorded on the job.
func (w *Worker) WorkOne(ctx context.Context) (didWork bool) {
	if w.err != nil {
		w.r.slots[0].logger.Error("worker misconfigured", adapter.Err(w.err))
		return false
	}
	for _, l := range w.lanes {
		if l.pause.isPaused(ctx, w.c, w.stmts, l.queue) {
			continue
		}
		// A cursor of its own (sharing the hints), which sends no lock
		// ahead: WorkOne may run beside Run.
		if worked, _ := w.r.slots[0].workOne(ctx, l.queue, newLockCursor(l.hints), nil); worked {
			return true
		}
	}
	return false
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
