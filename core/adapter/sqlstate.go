package adapter

import "errors"

// sqlStateErrors maps the SQLSTATE codes the engine acts on to their
// sentinels.
var sqlStateErrors = map[string]error{
	"42P01": ErrUndefinedTable,
	"3F000": ErrUndefinedSchema,
}

// SQLState returns the SQLSTATE code of the first error in err's chain that
// has a SQLState() string method (pgconn.PgError of pgx v4 and v5, lib/pq's
// *pq.Error), or "" when none has.
func SQLState(err error) string {
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		return s.SQLState()
	}
	return ""
}

// WrapSQLState returns err marked with the sentinel of its SQLSTATE code
// when there is one (42P01: ErrUndefinedTable, 3F000: ErrUndefinedSchema),
// and err itself otherwise. The result's message is err's, unchanged, and
// errors.Is and errors.As match both the sentinel and err's own chain.
// Adapters call it at the driver edge with their driver's code.
func WrapSQLState(code string, err error) error {
	sentinel, ok := sqlStateErrors[code]
	if !ok || err == nil {
		return err
	}
	return &markedError{mark: sentinel, err: err}
}

// markedError is err with an extra sentinel in its chain and no extra text.
type markedError struct {
	mark error
	err  error
}

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return []error{e.mark, e.err} }
