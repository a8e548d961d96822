package conformance

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// queuesCases is the suite's Queues group: one pool on several queues
// (WithPoolQueues), in default and batch mode.
var queuesCases = []testCase{
	{"PoolWorksEveryQueue", testQueuesPoolWorksEveryQueue},
	{"RoundRobin", testQueuesRoundRobin},
	{"PausePerQueue", testQueuesPausePerQueue},
	{"QuietQueuesCostNoLockPerJob", testQueuesQuietQueuesCostNoLockPerJob},
	{"IdleCostFlatInQueues", testQueuesIdleCostFlatInQueues},
}

// An idle pool's statements a second do not grow with its number of queues:
// a pool of 60 idle queues sends about what a pool of 2 does (its polls,
// the lanes' probe, one look-ahead a half poll interval), not a look-up per
// queue. The statements are counted on their way to the adapter.
func testQueuesIdleCostFlatInQueues(t *testing.T, e *env) {
	const window = time.Second
	rate := func(mode string, batch, queues int) float64 {
		pool := &countingPool{ConnPool: e.pool}
		var mu sync.Mutex
		tried := map[string]bool{} // the queues a lock found empty
		c := gue.NewClient(pool, gue.WithClientHooks(gue.Hooks{Locked: func(_ context.Context, q string, j *gue.Job, err error) {
			if j == nil && err == nil {
				mu.Lock()
				tried[q] = true
				mu.Unlock()
			}
		}}))
		qs := make([]string, queues)
		for i := range qs {
			qs[i] = fmt.Sprintf("%s-idle%d-%02d", mode, queues, i)
		}
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error { return nil }}, 2,
			gue.WithPoolQueues(qs...), gue.WithPoolBatchSize(batch), gue.WithPoolPollInterval(40*time.Millisecond), gue.WithPoolListen(false))
		var n float64
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Counted from when the first round, a lock in every lane, is over.
			waitFor(t, "a lock tried in every queue", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(tried) == queues
			})
			n0 := pool.n.Load()
			time.Sleep(window)
			n = float64(pool.n.Load()-n0) / window.Seconds()
		}()
		runPoolUntil(t, p, done)
		return n
	}
	for _, m := range modes {
		few, many := rate(m.name, m.batch, 2), rate(m.name, m.batch, 60)
		t.Logf("%s: an idle pool sends %.0f statements a second on 2 queues, %.0f on 60", m.name, few, many)
		if many > 2*few+10 {
			t.Errorf("%s: an idle pool of 60 queues sends %.0f statements a second, one of 2 queues %.0f; want about the same", m.name, many, few)
		}
	}
}

// countingPool counts the statements and transactions sent through its
// pool (a transaction's own statements are not counted: they are its
// Begin's).
type countingPool struct {
	adapter.ConnPool
	n atomic.Int64
}

func (p *countingPool) Exec(ctx context.Context, sql string, args ...any) (adapter.CommandTag, error) {
	p.n.Add(1)
	return p.ConnPool.Exec(ctx, sql, args...)
}

func (p *countingPool) QueryRow(ctx context.Context, sql string, args ...any) adapter.Row {
	p.n.Add(1)
	return p.ConnPool.QueryRow(ctx, sql, args...)
}

func (p *countingPool) Query(ctx context.Context, sql string, args ...any) (adapter.Rows, error) {
	p.n.Add(1)
	return p.ConnPool.Query(ctx, sql, args...)
}

func (p *countingPool) Begin(ctx context.Context) (adapter.Tx, error) {
	p.n.Add(1)
	return p.ConnPool.Begin(ctx)
}

