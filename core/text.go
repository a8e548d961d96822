package gue

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// storable reports whether s can be stored in a text column: PostgreSQL
// refuses a NUL byte in text, and bytes that are not valid UTF-8.
func storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// checkText returns an error wrapping ErrInvalidType, naming op, when one of
// vals (a queue or job type given to the admin API) cannot be stored. No job
// can have such a value, and sending it would fail with an encoding error
// that reads like a failure of the database.
func checkText(op string, vals ...string) error {
	for _, v := range vals {
		if !storable(v) {
			return fmt.Errorf("gue: %s: %q: %w", op, v, ErrInvalidType)
		}
	}
	return nil
}

// idArray is ids as a PostgreSQL array literal.
func idArray(ids []int64) string {
	// Appended in place: a string per ID was an allocation per job held,
	// for every lock statement of session mode.
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, '}'))
}
