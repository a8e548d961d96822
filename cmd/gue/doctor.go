package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	gue "github.com/gue-go/gue/core"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
)

// check is one doctor check's result.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail
	Detail string `json:"detail"`
	Advice string `json:"advice,omitempty"`
}

func (a *app) doctorCommand() *cobra.Command {
	var jobTimeout time.Duration
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check the database's setup for gue: migrations, lock index, vacuum, long transactions, timeouts, pooler, LISTEN, session locks, privileges",
		Long: `Check the database's setup for gue, each check ok, warn or fail with one line of
advice: pending migrations; the lock index valid; dead tuples and the last
autovacuum of the jobs table; the oldest open transaction holding back vacuum;
idle_in_transaction_session_timeout against the job timeout (--job-timeout);
whether a pooler shares server sessions between connections (transaction
or statement mode); whether LISTEN works (such a pooler loses it); room in the
lock table for session mode's locks, and whether they can hold through this
connection; the role's privileges on gue's tables. Exit code 3 when a check
fails.`,
		Example: `  gue doctor
  gue doctor --job-timeout 5m --json`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.connect(c.Context()); err != nil {
				return err
			}
			ctx := c.Context()
			listen, pooler := a.checkListen(ctx), a.checkPooler(ctx)
			checks := []check{
				a.checkMigrations(ctx),
				a.checkLockIndex(ctx),
				a.checkVacuum(ctx),
				a.checkOldestTransaction(ctx),
				a.checkIdleTimeout(ctx, jobTimeout),
				pooler,
				listen,
				a.checkSessionLocks(ctx, listen, pooler),
				a.checkPrivileges(ctx),
			}
			failed := 0
			for _, ch := range checks {
				if ch.Status == "fail" {
					failed++
				}
			}
			if a.jsonOut {
				if err := a.printJSON(map[string]any{"checks": checks}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
				for _, ch := range checks {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(ch.Status), ch.Name, block(oneLine(ch.Detail)))
					if ch.Advice != "" {
						fmt.Fprintf(tw, "\t\t→ %s\n", ch.Advice)
					}
				}
				_ = tw.Flush()
			}
			if failed > 0 {
				return &exitError{code: exitAttention, err: fmt.Errorf("%d check(s) failed", failed)}
			}
			return nil
		},
	}
	c.Flags().DurationVar(&jobTimeout, "job-timeout", 0, "the longest a job runs (WithPoolJobTimeout), to compare with idle_in_transaction_session_timeout")
	a.jsonFlag(c)
	return c
}

func (a *app) table(name string) string { return pgx.Identifier{a.schema, name}.Sanitize() }

func (a *app) checkMigrations(ctx context.Context) check {
	ch := check{Name: "migrations"}
	ms, err := gue.Migrations(ctx, a.pool, a.schema)
	if err != nil {
		return check{Name: ch.Name, Status: "fail", Detail: oneLine(err.Error()), Advice: "check --schema and the role's access to it"}
	}
	var pending []string
	for _, m := range ms {
		if !m.Applied {
			pending = append(pending, fmt.Sprintf("%04d", m.Version))
		}
	}
	if len(pending) > 0 {
		return check{Name: ch.Name, Status: "fail", Detail: fmt.Sprintf("%d of %d pending (%s)", len(pending), len(ms), strings.Join(pending, ", ")),
			Advice: "run `gue migrate up` (or gue.Migrate) before starting workers"}
	}
	return check{Name: ch.Name, Status: "ok", Detail: fmt.Sprintf("all %d applied", len(ms))}
}

func (a *app) checkLockIndex(ctx context.Context) check {
	ch := check{Name: "lock index"}
	var valid, ready *bool
	err := a.pgx.QueryRow(ctx, `SELECT i.indisvalid, i.indisready FROM pg_index i WHERE i.indexrelid = to_regclass($1)`, a.table("gue_jobs_lock_idx")).Scan(&valid, &ready)
	switch {
	case err == pgx.ErrNoRows:
		ch.Status, ch.Detail, ch.Advice = "fail", "gue_jobs_lock_idx is missing", "run `gue migrate up`; without it every lock scans the table"
	case err != nil:
		ch.Status, ch.Detail = "fail", oneLine(err.Error())
	case !*valid || !*ready:
		ch.Status, ch.Detail, ch.Advice = "fail", "gue_jobs_lock_idx is invalid (a failed CREATE INDEX CONCURRENTLY?)", "REINDEX INDEX "+a.table("gue_jobs_lock_idx")
	default:
		ch.Status, ch.Detail = "ok", "gue_jobs_lock_idx is valid"
	}
	return ch
}

