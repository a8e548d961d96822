package pgxv3

import (
	"context"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx"
)

// Compile-time checks of the ports each type implements.
var (
	_ adapter.ConnPool   = NewConnPool(nil)
	_ adapter.Sizer      = (*connPool)(nil)
	_ adapter.Tx         = NewTx(nil)
	_ adapter.Conn       = (*conn)(nil)
	_ adapter.Row        = row{}
	_ adapter.Rows       = (*rows)(nil)
	_ adapter.CommandTag = commandTag("")
)

// queryer is what *pgx.ConnPool, *pgx.Conn and *pgx.Tx have in common.
type queryer interface {
	ExecEx(ctx context.Context, sql string, options *pgx.QueryExOptions, args ...any) (pgx.CommandTag, error)
	QueryEx(ctx context.Context, sql string, options *pgx.QueryExOptions, args ...any) (*pgx.Rows, error)
	QueryRowEx(ctx context.Context, sql string, options *pgx.QueryExOptions, args ...any) *pgx.Row
}

// queryable implements adapter.Queryable on any queryer.
type queryable struct{ q queryer }

func (q queryable) Exec(ctx context.Context, sql string, args ...any) (adapter.CommandTag, error) {
	ct, err := q.q.ExecEx(ctx, sql, nil, args...)
	return commandTag(ct), translate(err)
}

func (q queryable) QueryRow(ctx context.Context, sql string, args ...any) adapter.Row {
	return row{q.q.QueryRowEx(ctx, sql, nil, args...)}
}

func (q queryable) Query(ctx context.Context, sql string, args ...any) (adapter.Rows, error) {
	r, err := q.q.QueryEx(ctx, sql, nil, args...)
	if err != nil {
		if r != nil {
			r.Close()
		}
		return nil, translate(err)
	}
	return &rows{r}, nil
}

// connPool implements adapter.ConnPool on a *pgx.ConnPool.
type connPool struct {
	queryable
	pool *pgx.ConnPool
}

// NewConnPool returns an adapter.ConnPool that runs on pool. Its Close closes
// pool.
func NewConnPool(pool *pgx.ConnPool) adapter.ConnPool {
	return &connPool{queryable: queryable{q: pool}, pool: pool}
}

// UnwrapPool returns the *pgx.ConnPool behind a ConnPool made by NewConnPool.
func UnwrapPool(p adapter.ConnPool) (*pgx.ConnPool, bool) {
	cp, ok := p.(*connPool)
	if !ok {
		return nil, false
	}
	return cp.pool, true
}

func (p *connPool) Begin(ctx context.Context) (adapter.Tx, error) {
	tx, err := p.pool.BeginEx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	return NewTx(tx), nil
}

func (p *connPool) Acquire(ctx context.Context) (adapter.Conn, error) {
	c, err := p.pool.AcquireEx(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return &conn{queryable: queryable{q: c}, c: c, pool: p.pool}, nil
}

func (p *connPool) Close() error {
	p.pool.Close()
	return nil
}

// conn implements adapter.Conn on a *pgx.Conn taken from a pool.
type conn struct {
	queryable
	c    *pgx.Conn
	pool *pgx.ConnPool
}

func (c *conn) Begin(ctx context.Context) (adapter.Tx, error) {
	tx, err := c.c.BeginEx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	return NewTx(tx), nil
}

func (c *conn) Release() {
	if c.c != nil {
		c.pool.Release(c.c)
		c.c = nil
	}
}

// row implements adapter.Row.
type row struct{ r *pgx.Row }

func (r row) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }

// rows implements adapter.Rows.
type rows struct{ r *pgx.Rows }

func (r *rows) Next() bool             { return r.r.Next() }
func (r *rows) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }
func (r *rows) Err() error             { return translate(r.r.Err()) }
func (r *rows) Close()                 { r.r.Close() }

// commandTag implements adapter.CommandTag.
type commandTag pgx.CommandTag

func (c commandTag) RowsAffected() int64 { return pgx.CommandTag(c).RowsAffected() }

// MaxConns implements adapter.Sizer: the pool's configured maximum.
func (p *connPool) MaxConns() int { return p.pool.Stat().MaxConnections }
