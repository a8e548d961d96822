package gue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gue-go/gue/core/adapter"
)

// MigrationInfo is one migration of gue's schema and whether a schema has
// it (Migrations).
type MigrationInfo struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Applied is whether the schema recorded it; AppliedAt when.
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
	// SQL is what Migrate runs for it in the schema.
	SQL string `json:"-"`
}

// Migrations returns every migration this version of gue knows, in
// version order, each with whether schema ("" means public) has it
// applied, as recorded by Migrate in <schema>.gue_migrations. A schema
// never migrated has none applied. It only reads.
func Migrations(ctx context.Context, pool adapter.ConnPool, schema string) ([]MigrationInfo, error) {
	if pool == nil {
		return nil, fmt.Errorf("gue: migrations: %w", ErrNilPool)
	}
	schema, err := checkSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("gue: migrations: %w", err)
	}
	q := quoteIdent(schema)
	applied := map[int]time.Time{}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, q+".gue_migrations").Scan(&exists); err != nil {
		return nil, fmt.Errorf("gue: migrations of %s: %w", q, err)
	}
	if exists {
		rows, err := pool.Query(ctx, "SELECT version, applied_at FROM "+q+".gue_migrations")
		if err != nil {
			return nil, fmt.Errorf("gue: migrations of %s: %w", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int64
			var at sql.NullTime
			if err := rows.Scan(&v, &at); err != nil {
				return nil, fmt.Errorf("gue: migrations of %s: %w", q, err)
			}
			applied[int(v)] = at.Time.UTC()
		}
		if err := rows.Err(); err != nil && !errors.Is(err, adapter.ErrNoRows) {
			return nil, fmt.Errorf("gue: migrations of %s: %w", q, err)
		}
	}
	var out []MigrationInfo
	for _, m := range migrations() {
		mi := MigrationInfo{Version: m.version, Name: m.name, SQL: m.render(schema)}
		if at, ok := applied[m.version]; ok {
			mi.Applied, mi.AppliedAt = true, &at
		}
		out = append(out, mi)
	}
	return out, nil
}
