package pgxv5

import (
	"context"
	"fmt"
	"sync"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BeginQueryRow implements adapter.Pipeliner with a pgx batch: BEGIN and the
// query go out with one Sync, and the explicit BEGIN keeps the transaction
// open after it.
func (p *connPool) BeginQueryRow(ctx context.Context, sql string, args ...any) (adapter.PipelineTx, adapter.Row) {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return &pipeTx{closed: true}, errRow{translate(err)}
	}
	t := &pipeTx{c: c, pool: p}
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(sql, args...)
	return t, &pipeRow{br: c.SendBatch(ctx, b)}
}

// pipeRow reads the reply of BeginQueryRow's batch.
type pipeRow struct{ br pgx.BatchResults }

func (r *pipeRow) Scan(dest ...any) error {
	_, err := r.br.Exec()
	if err == nil {
		err = r.br.QueryRow().Scan(dest...)
	}
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return translate(err)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// pipeTx is the transaction of BeginQueryRow, on a connection it holds
// until the transaction ends. It has no pgx.Tx until UnwrapTx asks for one.
type pipeTx struct {
	mu     sync.Mutex
	c      *pgxpool.Conn
	pool   *connPool // begins the next transaction when it cannot chain
	tx     pgx.Tx    // made by UnwrapTx
	closed bool
}

// queryer returns what statements run on, or an error once ended.
func (t *pipeTx) queryer() (queryer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return nil, fmt.Errorf("pgxv5: %w", adapter.ErrTxClosed)
	case t.tx != nil:
		return t.tx, nil
	}
	return t.c, nil
}

func (t *pipeTx) Exec(ctx context.Context, sql string, args ...any) (adapter.CommandTag, error) {
	q, err := t.queryer()
	if err != nil {
		return commandTag{}, err
	}
	return queryable{q}.Exec(ctx, sql, args...)
}

func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) adapter.Row {
	q, err := t.queryer()
	if err != nil {
		return errRow{err}
	}
	return queryable{q}.QueryRow(ctx, sql, args...)
}

func (t *pipeTx) Query(ctx context.Context, sql string, args ...any) (adapter.Rows, error) {
	q, err := t.queryer()
	if err != nil {
		return nil, err
	}
	return queryable{q}.Query(ctx, sql, args...)
}

// CopyFrom implements adapter.CopyFromer inside the transaction.
func (t *pipeTx) CopyFrom(ctx context.Context, table, columns []string, rows [][]any) (int64, error) {
	if _, err := t.queryer(); err != nil {
		return 0, err
	}
	n, err := t.c.CopyFrom(ctx, pgx.Identifier(table), columns, pgx.CopyFromRows(rows))
	return n, translate(err)
}

// end ends the transaction with fn, then gives the connection back (pgxpool
// destroys it rather than reuse it if it is still in a transaction).
func (t *pipeTx) end(fn func(c *pgxpool.Conn, tx pgx.Tx) error) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return fmt.Errorf("pgxv5: %w", adapter.ErrTxClosed)
	}
	t.closed = true
	c, tx := t.c, t.tx
	t.mu.Unlock()
	defer c.Release()
	return fn(c, tx)
}

func (t *pipeTx) Commit(ctx context.Context) error {
	return t.end(func(c *pgxpool.Conn, tx pgx.Tx) error {
		if tx != nil {
			return translate(tx.Commit(ctx))
		}
		return commit(c.Exec(ctx, "commit"))
	})
}

func (t *pipeTx) Rollback(ctx context.Context) error {
	return t.end(func(c *pgxpool.Conn, tx pgx.Tx) error {
		if tx != nil {
			return translate(tx.Rollback(ctx))
		}
		_, err := c.Exec(ctx, "rollback")
		return translate(err)
	})
}

func (t *pipeTx) ExecCommit(ctx context.Context, sql string, args ...any) error {
	return t.end(func(c *pgxpool.Conn, tx pgx.Tx) error {
		if tx != nil {
			if _, err := tx.Exec(ctx, sql, args...); err != nil {
				_ = tx.Rollback(context.WithoutCancel(ctx))
				return translate(err)
			}
			return translate(tx.Commit(ctx))
		}
		b := &pgx.Batch{}
		b.Queue(sql, args...)
		b.Queue("commit")
		br := c.SendBatch(ctx, b)
		_, err := br.Exec()
		var cerr error
		if err == nil {
			cerr = commit(br.Exec())
		}
		if err2 := br.Close(); err == nil && cerr == nil {
			err = err2
		}
		if err != nil {
			// The server skipped the COMMIT after the failure; the
			// transaction is still open, and aborted.
			_, _ = c.Exec(context.WithoutCancel(ctx), "rollback")
			return translate(err)
		}
		return cerr
	})
}

// ExecCommitBeginQueryRow implements adapter.PipelineChainer: sql, COMMIT,
// BEGIN and next go out as one pgx batch, with one Sync, and the connection
// stays for the new transaction. sql's and COMMIT's replies are read here;
// BEGIN's and next's by the returned Row.
func (t *pipeTx) ExecCommitBeginQueryRow(ctx context.Context, sql string, args []any, next string, nextArgs ...any) (adapter.PipelineTx, adapter.Row, error) {
	t.mu.Lock()
	if t.closed || t.tx != nil {
		// Closed: ExecCommit says so. Unwrapped: its pgx.Tx ends it, and
		// the next transaction takes a connection from the pool.
		t.mu.Unlock()
		if err := t.ExecCommit(ctx, sql, args...); err != nil {
			return nil, nil, err
		}
		nt, row := t.pool.BeginQueryRow(ctx, next, nextArgs...)
		return nt, row, nil
	}
	t.closed = true
	c := t.c
	t.mu.Unlock()
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	b.Queue("commit")
	b.Queue("begin")
	b.Queue(next, nextArgs...)
	br := c.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		err = commit(br.Exec())
	}
	if err != nil {
		// sql failed (the server skipped the rest up to the Sync, and the
		// transaction is open and aborted), or COMMIT rolled back a failed
		// transaction and BEGIN opened a new one: end either.
		_ = br.Close()
		_, _ = c.Exec(context.WithoutCancel(ctx), "rollback")
		c.Release()
		return nil, nil, translate(err)
	}
	return &pipeTx{c: c, pool: t.pool}, &pipeRow{br: br}, nil
}

// commit checks the reply to COMMIT, which says ROLLBACK when it ended a
// failed transaction.
func commit(tag interface{ String() string }, err error) error {
	if err != nil {
		return translate(err)
	}
	if tag.String() == "ROLLBACK" {
		return adapter.ErrCommitRolledBack
	}
	return nil
}

// pgxTx returns a pgx.Tx for the open transaction, making it on first use:
// pgx only makes one by sending a begin statement, so the "begin" sent is
// an empty query (a comment) and the transaction stays the one already open.
func (t *pipeTx) pgxTx() (pgx.Tx, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tx != nil {
		return t.tx, true
	}
	if t.closed {
		return nil, false
	}
	tx, err := t.c.BeginTx(context.Background(), pgx.TxOptions{BeginQuery: "-- gue: the transaction is already open"})
	if err != nil {
		return nil, false
	}
	t.tx = tx
	return tx, true
}
