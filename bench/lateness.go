package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv5"
)

// lateness is how late future jobs and retries start after their run_at
// in gue-go's default mode, on an idle pool and on one working a backlog.
type lateness struct {
	pool                 string // idle or busy
	futureP50, futureP99 time.Duration
	retryP50, retryP99   time.Duration
}

// measureLateness enqueues n jobs due 100ms–1s later and n jobs that fail
// once with a 300ms backoff, on a pool of workers at the default 5s poll
// interval, and measures each run's start against its run_at. busy adds a
// backlog of no-op jobs in the same queue, worked meanwhile.
func measureLateness(ctx context.Context, adminDSN string, workers, n int, busy bool) (lateness, error) {
	l := lateness{pool: "idle"}
	if busy {
		l.pool = "busy"
	}
	pgx, err := newDatabase(ctx, adminDSN, workers+10)
	if err != nil {
		return l, err
	}
	defer pgx.Close()
	pool := pgxv5.NewConnPool(pgx)
	if err := gue.Migrate(ctx, pool, ""); err != nil {
		return l, err
	}
	c := gue.NewClient(pool, gue.WithClientBackoff(gue.ConstantBackoff(300*time.Millisecond)), gue.WithClientLogger(adapter.NewSlogLogger(quietSlog())))
	var mu sync.Mutex
	var future, retry []time.Duration
	var failedOnce sync.Map
	var left sync.WaitGroup
	left.Add(2 * n)
	wm := gue.WorkMap{
		"noop": func(*gue.Job) error { return nil },
		"future": func(j *gue.Job) error {
			late := time.Since(j.RunAt)
			mu.Lock()
			future = append(future, late)
			mu.Unlock()
			left.Done()
			return nil
		},
		"retry": func(j *gue.Job) error {
			if _, again := failedOnce.LoadOrStore(j.ID, true); !again {
				return errors.New("first run fails")
			}
			late := time.Since(j.RunAt)
			mu.Lock()
			retry = append(retry, late)
			mu.Unlock()
			left.Done()
			return nil
		},
	}
	if busy {
		backlog := make([]*gue.Job, 20000)
		for i := range backlog {
			backlog[i] = &gue.Job{Type: "noop", Priority: 1}
		}
		if err := c.EnqueueBatch(ctx, backlog); err != nil {
			return l, err
		}
	}
	p := gue.NewWorkerPool(c, wm, workers) // default poll interval (5s) and LISTEN
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := p.Start(pctx); err != nil {
		return l, err
	}
	for i := range n {
		if err := c.Enqueue(ctx, &gue.Job{Type: "retry"}); err != nil {
			return l, err
		}
		if err := c.Enqueue(ctx, &gue.Job{Type: "future", RunAt: time.Now().Add(100*time.Millisecond + time.Duration(rand.IntN(900))*time.Millisecond)}); err != nil {
			return l, err
		}
		progress("lateness, %s pool: enqueued %d/%d", l.pool, i+1, n)
		time.Sleep(10 * time.Millisecond) // spread over time, as arrivals are
	}
	done := make(chan struct{})
	go func() { left.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return l, fmt.Errorf("lateness: jobs still waiting after 2 minutes")
	}
	l.futureP50, l.futureP99 = pct(future, 50), pct(future, 99)
	l.retryP50, l.retryP99 = pct(retry, 50), pct(retry, 99)
	return l, nil
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)]
}

func reportLateness(w io.Writer, ls []lateness) {
	fmt.Fprintf(w, "\nStart after run_at, gue-go default mode, poll interval 5s (future jobs due 100ms–1s after their enqueue; retries after a 300ms backoff):\n\n")
	fmt.Fprintln(w, "| pool | future p50 | future p99 | retry p50 | retry p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, l := range ls {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", l.pool, l.futureP50.Round(100*time.Microsecond), l.futureP99.Round(100*time.Microsecond),
			l.retryP50.Round(100*time.Microsecond), l.retryP99.Round(100*time.Microsecond))
	}
}
