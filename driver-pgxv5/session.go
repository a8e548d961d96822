package pgxv5

import (
	"context"
	"errors"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v5"
)

var _ adapter.Sessioner = (*connPool)(nil)

// Session implements adapter.Sessioner: it acquires a connection and takes
// it out of the pool for good (pgxpool.Conn.Hijack), so that its Close
// closes it and the pool opens another in its place when it needs one.
func (p *connPool) Session(ctx context.Context) (adapter.SessionConn, error) {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return nil, translate(err)
	}
	pc := c.Hijack()
	return &sessionConn{queryable: queryable{q: pc}, c: pc}, nil
}

// sessionConn implements adapter.SessionConn on a connection of its own.
type sessionConn struct {
	queryable
	c *pgx.Conn
}

func (s *sessionConn) Close(ctx context.Context) error {
	if s.c.IsClosed() {
		return nil
	}
	return translate(s.c.Close(ctx))
}

var _ adapter.QueryBatcher = (*sessionConn)(nil)

// QueryBatch implements adapter.QueryBatcher with a pgx batch: its queries
// go out with one Sync, which makes them one implicit transaction.
func (s *sessionConn) QueryBatch(ctx context.Context, queries []adapter.BatchQuery) adapter.BatchResults {
	b := &pgx.Batch{}
	for _, q := range queries {
		b.Queue(q.SQL, q.Args...)
	}
	return &batchResults{br: s.c.SendBatch(ctx, b), left: len(queries)}
}

// batchResults implements adapter.BatchResults on pgx's.
type batchResults struct {
	br   pgx.BatchResults
	left int
}

func (b *batchResults) Query() (adapter.Rows, error) {
	if b.left == 0 {
		return nil, errors.New("pgxv5: QueryBatch: every query's rows have been read")
	}
	b.left--
	r, err := b.br.Query()
	if err != nil {
		if r != nil {
			r.Close()
		}
		return nil, translate(err)
	}
	return &rows{r}, nil
}

func (b *batchResults) Close() error { return translate(b.br.Close()) }
