package gue

import (
	"context"
	"fmt"

	"github.com/gue-go/gue/core/adapter"
)

// How each of gue's tables lives on a Citus cluster (DistributeCitus):
//
//   - gue_jobs, gue_jobs_dead, gue_jobs_cancel: distributed by queue and
//     co-located, so every statement about a job (which always names its
//     queue) goes to one shard, and moving a job between them stays on it.
//   - gue_queues_paused, gue_periodic, gue_pools, gue_throughput: reference
//     tables (a copy on every node): small, written rarely (a pause, a tick,
//     a heartbeat every few seconds), and read beside the jobs tables, which
//     a reference table can join on any shard.
//   - gue_migrations: stays a local table of the coordinator; only Migrate
//     reads it.
var citusTables = []struct {
	name        string
	distributed bool // by queue; otherwise a reference table
}{
	{"gue_jobs", true}, {"gue_jobs_dead", true}, {"gue_jobs_cancel", true},
	{"gue_queues_paused", false}, {"gue_periodic", false}, {"gue_pools", false}, {"gue_throughput", false},
}

// DistributeCitus migrates schema ("" means public) to the latest version
// (Migrate) and makes its gue tables Citus tables: gue_jobs, gue_jobs_dead and gue_jobs_cancel
// distributed by queue (co-located with gue_jobs), the small ones reference
// tables. It is idempotent: tables already distributed are left alone. Run
// it once on the coordinator after Migrate; later Migrate calls distribute
// the tables of later migrations themselves, since gue_jobs is then
// distributed. It returns an error when the database has no citus
// extension.
func DistributeCitus(ctx context.Context, pool adapter.ConnPool, schema string) error {
	if pool == nil {
		return fmt.Errorf("gue: distribute: %w", ErrNilPool)
	}
	schema, err := checkSchema(schema)
	if err != nil {
		return fmt.Errorf("gue: distribute: %w", err)
	}
	var citus bool
	if err := pool.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_extension WHERE extname = 'citus'`).Scan(&citus); err != nil {
		return fmt.Errorf("gue: distribute: %w", err)
	}
	if !citus {
		return fmt.Errorf("gue: distribute: the database has no citus extension (CREATE EXTENSION citus on a Citus coordinator)")
	}
	// The latest shape first: some migrations (column defaults of queue,
	// the distribution column) cannot run on a distributed table.
	if err := Migrate(ctx, pool, schema); err != nil {
		return err
	}
	return distribute(ctx, pool, schema)
}

// distribute turns the tables of citusTables that are not Citus tables yet
// into distributed or reference tables.
func distribute(ctx context.Context, db adapter.Queryable, schema string) error {
	q := quoteIdent(schema)
	for _, t := range citusTables {
		name := q + "." + t.name
		var exists, done bool
		if err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
  EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1))`, name).Scan(&exists, &done); err != nil {
			return fmt.Errorf("gue: distribute %s: %w", name, err)
		}
		if !exists || done {
			continue
		}
		stmt := `SELECT create_reference_table($1)`
		args := []any{name}
		if t.distributed {
			stmt = `SELECT create_distributed_table($1, 'queue', colocate_with => $2)`
			args = append(args, "none")
			if t.name != "gue_jobs" {
				args[1] = q + ".gue_jobs"
			}
		}
		if _, err := db.Exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("gue: distribute %s: %w", name, err)
		}
	}
	return nil
}

// citusDistributed reports whether schema's gue_jobs is a distributed
// table (false where Citus is not installed).
func citusDistributed(ctx context.Context, db adapter.Queryable, q string) (bool, error) {
	var n int64
	err := db.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'pg_catalog' AND c.relname = 'pg_dist_partition'`).Scan(&n)
	if err != nil || n == 0 {
		return false, err
	}
	var dist bool
	err = db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1))`, q+".gue_jobs").Scan(&dist)
	return dist, err
}