func (a *app) checkVacuum(ctx context.Context) check {
	ch := check{Name: "vacuum"}
	var live, dead int64
	var last *time.Time
	err := a.pgx.QueryRow(ctx, `SELECT n_live_tup, n_dead_tup, GREATEST(last_autovacuum, last_vacuum) FROM pg_stat_all_tables WHERE relid = to_regclass($1)`,
		a.table("gue_jobs")).Scan(&live, &dead, &last)
	if err == pgx.ErrNoRows {
		return check{Name: ch.Name, Status: "fail", Detail: "no gue_jobs table", Advice: "run `gue migrate up`"}
	}
	if err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: oneLine(err.Error())}
	}
	when := "never vacuumed"
	if last != nil {
		when = fmt.Sprintf("last vacuumed %s ago", age(time.Since(*last)))
	}
	ch.Detail = fmt.Sprintf("gue_jobs: %d live, %d dead tuples; %s", live, dead, when)
	ch.Status = "ok"
	if dead > 100_000 && dead > 2*live {
		ch.Status = "warn"
		ch.Advice = "dead tuples slow the lock query: check autovacuum runs (and the oldest transaction below); " +
			"ALTER TABLE gue_jobs SET (autovacuum_vacuum_scale_factor = 0.01) vacuums a busy queue table sooner"
	}
	return ch
}

func (a *app) checkOldestTransaction(ctx context.Context) check {
	ch := check{Name: "oldest transaction"}
	var secs *float64
	var app, state *string
	err := a.pgx.QueryRow(ctx, `SELECT EXTRACT(EPOCH FROM now() - xact_start)::float8, application_name, state FROM pg_stat_activity
WHERE backend_xmin IS NOT NULL AND pid <> pg_backend_pid() AND xact_start IS NOT NULL ORDER BY xact_start LIMIT 1`).Scan(&secs, &app, &state)
	if err == pgx.ErrNoRows || secs == nil {
		return check{Name: ch.Name, Status: "ok", Detail: "no open transaction holds back vacuum"}
	}
	if err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: oneLine(err.Error()), Advice: "reading pg_stat_activity needs pg_read_all_stats for other roles' sessions"}
	}
	d := time.Duration(*secs * float64(time.Second))
	ch.Detail = fmt.Sprintf("oldest open for %s (application %q, %s)", age(d), deref(app), deref(state))
	ch.Status = "ok"
	switch {
	case d > time.Hour:
		ch.Status = "fail"
		ch.Advice = "a transaction this old keeps every deleted job's row from being vacuumed: end it (pg_terminate_backend) or bound it (idle_in_transaction_session_timeout)"
	case d > 5*time.Minute:
		ch.Status = "warn"
		ch.Advice = "long transactions (long jobs hold theirs while they run) delay vacuum of the jobs table"
	}
	return ch
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (a *app) checkIdleTimeout(ctx context.Context, jobTimeout time.Duration) check {
	ch := check{Name: "idle_in_transaction_session_timeout"}
	var ms int64
	if err := a.pgx.QueryRow(ctx, `SELECT setting::bigint FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'`).Scan(&ms); err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: oneLine(err.Error())}
	}
	timeout := time.Duration(ms) * time.Millisecond
	switch {
	case timeout == 0:
		ch.Status, ch.Detail = "ok", "off: a worker whose process hangs holds its job until its connection dies"
	case jobTimeout == 0:
		ch.Status, ch.Detail = "warn", fmt.Sprintf("%s: a job running longer loses its transaction and is retried", timeout)
		ch.Advice = "set WithPoolJobTimeout below it, and pass it here as --job-timeout"
	case jobTimeout >= timeout:
		ch.Status, ch.Detail = "fail", fmt.Sprintf("%s, not above the job timeout %s", timeout, jobTimeout)
		ch.Advice = "raise idle_in_transaction_session_timeout above the job timeout (for the workers' role: ALTER ROLE … SET)"
	default:
		ch.Status, ch.Detail = "ok", fmt.Sprintf("%s, above the job timeout %s", timeout, jobTimeout)
	}
	return ch
}

// checkListen LISTENs on a connection of its own and NOTIFYs from another:
// a pooler in transaction mode loses the notification.
func (a *app) checkListen(ctx context.Context) check {
	ch := check{Name: "LISTEN/NOTIFY"}
	conn, err := a.pgx.Acquire(ctx)
	if err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: oneLine(err.Error())}
	}
	defer conn.Release()
	channel := fmt.Sprintf("gue_doctor_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: "LISTEN failed: " + oneLine(err.Error()),
			Advice: "workers fall back to polling; turn listening off with WithPoolListen(false)"}
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+channel) }()
	if _, err := a.pgx.Exec(ctx, "SELECT pg_notify($1, 'ping')", channel); err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: "NOTIFY failed: " + oneLine(err.Error())}
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := conn.Conn().WaitForNotification(wctx); err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: "no notification within 3s (a pooler in transaction mode?)",
			Advice: "workers then only poll: use WithPoolListen(false) and a short poll interval, or connect workers' LISTEN directly to PostgreSQL"}
	}
	return check{Name: ch.Name, Status: "ok", Detail: fmt.Sprintf("a notification arrived in %s", age(time.Since(start)))}
}

