package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gue "github.com/gue-go/gue/core"
	pgxv5 "github.com/gue-go/gue/driver-pgxv5"
)

// queuesResult is gue-go with one pool working several queues
// (WithPoolQueues), one of them busy.
type queuesResult struct {
	mode    string
	queues  int
	rate    float64 // the busy queue's work-down, jobs/s
	idleTPS float64 // transactions a second of the same pool with nothing to do
	// trickle is the pickup latency of jobs enqueued one at a time into
	// the last queue while the busy one works down (none with one queue).
	trickle []time.Duration
}

// trickleEvery is how often a job is enqueued into the trickle queue.
const trickleEvery = 20 * time.Millisecond

// idleFor is how long the idle pool's transactions are counted.
const idleFor = 5 * time.Second

// measureQueues runs g's mode with a pool of n queues: first idle, counting
// its transactions in pg_stat_database, then working `work` jobs of the
// first queue down while a job a trickleEvery goes into the last one.
func measureQueues(ctx context.Context, adminDSN string, g *gueGo, n, work int) (queuesResult, error) {
	r := queuesResult{mode: g.Name(), queues: n}
	pool, err := newDatabase(ctx, adminDSN, g.workers+10)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	if err := g.Setup(ctx, pool); err != nil {
		return r, err
	}
	queues := make([]string, n)
	for i := range queues {
		queues[i] = fmt.Sprintf("q%03d", i)
	}
	busy, trickleQ := queues[0], queues[n-1]

	var worked atomic.Int64
	var mu sync.Mutex
	wm := gue.WorkMap{
		"noop": func(*gue.Job) error { worked.Add(1); return nil },
		"trickle": func(j *gue.Job) error {
			var at int64
			if err := json.Unmarshal(j.Args, &at); err != nil {
				return err
			}
			mu.Lock()
			r.trickle = append(r.trickle, time.Since(time.Unix(0, at)))
			mu.Unlock()
			return nil
		},
	}
	opts := []gue.WorkerPoolOption{gue.WithPoolQueues(queues...), gue.WithPoolPollInterval(g.poll)}
	if g.batch > 1 {
		opts = append(opts, gue.WithPoolBatchSize(g.batch))
	}
	p := gue.NewWorkerPool(g.c, wm, g.workers, opts...)
	pctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = p.Run(pctx) }()
	defer func() { cancel(); <-stopped }()

	// Idle: after a second to settle, the database's transactions over
	// idleFor (the two reads count themselves; statistics reach
	// pg_stat_database within about a second).
	progress("%s, %d queues: idle", g.Name(), n)
	time.Sleep(time.Second)
	xacts := func() (int64, error) {
		var x int64
		_, _ = pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`)
		err := pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&x)
		return x, err
	}
	x0, err := xacts()
	if err != nil {
		return r, err
	}
	time.Sleep(idleFor)
	x1, err := xacts()
	if err != nil {
		return r, err
	}
	r.idleTPS = float64(x1-x0) / idleFor.Seconds()

	// Busy: the jobs go in with one statement, as a backlog would be there.
	progress("%s, %d queues: inserting %d jobs", g.Name(), n, work)
	if _, err := pool.Exec(ctx, `INSERT INTO gue_jobs (queue, job_type) SELECT $1, 'noop' FROM generate_series(1, $2::int)`, busy, work); err != nil {
		return r, err
	}
	c := gue.NewClient(pgxv5.NewConnPool(pool))
	start := time.Now() // the pool finds them at its next poll, g.poll at most
	trickleDone := make(chan struct{})
	go func() {
		defer close(trickleDone)
		if n == 1 {
			return
		}
		t := time.NewTicker(trickleEvery)
		defer t.Stop()
		for worked.Load() < int64(work) {
			at, _ := json.Marshal(time.Now().UnixNano())
			_ = c.Enqueue(ctx, &gue.Job{Type: "trickle", Queue: trickleQ, Args: at})
			<-t.C
		}
	}()
	for worked.Load() < int64(work) {
		time.Sleep(5 * time.Millisecond)
		progress("%s, %d queues: worked %d/%d", g.Name(), n, worked.Load(), work)
	}
	r.rate = float64(work) / time.Since(start).Seconds()
	<-trickleDone
	progress("")
	return r, nil
}

func reportQueues(w io.Writer, rs []queuesResult, work int) {
	fmt.Fprintf(w, "\nOne pool of each mode on N queues (WithPoolQueues): %d jobs of the first worked down while a job every %s goes into the last; the same pool idle for %s before. Ratio against the same mode's one-queue rate\n\n", work, trickleEvery, idleFor)
	fmt.Fprintln(w, "| mode | queues | busy queue jobs/s | ratio | idle pool transactions/s | trickle pickup p50 | p99 | trickle jobs |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	base := map[string]float64{}
	for _, r := range rs {
		if _, ok := base[r.mode]; !ok {
			base[r.mode] = r.rate
		}
		p50, p99 := "-", "-"
		if len(r.trickle) > 0 {
			slices.Sort(r.trickle)
			p50 = r.trickle[len(r.trickle)/2].Round(time.Millisecond).String()
			p99 = r.trickle[len(r.trickle)*99/100].Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %.2f× | %.0f | %s | %s | %d |\n", r.mode, r.queues, r.rate, r.rate/base[r.mode], r.idleTPS, p50, p99, len(r.trickle))
	}
}
