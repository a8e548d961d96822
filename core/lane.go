package gue

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gue-go/gue/core/internal/lockplan"
)

// lane is one queue a Worker or WorkerPool works, with what its workers
// share about it: whether it is paused and where its lock hints stand. A
// pool of several queues (WithPoolQueues) has one lane per queue; every lock
// statement is about one lane's queue, so on a table distributed by queue
// (Citus) each goes to one shard.
type lane struct {
	queue string
	pause *pauseCache
	hints *lockplan.Hints
	// counts are the pool's finished runs of the queue (the registry's).
	counts laneCounts
	// quiet: the last lock attempt in the lane found nothing; the workers
	// of a pool of several queues skip it until a NOTIFY, a due timer or
	// the lanes' probe says it may have a ready job (lane_probe.go).
	quiet atomic.Bool
	// wakes counts the wake-ups, so that a lock attempt that began before
	// one does not mark the lane quiet after it (markQuiet).
	wakes atomic.Uint64
}

// wake clears the lane's quiet mark: it may have a ready job.
func (l *lane) wake() {
	l.wakes.Add(1)
	l.quiet.Store(false)
}

// markQuiet marks the lane quiet after a lock attempt found nothing, unless
// a wake-up came since the attempt began (seen is wakes then): the job it
// announces may have committed after the attempt's snapshot, and without
// the mark it is looked for at once instead of at the next probe. A
// wake-up racing with this either clears the mark after it is set or is
// seen by the check after it.
func (l *lane) markQuiet(seen uint64) {
	l.quiet.Store(true)
	if l.wakes.Load() != seen {
		l.quiet.Store(false)
	}
}

// newLanes returns one lane per queue; emptyGap is the lock hints' (see
// lockplan.NewHints).
func newLanes(queues []string, emptyGap time.Duration) []*lane {
	lanes := make([]*lane, len(queues))
	for i, q := range queues {
		lanes[i] = &lane{queue: q, pause: &pauseCache{}, hints: lockplan.NewHints(emptyGap)}
	}
	return lanes
}

// checkQueues reports a list of queues a pool cannot work: none, or one
// named twice.
func checkQueues(queues []string) error {
	if len(queues) == 0 {
		return fmt.Errorf("%w: no queue given", ErrInvalidQueues)
	}
	seen := make(map[string]bool, len(queues))
	for _, q := range queues {
		if seen[q] {
			return fmt.Errorf("%w: queue %q named twice", ErrInvalidQueues, q)
		}
		seen[q] = true
	}
	return nil
}

// queueNames is the queues of lanes for logs: one name, or several joined
// by commas.
func queueNames(lanes []*lane) string {
	names := make([]string, len(lanes))
	for i, l := range lanes {
		names[i] = l.queue
	}
	return strings.Join(names, ",")
}

// anyPaused reports whether a lane was paused when last looked at.
func anyPaused(lanes []*lane) bool {
	for _, l := range lanes {
		if l.pause.paused.Load() {
			return true
		}
	}
	return false
}

// anyQuiet reports whether a lane is marked quiet.
func anyQuiet(lanes []*lane) bool {
	for _, l := range lanes {
		if l.quiet.Load() {
			return true
		}
	}
	return false
}

// othersQuiet reports whether every lane but k is quiet: a worker that
// finishes a job of lane k would then look in lane k next, so that job's
// commit may carry the next lock of lane k (lockCursor.chain), as in a pool
// of one queue. A lane that wakes meanwhile waits for that one job. A paused
// lane is never marked quiet, and must not be: the worker looks whether it
// was resumed when its turn comes.
func othersQuiet(lanes []*lane, k int) bool {
	for i, l := range lanes {
		if i != k && !l.quiet.Load() {
			return false
		}
	}
	return true
}

// wakeLanes clears every lane's quiet mark.
func wakeLanes(lanes []*lane) {
	for _, l := range lanes {
		l.wake()
	}
}

// workOneOrBatch works one job, or one batch in batch mode, from the first
// lane that has one, and reports whether there was any. Lanes are tried
// round robin: after a job from one lane the worker starts at the next, so
// a busy queue does not starve the others, and within a queue jobs come in
// its own order (Priority, then RunAt). fromJob says the worker comes
// straight from a job rather than from a wake-up or a poll (see
// lockplan.Hints.RescanAfterMiss).
func (lk *locker) workOneOrBatch(ctx context.Context, fromJob bool) bool {
	n := len(lk.lanes)
	lk.probe.refresh(ctx, lk.c.pool, lk.lanes, func() { lk.dropPending(ctx) })
	for i := range n {
		k := (lk.next + i) % n
		l := lk.lanes[k]
		if n > 1 && l.quiet.Load() && !lk.hasPending(k) {
			continue
		}
		seen := l.wakes.Load()
		if lk.workLane(ctx, k, fromJob) {
			lk.next = (k + 1) % n
			if lk.hasPending(k) {
				lk.next = k // its next lock went out with the commit: read it first
			}
			return true
		}
		if n > 1 && !l.pause.paused.Load() {
			l.markQuiet(seen)
		}
	}
	return false
}

// workLane works one job or batch of lane k with the loop's own cursor.
func (lk *locker) workLane(ctx context.Context, k int, fromJob bool) bool {
	l := lk.lanes[k]
	if !l.pause.fresh() {
		// A look-up takes a connection, and the lock sent with this
		// worker's last commit holds the worker's own: with every worker's
		// held, a pool no larger than its workers would have none left for
		// the look-up nor for the workers that wait for it. The job goes
		// back to the queue; it costs a lock every pauseRefresh.
		lk.dropPending(ctx)
	}
	if l.pause.isPaused(ctx, lk.c, lk.stmts, l.queue) {
		lk.dropPending(ctx) // paused since the last job's commit
		return false
	}
	if lk.feed != nil {
		return lk.feedBatch(ctx, l)
	}
	cur := lk.cursors[k] // the loop's own: one goroutine
	cur.plan.FromJob = fromJob
	if len(lk.lanes) > 1 {
		cur.chain = othersQuiet(lk.lanes, k)
	}
	if !lk.hasPending(k) {
		lk.dropPending(ctx) // another lane's, not read now: it would hold a connection
	}
	worked, next := lk.workOne(ctx, l.queue, cur, lk.takePending(k))
	if next != nil {
		lk.pending, lk.pendingLane = next, k
	}
	return worked
}
