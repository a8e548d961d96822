package conformance

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// On Citus a new database costs seconds: CREATE DATABASE and CREATE
// EXTENSION citus on every node, one node at a time (PrepareCitusDatabase
// serializes them, since concurrent node set-ups collide). Emptying one
// costs a fraction of that. So on Citus, Run keeps the databases its cases
// are done with and hands each to a later case emptied: the sessions ended,
// everything a case made dropped (gue's distributed tables with it, on every
// node) and the database's settings reset. A case starts, as on a new
// database, with nothing but the citus extension; Run drops them all when it
// ends. A case that failed gives its database up, to keep what it left for
// a look and away from the next case.
type citusDatabases struct {
	run      *testing.T // Run's test: the databases live as long as it
	open     OpenFunc
	adminDSN string

	mu   sync.Mutex
	free []string // DSNs of emptied databases
}

func newCitusDatabases(t *testing.T, open OpenFunc) *citusDatabases {
	adminDSN := ServerDSN(t)
	return &citusDatabases{run: t, open: open, adminDSN: adminDSN}
}

// take returns the DSN of an empty Citus database for case t, and takes it
// back when t ends.
func (d *citusDatabases) take(t *testing.T) string {
	t.Helper()
	d.mu.Lock()
	var dsn string
	if n := len(d.free); n > 0 {
		dsn, d.free = d.free[n-1], d.free[:n-1]
	}
	d.mu.Unlock()
	if dsn == "" {
		dsn = d.create(t)
	}
	t.Cleanup(func() { d.giveBack(t, dsn) })
	return dsn
}

// create makes a new Citus database whose drop belongs to Run's test.
func (d *citusDatabases) create(t *testing.T) string {
	t.Helper()
	tb := outliving{T: t, run: d.run}
	admin := d.open(d.run, d.adminDSN) // closed after the drops: cleanups run last-in first
	dsn := CreateDatabase(tb, admin, d.adminDSN)
	PrepareCitusDatabase(tb, d.adminDSN, strings.TrimPrefix(parseURL(t, dsn).Path, "/"), execOnce(d.run, d.open))
	return dsn
}

// giveBack empties the database at dsn, which case t used, and makes it
// free for the next case.
func (d *citusDatabases) giveBack(t *testing.T, dsn string) {
	if t.Failed() {
		return
	}
	if err := execOnce(d.run, d.open)(dsn, emptyDatabase...); err != nil {
		t.Logf("conformance: citus: emptying %s for reuse: %v (left to be dropped)", dsn, err)
		return
	}
	d.mu.Lock()
	d.free = append(d.free, dsn)
	d.mu.Unlock()
}

// emptyDatabase makes a used database look new: it ends every other
// session (and with it any lock, LISTEN or transaction a case left), drops
// every schema the citus extension did not make and everything in public
// but the extension's own views, and resets the settings a case gave the
// database (ALTER DATABASE … SET). Citus drops distributed tables on the
// workers with their coordinator's tables. Each list is read whole before
// its first drop, so that a name a cascade already dropped is skipped (IF
// EXISTS) instead of read as a dangling OID.
var emptyDatabase = []string{
	`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	  WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
	`DO $$
	DECLARE
		obj text;
	BEGIN
		FOREACH obj IN ARRAY ARRAY(
			SELECT quote_ident(n.nspname) FROM pg_namespace n
			 WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('public', 'information_schema')
			   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'))
		LOOP
			EXECUTE 'DROP SCHEMA ' || obj || ' CASCADE';
		END LOOP;
		FOREACH obj IN ARRAY ARRAY(
			SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
			                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END || ' IF EXISTS ' || c.oid::regclass::text
			  FROM pg_class c
			 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
			   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i')))
		LOOP
			EXECUTE 'DROP ' || obj || ' CASCADE';
		END LOOP;
		FOREACH obj IN ARRAY ARRAY(
			SELECT p.oid::regprocedure::text FROM pg_proc p
			 WHERE p.pronamespace = 'public'::regnamespace
			   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
		LOOP
			EXECUTE 'DROP ROUTINE IF EXISTS ' || obj || ' CASCADE';
		END LOOP;
		FOREACH obj IN ARRAY ARRAY(
			SELECT t.oid::regtype::text FROM pg_type t
			 WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r', 'm') AND t.typelem = 0
			   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'))
		LOOP
			EXECUTE 'DROP TYPE IF EXISTS ' || obj || ' CASCADE';
		END LOOP;
		EXECUTE format('ALTER DATABASE %I RESET ALL', current_database());
	END $$`,
}

// outliving is a case's test whose cleanups belong to Run's test: what it
// makes outlives the case, while its failures stay the case's own.
type outliving struct {
	*testing.T
	run *testing.T
}

func (o outliving) Cleanup(f func()) { o.run.Cleanup(f) }

// execOnce returns an exec for PrepareCitusDatabase that opens each DSN with
// open, runs the statements and closes it at once, so that the session is
// gone when the next case starts.
func execOnce(t *testing.T, open OpenFunc) func(dsn string, stmts ...string) error {
	return func(dsn string, stmts ...string) error {
		p := open(t, dsn)
		defer p.Close()
		for _, s := range stmts {
			if _, err := p.Exec(context.Background(), s); err != nil {
				return err
			}
		}
		return nil
	}
}
