package conformance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// dueCases is the suite's Due group: jobs due later start when due, not at
// the next poll. Every pool here polls once an hour, so a job that runs at
// all was woken by the due timer.
var dueCases = []testCase{
	{"RetryWakesThePool", testDueRetryWakesThePool},
	{"FutureJobFromElsewhere", testDueFutureJobFromElsewhere},
	{"LookAheadFindsFutureJobs", testDueLookAheadFindsFutureJobs},
	{"ComesDueBetweenMissAndLookAhead", testDueBetweenMissAndLookAhead},
}

// A pool's own failure (backoff 200ms) and snooze wake it again.
func testDueRetryWakesThePool(t *testing.T, e *env) {
	for _, m := range modes {
		c := e.client(gue.WithClientBackoff(gue.ConstantBackoff(200 * time.Millisecond)))
		q := "due-retry-" + m.name
		e.enqueue(c, &gue.Job{Type: "flaky", Queue: q})
		e.enqueue(c, &gue.Job{Type: "sleepy", Queue: q})
		var flaky, sleepy atomic.Int32
		p := gue.NewWorkerPool(c, gue.WorkMap{
			"flaky": func(*gue.Job) error {
				if flaky.Add(1) == 1 {
					return errors.New("first run fails")
				}
				return nil
			},
			"sleepy": func(*gue.Job) error {
				if sleepy.Add(1) == 1 {
					return gue.Snooze(300 * time.Millisecond)
				}
				return nil
			},
		}, 2, gue.WithPoolQueue(q), gue.WithPoolBatchSize(m.batch), gue.WithPoolPollInterval(time.Hour), gue.WithPoolListen(false))
		done := make(chan struct{})
		go func() {
			waitFor(t, "the retried and the snoozed job", func() bool { return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, q) == 0 })
			close(done)
		}()
		runPoolUntil(t, p, done)
		if flaky.Load() != 2 || sleepy.Load() != 2 {
			t.Errorf("%s: runs flaky %d, sleepy %d; want 2 each", m.name, flaky.Load(), sleepy.Load())
		}
	}
}

// A job enqueued elsewhere for 500ms later is announced to listening pools
// with its run_at.
func testDueFutureJobFromElsewhere(t *testing.T, e *env) {
	need[adapter.Listener](t, e, capListen)
	for _, m := range modes {
		c := e.client()
		q := "due-notify-" + m.name
		ran := make(chan time.Time, 1)
		p := gue.NewWorkerPool(c, gue.WorkMap{"later": func(*gue.Job) error { ran <- time.Now(); return nil }}, 2,
			gue.WithPoolQueue(q), gue.WithPoolBatchSize(m.batch), gue.WithPoolPollInterval(time.Hour))
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Let the pool go idle (its look-ahead finds nothing), then enqueue.
			waitFor(t, "the pool to listen", func() bool {
				return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`) > 0 || Citus()
			})
			time.Sleep(100 * time.Millisecond)
			j := e.enqueue(e.client(), &gue.Job{Type: "later", Queue: q, RunAt: time.Now().Add(500 * time.Millisecond)})
			select {
			case at := <-ran:
				t.Logf("%s: started %s after its run_at", m.name, at.Sub(j.RunAt).Round(time.Millisecond))
			case <-time.After(time.Minute):
				t.Errorf("%s: the job due in 500ms did not run within a minute (the pool polls hourly)", m.name)
			}
		}()
		runPoolUntil(t, p, done)
	}
}

// A job enqueued for later before the pool started is found by the pool's
// look-ahead, with no listener.
func testDueLookAheadFindsFutureJobs(t *testing.T, e *env) {
	for _, m := range modes {
		c := e.client()
		q := "due-ahead-" + m.name
		j := e.enqueue(c, &gue.Job{Type: "later", Queue: q, RunAt: time.Now().Add(700 * time.Millisecond)})
		ran := make(chan time.Time, 1)
		p := gue.NewWorkerPool(c, gue.WorkMap{"later": func(*gue.Job) error { ran <- time.Now(); return nil }}, 2,
			gue.WithPoolQueue(q), gue.WithPoolBatchSize(m.batch), gue.WithPoolPollInterval(time.Hour), gue.WithPoolListen(false))
		done := make(chan struct{})
		go func() {
			defer close(done)
			select {
			case at := <-ran:
				if at.Before(j.RunAt.Add(-50 * time.Millisecond)) {
					t.Errorf("%s: ran %s before its run_at", m.name, j.RunAt.Sub(at))
				}
				t.Logf("%s: started %s after its run_at", m.name, at.Sub(j.RunAt).Round(time.Millisecond))
			case <-time.After(time.Minute):
				t.Errorf("%s: the future job did not run within a minute (the pool polls hourly, without LISTEN)", m.name)
			}
		}()
		runPoolUntil(t, p, done)
	}
}

// A job that comes due after a poll's lock attempt missed it and before
// the look-ahead's statement is no future job to the look-ahead: it still
// runs at once, not at the next poll (hourly here, without LISTEN). The
// Locked hook holds the pool's first miss until the job is due; on a
// loaded server the same order happens by itself (seen on pgx v4).
func testDueBetweenMissAndLookAhead(t *testing.T, e *env) {
	for _, m := range modes {
		q := "due-between-" + m.name
		runAt := time.Now().Add(300 * time.Millisecond)
		var once sync.Once
		c := e.client(gue.WithClientHooks(gue.Hooks{Locked: func(_ context.Context, queue string, j *gue.Job, err error) {
			if queue == q && j == nil && err == nil {
				once.Do(func() { time.Sleep(time.Until(runAt) + 50*time.Millisecond) })
			}
		}}))
		e.enqueue(c, &gue.Job{Type: "later", Queue: q, RunAt: runAt})
		ran := make(chan struct{})
		p := gue.NewWorkerPool(c, gue.WorkMap{"later": func(*gue.Job) error { close(ran); return nil }}, 1,
			gue.WithPoolQueue(q), gue.WithPoolBatchSize(m.batch), gue.WithPoolPollInterval(time.Hour), gue.WithPoolListen(false))
		runPoolUntilRan(t, p, ran, 30*time.Second,
			m.name+": the job that came due between a miss and the look-ahead did not run within 30 s (the pool polls hourly)")
	}
}
