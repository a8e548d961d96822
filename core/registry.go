package gue

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// The pool registry: each running WorkerPool keeps a row in
// <schema>.gue_pools (which jobs it runs, how many it worked) and adds its
// counts per queue and minute to <schema>.gue_throughput, every
// poolHeartbeat; never once per job. Client.Pools, Client.Stats, the CLI and
// the dashboard read them.
const (
	// poolHeartbeat is how often a pool writes its row.
	poolHeartbeat = 5 * time.Second
	// PoolExpiry is how long after its last heartbeat a pool's row counts
	// as gone (its process died): readers ignore it, heartbeats sweep it.
	PoolExpiry = time.Minute
	// throughputKept is how long per-minute counts are kept.
	throughputKept = 2 * time.Hour
	// sweepEvery is every how many heartbeats a pool sweeps expired rows.
	sweepEvery = 12
)

// WithPoolRegistry turns the pool registry on or off (default on): a
// running pool keeps a row in <schema>.gue_pools, updated every 5 seconds
// with the jobs in flight and its worked and failed counters, and adds its
// counts per queue and minute to <schema>.gue_throughput. Client.Pools and
// Client.Stats (running jobs, jobs worked in the last minute), the gue CLI
// and the dashboard read them. Its writes are a few statements per pool
// every 5 seconds, never one per job; behind PgBouncer in transaction mode
// they work as they are.
func WithPoolRegistry(on bool) WorkerPoolOption {
	return func(p *WorkerPool) { p.noRegistry = !on }
}

// count adds a finished run of a job of queue to its lane's counters.
func (cfg *workerConfig) count(queue string, o Outcome) {
	var n *atomic.Int64
	for _, l := range cfg.lanes {
		if l.queue != queue {
			continue
		}
		switch o {
		case OutcomeDone:
			n = &l.counts.worked
		case OutcomeReturned, OutcomeSnoozed:
		default:
			n = &l.counts.failed
		}
		break
	}
	if n != nil {
		n.Add(1)
	}
}

// registry is a running pool's heartbeat state.
type registry struct {
	p *WorkerPool
	// reported is what the last heartbeat that committed added, per lane.
	reported []struct{ worked, failed int64 }
	failing  bool // the last heartbeat failed: logged once
	beats    int
}

// register writes the pool's row and keeps it up to date until the returned
// stop is called, which deletes it.
func (p *WorkerPool) register(ctx context.Context) (stop func()) {
	if p.noRegistry || p.c.err != nil {
		return func() {}
	}
	r := &registry{p: p, reported: make([]struct{ worked, failed int64 }, len(p.lanes))}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(poolHeartbeat)
		defer t.Stop()
		for {
			r.beat(rctx)
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer dcancel()
		r.beat(dctx) // the last counts
		if _, err := p.c.pool.Exec(dctx, p.c.stmts.PoolDelete, p.id); err != nil {
			p.logger.Debug("could not remove the pool's registry row; it expires", adapter.Err(err))
		}
	}
}

// beat writes the pool's row and the counts since the last beat in one
// transaction.
func (r *registry) beat(ctx context.Context) {
	p := r.p
	stmts := p.c.stmts
	host, _ := os.Hostname()
	type delta struct {
		Queue  string `json:"queue"`
		Worked int64  `json:"worked"`
		Failed int64  `json:"failed"`
	}
	now := make([]struct{ worked, failed int64 }, len(p.lanes))
	var deltas []delta
	var worked, failed int64
	for i, l := range p.lanes {
		now[i].worked, now[i].failed = l.counts.worked.Load(), l.counts.failed.Load()
		worked, failed = worked+now[i].worked, failed+now[i].failed
		if d := (delta{l.queue, now[i].worked - r.reported[i].worked, now[i].failed - r.reported[i].failed}); d.Worked+d.Failed > 0 {
			deltas = append(deltas, d)
		}
	}
	flights := p.inflight.list()
	ids, queues := make([]string, len(flights)), make([]string, len(flights))
	for i, f := range flights {
		ids[i], queues[i] = strconv.FormatInt(f.ID, 10), f.Queue
	}
	jsonOf := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	err := func() error {
		tx, err := p.c.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if _, err := tx.Exec(ctx, stmts.PoolBeat, p.id, host, os.Getpid(), pgArray(p.queues), len(p.r.slots),
			pgArray(ids), pgArray(queues), worked, failed); err != nil {
			return err
		}
		if len(deltas) > 0 {
			if _, err := tx.Exec(ctx, stmts.ThroughputAdd, jsonOf(deltas)); err != nil {
				return err
			}
		}
		if r.beats%sweepEvery == 0 {
			if _, err := tx.Exec(ctx, stmts.PoolSweep); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	}()
	r.beats++
	if err != nil {
		if !r.failing && ctx.Err() == nil {
			p.logger.Error("pool registry: could not write the pool's heartbeat; it keeps trying (gue CLI and dashboard will not see this pool)",
				adapter.Err(notMigrated(p.c.schema, err)))
		}
		r.failing = true
		return
	}
	if r.failing {
		p.logger.Info("pool registry: heartbeat written again")
	}
	r.failing = false
	r.reported = now
}

// pgArray is a PostgreSQL array literal of texts: each element quoted, with
// its quotes and backslashes escaped, so that any queue name survives.
func pgArray(items []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(it))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