// A pool of one busy queue among 49 quiet ones does not try each quiet
// queue after each job (each try is a lock transaction): the busy queue's
// jobs cost 49 tries each before the lanes' probe, and a handful in all
// after. A job enqueued into a quiet queue meanwhile is still found while
// the busy queue works down (fairness), by its NOTIFY or by the probe.
func testQueuesQuietQueuesCostNoLockPerJob(t *testing.T, e *env) {
	// Two workers: with the listener and the probe they fit the smallest
	// pool an adapter opens by default (pgxpool: 4 connections on a small
	// machine); four workers in batch mode held them all, and the probe
	// and the LISTEN waited for one until the busy queue was done.
	const quiet, workers = 49, 2
	jobs := 1000
	if Citus() {
		jobs = 400 // each lock goes through the coordinator: a few hundred a second at most
	}
	for _, m := range modes {
		var mu sync.Mutex
		misses, worked, trickleAt, committedAt := 0, 0, -1, -1
		committed, trickleRan := make(chan struct{}), make(chan struct{})
		c := e.client(gue.WithClientHooks(gue.Hooks{Locked: func(_ context.Context, q string, j *gue.Job, err error) {
			if j == nil && err == nil && q != m.name+"-busy" && q != m.name+"-q48" {
				mu.Lock()
				misses++
				mu.Unlock()
			}
		}}))
		qs := []string{m.name + "-busy"}
		for i := range quiet {
			qs = append(qs, fmt.Sprintf("%s-q%02d", m.name, i))
		}
		// The trickle job's enqueue has connections of its own: on the
		// pool's, it could wait for one until the busy queue is done (the
		// workers and the listener hold them all when the pool is small).
		outsidePool := e.open(t, e.dsn)
		if _, err := outsidePool.Exec(e.ctx, `SELECT 1`); err != nil { // connected before it is needed
			t.Fatal(err)
		}
		outside := gue.NewClient(outsidePool)
		busy := make([]*gue.Job, jobs)
		for i := range busy {
			busy[i] = &gue.Job{Type: "t", Queue: qs[0]}
		}
		if err := c.EnqueueBatch(e.ctx, busy); err != nil {
			t.Fatal(err)
		}
		p := gue.NewWorkerPool(c, gue.WorkMap{
			"t": func(*gue.Job) error {
				mu.Lock()
				worked++
				n := worked
				mu.Unlock()
				switch {
				case n == jobs/10:
					// The trickle job goes in while the busy queue works; the
					// busy jobs after this one wait for its commit, so that a
					// slow commit cannot let the busy queue finish first.
					if err := outside.Enqueue(e.ctx, &gue.Job{Type: "trickle", Queue: m.name + "-q48"}); err != nil {
						t.Errorf("enqueue the trickle job: %v", err)
					}
					mu.Lock()
					committedAt = worked
					mu.Unlock()
					close(committed)
				case n > jobs/10:
					<-committed
					// Paced until the trickle job has run: no-op jobs in
					// batches can work the busy queue down faster than one
					// probe of 49 quiet queues answers (on Citus it is a
					// statement per queue through the coordinator, 100–200
					// ms on a quiet machine and more under load), and the
					// case would then judge that race, not whether the
					// trickle job is found at all. Never found, the busy
					// queue still ends (in a few seconds) and the check
					// below fails.
					select {
					case <-trickleRan:
					case <-time.After(busyPace):
					}
				}
				return nil
			},
			"trickle": func(*gue.Job) error {
				mu.Lock()
				defer mu.Unlock()
				if trickleAt < 0 {
					close(trickleRan)
				}
				trickleAt = worked
				return nil
			},
		}, workers, gue.WithPoolQueues(qs...), gue.WithPoolBatchSize(m.batch), gue.WithPoolPollInterval(20*time.Millisecond))
		done := make(chan struct{})
		go func() {
			waitFor(t, "the busy queue worked down and the trickle job", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return worked == jobs && trickleAt >= 0
			})
			close(done)
		}()
		runPoolUntil(t, p, done)
		mu.Lock()
		// Before the probe: about jobs × quiet tries (49,000). A try of a
		// quiet lane now follows a wake-up of every lane (the LISTEN
		// connection's start, a due timer): a few rounds of 49 per worker.
		if limit := jobs * quiet / 20; misses > limit {
			t.Errorf("%s: %d lock attempts in the quiet queues while %d jobs of the busy one were worked; want at most %d", m.name, misses, jobs, limit)
		}
		if trickleAt < 0 || trickleAt == jobs {
			t.Errorf("%s: the quiet queue's job was worked after %d of the busy queue's %d jobs; want it found while they were worked", m.name, trickleAt, jobs)
		}
		t.Logf("%s: %d tries of quiet queues for %d jobs; the trickle job ran after %d busy ones (enqueued after %d, committed after %d)", m.name, misses, jobs, trickleAt, jobs/10, committedAt)
		mu.Unlock()
	}
}

// busyPace is the time each busy job of QuietQueuesCostNoLockPerJob takes
// once the trickle job is in and until it has run.
const busyPace = 50 * time.Millisecond

