// Package libpq adapts a database/sql *sql.DB on PostgreSQL to the ports of
// github.com/gue-go/gue/core/adapter. It is written for github.com/lib/pq and
// works the same with any database/sql PostgreSQL driver, pgx's stdlib among
// them; the conformance suite runs both.
//
// database/sql binds a transaction to the context given to BeginTx and rolls
// it back when that context is cancelled. The engine must decide itself when
// a job's transaction ends, so Begin waits for a connection under the given
// context but starts the transaction on it without the cancellation.
//
// Keep connections idle: database/sql closes every connection given back
// beyond SetMaxIdleConns (2 by default), so a worker pool that uses more
// at once opens a new server session for most statements, which costs
// far more than the statement (docs/session-mode.md has figures). Call
// db.SetMaxIdleConns with at least the connections the pools use at once
// (their workers in the default mode).
//
// Errors are translated into the adapter sentinels: sql.ErrNoRows into
// adapter.ErrNoRows, sql.ErrTxDone into adapter.ErrTxClosed and the
// "database is closed" error into adapter.ErrPoolClosed.
package libpq
