package gue

import (
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// WorkerOption configures a Worker in NewWorker.
type WorkerOption func(*Worker)

// WithWorkerID sets the worker's ID, added to its log messages; the default
// is "worker-" and a random suffix.
func WithWorkerID(id string) WorkerOption {
	return func(w *Worker) { w.id = id }
}

// WithWorkerLogger sets the worker's Logger; by default (or with nil) the
// worker logs through its Client's logger.
func WithWorkerLogger(logger adapter.Logger) WorkerOption {
	return func(w *Worker) { w.logTo = logger }
}

// WithWorkerHooks adds hooks to this worker alone, inside the Client's
// (WithClientHooks): its Work hooks wrap each run inside the Client's, and
// its Locked hooks are called after the Client's. Enqueue hooks do not
// apply: a Worker enqueues nothing. Several calls add in order, the first
// outermost, as with WithClientHooks.
func WithWorkerHooks(h Hooks) WorkerOption {
	return func(w *Worker) { w.hooks = append(w.hooks, h) }
}

// WithWorkerPollInterval sets how long an idle worker waits before looking
// for a ready job again; default 5s. Values <= 0 keep the default.
func WithWorkerPollInterval(d time.Duration) WorkerOption {
	return func(w *Worker) { w.interval = d }
}

// WithWorkerQueue sets the queue the worker works; default "".
func WithWorkerQueue(queue string) WorkerOption {
	return func(w *Worker) { w.queues = []string{queue} }
}

// WithWorkerSchema sets the schema the worker works in; default the Client's
// schema, itself "public" by default. The worker then acts as a Client of
// that schema (WithClientSchema) with the Client's other settings: its jobs,
// cancel requests and pauses are those of that schema.
func WithWorkerSchema(schema string) WorkerOption {
	return func(w *Worker) { w.schema = schema }
}

// WithWorkerGracePeriod sets how long a job in flight may keep running after
// the worker's context is cancelled (a graceful shutdown). When it runs out
// the job's context, j.Context(), is cancelled; if the WorkFunc then returns
// an error, the job's transaction is rolled back and the job returns to the
// queue unchanged. Default 30s; 0 cancels jobs at once; negative waits for
// them without limit.
func WithWorkerGracePeriod(d time.Duration) WorkerOption {
	return func(w *Worker) { w.grace = d }
}

// WithWorkerJobTimeout bounds how long a WorkFunc may run: after d its
// j.Context() is cancelled with cause ErrJobTimeout, and the error the
// WorkFunc then returns is recorded on the job, which is retried with
// backoff. A WorkFunc that ignores its context cannot be interrupted. Keep d
// below PostgreSQL's idle_in_transaction_session_timeout, if one is set. 0
// (the default) means no timeout.
func WithWorkerJobTimeout(d time.Duration) WorkerOption {
	return func(w *Worker) { w.timeout = d }
}

// WithWorkerBatchSize makes the worker lock up to n ready jobs in one
// transaction, run them concurrently and complete them all with one commit,
// instead of one transaction per job. Throughput rises several times over
// because the database commits once per batch; the trade-offs:
//
//   - the jobs of a batch share a transaction: a slow job delays the commit
//     of the others, and each job's completion becomes visible only then;
//   - a crash (or a failed commit) re-runs the whole batch;
//   - j.Tx() still works: a job that calls it waits for the shared
//     transaction and keeps it, inside a savepoint of its own, until it
//     completes, so handlers that write through Tx run one at a time, and a
//     failing job's writes are rolled back alone;
//   - a failing job is rescheduled with backoff while the rest of the batch
//     is deleted.
//
// n <= 1 (the default) keeps one transaction per job.
func WithWorkerBatchSize(n int) WorkerOption {
	return func(w *Worker) { w.batchSize = n }
}
