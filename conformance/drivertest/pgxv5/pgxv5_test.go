package pgxv5test

import (
	"bytes"
	"context"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// features are the optional capabilities the adapter declares: the suite
// fails if one of them goes missing.
var features = conformance.WithFeatures(conformance.Features{CopyFrom: true, Listen: true, Pipeline: true, PipelineChain: true, Sizer: true, Session: true, QueryBatch: true})

// TestMain stops the test server's container at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// opener returns a conformance.OpenFunc connecting a pgxpool, in the simple
// query protocol (as behind PgBouncer in transaction mode) when simple is set.
func opener(simple bool) conformance.OpenFunc {
	return func(t *testing.T, dsn string) adapter.ConnPool {
		t.Helper()
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatalf("parse %s: %v", dsn, err)
		}
		if simple {
			cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		}
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		t.Cleanup(pool.Close)
		return pgxv5.NewConnPool(pool)
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, opener(false), features)
}

func TestConformanceSimpleProtocol(t *testing.T) {
	conformance.Run(t, opener(true), features, conformance.WithConcurrency(16, 800))
}

func TestUnwrap(t *testing.T) {
	ctx := context.Background()
	pool := opener(false)(t, conformance.NewDatabase(t, opener(false)))
	raw, ok := pgxv5.UnwrapPool(pool)
	if !ok || raw == nil {
		t.Fatal("UnwrapPool failed on a pool from NewConnPool")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	ptx, ok := pgxv5.UnwrapTx(tx)
	if !ok {
		t.Fatal("UnwrapTx failed on a Tx from the adapter")
	}
	var n int
	if err := ptx.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Errorf("query through the unwrapped pgx.Tx = %d, %v", n, err)
	}
	if _, ok := pgxv5.UnwrapTx(nil); ok {
		t.Error("UnwrapTx(nil) reported success")
	}
}

// A job's transaction comes from the pipelining path; its pgx.Tx must still
// be the job's transaction, with pgx's savepoints, and end with the job.
func TestUnwrapJobTx(t *testing.T) {
	ctx := context.Background()
	pool := opener(false)(t, conformance.NewDatabase(t, opener(false)))
	if err := gue.Migrate(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE written (v int)`); err != nil {
		t.Fatal(err)
	}
	c := gue.NewClient(pool)
	if err := c.Enqueue(ctx, &gue.Job{Type: "t"}); err != nil {
		t.Fatal(err)
	}
	j, err := c.LockJob(ctx, "")
	if err != nil || j == nil {
		t.Fatalf("LockJob = %v, %v", j, err)
	}
	ptx, ok := pgxv5.UnwrapTx(j.Tx())
	if !ok {
		t.Fatal("UnwrapTx failed on a job's Tx")
	}
	if _, err := ptx.Exec(ctx, `INSERT INTO written VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	nested, err := ptx.Begin(ctx) // a savepoint
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nested.Exec(ctx, `INSERT INTO written VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	if err := nested.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var seen int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM written`).Scan(&seen); err != nil || seen != 0 {
		t.Fatalf("rows seen outside the job's transaction before Done: %d, %v; want 0", seen, err)
	}
	if err := j.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.Done(ctx); err != nil {
		t.Fatal(err)
	}
	var rows, jobs int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM written WHERE v = 1), (SELECT count(*) FROM gue_jobs)`).Scan(&rows, &jobs); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || jobs != 0 {
		t.Errorf("after Done: %d rows written, %d jobs; want 1, 0", rows, jobs)
	}
	if _, err := ptx.Exec(ctx, `SELECT 1`); err == nil {
		t.Error("the job's pgx.Tx still runs statements after Done")
	}
}

// A pgxpool too small for the pool's workers and its LISTEN connection: the
// pool says so and polls, and every job runs (with MaxConns 1 the listener
// used to hold the only connection and no job ran).
func TestPoolTooSmallStillWorks(t *testing.T) {
	ctx := context.Background()
	dsn := conformance.NewDatabase(t, opener(false))
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	small, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(small.Close)
	pool := pgxv5.NewConnPool(small)
	if err := gue.Migrate(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	c := gue.NewClient(pool, gue.WithClientLogger(adapter.NewStdLogger(log.New(&logs, "", 0))))
	jobs := make([]*gue.Job, 50)
	for i := range jobs {
		jobs[i] = &gue.Job{Type: "t"}
	}
	if err := c.EnqueueBatch(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ran := 0
	all := make(chan struct{})
	p := gue.NewWorkerPool(c, gue.WorkMap{"t": func(*gue.Job) error {
		mu.Lock()
		defer mu.Unlock()
		if ran++; ran == len(jobs) {
			close(all)
		}
		return nil
	}}, 4, gue.WithPoolPollInterval(50*time.Millisecond))
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- p.Run(runCtx) }()
	select {
	case <-all:
	case <-time.After(time.Minute):
		t.Errorf("%d of %d jobs ran in a minute with MaxConns 1 and 4 workers", ran, len(jobs))
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); !strings.Contains(out, "connection pool too small") || !strings.Contains(out, "max-conns=1") {
		t.Errorf("no warning with the numbers about the pool's size; logs:\n%s", out)
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// noListen is a pool of the adapter without adapter.Listener, as an
// application behind a transaction-mode pooler configures its pools
// (WithPoolListen(false)): LISTEN needs a session of its own.
type noListen struct{ adapter.ConnPool }

func (p noListen) BeginQueryRow(ctx context.Context, sql string, args ...any) (adapter.PipelineTx, adapter.Row) {
	return p.ConnPool.(adapter.Pipeliner).BeginQueryRow(ctx, sql, args...)
}

func (p noListen) CopyFrom(ctx context.Context, table, columns []string, rows [][]any) (int64, error) {
	return p.ConnPool.(adapter.CopyFromer).CopyFrom(ctx, table, columns, rows)
}

func (p noListen) MaxConns() int { return p.ConnPool.(adapter.Sizer).MaxConns() }

func (p noListen) Session(ctx context.Context) (adapter.SessionConn, error) {
	return p.ConnPool.(adapter.Sessioner).Session(ctx)
}

// The suite through PgBouncer in transaction pooling mode, pgx in the
// simple protocol (PgBouncer 1.18 keeps no prepared statement across
// transactions) and polling instead of LISTEN.
func TestConformancePgBouncer(t *testing.T) {
	open := conformance.ThroughPgBouncer(t, func(t *testing.T, dsn string) adapter.ConnPool {
		return noListen{opener(true)(t, dsn)}
	})
	conformance.Run(t, open, conformance.BehindPooler(), conformance.WithConcurrency(16, 800),
		conformance.WithFeatures(conformance.Features{CopyFrom: true, Pipeline: true, PipelineChain: true, Sizer: true, Session: true, QueryBatch: true}))
}
