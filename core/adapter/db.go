package adapter

import (
	"context"
	"errors"
)

// Sentinel errors every adapter translates its driver's errors into. Where
// the driver's error says nothing beyond the sentinel (a plain "no rows"),
// the adapter returns the sentinel itself, so that err == ErrNoRows holds as
// gue v2 users compare; otherwise it marks the driver's error with Mark
// (errors.Is matches both, and the text is the driver's, said once).
var (
	// ErrNoRows is returned by Row.Scan when the query produced no row.
	ErrNoRows = errors.New("no rows in result set")
	// ErrTxClosed is returned by Tx methods called after Commit or Rollback.
	ErrTxClosed = errors.New("tx is closed")
	// ErrPoolClosed is returned by ConnPool methods called after Close.
	ErrPoolClosed = errors.New("connection pool is closed")
	// ErrCommitRolledBack is returned by Commit (and PipelineTx.ExecCommit)
	// when the transaction had failed, so that COMMIT ended it with a
	// rollback: nothing was committed.
	ErrCommitRolledBack = errors.New("commit rolled back: the transaction had failed")
	// ErrUniqueViolation marks a server error with SQLSTATE 23505
	// (unique_violation). See WrapSQLState.
	ErrUniqueViolation = errors.New("unique violation")
	// ErrUndefinedTable marks a server error with SQLSTATE 42P01
	// (undefined_table). See WrapSQLState.
	ErrUndefinedTable = errors.New("undefined table")
	// ErrUndefinedColumn marks a server error with SQLSTATE 42703
	// (undefined_column). See WrapSQLState.
	ErrUndefinedColumn = errors.New("undefined column")
	// ErrUndefinedSchema marks a server error with SQLSTATE 3F000
	// (invalid_schema_name). See WrapSQLState.
	ErrUndefinedSchema = errors.New("undefined schema")
)

// Row is the result of Queryable.QueryRow.
type Row interface {
	// Scan copies the columns of the first row into dest, positionally.
	// It returns an error wrapping ErrNoRows when the query produced no row,
	// and any error of the query itself, which QueryRow defers to Scan.
	// Rows after the first are discarded.
	Scan(dest ...any) error
}

// Rows is the result of Queryable.Query: a forward-only cursor.
type Rows interface {
	// Next advances to the next row and reports whether there is one. It
	// returns false at the end of the result and on error; check Err then.
	Next() bool
	// Scan copies the columns of the current row into dest, positionally.
	Scan(dest ...any) error
	// Err returns the error, if any, met while iterating.
	Err() error
	// Close releases the cursor. It is safe to call more than once and must
	// be called before the connection or transaction is used again when
	// iteration stops early.
	Close()
}

// CommandTag is the result of Queryable.Exec.
type CommandTag interface {
	// RowsAffected returns the number of rows the statement inserted,
	// updated or deleted; 0 for statements that affect no rows.
	RowsAffected() int64
}

// Queryable runs SQL. Arguments are referenced positionally as $1, $2, ...
// Implementations accept at least these Go argument types: nil, string,
// []byte, bool, int16, int32, int64, int, float64 and time.Time, and scan
// into pointers to the same types and to the database/sql Null* types.
type Queryable interface {
	// Exec runs a statement that returns no rows.
	Exec(ctx context.Context, sql string, args ...any) (CommandTag, error)
	// QueryRow runs a query expected to return at most one row. Errors are
	// deferred to Row.Scan.
	QueryRow(ctx context.Context, sql string, args ...any) Row
	// Query runs a query that returns any number of rows.
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
}

// Tx is a database transaction. It is not safe for concurrent use.
type Tx interface {
	Queryable
	// Commit commits the transaction. After Commit or Rollback, every method
	// returns an error wrapping ErrTxClosed.
	Commit(ctx context.Context) error
	// Rollback aborts the transaction. Calling it on a closed transaction
	// returns an error wrapping ErrTxClosed and is otherwise harmless, so
	// "defer tx.Rollback(ctx)" is safe after a Commit.
	//
	// The transaction's lifetime must not be bound to the context given to
	// Begin: cancelling that context after Begin returned must not roll the
	// transaction back (database/sql does this by default; its adapter must
	// prevent it). The engine decides when a job's transaction ends.
	Rollback(ctx context.Context) error
}

// Conn is one connection taken from a ConnPool for exclusive use, for work
// that needs session state (LISTEN, for instance). It is not safe for
// concurrent use.
type Conn interface {
	Queryable
	// Begin starts a transaction on this connection.
	Begin(ctx context.Context) (Tx, error)
	// Release returns the connection to its pool. The Conn must not be used
	// afterwards. Release is safe to call more than once.
	Release()
}

// ConnPool is a pool of connections safe for concurrent use. The engine runs
// single statements on it and starts one transaction per locked job.
type ConnPool interface {
	Queryable
	// Begin starts a transaction on a connection of the pool; the connection
	// returns to the pool when the transaction ends.
	Begin(ctx context.Context) (Tx, error)
	// Acquire takes a connection for exclusive use until Conn.Release.
	Acquire(ctx context.Context) (Conn, error)
	// Close closes the pool and its idle connections. Methods called
	// afterwards return an error wrapping ErrPoolClosed.
	Close() error
}
