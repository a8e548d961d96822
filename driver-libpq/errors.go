package libpq

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/gue-go/gue/core/adapter"
)

// translate turns the driver's errors into adapter sentinels: its bare
// no-rows error into adapter.ErrNoRows itself (== holds, as gue v2 users
// compare), the others marked with adapter.Mark, so that errors.Is matches
// both the sentinel and the driver's error and the text is said once.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case err == sql.ErrNoRows: //nolint:errorlint // the driver's own sentinel, bare: it says nothing more
		return adapter.ErrNoRows
	case errors.Is(err, sql.ErrNoRows):
		return adapter.Mark(err, adapter.ErrNoRows)
	case errors.Is(err, sql.ErrTxDone):
		return adapter.Mark(err, adapter.ErrTxClosed)
	case strings.Contains(err.Error(), "sql: database is closed"):
		// database/sql does not export this error; its text is stable.
		return adapter.Mark(err, adapter.ErrPoolClosed)
	}
	return adapter.WrapSQLState(adapter.SQLState(err), err)
}
