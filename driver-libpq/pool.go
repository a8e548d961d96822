package libpq

import (
	"context"
	"database/sql"

	"github.com/gue-go/gue/core/adapter"
)

// Compile-time checks of the ports each type implements.
var (
	_ adapter.ConnPool   = NewConnPool(nil)
	_ adapter.Sizer      = (*connPool)(nil)
	_ adapter.Tx         = NewTx(nil)
	_ adapter.Conn       = (*conn)(nil)
	_ adapter.Row        = row{}
	_ adapter.Rows       = (*rows)(nil)
	_ adapter.CommandTag = commandTag(0)
)

// queryer is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryable implements adapter.Queryable on any queryer.
type queryable struct{ q queryer }

func (q queryable) Exec(ctx context.Context, query string, args ...any) (adapter.CommandTag, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return commandTag(0), translate(err)
	}
	n, _ := res.RowsAffected() // PostgreSQL drivers always report it
	return commandTag(n), nil
}

func (q queryable) QueryRow(ctx context.Context, query string, args ...any) adapter.Row {
	return row{q.q.QueryRowContext(ctx, query, args...)}
}

func (q queryable) Query(ctx context.Context, query string, args ...any) (adapter.Rows, error) {
	r, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, translate(err)
	}
	return &rows{r}, nil
}

// connPool implements adapter.ConnPool on a *sql.DB.
type connPool struct {
	queryable
	db *sql.DB
}

// NewConnPool returns an adapter.ConnPool that runs on db. Its Close closes db.
// Give db room to keep its connections (db.SetMaxIdleConns; see the
// package documentation).
func NewConnPool(db *sql.DB) adapter.ConnPool {
	return &connPool{queryable: queryable{q: db}, db: db}
}

// UnwrapPool returns the *sql.DB behind a ConnPool made by NewConnPool.
func UnwrapPool(p adapter.ConnPool) (*sql.DB, bool) {
	cp, ok := p.(*connPool)
	if !ok {
		return nil, false
	}
	return cp.db, true
}

func (p *connPool) Begin(ctx context.Context) (adapter.Tx, error) {
	c, err := p.db.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	tx, err := c.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		_ = c.Close()
		return nil, translate(err)
	}
	return &txAdapter{queryable: queryable{q: tx}, tx: tx, conn: c}, nil
}

func (p *connPool) Acquire(ctx context.Context) (adapter.Conn, error) {
	c, err := p.db.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return &conn{queryable: queryable{q: c}, c: c}, nil
}

func (p *connPool) Close() error { return p.db.Close() }

// conn implements adapter.Conn on a *sql.Conn.
type conn struct {
	queryable
	c *sql.Conn
}

func (c *conn) Begin(ctx context.Context) (adapter.Tx, error) {
	tx, err := c.c.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return nil, translate(err)
	}
	return &txAdapter{queryable: queryable{q: tx}, tx: tx}, nil
}

func (c *conn) Release() { _ = c.c.Close() }

// row implements adapter.Row.
type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }

// rows implements adapter.Rows.
type rows struct{ r *sql.Rows }

func (r *rows) Next() bool             { return r.r.Next() }
func (r *rows) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }
func (r *rows) Err() error             { return translate(r.r.Err()) }
func (r *rows) Close()                 { _ = r.r.Close() }

// commandTag implements adapter.CommandTag.
type commandTag int64

func (c commandTag) RowsAffected() int64 { return int64(c) }

// MaxConns implements adapter.Sizer: the pool's configured maximum.
func (p *connPool) MaxConns() int { return p.db.Stats().MaxOpenConnections }
