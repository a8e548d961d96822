package adapter

import "errors"

// sqlStateErrors maps the SQLSTATE codes the engine acts on to their
// sentinels.
var sqlStateErrors = map[string]error{
	"42P01": ErrUndefinedTable,
	"3F000": ErrUndefinedSchema,
	"42703": ErrUndefinedColumn,
	"23505": ErrUniqueViolation,
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
// when there is one (42P01: ErrUndefinedTable, 3F000: ErrUndefinedSchema,
// 42703: ErrUndefinedColumn, 23505: ErrUniqueViolation), and err itself
// otherwise. The result's message is err's, unchanged, and
// errors.Is and errors.As match both the sentinel and err's own chain.
// Adapters call it at the driver edge with their driver's code.
func WrapSQLState(code string, err error) error {
	sentinel, ok := sqlStateErrors[code]
	if !ok {
		return err
	}
	return Mark(err, sentinel)
}

// Mark returns err with sentinel added to its chain and nothing added to its
// message: errors.Is matches both the sentinel and err's own chain, and the
// text is the driver's, said once. Mark(nil, s) is nil. Adapters use it at
// the driver edge where the driver's error says more than the sentinel;
// where it says nothing more, they return the sentinel itself, so that ==
// holds too.
func Mark(err, sentinel error) error {
	if err == nil {
		return nil
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
