package pgxv3

import (
	"errors"
	"fmt"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx"
)

// translate wraps pgx errors that have an adapter sentinel so that both
// errors.Is(err, adapter.ErrX) and errors.Is(err, pgx.ErrX) hold.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: %w", adapter.ErrNoRows, err)
	case errors.Is(err, pgx.ErrTxClosed):
		return fmt.Errorf("%w: %w", adapter.ErrTxClosed, err)
	case errors.Is(err, pgx.ErrClosedPool):
		return fmt.Errorf("%w: %w", adapter.ErrPoolClosed, err)
	}
	return adapter.WrapSQLState(adapter.SQLState(err), err)
}
