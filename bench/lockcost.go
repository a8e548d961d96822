package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The lock statements' cost under pressure (issue 32 item 3), as the
// server counts it: pg_stat_statements' execution time of the statements
// that take jobs, summed over a phase. It is read on the server, not timed
// by the systems, so that every system is measured alike and a busy client
// (two cores shared with the server) does not count: what a held horizon
// changes is the server's work per lock.
//
// A lock statement is one whose text takes row locks with SKIP LOCKED or
// tries advisory locks: every system's job-taking query (gue-go's three
// modes, River's, gue v5's), and nothing a worker runs per job besides.

// lockStatsPreload is the server option that loads pg_stat_statements.
const lockStatsPreload = "-c shared_preload_libraries=pg_stat_statements"

// lockStatsAvailable reports whether the server binaries in bin have
// pg_stat_statements (Debian ships it with the server package).
func lockStatsAvailable(bin string) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(bin), "lib", "pg_stat_statements.so"))
	return err == nil
}

// lockTotals is the cumulative execution of the lock statements of one
// database at a moment.
type lockTotals struct {
	calls int64
	ms    float64 // total_exec_time
}

// lockPhase is the lock statements' execution during one phase, with the
// jobs worked in it.
type lockPhase struct {
	calls, jobs int64
	ms          float64
}

// perCall is the mean execution time of one lock statement.
func (p lockPhase) perCall() float64 { return p.ms / float64(max(p.calls, 1)) }

// perJobUs is the lock statements' execution time per job worked, in µs.
func (p lockPhase) perJobUs() float64 { return p.ms * 1000 / float64(max(p.jobs, 1)) }

// errNoLockStats: the server has not loaded pg_stat_statements.
var errNoLockStats = errors.New("pg_stat_statements is not loaded on this server (shared_preload_libraries)")

// enableLockStats creates the extension in pool's database and checks it
// counts. It returns errNoLockStats when the server has not loaded it.
func enableLockStats(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return notLoaded(err)
	}
	_, err := readLockTotals(ctx, pool)
	return err
}

// notLoaded turns the view's refusal (object_not_in_prerequisite_state)
// or a missing extension (undefined_file) into errNoLockStats.
func notLoaded(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "55000" || pe.Code == "58P01") {
		return fmt.Errorf("%w: %s", errNoLockStats, pe.Message)
	}
	return err
}

// readLockTotals reads the lock statements' totals of pool's database.
func readLockTotals(ctx context.Context, pool *pgxpool.Pool) (lockTotals, error) {
	var t lockTotals
	err := pool.QueryRow(ctx, `SELECT COALESCE(sum(calls), 0)::bigint, COALESCE(sum(total_exec_time), 0)::float8
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND s.query NOT LIKE '%pg\_stat\_statements%'
  AND (s.query LIKE '%SKIP LOCKED%' OR s.query LIKE '%pg\_try\_advisory\_lock(%')`).Scan(&t.calls, &t.ms)
	return t, notLoaded(err)
}

// since is the phase from t0 to t, with jobs worked in it.
func (t lockTotals) since(t0 lockTotals, jobs int64) lockPhase {
	return lockPhase{calls: t.calls - t0.calls, ms: t.ms - t0.ms, jobs: jobs}
}
