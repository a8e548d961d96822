package conformance

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
)

// schemaCases is the suite's Schema group.
var schemaCases = []testCase{
	{"CustomSchema", testCustomSchema},
	{"MigrateIdempotentAndConcurrent", testMigrateIdempotentAndConcurrent},
	{"NotMigrated", testNotMigrated},
	{"MigrateRefusesForeignTable", testMigrateRefusesForeignTable},
	{"MigrateRecreatesDroppedTable", testMigrateRecreatesDroppedTable},
	{"MigrateAdoptsGueV2Table", testMigrateAdoptsGueV2Table},
	{"PoolSchemaIsItsOwn", testPoolSchemaIsItsOwn},
	{"ReusedDatabaseStartsEmpty", testReusedDatabaseStartsEmpty},
}

// A pool given a schema of its own (WithPoolSchema) on a Client of another
// does everything there: it registers there, records and enqueues its
// periodic jobs there and so works them, and leaves nothing in the Client's
// schema.
func testPoolSchemaIsItsOwn(t *testing.T, e *env) {
	const schema = "pool_own"
	if err := gue.Migrate(e.ctx, e.pool, schema); err != nil {
		t.Fatal(err)
	}
	own := e.client(gue.WithClientSchema(schema))
	var worked atomic.Int32
	p := gue.NewWorkerPool(e.client(), gue.WorkMap{"tick": func(*gue.Job) error { worked.Add(1); return nil }}, 2,
		gue.WithPoolSchema(schema), gue.WithPoolQueue("own"), gue.WithPoolID("own-pool"), gue.WithPoolPollInterval(20*time.Millisecond),
		gue.WithPoolPeriodic("tick", gue.Every(100*time.Millisecond), func() *gue.Job { return &gue.Job{Type: "tick"} }))
	runPool(t, p)
	waitFor(t, "three periodic jobs worked", func() bool { return worked.Load() >= 3 })
	waitFor(t, "the pool registered in its schema", func() bool {
		pools, err := own.Pools(e.ctx)
		return err == nil && len(pools) == 1 && pools[0].ID == "own-pool"
	})
	if list, err := own.ListPeriodic(e.ctx); err != nil || len(list) != 1 || list[0].Name != "tick" {
		t.Errorf("the schedules of %s: %+v, %v; want tick", schema, list, err)
	}
	for _, table := range []string{"gue_jobs", "gue_pools", "gue_periodic"} {
		if n := e.count(`SELECT count(*) FROM public.` + table); n != 0 {
			t.Errorf("%d rows in public.%s from a pool of schema %s", n, table, schema)
		}
	}
}

func testCustomSchema(t *testing.T, e *env) {
	schema := `Tenant "7"; DROP SCHEMA public; -- ü`
	if err := gue.Migrate(e.ctx, e.pool, schema); err != nil {
		t.Fatalf("Migrate(%q): %v", schema, err)
	}
	qualified := `"Tenant ""7""; DROP SCHEMA public; -- ü".gue_jobs`
	c := e.client(gue.WithClientSchema(schema))
	j := e.enqueue(c, &gue.Job{Type: "t", Queue: "s"})
	if n := e.count(`SELECT count(*) FROM ` + qualified); n != 1 {
		t.Fatalf("%d jobs in schema %q, want 1", n, schema)
	}
	if n := e.jobs(); n != 0 {
		t.Fatalf("%d jobs in public, want 0", n)
	}
	// A worker takes the schema from its client, or from its own option.
	defaultClient := e.client()
	ran := 0
	w := gue.NewWorker(defaultClient, gue.WorkMap{"t": func(*gue.Job) error { ran++; return nil }},
		gue.WithWorkerQueue("s"), gue.WithWorkerSchema(schema))
	if !w.WorkOne(e.ctx) || ran != 1 {
		t.Fatalf("worker with WithWorkerSchema did not work job %d", j.ID)
	}
	if n := e.count(`SELECT count(*) FROM ` + qualified); n != 0 {
		t.Errorf("%d jobs left in %q, want 0", n, schema)
	}
}

func testMigrateIdempotentAndConcurrent(t *testing.T, e *env) {
	schema := "concurrent_migrate"
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- gue.Migrate(e.ctx, e.pool, schema)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	versions := e.count(`SELECT count(*) FROM concurrent_migrate.gue_migrations`)
	if err := gue.Migrate(e.ctx, e.pool, schema); err != nil {
		t.Fatalf("repeated Migrate: %v", err)
	}
	if again := e.count(`SELECT count(*) FROM concurrent_migrate.gue_migrations`); versions < 1 || again != versions {
		t.Errorf("versions recorded: %d, then %d after a repeat; want the same, at least 1", versions, again)
	}
	sql, err := gue.SchemaSQL(schema)
	if err != nil || !strings.Contains(sql, `"concurrent_migrate".gue_jobs`) {
		t.Errorf("SchemaSQL = %q, %v", sql, err)
	}
}

