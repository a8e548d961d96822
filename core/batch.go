package gue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	// txUsed is set by the first job that calls Tx: its writes are the
	// application's, so the batch then commits synchronously.
	txUsed atomic.Bool
	// async lets a batch whose jobs all finished and wrote nothing through
	// Tx commit without waiting for the WAL flush (the Client's default; see
	// WithClientSyncCompletion): a crash can then only make its jobs run
	// again, which at-least-once allows anyway. citus says how to set it.
	async, citus bool

	mu       sync.Mutex
	reinsert []reinsertRow
	// broken is set by the first job that found the shared transaction
	// unusable (its connection cut by a job timeout, say). That job is
	// charged; failures of jobs after it are its consequences.
	broken bool
}

// reinsertRow is a job to insert back at the end of the batch: failed (with
// a new error count, message and delay) or returned untouched (hard stop).
type reinsertRow struct {
	JobID       int64           `json:"job_id"`
	Queue       string          `json:"queue"`
	Priority    int16           `json:"priority"`
	RunAt       *time.Time      `json:"run_at"`
	DelayUS     int64           `json:"delay_us"`
	JobType     string          `json:"job_type"`
	Args        string          `json:"args"` // text: raw JSON would be compacted
	ErrorCount  int32           `json:"error_count"`
	LastError   *string         `json:"last_error"`
	Metadata    json.RawMessage `json:"metadata"` // as stored; null for none
	CreatedAt   time.Time       `json:"created_at"`
	MaxAttempts int32           `json:"max_attempts"`
	UniqueKey   *string         `json:"unique_key"`
	// Reason, when set, sends the row to the dead table instead.
	Reason string `json:"reason,omitempty"`
	// collateral marks a failure that followed the breaking of the batch's
	// transaction by another job: not recorded if the batch fails.
	collateral bool
}

func (b *batch) add(r reinsertRow) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reinsert = append(b.reinsert, r)
}

// addFailed queues r for reinsertion with one more failure, msg, to be
// retried after delay. finishErr is the error of the job's batchFinish: one
// means that the shared transaction is unusable.
func (b *batch) addFailed(r reinsertRow, msg string, delay time.Duration, finishErr error) {
	r.ErrorCount++
	r.LastError, r.DelayUS = &msg, max(delay, 0).Microseconds()
	b.mu.Lock()
	defer b.mu.Unlock()
	r.collateral = b.broken
	if finishErr != nil && !errors.Is(finishErr, errTxFailed) {
		b.broken = true
	}
	b.reinsert = append(b.reinsert, r)
}

// recordFailures records the failures of a batch whose commit failed, each
// on a fresh connection: the rollback brought the jobs back, and without a
// recorded failure the job that broke the shared transaction (a job timeout
// that cut its connection, say) would take the whole batch down again at
// once, forever. The batch's other jobs run again, once.
func (b *batch) recordFailures(ctx context.Context, pool adapter.ConnPool, stmts *queries) {
	for _, r := range b.reinsert {
		if r.LastError == nil || r.collateral {
			continue // returned by a hard stop (the rollback did it), or failed because another job broke the batch
		}
		if r.Reason != "" {
			_, _ = pool.Exec(ctx, stmts.die, r.Queue, r.JobID, 1, *r.LastError, r.Reason)
			continue
		}
		_, _ = pool.Exec(ctx, stmts.fail, r.Queue, r.JobID, r.DelayUS, *r.LastError)
	}
}

// lockBatch locks (and deletes, uncommitted) up to n ready jobs of queue in
// a new transaction. It returns nil when none is ready. Jobs that cannot be
// decoded are not returned but queued on the batch for reinsertion, failed.
func (c *Client) lockBatch(ctx context.Context, stmts *queries, queue string, n int) (*batch, []*Job, error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("gue: lock jobs: %w", err)
	}
	// Asked before Begin: the first time, it takes a connection of its own.
	citus := stmts.citusMode(ctx, c.pool)
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("gue: lock jobs: begin: %w", err)
	}
	b := &batch{tx: tx, async: !c.syncCompletion, citus: citus}
	jobs, err := c.scanBatch(ctx, b, stmts, queue, n)
	// A batch of undecodable jobs only has failures to record: it is
	// returned (with no job to run) so that they are committed.
	if err != nil || (len(jobs) == 0 && len(b.reinsert) == 0) {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if err != nil {
			return nil, nil, fmt.Errorf("gue: lock jobs from queue %q: %w", queue, notMigrated(stmts.schema, err))
		}
		return nil, nil, nil
	}
	return b, jobs, nil
}

