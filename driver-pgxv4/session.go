package pgxv4

import (
	"context"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v4"
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
