package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// queuesCases is the suite's Queues group: one pool on several queues
// (WithPoolQueues), in default and batch mode.
var queuesCases = []testCase{
	{"PoolWorksEveryQueue", testQueuesPoolWorksEveryQueue},
	{"RoundRobin", testQueuesRoundRobin},
	{"PausePerQueue", testQueuesPausePerQueue},
	{"QuietQueuesCostNoLockPerJob", testQueuesQuietQueuesCostNoLockPerJob},
}

// A pool of one busy queue among 49 quiet ones does not try each quiet
// queue after each job (each try is a lock transaction): the busy queue's
// jobs cost 49 tries each before the lanes' probe, and a handful in all
// after. A job enqueued into a quiet queue meanwhile is still found while
// the busy queue works down (fairness), by its NOTIFY or by the probe.
func testQueuesQuietQueuesCostNoLockPerJob(t *testing.T, e *env) {
	const quiet, jobs, workers = 49, 1000, 4
	for _, m := range modes {
		var mu sync.Mutex
		misses, worked, trickleAt := 0, 0, -1
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
				defer mu.Unlock()
				worked++
				if worked == jobs/10 { // the trickle job goes in while the busy queue works
					go func() { e.enqueue(e.client(), &gue.Job{Type: "trickle", Queue: m.name + "-q48"}) }()
				}
				return nil
			},
			"trickle": func(*gue.Job) error {
				mu.Lock()
				defer mu.Unlock()
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
		t.Logf("%s: %d tries of quiet queues for %d jobs; the trickle job ran after %d busy ones (enqueued after %d)", m.name, misses, jobs, trickleAt, jobs/10)
		mu.Unlock()
	}
}

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
