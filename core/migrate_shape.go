package gue

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gue-go/gue/core/adapter"
)

// jobsColumns is the shape of gue_jobs after each migration: the columns it
// adds, with their types as PostgreSQL's format_type names them.
var jobsColumns = map[int]map[string]string{
	1: {
		"job_id": "bigint", "priority": "smallint", "run_at": "timestamp with time zone",
		"job_type": "text", "args": "json", "error_count": "integer", "last_error": "text",
		"queue": "text", "created_at": "timestamp with time zone", "updated_at": "timestamp with time zone",
	},
	2: {"metadata": "json"},
	4: {"max_attempts": "integer"},
	5: {"unique_key": "text"},
}

// tableShape is what exists of gue_jobs in a schema.
type tableShape struct {
	exists  bool
	columns map[string]string // name: type
	lockIdx bool
}

// readShape reads the columns of schema's gue_jobs (quoted as q) and whether
// its lock index exists.
func readShape(ctx context.Context, tx adapter.Tx, q string) (tableShape, error) {
	s := tableShape{columns: map[string]string{}}
	rows, err := tx.Query(ctx, `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, q+".gue_jobs")
	if err != nil {
		return s, fmt.Errorf("gue: migrate %s: read the shape of gue_jobs: %w", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return s, fmt.Errorf("gue: migrate %s: read the shape of gue_jobs: %w", q, err)
		}
		s.columns[name] = typ
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("gue: migrate %s: read the shape of gue_jobs: %w", q, err)
	}
	s.exists = len(s.columns) > 0
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, q+".gue_jobs_lock_idx").Scan(&s.lockIdx); err != nil {
		return s, fmt.Errorf("gue: migrate %s: look for gue_jobs_lock_idx: %w", q, err)
	}
	return s, nil
}

// check refuses a gue_jobs that is not this library's (gue v5's, for one,
// has a bytea args column): changing it would corrupt another program's
// table. Columns of migrations that are not applied yet may be missing;
// extra columns are the owner's business.
func (s tableShape) check(q string) error {
	if !s.exists {
		return nil
	}
	var problems []string
	for version, cols := range jobsColumns {
		for name, want := range cols {
			got, ok := s.columns[name]
			switch {
			case !ok && version == 1:
				problems = append(problems, fmt.Sprintf("column %q is missing", name))
			case ok && got != want:
				problems = append(problems, fmt.Sprintf("column %q is %s, want %s", name, got, want))
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("gue: migrate %s: %s.gue_jobs exists but is not gue-go's jobs table (%s); "+
		"it may belong to another version of gue or another program: migrate it yourself or use another schema",
		q, q, strings.Join(problems, "; "))
}

// gone removes from applied the recorded versions whose objects no longer
// exist (a table dropped by hand, say), so that Migrate applies them again:
// every migration is written to be idempotent.
func (s tableShape) gone(applied map[int]bool) {
	if applied[1] && (!s.exists || !s.lockIdx) {
		for v := range applied {
			delete(applied, v) // later versions live on the table too
		}
		return
	}
	for version, cols := range jobsColumns {
		for name := range cols {
			if _, ok := s.columns[name]; !ok && applied[version] {
				delete(applied, version)
			}
		}
	}
}
