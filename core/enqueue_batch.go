package gue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// enqueueBatchColumns are the columns EnqueueBatch writes, in order.
var enqueueBatchColumns = []string{"job_id", "queue", "priority", "run_at", "job_type", "args", "metadata", "max_attempts", "unique_key"}

// EnqueueBatch adds jobs in one transaction of their own: all or none. It
// fills in each job's ID and, when zero, RunAt, as Enqueue does. Bad input in
// any job returns an error (naming the job's index) and writes nothing. With
// an adapter that implements adapter.Pipeliner, up to 1,000 jobs go in one
// INSERT, in two round trips in all; otherwise, and for larger batches, the
// rows are loaded with COPY when the adapter implements adapter.CopyFromer,
// else with one multi-row INSERT. Enqueue hooks are not called; batch
// enqueue is meant for bulk loads.
func (c *Client) EnqueueBatch(ctx context.Context, jobs []*Job) (err error) {
	if err := c.validateBatch(ctx, jobs); err != nil || len(jobs) == 0 {
		return err
	}
	if pl, ok := c.pool.(adapter.Pipeliner); ok && len(jobs) <= pipelinedBatchMax {
		return c.enqueueBatchPipelined(ctx, pl, jobs)
	}
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("gue: enqueue batch: begin: %w", err)
	}
	if err := c.enqueueBatch(ctx, jobs, tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("gue: enqueue batch: commit: %w", err)
	}
	return nil
}

// EnqueueBatchTx adds jobs inside tx, the caller's transaction, as
// EnqueueBatch does: all or none. When it returns an error (ErrDuplicateJob,
// say), it wrote nothing and tx is as usable as before the call: the writes
// run under a savepoint, rolled back on failure. That costs two round trips
// more than the writes themselves.
func (c *Client) EnqueueBatchTx(ctx context.Context, jobs []*Job, tx adapter.Tx) error {
	if tx == nil {
		return fmt.Errorf("gue: enqueue batch: %w", ErrNilTx)
	}
	if err := c.validateBatch(ctx, jobs); err != nil || len(jobs) == 0 {
		return err
	}
	// A failed COPY or INSERT (a duplicate unique key) would abort the
	// caller's whole transaction: with the savepoint it aborts only what
	// began after it.
	if _, err := tx.Exec(ctx, "SAVEPOINT "+batchSavepoint); err != nil {
		return fmt.Errorf("gue: enqueue batch: savepoint: %w", err)
	}
	if err := c.enqueueBatch(ctx, jobs, tx); err != nil {
		bg := context.WithoutCancel(ctx)
		if _, rerr := tx.Exec(bg, "ROLLBACK TO SAVEPOINT "+batchSavepoint); rerr != nil {
			return fmt.Errorf("%w; rolling back to the savepoint failed too, so the transaction may be unusable: %w", err, rerr)
		}
		if _, rerr := tx.Exec(bg, "RELEASE SAVEPOINT "+batchSavepoint); rerr != nil {
			return fmt.Errorf("%w; releasing the savepoint failed: %w", err, rerr)
		}
		return err
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+batchSavepoint); err != nil {
		return fmt.Errorf("gue: enqueue batch: release savepoint: %w", err)
	}
	return nil
}

// batchSavepoint guards EnqueueBatchTx's writes in the caller's
// transaction (a name of its own: a job's Tx has gue_job's).
const batchSavepoint = "gue_enqueue_batch"

func (c *Client) validateBatch(ctx context.Context, jobs []*Job) error {
	var keys map[[2]string]int
	for i, j := range jobs {
		if err := c.validate(j); err != nil {
			return &batchJobError{index: i, err: err}
		}
		if j.UniqueKey == "" {
			continue
		}
		if keys == nil {
			keys = make(map[[2]string]int)
		}
		k := [2]string{j.Queue, j.UniqueKey}
		if first, dup := keys[k]; dup {
			return fmt.Errorf("gue: enqueue batch: jobs %d and %d: %w: queue %q, key %q", first, i, ErrDuplicateJob, j.Queue, j.UniqueKey)
		}
		keys[k] = i
	}
	if c.err != nil {
		return c.err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gue: enqueue batch: %w", err)
	}
	return nil
}

