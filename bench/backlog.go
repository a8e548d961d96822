package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"
)

// backlogResult is gue-go's throughput with one backlog size.
type backlogResult struct {
	backlog  int
	rate     float64 // jobs/s
	heapMiB  float64 // Go heap in use after the run
	modeName string
}

// measureBacklog works `work` jobs with a backlog of `backlog` more: half
// ready at the same priority, half scheduled an hour ahead at a higher
// priority, which the lock query must never walk.
func measureBacklog(ctx context.Context, adminDSN string, g *gueGo, backlog, work int) (backlogResult, error) {
	r := backlogResult{backlog: backlog, modeName: g.Name()}
	pool, err := newDatabase(ctx, adminDSN, g.workers+10)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	if err := g.Setup(ctx, pool); err != nil {
		return r, err
	}
	progress("%s: inserting a backlog of %d", g.Name(), backlog)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO gue_jobs (job_type, priority, run_at) SELECT 'noop', -1, now() + interval '1 hour' FROM generate_series(1, %d)`, backlog/2),
		fmt.Sprintf(`INSERT INTO gue_jobs (job_type, priority, run_at) SELECT 'noop', 0, now() - interval '1 minute' FROM generate_series(1, %d)`, backlog/2+work),
		`VACUUM ANALYZE gue_jobs`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return r, err
		}
	}
	var worked atomic.Int64
	start := time.Now()
	stop, err := g.Start(ctx, func() { worked.Add(1) })
	if err != nil {
		return r, err
	}
	for worked.Load() < int64(work) {
		time.Sleep(5 * time.Millisecond)
		progress("%s, backlog %d: worked %d/%d", g.Name(), backlog, worked.Load(), work)
	}
	r.rate = float64(work) / time.Since(start).Seconds()
	stop()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.heapMiB = float64(ms.HeapAlloc) / (1 << 20)
	progress("")
	return r, nil
}

func reportBacklog(w io.Writer, rs []backlogResult, work int) {
	fmt.Fprintf(w, "\n%d jobs worked on top of each backlog (half ready, half an hour ahead at a higher priority); ratio against the smallest backlog of the same mode\n\n", work)
	fmt.Fprintln(w, "| mode | backlog | jobs/s | ratio | Go heap after (MiB) |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	base := map[string]float64{}
	for _, r := range rs {
		if _, ok := base[r.modeName]; !ok {
			base[r.modeName] = r.rate
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %.2f× | %.1f |\n", r.modeName, r.backlog, r.rate, r.rate/base[r.modeName], r.heapMiB)
	}
}
