package gue

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// batch is one transaction holding several jobs, for WithPoolBatchSize.
//
// The jobs are deleted by the statement that locks them (the transaction
// holds the deletions uncommitted, which other workers' SKIP LOCKED skips),
// run concurrently, and the failed ones are inserted back, rescheduled, just
// before the single commit. A crash rolls everything back: the whole batch
// returns to the queue.
type batch struct {
	tx adapter.Tx
	// txMu serialises use of the shared transaction: a job that calls Tx
	// holds it, inside a savepoint of its own, until the job completes.
	txMu sync.Mutex

	mu       sync.Mutex
	reinsert []reinsertRow
}

// reinsertRow is a job to insert back at the end of the batch: failed (with
// a new error count, message and delay) or returned untouched (hard stop).
type reinsertRow struct {
	JobID      int64             `json:"job_id"`
	Queue      string            `json:"queue"`
	Priority   int16             `json:"priority"`
	RunAt      *time.Time        `json:"run_at"`
	DelayUS    int64             `json:"delay_us"`
	JobType    string            `json:"job_type"`
	Args       string            `json:"args"` // text: raw JSON would be compacted
	ErrorCount int32             `json:"error_count"`
	LastError  *string           `json:"last_error"`
	Metadata   map[string]string `json:"metadata"`
	CreatedAt  time.Time         `json:"created_at"`
}

func (b *batch) add(r reinsertRow) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reinsert = append(b.reinsert, r)
}

// row returns the job as it was locked, for reinsertion.
func (j *Job) row() reinsertRow {
	r := reinsertRow{JobID: j.ID, Queue: j.Queue, Priority: j.Priority, JobType: j.Type,
		Args: string(j.Args), ErrorCount: j.ErrorCount, Metadata: j.Metadata, CreatedAt: j.createdAt}
	if j.LastError.Valid {
		msg := j.LastError.String
		r.LastError = &msg
	}
	return r
}

// batchTx is Tx for a job of a batch: it waits for the shared transaction
// and takes a savepoint of the job's own. Callers hold j.mu.
func (j *Job) batchTx() adapter.Tx {
	if !j.holdsTx {
		j.batch.txMu.Lock()
		j.holdsTx = true
		if _, err := j.tx.Exec(j.context(), "SAVEPOINT "+savepointName); err == nil {
			j.savepoint = true
		}
	}
	return j.tx
}

// batchFinish ends the job's use of the shared transaction: its savepoint is
// released (keep is true) or rolled back, and the transaction handed on.
// Callers hold j.mu.
func (j *Job) batchFinish(ctx context.Context, keep bool) error {
	var err error
	if j.savepoint {
		if !keep {
			_, err = j.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+savepointName)
		}
		if err == nil {
			_, err = j.tx.Exec(ctx, "RELEASE SAVEPOINT "+savepointName)
		}
		j.savepoint = false
	}
	if j.holdsTx {
		j.holdsTx = false
		j.batch.txMu.Unlock()
	}
	return err
}

// lockBatch locks (and deletes, uncommitted) up to n ready jobs of queue in
// a new transaction. It returns nil when none is ready.
func (c *Client) lockBatch(ctx context.Context, q *queries, queue string, n int) (*batch, []*Job, error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("gue: lock jobs: %w", err)
	}
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("gue: lock jobs: begin: %w", err)
	}
	b := &batch{tx: tx}
	jobs, err := c.scanBatch(ctx, b, q, queue, n)
	if err != nil || len(jobs) == 0 {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if err != nil {
			return nil, nil, fmt.Errorf("gue: lock jobs from queue %q: %w", queue, notMigrated(q.schema, err))
		}
		return nil, nil, nil
	}
	return b, jobs, nil
}

func (c *Client) scanBatch(ctx context.Context, b *batch, q *queries, queue string, n int) ([]*Job, error) {
	rows, err := b.tx.Query(ctx, q.lockBatch, queue, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*Job
	for rows.Next() {
		j := &Job{tx: b.tx, pool: c.pool, q: q, backoff: c.backoff, batch: b}
		var metadata []byte
		if err := rows.Scan(&j.ID, &j.Queue, &j.Priority, &j.RunAt, &j.Type, &j.Args, &j.ErrorCount,
			&j.LastError, &metadata, &j.createdAt); err != nil {
			return nil, err
		}
		j.RunAt = j.RunAt.UTC()
		if len(metadata) > 0 {
			if err := json.Unmarshal(metadata, &j.Metadata); err != nil {
				return nil, fmt.Errorf("job %d: metadata: %w", j.ID, err)
			}
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// finish inserts the failed and returned jobs back and commits the batch.
func (b *batch) finish(ctx context.Context, q *queries) error {
	if len(b.reinsert) > 0 {
		rows, err := json.Marshal(b.reinsert)
		if err != nil {
			_ = b.tx.Rollback(ctx)
			return err
		}
		if _, err := b.tx.Exec(ctx, q.reinsert, string(rows)); err != nil {
			_ = b.tx.Rollback(ctx)
			return fmt.Errorf("reinsert %d failed jobs: %w", len(b.reinsert), err)
		}
	}
	return b.tx.Commit(ctx)
}

// workBatch locks up to n jobs in one transaction, works them concurrently
// and commits. It reports whether any job was found.
func (w *Worker) workBatch(ctx context.Context, n int) bool {
	b, jobs, err := w.c.lockBatch(ctx, w.q, w.queue, n)
	if len(w.c.hooks) > 0 {
		if len(jobs) == 0 {
			w.c.locked(ctx, w.queue, nil, err)
		}
		for _, j := range jobs {
			w.c.locked(ctx, w.queue, j, nil)
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			w.c.outage.failed(w.logger, err)
		}
		return false
	}
	w.c.outage.succeeded(w.logger)
	if b == nil {
		return false
	}
	if ctx.Err() != nil || w.hardStopped().Err() != nil {
		// Shutdown began while the lock query ran: the rollback undoes the
		// deletions and leaves the jobs to others.
		_ = b.tx.Rollback(context.WithoutCancel(ctx))
		return false
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work(ctx, j)
		}()
	}
	wg.Wait()
	if err := b.finish(context.WithoutCancel(ctx), w.q); err != nil {
		w.logger.Error("could not commit batch; its jobs will run again", adapter.Err(err), adapter.F("jobs", len(jobs)))
	}
	return true
}
