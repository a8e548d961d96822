package pgxv4

import (
	"context"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v4"
	"github.com/jackc/pgx/v4/pgxpool"
)

var _ adapter.Listener = (*connPool)(nil)

// Listen implements adapter.Listener: it acquires a connection and LISTENs
// on channel. Do not use it behind a pooler in transaction mode (see
// gue.WithPoolListen).
func (p *connPool) Listen(ctx context.Context, channel string) (adapter.ListenConn, error) {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return nil, translate(err)
	}
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		c.Release()
		return nil, translate(err)
	}
	return &listenConn{c: c}, nil
}

// listenConn implements adapter.ListenConn on an acquired connection.
type listenConn struct{ c *pgxpool.Conn }

func (l *listenConn) WaitForNotification(ctx context.Context) (string, error) {
	n, err := l.c.Conn().WaitForNotification(ctx)
	if err != nil {
		return "", translate(err)
	}
	return n.Payload, nil
}

// Close unlistens, so the connection goes back to the pool clean; a broken
// connection is closed instead.
func (l *listenConn) Close(ctx context.Context) error {
	if _, err := l.c.Exec(ctx, "UNLISTEN *"); err != nil {
		_ = l.c.Conn().Close(ctx)
	}
	l.c.Release()
	return nil
}