// Every entry point of the engine, on a database or schema never migrated,
// says so with gue.ErrNotMigrated and the schema's name, whatever the
// driver's own wording (pgx's pipelined "error preprocessing batch", say).
func testNotMigrated(t *testing.T, e *env) {
	// A database of its own: e's is migrated into public already.
	pool := e.open(t, NewDatabase(t, e.open))
	for _, schema := range []string{"", "never_migrated"} {
		c := gue.NewClient(pool, gue.WithClientSchema(schema), gue.WithClientLogger(nil))
		want := `"public"`
		if schema != "" {
			want = `"` + schema + `"`
		}
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, gue.ErrNotMigrated) || !strings.Contains(err.Error(), "gue.Migrate") || !strings.Contains(err.Error(), want) {
				t.Errorf("schema %q: %s = %v; want gue.ErrNotMigrated naming gue.Migrate and %s", schema, what, err, want)
			}
		}
		check("Enqueue", c.Enqueue(e.ctx, &gue.Job{Type: "t"}))
		_, err := c.LockJob(e.ctx, "")
		check("LockJob", err)
		check("EnqueueBatch", c.EnqueueBatch(e.ctx, []*gue.Job{{Type: "t"}, {Type: "t"}}))
	}
}

// Migrate changes nothing in a gue_jobs table that is not gue-go's (here
// gue v5's shape: text IDs, bytea args) and names the mismatches.
func testMigrateRefusesForeignTable(t *testing.T, e *env) {
	e.exec(`CREATE SCHEMA gue_v5`)
	e.exec(`CREATE TABLE gue_v5.gue_jobs (
		job_id TEXT NOT NULL PRIMARY KEY, priority SMALLINT NOT NULL, run_at TIMESTAMPTZ NOT NULL,
		job_type TEXT NOT NULL, args BYTEA NOT NULL, error_count INTEGER NOT NULL DEFAULT 0,
		last_error TEXT, queue TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`)
	err := gue.Migrate(e.ctx, e.pool, "gue_v5")
	if err == nil || !strings.Contains(err.Error(), `"args" is bytea, want json`) || !strings.Contains(err.Error(), `"job_id" is text, want bigint`) {
		t.Fatalf("Migrate over gue v5's table = %v; want an error naming the mismatched columns", err)
	}
	if n := e.count(`SELECT count(*) FROM pg_attribute WHERE attrelid = 'gue_v5.gue_jobs'::regclass AND attname = 'metadata'`); n != 0 {
		t.Error("Migrate added a metadata column to the foreign table")
	}
	if n := e.count(`SELECT count(*) FROM pg_class WHERE relname IN ('gue_jobs_lock_idx', 'gue_migrations') AND relnamespace = 'gue_v5'::regnamespace`); n != 0 {
		t.Error("Migrate created its index or its versions table beside the foreign table")
	}
}

// A recorded version whose objects are gone is applied again.
func testMigrateRecreatesDroppedTable(t *testing.T, e *env) {
	if err := gue.Migrate(e.ctx, e.pool, "dropped"); err != nil {
		t.Fatal(err)
	}
	e.exec(`DROP TABLE dropped.gue_jobs`)
	if err := gue.Migrate(e.ctx, e.pool, "dropped"); err != nil {
		t.Fatalf("Migrate after the table was dropped: %v", err)
	}
	c := e.client(gue.WithClientSchema("dropped"))
	e.enqueue(c, &gue.Job{Type: "t", Metadata: map[string]string{"k": "v"}})
	if n := e.count(`SELECT count(*) FROM dropped.gue_jobs WHERE metadata->>'k' = 'v'`); n != 1 {
		t.Errorf("%d jobs in the recreated table; want 1 with its metadata", n)
	}
	if n := e.count(`SELECT count(*) FROM pg_class WHERE relname = 'gue_jobs_lock_idx' AND relnamespace = 'dropped'::regnamespace`); n != 1 {
		t.Error("the lock index was not recreated")
	}
}

