package gue

import (
	"context"
	"sync"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// runner works the jobs of a WorkerPool, or of a Worker (a pool of one):
// its lockers lock jobs, and its slots run what they hold, one job or one
// batch at a time each. In the default mode every slot has a locker of its
// own, which runs the job it locked in that slot: the job's commit can then
// carry the locker's next lock. In batch mode batchLockers lockers lock
// batches and hand each to an idle slot (batchFeed).
type runner struct {
	*workerConfig
	slots   []*slot
	lockers []*locker
	// feed is what the lockers of batch mode share, and the idle slots of
	// session mode (nil otherwise).
	feed *batchFeed
	// sess is the lock connection of session mode (nil otherwise).
	sess *sessionLocks
	// wake is fired by the pool's listener (nil while none listens).
	wake *wake.Signal
	// watched: a WorkerPool's runner, whose run cancels its jobs at
	// shutdown all at once (watchShutdown) rather than each job itself.
	watched bool
}

// slot runs one job, or one batch, at a time.
type slot struct {
	*runner
	id       string
	logger   adapter.Logger // the configured one, with the slot's ID
	runChain RunFunc        // the Client's Work hooks around run

	// hard is cancelled by the runner's hardStop and renewed by each run.
	// Each slot has its own: every job registers on it (stopOnShutdown),
	// and one context shared by all the slots took those registrations
	// under one lock.
	hardMu     sync.Mutex
	hard       context.Context
	hardCancel context.CancelFunc

	// uncancelledCtx is uncancelledOf without its cancellation (see
	// uncancelled).
	uncancelledOf, uncancelledCtx context.Context

	// ending is held while the ending of the slot's last job is written,
	// where the slot goes on to its next job meanwhile (session mode, in
	// a pool that locks ahead; see locker.handOn); nil elsewhere.
	ending chan struct{}
}

// locker is a loop that locks jobs: in the default mode it runs each in its
// own slot, in batch mode it hands batches to idle slots.
type locker struct {
	*slot // its own: the default mode runs its jobs there; logs carry its ID
	// cursors find the next job of each lane; their hints are shared by
	// the runner's lockers.
	cursors []*lockCursor
	// next is the lane the loop looks in first (see workOneOrBatch).
	next int
	// pending is the lock of lane pendingLane sent ahead with the last
	// job's commit, which the loop's next lock attempt in that lane reads
	// (see soloTx.commitDelete).
	pending     *pendingLock
	pendingLane int
}

// newRunner returns the runner of cfg (resolved by init) with a slot per
// ID.
func newRunner(cfg *workerConfig, ids []string) *runner {
	r := &runner{workerConfig: cfg, slots: make([]*slot, len(ids))}
	for i, id := range ids {
		s := &slot{runner: r, id: id}
		s.logger = cfg.logTo.With(adapter.F("worker-id", id), adapter.F("queue", queueNames(cfg.lanes)))
		if cfg.c != nil {
			s.runChain = cfg.c.wrapRun(s.run)
		}
		r.slots[i] = s
	}
	lockers := r.slots
	switch {
	case cfg.session:
		// One locker: its statements take turns on the lock connection
		// anyway, and each locks for every idle slot.
		r.feed = newBatchFeed(r.slots)
		if n := sessionAhead(len(r.slots)); n > 0 {
			r.feed.ahead, r.feed.tookAhead = make(chan *Job, n), make(chan struct{}, 1)
			for _, s := range r.slots {
				s.ending = make(chan struct{}, 1)
			}
		}
		lockers = r.slots[:1]
	case cfg.batchSize > 1:
		r.feed = newBatchFeed(r.slots)
		lockers = r.slots[:min(len(r.slots), batchLockers)]
	}
	for i, s := range lockers {
		r.lockers = append(r.lockers, newLocker(s, i))
	}
	return r
}

// newLocker returns the locker of slot s, the n-th of its runner: it looks
// in lane n first, so that a pool's lockers start spread over its queues.
func newLocker(s *slot, n int) *locker {
	lk := &locker{slot: s, cursors: make([]*lockCursor, len(s.lanes))}
	for i, l := range s.lanes {
		lk.cursors[i] = newLockCursor(l.hints)
		// With one queue the next lock is always of that queue, so it can
		// go out with the last job's commit; with several, only while the
		// other lanes are quiet (workLane decides before each lock).
		lk.cursors[i].chain = len(s.lanes) == 1
	}
	if len(s.lanes) > 0 {
		lk.next = n % len(s.lanes)
	}
	return lk
}

// run runs the lockers until ctx ends, then waits for the batches in
// flight.
func (r *runner) run(ctx context.Context) {
	if r.session {
		sessioner, _ := r.c.pool.(adapter.Sessioner) // checked by the pool's start
		r.sess = newSessionLocks(r.c.pool, sessioner, r.stmts, r.inflight, r.logTo, len(r.slots), !r.c.syncCompletion)
		stop := r.sess.start(ctx)
		defer stop() // after the jobs in flight: it closes the lock connection
	}
	if r.watched {
		stop := r.watchShutdown(ctx)
		defer stop() // after the jobs in flight, which it may have to cancel
	}
	var wg sync.WaitGroup
	for _, lk := range r.lockers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lk.loop(ctx)
		}()
	}
	wg.Wait()
	if r.feed != nil {
		r.feed.inflight.Wait()
	}
}

// watchShutdown cancels every job in flight of a WorkerPool's run with
// ErrWorkerStopped, all at once, when the grace period has passed after ctx
// is done (at once for grace 0, never for a negative grace) or at a hard
// stop; a job that starts after that is cancelled as it starts (see
// inFlight.add). The returned func stops the watch: call it once no job
// runs. Before, each job had watchers of its own (stopOnShutdown): two
// registrations on contexts every job shares and about a dozen
// allocations per job, a quarter of session mode's allocations in the
// bench. A lone Worker keeps them, since its WorkOne may run beside Run.
func (r *runner) watchShutdown(ctx context.Context) (stop func()) {
	r.inflight.reopen()
	if len(r.slots) == 0 {
		return func() {}
	}
	// A slot's own watch, with the run's jobs as what it cancels: every
	// slot has the same grace, and hardStop cancels every slot's at once.
	return r.slots[0].stopOnShutdown(ctx, func(cause error) { r.inflight.stopAll(cause) })
}

// renewHardStop gives a starting run fresh hard-stop contexts.
func (r *runner) renewHardStop() {
	for _, s := range r.slots {
		s.hardMu.Lock()
		s.hard, s.hardCancel = context.WithCancel(context.Background())
		s.hardMu.Unlock()
	}
}

// hardStop cancels the current run's hard-stop contexts: no more jobs are
// locked and the contexts of jobs in flight are cancelled at once.
func (r *runner) hardStop() {
	for _, s := range r.slots {
		s.hardMu.Lock()
		if s.hardCancel != nil {
			s.hardCancel()
		}
		s.hardMu.Unlock()
	}
}

// hardStopped returns the context hardStop cancels for the slot's current
// run; a Worker used only through WorkOne is never hard-stopped.
func (s *slot) hardStopped() context.Context {
	s.hardMu.Lock()
	defer s.hardMu.Unlock()
	if s.hard == nil {
		return context.Background()
	}
	return s.hard
}