// checkPooler asks two connections for their server sessions, the first
// held (idle, outside a transaction) while the second asks: directly, or
// through a pooler in session mode, they are two backends; a pooler that
// shares server sessions (PgBouncer in transaction or statement mode)
// hands the first one's, just given back, to the second (PgBouncer takes
// the one given back last). One backend twice is proof of such a pooler;
// two prove nothing, the pooler may have picked another.
func (a *app) checkPooler(ctx context.Context) check {
	ch := check{Name: "pooler"}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var pids [2]int32
	for i := range pids {
		conn, err := a.pgx.Acquire(ctx)
		if err != nil {
			return check{Name: ch.Name, Status: "warn", Detail: "could not tell: " + oneLine(err.Error())}
		}
		defer conn.Release()
		if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pids[i]); err != nil {
			return check{Name: ch.Name, Status: "warn", Detail: "could not tell: " + oneLine(err.Error())}
		}
	}
	if pids[0] == pids[1] {
		return check{Name: ch.Name, Status: "warn",
			Detail: fmt.Sprintf("two connections ran on one server session (backend %d): a pooler in transaction or statement mode is in the path", pids[0]),
			Advice: "the default and batch modes, the CLI and the dashboard work through it (pgx: default_query_exec_mode=simple_protocol; lib/pq: binary_parameters=yes); LISTEN does not (WithPoolListen(false)); session mode needs a direct connection or a pooler in session mode"}
	}
	return check{Name: ch.Name, Status: "ok", Detail: fmt.Sprintf("two connections ran on two server sessions (backends %d and %d): no pooler shared one", pids[0], pids[1])}
}

// checkSessionLocks sizes the lock table for session mode
// (WithPoolSessionLocks), whose pools hold a session-level advisory lock
// per running job, and warns when the connection goes through a pooler
// in transaction mode (the LISTEN check found one), where such locks do
// not hold.
func (a *app) checkSessionLocks(ctx context.Context, listen, pooler check) check {
	ch := check{Name: "session locks"}
	var table, held int64
	err := a.pgx.QueryRow(ctx, `SELECT current_setting('max_locks_per_transaction')::bigint *
  (current_setting('max_connections')::bigint + current_setting('max_prepared_transactions')::bigint),
  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')`).Scan(&table, &held)
	if err != nil {
		return check{Name: ch.Name, Status: "warn", Detail: oneLine(err.Error())}
	}
	ch.Status = "ok"
	ch.Detail = fmt.Sprintf("lock table of %d entries, %d advisory locks held now; a pool in session mode holds at most %d jobs at once", table, held, table/2)
	switch {
	case pooler.Status == "warn" && strings.Contains(pooler.Detail, "one server session"):
		ch.Status = "warn"
		ch.Detail = "this connection is pooled in transaction or statement mode (see pooler), where session locks do not hold; " + ch.Detail
		ch.Advice = "give pools in session mode (WithPoolSessionLocks) a direct connection, or one pooled in session mode; they refuse a lock connection whose server session another connection gets"
	case listen.Status != "ok" && strings.Contains(listen.Detail, "pooler"):
		ch.Status = "warn"
		ch.Detail = "this connection looks pooled in transaction mode (see LISTEN), where session locks do not hold; " + ch.Detail
		ch.Advice = "give pools in session mode (WithPoolSessionLocks) a direct connection, or one pooled in session mode; they refuse a connection whose statements change backends"
	case held > table/2:
		ch.Status = "warn"
		ch.Advice = "advisory locks fill over half the lock table, which every session shares: raise max_locks_per_transaction before it is full (every lock then fails)"
	}
	return ch
}

func (a *app) checkPrivileges(ctx context.Context) check {
	ch := check{Name: "privileges"}
	var missing []string
	for _, t := range []string{"gue_jobs", "gue_jobs_dead", "gue_queues_paused", "gue_jobs_cancel", "gue_periodic", "gue_pools", "gue_throughput"} {
		var ok *bool
		err := a.pgx.QueryRow(ctx, `SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE has_table_privilege(to_regclass($1), 'SELECT, INSERT, UPDATE, DELETE') END`,
			a.table(t)).Scan(&ok)
		switch {
		case err != nil:
			return check{Name: ch.Name, Status: "warn", Detail: oneLine(err.Error())}
		case ok == nil:
			missing = append(missing, t+" (missing)")
		case !*ok:
			missing = append(missing, t)
		}
	}
	var seq *bool
	if err := a.pgx.QueryRow(ctx, `SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE has_sequence_privilege(to_regclass($1), 'USAGE') END`,
		a.table("gue_jobs_job_id_seq")).Scan(&seq); err == nil && seq != nil && !*seq {
		missing = append(missing, "gue_jobs_job_id_seq (USAGE)")
	}
	if len(missing) > 0 {
		return check{Name: ch.Name, Status: "fail", Detail: "the role lacks SELECT/INSERT/UPDATE/DELETE on: " + strings.Join(missing, ", "),
			Advice: "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + pgx.Identifier{a.schema}.Sanitize() + " TO <role> (and USAGE on its sequences), or run `gue migrate up`"}
	}
	return check{Name: ch.Name, Status: "ok", Detail: "the role can read and write every gue table"}
}
