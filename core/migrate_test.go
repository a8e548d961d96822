package gue

import (
	"errors"
	"strings"
	"testing"
)

func TestMigrationsAreOrderedAndSplit(t *testing.T) {
	ms := migrations()
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations = %+v, want version 1 first", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].version <= ms[i-1].version {
			t.Errorf("versions out of order: %d after %d", ms[i].version, ms[i-1].version)
		}
	}
	stmts := statements(ms[0].render(`my"schema`))
	if len(stmts) != 2 {
		t.Fatalf("first migration split into %d statements, want 2: %q", len(stmts), stmts)
	}
	for _, s := range stmts {
		if !strings.Contains(s, `"my""schema".gue_jobs`) {
			t.Errorf("statement does not use the quoted schema: %s", s)
		}
		if strings.HasSuffix(strings.TrimSpace(s), ";") {
			t.Errorf("statement keeps its terminator: %s", s)
		}
	}
}

func TestSchemaSQL(t *testing.T) {
	sql, err := SchemaSQL("")
	if err != nil || !strings.Contains(sql, `CREATE TABLE IF NOT EXISTS "public".gue_jobs`) ||
		!strings.Contains(sql, "PRIMARY KEY (queue, job_id)") {
		t.Errorf("SchemaSQL(\"\") = %q, %v", sql, err)
	}
	if _, err := SchemaSQL("a\x00"); !errors.Is(err, ErrInvalidSchema) {
		t.Errorf("SchemaSQL with NUL: %v, want ErrInvalidSchema", err)
	}
}
