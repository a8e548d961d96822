package gue

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/gue-go/gue/core/adapter"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one versioned step of the schema, with "{{schema}}" standing
// for the quoted schema name.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded steps in version order. File names are
// "<version>_<name>.sql".
func migrations() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	out := make([]migration, 0, len(entries))
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			panic("gue: migration file without a version: " + e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out
}

// render substitutes the quoted schema into a migration's SQL.
func (m migration) render(schema string) string {
	return strings.ReplaceAll(m.sql, "{{schema}}", quoteIdent(schema))
}

// statements splits rendered SQL into single statements, so each can be sent
// through any driver's extended protocol (which takes one statement at a time).
func statements(sql string) []string {
	var out []string
	for _, s := range strings.Split(sql, ";\n") {
		if strings.TrimSpace(stripComments(s)) != "" {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// SchemaSQL returns the complete SQL of every migration for schema ("" means
// public), for users who apply migrations with their own tool. It creates the
// jobs table and its index only; unlike Migrate it neither creates the schema
// nor records versions.
func SchemaSQL(schema string) (string, error) {
	schema, err := checkSchema(schema)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, m := range migrations() {
		fmt.Fprintf(&b, "-- gue-go migration %04d_%s\n%s\n", m.version, m.name, m.render(schema))
	}
	return b.String(), nil
}

// migrationLockKey is the advisory lock key that serialises Migrate calls on
// one schema across processes.
func migrationLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("gue-go/migrate/" + schema))
	return int64(h.Sum64())
}

// Migrate creates schema (when missing), the jobs table and its indexes, and
// applies any later migrations not yet applied there. "" means public.
//
// It checks an existing gue_jobs table first and changes nothing when the
// table is not gue-go's (another gue version's, say): the error names each
// mismatched column. A recorded version whose objects are gone (the table
// dropped by hand) is applied again.
//
// It is idempotent and safe to call from several processes at once: all work
// happens in one transaction that first takes a transaction-level advisory
// lock on the schema, and applied versions are recorded in the
// gue_migrations table of the schema. It needs DDL privileges; the role that
// enqueues and works jobs does not (it needs SELECT, INSERT, UPDATE and DELETE
// on gue_jobs and USAGE on its sequence).
func Migrate(ctx context.Context, pool adapter.ConnPool, schema string) (err error) {
	if pool == nil {
		return fmt.Errorf("gue: migrate: %w", ErrNilPool)
	}
	schema, err = checkSchema(schema)
	if err != nil {
		return fmt.Errorf("gue: migrate: %w", err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("gue: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	q := quoteIdent(schema)
	setup := []string{
		"SELECT pg_advisory_xact_lock(" + strconv.FormatInt(migrationLockKey(schema), 10) + ")",
		"CREATE SCHEMA IF NOT EXISTS " + q,
		"CREATE TABLE IF NOT EXISTS " + q + ".gue_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
	}
	for _, s := range setup {
		if _, err = tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("gue: migrate %s: %w", q, err)
		}
	}
	applied, err := appliedVersions(ctx, tx, q)
	if err != nil {
		return err
	}
	shape, err := readShape(ctx, tx, q)
	if err != nil {
		return err
	}
	if err = shape.check(q); err != nil {
		return err
	}
	shape.gone(applied)
	for _, m := range migrations() {
		if applied[m.version] {
			continue
		}
		for _, s := range statements(m.render(schema)) {
			if _, err = tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("gue: migrate %s: version %d (%s): %w", q, m.version, m.name, err)
			}
		}
		if _, err = tx.Exec(ctx, "INSERT INTO "+q+".gue_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING", m.version, m.name); err != nil {
			return fmt.Errorf("gue: migrate %s: record version %d: %w", q, m.version, err)
		}
	}
	// On Citus, once gue_jobs is distributed, the tables of later
	// migrations are distributed as DistributeCitus would.
	dist, err := citusDistributed(ctx, tx, q)
	if err != nil {
		return fmt.Errorf("gue: migrate %s: look for Citus: %w", q, err)
	}
	if dist {
		if err = distribute(ctx, tx, schema); err != nil {
			return err
		}
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("gue: migrate %s: commit: %w", q, err)
	}
	return nil
}

func appliedVersions(ctx context.Context, tx adapter.Tx, q string) (map[int]bool, error) {
	rows, err := tx.Query(ctx, "SELECT version FROM "+q+".gue_migrations")
	if err != nil {
		return nil, fmt.Errorf("gue: migrate %s: read versions: %w", q, err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("gue: migrate %s: read versions: %w", q, err)
		}
		applied[int(v)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gue: migrate %s: read versions: %w", q, err)
	}
	return applied, nil
}

// notMigrated returns err wrapped in ErrNotMigrated, naming schema, when err
// says that gue's table, a column of it or its schema does not exist (a
// statement of the engine's own failed with undefined_table,
// undefined_column or invalid_schema_name: not migrated, or not to the
// latest version); it
// returns err unchanged otherwise.
func notMigrated(schema string, err error) error {
	if errors.Is(err, adapter.ErrUndefinedTable) || errors.Is(err, adapter.ErrUndefinedSchema) || errors.Is(err, adapter.ErrUndefinedColumn) {
		return fmt.Errorf("%w: run gue.Migrate(ctx, pool, %q): %w", ErrNotMigrated, schema, err)
	}
	return err
}
