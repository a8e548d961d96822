package libpq

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/gue-go/gue/core/adapter"
)

var _ adapter.Sessioner = (*connPool)(nil)

// Session implements adapter.Sessioner on a *sql.Conn, which keeps one
// driver connection until its Close.
func (p *connPool) Session(ctx context.Context) (adapter.SessionConn, error) {
	c, err := p.db.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return &sessionConn{queryable: queryable{q: c}, c: c}, nil
}

// sessionConn implements adapter.SessionConn on a *sql.Conn.
type sessionConn struct {
	queryable
	c interface {
		Raw(func(any) error) error
		Close() error
	}
}

// Close discards the driver connection rather than returning it to the
// pool: database/sql closes a connection whose Raw call reports
// driver.ErrBadConn.
func (s *sessionConn) Close(context.Context) error {
	if s.c == nil {
		return nil
	}
	err := s.c.Raw(func(any) error { return driver.ErrBadConn })
	_ = s.c.Close() // sql.ErrConnDone: Raw closed it already
	s.c = nil
	if errors.Is(err, driver.ErrBadConn) {
		return nil
	}
	return translate(err)
}
