package gue

import (
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// WorkerPoolOption configures a WorkerPool in NewWorkerPool.
type WorkerPoolOption func(*WorkerPool)

// WithPoolID sets the pool's ID, the prefix of its workers' IDs; the default
// is "pool-" and a random suffix.
func WithPoolID(id string) WorkerPoolOption {
	return func(p *WorkerPool) { p.id = id }
}

// WithPoolLogger sets the Logger of the pool's workers; by default (or with
// nil) they log through the Client's logger.
func WithPoolLogger(logger adapter.Logger) WorkerPoolOption {
	return func(p *WorkerPool) { p.logTo = logger }
}

// WithPoolHooks adds hooks to this pool alone, inside the Client's
// (WithClientHooks): its Work hooks wrap each run of its workers inside the
// Client's, its Locked hooks are called after the Client's, and its Enqueue
// hooks wrap the enqueues of its periodic jobs (WithPoolPeriodic). Several
// calls add in order, the first outermost, as with WithClientHooks.
func WithPoolHooks(h Hooks) WorkerPoolOption {
	return func(p *WorkerPool) { p.hooks = append(p.hooks, h) }
}

// WithPoolPollInterval sets how long an idle worker of the pool waits before
// looking for a ready job again; default 5s. Values <= 0 keep the default.
func WithPoolPollInterval(d time.Duration) WorkerPoolOption {
	return func(p *WorkerPool) { p.interval = d }
}

// WithPoolQueue sets the queue the pool works; default "". It replaces the
// queues of an earlier WithPoolQueues.
func WithPoolQueue(queue string) WorkerPoolOption {
	return func(p *WorkerPool) { p.queues = []string{queue} }
}

// WithPoolQueues makes the pool work several queues, in place of one. Each
// worker takes them round robin: after a job from one queue it looks in the
// next, so a busy queue does not starve the others; within a queue, jobs
// come in its own order (Priority, then RunAt). Priorities are not compared
// across queues: give a queue that must go first a pool of its own. Each
// lock statement is about a single queue, and PauseQueue pauses one queue of
// the pool while the others go on. Run and Start return ErrInvalidQueues for
// no queue or a queue named twice.
func WithPoolQueues(queues ...string) WorkerPoolOption {
	return func(p *WorkerPool) { p.queues = append([]string{}, queues...) }
}

// WithPoolSchema sets the schema the pool works in; default the Client's
// schema, itself "public" by default. The pool then acts as a Client of that
// schema (WithClientSchema) with the Client's other settings: its jobs,
// registry row, periodic jobs, cancel requests and pauses are all in that
// schema, and none in the Client's.
func WithPoolSchema(schema string) WorkerPoolOption {
	return func(p *WorkerPool) { p.schema = schema }
}

// WithPoolGracePeriod is WithWorkerGracePeriod for every worker of the pool.
func WithPoolGracePeriod(d time.Duration) WorkerPoolOption {
	return func(p *WorkerPool) { p.grace = d }
}

// WithPoolJobTimeout is WithWorkerJobTimeout for every worker of the pool.
func WithPoolJobTimeout(d time.Duration) WorkerPoolOption {
	return func(p *WorkerPool) { p.timeout = d }
}

// WithPoolBatchSize is WithWorkerBatchSize for every worker of the pool: each
// worker runs one batch of up to n jobs at a time, so up to poolSize × n jobs
// run at once. The batches are locked by two loops for the whole pool, at
// most two lock statements at a time, and handed to idle workers, so a larger
// pool costs no throughput (it only allows more slow jobs at once). See
// WithWorkerBatchSize for the trade-offs.
//
// Recommended: n between 100 and 500 for short jobs (BENCHMARKS.md measures
// the pool of the bench's -workers at 250), and poolSize for the number of
// batches whose jobs may be in flight together, each holding a connection.
func WithPoolBatchSize(n int) WorkerPoolOption {
	return func(p *WorkerPool) { p.batchSize = n }
}

// WithPoolSessionLocks turns session mode on or off (default off). In
// session mode the pool holds each running job by a session-level advisory
// lock (pg_try_advisory_lock) that one connection of its own takes for all
// the pool's jobs, and runs the job with no transaction open: poolSize is
// the number of jobs in flight, not a number of connections, so a pool of
// 500 works on a connection pool of 10. A job holds a connection only
// while it writes its ending, or from its handler's first call of Job.Tx,
// which opens the job's transaction then; the job's deletion commits in
// that transaction, so the handler's writes and the job's end stay atomic.
// A process that dies drops its lock connection, and the server releases
// every lock it held: other pools take those jobs at once.
//
// Every ending proves in its own statement that the lock connection still
// holds the job's lock; when that connection is lost, the pool cancels its
// running jobs' contexts with cause ErrLockLost, ends none of them, and
// opens a new one. A job is looked at again after its lock is taken, so a
// job another pool has just ended never runs twice.
//
// Session mode needs a ConnPool that implements adapter.Sessioner, a
// direct (or session-pooled) route to PostgreSQL, not a pooler in
// transaction mode, and plain PostgreSQL, not Citus; Run and Start return
// an error otherwise. It cannot be combined with WithPoolBatchSize. Do not
// work one queue with pools of both modes at once: a pool in the default
// mode does not see the session locks. See docs/session-mode.md.
//
// A pool of 512 workers or more also locks up to a quarter of its size
// ahead of its free workers, and a worker starts its next job as soon as
// its last one's handler returns, while that job's ending is written (its
// lock held until the ending commits): poolSize then counts the handlers
// running, and the pool holds the locks of up to poolSize more jobs that
// are ending, one per worker at most, besides those locked ahead. A
// smaller pool holds exactly the locks of the jobs it runs, and a worker
// starts its next job once the last one has ended.
func WithPoolSessionLocks(on bool) WorkerPoolOption {
	return func(p *WorkerPool) { p.session = on }
}

// WithPoolListen turns the LISTEN wake-up on or off (default on). When the
// Client's pool implements adapter.Listener, the pool keeps one connection
// LISTENing and wakes its idle workers as soon as a job is enqueued; without
// it, or when listening fails, workers poll every poll interval. The
// listener holds one connection of the pool while the WorkerPool runs: size
// the pool for poolSize job transactions, the listener, and whatever else
// the handlers and the application use. Turn it off behind a pooler in
// transaction mode, which cannot LISTEN.
func WithPoolListen(on bool) WorkerPoolOption {
	return func(p *WorkerPool) { p.noListen = !on }
}

// WithPoolPeriodic makes the pool enqueue the job that job returns at every
// tick of s, under name. Any number of pools in any number of processes may
// declare the same name (with the same schedule): each tick enqueues one
// job, decided by a row lock on name's row in the Client's schema's
// gue_periodic table, by the database's clock, with no leader. A tick
// missed while no pool ran is run once when one starts, not once per missed
// tick; the first tick of a new name is the first after it is declared. A
// schedule changed in code to tick sooner takes effect at once.
//
// job runs at each tick; a job with an empty Queue goes to the pool's
// (first) queue. Returning nil skips the tick. The job is enqueued in the
// transaction that records the tick, with the metadata MetaPeriodic and
// MetaPeriodicTick added. A job rejected by Enqueue (an empty Type, say, or
// ErrDuplicateJob for its UniqueKey) skips the tick, logged.
//
// Run and Start return ErrInvalidSchedule for an empty or repeated name, a
// nil s or job, or an s whose Next does not advance. A name no pool
// declares any more leaves its row behind: see Client.ListPeriodic and
// Client.DeletePeriodic.
func WithPoolPeriodic(name string, s Schedule, job func() *Job) WorkerPoolOption {
	return func(p *WorkerPool) { p.periodic = append(p.periodic, periodic{name: name, sched: s, job: job}) }
}
