package gue

import (
	"errors"
	"fmt"
)

// The engine's sentinel errors. Each is returned wrapped, with detail and a
// "gue:" prefix, so compare with errors.Is. Bad input never writes anything.

// ErrMissingType is returned by Enqueue and EnqueueTx for a job with no Type:
// the sentinel itself, as gue v2 documents (err == ErrMissingType holds), so
// its text carries the "gue:" prefix. EnqueueBatch wraps it with the job's
// index.
var ErrMissingType = errors.New("gue: job type must be specified")

// ErrNilJob is returned when a nil *Job is enqueued.
var ErrNilJob = errors.New("job must not be nil")

// ErrInvalidArgs is returned when Job.Args is not valid JSON in UTF-8. Args
// have no size limit of their own: PostgreSQL's limit for one json value
// (1 GB) applies.
var ErrInvalidArgs = errors.New("job args must be valid JSON")

// ErrInvalidType is returned when Job.Type or Job.Queue cannot be stored as
// PostgreSQL text (a NUL byte or invalid UTF-8), and by the admin API
// (ListJobs, GetJob, Cancel, PauseQueue, Stats, ...) for a queue or job type
// argument that no job can have for that reason.
var ErrInvalidType = errors.New("job type and queue must be valid UTF-8 without NUL bytes")

// ErrInvalidRunAt is returned when Job.RunAt is outside the years 1 to 9999,
// which not every driver can send to PostgreSQL; nothing is written.
var ErrInvalidRunAt = errors.New("job RunAt must be within the years 1 to 9999")

// ErrNilTx is returned by EnqueueTx and EnqueueBatchTx when the transaction
// is nil.
var ErrNilTx = errors.New("transaction must not be nil")

// ErrNilPool is returned when a Client or Migrate has no ConnPool.
var ErrNilPool = errors.New("connection pool must not be nil")

// ErrJobFinished is returned by Job methods that need the job's transaction
// after Done or Error has ended it.
var ErrJobFinished = errors.New("job is already finished")

// ErrAlreadyStarted is returned by Start and Run of a Worker or WorkerPool
// that is already running.
var ErrAlreadyStarted = errors.New("already started")

// ErrNilClient is returned by Workers and WorkerPools built without a Client.
var ErrNilClient = errors.New("client must not be nil")

// ErrJobTimeout is the cause of a job's context (context.Cause) when the job
// ran longer than the worker's job timeout (WithWorkerJobTimeout); the
// recorded error message starts with its text.
var ErrJobTimeout = errors.New("job timed out")

// ErrUnknownJobType is the error recorded (wrapped, with the type) for a job
// whose type has no WorkFunc in the worker's WorkMap.
var ErrUnknownJobType = errors.New("unknown job type")

// ErrWorkerStopped is the cause of a job's context (context.Cause) when its
// worker stops hard: the grace period ran out or HardStop was called.
var ErrWorkerStopped = errors.New("worker stopped hard")

// ErrLockLost is the cause of a job's context (context.Cause) when the pool
// runs in session mode (WithPoolSessionLocks) and loses the connection
// whose session lock held the job: the server released the lock, and
// another pool may already be running the job. The job is not ended (its
// Job.Tx transaction is rolled back, no ending is written): it runs again,
// here or elsewhere, and a WorkFunc should return as soon as it can. The
// error of an ending refused because the lock was gone wraps it too.
var ErrLockLost = errors.New("the session lock holding the job was lost")

// errLost is the error of a session-held job's ending refused for want of
// its lock (or of its row): nothing was written.
var errLost = fmt.Errorf("%w, or the job's row is gone: nothing was written", ErrLockLost)

// errLostEarly is the cause of a session-held job whose lock was lost
// before it started.
var errLostEarly = fmt.Errorf("%w before the job started: it runs again", ErrLockLost)

// ErrInvalidSchema is returned for a schema name PostgreSQL cannot store: a
// NUL byte, invalid UTF-8, or more than 63 bytes.
var ErrInvalidSchema = errors.New("invalid schema name")

// ErrNotMigrated is returned (wrapping the driver's error) when gue's table
// or its schema does not exist: gue.Migrate was not run for the schema the
// Client or Worker uses. The message names the schema.
var ErrNotMigrated = errors.New("gue's tables do not exist; run gue.Migrate for this schema first")

// ErrInvalidMaxAttempts is returned for a negative Job.MaxAttempts (nothing
// is written) or WithClientMaxAttempts (every call of the Client returns it).
var ErrInvalidMaxAttempts = errors.New("max attempts must not be negative")

// ErrDiscard, wrapped in the error a WorkFunc returns, gives the job up: it
// goes to the dead table (reason discarded) with the error as its LastError,
// and is not retried.
var ErrDiscard = errors.New("job discarded")

// ErrMaxAttempts is wrapped in the error a Worker's run returns (and its
// Work hooks see) when the failure reached the job's MaxAttempts and the job
// went to the dead table.
var ErrMaxAttempts = errors.New("job reached its maximum attempts")

// ErrInvalidSnooze is returned by Snooze for a negative duration; a WorkFunc
// that returns it has failed.
var ErrInvalidSnooze = errors.New("snooze duration must not be negative")

// ErrJobNotFound is returned by RetryDead, and by Cancel, for a job that is
// not where the call looks (queue and ID).
var ErrJobNotFound = errors.New("job not found")

// ErrCancelled is the cause of a running job's context (context.Cause) when
// Client.Cancel cancelled it; a WorkFunc that then returns an error sends
// the job to the dead jobs (reason cancelled).
var ErrCancelled = errors.New("job cancelled")

// ErrDuplicateJob is returned (wrapped) by Enqueue and EnqueueTx for a job
// whose UniqueKey a live job of its queue already has: nothing is written,
// and the job's ID is set to the live job's, so that a caller can treat it
// as success. EnqueueBatch returns it for a batch with such a job, or with
// two jobs of one queue and key, and writes nothing; RetryDead returns it
// when a live job has taken the dead job's key meanwhile.
var ErrDuplicateJob = errors.New("a live job of the queue has the same unique key")

// ErrInvalidUniqueKey is returned for a Job.UniqueKey that is not valid
// UTF-8, holds a NUL byte, or is longer than MaxUniqueKeyLen bytes.
var ErrInvalidUniqueKey = errors.New("invalid unique key")

// ErrInvalidQueues is returned by Run and Start of a WorkerPool given
// WithPoolQueues with no queue or with a queue named twice.
var ErrInvalidQueues = errors.New("invalid queues")

// ErrInvalidSchedule is returned by Run and Start of a WorkerPool given a
// periodic job (WithPoolPeriodic) with an empty or duplicate name, a nil
// Schedule or job func, or a Schedule whose Next does not advance; and by
// Client.DeletePeriodic for an empty name.
var ErrInvalidSchedule = errors.New("invalid periodic job")

// ErrPeriodicNotFound is returned (wrapped) by Client.DeletePeriodic for a
// name with no schedule row.
var ErrPeriodicNotFound = errors.New("periodic job not found")
