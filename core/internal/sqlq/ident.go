package sqlq

import "strings"

// Ident quotes a PostgreSQL identifier, doubling embedded quotes, so any
// name (quotes, semicolons, unicode) is used verbatim and never parsed as SQL.
func Ident(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