// modes are the pool modes every Queues and Periodic case runs in.
var modes = []struct {
	name  string
	batch int
}{{"default", 0}, {"batch", 5}}

func testQueuesPoolWorksEveryQueue(t *testing.T, e *env) {
	c := e.client()
	for _, m := range modes {
		qs := []string{m.name + "-a", m.name + "-b", m.name + "-c"}
		for _, q := range qs {
			for range 10 {
				e.enqueue(c, &gue.Job{Type: "t", Queue: q})
			}
		}
		other := e.enqueue(c, &gue.Job{Type: "t", Queue: m.name + "-other"})
		var mu sync.Mutex
		worked := map[string]int{}
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
			mu.Lock()
			defer mu.Unlock()
			worked[j.Queue]++
			return nil
		}}, 2, gue.WithPoolQueues(qs...), gue.WithPoolBatchSize(m.batch), gue.WithPoolPollInterval(20*time.Millisecond))
		done := make(chan struct{})
		go func() {
			waitFor(t, "every queue's jobs", func() bool {
				return e.left(qs...) == 0
			})
			close(done)
		}()
		runPoolUntil(t, p, done)
		for _, q := range qs {
			if worked[q] != 10 {
				t.Errorf("%s: queue %s: %d jobs worked, want 10", m.name, q, worked[q])
			}
		}
		if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1 AND job_id = $2`, other.Queue, other.ID); n != 1 {
			t.Errorf("%s: the job of a queue the pool does not work was worked", m.name)
		}
	}
}

// One worker on two queues with ten jobs each alternates between them.
func testQueuesRoundRobin(t *testing.T, e *env) {
	c := e.client()
	for _, m := range modes {
		qs := []string{m.name + "-rr-a", m.name + "-rr-b"}
		for _, q := range qs {
			for range 10 {
				e.enqueue(c, &gue.Job{Type: "t", Queue: q})
			}
		}
		var mu sync.Mutex
		var order []string
		batch := map[int]int{0: 0, 5: 2}[m.batch] // two jobs per batch: alternation shows
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(j *gue.Job) error {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, j.Queue)
			return nil
		}}, 1, gue.WithPoolQueues(qs...), gue.WithPoolBatchSize(batch), gue.WithPoolPollInterval(20*time.Millisecond))
		done := make(chan struct{})
		go func() {
			waitFor(t, "both queues' jobs", func() bool {
				return e.left(qs...) == 0
			})
			close(done)
		}()
		runPoolUntil(t, p, done)
		first := map[string]int{}
		for _, q := range order[:10] {
			first[q]++
		}
		if first[qs[0]] < 4 || first[qs[1]] < 4 {
			t.Errorf("%s: the first ten jobs came %v from the two queues; want them shared (round robin): %v", m.name, first, order)
		}
	}
}

// Pausing one queue of a pool stops that queue only.
func testQueuesPausePerQueue(t *testing.T, e *env) {
	c := e.client()
	for _, m := range modes {
		a, b := m.name+"-paused", m.name+"-running"
		if err := c.PauseQueue(e.ctx, a); err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			e.enqueue(c, &gue.Job{Type: "t", Queue: []string{a, b}[i%2]})
		}
		p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error { return nil }}, 2,
			gue.WithPoolQueues(a, b), gue.WithPoolBatchSize(m.batch), gue.WithPoolPollInterval(20*time.Millisecond))
		done := make(chan struct{})
		go func() {
			waitFor(t, "the running queue's jobs", func() bool {
				return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, b) == 0
			})
			// The paused queue's jobs stay while the pool goes on polling.
			time.Sleep(300 * time.Millisecond) // more than pauseRefresh: a look at the pause happened
			if n := e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, a); n != 3 {
				t.Errorf("%s: %d jobs left in the paused queue, want 3", m.name, n)
			}
			if err := c.ResumeQueue(e.ctx, a); err != nil {
				t.Error(err)
			}
			waitFor(t, "the resumed queue's jobs", func() bool {
				return e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, a) == 0
			})
			close(done)
		}()
		runPoolUntil(t, p, done)
	}
}

// left counts the jobs of queues, one statement per queue.
func (e *env) left(queues ...string) int64 {
	var n int64
	for _, q := range queues {
		n += e.count(`SELECT count(*) FROM gue_jobs WHERE queue = $1`, q)
	}
	return n
}
