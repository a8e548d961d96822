package gue

import (
	"context"
	"sync"

	"github.com/gue-go/gue/core/internal/lockplan"
)

// batchFeed is how a runner in batch mode locks: batchLockers lockers, of
// its first slots, lock every batch and hand each to an idle slot, which
// runs its jobs and commits it while the lockers lock the next ones. A
// lone Worker is a runner of one slot and one locker.
//
// A batch's lock statement skips the rows of every other batch in flight
// (their deletions are uncommitted). With each worker locking for itself,
// poolSize lockers at once each skipped up to poolSize-1 batches: the bench
// measured no-op jobs at 0.19 of the best pool size's jobs/s with 64
// workers × 250. Here the lock statements never outnumber batchLockers,
// and they wait while batchCommitting batches have finished their jobs but
// not committed, so that with quick jobs the batches in flight stay few
// whatever the pool's size; poolSize still bounds them (poolSize × batch
// size jobs at once) when jobs are slow.
type batchFeed struct {
	// idle is the slots with no batch; a batch is locked only once one is
	// free to run it.
	idle chan *slot
	// inflight is the batches being run, for the pool's shutdown.
	inflight sync.WaitGroup

	mu sync.Mutex
	// committing is the batches whose jobs are done and whose commit has
	// not returned; changed is closed (and replaced) when it falls.
	committing int
	changed    chan struct{}

	// ahead is the jobs a pool in session mode locked before a slot was
	// free to run them (see sessionAhead): a slot that ends its job runs
	// the next from here, with no wait for the locker's turn. Nil where
	// the pool locks none ahead, and in batch mode.
	ahead chan *Job
	// tookAhead tells the locker that a slot took a job from ahead, which
	// has room for another (nil with ahead).
	tookAhead chan struct{}
}

// batchLockers is how many loops of a pool in batch mode lock batches at
// once: two, so that one lock statement runs while the other's rows are
// read and handed out (the raw statement did 1.3–1.4 times the jobs/s at 2
// clients as at 1 on 2 cores).
const batchLockers = 2

// batchCommitting is how many batches may be committing before the lockers
// wait: more would be rows for their lock statements to skip.
const batchCommitting = 2

func newBatchFeed(slots []*slot) *batchFeed {
	f := &batchFeed{idle: make(chan *slot, len(slots)), changed: make(chan struct{})}
	for _, s := range slots {
		f.idle <- s
	}
	return f
}

// feedBatch waits for an idle slot (and for the commits to keep up),
// locks up to lk.batchSize jobs of l's queue for it, through cur (the
// loop's own way through l's lock hints), and hands it the batch to run
// in a goroutine of its own. It reports whether a batch was found.
func (lk *locker) feedBatch(ctx context.Context, l *lane, cur *lockplan.Cursor) bool {
	queue := l.queue
	f, hard := lk.feed, lk.hardStopped()
	if !f.waitCommits(ctx, hard) {
		return false
	}
	var runner *slot
	select {
	case runner = <-f.idle:
	case <-ctx.Done():
		return false
	case <-hard.Done():
		return false
	}
	// The wait can outlast the pause check that led here (every worker
	// busy for seconds): look again, or a pause would let the batches
	// locked as workers free up start after PauseQueue's second.
	if l.pause.isPaused(ctx, lk.c, lk.stmts, queue) {
		f.idle <- runner
		return false
	}
	b, jobs := lk.lockForBatch(ctx, queue, lk.batchSize, cur)
	if b == nil {
		f.idle <- runner
		return false
	}
	f.inflight.Add(1)
	go func() {
		defer f.inflight.Done()
		runner.runBatchJobs(ctx, jobs)
		f.setCommitting(+1)
		// The worker is idle again only once its batch has committed (or
		// recorded its failures): handing it back earlier ran small pools'
		// next batches beside the commit, but let a broken batch's rows be
		// locked again before its failures were recorded (BENCHMARKS.md).
		runner.commitBatch(ctx, b, jobs)
		f.setCommitting(-1)
		f.idle <- runner
	}()
	return true
}

// waitCommits waits until fewer than batchCommitting batches are
// committing; false when ctx or hard ended first.
func (f *batchFeed) waitCommits(ctx, hard context.Context) bool {
	f.mu.Lock()
	for f.committing >= batchCommitting {
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-hard.Done():
			return false
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return true
}

func (f *batchFeed) setCommitting(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committing += d
	if d < 0 {
		close(f.changed)
		f.changed = make(chan struct{})
	}
}
