package libpq

import (
	"context"
	"database/sql"

	"github.com/gue-go/gue/core/adapter"
)

// txAdapter implements adapter.Tx on a *sql.Tx.
type txAdapter struct {
	queryable
	tx *sql.Tx
	// conn is the connection Begin took for the transaction, returned to
	// the pool when the transaction ends; nil for NewTx.
	conn *sql.Conn
}

// NewTx returns an adapter.Tx running in tx, for Client.EnqueueTx inside a
// transaction the application began with database/sql.
func NewTx(tx *sql.Tx) adapter.Tx { return &txAdapter{queryable: queryable{q: tx}, tx: tx} }

// UnwrapTx returns the *sql.Tx behind an adapter.Tx made by this package, such
// as Job.Tx() of a job locked through NewConnPool, so a WorkFunc can run its
// own database/sql queries inside the job's transaction.
func UnwrapTx(tx adapter.Tx) (*sql.Tx, bool) {
	t, ok := tx.(*txAdapter)
	if !ok {
		return nil, false
	}
	return t.tx, true
}

func (t *txAdapter) Commit(context.Context) error { return t.end(t.tx.Commit()) }

func (t *txAdapter) Rollback(context.Context) error { return t.end(t.tx.Rollback()) }

// end returns the connection Begin took to the pool: Commit and Rollback end
// a database/sql transaction even when they fail.
func (t *txAdapter) end(err error) error {
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
	return translate(err)
}
