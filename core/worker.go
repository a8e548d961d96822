package gue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
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
	// workerConfig is shared with the other workers of a WorkerPool.
	*workerConfig
	id     string
	logger adapter.Logger // the configured one, with this worker's ID
	// wake, shared by the workers of a pool, is fired by its listener.
	wake *wake.Signal
	// cursors find the next job of each lane; their hints are shared by a
	// pool's workers. Used by the loop only.
	cursors []*lockCursor
	// next is the lane the loop looks in first (see workOneOrBatch).
	next int
	// pending is the lock of lane pendingLane sent ahead with the last
	// job's commit, which the loop's next lock attempt in that lane reads
	// (see soloTx.commitDelete). Loop-owned, like cursors.
	pending     *pendingLock
	pendingLane int
	// feed, set on the first batchLockers workers of a pool in batch mode,
	// makes their loops the pool's lockers (see batchFeed); every worker
	// runs the batches they lock, and the others have no loop. A locker
	// that finds work keeps looking itself: it wakes no other.
	feed     *batchFeed
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
	w.init("worker "+w.id, 0)
	return w.start(0)
}

// start completes a Worker whose configuration is resolved; the n-th worker
// of a pool looks in lane n first, so that a pool's workers start spread
// over its queues.
func (w *Worker) start(n int) *Worker {
	w.cursors = make([]*lockCursor, len(w.lanes))
	for i, l := range w.lanes {
		w.cursors[i] = newLockCursor(l.hints)
		// With one queue the next lock is always of that queue, so it can
		// go out with the last job's commit; with several, only while the
		// other lanes are quiet (workLane decides before each lock).
		w.cursors[i].chain = len(w.lanes) == 1
	}
	if len(w.lanes) > 0 {
		w.next = n % len(w.lanes)
	}
	w.logger = w.logTo.With(adapter.F("worker-id", w.id), adapter.F("queue", queueNames(w.lanes)))
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
	defer w.due.Stop()
	w.loop(ctx)
}

// dropPending rolls back the lock sent ahead with the worker's last commit,
// if any, which leaves its job to the next worker: the worker stops, or
// will not lock from that queue now.
func (w *Worker) dropPending(ctx context.Context) {
	if w.pending != nil {
		w.cursors[w.pendingLane].giveBack(ctx, w.pending)
		w.pending = nil
	}
}

// takePending returns the lock sent ahead in lane k, if any, and forgets it.
func (w *Worker) takePending(k int) *pendingLock {
	if w.pending == nil || w.pendingLane != k {
		return nil
	}
	p := w.pending
	w.pending = nil
	return p
}

// hasPending reports whether a lock was sent ahead in lane k.
func (w *Worker) hasPending(k int) bool { return w.pending != nil && w.pendingLane == k }

// loop polls: straight on after a job, PollInterval after finding none.
func (w *Worker) loop(ctx context.Context) {
	w.logger.Debug("worker started")
	defer w.logger.Debug("worker stopped")
	hard := w.hardStopped()
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer w.dropPending(ctx) // a lock sent with the last commit, if the loop stops before reading it
	busy := false            // the last attempt worked a job
	wokenMiss := false       // a wake-up found nothing ready: the job may be due within wake.Ahead
	for {
		if ctx.Err() != nil || hard.Err() != nil {
			return
		}
		if busy = w.workOneOrBatch(ctx, busy); busy {
			continue
		}
		w.lookAhead(ctx)
		wait := jitter(w.interval)
		if wokenMiss {
			wait = min(wait, wake.Ahead)
			wokenMiss = false
		}
		if anyPaused(w.lanes) {
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
		case <-w.due.C():
			if !timer.Stop() {
				<-timer.C
			}
			wakeLanes(w.lanes) // a job came due: in which lane is not known
			if busy = w.workOneOrBatch(ctx, false); !busy {
				w.due.Missed()
			}
		case <-timer.C:
		case <-woken:
			if !timer.Stop() {
				<-timer.C
			}
			switch busy = w.workOneOrBatch(ctx, false); {
			case !busy:
				wokenMiss = true
			case w.feed == nil:
				w.wake.Fire() // there may be more: wake another idle worker
			}
		}
	}
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
	if w.err != nil {
		w.logger.Error("worker misconfigured", adapter.Err(w.err))
		return false
	}
	for _, l := range w.lanes {
		if l.pause.isPaused(ctx, w.c, w.stmts, l.queue) {
			continue
		}
		// A cursor of its own (sharing the hints), which sends no lock
		// ahead: WorkOne may run beside Run.
		if worked, _ := w.workOne(ctx, l.queue, newLockCursor(l.hints), nil); worked {
			return true
		}
	}
	return false
}

// workOne locks a job of queue along cur, reading pending first (the lock
// sent with the last job's commit, nil: none), and works it. It returns the
// lock that job's commit sent ahead, if any.
func (w *Worker) workOne(ctx context.Context, queue string, cur *lockCursor, pending *pendingLock) (didWork bool, next *pendingLock) {
	j, err := w.c.lockJob(ctx, w.stmts, queue, cur, pending)
	if err != nil {
		if ctx.Err() == nil {
			w.c.outage.Failed(w.logger, err)
		}
		return false, nil
	}
	w.c.outage.Succeeded(w.logger)
	if j == nil {
		return false, nil
	}
	if ctx.Err() != nil || w.hardStopped().Err() != nil {
		// Shutdown began while the lock query ran: leave the job to others.
		_ = j.rollback(context.WithoutCancel(ctx))
		return false, nil
	}
	return true, w.work(ctx, j)
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
