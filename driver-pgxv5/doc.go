// Package pgxv5 adapts github.com/jackc/pgx/v5 to the ports of
// github.com/gue-go/gue/core/adapter.
//
// Wrap the application's *pgxpool.Pool with NewConnPool and pass it to
// gue.NewClient; wrap a pgx.Tx with NewTx to enqueue inside the application's
// own transaction (Client.EnqueueTx). Inside a WorkFunc, UnwrapTx(j.Tx())
// gives the job's pgx.Tx back for pgx's full API.
//
// pgx errors are translated into the adapter sentinels: pgx.ErrNoRows into
// adapter.ErrNoRows, pgx.ErrTxClosed into adapter.ErrTxClosed and the closed
// pool error into adapter.ErrPoolClosed; the original error stays in the chain.
//
// In PgBouncer's transaction pooling mode, configure the pool with
// pgx.QueryExecModeSimpleProtocol (or QueryExecModeExec); the engine needs
// no session state and the suite runs in that mode too.
package pgxv5
