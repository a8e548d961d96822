package gue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/lockplan"
)

// LockJob locks the next ready job of queue (the lowest Priority, then the
// earliest RunAt, among jobs whose RunAt has passed) in a new transaction and
// returns it, or returns nil, nil when no job is ready. Jobs locked by other
// transactions are skipped, not waited for.
//
// The caller owns the returned job's transaction and must end it with Done
// (usually after Delete) or Error; until then the job stays locked.
func (c *Client) LockJob(ctx context.Context, queue string) (*Job, error) {
	return c.lockJob(ctx, c.stmts, queue, nil, nil)
}

// lockJob locks as LockJob does, along cur (nil: always from the front),
// reading first the reply of pending (nil: none), the lock its caller sent
// ahead with its last job's commit. A job whose row cannot be decoded is
// charged with the failure (see errUndecodable) and the next job is locked
// instead, so that one bad row never blocks its queue.
func (c *Client) lockJob(ctx context.Context, stmts *queries, queue string, cur *lockCursor, pending *pendingLock) (*Job, error) {
	var j *Job
	var err error
	for range maxUndecodableInARow {
		j, err = c.lockJobOnce(ctx, stmts, queue, cur, pending)
		pending = nil
		if !errors.Is(err, errUndecodable) {
			break
		}
		c.logger.Error("a job could not be decoded; its failure is recorded on it", adapter.Err(err))
	}
	if len(c.hooks) > 0 {
		c.runLockedHooks(ctx, queue, j, err)
	}
	return j, err
}

// maxUndecodableInARow bounds how many undecodable jobs one lockJob charges
// before it gives up and returns the error.
const maxUndecodableInARow = 8

// errUndecodable marks the error of a lock attempt that locked a job whose
// row could not be decoded (metadata that is not a JSON object of strings,
// written by hand or by another program) and recorded that as its failure.
var errUndecodable = errors.New("job row cannot be decoded")

// lockJobOnce runs the lock queries cur asks for, in one transaction, until
// one finds a job or cur has none left to try; pending, when not nil, is the
// first, sent with the commit of the worker's last job.
func (c *Client) lockJobOnce(ctx context.Context, stmts *queries, queue string, cur *lockCursor, pending *pendingLock) (*Job, error) {
	if err := c.err; err != nil || ctx.Err() != nil {
		cur.giveBack(ctx, pending)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("gue: lock job: %w", ctx.Err())
	}
	// A pending lock was planned when it was sent; planning another here
	// would take the hints' turn for a scan from the front (Hints.Plan)
	// and throw it away, and with every job's lock sent ahead that turn never
	// came to a query: jobs behind the hints waited for the backlog to end.
	plan := cur.planner()
	var step lockplan.Step
	if pending != nil {
		step = pending.step
	} else {
		step = plan.First(queue)
	}
	ends := stmts.endings(ctx, c.pool) // after the first time, atomic loads
	// Where a lock query compares run_at with a clock of its caller's
	// (ClockFirst, on Citus: the coordinator's, which wrote run_at), that
	// clock is read first in the transaction and passed after the query's
	// own parameters: one more round trip.
	var clock []any
	query := func(tx adapter.Tx, s lockplan.Step) adapter.Row {
		return tx.QueryRow(ctx, ends.Lock.Of(s.Kind), append(s.Args, clock...)...)
	}
	first, firstArgs := ends.Lock.Of(step.Kind), step.Args
	if ends.ClockFirst != "" {
		first, firstArgs = ends.ClockFirst, nil
	}
	// BEGIN goes out with the first query when the pool can pipeline.
	var tx adapter.Tx
	var row adapter.Row
	sent := time.Now()
	if pending != nil { // never with ClockFirst: no chain was planned
		tx, row, sent = pending.tx, pending.row, pending.sent
	} else if pl, ok := c.pool.(adapter.Pipeliner); ok {
		tx, row = pl.BeginQueryRow(ctx, first, firstArgs...)
	} else {
		var err error
		if tx, err = c.pool.Begin(ctx); err != nil {
			return nil, fmt.Errorf("gue: lock job: begin: %w", err)
		}
		row = tx.QueryRow(ctx, first, firstArgs...)
	}
	if ends.ClockFirst != "" {
		var now time.Time
		if err := row.Scan(&now); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("gue: lock job from queue %q: the coordinator's clock: %w", queue, notMigrated(stmts.Schema, err))
		}
		clock = []any{now}
		row = query(tx, step)
	}
	end := newSoloTx(held{tx: tx, pool: c.pool, stmts: ends, backoff: c.backoff, maxAttempts: c.maxAttempts}, !c.syncCompletion)
	if cur != nil && cur.chain && ends.ClockFirst == "" {
		end.chain = cur.planner()
	}
	j := &Job{ctx: ctx, hold: end}
	var metadata []byte
	var key sql.NullString
	dest := []any{&j.ID, &j.Queue, &j.Priority, &j.RunAt, &j.Type, &j.Args, &j.ErrorCount, &j.LastError, &metadata, &j.MaxAttempts, &key}
	err := row.Scan(dest...)
	plan.Ran(step, time.Since(sent)) // with ClockFirst, the clock's statement too
	for errors.Is(err, adapter.ErrNoRows) {
		next, ok := plan.AfterMiss(step, queue)
		if !ok {
			break
		}
		step, sent = next, time.Now()
		err = query(tx, step).Scan(dest...)
		plan.Ran(step, time.Since(sent))
		plan.Outcome(step, err == nil)
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if errors.Is(err, adapter.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("gue: lock job from queue %q: %w", queue, notMigrated(stmts.Schema, err))
	}
	plan.Found(step, j.Priority, lockplan.Pos{RunAt: j.RunAt, ID: j.ID})
	j.RunAt, j.UniqueKey = j.RunAt.UTC(), key.String
	if err := decodeMetadata(metadata, &j.Metadata); err != nil {
		// Charged to this job, in its own transaction, like a failed run:
		// it backs off and the queue goes on.
		msg := fmt.Sprintf("gue: job %d cannot be decoded: %v", j.ID, err)
		if ferr := j.Error(context.WithoutCancel(ctx), msg); ferr != nil {
			return nil, fmt.Errorf("gue: lock job from queue %q: %s; recording it failed: %w", queue, msg, ferr)
		}
		return nil, fmt.Errorf("gue: lock job from queue %q: %w: %s", queue, errUndecodable, msg)
	}
	return j, nil
}

// decodeMetadata decodes a row's metadata column (NULL or empty: none).
func decodeMetadata(raw []byte, m *map[string]string) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("metadata %.200s: %w", raw, err)
	}
	return nil
}
