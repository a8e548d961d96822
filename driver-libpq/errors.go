package libpq

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gue-go/gue/core/adapter"
)

// translate wraps database/sql errors that have an adapter sentinel so that
// both errors.Is(err, adapter.ErrX) and errors.Is(err, sql.ErrX) hold.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", adapter.ErrNoRows, err)
	case errors.Is(err, sql.ErrTxDone):
		return fmt.Errorf("%w: %w", adapter.ErrTxClosed, err)
	case strings.Contains(err.Error(), "sql: database is closed"):
		// database/sql does not export this error; its text is stable.
		return fmt.Errorf("%w: %w", adapter.ErrPoolClosed, err)
	}
	return adapter.WrapSQLState(adapter.SQLState(err), err)
}
