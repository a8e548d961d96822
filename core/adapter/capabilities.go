package adapter

import "context"

// CopyFromer is an optional capability of a ConnPool or Tx: bulk loading
// with COPY ... FROM STDIN. The engine uses it for EnqueueBatch when the
// Queryable it writes through implements it, and falls back to a multi-row
// INSERT otherwise.
type CopyFromer interface {
	// CopyFrom loads rows into table (schema-qualified as given, each part an
	// unquoted name) with the columns named, and returns the number of rows
	// copied. Values follow the types accepted by Queryable; a nil value is
	// NULL.
	CopyFrom(ctx context.Context, table []string, columns []string, rows [][]any) (int64, error)
}

// Listener is an optional capability of a ConnPool: LISTEN on a connection
// of its own. A WorkerPool whose Client's pool implements it wakes idle
// workers as soon as a job is enqueued, instead of waiting for their next
// poll; polling stays as the fallback (and is the only path behind a pooler
// in transaction mode, which cannot LISTEN: do not implement Listener there).
type Listener interface {
	// Listen takes a connection out of the pool and LISTENs on channel. The
	// connection belongs to the returned ListenConn until its Close.
	Listen(ctx context.Context, channel string) (ListenConn, error)
}

// ListenConn is a connection that LISTENs. It is not safe for concurrent use.
type ListenConn interface {
	// WaitForNotification blocks until a notification arrives on the
	// channel and returns its payload, or returns the error of ctx or of a
	// lost connection (after which the ListenConn is unusable).
	WaitForNotification(ctx context.Context) (payload string, err error)
	// Close stops listening and gives the connection back.
	Close(ctx context.Context) error
}

// Pipeliner is an optional capability of a ConnPool: a transaction that
// costs two round trips to the server instead of four, by sending BEGIN
// together with its first query and its last statement together with
// COMMIT. A worker uses it for jobs whose WorkFunc does not call Job.Tx,
// which is most of the cost of a job in one-transaction-per-job mode.
type Pipeliner interface {
	// BeginQueryRow takes a connection from the pool and sends BEGIN and
	// sql with args in one round trip. The returned PipelineTx is never nil
	// and must be ended (Commit, Rollback or ExecCommit) whatever Scan
	// returns, even ErrNoRows; the row must be scanned before the
	// PipelineTx is used.
	BeginQueryRow(ctx context.Context, sql string, args ...any) (PipelineTx, Row)
}

// PipelineTx is a Tx begun by a Pipeliner.
type PipelineTx interface {
	Tx
	// ExecCommit sends sql with args and COMMIT in one round trip and ends
	// the transaction. If sql fails, the transaction is rolled back and
	// the error returned; if the commit turns into a rollback (the
	// transaction had failed before), an error is returned too.
	ExecCommit(ctx context.Context, sql string, args ...any) error
}

// PipelineChainer is an optional capability of a PipelineTx: ending the
// transaction and beginning the next one on the same connection in a single
// round trip. A worker of one queue uses it to commit a finished job together
// with the BEGIN and lock query of its next job, which halves the round trips
// per job again: one instead of two.
type PipelineChainer interface {
	// ExecCommitBeginQueryRow sends sql with args, COMMIT, BEGIN and next
	// with nextArgs in one round trip, keeping the connection.
	//
	// err is the outcome of sql and the COMMIT, as ExecCommit reports it;
	// when it is not nil, nothing was begun and PipelineTx and Row are nil.
	// Otherwise the transaction is committed, and the returned PipelineTx
	// and Row are as BeginQueryRow's: the PipelineTx is never nil and must
	// be ended whatever Scan returns, and failures of the new transaction
	// (BEGIN or next) come through Row.Scan. One exception: a driver that
	// prepares a batch's new statements before sending it may find next
	// invalid (an unknown table) before sql runs; that error is err, and
	// nothing is committed.
	ExecCommitBeginQueryRow(ctx context.Context, sql string, args []any, next string, nextArgs ...any) (PipelineTx, Row, error)
}

// Sizer is an optional capability of a ConnPool: how many connections it
// opens at most. A WorkerPool checks at start that its workers and its
// LISTEN connection fit: one that would not leave every worker a connection
// polls instead of listening, and the pool logs the numbers.
type Sizer interface {
	// MaxConns returns the most connections the pool opens at once; 0
	// means no limit.
	MaxConns() int
}

// Sessioner is an optional capability of a ConnPool: a connection that is
// one server session from its opening to its Close, for a WorkerPool in
// session mode (gue.WithPoolSessionLocks), whose session-level advisory
// locks hold the jobs the pool runs. The server releases those locks when
// the session ends, which is what returns a dead process's jobs at once;
// so a SessionConn must never go back to a pool with its session alive.
// A pooler in transaction mode (PgBouncer's pool_mode = transaction) runs
// each statement on any server session, which cannot hold such a lock: do
// not implement Sessioner there (gue detects it too, and refuses).
type Sessioner interface {
	// Session opens, or takes out of the pool for good, a connection for
	// session state.
	Session(ctx context.Context) (SessionConn, error)
}

// SessionConn is a connection returned by Sessioner.Session. It is not
// safe for concurrent use.
type SessionConn interface {
	Queryable
	// Close closes the connection itself, so that the server ends the
	// session and releases its session-level locks; it never returns the
	// connection to a pool. Calling it more than once is harmless.
	Close(ctx context.Context) error
}

// QueryBatcher is an optional capability of a SessionConn: several queries
// sent in one round trip. Session mode (gue.WithPoolSessionLocks) uses it
// on the lock connection, whose turns run one at a time for the whole
// pool, to lock jobs and read them in one round trip and one transaction
// instead of two each; without it, each query is a round trip of its own.
type QueryBatcher interface {
	// QueryBatch sends queries in one round trip, to run one after the
	// other in one transaction of their own (an implicit one: the first
	// that fails rolls back those before it, and the ones after it do not
	// run). The connection must not be in a transaction. Under READ
	// COMMITTED each query sees what committed before it began, as a
	// query of its own would. The results are read in order through the
	// returned BatchResults, which is never nil and must be closed.
	QueryBatch(ctx context.Context, queries []BatchQuery) BatchResults
}

// BatchQuery is a query of a QueryBatcher's batch.
type BatchQuery struct {
	SQL  string
	Args []any
}

// BatchResults reads the results of a QueryBatch, in order.
type BatchResults interface {
	// Query returns the rows of the batch's next query (the first on the
	// first call), or the error that query failed with, or an error once
	// every query's rows have been asked for. The rows must be closed
	// before the next query's are asked for.
	Query() (Rows, error)
	// Close reads what is left of the batch and ends it; the connection
	// can be used again after it. It returns the first error of the batch
	// not returned by Query yet. Calling it more than once is harmless.
	Close() error
}
