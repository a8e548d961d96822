package gue

import (
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

// laneCounts are a lane's counters of finished runs, read by the registry.
type laneCounts struct {
	worked, failed atomic.Int64
}
