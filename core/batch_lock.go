package gue

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
	"github.com/gue-go/gue/core/internal/sqlq"
)

// How a batch is locked: a transaction, the lock query its cursor plans
// through the pool's lock hints, and the rows read into the batch's jobs.

// lockBatch locks up to n ready jobs of queue in a new transaction, by
// the lock queries cur plans through its pool's lock hints (nil: from the
// front). It returns nil when none is ready. Jobs that cannot be decoded
// are not returned but queued on the batch as failed.
func (c *Client) lockBatch(ctx context.Context, stmts *queries, queue string, n int, cur *lockplan.Cursor) (*batch, []*Job, error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("gue: lock jobs: %w", err)
	}
	// Asked before Begin: the first time, each takes a connection of its own.
	ends := stmts.endings(ctx, c.pool)
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("gue: lock jobs: begin: %w", err)
	}
	b := &batch{tx: tx, queue: queue, async: !c.syncCompletion, stmts: ends}
	step := cur.FirstBatch(queue)
	jobs, err := c.scanBatch(ctx, b, ends, step, n, cur)
	for err == nil && len(jobs) == 0 && !b.writes() {
		next, ok := cur.AfterMiss(step, queue)
		if !ok {
			break
		}
		step = next
		jobs, err = c.scanBatch(ctx, b, ends, step, n, cur)
		cur.Outcome(step, len(jobs) > 0 || b.writes())
	}
	// A batch of undecodable jobs only has failures to record: it is
	// returned (with no job to run) so that they are committed.
	if err != nil || (len(jobs) == 0 && !b.writes()) {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if err != nil {
			return nil, nil, fmt.Errorf("gue: lock jobs from queue %q: %w", queue, notMigrated(stmts.Schema, err))
		}
		return nil, nil, nil
	}
	return b, jobs, nil
}

// scanBatch runs the lock query of step, taking up to n jobs, and tells
// cur where each priority's last job lies.
func (c *Client) scanBatch(ctx context.Context, b *batch, stmts *sqlq.Set, step lockplan.Step, n int, cur *lockplan.Cursor) ([]*Job, error) {
	sent := time.Now()
	rows, err := b.tx.Query(ctx, stmts.LockBatch, append(step.Args, n)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	defer func() { cur.Ran(step, time.Since(sent)) }()
	var jobs []*Job
	// The rows come by priority, then position: the last of each
	// priority is its hint.
	var last lockplan.Pos
	var lastPrio int16
	found := false
	defer func() {
		if found {
			cur.Found(step, lastPrio, last)
		}
	}()
	for rows.Next() {
		m := &batchMember{held: held{tx: b.tx, pool: c.pool, stmts: stmts, backoff: c.backoff, maxAttempts: c.maxAttempts}, b: b}
		j := &Job{hold: m}
		var metadata []byte
		var key sql.NullString
		if err := rows.Scan(&j.ID, &j.Queue, &j.Priority, &j.RunAt, &j.Type, &j.Args, &j.ErrorCount,
			&j.LastError, &metadata, &m.createdAt, &j.MaxAttempts, &key); err != nil {
			return nil, err
		}
		j.UniqueKey = key.String
		j.RunAt = j.RunAt.UTC()
		if found && j.Priority != lastPrio {
			cur.Found(step, lastPrio, last)
		}
		found, lastPrio, last = true, j.Priority, lockplan.Pos{RunAt: j.RunAt, ID: j.ID}
		if err := decodeMetadata(metadata, &j.Metadata); err != nil {
			// Charged to this job alone: it goes back failed, as stored,
			// and the rest of the batch runs.
			msg := sanitizeText(fmt.Sprintf("gue: job %d cannot be decoded: %v", j.ID, err))
			b.addFailed(m.updateRow(j), msg, c.backoff(int(j.ErrorCount)+1), nil)
			c.logger.Error("a job could not be decoded; its failure is recorded on it", adapter.F("job-id", j.ID), adapter.Err(err))
			continue
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// lockForBatch locks up to n jobs of queue for a slot, running the Client's
// Locked hooks and keeping the outage log. It returns a nil batch when none
// was found, the lock failed, or shutdown began meanwhile.
func (lk *locker) lockForBatch(ctx context.Context, queue string, n int, cur *lockplan.Cursor) (*batch, []*Job) {
	b, jobs, err := lk.c.lockBatch(ctx, lk.stmts, queue, n, cur)
	if len(lk.c.hooks) > 0 {
		if len(jobs) == 0 {
			lk.c.runLockedHooks(ctx, queue, nil, err)
		}
		for _, j := range jobs {
			lk.c.runLockedHooks(ctx, queue, j, nil)
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			lk.c.outage.Failed(lk.logger, err)
		}
		return nil, nil
	}
	lk.c.outage.Succeeded(lk.logger)
	if b == nil {
		return nil, nil
	}
	if ctx.Err() != nil || lk.hardStopped().Err() != nil {
		lk.releaseBatch(ctx, b)
		return nil, nil
	}
	return b, jobs
}

// releaseBatch gives back, unrun, a batch locked while shutdown began. Its
// jobs go back to others as they were; failures it recorded at lock time
// (rows that could not be decoded) are committed with that release, since
// a rollback would leave those jobs uncharged for the next lock to meet
// again. A release whose commit fails records them one by one on other
// connections, as a batch's failed commit does (commitBatch).
func (lk *locker) releaseBatch(ctx context.Context, b *batch) {
	ctx = context.WithoutCancel(ctx)
	if !b.writes() {
		_ = b.tx.Rollback(ctx)
		return
	}
	if err := b.finish(ctx, b.stmts); err != nil {
		lk.logger.Error("could not commit a batch released at shutdown; the failures it found are recorded one by one", adapter.Err(err))
		b.recordFailures(ctx, lk.c.pool, b.stmts)
	}
}
