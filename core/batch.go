package gue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/sqlq"
)

// batch is one transaction holding several jobs, for WithPoolBatchSize.
//
// The jobs are locked FOR UPDATE by one statement (other workers' SKIP
// LOCKED skips them) and run concurrently; just before the single commit,
// one statement deletes those that succeeded or died, one records the
// failures and snoozes, and the dead go to the dead table. A crash rolls
// everything back: the whole batch returns to the queue.
//
// The rows stay in place, committed, while the jobs run: an enqueue of a
// running job's unique key sees the committed row and answers
// ErrDuplicateJob at once. (Deleting them in the lock statement, as an
// earlier version did, made that enqueue's ON CONFLICT wait for the batch's
// commit, and a handler enqueueing its own key deadlocked its batch.)
type batch struct {
	tx    adapter.Tx
	queue string // every job of a batch is of one queue
	// stmts end the batch's jobs (queries.endings).
	stmts *sqlq.Set
	// txMu serialises use of the shared transaction: a job that calls Tx
	// holds it, inside a savepoint of its own, until the job completes.
	txMu sync.Mutex
	// txUsed is set by the first job that calls Tx: its writes are the
	// application's, so the batch then commits synchronously.
	txUsed atomic.Bool
	// async lets a batch whose jobs all finished and wrote nothing through
	// Tx commit without waiting for the WAL flush (the Client's default; see
	// WithClientAsyncCompletion): a crash can then only make its jobs run
	// again, which at-least-once allows anyway.
	async bool

	mu sync.Mutex
	// deleted are the jobs that succeeded and died; updated the failed and
	// snoozed ones; dead the rows for the dead table.
	deleted []int64
	updated []updateRow
	dead    []deadRow
	// broken is set by the first job that found the shared transaction
	// unusable (its connection cut by a job timeout, say). That job is
	// charged; failures of jobs after it are its consequences.
	broken bool
}

// updateRow is a job of the batch to reschedule after DelayUS with the
// error count and last error given: failed, or snoozed (failed false).
type updateRow struct {
	JobID      int64   `json:"job_id"`
	ErrorCount int32   `json:"error_count"`
	LastError  *string `json:"last_error"`
	DelayUS    int64   `json:"delay_us"`
	// failed: the row records a failure (see recordFailures).
	failed bool
	// collateral marks a failure that followed the breaking of the batch's
	// transaction by another job: not recorded if the batch fails.
	collateral bool
}

// deadRow is a job of the batch to move to the dead table, as the dead
// table's columns.
type deadRow struct {
	JobID       int64           `json:"job_id"`
	Queue       string          `json:"queue"`
	Priority    int16           `json:"priority"`
	RunAt       time.Time       `json:"run_at"`
	JobType     string          `json:"job_type"`
	Args        string          `json:"args"` // text: raw JSON would be compacted
	ErrorCount  int32           `json:"error_count"`
	LastError   *string         `json:"last_error"`
	Metadata    json.RawMessage `json:"metadata"` // as stored; null for none
	CreatedAt   time.Time       `json:"created_at"`
	MaxAttempts int32           `json:"max_attempts"`
	UniqueKey   *string         `json:"unique_key"`
	Reason      string          `json:"reason"`
	collateral  bool
}

// addDeleted queues the deletion of a job that succeeded.
func (b *batch) addDeleted(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deleted = append(b.deleted, id)
}

// addSnoozed queues a job to run again after d, its failures as they were.
func (b *batch) addSnoozed(r updateRow) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.updated = append(b.updated, r)
}

// charge notes one failure of a job; finishErr is the error of the job's
// batchFinish: one means that the shared transaction is unusable. It
// reports whether the failure is a consequence of another job's breaking
// the transaction. Callers hold mu.
func (b *batch) charge(finishErr error) (collateral bool) {
	collateral = b.broken
	if finishErr != nil && !errors.Is(finishErr, errTxFailed) {
		b.broken = true
	}
	return collateral
}

// addFailed queues r to be retried after delay with one more failure, msg.
func (b *batch) addFailed(r updateRow, msg string, delay time.Duration, finishErr error) {
	r.ErrorCount++
	r.LastError, r.DelayUS, r.failed = &msg, max(delay, 0).Microseconds(), true
	b.mu.Lock()
	defer b.mu.Unlock()
	r.collateral = b.charge(finishErr)
	b.updated = append(b.updated, r)
}

// addDead queues r for the dead table with one more failure, msg.
func (b *batch) addDead(r deadRow, msg string, finishErr error) {
	r.ErrorCount++
	r.LastError = &msg
	b.mu.Lock()
	defer b.mu.Unlock()
	r.collateral = b.charge(finishErr)
	b.dead = append(b.dead, r)
	b.deleted = append(b.deleted, r.JobID)
}

// writes reports whether finish has more to write than deletions.
func (b *batch) writes() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.updated) > 0 || len(b.dead) > 0
}

