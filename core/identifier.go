package gue

import (
	"fmt"

	"github.com/gue-go/gue/core/internal/sqlq"
)

// defaultSchema is used when no schema is configured.
const defaultSchema = "public"

// quoteIdent quotes a PostgreSQL identifier, doubling embedded quotes, so any
// name (quotes, semicolons, unicode) is used verbatim and never parsed as SQL.
func quoteIdent(name string) string { return sqlq.Ident(name) }

// checkSchema validates a schema name: "" means public; a NUL byte, invalid
// UTF-8 or a name
// over PostgreSQL's 63-byte identifier limit (which PostgreSQL would silently
// truncate, pointing at another schema) is rejected.
func checkSchema(schema string) (string, error) {
	if schema == "" {
		return defaultSchema, nil
	}
	if !storable(schema) {
		return "", fmt.Errorf("%w: contains a NUL byte or invalid UTF-8", ErrInvalidSchema)
	}
	if len(schema) > 63 {
		return "", fmt.Errorf("%w: %d bytes, PostgreSQL allows 63", ErrInvalidSchema, len(schema))
	}
	return schema, nil
}
