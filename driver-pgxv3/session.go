package pgxv3

import (
	"context"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx"
)

var _ adapter.Sessioner = (*connPool)(nil)

// Session implements adapter.Sessioner: it acquires a connection, which
// its Close closes and then hands back, and a pool drops a closed
// connection instead of keeping it.
func (p *connPool) Session(ctx context.Context) (adapter.SessionConn, error) {
	c, err := p.pool.AcquireEx(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return &sessionConn{queryable: queryable{q: c}, c: c, pool: p.pool}, nil
}

// sessionConn implements adapter.SessionConn on a connection of the pool.
type sessionConn struct {
	queryable
	c    *pgx.Conn
	pool *pgx.ConnPool
}

func (s *sessionConn) Close(context.Context) error {
	if s.c == nil {
		return nil
	}
	err := s.c.Close()
	s.pool.Release(s.c)
	s.c = nil
	return translate(err)
}
