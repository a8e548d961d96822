// Package pgxv4 adapts github.com/jackc/pgx/v4 to the ports of
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
// Requires pgx v4.18.2 or later (earlier versions are affected by
// CVE-2024-27304).
package pgxv4
