package conformance

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvCitusWorkers lists, comma-separated, the worker nodes of a Citus
// cluster whose coordinator is EnvDatabaseURL (scripts/citus-cluster.sh
// prints both). When it is set, each test database is created on the
// workers too and made a Citus database, and the suite distributes gue's
// tables (gue.DistributeCitus) after migrating.
const EnvCitusWorkers = "GUE_TEST_CITUS_WORKERS"

// Citus reports whether the tests run on a Citus cluster.
func Citus() bool { return os.Getenv(EnvCitusWorkers) != "" }

func citusWorkers() []string {
	var out []string
	for _, w := range strings.Split(os.Getenv(EnvCitusWorkers), ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// PrepareCitusDatabase makes database name, just created on the
// coordinator at adminDSN, a Citus database: it creates name on every
// worker with the citus extension (dropped when tb ends), adds the
// extension in the coordinator's name, and registers the coordinator and
// the workers there. exec runs statements on a DSN. A no-op unless Citus().
func PrepareCitusDatabase(tb testing.TB, adminDSN, name string, exec func(dsn string, stmts ...string) error) {
	tb.Helper()
	if !Citus() {
		return
	}
	// Setting up nodes concurrently makes the workers fail with "tuple
	// concurrently updated": one at a time per process, and a retry for
	// another test process doing the same.
	citusSetup.Lock()
	defer citusSetup.Unlock()
	exec = retried(exec)
	var adds []string
	for _, w := range citusWorkers() {
		if err := exec(w, `CREATE DATABASE "`+name+`"`); err != nil {
			tb.Fatalf("conformance: citus: create database %s on worker: %v", name, err)
		}
		tb.Cleanup(func() { _ = exec(w, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`) })
		if err := exec(withDatabase(tb, w, name), `CREATE EXTENSION IF NOT EXISTS citus`); err != nil {
			tb.Fatalf("conformance: citus: extension on worker: %v", err)
		}
		host, port := hostPort(tb, w)
		adds = append(adds, `SELECT citus_add_node('`+host+`', `+port+`)`)
	}
	host, port := hostPort(tb, adminDSN)
	stmts := append([]string{`CREATE EXTENSION IF NOT EXISTS citus`, `SELECT citus_set_coordinator_host('` + host + `', ` + port + `)`}, adds...)
	if err := exec(withDatabase(tb, adminDSN, name), stmts...); err != nil {
		tb.Fatalf("conformance: citus: set up database %s: %v", name, err)
	}
}

var citusSetup sync.Mutex

// retried runs each statement through exec on its own, retrying it on
// errors that a concurrent setup causes; a retried statement that meets
// its own earlier success ("already exists") has done its work.
func retried(exec func(dsn string, stmts ...string) error) func(dsn string, stmts ...string) error {
	return func(dsn string, stmts ...string) error {
		for _, stmt := range stmts {
			var err error
			for i := range 10 {
				err = exec(dsn, stmt)
				if err != nil && i > 0 && strings.Contains(err.Error(), "already exists") {
					err = nil
				}
				if err == nil || !strings.Contains(err.Error(), "concurrently") && !strings.Contains(err.Error(), "marked as essential") {
					break
				}
				time.Sleep(time.Duration(i+1) * 100 * time.Millisecond)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// hostPort returns the host and port of a postgres:// DSN.
func hostPort(tb testing.TB, dsn string) (string, string) {
	u := parseURL(tb, dsn)
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return u.Hostname(), port
}

// execWith returns an exec for PrepareCitusDatabase that opens each DSN
// with open.
func execWith(t *testing.T, open OpenFunc) func(dsn string, stmts ...string) error {
	return func(dsn string, stmts ...string) error {
		p := open(t, dsn)
		for _, s := range stmts {
			if _, err := p.Exec(context.Background(), s); err != nil {
				return err
			}
		}
		return nil
	}
}