// A table made by gue v2's schema.sql (same columns, no defaults, primary
// key job_id) is adopted in place: its jobs and new ones are worked.
func testMigrateAdoptsGueV2Table(t *testing.T, e *env) {
	e.exec(`CREATE SCHEMA gue_v2`)
	e.exec(`CREATE TABLE gue_v2.gue_jobs (
		job_id bigserial NOT NULL PRIMARY KEY, priority smallint NOT NULL, run_at timestamptz NOT NULL,
		job_type text NOT NULL, args json NOT NULL, error_count integer NOT NULL DEFAULT 0,
		last_error text, queue text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`)
	e.exec(`INSERT INTO gue_v2.gue_jobs (priority, run_at, job_type, args, queue, created_at, updated_at)
		VALUES (0, now(), 't', '{"from":"v2"}', '', now(), now())`)
	if err := gue.Migrate(e.ctx, e.pool, "gue_v2"); err != nil {
		t.Fatalf("Migrate over gue v2's table: %v", err)
	}
	c := e.client(gue.WithClientSchema("gue_v2"))
	e.enqueue(c, &gue.Job{Type: "t"})
	if err := c.EnqueueBatch(e.ctx, []*gue.Job{{Type: "t"}}); err != nil {
		t.Fatalf("EnqueueBatch into the adopted table: %v", err)
	}
	for i := 0; i < 3; i++ {
		j := e.lock(c, "")
		if j == nil {
			t.Fatalf("job %d of 3 not found in the adopted table", i+1)
		}
		e.done(j)
	}
}

// The suite hands a Citus database from one case to the next after
// emptying it (citusDatabases). A database taken again must hold nothing
// that the case before made, whatever that was: schemas, tables
// (distributed ones too), sequences, views, routines, types, database
// settings, and a session that still holds a lock. The same checks on the
// used database, before it is given back, find each of them: they can
// fail. Runs on plain PostgreSQL too, where it checks the emptying alone.
func testReusedDatabaseStartsEmpty(t *testing.T, e *env) {
	dbs := newCitusDatabases(t, e.open)
	left := func(t *testing.T, pool adapter.ConnPool) map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		queries := map[string]string{
			"schemas":   `SELECT count(*) FROM pg_namespace WHERE nspname = 'other'`,
			"relations": `SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
			"routines":  `SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`,
			"types":     `SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd')`,
			"settings":  `SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()`,
			"sessions":  `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state LIKE 'idle in transaction%'`,
		}
		if Citus() {
			queries["citus meta"] = `SELECT count(*) FROM pg_dist_partition`
		}
		for what, q := range queries {
			var n int64
			if err := pool.QueryRow(e.ctx, q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			out[what] = n
		}
		return out
	}
	var used string
	outer := t
	ran := t.Run("use", func(t *testing.T) {
		used = dbs.take(t)
		pool := e.open(t, used)
		for _, schema := range []string{"", "other"} {
			if err := gue.Migrate(e.ctx, pool, schema); err != nil {
				t.Fatalf("migrate %q: %v", schema, err)
			}
			if Citus() {
				if err := gue.DistributeCitus(e.ctx, pool, schema); err != nil {
					t.Fatalf("distribute %q: %v", schema, err)
				}
			}
		}
		for _, stmt := range []string{
			`CREATE TABLE mine (v int)`,
			`CREATE SEQUENCE counter`,
			`CREATE VIEW mine_view AS SELECT v FROM mine`,
			`CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2'`,
			`CREATE TYPE mood AS ENUM ('calm')`,
			`CREATE DOMAIN positive AS int CHECK (VALUE > 0)`,
			`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'Asia/Kolkata'); END $$`,
		} {
			if _, err := pool.Exec(e.ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		// A session of the outer test, so it outlives this one: it holds
		// a lock the drops would wait for.
		holder, err := e.open(outer, used).Begin(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		outer.Cleanup(func() { _ = holder.Rollback(context.Background()) })
		if _, err := holder.Exec(e.ctx, `LOCK TABLE mine IN ACCESS SHARE MODE`); err != nil {
			t.Fatal(err)
		}
		found := left(t, pool)
		for what, n := range found {
			if n == 0 {
				t.Errorf("control: the used database shows no %s (%v): the check could not fail", what, found)
			}
		}
	})
	if !ran || used == "" {
		return // it failed, or -failfast skipped it after another case failed (t.Run reports true then)
	}
	again := dbs.take(t)
	if again != used {
		t.Fatalf("took %s after giving back %s: no database was reused", again, used)
	}
	for what, n := range left(t, e.open(t, again)) {
		if n != 0 {
			t.Errorf("a reused database still has %d %s", n, what)
		}
	}
}