// enqueueBatch reserves IDs from the table's sequence (so both paths know
// them without relying on RETURNING order), then writes the rows.
func (c *Client) enqueueBatch(ctx context.Context, jobs []*Job, tx adapter.Tx) error {
	var ids string
	var now time.Time
	if err := tx.QueryRow(ctx, c.stmts.ReserveIDs, len(jobs)).Scan(&ids, &now); err != nil {
		return fmt.Errorf("gue: enqueue batch: reserve IDs: %w", notMigrated(c.schema, err))
	}
	now = now.UTC()
	values, err := batchValues(jobs, ids, now)
	if err != nil {
		return err
	}
	if cf, ok := tx.(adapter.CopyFromer); ok {
		if _, err := cf.CopyFrom(ctx, []string{c.schema, "gue_jobs"}, enqueueBatchColumns, values); err != nil {
			return fmt.Errorf("gue: enqueue batch: copy: %w", c.writeErr(err))
		}
	} else if err := c.insertRows(ctx, tx, values); err != nil {
		return err
	}
	return c.notifyQueues(ctx, tx, jobs, now)
}

// pipelinedBatchMax is the largest EnqueueBatch sent as one pipelined
// INSERT (two round trips in all) rather than with COPY, whose fixed cost
// (four more round trips) only pays off on larger batches.
const pipelinedBatchMax = 1000

// enqueueBatchPipelined is EnqueueBatch in two round trips: BEGIN with the
// ID reservation, then the INSERT (which also NOTIFYs) with the COMMIT.
func (c *Client) enqueueBatchPipelined(ctx context.Context, pl adapter.Pipeliner, jobs []*Job) error {
	tx, row := pl.BeginQueryRow(ctx, c.stmts.ReserveIDs, len(jobs))
	var ids string
	var now time.Time
	if err := row.Scan(&ids, &now); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("gue: enqueue batch: reserve IDs: %w", notMigrated(c.schema, err))
	}
	now = now.UTC()
	values, err := batchValues(jobs, ids, now)
	var rows, payloads []byte
	if err == nil {
		rows, err = recordsJSON(values)
	}
	if err == nil {
		payloads, err = json.Marshal(c.readyPayloads(jobs, now))
	}
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.ExecCommit(ctx, c.stmts.InsertRowsNotify, string(rows), string(payloads)); err != nil {
		return fmt.Errorf("gue: enqueue batch: insert: %w", c.writeErr(err))
	}
	return nil
}

// batchValues sets each job's ID (from ids, comma-separated), RunAt (now
// when zero) and Args ([] when empty), and returns the rows to write, in
// the order of enqueueBatchColumns.
func batchValues(jobs []*Job, ids string, now time.Time) ([][]any, error) {
	reserved := make([]int64, len(jobs))
	for i, j := range jobs {
		k := strings.IndexByte(ids, ',')
		if k < 0 {
			k = len(ids)
		}
		id, err := strconv.ParseInt(ids[:k], 10, 64)
		if err != nil || (k == len(ids)) != (i == len(jobs)-1) {
			return nil, fmt.Errorf("gue: enqueue batch: reserve IDs: unexpected reply at job %d", i)
		}
		j.ID, reserved[i] = id, id
		if k < len(ids) {
			ids = ids[k+1:]
		}
	}
	values := make([][]any, len(jobs))
	for i, j := range jobs {
		if j.ID != reserved[i] {
			// The same *Job twice: one struct cannot hold two IDs, and the
			// INSERT would fail on the primary key.
			return nil, fmt.Errorf("gue: enqueue batch: job %d appears twice in the batch (the same *Job); give each job a struct of its own", i)
		}
		if len(j.Args) == 0 {
			j.Args = []byte("[]")
		}
		if j.givenRunAt().IsZero() {
			j.RunAt = now
			j.filledRunAt = now
		}
		var metadata any
		if len(j.Metadata) > 0 {
			b, err := json.Marshal(j.Metadata)
			if err != nil {
				return nil, fmt.Errorf("gue: enqueue batch: job %d: metadata: %w", i, err)
			}
			metadata = string(b)
		}
		values[i] = []any{j.ID, j.Queue, j.Priority, j.RunAt, j.Type, string(j.Args), metadata, j.MaxAttempts, uniqueKeyArg(j.UniqueKey)}
	}
	return values, nil
}

