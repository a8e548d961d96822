package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
)

// enqueueRates is gue-go's single-job Enqueue rate with concurrent callers,
// for jobs ready at once (announced to listening pools) and for jobs an
// hour ahead (the same statement, announced to no one).
type enqueueRates struct {
	callers       int
	ready, future float64 // jobs/s
}

// measureEnqueue runs callers goroutines calling Enqueue for d, once with
// ready jobs and once with future ones, on a fresh database with a pool
// LISTENing, as in production.
func measureEnqueue(ctx context.Context, adminDSN string, callers int, d time.Duration) (enqueueRates, error) {
	r := enqueueRates{callers: callers}
	db, err := newDatabase(ctx, adminDSN, callers+10)
	if err != nil {
		return r, err
	}
	defer db.Close()
	conn := pgxv5.NewConnPool(db)
	if err := gue.Migrate(ctx, conn, ""); err != nil {
		return r, err
	}
	c := gue.NewClient(conn, gue.WithClientLogger(nil))
	// A pool that listens but works another queue: the enqueued jobs stay.
	p := gue.NewWorkerPool(c, gue.WorkMap{}, 1, gue.WithPoolQueue("elsewhere"), gue.WithPoolRegistry(false))
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := p.Start(pctx); err != nil {
		return r, err
	}
	for _, future := range []bool{false, true} {
		var n atomic.Int64
		cctx, cancel := context.WithTimeout(ctx, d)
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for cctx.Err() == nil {
					j := &gue.Job{Type: "noop"}
					if future {
						j.RunAt = time.Now().Add(time.Hour)
					}
					if err := c.Enqueue(context.WithoutCancel(cctx), j); err != nil {
						errs <- err
						return
					}
					n.Add(1)
				}
			}()
		}
		start := time.Now()
		wg.Wait()
		cancel()
		rate := float64(n.Load()) / time.Since(start).Seconds()
		select {
		case err := <-errs:
			return r, err
		default:
		}
		if future {
			r.future = rate
		} else {
			r.ready = rate
		}
		progress("enqueue with %d callers: future=%v %.0f jobs/s", callers, future, rate)
	}
	progress("")
	return r, nil
}

func reportEnqueue(w io.Writer, r enqueueRates) {
	fmt.Fprintf(w, "\nSingle-job Enqueue, %d concurrent callers, a pool listening: ready jobs %.0f/s, jobs an hour ahead %.0f/s (ready at %.2f of future)\n",
		r.callers, r.ready, r.future, r.ready/r.future)
}
