package conformance

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// slowScanDelay is how much slowScans slows a scan from the front: 300 ms,
// thirty times a hinted lock on a loaded machine, as hundreds of thousands
// of dead index entries at the front of a queue do.
const slowScanDelay = 300 * time.Millisecond

// slowScans is a pool whose lock statements that scan from the front (the
// ones with empty hint arrays) wait slowScanDelay before they go out: what
// the pile of dead index entries does to them while someone else's
// transaction keeps VACUUM from removing it, and to them only (the hinted
// statements start past the pile). It counts those statements.
type slowScans struct {
	adapter.ConnPool
	full atomic.Int64
}

func (p *slowScans) Begin(ctx context.Context) (adapter.Tx, error) {
	tx, err := p.ConnPool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &slowScanTx{Tx: tx, p: p}, nil
}

type slowScanTx struct {
	adapter.Tx
	p *slowScans
}

// delay waits slowScanDelay and counts the statement when its arguments
// (the queue, then the hints' three arrays) are those of a scan from the
// front.
func (p *slowScans) delay(args []any) {
	if len(args) < 4 {
		return
	}
	if a, ok := args[1].(string); ok && a == "{}" {
		time.Sleep(slowScanDelay)
		p.full.Add(1)
	}
}

func (tx *slowScanTx) QueryRow(ctx context.Context, sql string, args ...any) adapter.Row {
	tx.p.delay(args)
	return tx.Tx.QueryRow(ctx, sql, args...)
}

func (tx *slowScanTx) Query(ctx context.Context, sql string, args ...any) (adapter.Rows, error) {
	tx.p.delay(args)
	return tx.Tx.Query(ctx, sql, args...)
}

// Scans from the front that cost far more than the hinted locks (see
// slowScans) are spaced by their cost, and a job behind the hints, which
// only such a scan finds, still runs: the worker that left a scan out
// looks again when the space ends, not at its next poll (an hour here).
// A backlog worked at a pace keeps the worker busy through its first
// scans from the front (one as it starts, then one a second), so that the
// pool has timed three of them when the backlog ends. The miss that
// follows is not followed by a scan from the front (with cheap scans it
// is: LockHints/*FindJobsBehindThem); the late job is enqueued then.
// Control: without the loop's look when the space ends, the late job
// waits for the poll.
// opts: the pool's mode.
func slowScansAreSpacedNotStarving(opts ...gue.WorkerPoolOption) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		pool := &slowScans{ConnPool: e.pool}
		const backlog, pace = 200, 15 * time.Millisecond
		var (
			worked     atomic.Int64
			fullAtEnd  atomic.Int64 // scans from the front when the backlog's last job ran
			fullAtMiss atomic.Int64 // and when the first lock attempt after it found nothing
			missOnce   sync.Once
			missed     = make(chan struct{})
			lateOnce   sync.Once
			ran        = make(chan struct{})
			enqueued   = make(chan struct{})
			paced      sync.Mutex
		)
		c := gue.NewClient(pool, gue.WithClientHooks(gue.Hooks{Locked: func(_ context.Context, _ string, j *gue.Job, err error) {
			if j == nil && err == nil && worked.Load() == backlog {
				missOnce.Do(func() {
					fullAtMiss.Store(pool.full.Load())
					close(missed)
				})
			}
		}}))
		jobs := make([]*gue.Job, backlog)
		for i := range jobs {
			jobs[i] = &gue.Job{Type: "t", Args: []byte(`"backlog"`)}
		}
		if err := e.client().EnqueueBatch(e.ctx, jobs); err != nil {
			t.Fatal(err)
		}
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
			if string(j.Args) == `"late"` {
				lateOnce.Do(func() { close(ran) })
				return nil
			}
			paced.Lock() // the handlers of a batch run at once: one at a time here
			defer paced.Unlock()
			time.Sleep(pace) // a pace, not a wait
			if worked.Add(1) == backlog {
				fullAtEnd.Store(pool.full.Load())
			}
			return nil
		}}, 1, append([]gue.WorkerPoolOption{gue.WithPoolPollInterval(time.Hour)}, opts...)...)
		go func() {
			defer close(enqueued)
			select {
			case <-missed:
			case <-time.After(time.Minute):
				return // runPoolUntilRan reports it
			}
			e.enqueueArgs(e.client(), "late", 0, time.Now().Add(-time.Hour))
		}()
		runPoolUntilRan(t, p, ran, 45*time.Second, "the job behind the hints did not run within 45 s (poll interval an hour)")
		<-enqueued
		if n := fullAtEnd.Load(); n < 3 {
			t.Fatalf("only %d scans from the front while the backlog ran: want three (lockplan's fullSamples)", n)
		}
		if a, b := fullAtEnd.Load(), fullAtMiss.Load(); a != b {
			t.Errorf("the miss after the backlog scanned from the front (%d scans, then %d), each %s slower than a hinted lock: the scans were not spaced", a, b, slowScanDelay)
		}
	}
}