// readyPayloads returns the NOTIFY payloads of the queues that received
// ready jobs (or jobs due within wake.Ahead), once each.
func (c *Client) readyPayloads(jobs []*Job, now time.Time) []string {
	seen := map[string]bool{}
	payloads := []string{}
	if c.noNotify {
		return payloads
	}
	for _, j := range jobs {
		if seen[j.Queue] || j.RunAt.After(now.Add(wake.Ahead)) {
			continue
		}
		seen[j.Queue] = true
		payloads = append(payloads, wake.Payload(c.schema, j.Queue))
	}
	return payloads
}

// notifyQueues announces the queues that received ready jobs, once each.
func (c *Client) notifyQueues(ctx context.Context, tx adapter.Tx, jobs []*Job, now time.Time) error {
	for _, p := range c.readyPayloads(jobs, now) {
		if _, err := tx.Exec(ctx, c.stmts.Notify, p); err != nil {
			return fmt.Errorf("gue: enqueue batch: notify: %w", err)
		}
	}
	return nil
}

// insertRows writes rows with one INSERT ... SELECT FROM json_to_recordset,
// which every driver can send as a single text parameter.
func (c *Client) insertRows(ctx context.Context, tx adapter.Tx, values [][]any) error {
	b, err := recordsJSON(values)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, c.stmts.InsertRows, string(b)); err != nil {
		return fmt.Errorf("gue: enqueue batch: insert: %w", c.writeErr(err))
	}
	return nil
}

// recordsJSON encodes rows for json_to_recordset in insertRows.
func recordsJSON(values [][]any) ([]byte, error) {
	type row struct {
		JobID    int64     `json:"job_id"`
		Queue    string    `json:"queue"`
		Priority int16     `json:"priority"`
		RunAt    time.Time `json:"run_at"`
		JobType  string    `json:"job_type"`
		// Args and metadata travel as JSON strings: embedded as raw JSON,
		// encoding/json would compact them and args must keep their bytes.
		Args        string  `json:"args"`
		Metadata    *string `json:"metadata"`
		MaxAttempts int32   `json:"max_attempts"`
		UniqueKey   *string `json:"unique_key"`
	}
	rs := make([]row, len(values))
	for i, v := range values {
		rs[i] = row{JobID: v[0].(int64), Queue: v[1].(string), Priority: v[2].(int16), RunAt: v[3].(time.Time),
			JobType: v[4].(string), Args: v[5].(string), MaxAttempts: v[7].(int32)}
		if m, ok := v[6].(string); ok {
			rs[i].Metadata = &m
		}
		if k, ok := v[8].(string); ok {
			rs[i].UniqueKey = &k
		}
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return nil, fmt.Errorf("gue: enqueue batch: %w", err)
	}
	return b, nil
}

// batchJobError is the error of one job of an EnqueueBatch call: its message
// names the job's index once, without repeating the single-job error's own
// "gue: enqueue" prefix, and it unwraps to that error.
type batchJobError struct {
	index int
	err   error
}

func (e *batchJobError) Error() string {
	msg := e.err.Error()
	for _, prefix := range []string{"gue: enqueue: ", "gue: enqueue ", "gue: "} {
		if strings.HasPrefix(msg, prefix) {
			msg = msg[len(prefix):]
			break
		}
	}
	return fmt.Sprintf("gue: enqueue batch: job %d: %s", e.index, msg)
}

func (e *batchJobError) Unwrap() error { return e.err }