// recordFailures records the failures of a batch whose commit failed, each
// on a fresh connection: the rollback brought the jobs back, and without a
// recorded failure the job that broke the shared transaction (a job timeout
// that cut its connection, say) would take the whole batch down again at
// once, forever. The batch's other jobs run again, once.
func (b *batch) recordFailures(ctx context.Context, pool adapter.ConnPool, stmts *sqlq.Set) {
	// Not recorded: snoozes and returns (the rollback undid them), and
	// failures caused by another job's breaking the batch.
	for _, r := range b.dead {
		if !r.collateral {
			_, _ = pool.Exec(ctx, stmts.Die, b.queue, r.JobID, 1, *r.LastError, r.Reason)
		}
	}
	for _, r := range b.updated {
		if r.failed && !r.collateral {
			_, _ = pool.Exec(ctx, stmts.Fail, b.queue, r.JobID, r.DelayUS, *r.LastError)
		}
	}
}

// finish moves the dead jobs to the dead table, deletes them and the jobs
// that succeeded, reschedules the failed and snoozed ones and commits the
// batch. Its statements run after every handler has returned, so b needs
// no lock.
func (b *batch) finish(ctx context.Context, stmts *sqlq.Set) error {
	exec := func(what string, n int, stmt string, args ...any) error {
		if n == 0 {
			return nil
		}
		if _, err := b.tx.Exec(ctx, stmt, args...); err != nil {
			_ = b.tx.Rollback(ctx)
			return fmt.Errorf("%s (%d): %w", what, n, err)
		}
		return nil
	}
	dead, err := json.Marshal(b.dead)
	if err != nil {
		return err
	}
	updated, err := json.Marshal(b.updated)
	if err != nil {
		return err
	}
	ids := make([]string, len(b.deleted))
	for i, id := range b.deleted {
		ids[i] = strconv.FormatInt(id, 10)
	}
	if err := exec("move dead jobs", len(b.dead), stmts.DieRows, string(dead)); err != nil {
		return err
	}
	if err := exec("delete finished jobs", len(b.deleted), stmts.DeleteBatch, b.queue, "{"+strings.Join(ids, ",")+"}"); err != nil {
		return err
	}
	if err := exec("reschedule failed jobs", len(b.updated), stmts.RescheduleBatch, b.queue, string(updated)); err != nil {
		return err
	}
	if b.async && !b.txUsed.Load() && len(b.updated) == 0 && len(b.dead) == 0 {
		// A statement of its own, one round trip per batch: set in the lock
		// statement it would also cover the writes of jobs that call Tx
		// later. On Citus, SET LOCAL reaches the worker that commits only
		// when propagated (see sqlq.Set.AsyncCommit).
		for _, set := range stmts.AsyncCommit {
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
// the queue untouched (its Job ended, so that its handler can no longer use the transaction) and the batch commits the jobs
// that finished, instead of holding them uncommitted, and Run, forever for a
// handler that ignores its context.
func (s *slot) waitOrAbandon(ctx context.Context, wg *sync.WaitGroup, jobs []*Job) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-s.hardStopped().Done():
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
			s.logger.Error("job's handler ignored the hard stop; job returned to the queue and its handler left running",
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
			s.logger.Error("job's handler ignored the hard stop while holding the batch's transaction; waiting for it",
				adapter.F("job-id", j.ID), adapter.F("job-type", j.Type))
			<-done
			return
		}
	}
}

// runBatchJobs works jobs concurrently and waits for them (see
// waitOrAbandon).
//
// The shutdown wiring is the batch's, made once: the jobs' contexts are
// children of one context that shutdown cancels (with ErrWorkerStopped,
// which each job's context.Cause reports), instead of each job registering
// its own callbacks on the pool's contexts — with no-op jobs those were
// most of batch mode's Go CPU per job outside pgx.
func (s *slot) runBatchJobs(ctx context.Context, jobs []*Job) {
	batchCtx, cancelBatch := context.WithCancelCause(context.WithoutCancel(ctx))
	// Once waitOrAbandon returns, every job has finished or been
	// cancelled by the hard stop already.
	defer cancelBatch(nil)
	stop := s.stopOnShutdown(ctx, cancelBatch)
	defer stop()
	var wg sync.WaitGroup
	for _, j := range jobs {
		// Made here, in one goroutine, rather than in the jobs' own.
		jobCtx, cancel := context.WithCancelCause(batchCtx)
		wg.Add(1)
		s.goroutines.run(func() {
			defer wg.Done()
			defer cancel(nil)
			_ = s.workIn(jobCtx, cancel, j) // a batch's jobs send no lock ahead
		})
	}
	s.waitOrAbandon(ctx, &wg, jobs)
}

// commitBatch commits b once its jobs are done, recording the failures
// when the commit fails.
func (s *slot) commitBatch(ctx context.Context, b *batch, jobs []*Job) {
	if err := b.finish(context.WithoutCancel(ctx), b.stmts); err != nil {
		s.logger.Error("could not commit batch; its failed jobs are recorded, the others will run again", adapter.Err(err), adapter.F("jobs", len(jobs)))
		b.recordFailures(context.WithoutCancel(ctx), s.c.pool, b.stmts)
	}
}
