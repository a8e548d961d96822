package pgxv5

import (
	"errors"

	"github.com/gue-go/gue/core/adapter"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/puddle/v2"
)

// translate turns the driver's errors into adapter sentinels: its bare
// no-rows error into adapter.ErrNoRows itself (== holds, as gue v2 users
// compare), the others marked with adapter.Mark, so that errors.Is matches
// both the sentinel and the driver's error and the text is said once.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case err == pgx.ErrNoRows: //nolint:errorlint // the driver's own sentinel, bare: it says nothing more
		return adapter.ErrNoRows
	case errors.Is(err, pgx.ErrNoRows):
		return adapter.Mark(err, adapter.ErrNoRows)
	case errors.Is(err, pgx.ErrTxCommitRollback):
		return adapter.Mark(err, adapter.ErrCommitRolledBack)
	case errors.Is(err, pgx.ErrTxClosed):
		return adapter.Mark(err, adapter.ErrTxClosed)
	case errors.Is(err, puddle.ErrClosedPool):
		return adapter.Mark(err, adapter.ErrPoolClosed)
	}
	return adapter.WrapSQLState(adapter.SQLState(err), err)
}
