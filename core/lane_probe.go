package gue

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// A pool of several queues (WithPoolQueues) takes them round robin: after a
// job from one queue a worker looks in the next first. Looking means a lock
// transaction, and with one busy queue among many quiet ones every job would
// cost a transaction per quiet queue, and an idle pool's poll one per queue
// per worker. So a lock attempt that finds nothing marks its lane quiet, and
// the workers skip quiet lanes until something says a lane may have a ready
// job: a NOTIFY for its queue, a due timer, or the lanes' probe, one
// statement that asks which of the pool's queues have a ready job, run by
// one worker of the pool at most every probeGap.

// probeGapMax bounds how long a job enqueued into a quiet queue without a
// NOTIFY (polling pools, jobs come due) waits for the probe.
const probeGapMax = 100 * time.Millisecond

// laneProbe is the probe of a pool's lanes; nil for a single lane.
type laneProbe struct {
	sql  string
	args []any
	gap  time.Duration
	last atomic.Int64 // UnixNano of the last probe
	busy sync.Mutex   // one probe at a time; the others skip it
}

// newLaneProbe returns the probe of lanes in the table t, or nil for a
// single lane. The statement is one EXISTS per queue, joined by UNION ALL:
// each is an index seek on the queue, the form Citus plans queue by queue
// (it refuses a correlated subquery over unnest or VALUES).
func newLaneProbe(t string, lanes []*lane, interval time.Duration) *laneProbe {
	if len(lanes) < 2 {
		return nil
	}
	var b strings.Builder
	args := make([]any, len(lanes))
	for i, l := range lanes {
		if i > 0 {
			b.WriteString("\nUNION ALL ")
		}
		p := "$" + strconv.Itoa(i+1)
		b.WriteString("SELECT " + p + "::text WHERE EXISTS (SELECT 1 FROM " + t + " WHERE queue = " + p + " AND run_at <= now())")
		args[i] = l.queue
	}
	return &laneProbe{sql: b.String(), args: args, gap: min(interval, probeGapMax)}
}

// refresh runs the probe when a lane is quiet and the last probe is older
// than the gap, and wakes the lanes it finds a ready job in. A failed probe
// wakes every lane: the lock attempts then report the failure as usual.
// release is called before the probe takes a connection: the caller's
// lock sent ahead with its last commit holds one, and with every worker's
// held a pool no larger than its workers would have none for the probe.
func (p *laneProbe) refresh(ctx context.Context, db adapter.Queryable, lanes []*lane, release func()) {
	if p == nil || !anyQuiet(lanes) || time.Since(time.Unix(0, p.last.Load())) < p.gap || !p.busy.TryLock() {
		return
	}
	defer p.busy.Unlock()
	release()
	p.last.Store(time.Now().UnixNano())
	rows, err := db.Query(ctx, p.sql, p.args...)
	if err != nil {
		wakeLanes(lanes)
		return
	}
	defer rows.Close()
	ready := make(map[string]bool)
	for rows.Next() {
		var q string
		if rows.Scan(&q) == nil {
			ready[q] = true
		}
	}
	if rows.Err() != nil {
		wakeLanes(lanes)
		return
	}
	for _, l := range lanes {
		if ready[l.queue] {
			l.wake()
		}
	}
}
