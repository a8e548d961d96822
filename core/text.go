package gue

import (
	"fmt"
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