func (c *Client) scanBatch(ctx context.Context, b *batch, stmts *queries, queue string, n int) ([]*Job, error) {
	rows, err := b.tx.Query(ctx, stmts.lockBatch, queue, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*Job
	for rows.Next() {
		m := &batchMember{held: held{tx: b.tx, pool: c.pool, stmts: stmts, backoff: c.backoff, maxAttempts: c.maxAttempts}, b: b}
		j := &Job{end: m}
		var metadata []byte
		var key sql.NullString
		if err := rows.Scan(&j.ID, &j.Queue, &j.Priority, &j.RunAt, &j.Type, &j.Args, &j.ErrorCount,
			&j.LastError, &metadata, &m.createdAt, &j.MaxAttempts, &key); err != nil {
			return nil, err
		}
		j.UniqueKey = key.String
		j.RunAt = j.RunAt.UTC()
		if err := decodeMetadata(metadata, &j.Metadata); err != nil {
			// Charged to this job alone: it goes back failed, as stored,
			// and the rest of the batch runs.
			msg := sanitizeText(fmt.Sprintf("gue: job %d cannot be decoded: %v", j.ID, err))
			r := m.reinsertRow(j)
			r.Metadata = json.RawMessage(metadata)
			b.addFailed(r, msg, c.backoff(int(j.ErrorCount)+1), nil)
			c.logger.Error("a job could not be decoded; its failure is recorded on it", adapter.F("job-id", j.ID), adapter.Err(err))
			continue
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// finish inserts the failed and returned jobs back (the dead ones into the
// dead table) and commits the batch.
func (b *batch) finish(ctx context.Context, stmts *queries) error {
	var back, dead []reinsertRow
	for _, r := range b.reinsert {
		if r.Reason != "" {
			dead = append(dead, r)
		} else {
			back = append(back, r)
		}
	}
	for _, w := range []struct {
		rows []reinsertRow
		stmt string
		what string
	}{{back, stmts.reinsert, "reinsert failed jobs"}, {dead, stmts.dieRows, "move dead jobs"}} {
		if len(w.rows) == 0 {
			continue
		}
		rows, err := json.Marshal(w.rows)
		if err == nil {
			_, err = b.tx.Exec(ctx, w.stmt, string(rows))
		}
		if err != nil {
			_ = b.tx.Rollback(ctx)
			return fmt.Errorf("%s (%d): %w", w.what, len(w.rows), err)
		}
	}
	if b.async && !b.txUsed.Load() && len(b.reinsert) == 0 {
		// A statement of its own, one round trip per batch: set in the lock
		// statement it would also cover the writes of jobs that call Tx
		// later. On Citus, SET LOCAL reaches the worker that commits only
		// when propagated (see soloTx.asyncOnCitus).
		sets := []string{"SET LOCAL synchronous_commit TO off"}
		if b.citus {
			sets = append([]string{"SET LOCAL citus.propagate_set_commands TO 'local'"}, sets...)
		}
		for _, set := range sets {
			if _, err := b.tx.Exec(ctx, set); err != nil {
				_ = b.tx.Rollback(ctx)
				return fmt.Errorf("commit asynchronously: %w", err)
			}
		}
	}
	return b.tx.Commit(ctx)
}

// abandonAfter is how long the handlers of a batch get to return after a
// hard stop cancelled their contexts before the batch stops waiting for them.
const abandonAfter = 2 * time.Second

// waitOrAbandon waits for the batch's handlers. After a hard stop it waits
// abandonAfter more at most: then every job still running is returned to
// the queue untouched (its reinsertion is queued, its Job ended, so that its
// handler can no longer use the transaction) and the batch commits the jobs
// that finished, instead of holding them uncommitted, and Run, forever for a
// handler that ignores its context.
func (w *Worker) waitOrAbandon(ctx context.Context, wg *sync.WaitGroup, jobs []*Job) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-w.hardStopped().Done():
	}
	timer := time.NewTimer(abandonAfter)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	}
	for _, j := range jobs {
		if abandon(context.WithoutCancel(ctx), j) {
			w.logger.Error("job's handler ignored the hard stop; job returned to the queue and its handler left running",
				adapter.F("job-id", j.ID), adapter.F("job-type", j.Type))
		}
	}
	// A job that could not be abandoned holds the batch's transaction (or
	// is finishing): committing now could use its connection concurrently.
	for _, j := range jobs {
		j.mu.Lock()
		finished := j.finished
		j.mu.Unlock()
		if !finished {
			w.logger.Error("job's handler ignored the hard stop while holding the batch's transaction; waiting for it",
				adapter.F("job-id", j.ID), adapter.F("job-type", j.Type))
			<-done
			return
		}
	}
}

// workBatch locks up to n jobs of queue in one transaction, works them concurrently
// and commits. It reports whether any job was found.
func (w *Worker) workBatch(ctx context.Context, queue string, n int) bool {
	b, jobs := w.lockForBatch(ctx, queue, n)
	if b == nil {
		return false
	}
	w.runBatch(ctx, b, jobs)
	return true
}

// lockForBatch locks up to n jobs of queue for w, running the Client's
// Locked hooks and keeping the outage log. It returns a nil batch when none
// was found, the lock failed, or shutdown began meanwhile.
func (w *Worker) lockForBatch(ctx context.Context, queue string, n int) (*batch, []*Job) {
	b, jobs, err := w.c.lockBatch(ctx, w.stmts, queue, n)
	if len(w.c.hooks) > 0 {
		if len(jobs) == 0 {
			w.c.runLockedHooks(ctx, queue, nil, err)
		}
		for _, j := range jobs {
			w.c.runLockedHooks(ctx, queue, j, nil)
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			w.c.outage.failed(w.logger, err)
		}
		return nil, nil
	}
	w.c.outage.succeeded(w.logger)
	if b == nil {
		return nil, nil
	}
	if ctx.Err() != nil || w.hardStopped().Err() != nil {
		// Shutdown began while the lock query ran: the rollback undoes the
		// deletions and leaves the jobs to others.
		_ = b.tx.Rollback(context.WithoutCancel(ctx))
		return nil, nil
	}
	return b, jobs
}

// runBatch works the jobs of b concurrently and commits b.
func (w *Worker) runBatch(ctx context.Context, b *batch, jobs []*Job) {
	w.runBatchJobs(ctx, jobs)
	w.commitBatch(ctx, b, jobs)
}

// runBatchJobs works jobs concurrently and waits for them (see
// waitOrAbandon).
//
// The shutdown wiring is the batch's, made once: the jobs' contexts are
// children of one context that shutdown cancels (with ErrWorkerStopped,
// which each job's context.Cause reports), instead of each job registering
// its own callbacks on the pool's contexts — with no-op jobs those were
// most of batch mode's Go CPU per job outside pgx.
func (w *Worker) runBatchJobs(ctx context.Context, jobs []*Job) {
	batchCtx, cancelBatch := context.WithCancelCause(context.WithoutCancel(ctx))
	// Once waitOrAbandon returns, every job has finished or been
	// cancelled by the hard stop already.
	defer cancelBatch(nil)
	stop := w.stopOnShutdown(ctx, cancelBatch)
	defer stop()
	var wg sync.WaitGroup
	for _, j := range jobs {
		// Made here, in one goroutine, rather than in the jobs' own.
		jobCtx, cancel := context.WithCancelCause(batchCtx)
		wg.Add(1)
		w.goroutines.run(func() {
			defer wg.Done()
			defer cancel(nil)
			w.workIn(jobCtx, cancel, j)
		})
	}
	w.waitOrAbandon(ctx, &wg, jobs)
}

// commitBatch commits b once its jobs are done, recording the failures
// when the commit fails.
func (w *Worker) commitBatch(ctx context.Context, b *batch, jobs []*Job) {
	if err := b.finish(context.WithoutCancel(ctx), w.stmts); err != nil {
		w.logger.Error("could not commit batch; its failed jobs are recorded, the others will run again", adapter.Err(err), adapter.F("jobs", len(jobs)))
		b.recordFailures(context.WithoutCancel(ctx), w.c.pool, w.stmts)
	}
}
