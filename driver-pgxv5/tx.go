package pgxv5

import (
	"context"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v5"
)

// txAdapter implements adapter.Tx on a pgx.Tx.
type txAdapter struct {
	queryable
	tx pgx.Tx
}

// NewTx returns an adapter.Tx running in tx, for Client.EnqueueTx inside a
// transaction the application began with pgx.
func NewTx(tx pgx.Tx) adapter.Tx { return &txAdapter{queryable: queryable{q: tx}, tx: tx} }

// UnwrapTx returns the pgx.Tx behind an adapter.Tx made by this package, such
// as Job.Tx() of a job locked through NewConnPool, so a WorkFunc can use pgx's
// full API (CopyFrom, SendBatch, ...) inside the job's transaction. It
// reports false for other Tx types, and for a job's transaction that has
// ended or whose connection failed.
func UnwrapTx(tx adapter.Tx) (pgx.Tx, bool) {
	switch t := tx.(type) {
	case *txAdapter:
		return t.tx, true
	case *pipeTx:
		return t.pgxTx()
	}
	return nil, false
}

func (t *txAdapter) Commit(ctx context.Context) error   { return translate(t.tx.Commit(ctx)) }
func (t *txAdapter) Rollback(ctx context.Context) error { return translate(t.tx.Rollback(ctx)) }

// CopyFrom implements adapter.CopyFromer with pgx's COPY protocol support.
func (t *txAdapter) CopyFrom(ctx context.Context, table, columns []string, rows [][]any) (int64, error) {
	n, err := t.tx.CopyFrom(ctx, pgx.Identifier(table), columns, pgx.CopyFromRows(rows))
	return n, translate(err)
}
