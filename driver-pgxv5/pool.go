package pgxv5

import (
	"context"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Compile-time checks of the ports each type implements.
var (
	_ adapter.ConnPool   = NewConnPool(nil)
	_ adapter.Tx         = NewTx(nil)
	_ adapter.Conn       = (*conn)(nil)
	_ adapter.Row        = row{}
	_ adapter.Rows       = (*rows)(nil)
	_ adapter.CommandTag = commandTag{}

	// Optional capabilities.
	_ adapter.Sizer      = (*connPool)(nil)
	_ adapter.CopyFromer = (*connPool)(nil)
	_ adapter.CopyFromer = (*txAdapter)(nil)
	_ adapter.Pipeliner  = (*connPool)(nil)
	_ adapter.PipelineTx = (*pipeTx)(nil)
	_ adapter.CopyFromer = (*pipeTx)(nil)
)

// queryer is what *pgxpool.Pool, *pgxpool.Conn and pgx.Tx have in common.
type queryer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryable implements adapter.Queryable on any queryer.
type queryable struct{ q queryer }

func (q queryable) Exec(ctx context.Context, sql string, args ...any) (adapter.CommandTag, error) {
	ct, err := q.q.Exec(ctx, sql, args...)
	return commandTag{ct}, translate(err)
}

func (q queryable) QueryRow(ctx context.Context, sql string, args ...any) adapter.Row {
	return row{q.q.QueryRow(ctx, sql, args...)}
}

func (q queryable) Query(ctx context.Context, sql string, args ...any) (adapter.Rows, error) {
	r, err := q.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err)
	}
	return &rows{r}, nil
}

// connPool implements adapter.ConnPool on a *pgxpool.Pool.
type connPool struct {
	queryable
	pool *pgxpool.Pool
}

// NewConnPool returns an adapter.ConnPool that runs on pool. The adapter does
// not own pool beyond its Close method, which closes pool.
func NewConnPool(pool *pgxpool.Pool) adapter.ConnPool {
	return &connPool{queryable: queryable{q: pool}, pool: pool}
}

// UnwrapPool returns the *pgxpool.Pool behind a ConnPool made by NewConnPool.
func UnwrapPool(p adapter.ConnPool) (*pgxpool.Pool, bool) {
	cp, ok := p.(*connPool)
	if !ok {
		return nil, false
	}
	return cp.pool, true
}

func (p *connPool) Begin(ctx context.Context) (adapter.Tx, error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return NewTx(tx), nil
}

func (p *connPool) Acquire(ctx context.Context) (adapter.Conn, error) {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return &conn{queryable: queryable{q: c}, c: c}, nil
}

func (p *connPool) Close() error {
	p.pool.Close()
	return nil
}

// conn implements adapter.Conn on a *pgxpool.Conn.
type conn struct {
	queryable
	c *pgxpool.Conn
}

func (c *conn) Begin(ctx context.Context) (adapter.Tx, error) {
	tx, err := c.c.Begin(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return NewTx(tx), nil
}

func (c *conn) Release() {
	if c.c != nil {
		c.c.Release()
		c.c = nil
	}
}

// row implements adapter.Row.
type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }

// rows implements adapter.Rows.
type rows struct{ r pgx.Rows }

func (r *rows) Next() bool             { return r.r.Next() }
func (r *rows) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }
func (r *rows) Err() error             { return translate(r.r.Err()) }
func (r *rows) Close()                 { r.r.Close() }

// commandTag implements adapter.CommandTag.
type commandTag struct{ ct pgconn.CommandTag }

func (c commandTag) RowsAffected() int64 { return c.ct.RowsAffected() }

// CopyFrom implements adapter.CopyFromer with pgx's COPY protocol support.
func (p *connPool) CopyFrom(ctx context.Context, table, columns []string, rows [][]any) (int64, error) {
	n, err := p.pool.CopyFrom(ctx, pgx.Identifier(table), columns, pgx.CopyFromRows(rows))
	return n, translate(err)
}

// MaxConns implements adapter.Sizer: the pool's configured maximum.
func (p *connPool) MaxConns() int { return int(p.pool.Config().MaxConns) }
