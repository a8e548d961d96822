package conformance

import (
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
