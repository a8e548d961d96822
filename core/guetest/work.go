package guetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// WorkOne locks the next ready job of queue and works it through wm, with
// the real engine: a Worker of client, so the Client's hooks, backoff, max
// attempts, async completion and the job's transaction all apply as in
// production. It returns how the run ended. It fails t when no job could
// be locked: none is ready (or the queue is paused), or the lock failed.
func WorkOne(t testing.TB, client *gue.Client, wm gue.WorkMap, queue string) gue.Outcome {
	t.Helper()
	if client == nil {
		t.Fatalf("guetest: WorkOne with a nil Client")
	}
	var (
		mu      sync.Mutex
		outcome gue.Outcome
		ran     bool
		lockErr error
	)
	hooks := gue.Hooks{
		Work: func(next gue.RunFunc) gue.RunFunc {
			return func(ctx context.Context, j *gue.Job) error {
				err := next(ctx, j) // innermost: the run's own error, whatever the Client's hooks make of it
				mu.Lock()
				outcome, ran = gue.OutcomeOf(err), true
				mu.Unlock()
				return err
			}
		},
		Locked: func(_ context.Context, _ string, _ *gue.Job, err error) {
			mu.Lock()
			lockErr = err
			mu.Unlock()
		},
	}
	w := gue.NewWorker(client, wm, gue.WithWorkerQueue(queue), gue.WithWorkerHooks(hooks))
	ctx, cancel := context.WithTimeout(context.Background(), lookTimeout)
	defer cancel()
	worked := w.WorkOne(ctx)
	mu.Lock()
	defer mu.Unlock()
	switch {
	case lockErr != nil:
		t.Fatalf("guetest: WorkOne on queue %s: the lock failed: %v", quoted(queue), lockErr)
	case !worked || !ran:
		t.Fatalf("guetest: WorkOne on queue %s: no job is ready (or the queue is paused)", quoted(queue))
	}
	return outcome
}

// DrainTimeout bounds Drain unless the test's deadline is sooner.
const DrainTimeout = time.Minute

// Drain runs a WorkerPool of n workers of client on queue, with wm, until
// the queue has no ready job and none running, then stops it and returns
// how many runs ended each way. Jobs that fail or snooze are rescheduled and
// left for later, as in production; a job that keeps coming back ready (a
// snooze of 0, say) keeps the pool busy until DrainTimeout, which fails t.
// opts go to the pool after Drain's own (the queue, a short poll interval,
// its hooks), so they may change them, the queue excepted.
func Drain(t testing.TB, client *gue.Client, wm gue.WorkMap, queue string, n int, opts ...gue.WorkerPoolOption) map[gue.Outcome]int {
	t.Helper()
	if client == nil {
		t.Fatalf("guetest: Drain with a nil Client")
	}
	if n < 1 {
		t.Fatalf("guetest: Drain with %d workers; want at least 1", n)
	}
	var (
		mu       sync.Mutex
		counts   = map[gue.Outcome]int{}
		locked   int // jobs locked and not ended yet
		lastLock error
	)
	changed := make(chan struct{}, 1)
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	hooks := gue.Hooks{
		Locked: func(_ context.Context, _ string, j *gue.Job, err error) {
			mu.Lock()
			if j != nil {
				locked++
			}
			lastLock = err
			mu.Unlock()
		},
		Work: func(next gue.RunFunc) gue.RunFunc {
			return func(ctx context.Context, j *gue.Job) error {
				err := next(ctx, j)
				mu.Lock()
				counts[gue.OutcomeOf(err)]++
				locked--
				mu.Unlock()
				signal()
				return err
			}
		},
	}
	all := append([]gue.WorkerPoolOption{gue.WithPoolPollInterval(50 * time.Millisecond), gue.WithPoolHooks(hooks)}, opts...)
	all = append(all, gue.WithPoolQueue(queue))
	pool := gue.NewWorkerPool(client, wm, n, all...)

	timeout := DrainTimeout
	if d, ok := deadline(t); ok && time.Until(d) < timeout {
		timeout = time.Until(d) * 9 / 10
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	give := time.NewTimer(timeout)
	defer give.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Fatalf("guetest: Drain on queue %s: the pool stopped: %v", quoted(queue), err)
		case <-give.C:
			stop()
			<-done
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("guetest: Drain on queue %s: still busy after %s (%d jobs in flight, outcomes so far %v, last lock error %v)",
				quoted(queue), timeout.Round(time.Millisecond), locked, counts, lastLock)
		case <-changed:
		case <-tick.C:
		}
		mu.Lock()
		busy := locked > 0
		mu.Unlock()
		if busy {
			continue
		}
		ready, err := readyJobs(client, queue)
		if err != nil {
			stop()
			<-done
			t.Fatalf("guetest: Drain on queue %s: %v", quoted(queue), err)
		}
		mu.Lock()
		busy = locked > 0 // a job locked while we looked: look again after it
		mu.Unlock()
		if ready == 0 && !busy {
			stop()
			if err := <-done; err != nil {
				t.Fatalf("guetest: Drain on queue %s: the pool: %v", quoted(queue), err)
			}
			mu.Lock()
			defer mu.Unlock()
			return counts
		}
	}
}

// readyJobs counts (up to 1) the ready jobs of queue, locked ones too.
func readyJobs(c *gue.Client, queue string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), lookTimeout)
	defer cancel()
	page, err := c.ListJobs(ctx, gue.JobFilter{Queue: queue, QueueSet: true, State: gue.StateReady, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("look for ready jobs: %w", err)
	}
	return len(page.Jobs), nil
}

// deadline is t's deadline, for a *testing.T.
func deadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}
